"""Checkpoints interchange with upstream PaddleOCR's trainer: .pdopt keys, resuming upstream's checkpoint."""
import os

import numpy as np
import paddle
import pytest
import yaml

from ppexp.engine.checkpoint import STRUCT_KEY, save_checkpoint
from ppexp.engine.safe_pickle import safe_load
from ppexp.modeling import build_model
from ppexp.optimizer import build_optimizer

PDOPT_CONFIGS = ["rec_mv3_none_bilstm_ctc", "rec_mv3_none_none_ctc",
                 "rec_r34_vd_none_bilstm_ctc", "rec_r34_vd_none_none_ctc"]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLATE_CLASSES = 80  # the fixtures' Korean plate dict: 79 characters + blank


def _read_pdopt_keys(path):
    rows = {}
    for line in path.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, shape = line.split("\t")
        rows[key] = [int(d) for d in shape.strip("[]").split(",") if d.strip()]
    return rows


def _model_and_optimizer(config, classes):
    arch = dict(config["Architecture"], Head=dict(config["Architecture"]["Head"], out_channels=classes))
    model = build_model(arch)
    optimizer, scheduler = build_optimizer(config["Optimizer"], 1, 2, model)
    return model, optimizer, scheduler


def _one_step(model, optimizer, width=100):
    model.train()
    loss = model(paddle.rand([1, 3, 32, width])).square().mean()
    loss.backward()
    optimizer.step()
    optimizer.clear_grad()


@pytest.mark.parametrize("name", PDOPT_CONFIGS)
def test_pdopt_keys_equal_upstreams(fixtures_dir, tmp_path, name):
    expected = _read_pdopt_keys(fixtures_dir / "models" / f"{name}.pdopt_keys.txt")
    config = yaml.safe_load((fixtures_dir / "configs" / f"{name}.yml").read_text())
    build_model(config["Architecture"] | {"Head": {"name": "CTCHead", "out_channels": 5}})  # names must not shift
    model, optimizer, _ = _model_and_optimizer(config, PLATE_CLASSES)
    _one_step(model, optimizer)
    save_checkpoint(str(tmp_path), "latest", model, optimizer, {"epoch": 1, "global_step": 1})
    got = {k: list(np.asarray(v).shape) for k, v in safe_load(str(tmp_path / "latest.pdopt")).items()
           if k != "LR_Scheduler"}
    assert sorted(set(got) ^ set(expected))[:5] == []
    assert got == expected


UPSTREAM_CKPT = "checkpoints/upstream_mv3_small035_const"


def _upstream_config(fixtures_dir, root, out):
    """The checkpoint's own config.yml, data and output paths pointed at tmp dirs."""
    from helpers import data_overrides
    from ppexp.config import load_config, merge_overrides

    config = load_config(str(fixtures_dir / UPSTREAM_CKPT / "config.yml"))
    dict_path = os.path.join(REPO, "ppexp", "dicts", "kr_plate_dict.txt")
    return merge_overrides(config, data_overrides(root, out) + [
        f"Global.character_dict_path={dict_path}", "Global.epoch_num=2",
        f"Global.checkpoints={fixtures_dir / UPSTREAM_CKPT / 'latest'}"])


def test_resumes_upstream_const_lr_checkpoint_with_moments(fixtures_dir, tmp_path):
    from helpers import make_digit_set
    from ppexp.engine.trainer import Trainer

    saved = safe_load(str(fixtures_dir / UPSTREAM_CKPT / "latest.pdopt"))
    saved.pop(STRUCT_KEY)  # paddle.save's name map, not optimizer state
    assert "LR_Scheduler" not in saved  # upstream's Const LR is a float: the case paddle refuses
    root = make_digit_set(tmp_path / "data", 4, 2)
    trainer = Trainer(_upstream_config(fixtures_dir, root, str(tmp_path / "out")))
    trainer.restore()
    assert trainer.state["epoch"] == 1 and trainer.state["global_step"] == 2
    restored = {k: np.asarray(v) for k, v in trainer.optimizer.state_dict().items() if k != "LR_Scheduler"}
    moments = [k for k in saved if "moment" in k]
    assert len(restored) == len(saved) and len(moments) == 2 * len([p for p in trainer.model.parameters() if not p.stop_gradient])
    for key, value in saved.items():
        np.testing.assert_array_equal(restored[_same_base(key, restored)], np.asarray(value))
    assert any(np.abs(np.asarray(saved[k])).max() > 0 for k in moments)
    assert trainer.optimizer.get_lr() == pytest.approx(0.001)
    trainer.fit()  # continues: epoch 2 of 2, global steps 3..4
    states = safe_load(str(tmp_path / "out" / "latest.states"))
    assert states["epoch"] == 2 and states["global_step"] == 4


def _same_base(key, names):
    """The name in ``names`` of the accumulator saved as ``key`` (counter suffixes may differ)."""
    base = key.rsplit("_", 1)[0]
    return next(n for n in names if n.rsplit("_", 1)[0] == base)


# Upstream's schedules (ppocr/optimizer/learning_rate.py) are paddle.optimizer.lr classes, wrapped in
# LinearWarmup(start_lr=0, end_lr=<peak>) when warmup_epoch > 0; Const is a plain float.
EPOCHS, STEPS = 3, 4


def _upstream_schedule(name, warmup):
    lr = paddle.optimizer.lr
    if name == "Cosine":
        inner, peak = lr.CosineAnnealingDecay(0.01, T_max=EPOCHS * STEPS), 0.01
    elif name == "Piecewise":
        inner, peak = lr.PiecewiseDecay([STEPS * 1, STEPS * 2], [0.01, 0.005, 0.001]), 0.01
    else:
        inner, peak = 0.01, 0.01
    return lr.LinearWarmup(inner, warmup * STEPS, 0.0, peak) if warmup else inner


def _ppexp_schedule(name, warmup):
    from ppexp.optimizer import build_lr_scheduler

    cfg = {"name": name, "warmup_epoch": warmup}
    cfg.update({"decay_epochs": [1, 2], "values": [0.01, 0.005, 0.001]} if name == "Piecewise"
               else {"learning_rate": 0.01})
    return build_lr_scheduler(cfg, EPOCHS, STEPS)


def _rates(schedule, n):
    out = []
    for _ in range(n):
        out.append(schedule())
        schedule.step()
    return out


@pytest.mark.parametrize("name,warmup", [("Cosine", 0), ("Cosine", 1), ("Piecewise", 0), ("Piecewise", 1),
                                         ("Const", 1)])
def test_lr_schedule_state_resumes_in_upstreams_schedule_and_back(name, warmup):
    ours, theirs = _ppexp_schedule(name, warmup), _upstream_schedule(name, warmup)
    _rates(ours, 6)
    _rates(theirs, 6)
    upstream_resumed, ppexp_resumed = _upstream_schedule(name, warmup), _ppexp_schedule(name, warmup)
    assert set(ours.state_dict()) == set(theirs.state_dict())  # the same format, nothing unused
    upstream_resumed.set_state_dict(ours.state_dict())
    ppexp_resumed.set_state_dict(theirs.state_dict())
    expected = _rates(theirs, 6)
    assert _rates(upstream_resumed, 6) == pytest.approx(expected, rel=1e-6)
    assert _rates(ppexp_resumed, 6) == pytest.approx(expected, rel=1e-6)


def test_const_without_warmup_state_is_ignored_by_upstreams_float_rate(tmp_path):
    """Upstream's Const (no warmup) optimizer has a float rate: paddle drops our LR_Scheduler entry."""
    model = build_model({"Backbone": {"name": "MobileNetV3", "model_name": "small", "scale": 0.35},
                         "Neck": {"name": "SequenceEncoder", "encoder_type": "reshape"},
                         "Head": {"name": "CTCHead", "out_channels": 5}})
    optimizer, _ = build_optimizer({"name": "Momentum", "momentum": 0.9, "lr": {"learning_rate": 0.01}},
                                   EPOCHS, STEPS, model)
    _one_step(model, optimizer)
    save_checkpoint(str(tmp_path), "latest", model, optimizer, {"epoch": 1, "global_step": 1})
    state = safe_load(str(tmp_path / "latest.pdopt"))
    trainable = [p for p in model.parameters() if not p.stop_gradient]
    assert set(state) - {"LR_Scheduler"} == {p.name + "_velocity_0" for p in trainable}
    with paddle.utils.unique_name.guard():  # name counters as in upstream's fresh process
        upstream_like = paddle.optimizer.Momentum(0.01, momentum=0.9, parameters=trainable)
        upstream_like.set_state_dict(state)  # what upstream's load_model does
        velocity = upstream_like._add_accumulator("velocity", trainable[0])  # made at its first step
    np.testing.assert_array_equal(velocity.numpy(), state[trainable[0].name + "_velocity_0"])
