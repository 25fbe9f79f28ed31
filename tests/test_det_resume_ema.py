"""Det runs: a run resumed mid-epoch (Global.checkpoints) equals the uninterrupted one; EMA is evaluated and saved."""
import os
import pickle

import numpy as np
import paddle
import pytest

from det_helpers import tiny_det_overrides
from helpers import StopAt
from ppexp.config import get_config
from ppexp.engine.trainer import Trainer
from ppexp.experiments.synth.det_dataset import generate_det_dataset

DEMO_CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "det", "det_plates_demo.yml")
# 8 scenes, 2 of them val; batch 3 -> 2 steps per epoch, 2 epochs; eval every 2 steps. After 4 steps the
# tiny model finds no plate (hmean 0 in both runs), so the weights and the EMA shadow are what is compared.
RUN = ["Global.epoch_num=2", "Global.ema={decay: 0.8}", "Global.use_visualdl=False", "Optimizer.lr.warmup_epoch=0"]
METRICS = ("precision", "recall", "hmean")


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    root = tmp_path_factory.mktemp("det_scenes")
    generate_det_dataset(str(root), 8, seed=5, val_fraction=0.25, workers=1, progress=False)
    return root


def _config(scenes, out, *extra):
    return get_config(DEMO_CONFIG, tiny_det_overrides(scenes, out) + RUN + list(extra))[0]


def _states(out, prefix):
    with open(os.path.join(out, prefix + ".states"), "rb") as f:
        return pickle.load(f)


@pytest.mark.slow
def test_det_resumed_mid_epoch_equals_uninterrupted_with_ema(scenes, tmp_path):
    full, part, resumed = (str(tmp_path / name) for name in ("full", "part", "resumed"))
    # the schedule switches the crop at epoch 2, the epoch the run is interrupted in
    schedule = "Train.dataset.resolution_schedule=[[1, 96], [2, 128]]"
    Trainer(_config(scenes, full, schedule)).fit()
    Trainer(_config(scenes, part, schedule), callbacks=[StopAt(3)]).fit()  # first step of epoch 2
    assert _states(part, "latest")["position"] == {"epoch": 2, "step_in_epoch": 1}
    Trainer(_config(scenes, resumed, schedule, f"Global.checkpoints={part}/latest")).fit()

    a, b = _states(full, "latest"), _states(resumed, "latest")
    assert a["global_step"] == b["global_step"] == 4
    for key in METRICS:
        assert b["best_model_dict"][key] == pytest.approx(a["best_model_dict"][key], abs=1e-6)
    assert a["best_model_dict"]["best_step"] == b["best_model_dict"]["best_step"]
    assert b["ema"]["updates"] == a["ema"]["updates"] == 4
    for key, value in a["ema"]["shadow"].items():
        np.testing.assert_allclose(b["ema"]["shadow"][key], value, rtol=1e-5, atol=1e-6, err_msg=key)
    wa, wb = (paddle.load(os.path.join(d, "latest.pdparams")) for d in (full, resumed))
    for key, value in wa.items():
        np.testing.assert_allclose(wb[key].numpy(), value.numpy(), rtol=1e-5, atol=1e-6, err_msg=key)


@pytest.mark.slow
def test_det_eval_uses_the_ema_weights(scenes, tmp_path, monkeypatch):
    import ppexp.engine.trainer as trainer_mod

    out = str(tmp_path / "ema")
    seen, real_evaluate = [], trainer_mod.evaluate

    def recording_evaluate(model, *args, **kwargs):
        seen.append({k: v.numpy().copy() for k, v in model.state_dict().items()})
        return real_evaluate(model, *args, **kwargs)

    monkeypatch.setattr(trainer_mod, "evaluate", recording_evaluate)
    trainer = Trainer(_config(scenes, out, "Global.epoch_num=1"))
    trainer.fit()
    assert len(seen) == 1 and trainer.ema.updates == 2
    key = "head.binarize.conv1.weight"
    shadow = trainer.ema.shadow[key].numpy()
    np.testing.assert_allclose(seen[0][key], shadow, atol=1e-7)           # evaluated: the EMA weights
    assert not np.allclose(shadow, trainer.model.state_dict()[key].numpy())  # not the raw ones
    saved = paddle.load(os.path.join(out, "best_accuracy.pdparams"))
    np.testing.assert_allclose(saved[key].numpy(), shadow, atol=1e-7)
