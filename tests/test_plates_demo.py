"""The embedded demo's two configs: clean warm-up, then realistic plates from its weights."""
import os

import numpy as np
import paddle
import pytest

from helpers import data_overrides, make_digit_set
from ppexp.config import get_config
from ppexp.engine.checkpoint import load_params_into
from ppexp.engine.stats import TrainingStats

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARMUP = os.path.join(REPO, "configs", "rec", "plates_demo_warmup.yml")
DEMO = os.path.join(REPO, "configs", "rec", "plates_demo.yml")


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return make_digit_set(tmp_path_factory.mktemp("demo_digits"), 8, 4)


def _load(path, extra=()):
    config, warnings = get_config(path, list(extra))
    assert warnings == [], warnings
    return config


def test_stages_share_the_architecture_and_read_their_own_data():
    warm, demo = _load(WARMUP), _load(DEMO)
    assert warm["Architecture"] == demo["Architecture"]
    assert warm["Global"]["character_dict_path"] == demo["Global"]["character_dict_path"]
    assert warm["Train"]["dataset"]["data_dir"] == "./train_data/kr_plates_clean/"
    assert demo["Train"]["dataset"]["data_dir"] == "./train_data/kr_plates/"
    warm_ops = [next(iter(t)) for t in warm["Train"]["dataset"]["transforms"]]
    demo_ops = [next(iter(t)) for t in demo["Train"]["dataset"]["transforms"]]
    assert "RecAug" not in warm_ops and "RecAug" in demo_ops
    assert warm["Optimizer"]["lr"]["name"] == "Const"
    assert warm["Global"]["save_model_dir"] != demo["Global"]["save_model_dir"]


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

    demo = _trainer(DEMO, digits, tmp_path / "demo", [f"Global.pretrained_model={path}"])
    assert load_params_into(demo.model, path) == []
    demo.restore()  # the trainer's own path for Global.pretrained_model
    for key, value in warm.model.state_dict().items():
        np.testing.assert_array_equal(demo.model.state_dict()[key].numpy(), value.numpy(), err_msg=key)
    demo.train_step(next(iter(demo.train_loader)), 0, stats, 1)
    assert np.isfinite(stats.get()["loss"])


def test_missing_pretrained_model_names_the_key_and_the_fix(digits, tmp_path):
    demo = _trainer(DEMO, digits, tmp_path / "demo", [f"Global.pretrained_model={tmp_path}/nowhere/latest"])
    with pytest.raises(FileNotFoundError, match=r"Global.pretrained_model: .*nowhere/latest.pdparams' does not "
                                                r"exist.*plates_demo_warmup.yml.*null"):
        demo.restore()
