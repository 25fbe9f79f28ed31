"""Export for PaddleOCR 3: inference.yml PaddleX accepts, one resize rule for predict / exported model / PaddleX.

The comparison with PaddleX's TextRecognition runs where PaddleOCR 3 is installed
(``pip install -e .[deploy]``) and skips elsewhere (CI installs no paddleocr: it pins numpy).
"""
import glob
import os
import pickle

import cv2
import numpy as np
import pytest
import yaml

from helpers import data_overrides, make_toy_set
from ppexp.cli import main
from ppexp.data.imaug.rec_resize import MAX_INFER_WIDTH, infer_width, resize_norm_img_infer
from ppexp.engine.safe_pickle import safe_load

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "rec", "tiny_words.yml")
PADDLEX_OPS = {"DecodeImage", "RecResizeImg", "MultiLabelEncode", "KeepKeys"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny model trained 2 epochs (16 steps), exported; 24 test images of varied size and aspect.

    A model trained this briefly gives one text and score for every image (a comparison that cannot
    tell two pipelines apart), so the rate is tiny (blanks win as soon as it learns) and the neck and
    head weights are multiplied by 10: texts and scores then depend on the image, and scores change
    with any difference in pre-processing.
    """
    root = make_toy_set(tmp_path_factory.mktemp("data"), n_train=64, n_val=16)
    out = str(tmp_path_factory.mktemp("run"))
    opts = data_overrides(root, out) + ["Global.epoch_num=2", "Global.use_visualdl=False",
                                        "Global.eval_batch_step=[0,1000]", "Train.loader.batch_size_per_card=8",
                                        "Optimizer.lr.learning_rate=1e-6"]
    assert main(["train", "-c", CONFIG, "-o", *opts]) == 0
    weights = safe_load(os.path.join(out, "latest.pdparams"))
    with open(os.path.join(out, "sensitive.pdparams"), "wb") as f:
        pickle.dump({k: np.asarray(v) * 10 if k.startswith(("neck.", "head.")) else v
                     for k, v in weights.items()}, f, protocol=4)
    common = ["-c", CONFIG, "-o", *opts, f"Global.checkpoints={out}/sensitive"]
    model_dir = os.path.join(out, "inference")
    assert main(["export", *common, f"Global.save_inference_dir={model_dir}"]) == 0
    images = str(tmp_path_factory.mktemp("images"))
    for i, path in enumerate(sorted(glob.glob(os.path.join(root, "images", "val_*.jpg")))):
        img = cv2.imread(path)
        cv2.imwrite(os.path.join(images, f"{i:02d}.png"), img)
        if i < 8:  # rescaled copies: height 48 / 20 (wider than 100 px at height 32 for some)
            scale = 1.5 if i % 2 else 0.625
            cv2.imwrite(os.path.join(images, f"{i:02d}_s.png"), cv2.resize(img, None, fx=scale, fy=scale))
    return {"common": common, "model_dir": model_dir, "images": images, "out": out}


def _predict(tmp_path, args, images):
    """``ppexp predict`` with ``args`` (-c ... -o ... or --model_dir DIR): {file name: (text, score)}."""
    res = tmp_path / "res.txt"
    opt = [] if "-o" in args else ["-o"]
    assert main(["predict", "--image", images, *args, *opt, f"Global.save_res_path={res}"]) == 0
    rows = [line.split("\t") for line in res.read_text(encoding="utf-8").splitlines()]
    return {os.path.basename(path): (text, float(score)) for path, text, score in rows}


def test_inference_yml_has_only_steps_paddlex_runs(exported):
    with open(os.path.join(exported["model_dir"], "inference.yml"), encoding="utf-8") as f:
        infer = yaml.safe_load(f)
    ops = infer["PreProcess"]["transform_ops"]
    assert {next(iter(op)) for op in ops} <= PADDLEX_OPS
    assert ops[0] == {"DecodeImage": {"img_mode": "BGR", "channel_first": False}}
    assert infer["Global"]["model_name"] and len(infer["PostProcess"]["character_dict"]) == 36


def test_exported_model_predicts_like_the_checkpoint(exported, tmp_path):
    from_ckpt = _predict(tmp_path, exported["common"], exported["images"])
    from_export = _predict(tmp_path, ["--model_dir", exported["model_dir"]], exported["images"])
    assert len(from_ckpt) == 24 and len({s for _, s in from_ckpt.values()}) >= 12, from_ckpt  # image-dependent
    assert {k: v[0] for k, v in from_export.items()} == {k: v[0] for k, v in from_ckpt.items()}
    for name, (_, score) in from_ckpt.items():
        assert abs(from_export[name][1] - score) <= 2e-4, name


def test_paddlex_text_recognition_agrees_with_ppexp_predict(exported, tmp_path):
    pytest.importorskip("paddleocr", reason="PaddleOCR 3 is not installed: pip install -e .[deploy]")
    from paddleocr import TextRecognition

    ours = _predict(tmp_path, exported["common"], exported["images"])
    recognizer = TextRecognition(model_dir=exported["model_dir"])  # the export, unedited, default model_name
    paths = sorted(glob.glob(os.path.join(exported["images"], "*.png")))
    theirs = {os.path.basename(r["input_path"]): (r["rec_text"], float(r["rec_score"]))
              for r in recognizer.predict(paths, batch_size=1)}
    assert len(theirs) == len(ours) == 24
    assert {k: v[0] for k, v in theirs.items()} == {k: v[0] for k, v in ours.items()}
    for name, (_, score) in theirs.items():
        assert abs(ours[name][1] - score) <= 5.1e-5, name  # ours are printed with 4 decimals


def test_infer_width_rule():
    shape = [3, 32, 100]
    assert infer_width(32, 50, shape) == (50, 100)     # narrow: kept, padded to 100
    assert infer_width(32, 200, shape) == (200, 200)   # wide: never squeezed
    assert infer_width(64, 300, shape) == (150, 150)   # height 64 -> 32 keeps the aspect
    assert infer_width(10, 4000, shape) == (MAX_INFER_WIDTH, MAX_INFER_WIDTH)
    img = np.full((16, 40, 3), 255, np.uint8)
    out, ratio = resize_norm_img_infer(img, shape)
    assert out.shape == (3, 32, 100) and ratio == 0.8
    assert (out[:, :, :80] == 1.0).all() and (out[:, :, 80:] == 0.0).all()


def test_export_names_a_step_paddlex_cannot_run(exported, tmp_path):
    bad = exported["common"] + ["Eval.dataset.transforms=[{DecodeImage: {img_mode: BGR}}, "
                                "{RecAug: {}}, {RecResizeImg: {image_shape: [3, 32, 100]}}]"]
    with pytest.raises(ValueError, match=r"Eval.dataset.transforms\[1\]: RecAug cannot be exported"):
        main(["export", *bad, f"Global.save_inference_dir={tmp_path / 'x'}"])
    assert not os.path.exists(tmp_path / "x" / "inference.pdiparams")


@pytest.mark.slow
def test_eval_on_the_exported_model(exported, tmp_path):
    import json

    metrics = tmp_path / "m.json"
    assert main(["eval", *exported["common"], "--model_dir", exported["model_dir"], "--json", str(metrics)]) == 0
    result = json.loads(metrics.read_text())
    assert result["samples"] == 16 and exported["model_dir"] in result["weights"]
    assert 0.0 <= result["norm_edit_dis"] <= 1.0 and "loss" not in result


def test_input_shape_resizes_every_image_to_it(exported, tmp_path):
    """--input-shape C,H,W: PaddleX's TextRecognition(input_shape=...) rule, each image stretched to H x W
    (no padding, wide images squeezed), instead of the inference width rule."""
    from ppexp.data.imaug import transform
    from ppexp.data.imaug.rec_resize import resize_norm_img
    from ppexp.engine.deployed import load_exported

    _, ops, _ = load_exported(exported["model_dir"], [3, 32, 100])
    _, default_ops, _ = load_exported(exported["model_dir"])
    for h, w in ((20, 300), (40, 30)):                        # wider and narrower than 100 / 32
        img = np.random.default_rng(h).integers(0, 255, (h, w, 3), dtype=np.uint8)
        data = cv2.imencode(".png", img)[1].tobytes()
        got = transform({"image": data}, ops)[0]
        assert got.shape == (3, 32, 100)
        assert np.array_equal(got, resize_norm_img(img, [3, 32, 100], padding=False)[0])
        assert transform({"image": data}, default_ops)[0].shape[2] == max(100, int(np.ceil(32 * w / h)))
    stretched = _predict(tmp_path, ["--model_dir", exported["model_dir"], "--input-shape", "3,32,100"],
                         exported["images"])
    default = _predict(tmp_path, ["--model_dir", exported["model_dir"]], exported["images"])
    assert stretched.keys() == default.keys() and stretched != default    # the rule changes some results


@pytest.mark.parametrize("args, message", [
    (["--input-shape", "3,32"], "give C,H,W"),
    (["--input-shape", "3,0,100"], "give C,H,W"),
])
def test_input_shape_errors(exported, tmp_path, capsys, args, message):
    code = main(["predict", "--model_dir", exported["model_dir"], "--image", exported["images"], *args,
                 "-o", f"Global.save_res_path={tmp_path}/r.txt"])
    assert code == 2 and message in capsys.readouterr().err
    assert main(["predict", *exported["common"], "--image", exported["images"], "--input-shape", "3,32,100"]) == 2
    assert "--model_dir" in capsys.readouterr().err


def test_paddlex_input_shape_agrees_with_ppexp_input_shape(exported, tmp_path):
    pytest.importorskip("paddleocr", reason="PaddleOCR 3 is not installed: pip install -e .[deploy]")
    from paddleocr import TextRecognition

    ours = _predict(tmp_path, ["--model_dir", exported["model_dir"], "--input-shape", "3,32,100"],
                    exported["images"])
    recognizer = TextRecognition(model_dir=exported["model_dir"], input_shape=(3, 32, 100))
    paths = sorted(glob.glob(os.path.join(exported["images"], "*.png")))
    theirs = {os.path.basename(r["input_path"]): (r["rec_text"], float(r["rec_score"]))
              for r in recognizer.predict(paths, batch_size=1)}
    assert {k: v[0] for k, v in theirs.items()} == {k: v[0] for k, v in ours.items()} and len(ours) == 24
    for name, (_, score) in theirs.items():
        assert abs(ours[name][1] - score) <= 5.1e-5, name


def test_paddlex_reads_like_ppexp_after_ppexp_preprocessor(exported, tmp_path):
    """An export with ppexp-only image steps (here ShrinkLarge): a PaddleOCR 3 application that runs each crop
    through ppexp_preprocessor(model_dir) first reads what `ppexp predict --model_dir` reads (README)."""
    pytest.importorskip("paddleocr", reason="PaddleOCR 3 is not installed: pip install -e .[deploy]")
    import shutil

    from paddleocr import TextRecognition

    from ppexp.engine.deployed import ppexp_preprocessor

    model_dir = str(tmp_path / "export")
    shutil.copytree(exported["model_dir"], model_dir)
    path = os.path.join(model_dir, "inference.yml")
    with open(path, encoding="utf-8") as f:
        infer = yaml.safe_load(f)
    infer["ppexp_preprocess"] = [{"ShrinkLarge": {"max_height": 24}}]
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(infer, f, allow_unicode=True, sort_keys=False)
    ours = _predict(tmp_path, ["--model_dir", model_dir], exported["images"])
    pre, recognizer = ppexp_preprocessor(model_dir), TextRecognition(model_dir=model_dir)
    theirs = {}
    for p in sorted(glob.glob(os.path.join(exported["images"], "*.png"))):
        r = recognizer.predict(pre(cv2.imread(p)), batch_size=1)[0]
        theirs[os.path.basename(p)] = (r["rec_text"], float(r["rec_score"]))
    plain = _predict(tmp_path, ["--model_dir", exported["model_dir"]], exported["images"])
    assert {k: v[1] for k, v in ours.items()} != {k: v[1] for k, v in plain.items()}  # the step changes scores
    assert {k: v[0] for k, v in theirs.items()} == {k: v[0] for k, v in ours.items()}
    for name, (_, score) in theirs.items():
        assert abs(ours[name][1] - score) <= 5.1e-5, name
