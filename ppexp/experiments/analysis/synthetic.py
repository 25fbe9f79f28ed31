"""Synthetic run directories that reproduce the curve patterns of the user's experiments.

Used by the tests, the benchmark and the docs examples. ``write_run(path, pattern)``
writes ``config.yml``, VisualDL records (with VisualDL's own ``LogWriter``) and/or
an upstream-format ``train.log``. Patterns (seed experiment in brackets):

- ``healthy``          loss falls, train/eval acc rise to ~0.91/0.84, cosine lr (exp3, exp9)
- ``stalled``          loss falls but train acc stays < 0.015 (exp2)
- ``overfitting``      eval acc peaks mid-run then falls while train acc rises; eval loss rises (exp4, exp11)
- ``gap``              train acc 0.80 vs eval acc 0.665 (exp6)
- ``dead_pipeline``    loss flat, acc 0, norm_edit_dis 0.5 (exp7)
- ``blank_plateau``    loss 110 -> 22 in the first steps, then ~flat; acc 0 and norm_edit_dis ~0 (empty
                       predictions): CTC's all-blank plateau (plates_demo with a BiLSTM, from scratch)
- ``plateau``          best eval acc unchanged for the second half (exp6, exp10)
- ``lr_collapse``      lr decays to ~0 before mid-run while acc was still rising (exp12 -> exp13)
- ``nan``              loss becomes NaN at 60% and the run stops
- ``eval_never_ran``   eval_batch_step beyond the end of training
- ``long_warmup``      warmup 30% of the run (exp3/exp4's 5000 steps)
- ``dropped_samples``  ~2% of the samples dropped every epoch
"""
import datetime
import os
import struct

import numpy as np

PATTERNS = ("healthy", "stalled", "overfitting", "gap", "dead_pipeline", "blank_plateau", "plateau", "lr_collapse",
            "nan", "eval_never_ran", "long_warmup", "dropped_samples")
START = datetime.datetime(2026, 1, 1).timestamp()


def _sat(t, rate):
    return 1.0 - np.exp(-rate * t)


def _cosine_lr(t, warmup=0.05, peak=1e-3):
    decay = 0.5 * (1 + np.cos(np.pi * np.clip((t - warmup) / (1 - warmup), 0, 1)))
    return np.where(t < warmup, peak * t / warmup, peak * decay)


def _train_curves(pattern, t, rng):
    """TRAIN/* values at the print steps (fractions ``t`` of the run)."""
    noise = lambda scale: rng.normal(0, scale, len(t))  # noqa: E731
    lr = _cosine_lr(t, 0.3 if pattern == "long_warmup" else 0.05)
    loss = 25 * np.exp(-8 * t) + np.exp(-2 * t) + 0.3 + noise(0.02)
    acc = 0.92 * _sat(t, 5) + noise(0.003)
    if pattern == "stalled":
        lr = np.where(t < 0.5, 1e-3, 1e-4)
        loss = 40 * np.exp(-3 * t) + 8 + noise(0.05)
        acc = 0.008 + 0.004 * t + noise(0.0005)
    elif pattern == "overfitting":
        acc = 0.95 * _sat(t, 5) + noise(0.002)
    elif pattern == "gap":
        acc = 0.80 * _sat(t, 5) + noise(0.002)
    elif pattern == "dead_pipeline":
        loss = np.where(t < 0.02, 45 - 1000 * t, 25) + noise(0.2)
        acc = np.zeros_like(t)
    elif pattern == "blank_plateau":
        loss = 90 * np.exp(-200 * t) + 22.5 - 0.5 * t + noise(0.1)
        acc = np.zeros_like(t)
    elif pattern == "plateau":
        acc = 0.90 * _sat(t, 10) + noise(0.001)
    elif pattern == "lr_collapse":
        lr = np.where(t < 0.05, 1e-3 * t / 0.05, 1e-3 * np.exp(-12 * (t - 0.05)))
        acc = 0.13 + np.minimum(t, 0.45) / 0.45 * 0.5 + noise(0.002)
    ned = 0.3 + 0.68 * np.clip(acc, 0, 1)
    if pattern == "dead_pipeline":
        ned = 0.5 * _sat(t, 50)
    elif pattern == "blank_plateau":
        ned = np.abs(noise(0.002))
    return {"lr": lr, "loss": loss, "acc": np.clip(acc, 0, 1), "norm_edit_dis": np.clip(ned, 0, 1)}


def _eval_curves(pattern, t, rng):
    """EVAL/* values at the eval steps."""
    noise = lambda scale: rng.normal(0, scale, len(t))  # noqa: E731
    acc = 0.86 * _sat(t, 4) + noise(0.0005)
    loss = 20 * np.exp(-6 * t) + 1.5 + noise(0.01)
    if pattern == "stalled":
        acc = 0.006 + 0.003 * t + noise(0.0002)
        loss = 38 * np.exp(-3 * t) + 9
    elif pattern == "overfitting":
        top = 0.80 * _sat(0.5, 8)
        acc = np.where(t <= 0.5, 0.80 * _sat(t, 8), top - 0.08 * (t - 0.5)) + noise(0.0005)
        loss = np.where(t <= 0.5, 20 * np.exp(-8 * t) + 1.5, 20 * np.exp(-4) + 1.5 + (t - 0.5)) + noise(0.005)
    elif pattern == "gap":
        acc = 0.665 * _sat(t, 3) / _sat(1.0, 3) + noise(0.0005)
    elif pattern == "dead_pipeline":
        acc = np.zeros_like(t)
        loss = 25 + noise(0.05)
    elif pattern == "blank_plateau":
        acc = np.zeros_like(t)
        loss = 22.4 + noise(0.05)
    elif pattern == "plateau":
        acc = 0.84 * np.minimum(_sat(t, 10) / _sat(0.4, 10), 1.0) + noise(0.0003)
    elif pattern == "lr_collapse":
        acc = 0.1 + np.minimum(t, 0.45) / 0.45 * 0.5 + noise(0.001)
    ned = 0.4 + 0.57 * np.clip(acc, 0, 1) / 0.86
    if pattern == "blank_plateau":
        ned = np.abs(noise(0.001))
    return {"acc": np.clip(acc, 0, 1), "norm_edit_dis": np.clip(ned, 0, 1), "loss": loss,
            "fps": 300 + noise(5)}


def make_curves(pattern="healthy", steps=6000, print_every=20, eval_every=200, steps_per_epoch=200,
                batch_size=64, seed=0):
    """``{tag: (steps, values)}`` of a run following ``pattern``."""
    if pattern not in PATTERNS:
        raise ValueError(f"unknown pattern '{pattern}'; known: {', '.join(PATTERNS)}")
    rng = np.random.default_rng(seed)
    end = int(steps * 0.6) if pattern == "nan" else steps
    train_steps = np.arange(print_every, end + 1, print_every)
    t = train_steps / steps
    curves = {f"TRAIN/{k}": (train_steps, v) for k, v in _train_curves(pattern, t, rng).items()}
    if pattern == "nan":
        loss = curves["TRAIN/loss"][1].copy()
        loss[-1] = np.nan
        curves["TRAIN/loss"] = (train_steps, loss)
    curves["TRAIN/epoch"] = (train_steps, np.ceil(train_steps / steps_per_epoch))
    curves["TRAIN/samples_per_sec"] = (train_steps, 500 + rng.normal(0, 10, len(train_steps)))
    epoch_ends = np.arange(steps_per_epoch, end + 1, steps_per_epoch)
    drop = 300.0 if pattern == "dropped_samples" else 0.0
    curves["TRAIN/dropped_samples"] = (epoch_ends, np.full(len(epoch_ends), drop))
    if pattern != "eval_never_ran":
        eval_steps = np.arange(eval_every, end + 1, eval_every)
        ev = _eval_curves(pattern, eval_steps / steps, rng)
        curves.update({f"EVAL/{k}": (eval_steps, v) for k, v in ev.items()})
        curves["EVAL/best_acc"] = (eval_steps, np.maximum.accumulate(ev["acc"]))
    return curves


def make_config(pattern="healthy", steps=6000, eval_every=200, steps_per_epoch=200, batch_size=64, save_dir="."):
    """A PaddleOCR-style config matching :func:`make_curves`."""
    warmup = int(0.3 * steps) if pattern == "long_warmup" else int(0.05 * steps)
    lr = {"name": "Cosine", "learning_rate": 0.001, "warmup_steps": warmup}
    if pattern == "stalled":
        lr = {"name": "Step", "learning_rate": 0.001, "step_size": steps // steps_per_epoch // 2, "gamma": 0.1}
    elif pattern == "lr_collapse":
        lr = {"name": "Cosine", "learning_rate": 0.001, "warmup_steps": warmup, "min_lr": 0.0}
    backbone = {"name": "MobileNetV3", "scale": 0.5, "model_name": "small"} if pattern == "stalled" else \
        {"name": "ResNet", "layers": 34}
    ebs = [0, steps + 4000] if pattern == "eval_never_ran" else [0, eval_every]
    transforms = [{"DecodeImage": {"img_mode": "BGR", "channel_first": False}}, {"RecAug": None},
                  {"CTCLabelEncode": None}, {"RecResizeImg": {"image_shape": [3, 48, 320]}},
                  {"KeepKeys": {"keep_keys": ["image", "label", "length"]}}]
    return {
        "Global": {"use_gpu": False, "epoch_num": steps // steps_per_epoch, "log_smooth_window": 20,
                   "print_batch_step": 20, "save_model_dir": save_dir, "eval_batch_step": ebs,
                   "cal_metric_during_train": True, "use_visualdl": True, "max_text_length": 25},
        "Optimizer": {"name": "Adam", "beta1": 0.9, "beta2": 0.999, "lr": lr,
                      "regularizer": {"name": "L2", "factor": 1e-5}},
        "Architecture": {"model_type": "rec", "algorithm": "CRNN", "Backbone": backbone,
                         "Neck": {"name": "SequenceEncoder", "encoder_type": "rnn", "hidden_size": 256},
                         "Head": {"name": "CTCHead", "fc_decay": 1e-5}},
        "Loss": {"name": "CTCLoss"}, "PostProcess": {"name": "CTCLabelDecode"},
        "Metric": {"name": "RecMetric", "main_indicator": "acc"},
        "Train": {"dataset": {"name": "SimpleDataSet", "data_dir": "./train_data/", "transforms": transforms,
                              "label_file_list": ["./train_data/train.txt"]},
                  "loader": {"shuffle": True, "batch_size_per_card": batch_size, "drop_last": True, "num_workers": 2}},
        "Eval": {"dataset": {"name": "SimpleDataSet", "data_dir": "./train_data/", "transforms": transforms[:1]
                             + transforms[2:], "label_file_list": ["./train_data/val.txt"]},
                 "loader": {"shuffle": False, "batch_size_per_card": 64, "drop_last": False, "num_workers": 2}},
    }


def _events(curves):
    """(step, order, tag, value) in the order a trainer logs them."""
    events = []
    for tag, (steps, values) in curves.items():
        order = 0 if tag.startswith("TRAIN/") and tag != "TRAIN/dropped_samples" else \
            1 if tag.startswith("EVAL/") else 2
        events += [(int(s), order, tag, float(v)) for s, v in zip(steps, values)]
    events.sort(key=lambda e: (e[0], e[1]))
    return events


def write_vdl(logdir, curves, file_name="vdlrecords.0000000001.log", steps_per_s=5.0, start=START,
              step_range=None):
    """Write ``curves`` with VisualDL's LogWriter (wall time = start + step / steps_per_s)."""
    from visualdl import LogWriter

    with LogWriter(logdir=logdir, file_name=file_name) as writer:
        for step, _, tag, value in _events(curves):
            if step_range and not step_range[0] <= step <= step_range[1]:
                continue
            writer.add_scalar(tag=tag, value=value, step=step, walltime=int((start + step / steps_per_s) * 1000))


def _stamp(seconds):
    return datetime.datetime.fromtimestamp(seconds).strftime("%Y/%m/%d %H:%M:%S")


def write_train_log(path, curves, epochs, steps_per_s=5.0, start=START, batch_size=64, steps_per_epoch=200):
    """Upstream-format train.log lines for ``curves`` (plus ppexp's opening 'train: N samples' line)."""
    by_step = {}
    for step, _, tag, value in _events(curves):
        by_step.setdefault(step, {})[tag] = value
    lines = [f"[{_stamp(start)}] ppocr INFO: train: {steps_per_epoch * batch_size} samples, {steps_per_epoch} "
             f"steps/epoch, {epochs} epochs, {epochs * steps_per_epoch} steps in total; world size 1"]
    best = None
    for step in sorted(by_step):
        vals, stamp = by_step[step], _stamp(start + step / steps_per_s)
        if "TRAIN/loss" in vals:
            lines.append(
                f"[{stamp}] ppocr INFO: epoch: [{int(vals['TRAIN/epoch'])}/{epochs}], global_step: {step}, "
                f"lr: {vals['TRAIN/lr']:.6f}, acc: {vals['TRAIN/acc']:.6f}, "
                f"norm_edit_dis: {vals['TRAIN/norm_edit_dis']:.6f}, loss: {vals['TRAIN/loss']:.6f}, "
                f"avg_reader_cost: 0.01000 s, avg_batch_cost: 0.20000 s, avg_samples: {batch_size}.0, "
                f"ips: {vals['TRAIN/samples_per_sec']:.5f} samples/s, eta: 0:10:00")
        if "EVAL/acc" in vals:
            cur = {k: vals[f"EVAL/{k}"] for k in ("acc", "norm_edit_dis", "loss", "fps")}
            if best is None or cur["acc"] >= best["acc"]:
                best = dict(cur, best_epoch=int(vals.get("TRAIN/epoch", 0)) or int(np.ceil(step / 200)))
            lines.append(f"[{stamp}] ppocr INFO: cur metric, " + ", ".join(f"{k}: {v}" for k, v in cur.items()))
            lines.append(f"[{stamp}] ppocr INFO: best metric, " + ", ".join(
                f"{k}: {v}" for k, v in best.items() if k != "loss"))
        if vals.get("TRAIN/dropped_samples"):
            n = int(vals["TRAIN/dropped_samples"])
            lines.append(f"[{stamp}] ppocr WARNING: dropped samples this epoch: {n} (bad_image: {n - 2}, "
                         "too_long: 2); they were replaced by other samples. Run `ppexp check-labels`.")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def write_run(path, pattern="healthy", vdl=True, train_log=True, steps=6000, eval_every=200, steps_per_epoch=200,
              seed=0, overrides=()):
    """A complete synthetic run directory; returns ``path``. ``overrides``: ``-o``-style config changes."""
    from ppexp.config import dump_config, merge_overrides

    os.makedirs(path, exist_ok=True)
    curves = make_curves(pattern, steps, 20, eval_every, steps_per_epoch, seed=seed)
    config = merge_overrides(make_config(pattern, steps, eval_every, steps_per_epoch, save_dir=path), overrides)
    dump_config(config, os.path.join(path, "config.yml"))
    if vdl:
        write_vdl(os.path.join(path, "vdl"), curves)
    if train_log:
        write_train_log(os.path.join(path, "train.log"), curves, config["Global"]["epoch_num"],
                        batch_size=config["Train"]["loader"]["batch_size_per_card"], steps_per_epoch=steps_per_epoch)
    return path


# ---------------------------------------------------------------- fast encoder (benchmarks)
def _varint(value):
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_scalar(tag, step, value, walltime_ms):
    """One scalar record exactly as VisualDL's LogWriter writes it (header + protobuf)."""
    tag_bytes = tag.encode("utf-8")
    inner = (b"\x08" + _varint(step) if step else b"") + b"\x12" + _varint(len(tag_bytes)) + tag_bytes
    inner += (b"\x18" + _varint(walltime_ms) if walltime_ms else b"") + b"\x25" + struct.pack("<f", value)
    payload = b"\x0a" + _varint(len(inner)) + inner
    return struct.pack("<Q", len(payload)) + payload


def encode_curves(curves, steps_per_s=5.0, start=START):
    """Bytes of a whole record file for ``curves`` (no meta-data record)."""
    parts = [encode_scalar(tag, step, value, int((start + step / steps_per_s) * 1000))
             for step, _, tag, value in _events(curves)]
    return b"".join(parts)


# ---------------------------------------------------------------- demo
DEMO = (  # the user's series, as synthetic runs: (name, pattern, config changes)
    ("exp2", "stalled", ()),
    ("exp3", "healthy", ("Architecture.Backbone.layers=18", "Architecture.Neck.hidden_size=128")),
    ("exp4", "overfitting", ("Architecture.Neck.hidden_size=256", "Train.loader.batch_size_per_card=192",
                             "Global.use_amp=true")),
    ("exp6", "gap", ("Architecture.Backbone.layers=18", "Optimizer.lr.min_lr=1e-6")),
    ("exp7", "dead_pipeline", ("Architecture.Backbone.layers=18", "Optimizer.lr.min_lr=1e-7",
                               "Architecture.Neck.hidden_size=384",
                               "Train.dataset.transforms=[{DecodeImage: {img_mode: BGR, channel_first: false}}, "
                               "{RecAug: null}, {RandAugment: {num_ops: 2, magnitude: 9}}, {CTCLabelEncode: null}, "
                               "{RecResizeImg: {image_shape: [3, 48, 320]}}, "
                               "{KeepKeys: {keep_keys: [image, label, length]}}]")),
)


def write_demo(root):
    """Write the demo runs under ``root``; returns their paths (oldest first)."""
    return [write_run(os.path.join(root, name), pattern, overrides=list(changes), seed=i)
            for i, (name, pattern, changes) in enumerate(DEMO)]


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2:
        print("usage: python -m ppexp.experiments.analysis.synthetic OUT_DIR  (writes demo runs exp2..exp7)")
        sys.exit(2)
    for path in write_demo(sys.argv[1]):
        print(path)
