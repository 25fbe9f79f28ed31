"""Train.dataset.resolution_schedule: the det crop size changes at the epoch boundary, in and out of workers."""
import logging
import os
import pickle

import pytest

from det_helpers import make_det_set
from ppexp import cli
from ppexp.config import get_config
from ppexp.data.loader import build_dataloader
from ppexp.data.resolution_schedule import parse_schedule
from ppexp.data.sampler import EpochIndex
from ppexp.errors import UserError

DEMO_CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "det", "det_plates_demo.yml")
KEY = "Train.dataset.resolution_schedule"


@pytest.fixture(scope="module")
def det_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("det_sched")
    return root, make_det_set(str(root), 4, seed=1)


def _overrides(det_root, out, schedule="[[1, 64], [2, 96]]", workers=0):
    root, label = det_root
    return [f"Global.save_model_dir={out}", "Global.pretrained_model=null", "Global.epoch_num=3", "Global.eval_batch_step=[0,1000]",
            "Global.print_batch_step=1", "Global.use_visualdl=False", "Architecture.Backbone.model_name=small",
            "Architecture.Backbone.scale=0.35", "Architecture.Neck.out_channels=16",
            f"Train.dataset.data_dir={root}", f"Train.dataset.label_file_list=[{label}]",
            f"Eval.dataset.data_dir={root}", f"Eval.dataset.label_file_list=[{label}]",
            f"Train.loader.num_workers={workers}", "Eval.loader.num_workers=0", "Train.loader.batch_size_per_card=2",
            "Train.dataset.transforms.3.EastRandomCropData.size=[32,32]", f"{KEY}={schedule}"]


def test_epoch_index_pickles_with_its_epoch():
    idx = pickle.loads(pickle.dumps(EpochIndex(5, 3)))
    assert idx == 5 and idx.epoch == 3 and [10, 11, 12, 13, 14, 15][idx] == 15


def test_crop_size_changes_at_the_epoch_boundary_in_training(det_root, tmp_path, caplog):
    from ppexp.engine.trainer import Trainer

    config, _ = get_config(DEMO_CONFIG, _overrides(det_root, tmp_path / "run"))
    trainer = Trainer(config)
    seen, model = [], trainer.train_model

    def recording(images):
        seen.append((trainer.state["global_step"] + 1, tuple(images.shape[2:])))
        return model(images)

    trainer.train_model = recording
    with caplog.at_level(logging.INFO, logger="ppexp"):
        trainer.fit()
    # 4 images, batch 2: steps 1-2 are epoch 1, 3-4 epoch 2, 5-6 epoch 3 (the last entry holds on)
    assert seen == [(1, (64, 64)), (2, (64, 64)), (3, (96, 96)), (4, (96, 96)), (5, (96, 96)), (6, (96, 96))]
    changes = [r.getMessage() for r in caplog.records if KEY in r.getMessage()]
    assert changes == [f"{KEY}: training crops of 64x64 from epoch 1", f"{KEY}: training crops of 96x96 from epoch 2"]


def test_dataloader_workers_follow_the_epoch_of_each_batch(det_root, tmp_path):
    """Persistent workers were forked at epoch 1: the size still follows each batch's epoch."""
    config, _ = get_config(DEMO_CONFIG, _overrides(det_root, tmp_path / "w", "[[2, 64], [3, [96, 64]]]", workers=1))
    loader, _ = build_dataloader(config, "Train", seed=3)
    shapes = {}
    for epoch in (1, 2, 3, 2):
        loader.batch_sampler.set_epoch(epoch)
        shapes.setdefault(epoch, set()).update(tuple(b[0].shape[2:]) for b in loader)
    assert shapes == {1: {(32, 32)}, 2: {(64, 64)}, 3: {(64, 96)}}   # [N, C, H, W]: width 96, height 64


@pytest.mark.parametrize("value, message", [
    ("[[0, 640], [0, 960]]", r"\[1\]: epochs must increase"),
    ("[[0, 650]]", r"\[0\]: crop sides must be positive multiples of 32"),
    ("[[-1, 640]]", r"\[0\]: first_epoch must be an integer >= 0"),
    ("[640, 960]", r"\[0\] must be a \[first_epoch, size\] pair"),
    ("[]", r" must be a non-empty list"),
    ("[[1, [640, 480, 3]]]", r"\[0\]: the size must be one integer side or \[width, height\]"),
])
def test_bad_schedules_name_the_key(value, message):
    from ppexp.config import parse_yaml

    with pytest.raises(UserError, match=KEY.replace(".", r"\.") + message):
        parse_schedule(parse_yaml(value))


def test_train_refuses_a_bad_schedule_naming_the_key(det_root, tmp_path, capsys):
    rc = cli.main(["train", "-c", DEMO_CONFIG, "-o", *_overrides(det_root, tmp_path / "bad", "[[1, 100]]")])
    assert rc == 2
    assert f"{KEY}[0]: crop sides must be positive multiples of 32" in capsys.readouterr().err


def test_schedule_without_a_crop_transform_or_in_eval_is_refused(det_root, tmp_path):
    config, _ = get_config(DEMO_CONFIG, _overrides(det_root, tmp_path / "x"))
    config["Train"]["dataset"]["transforms"].pop(3)   # no EastRandomCropData
    with pytest.raises(UserError, match=r"Train\.dataset\.resolution_schedule needs exactly one crop transform"):
        build_dataloader(config, "Train", seed=0)
    config, _ = get_config(DEMO_CONFIG, _overrides(det_root, tmp_path / "y") + ["Eval.dataset.resolution_schedule=[[1, 64]]"])
    with pytest.raises(UserError, match=r"Eval\.dataset\.resolution_schedule: .* training crops only"):
        build_dataloader(config, "Eval", seed=0)
