"""Det export for PaddleOCR 3 (inference.yml in PaddleX's form, Paddle Inference run) and ``ppexp predict`` on det."""
import json
import os

import numpy as np
import paddle
import pytest
import yaml

from det_export_helpers import DEMO_CONFIG, export_tiny_det, tiny_det_checkpoint
from det_helpers import make_det_set
from ppexp import cli
from ppexp.config import get_config


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("det_export")
    out, overrides = export_tiny_det(root)
    return root, out, overrides


def test_inference_yml_is_paddlex_text_detection_form(exported):
    _, out, _ = exported
    assert {"inference.json", "inference.pdiparams", "inference.yml"} <= set(os.listdir(out))
    with open(os.path.join(out, "inference.yml"), encoding="utf-8") as f:
        infer = yaml.safe_load(f)
    assert infer["Global"]["model_name"] == "PP-OCRv5_mobile_det"
    ops = infer["PreProcess"]["transform_ops"]
    assert [next(iter(op)) for op in ops] == ["DecodeImage", "DetResizeForTest", "NormalizeImage", "ToCHWImage"]
    assert ops[0]["DecodeImage"] == {"img_mode": "BGR", "channel_first": False}
    assert ops[1]["DetResizeForTest"] == {"resize_long": 160} and ops[3]["ToCHWImage"] is None
    assert ops[2]["NormalizeImage"]["order"] == "hwc" and ops[2]["NormalizeImage"]["scale"] == "1./255."
    assert infer["PostProcess"] == {"name": "DBPostProcess", "thresh": 0.3, "box_thresh": 0.6,
                                    "max_candidates": 1000, "unclip_ratio": 1.5}


def test_paddle_inference_runs_the_export_like_the_checkpoint(exported):
    from ppexp.engine.builder import build_components
    from ppexp.engine.checkpoint import load_params_into
    from ppexp.engine.det_predictor import load_exported_det

    root, out, overrides = exported
    config, _ = get_config(DEMO_CONFIG, overrides)
    model = build_components(config).model
    load_params_into(model, os.path.join(str(root), "ckpt", "model.pdparams"))
    model.eval()
    x = np.random.default_rng(0).normal(0, 1, (1, 3, 96, 160)).astype(np.float32)
    with paddle.no_grad():
        want = model(paddle.to_tensor(x))["maps"].numpy()
    deployed, ops, post = load_exported_det(out)
    got = deployed(paddle.to_tensor(x)).numpy()
    assert got.shape == (1, 1, 96, 160) and np.abs(got - want).max() <= 1e-4
    assert post.box_thresh == 0.6 and post.unclip_ratio == 1.5
    assert [type(op).__name__ for op in ops][1] == "DetResizeForTest" and ops[1].limit_type == "max"


def test_predict_checkpoint_and_export_write_the_same_boxes(exported, tmp_path):
    root, out, overrides = exported
    make_det_set(tmp_path / "imgs", 2)
    images = str(tmp_path / "imgs" / "img")
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli.main(["predict", "-c", DEMO_CONFIG, "--image", images, "--out", str(a), "-o", *overrides,
                     f"Global.save_res_path={a}/res.txt"]) == 0
    assert cli.main(["predict", "--model_dir", out, "--image", images, "--out", str(b),
                     "-o", f"Global.save_res_path={b}/res.txt"]) == 0
    assert sorted(os.listdir(a)) == ["0.json", "0.png", "1.json", "1.png", "res.txt"]
    assert (a / "res.txt").read_text() == (b / "res.txt").read_text()
    for name in ("0.json", "1.json"):
        got = json.loads((a / name).read_text())
        assert got["image"].endswith(name.replace(".json", ".png")) and isinstance(got["boxes"], list)
        assert got["boxes"] == json.loads((b / name).read_text())["boxes"]


def test_draw_and_write_boxes(tmp_path):
    import cv2

    from ppexp.engine.det_predictor import write_det_outputs

    img = np.full((60, 100, 3), 30, np.uint8)
    cv2.imwrite(str(tmp_path / "x.png"), img)
    box = np.array([[[10, 10], [60, 10], [60, 30], [10, 30]]])
    write_det_outputs([(str(tmp_path / "x.png"), box, [0.87])], str(tmp_path / "out"))
    data = json.loads((tmp_path / "out" / "x.json").read_text())
    assert data["boxes"] == [{"points": box[0].tolist(), "score": 0.87}]
    drawn = cv2.imread(str(tmp_path / "out" / "x.png"))
    assert drawn[10, 30, 1] > 200 and drawn[10, 30, 2] < 60 and tuple(drawn[45, 80]) == (30, 30, 30)


@pytest.mark.parametrize("override, message", [
    (["Eval.dataset.transforms.2.DetResizeForTest.limit_type=min"], "limit_type 'min'"),
    (["PostProcess.name=CTCLabelDecode"], "DBPostProcess only"),
])
def test_unexportable_settings_are_named(tmp_path, override, message):
    from ppexp.engine.det_export import dump_det_infer_config

    overrides, _ = tiny_det_checkpoint(tmp_path)
    config, _ = get_config(DEMO_CONFIG, overrides + override)
    with pytest.raises(ValueError, match=message) as err:
        dump_det_infer_config(config, str(tmp_path / "inference.yml"))
    assert "transforms[2]" in str(err.value) or "PostProcess" in str(err.value)
    assert not (tmp_path / "inference.yml").exists()


def test_paddleocr_text_detection_loads_the_export(exported, tmp_path):
    pytest.importorskip("paddleocr", reason="PaddleOCR 3 is not installed: pip install -e .[deploy]")
    from paddleocr import TextDetection

    _, out, _ = exported
    make_det_set(tmp_path, 1)
    det = TextDetection(model_name="PP-OCRv5_mobile_det", model_dir=out, enable_mkldnn=False)
    result = list(det.predict(str(tmp_path / "img" / "0.png")))
    assert len(result) == 1 and "dt_polys" in result[0]
