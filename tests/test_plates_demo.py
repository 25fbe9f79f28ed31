"""The plate configs: pretraining (clean warm-up, then realistic plates) and the demo that fine-tunes the shipped model."""
import os

import numpy as np
import paddle
import pytest
import yaml

from helpers import data_overrides, make_digit_set
from ppexp.config import get_config
from ppexp.engine.checkpoint import load_params_into
from ppexp.engine.stats import TrainingStats

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARMUP = os.path.join(REPO, "configs", "rec", "plates_pretrain_warmup.yml")
PRETRAIN = os.path.join(REPO, "configs", "rec", "plates_pretrain.yml")
DEMO = os.path.join(REPO, "configs", "rec", "plates_demo.yml")
REGION = os.path.join(REPO, "configs", "rec", "plates_pretrain_region.yml")
MORE = os.path.join(REPO, "configs", "rec", "plates_pretrain_more.yml")
V5 = os.path.join(REPO, "configs", "rec", "plates_pretrain_v5.yml")
V5B = os.path.join(REPO, "configs", "rec", "plates_pretrain_v5b.yml")
V5C = os.path.join(REPO, "configs", "rec", "plates_pretrain_v5c.yml")
V5D = os.path.join(REPO, "configs", "rec", "plates_pretrain_v5d.yml")
V5E = os.path.join(REPO, "configs", "rec", "plates_pretrain_v5e.yml")
V5F = os.path.join(REPO, "configs", "rec", "plates_pretrain_v5f.yml")
V6A = os.path.join(REPO, "configs", "rec", "plates_pretrain_v6a.yml")
V6B = os.path.join(REPO, "configs", "rec", "plates_pretrain_v6b.yml")
V6C = os.path.join(REPO, "configs", "rec", "plates_pretrain_v6c.yml")
SHIPPED_CONFIG = os.path.join(REPO, "ppexp", "pretrained", "kr_plates_rec", "config.yml")
SHIPPED = os.path.join(REPO, "ppexp", "pretrained", "kr_plates_rec", "best_accuracy.pdparams")


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return make_digit_set(tmp_path_factory.mktemp("demo_digits"), 8, 4)


def _load(path, extra=()):
    config, warnings = get_config(path, list(extra))
    assert warnings == [], warnings
    return config


def test_stages_share_the_architecture_and_read_their_own_data():
    warm, pre, demo = _load(WARMUP), _load(PRETRAIN), _load(DEMO)
    region, more, v5, v5b, v5c = _load(REGION), _load(MORE), _load(V5), _load(V5B), _load(V5C)
    v5d, v5e, v5f, v6a, v6b, v6c = _load(V5D), _load(V5E), _load(V5F), _load(V6A), _load(V6B), _load(V6C)
    with open(SHIPPED_CONFIG, encoding="utf-8") as f:
        shipped = yaml.safe_load(f)
    # stages 1-4 read two rows; stages 5-15 (15 is the shipped model) and the demo one row, else the same network
    assert warm["Architecture"] == pre["Architecture"] and pre["Architecture"]["Neck"]["rows"] == 2
    assert region["Architecture"] == more["Architecture"] == v5["Architecture"] == v5b["Architecture"] \
        == v5c["Architecture"] == v5d["Architecture"] == v5e["Architecture"] == v5f["Architecture"] \
        == v6a["Architecture"] == v6b["Architecture"] == v6c["Architecture"] == demo["Architecture"]
    assert v6c["Architecture"] == shipped["Architecture"]
    assert v6c["Train"]["dataset"] == shipped["Train"]["dataset"]      # the shipped model is stage 15's
    # the demo reads images as the shipped model was trained to: the same steps before the resize
    image_steps = lambda c, part: [t for t in c[part]["dataset"]["transforms"] if next(iter(t)) in
                                   ("ShrinkLarge", "Deskew", "CropToText", "TwoLineToOneLine")]
    for part in ("Train", "Eval"):
        assert image_steps(demo, part) == image_steps(v6c, part) == image_steps(v6b, part) == image_steps(v6a, part) != []
    stages = (region, more, v5, v5b, v5c, v5d, v5e, v5f, v6a, v6b, v6c)
    for earlier, later in zip(stages, stages[1:]):     # each stage continues the one before, on a fresh set
        assert later["Global"]["pretrained_model"] == earlier["Global"]["save_model_dir"].rstrip("/") + "/latest"
        assert later["Train"]["dataset"]["data_dir"] != earlier["Train"]["dataset"]["data_dir"]   # a fresh set
    assert demo["Architecture"]["Neck"]["rows"] == 1
    one_row = dict(pre["Architecture"], Neck=dict(pre["Architecture"]["Neck"], rows=1))
    assert one_row == demo["Architecture"]
    assert warm["Global"]["character_dict_path"] == demo["Global"]["character_dict_path"]
    assert warm["Train"]["dataset"]["data_dir"] == "./train_data/kr_plates_clean/"
    assert pre["Train"]["dataset"]["data_dir"] == "./train_data/kr_plates_pretrain/"
    assert demo["Train"]["dataset"]["data_dir"] == "./train_data/kr_plates/"
    ops = lambda c: [next(iter(t)) for t in c["Train"]["dataset"]["transforms"]]
    assert "RecAug" not in ops(warm) and "RecAug" in ops(pre) and "RecAug" in ops(demo)
    assert warm["Optimizer"]["lr"]["name"] == "Const"
    assert len({c["Global"]["save_model_dir"] for c in (warm, pre, demo)}) == 3
    assert demo["Global"]["pretrained_model"] == "ppexp/pretrained/kr_plates_rec/best_accuracy"


def _trainer(path, digits, out_dir, extra=()):
    from ppexp.engine.trainer import Trainer

    opts = data_overrides(digits, str(out_dir)) + [
        f"Global.character_dict_path={os.path.join(REPO, 'ppexp/dicts/kr_plate_dict.txt')}",
        "Global.use_visualdl=False", "Train.loader.batch_size_per_card=4", "Train.loader.num_workers=0",
        "Eval.loader.batch_size_per_card=4", "Eval.loader.num_workers=0", *extra]
    return Trainer(_load(path, opts))


def test_warmup_weights_load_into_the_demo_without_a_warning(digits, tmp_path):
    warm = _trainer(WARMUP, digits, tmp_path / "warm")
    stats = TrainingStats(5)
    warm.train_step(next(iter(warm.train_loader)), 0, stats, 1)
    assert np.isfinite(stats.get()["loss"])
    path = str(tmp_path / "warm.pdparams")
    paddle.save(warm.model.state_dict(), path)

    demo = _trainer(PRETRAIN, digits, tmp_path / "demo", [f"Global.pretrained_model={path}"])
    assert load_params_into(demo.model, path) == []
    demo.restore()  # the trainer's own path for Global.pretrained_model
    for key, value in warm.model.state_dict().items():
        np.testing.assert_array_equal(demo.model.state_dict()[key].numpy(), value.numpy(), err_msg=key)
    demo.train_step(next(iter(demo.train_loader)), 0, stats, 1)
    assert np.isfinite(stats.get()["loss"])


def test_missing_pretrained_model_names_the_key_and_the_fix(digits, tmp_path):
    demo = _trainer(DEMO, digits, tmp_path / "demo", [f"Global.pretrained_model={tmp_path}/nowhere/latest"])
    with pytest.raises(FileNotFoundError, match=r"Global.pretrained_model: .*nowhere/latest.pdparams' does not "
                                                r"exist.*plates_pretrain_warmup.yml.*null"):
        demo.restore()


def test_the_shipped_model_fits_the_demo_and_is_small():
    """ppexp ships the synthetic-only plate recogniser the demo fine-tunes (<= 10 MB, every tensor used)."""
    from ppexp.engine.builder import build_components

    assert os.path.getsize(SHIPPED) <= 10 * 2 ** 20
    cfg = _load(DEMO, [f"Global.character_dict_path={os.path.join(REPO, 'ppexp/dicts/kr_plate_dict.txt')}"])
    assert load_params_into(build_components(cfg).model, SHIPPED) == []
