"""Every upstream config in ../shared/fixtures loads unchanged, builds, and trains one step."""
import glob
import os

import numpy as np
import pytest

from helpers import make_toy_set
from ppexp.config import get_config
from ppexp.data.lmdb_writer import write_lmdb

SHARED_CONFIGS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "fixtures", "paddleocr", "configs")
CONFIGS = sorted(glob.glob(os.path.join(SHARED_CONFIGS, "*.yml")))


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = make_toy_set(tmp_path_factory.mktemp("toy"), n_train=16, n_val=8)
    lmdb_root = os.path.join(root, "lmdb")
    for split in ("train", "val"):
        samples = []
        for line in open(os.path.join(root, f"{split}.txt"), encoding="utf-8"):
            rel, label = line.rstrip("\n").split("\t")
            samples.append((open(os.path.join(root, rel), "rb").read(), label))
        write_lmdb(os.path.join(lmdb_root, split), samples)
    return root


def _overrides(config, root, fixtures, out):
    opts = [f"Global.save_model_dir={out}", "Global.use_visualdl=False", "Global.use_gpu=False"]
    dict_path = config["Global"].get("character_dict_path")
    if dict_path:
        local = os.path.join(fixtures, "dicts", os.path.basename(dict_path))
        opts.append(f"Global.character_dict_path={local if os.path.exists(local) else fixtures + '/dicts/en_dict.txt'}")
    for mode, split in (("Train", "train"), ("Eval", "val")):
        if config[mode]["dataset"]["name"] == "LMDBDataSet":
            opts.append(f"{mode}.dataset.data_dir={root}/lmdb/{split}")
        else:
            opts += [f"{mode}.dataset.data_dir={root}", f"{mode}.dataset.label_file_list=[{root}/{split}.txt]"]
        opts += [f"{mode}.loader.batch_size_per_card=4", f"{mode}.loader.num_workers=0"]
    return opts


@pytest.mark.skipif(not CONFIGS, reason="../shared/fixtures/paddleocr/configs absent")
@pytest.mark.parametrize("path", CONFIGS, ids=os.path.basename)
def test_upstream_config_trains_one_step(path, toy, fixtures_dir, tmp_path):
    from ppexp.engine.stats import TrainingStats
    from ppexp.engine.trainer import Trainer

    raw, warnings = get_config(path)
    assert warnings == [], warnings  # upstream configs load unchanged, without noise
    config, _ = get_config(path, _overrides(raw, toy, str(fixtures_dir), str(tmp_path)))
    trainer = Trainer(config)
    stats = TrainingStats(5)
    batch = next(iter(trainer.train_loader))
    trainer.train_step(batch, 0, stats, 1)
    assert np.isfinite(stats.get()["loss"])
    n_classes = trainer.parts.charset.num_classes
    assert config["Architecture"]["Head"]["out_channels"] == n_classes
