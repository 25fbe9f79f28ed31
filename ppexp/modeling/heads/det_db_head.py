"""DBHead: Differentiable Binarization head (PaddleOCR ``heads/det_db_head.py``).

Two identical branches on the neck's 1/4 map: ``binarize`` (shrink probability P) and
``thresh`` (threshold T), each conv -> BN+ReLU -> 2x transposed conv -> BN+ReLU -> 2x
transposed conv to 1 channel -> sigmoid, so maps are at input resolution.
Eval mode returns ``{'maps': P}`` [N,1,H,W]; train mode ``{'maps': concat(P, T, B)}``
[N,3,H,W] with the approximate binary map B = 1 / (1 + exp(-k (P - T))).
"""
import math

import paddle
import paddle.nn.functional as F
from paddle import nn

from ppexp.modeling.fast_ops import Conv2DTransposeFastBias
from ppexp.modeling.registry import HEADS


def _bn_relu(channels):
    """BatchNorm (weight 1, bias 1e-4 as upstream) with ReLU."""
    return nn.BatchNorm(channels, act="relu",
                        param_attr=paddle.ParamAttr(initializer=nn.initializer.Constant(1.0)),
                        bias_attr=paddle.ParamAttr(initializer=nn.initializer.Constant(1e-4)))


def _up_conv(in_channels, out_channels, kernel_size, fan_in):
    """Stride-2 transposed conv; bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as upstream."""
    bound = 1.0 / math.sqrt(fan_in)
    return Conv2DTransposeFastBias(
        in_channels, out_channels, kernel_size, stride=2,
        weight_attr=paddle.ParamAttr(initializer=nn.initializer.KaimingUniform()),
        bias_attr=paddle.ParamAttr(initializer=nn.initializer.Uniform(-bound, bound)))


class Head(nn.Layer):
    """One DB branch; ``fix_nan`` zeroes NaNs after each BN in training (PP-OCRv4 option)."""

    def __init__(self, in_channels, kernel_list=(3, 2, 2), fix_nan=False):
        super().__init__()
        mid = in_channels // 4
        self.conv1 = nn.Conv2D(in_channels, mid, kernel_list[0], padding=kernel_list[0] // 2,
                               bias_attr=False)
        self.conv_bn1 = _bn_relu(mid)
        self.conv2 = _up_conv(mid, mid, kernel_list[1], mid)
        self.conv_bn2 = _bn_relu(mid)
        self.conv3 = _up_conv(mid, 1, kernel_list[2], mid)
        self.fix_nan = fix_nan

    def _clean(self, x):
        if self.fix_nan and self.training:
            return paddle.where(paddle.isnan(x), paddle.zeros_like(x), x)
        return x

    def forward(self, x):
        x = self._clean(self.conv_bn1(self.conv1(x)))
        x = self._clean(self.conv_bn2(self.conv2(x)))
        return F.sigmoid(self.conv3(x))


@HEADS.register()
class DBHead(nn.Layer):
    """``k``: steepness of the differentiable binarization (upstream default 50)."""

    def __init__(self, in_channels, k=50, kernel_list=(3, 2, 2), fix_nan=False):
        super().__init__()
        if not isinstance(kernel_list, (list, tuple)) or len(kernel_list) != 3:
            raise ValueError(f"Architecture.Head (DBHead): kernel_list must be 3 kernel sizes like "
                             f"[3, 2, 2], got {kernel_list!r}")
        self.k = k
        self.binarize = Head(in_channels, kernel_list, fix_nan)
        self.thresh = Head(in_channels, kernel_list, fix_nan)

    def step_function(self, x, y):
        return paddle.reciprocal(1 + paddle.exp(-self.k * (x - y)))

    def forward(self, x, targets=None):
        shrink_maps = self.binarize(x)
        if not self.training:
            return {"maps": shrink_maps}
        threshold_maps = self.thresh(x)
        binary_maps = self.step_function(shrink_maps, threshold_maps)
        return {"maps": paddle.concat([shrink_maps, threshold_maps, binary_maps], axis=1)}
