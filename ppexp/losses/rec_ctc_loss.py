"""CTC loss for recognition (PaddleOCR ``CTCLoss``): blank 0, per-sample loss, batch mean.

Numerics worth knowing (paddle 3.3.1, CPU warpctc):
- the input is the head's raw logits [B, T, C]; warpctc applies softmax itself;
- a label that cannot fit in T frames (length + adjacent repeats > T) gets loss 0.0
  and zero gradient, not inf; it still counts in the batch mean. Upstream behaves the
  same; use ``ctc_min_frames`` to find such labels beforehand.
"""
import paddle
from paddle import nn

from ppexp.losses.registry import LOSSES


def ctc_min_frames(label):
    """Frames CTC needs for ``label`` (a sequence of ids): its length plus adjacent repeats."""
    label = list(label)
    return len(label) + sum(1 for a, b in zip(label, label[1:]) if a == b)


def _as_tensor(value):
    return value if isinstance(value, paddle.Tensor) else paddle.to_tensor(value)


@LOSSES.register()
class CTCLoss(nn.Layer):
    """``forward(predicts, batch)`` with batch = [images, labels [B, L] int, lengths [B]].

    ``use_focal_loss`` weights each sample's loss by (1 - exp(-loss))^2 as upstream.
    Returns ``{'loss': scalar}``.
    """

    def __init__(self, use_focal_loss=False):
        super().__init__()
        self.loss_func = nn.CTCLoss(blank=0, reduction="none")
        self.use_focal_loss = use_focal_loss

    def forward(self, predicts, batch):
        if isinstance(predicts, (list, tuple)):
            predicts = predicts[-1]
        predicts = predicts.transpose([1, 0, 2])  # [T, B, C], as warpctc wants
        steps, batch_size = predicts.shape[0], predicts.shape[1]
        pred_lengths = paddle.full([batch_size], steps, dtype="int64")
        labels = _as_tensor(batch[1]).astype("int32")
        label_lengths = _as_tensor(batch[2]).astype("int64").reshape([-1])
        loss = self.loss_func(predicts, labels, pred_lengths, label_lengths)
        if self.use_focal_loss:
            loss = loss * paddle.square(1.0 - paddle.exp(-loss))
        return {"loss": loss.mean()}
