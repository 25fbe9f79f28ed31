"""DBLoss for DB text detection and its parts (PaddleOCR ``det_db_loss.py``, ``det_basic_loss.py``).

``DBLoss(predicts, batch)``: ``predicts['maps']`` [N,3,H,W] = (shrink P, threshold T, binary B)
from DBHead in train mode; ``batch`` = [image, threshold_map, threshold_mask, shrink_map,
shrink_mask] (maps [N,H,W]). Returns ``loss = alpha * L_P + beta * L_T + L_B`` with
L_P = BalanceLoss(main_loss_type) on P, L_T = MaskL1Loss on T, L_B = DiceLoss on B, and the
parts under upstream's log keys (``loss_cbn`` is always 0: no ppexp head has a CBN branch).

Numerics as upstream: with main_loss_type DiceLoss (every upstream DB config) the loss is one
scalar, so balancing and OHEM only rescale it by (sum(positive) + N) / (P + N + eps) ~ 1; only
BCELoss gives per-pixel losses with hard-negative mining (top ``ohem_ratio`` x positives).
Difference: ``eps`` reaches every part here; upstream's BalanceLoss keeps its own 1e-6.
"""
import paddle
import paddle.nn.functional as F
from paddle import nn

from ppexp.losses.registry import LOSSES


class DiceLoss(nn.Layer):
    """1 - 2 sum(p g m) / (sum(p m) + sum(g m) + eps): one scalar for the batch."""

    def __init__(self, eps=1e-6):
        super().__init__()
        self.eps = eps

    def forward(self, pred, gt, mask, weights=None):
        if weights is not None:
            mask = weights * mask
        intersection = paddle.sum(pred * gt * mask)
        union = paddle.sum(pred * mask) + paddle.sum(gt * mask) + self.eps
        return 1 - 2.0 * intersection / union


class MaskL1Loss(nn.Layer):
    """sum(|p - g| m) / (sum(m) + eps)."""

    def __init__(self, eps=1e-6):
        super().__init__()
        self.eps = eps

    def forward(self, pred, gt, mask):
        return (paddle.abs(pred - gt) * mask).sum() / (mask.sum() + self.eps)


class BCELoss(nn.Layer):
    """Binary cross-entropy on probabilities; ``mask`` is accepted and ignored (as upstream)."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, pred, gt, mask=None):
        return F.binary_cross_entropy(pred, gt, reduction=self.reduction)


MAIN_LOSSES = {
    "DiceLoss": lambda eps: DiceLoss(eps),
    "BCELoss": lambda eps: BCELoss(reduction="none"),
    "MaskL1Loss": lambda eps: MaskL1Loss(eps),
}


def main_loss(main_loss_type, eps, where="Loss (DBLoss)"):
    if main_loss_type not in MAIN_LOSSES:
        raise ValueError(f"{where}: main_loss_type must be one of {', '.join(MAIN_LOSSES)}, got "
                         f"{main_loss_type!r} (upstream's CrossEntropy/Euclidean options crash on "
                         "the mask argument, so ppexp does not offer them)")
    return MAIN_LOSSES[main_loss_type](eps)


class BalanceLoss(nn.Layer):
    """Positive/negative balanced ``main_loss_type`` with hard-negative mining (OHEM).

    P = int(sum(g m)), N = int(min(sum((1 - g) m), negative_ratio * P)); the result is
    (sum(pos * loss) + sum(top-N of neg * loss)) / (P + N + eps), or sum(pos * loss) / (P + eps)
    when N = 0. ``balance_loss=False`` returns the main loss as is.
    """

    def __init__(self, balance_loss=True, main_loss_type="DiceLoss", negative_ratio=3, eps=1e-6):
        super().__init__()
        self.balance_loss = balance_loss
        self.negative_ratio = negative_ratio
        self.eps = eps
        self.loss = main_loss(main_loss_type, eps)

    def forward(self, pred, gt, mask):
        loss = self.loss(pred, gt, mask=mask)
        if not self.balance_loss:
            return loss
        positive = gt * mask
        negative = (1 - gt) * mask
        positive_count = int(positive.sum())
        negative_count = int(min(float(negative.sum()), positive_count * self.negative_ratio))
        positive_loss = (positive * loss).sum()
        if negative_count <= 0:
            return positive_loss / (positive_count + self.eps)
        hardest = paddle.topk((negative * loss).reshape([-1]), k=negative_count)[0]
        return (positive_loss + hardest.sum()) / (positive_count + negative_count + self.eps)


@LOSSES.register()
class DBLoss(nn.Layer):
    """``alpha`` weighs the shrink-map loss, ``beta`` the threshold-map loss; ``ohem_ratio`` = N/P."""

    def __init__(self, balance_loss=True, main_loss_type="DiceLoss", alpha=5, beta=10, ohem_ratio=3,
                 eps=1e-6):
        super().__init__()
        self.alpha = alpha
        self.beta = beta
        self.bce_loss = BalanceLoss(balance_loss, main_loss_type, ohem_ratio, eps)
        self.l1_loss = MaskL1Loss(eps)
        self.dice_loss = DiceLoss(eps)

    def forward(self, predicts, batch):
        maps = predicts["maps"]
        if maps.ndim != 4 or maps.shape[1] != 3:
            raise ValueError(f"DBLoss needs the train-mode DBHead output maps [N, 3, H, W], got "
                             f"shape {list(maps.shape)} (is the model in eval mode?)")
        threshold_map, threshold_mask, shrink_map, shrink_mask = batch[1:5]
        loss_shrink_maps = self.alpha * self.bce_loss(maps[:, 0], shrink_map, shrink_mask)
        loss_threshold_maps = self.beta * self.l1_loss(maps[:, 1], threshold_map, threshold_mask)
        loss_binary_maps = self.dice_loss(maps[:, 2], shrink_map, shrink_mask)
        loss_cbn = paddle.zeros([], dtype=maps.dtype)
        return {
            "loss": loss_shrink_maps + loss_threshold_maps + loss_binary_maps + loss_cbn,
            "loss_shrink_maps": loss_shrink_maps,
            "loss_threshold_maps": loss_threshold_maps,
            "loss_binary_maps": loss_binary_maps,
            "loss_cbn": loss_cbn,
        }
