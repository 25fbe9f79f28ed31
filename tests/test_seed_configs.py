"""The seed experiments as configs (configs/rec/exp*.yml).

Each loads without unknown-key warnings, builds with the plate dictionary, trains one step
on generated images, and differs from the previous experiment exactly as the change tables
of the user's reports (../shared/seeds/000_*, 001_*) say. See configs/rec/README.md.
"""
import glob
import logging
import os
import re

import numpy as np
import pytest

from helpers import data_overrides, make_digit_set
from ppexp.config import get_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG_DIR = os.path.join(REPO, "configs", "rec")
PLATE_DICT = "ppexp/dicts/kr_plate_dict.txt"
SERIES = ["exp2", "exp3", "exp4", "exp5", "exp6", "exp7", "exp8", "exp9", "exp10", "exp11", "exp11_1",
          "exp12", "exp13"]
# Keys that name the run itself, so they always differ between two experiments.
RUN_KEYS = {"Global.save_model_dir", "Global.save_inference_dir", "Global.save_res_path"}


def _natural(path):
    name = os.path.basename(path)
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


CONFIGS = sorted(glob.glob(os.path.join(CONFIG_DIR, "exp*.yml")), key=_natural)


def path_of(name):
    return os.path.join(CONFIG_DIR, f"{name}.yml")


def load(name, overrides=None):
    config, warnings = get_config(path_of(name), overrides)
    return config, warnings


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def ppexp_warnings():
    """WARNING messages of the 'ppexp' logger (it may not propagate to pytest's handler)."""
    handler, log = _Collect(), logging.getLogger("ppexp")
    log.addHandler(handler)
    yield handler.messages
    log.removeHandler(handler)


# ---------------------------------------------------------------- flat view for diffs
def flatten(config):
    """{dotted key: value}; Train/Eval transforms as their name sequence plus per-transform args."""
    flat = {}

    def walk(prefix, node):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else key, value)
        elif prefix.endswith(".transforms") and isinstance(node, list):
            names = []
            for item in node:
                (name, params), = item.items()
                names.append(name)
                for key, value in (params or {}).items():
                    flat[f"{prefix}.{name}.{key}"] = value
            flat[prefix] = " + ".join(names)
        elif node is not None:
            flat[prefix] = node

    walk("", config)
    return flat


def changes(a, b):
    """{key: (value in a, value in b)} of the keys that differ (absent == null), run names left out."""
    fa, fb = flatten(load(a)[0]), flatten(load(b)[0])
    out = {}
    for key in list(fa) + [k for k in fb if k not in fa]:
        if key not in RUN_KEYS and fa.get(key) != fb.get(key):
            out[key] = (fa.get(key), fb.get(key))
    return out


# ---------------------------------------------------------------- the series is complete
def test_series_complete():
    assert [os.path.splitext(os.path.basename(p))[0] for p in CONFIGS] == SERIES


def test_readme_lists_every_experiment():
    text = open(os.path.join(CONFIG_DIR, "README.md"), encoding="utf-8").read()
    for name in SERIES:
        assert f"{name}.yml" in text, name


@pytest.mark.parametrize("name", SERIES)
def test_header_and_shared_settings(name):
    lines = open(path_of(name), encoding="utf-8").read().splitlines()
    assert lines[0].startswith(f"# {name} -- "), lines[0]
    header = "\n".join(line for line in lines if line.startswith("#"))
    assert "Outcome" in header and "not in the reports" in header
    if name != "exp2":
        assert "Changed vs" in header
    config, _ = load(name)
    g = config["Global"]
    assert g["checkpoints"] is None and g["pretrained_model"] is None
    assert g["character_dict_path"] == PLATE_DICT
    assert g["save_model_dir"] == f"./output/rec/{name}/"
    assert g["use_visualdl"] is True
    assert config["Train"]["dataset"]["data_dir"] == "./train_data/kr_plates/"
    assert config["Train"]["dataset"]["label_file_list"] == ["./train_data/kr_plates/train.txt"]
    assert config["Eval"]["dataset"]["label_file_list"] == ["./train_data/kr_plates/val.txt"]
    assert flatten(config)["Eval.dataset.transforms"] == "DecodeImage + CTCLabelEncode + RecResizeImg + KeepKeys"
    shapes = {step["RecResizeImg"]["image_shape"] == [3, 48, 160]
              for mode in ("Train", "Eval") for step in config[mode]["dataset"]["transforms"]
              if "RecResizeImg" in step}
    assert shapes == {True}


# ---------------------------------------------------------------- load, build, one step
@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """A few generated digit strings (every digit is in the plate dictionary)."""
    return make_digit_set(tmp_path_factory.mktemp("seed_digits"), 6, 2)


@pytest.mark.parametrize("name", SERIES)
def test_loads_builds_and_trains_one_step(name, digits, tmp_path, ppexp_warnings):
    from ppexp.engine.stats import TrainingStats
    from ppexp.engine.trainer import Trainer

    config, warnings = load(name)
    assert warnings == [], warnings
    opts = data_overrides(digits, str(tmp_path)) + [
        # the config's own dictionary, made independent of the working directory
        f"Global.character_dict_path={os.path.join(REPO, config['Global']['character_dict_path'])}",
        "Global.use_visualdl=False",
        # 2 images at the config's own image shape: a ResNet34 step costs seconds on a CPU
        "Train.loader.batch_size_per_card=2", "Train.loader.num_workers=0",
        "Eval.loader.batch_size_per_card=2", "Eval.loader.num_workers=0",
    ]
    config, warnings = load(name, opts)
    assert warnings == [], warnings
    trainer = Trainer(config)  # build_components (dictionary, model, loss, ...), loaders, optimizer
    assert config["Architecture"]["Head"]["out_channels"] == trainer.parts.charset.num_classes
    trainer.amp.announce()
    stats = TrainingStats(5)
    trainer.train_step(next(iter(trainer.train_loader)), 0, stats, 1)
    assert np.isfinite(stats.get()["loss"])
    ignored = [m for m in ppexp_warnings if "ignored" in m and "AMP" not in m]
    assert ignored == [], ignored  # e.g. a transform option the transform does not take
    if config["Global"].get("use_amp"):
        assert any("AMP is ignored" in m for m in ppexp_warnings)


# ---------------------------------------------------------------- the reports' change tables
LWC_TO_ONECYCLE = {
    "Optimizer.lr.name": ("LinearWarmupCosine", "OneCycle"),
    "Optimizer.lr.learning_rate": (0.001, None),
    "Optimizer.lr.max_lr": (None, 0.001),
}
AMP_ON = {
    "Global.use_amp": (None, True), "Global.amp_level": (None, "O1"), "Global.amp_dtype": (None, "float16"),
    "Global.scale_loss": (None, 1024.0), "Global.use_dynamic_loss_scaling": (None, True),
}
RECAUG_OPS = ("crop_prob", "reverse_prob", "noise_prob", "jitter_prob", "blur_prob", "hsv_aug_prob")


def _ops(a, b):
    return {f"Train.dataset.transforms.RecAug.{k}": (a, b) for k in RECAUG_OPS}


def _swap(rows):
    return {k: (b, a) for k, (a, b) in rows.items()}


# (previous, next): the complete set of differences. Table rows in comments; the rest is named.
EXPECTED = {
    # exp2 -> "Backbone 변경: MobileNetV3 -> ResNet" (18: exp3's list "ResNet18 -> ResNet34");
    # exp3's schedule: the "before" column of exp3's list (LinearWarmupCosine, warmup 3125).
    ("exp2", "exp3"): {
        "Architecture.Backbone.name": ("MobileNetV3", "ResNet"),
        "Architecture.Backbone.model_name": ("large", None),
        "Architecture.Backbone.scale": (0.5, None),
        "Architecture.Backbone.layers": (None, 18),
        "Optimizer.lr.name": ("StepDecay", "LinearWarmupCosine"),
        "Optimizer.lr.step_size": (30, None),
        "Optimizer.lr.gamma": (0.1, None),
        "Optimizer.lr.warmup_steps": (None, 3125),
        "Optimizer.lr.min_lr": (None, 1e-6),
    },
    # exp3's list: ResNet18->34, hidden 128->256, fc_decay 1e-5->1e-4, LinearWarmupCosine->OneCycle,
    # warmup 3125->5000, batch 128->192, AMP (float16).
    ("exp3", "exp4"): {
        "Architecture.Backbone.layers": (18, 34),
        "Architecture.Neck.hidden_size": (128, 256),
        "Architecture.Head.fc_decay": (1e-5, 1e-4),
        **LWC_TO_ONECYCLE, "Optimizer.lr.min_lr": (1e-6, None),
        "Optimizer.lr.warmup_steps": (3125, 5000),
        "Train.loader.batch_size_per_card": (128, 192),
        **AMP_ON,
    },
    # Exp4 -> Exp5 table: epoch 100->120, OneCycle->LinearWarmupCosine, warmup 5000->3000, factor
    # 0.01->1e-5, batch 192->128, fc_decay 1e-4->1e-5 (+ ResNet18 from exp5's title). Its transforms
    # row is not applied (see exp5.yml's header).
    ("exp4", "exp5"): {
        "Global.epoch_num": (100, 120),
        **_swap(LWC_TO_ONECYCLE), "Optimizer.lr.min_lr": (None, 1e-6),
        "Optimizer.lr.warmup_steps": (5000, 3000),
        "Optimizer.regularizer.factor": (0.01, 1e-5),
        "Train.loader.batch_size_per_card": (192, 128),
        "Architecture.Head.fc_decay": (1e-4, 1e-5),
        "Architecture.Backbone.layers": (34, 18),
    },
    # Exp5 -> Exp6 table: warmup 3000->2000, batch 128->192, checkpoints -> null (both null here).
    ("exp5", "exp6"): {
        "Optimizer.lr.warmup_steps": (3000, 2000),
        "Train.loader.batch_size_per_card": (128, 192),
    },
    # Exp6 -> Exp7 table, 8 rows (disable_se has no effect on ResNet-vd; ppexp warns).
    ("exp6", "exp7"): {
        "Architecture.Backbone.disable_se": (True, False),
        "Optimizer.lr.warmup_steps": (2000, 1000),
        "Optimizer.lr.min_lr": (1e-6, 1e-7),
        "Optimizer.regularizer.factor": (1e-5, 1e-4),
        "Train.loader.batch_size_per_card": (192, 128),
        "Architecture.Neck.hidden_size": (256, 384),
        "Architecture.Head.fc_decay": (1e-5, 1e-4),
        "Train.dataset.transforms": ("DecodeImage + RecAug + CTCLabelEncode + RecResizeImg + KeepKeys",
                                     "DecodeImage + RecAug + RandAugment + CTCLabelEncode + RecResizeImg + KeepKeys"),
        "Train.dataset.transforms.RandAugment.num_ops": (None, 2),
        "Train.dataset.transforms.RandAugment.magnitude": (None, 9),
    },
    # exp7's report: "RandAugment 제거 후 학습 지속"; exp8 adds no new settings (label check only).
    ("exp7", "exp8"): {
        "Train.dataset.transforms": ("DecodeImage + RecAug + RandAugment + CTCLabelEncode + RecResizeImg + KeepKeys",
                                     "DecodeImage + RecAug + CTCLabelEncode + RecResizeImg + KeepKeys"),
        "Train.dataset.transforms.RandAugment.num_ops": (2, None),
        "Train.dataset.transforms.RandAugment.magnitude": (9, None),
    },
    # exp9 = the "Exp9" column of the Exp9 -> Exp10 table (hidden 256, SE off, fc 1e-4, warmup 5000,
    # batch 192, aug_prob 0.7, use_tia True, factor 0.01, OneCycle).
    ("exp8", "exp9"): {
        "Architecture.Backbone.disable_se": (False, True),
        "Architecture.Neck.hidden_size": (384, 256),
        **LWC_TO_ONECYCLE, "Optimizer.lr.min_lr": (1e-7, None),
        "Optimizer.lr.warmup_steps": (1000, 5000),
        "Optimizer.regularizer.factor": (1e-4, 0.01),
        "Train.loader.batch_size_per_card": (128, 192),
    },
    # Exp9 -> Exp10 table: hidden 256->384, disable_se True->False, warmup 5000->2500,
    # aug_prob 0.7->1.0, use_tia True->False; fc_decay, batch, factor, OneCycle the same.
    ("exp9", "exp10"): {
        "Architecture.Backbone.disable_se": (True, False),
        "Architecture.Neck.hidden_size": (256, 384),
        "Optimizer.lr.warmup_steps": (5000, 2500),
        "Train.dataset.transforms.RecAug.aug_prob": (0.7, 1.0),
        "Train.dataset.transforms.RecAug.use_tia": (True, False),
    },
    # Exp10 -> Exp11 table: hidden 384->512, ResNet18->34, disable_se False->True, factor
    # 0.01->0.001, warmup 2500->1000, batch 192->160, TIA on (tia_prob 0.8) + ops at 0.5.
    ("exp10", "exp11"): {
        "Architecture.Backbone.disable_se": (False, True),
        "Architecture.Neck.hidden_size": (384, 512),
        "Architecture.Backbone.layers": (18, 34),
        "Optimizer.regularizer.factor": (0.01, 0.001),
        "Optimizer.lr.warmup_steps": (2500, 1000),
        "Train.loader.batch_size_per_card": (192, 160),
        "Train.dataset.transforms.RecAug.use_tia": (False, None),
        "Train.dataset.transforms.RecAug.aug_prob": (1.0, None),
        "Train.dataset.transforms.RecAug.tia_prob": (None, 0.8),
        **_ops(None, 0.5),
    },
    # Exp11 -> Exp11_1 table: tia_prob 0.8->0.5, the six ops 0.5->0.3, batch 160->176.
    ("exp11", "exp11_1"): {
        "Train.dataset.transforms.RecAug.tia_prob": (0.8, 0.5),
        **_ops(0.5, 0.3),
        "Train.loader.batch_size_per_card": (160, 176),
    },
    # Notes on exp12: hidden 512->384, factor 0.001->0.0005, warmup 1500, milder augmentation
    # (amounts chosen); LinearWarmupCosine with min_lr inferred from exp13's note.
    ("exp11_1", "exp12"): {
        "Architecture.Neck.hidden_size": (512, 384),
        "Optimizer.regularizer.factor": (0.001, 0.0005),
        "Optimizer.lr.warmup_steps": (1000, 1500),
        **_swap(LWC_TO_ONECYCLE), "Optimizer.lr.min_lr": (None, 1e-7),
        "Train.dataset.transforms.RecAug.tia_prob": (0.5, 0.3),
        **_ops(0.3, 0.2),
    },
    # Note on exp13: "min_lr = 3e-5로 변경".
    ("exp12", "exp13"): {
        "Optimizer.lr.min_lr": (1e-7, 3e-5),
    },
}


def test_every_step_of_the_series_is_checked():
    assert list(EXPECTED) == list(zip(SERIES, SERIES[1:]))


@pytest.mark.parametrize("pair", list(EXPECTED), ids=lambda p: f"{p[0]}->{p[1]}")
def test_change_tables(pair):
    assert changes(*pair) == EXPECTED[pair]


def test_resnet_disable_se_is_kept_and_warned_about():
    """The reports toggle Backbone.disable_se on ResNet: kept as in the reports; building warns it does nothing."""
    want = {"exp3": True, "exp4": True, "exp5": True, "exp6": True, "exp7": False, "exp8": False,
            "exp9": True, "exp10": False, "exp11": True, "exp11_1": True, "exp12": True, "exp13": True}
    for name, value in want.items():
        assert load(name)[0]["Architecture"]["Backbone"]["disable_se"] is value, name
    from ppexp.modeling.backbones.rec_resnet_vd import ResNet
    from ppexp.modeling.param_attrs import fresh_names

    import logging

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("ppexp")
    logger.addHandler(handler)
    try:
        with fresh_names():
            ResNet(layers=18, disable_se=True)
    finally:
        logger.removeHandler(handler)
    assert any("no effect" in r.getMessage() for r in records)
