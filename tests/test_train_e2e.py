"""End to end: a tiny CRNN trains 2 epochs on generated words; outputs, resume, eval/export/predict."""
import os
import pickle
import re

import pytest

from helpers import data_overrides, make_toy_set
from ppexp.cli import main

pytestmark = pytest.mark.slow   # every test shares a module fixture that trains (~30 s idle)

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "rec", "tiny_words.yml")


def _losses(log_path):
    text = open(log_path, encoding="utf-8").read()
    return [float(x) for x in re.findall(r"global_step: \d+, .*?loss: ([0-9.]+)", text)]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = make_toy_set(tmp_path_factory.mktemp("data"))
    out = str(tmp_path_factory.mktemp("run"))
    opts = data_overrides(root, out) + ["Global.eval_batch_step=[0,10]", "Global.print_batch_step=2"]
    assert main(["train", "-c", CONFIG, "-o", *opts]) == 0
    return {"root": root, "out": out, "opts": opts}


def test_output_layout(run):
    out = run["out"]
    for name in ["config.yml", "train.log", "best_model/model.pdparams", "vdl"]:
        assert os.path.exists(os.path.join(out, name)), name
    for prefix in ["best_accuracy", "latest", "iter_epoch_1", "iter_epoch_2"]:
        for ext in (".pdparams", ".pdopt", ".states"):
            assert os.path.exists(os.path.join(out, prefix + ext)), prefix + ext
    assert not [f for f in os.listdir(out) if ".tmp" in f], "temporary checkpoint files left behind"


def test_loss_falls(run):
    losses = _losses(os.path.join(run["out"], "train.log"))
    assert len(losses) >= 8
    assert losses[-1] < 0.8 * losses[0], losses


def test_states_record_progress(run):
    with open(os.path.join(run["out"], "latest.states"), "rb") as f:
        states = pickle.load(f)
    assert states["epoch"] == 2 and states["global_step"] == 20
    assert "acc" in states["best_model_dict"] and states["best_model_dict"]["best_step"] in (10, 20)


def test_visualdl_scalars(run):
    from visualdl import LogReader

    vdl = os.path.join(run["out"], "vdl")
    log_file = [f for f in os.listdir(vdl) if f.startswith("vdlrecords")][0]
    reader = LogReader(file_path=os.path.join(vdl, log_file))
    tags = set(reader.get_tags()["scalar"])
    for tag in ["TRAIN/loss", "TRAIN/lr", "TRAIN/acc", "TRAIN/norm_edit_dis", "EVAL/acc",
                "EVAL/norm_edit_dis", "EVAL/loss", "EVAL/best_acc", "EVAL/fps", "TRAIN/dropped_samples"]:
        assert tag in tags, tag
    steps = [r.id for r in reader.get_data("scalar", "EVAL/acc")]
    assert steps == [10, 20]


def test_resume_continues_step_and_lr(run, tmp_path):
    out2 = str(tmp_path / "resumed")
    opts = [o for o in run["opts"] if not o.startswith("Global.save_model_dir")]
    ckpt = os.path.join(run["out"], "iter_epoch_1")
    assert main(["train", "-c", CONFIG, "-o", *opts, f"Global.save_model_dir={out2}",
                 f"Global.checkpoints={ckpt}"]) == 0
    log = open(os.path.join(out2, "train.log"), encoding="utf-8").read()
    assert "resume from" in log and "epoch 1, global_step 10" in log
    first = re.search(r"epoch: \[(\d+)/2\], global_step: (\d+), lr: ([0-9.]+)", log)
    assert first.group(1) == "2" and first.group(2) == "12"
    original = open(os.path.join(run["out"], "train.log"), encoding="utf-8").read()
    lr12 = re.search(r"global_step: 12, lr: ([0-9.]+)", original).group(1)
    assert first.group(3) == lr12
    with open(os.path.join(out2, "latest.states"), "rb") as f:
        assert pickle.load(f)["global_step"] == 20


def test_eval_export_predict(run, tmp_path):
    ckpt = os.path.join(run["out"], "best_accuracy")
    common = ["-c", CONFIG, "-o", *run["opts"], f"Global.checkpoints={ckpt}"]
    metrics = tmp_path / "m.json"
    assert main(["eval", *common, "--json", str(metrics)]) == 0
    import json

    result = json.loads(metrics.read_text())
    assert {"acc", "norm_edit_dis", "loss", "fps"} <= set(result) and result["samples"] == 64
    inf = tmp_path / "inf"
    assert main(["export", *common, f"Global.save_inference_dir={inf}"]) == 0
    assert (inf / "inference.pdiparams").exists() and (inf / "inference.yml").exists()
    res = tmp_path / "pred.txt"
    images = os.path.join(run["root"], "images")
    assert main(["predict", *common, f"Global.save_res_path={res}", "--image", images]) == 0
    lines = res.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(os.listdir(images))
    assert all(len(line.split("\t")) == 3 for line in lines)


def test_exported_model_matches_dygraph(run, tmp_path):
    import numpy as np
    import paddle

    from ppexp.config import get_config
    from ppexp.engine.export import export_model
    from ppexp.engine.predictor import load_trained

    config, _ = get_config(CONFIG, run["opts"] + [f"Global.checkpoints={run['out']}/best_accuracy"])
    parts, _ = load_trained(config)
    x = paddle.to_tensor(np.random.default_rng(0).normal(size=(2, 3, 32, 100)).astype("float32"))
    expected = parts.model(x).numpy()
    prefix = export_model(parts.model, config, parts.charset, str(tmp_path / "inf"))
    loaded = paddle.jit.load(prefix)
    loaded.eval()
    np.testing.assert_allclose(loaded(x).numpy(), expected, atol=1e-5)
