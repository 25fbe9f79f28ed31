"""DBLoss and its parts: upstream's values (../shared/fixtures/paddleocr/det/pipeline/db_loss.npz)."""
import json

import numpy as np
import paddle
import pytest

from ppexp.losses import LOSSES, build_loss
from ppexp.losses.det_db_loss import BalanceLoss, DiceLoss, MaskL1Loss

KEYS = ["loss", "loss_shrink_maps", "loss_threshold_maps", "loss_binary_maps", "loss_cbn"]


@pytest.fixture(scope="module")
def db_loss_fixture(fixtures_dir):
    pipeline = fixtures_dir / "det" / "pipeline"
    if not (pipeline / "db_loss.npz").exists():
        pytest.skip(f"{pipeline / 'db_loss.npz'} missing")
    arrays = np.load(pipeline / "db_loss.npz")
    cases = json.loads((pipeline / "pipeline_fixtures.json").read_text())["db_loss"]["cases"]
    return arrays, cases


def _batch(arrays):
    """Upstream's train batch: [image, threshold_map, threshold_mask, shrink_map, shrink_mask]."""
    image = paddle.zeros([arrays["pred_maps"].shape[0], 3, 4, 4])
    return [image] + [paddle.to_tensor(arrays[k]) for k in
                      ("threshold_map", "threshold_mask", "shrink_map", "shrink_mask")]


@pytest.mark.parametrize("case", ["config_det_mv3_db", "bce_ohem", "dice_no_balance"])
def test_db_loss_matches_upstream(db_loss_fixture, case):
    arrays, cases = db_loss_fixture
    spec = cases[case]
    loss = build_loss({"name": "DBLoss", **spec["kwargs"]})
    out = loss({"maps": paddle.to_tensor(arrays["pred_maps"])}, _batch(arrays))
    assert sorted(out) == sorted(spec["losses"]) == sorted(KEYS)
    for key, expected in spec["losses"].items():
        assert float(out[key]) == pytest.approx(expected, rel=1e-6, abs=1e-6), key


@pytest.mark.parametrize("main_loss_type", ["DiceLoss", "BCELoss", "MaskL1Loss"])
def test_db_loss_backward_reaches_all_three_maps(db_loss_fixture, main_loss_type):
    arrays, _ = db_loss_fixture
    maps = paddle.to_tensor(arrays["pred_maps"], stop_gradient=False)
    loss = build_loss({"name": "DBLoss", "main_loss_type": main_loss_type})
    loss({"maps": maps}, _batch(arrays))["loss"].backward()
    grad = maps.grad.numpy()
    assert np.isfinite(grad).all()
    assert all(np.abs(grad[:, c]).max() > 0 for c in range(3))


def test_balance_loss_keeps_the_hardest_negatives():
    # 2 positives, 6 negatives -> N = min(6, 3 * 2) = 6; ratio 1 -> N = 2 hardest negatives.
    pred = np.array([[0.9, 0.6, 0.8, 0.1, 0.7, 0.2, 0.3, 0.05]], "float32")
    gt = np.array([[1, 1, 0, 0, 0, 0, 0, 0]], "float32")
    mask = np.ones_like(gt)
    bce = -(gt * np.log(pred) + (1 - gt) * np.log(1 - pred))
    hardest_two = np.sort(bce[0, 2:])[::-1][:2]
    expected = (bce[0, :2].sum() + hardest_two.sum()) / (2 + 2 + 1e-6)
    got = BalanceLoss(main_loss_type="BCELoss", negative_ratio=1)(
        paddle.to_tensor(pred), paddle.to_tensor(gt), paddle.to_tensor(mask))
    assert float(got) == pytest.approx(expected, rel=1e-5)
    # masked-out pixels count as neither positive nor negative
    mask[0, 2] = 0
    masked = BalanceLoss(main_loss_type="BCELoss", negative_ratio=1)(
        paddle.to_tensor(pred), paddle.to_tensor(gt), paddle.to_tensor(mask))
    second_third = np.sort(bce[0, 3:])[::-1][:2]
    assert float(masked) == pytest.approx((bce[0, :2].sum() + second_third.sum()) / (4 + 1e-6), rel=1e-5)


def test_balance_loss_without_positives_is_zero():
    pred = paddle.full([1, 4, 4], 0.3)
    gt, mask = paddle.zeros([1, 4, 4]), paddle.ones([1, 4, 4])
    assert float(BalanceLoss(main_loss_type="BCELoss")(pred, gt, mask)) == 0.0


def test_dice_and_mask_l1_parts():
    pred = paddle.to_tensor([[0.5, 1.0, 0.0, 0.25]])
    gt = paddle.to_tensor([[1.0, 1.0, 0.0, 0.0]])
    mask = paddle.to_tensor([[1.0, 1.0, 1.0, 0.0]])
    # intersection 1.5, union 1.5 + 2 -> 1 - 3 / 3.5
    assert float(DiceLoss()(pred, gt, mask)) == pytest.approx(1 - 3 / (3.5 + 1e-6), rel=1e-6)
    assert float(MaskL1Loss()(pred, gt, mask)) == pytest.approx(0.5 / (3 + 1e-6), rel=1e-6)


def test_db_loss_config_errors():
    assert "DBLoss" in LOSSES
    with pytest.raises(ValueError, match="main_loss_type must be one of DiceLoss, BCELoss, MaskL1Loss"):
        build_loss({"name": "DBLoss", "main_loss_type": "CrossEntropy"})
    with pytest.raises(ValueError, match="DBLoss has no option 'ohem_rate'. Did you mean 'ohem_ratio'"):
        build_loss({"name": "DBLoss", "ohem_rate": 3})
    loss = build_loss({"name": "DBLoss"})
    eval_maps = {"maps": paddle.rand([1, 1, 8, 8])}
    with pytest.raises(ValueError, match=r"train-mode DBHead output maps \[N, 3, H, W\]"):
        loss(eval_maps, [None] + [paddle.rand([1, 8, 8]) for _ in range(4)])
