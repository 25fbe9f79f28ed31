"""Faster equivalents of two ops that paddle's CPU kernels run slowly in dynamic (eager) mode.

Measured on the 2-core AMD EPYC here, det_mv3_db at 4x3x320x320 (docs/cpu.md, benchmarks/
bench_det_train.py): paddle's nearest ``upsample`` and its broadcast add of a per-channel bias
to an NCHW map (what ``Conv2DTranspose`` does with a bias) take 3-5x the time of the same
arithmetic written as an expand or a 2-D row add. Results are identical (the upsample is a copy;
the bias add is the same sums); gradients equal up to float summation order.

Static graphs (``paddle.jit.to_static`` export) keep the plain ops: their shapes may be unknown
(-1), and the exported program stays what PaddleOCR's own export writes.
"""
import paddle
import paddle.nn.functional as F
from paddle import nn


def upsample_nearest(x, scale):
    """``F.upsample(x, scale_factor=scale, mode='nearest', align_mode=1)`` for an int scale."""
    if scale == 1:
        return x
    if not paddle.in_dynamic_mode():
        return F.upsample(x, scale_factor=scale, mode="nearest", align_mode=1)
    n, c, h, w = x.shape
    return x.reshape([n, c, h, 1, w, 1]).expand([n, c, h, scale, w, scale]).reshape([n, c, h * scale, w * scale])


def add_channel_bias(x, bias):
    """``x + bias.reshape([1, C, 1, 1])`` for NCHW ``x`` (as a [N*C, H*W] + [N*C, 1] add)."""
    if not paddle.in_dynamic_mode():
        return x + bias.reshape([1, -1, 1, 1])
    n, c, h, w = x.shape
    rows = bias.reshape([1, c]).expand([n, c]).reshape([n * c, 1])
    return (x.reshape([n * c, h * w]) + rows).reshape([n, c, h, w])


class Conv2DTransposeFastBias(nn.Conv2DTranspose):
    """``nn.Conv2DTranspose`` (same parameters, state_dict keys and outputs) with the bias added by
    :func:`add_channel_bias` in dynamic mode. NCHW only."""

    def forward(self, x, output_size=None):
        if (not paddle.in_dynamic_mode() or self.bias is None or output_size is not None
                or self._data_format != "NCHW"):
            return super().forward(x, output_size)
        out = F.conv2d_transpose(x, self.weight, bias=None, padding=self._padding,
                                 output_padding=self.output_padding, stride=self._stride,
                                 dilation=self._dilation, groups=self._groups, data_format=self._data_format)
        return add_channel_bias(out, self.bias)
