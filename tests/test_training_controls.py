"""Training controls: exact resume, NaN guard, early stopping, EMA, gradient accumulation."""
import os
import pickle

import numpy as np
import paddle
import pytest

from helpers import StopAt, data_overrides, make_toy_set
from ppexp.config import get_config
from ppexp.engine.controls import NonFiniteLoss
from ppexp.engine.trainer import Trainer

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "rec", "tiny_words.yml")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return make_toy_set(tmp_path_factory.mktemp("toy"), n_train=192, n_val=32)


def _config(toy, out, *extra):
    opts = data_overrides(toy, out) + ["Global.print_batch_step=1", "Global.log_smooth_window=1",
                                       "Global.eval_batch_step=[0,1000]", "Global.cal_metric_during_train=False",
                                       *extra]
    return get_config(CONFIG, opts)[0]


def _losses(out):
    from visualdl import LogReader

    vdl = os.path.join(out, "vdl")
    series = {}
    for name in sorted(os.listdir(vdl)):
        reader = LogReader(file_path=os.path.join(vdl, name))
        for rec in reader.get_data("scalar", "TRAIN/loss"):
            series[rec.id] = rec.value
    return series


@pytest.mark.slow
def test_interrupted_and_resumed_equals_uninterrupted(toy, tmp_path):
    full = str(tmp_path / "full")
    Trainer(_config(toy, full)).fit()
    part = str(tmp_path / "part")
    Trainer(_config(toy, part), callbacks=[StopAt(4)]).fit()  # 6 steps/epoch: stop mid epoch 1
    with open(os.path.join(part, "latest.states"), "rb") as f:
        assert pickle.load(f)["position"] == {"epoch": 1, "step_in_epoch": 4}
    resumed = str(tmp_path / "resumed")
    Trainer(_config(toy, resumed, f"Global.checkpoints={part}/latest")).fit()
    a, b = _losses(full), _losses(resumed)
    assert sorted(b) == list(range(5, 13))
    np.testing.assert_allclose([b[s] for s in sorted(b)], [a[s] for s in sorted(b)], rtol=1e-5, atol=1e-5)


def test_nan_loss_stops_with_step_and_batch(toy, tmp_path):
    trainer = Trainer(_config(toy, str(tmp_path / "nan")))
    real_loss = trainer.parts.loss
    trainer.parts.loss = lambda preds, batch: {"loss": real_loss(preds, batch)["loss"] * float("nan")}
    with pytest.raises(NonFiniteLoss, match=r"global_step 1, batch 0"):
        trainer.fit()


@pytest.mark.slow
def test_nan_policy_skip_drops_steps_and_continues(toy, tmp_path):
    trainer = Trainer(_config(toy, str(tmp_path / "skip"), "Global.nan_policy=skip", "Global.epoch_num=1"))
    real_loss, calls = trainer.parts.loss, {"n": 0}

    def sometimes_nan(preds, batch):
        calls["n"] += 1
        loss = real_loss(preds, batch)["loss"]
        return {"loss": loss * float("nan") if calls["n"] == 2 else loss}

    trainer.parts.loss = sometimes_nan
    before = [p.numpy().copy() for p in trainer.model.parameters()]
    trainer.fit()
    assert trainer.nan_guard.skipped == 1
    assert any(not np.array_equal(a, p.numpy()) for a, p in zip(before, trainer.model.parameters()))


@pytest.mark.slow
def test_early_stopping_fires_on_plateau_and_keeps_real_best(toy, tmp_path, monkeypatch):
    import ppexp.engine.trainer as trainer_mod

    scripted = iter([0.10, 0.50, 0.40, 0.45, 0.30, 0.90])  # best at eval 2, then a plateau
    snapshots = {}

    def fake_evaluate(model, *args, **kwargs):
        snapshots[len(snapshots) + 1] = model.state_dict()["head.fc.weight"].numpy().copy()
        return {"acc": next(scripted), "norm_edit_dis": 0.5, "loss": 1.0, "fps": 1.0}

    monkeypatch.setattr(trainer_mod, "evaluate", fake_evaluate)
    out = str(tmp_path / "es")
    config = _config(toy, out, "Global.eval_batch_step=[0,1]", "Global.epoch_num=2",
                     "Global.early_stopping={patience: 3, monitor: acc}")
    trainer = Trainer(config)
    trainer.fit()
    assert trainer.state["global_step"] == 5  # evals 3, 4, 5 did not beat 0.50
    with open(os.path.join(out, "best_accuracy.states"), "rb") as f:
        best = pickle.load(f)["best_model_dict"]
    assert best["acc"] == 0.50 and best["best_step"] == 2
    saved = paddle.load(os.path.join(out, "best_accuracy.pdparams"))["head.fc.weight"].numpy()
    np.testing.assert_array_equal(saved, snapshots[2])


@pytest.mark.slow
def test_ema_weights_are_evaluated_and_saved(toy, tmp_path):
    out = str(tmp_path / "ema")
    config = _config(toy, out, "Global.eval_batch_step=[0,6]", "Global.epoch_num=1",
                     "Global.ema={decay: 0.9}")
    trainer = Trainer(config)
    trainer.fit()
    saved = paddle.load(os.path.join(out, "best_accuracy.pdparams"))
    key = "head.fc.weight"
    np.testing.assert_allclose(saved[key].numpy(), trainer.ema.shadow[key].numpy(), atol=1e-7)
    assert not np.allclose(saved[key].numpy(), trainer.model.state_dict()[key].numpy())
    assert trainer.ema.updates == 6


class _NoBN(paddle.nn.Layer):
    """A CRNN-shaped model without batch norm: accumulated gradients must equal the big batch's."""

    def __init__(self, classes):
        super().__init__()
        self.conv = paddle.nn.Conv2D(3, 8, 3, stride=(32, 4), padding=1)
        self.fc = paddle.nn.Linear(8, classes)

    def forward(self, x):
        y = self.conv(x).squeeze(2).transpose([0, 2, 1])
        return self.fc(y)


def _one_update(toy, tmp_path, batch, accumulate):
    paddle.seed(0)
    config = _config(toy, str(tmp_path / f"acc{accumulate}"), f"Train.loader.batch_size_per_card={batch}",
                     f"Global.accumulate_steps={accumulate}", "Train.loader.shuffle=False",
                     "Optimizer.lr={name: Const, learning_rate: 0.1}",
                     "Optimizer.regularizer={name: L2, factor: 0.0}")
    trainer = Trainer(config)
    model = _NoBN(trainer.parts.charset.num_classes)
    trainer.model = trainer.train_model = model
    trainer.optimizer = paddle.optimizer.SGD(learning_rate=0.1, parameters=model.parameters())
    from ppexp.engine.stats import TrainingStats

    stats = TrainingStats(1)
    loader = iter(trainer.train_loader)
    for idx in range(accumulate):
        trainer.train_step(next(loader), idx, stats, 1)
    return [p.numpy() for p in model.parameters()]


def test_accumulation_equals_larger_batch(toy, tmp_path):
    big = _one_update(toy, tmp_path, 32, 1)
    small = _one_update(toy, tmp_path, 16, 2)
    for a, b in zip(big, small):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
