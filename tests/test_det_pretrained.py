"""The shipped plate detector (ppexp/pretrained/kr_plates_det/) and the configs that make and fine-tune it."""
import os

import cv2
import numpy as np
import paddle
import pytest
import yaml

from ppexp.config import get_config
from ppexp.engine.checkpoint import load_params_into
from ppexp.modeling import build_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DET = os.path.join(REPO, "configs", "det")
SHIPPED = os.path.join(REPO, "ppexp", "pretrained", "kr_plates_det")


def _load(name):
    config, warnings = get_config(os.path.join(DET, name), [])
    assert warnings == [], warnings
    return config


def test_stages_chain_and_the_demo_fine_tunes_the_shipped_model():
    stage1, stage2, demo = (_load(n) for n in ("det_plates_pretrain.yml", "det_plates_pretrain_more.yml",
                                                "det_plates_demo.yml"))
    with open(os.path.join(SHIPPED, "config.yml"), encoding="utf-8") as f:
        shipped = yaml.safe_load(f)
    assert stage1["Architecture"] == stage2["Architecture"] == demo["Architecture"] == shipped["Architecture"]
    assert stage1["Global"]["pretrained_model"] is None                     # stage 1 starts from scratch
    assert stage2["Global"]["pretrained_model"] == stage1["Global"]["save_model_dir"].rstrip("/") + "/best_accuracy"
    assert stage2["Train"]["dataset"]["data_dir"] != stage1["Train"]["dataset"]["data_dir"]   # fresh scenes
    assert demo["Global"]["pretrained_model"] == "ppexp/pretrained/kr_plates_det/best_accuracy"
    assert demo["Train"]["dataset"]["data_dir"] == stage1["Train"]["dataset"]["data_dir"]
    for key in ("data_dir", "label_file_list"):                               # the demo's val set
        assert demo["Eval"]["dataset"][key] == stage1["Eval"]["dataset"][key]
    resize = [t["DetResizeForTest"] for t in demo["Eval"]["dataset"]["transforms"] if "DetResizeForTest" in t]
    assert resize == [{"image_shape": [480, 640], "keep_ratio": True}]      # small plates upscaled, PaddleX form
    assert len({c["Global"]["save_model_dir"] for c in (stage1, stage2, demo)}) == 3


def test_shipped_weights_fill_the_demo_network_and_find_a_plate():
    """Every parameter of the demo's network comes from the shipped file (no key missing or reshaped), and
    the model's probability map lights up on the plates of fresh synthetic scenes, not on their background."""
    from ppexp.experiments.synth.det_scene import render_scene

    config = _load("det_plates_demo.yml")
    model = build_model(config["Architecture"])
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    report = load_params_into(model, os.path.join(REPO, config["Global"]["pretrained_model"]) + ".pdparams")
    after = model.state_dict()
    changed = [k for k in before if not np.array_equal(before[k], after[k].numpy())]
    weights = [k for k in before if not k.endswith(("_mean", "_variance"))]
    assert set(weights) <= set(changed), (report, sorted(set(weights) - set(changed))[:5])
    assert os.path.getsize(os.path.join(SHIPPED, "best_accuracy.pdparams")) < 10 * 2 ** 20

    model.eval()
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    found, plates, background = 0, 0, []
    for i in range(4):                                    # scenes of no set: seed 7 is used by no config
        img, labels = render_scene(np.random.default_rng([7, i]), width=480)
        h, w = (img.shape[0] // 32) * 32, (img.shape[1] // 32) * 32
        x = ((img[:h, :w] / 255.0 - mean) / std).transpose(2, 0, 1)[None].astype("float32")   # BGR, as trained
        with paddle.no_grad():
            prob = model(paddle.to_tensor(x))["maps"].numpy()[0, 0]
        labelled = np.zeros(prob.shape, np.uint8)
        for lab in labels:
            mask = np.zeros(prob.shape, np.uint8)
            cv2.fillPoly(mask, [np.round(lab["points"]).astype(np.int32)], 1)
            labelled |= cv2.dilate(mask, np.ones((9, 9), np.uint8))
            if lab["transcription"] != "###" and np.ptp(lab["points"][:, 0]) >= 40 and mask.any():
                plates += 1
                found += prob[mask > 0].max() > 0.9       # the plate's core is lit
        background.append(prob[labelled == 0].mean())
    assert plates >= 4 and found >= 0.8 * plates, (found, plates)
    assert max(background) < 0.01, background                # and almost nothing else


def test_paddleocr_text_detection_finds_the_boxes_ppexp_finds(tmp_path):
    """The shipped detector exported with the demo's eval recipe (image_shape + keep_ratio, upscaling small
    scenes): PaddleOCR 3's TextDetection reads that inference.yml and returns the boxes `ppexp predict
    --model_dir` returns (same resize, same DBPostProcess), within a pixel of rounding."""
    pytest.importorskip("paddleocr", reason="PaddleOCR 3 is not installed: pip install -e .[deploy]")
    import json

    from paddleocr import TextDetection

    from ppexp import cli
    from ppexp.experiments.synth.det_scene import render_scene

    out = str(tmp_path / "export")
    assert cli.main(["export", "-c", os.path.join(DET, "det_plates_demo.yml"), "-o",
                     "Global.checkpoints=" + os.path.join(SHIPPED, "best_accuracy"),
                     f"Global.save_inference_dir={out}"]) == 0
    with open(os.path.join(out, "inference.yml"), encoding="utf-8") as f:
        resize = [op for op in yaml.safe_load(f)["PreProcess"]["transform_ops"] if "DetResizeForTest" in op]
    assert resize == [{"DetResizeForTest": {"image_shape": [480, 640], "keep_ratio": True}}]
    (tmp_path / "img").mkdir()
    for i in range(3):
        img, _ = render_scene(np.random.default_rng([7, 100 + i]), width=520)
        cv2.imwrite(str(tmp_path / "img" / f"{i}.png"), img)
    assert cli.main(["predict", "--model_dir", out, "--image", str(tmp_path / "img"), "--out",
                     str(tmp_path / "ppexp"), "-o", f"Global.save_res_path={tmp_path}/ppexp/res.txt"]) == 0
    det = TextDetection(model_name="PP-OCRv5_mobile_det", model_dir=out, enable_mkldnn=False)
    total = 0
    for i in range(3):
        ours = json.loads((tmp_path / "ppexp" / f"{i}.json").read_text())["boxes"]
        res = list(det.predict(str(tmp_path / "img" / f"{i}.png"), batch_size=1))[0]
        theirs = np.asarray(res["dt_polys"]).reshape(-1, 4, 2)
        assert len(theirs) == len(ours), (i, len(theirs), len(ours))
        want = sorted(np.asarray([b["points"] for b in ours]).reshape(-1, 4, 2).tolist())
        got = sorted(theirs.tolist())
        assert np.abs(np.asarray(got) - np.asarray(want)).max() <= 1, (i, got, want)
        assert np.allclose(sorted(res["dt_scores"]), sorted(b["score"] for b in ours), atol=1e-3)
        total += len(ours)
    assert total >= 3                                    # scenes with plates: something was found
