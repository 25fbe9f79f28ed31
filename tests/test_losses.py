"""CTC loss against brute-force alignment sums, training signal, infeasible labels."""
import itertools

import numpy as np
import paddle
import pytest

from ppexp.losses import LOSSES, CTCLoss, build_loss, ctc_min_frames
from ppexp.modeling import build_model


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _collapse(path):
    merged = [k for i, k in enumerate(path) if i == 0 or k != path[i - 1]]
    return [k for k in merged if k != 0]


def brute_force_ctc(logits, label):
    """-log sum over all T-step paths that collapse to ``label`` (blank = 0)."""
    probs = _softmax(logits.astype(np.float64))
    steps, classes = probs.shape
    total = 0.0
    for path in itertools.product(range(classes), repeat=steps):
        if _collapse(list(path)) == list(label):
            total += np.prod([probs[t, k] for t, k in enumerate(path)])
    return -np.log(total) if total > 0 else np.inf


def _batch(labels, max_len):
    padded = np.zeros([len(labels), max_len], dtype="int64")
    for i, lab in enumerate(labels):
        padded[i, : len(lab)] = lab
    lengths = np.array([len(lab) for lab in labels], dtype="int64")
    return [None, paddle.to_tensor(padded), paddle.to_tensor(lengths)]


LABELS = [[1, 2], [3], [2, 2]]  # [2, 2] needs all T=3 frames (2, blank, 2)


def _logits(seed=0):
    return np.random.RandomState(seed).randn(len(LABELS), 3, 4).astype("float32")  # B, T=3, C=4


def test_matches_brute_force_alignment_sum():
    logits = _logits()
    expected = [brute_force_ctc(logits[i], lab) for i, lab in enumerate(LABELS)]
    loss = CTCLoss()(paddle.to_tensor(logits), _batch(LABELS, 3))["loss"]
    assert loss.size == 1
    assert float(loss) == pytest.approx(np.mean(expected), rel=1e-5)


def test_focal_loss_weights_each_sample():
    logits = _logits(1)
    per_sample = np.array([brute_force_ctc(logits[i], lab) for i, lab in enumerate(LABELS)])
    expected = np.mean(per_sample * (1 - np.exp(-per_sample)) ** 2)
    loss = CTCLoss(use_focal_loss=True)(paddle.to_tensor(logits), _batch(LABELS, 3))["loss"]
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_list_predicts_uses_last():
    logits = paddle.to_tensor(_logits())
    loss_fn = CTCLoss()
    a = loss_fn([paddle.zeros_like(logits), logits], _batch(LABELS, 3))["loss"]
    b = loss_fn(logits, _batch(LABELS, 3))["loss"]
    assert float(a) == pytest.approx(float(b))


def test_infeasible_label_gives_zero_loss_and_grad():
    """paddle's warpctc returns 0.0 (not inf) and zero gradient when length + repeats > T."""
    assert ctc_min_frames([1, 1, 2]) == 4 and ctc_min_frames([1, 2, 2]) == 4
    assert ctc_min_frames([3]) == 1
    logits = paddle.to_tensor(_logits())
    logits.stop_gradient = False
    labels = [[1, 2], [1, 1, 2], [3]]  # middle one needs 4 frames, T = 3
    loss = CTCLoss()(logits, _batch(labels, 3))["loss"]
    loss.backward()
    feasible = [brute_force_ctc(logits.numpy()[i], labels[i]) for i in (0, 2)]
    assert np.isfinite(float(loss))
    assert float(loss) == pytest.approx(sum(feasible) / 3, rel=1e-5)  # 0 still counts in the mean
    grad = logits.grad.numpy()
    assert np.all(grad[1] == 0) and np.any(grad[0] != 0)


def test_loss_decreases_with_sgd():
    paddle.seed(0)
    model = build_model({
        "model_type": "rec", "Transform": None,
        "Backbone": {"name": "MobileNetV3", "model_name": "small", "scale": 0.35},
        "Neck": {"name": "SequenceEncoder", "encoder_type": "fc", "hidden_size": 48},
        "Head": {"name": "CTCHead", "out_channels": 6},
    })
    model.train()
    images = paddle.to_tensor(np.random.RandomState(0).rand(2, 3, 32, 100).astype("float32"))
    batch = _batch([[1, 2, 3], [4, 5]], 4)
    loss_fn = build_loss({"name": "CTCLoss"})
    opt = paddle.optimizer.SGD(learning_rate=0.001, parameters=model.parameters())
    losses = []
    for _ in range(5):
        loss = loss_fn(model(images), batch)["loss"]
        loss.backward()
        opt.step()
        opt.clear_grad()
        losses.append(float(loss))
    assert all(b < a for a, b in zip(losses, losses[1:])), losses
    assert losses[-1] < losses[0] * 0.8, losses


def test_build_loss_errors():
    assert "CTCLoss" in LOSSES
    with pytest.raises(KeyError, match="CTCLoss"):
        build_loss({"name": "CTCLos"})
    with pytest.raises(ValueError, match="use_focal_loss"):
        build_loss({"name": "CTCLoss", "use_focal": True})
