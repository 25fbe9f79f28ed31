"""DBFPN: PaddleOCR's feature pyramid for DB text detection (``necks/db_fpn.py``).

Four backbone maps c2..c5 (1/4..1/32) -> 1x1 lateral convs to ``out_channels`` -> top-down
sum with nearest x2 upsampling -> a 3x3 conv to ``out_channels // 4`` per level -> upsample
all to 1/4 and concatenate: ``out_channels`` channels at 1/4 of the input.
Input sides must be multiples of 32 (as upstream: the x2 upsampling must meet the next level).
"""
import paddle
import paddle.nn.functional as F
from paddle import nn

from ppexp.modeling.registry import NECKS


def kaiming_conv(in_channels, out_channels, kernel_size, stride=1):
    """Bias-free conv with upstream's KaimingUniform weight init ("same" padding)."""
    return nn.Conv2D(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2,
                     weight_attr=paddle.ParamAttr(initializer=nn.initializer.KaimingUniform()),
                     bias_attr=False)


def check_in_channels(where, in_channels):
    if not isinstance(in_channels, (list, tuple)) or len(in_channels) != 4:
        raise ValueError(f"{where} needs a backbone that returns 4 feature maps (a det backbone), "
                         f"got in_channels={in_channels!r}; check Architecture.model_type: det")


def up(x, scale):
    return F.upsample(x, scale_factor=scale, mode="nearest", align_mode=1)


def top_down(ins):
    """[in2, in3, in4, in5] -> [out2, out3, out4, in5]: each level plus the upsampled coarser one."""
    outs = [ins[3]]
    for lateral in reversed(ins[:3]):
        outs.insert(0, lateral + up(outs[0], 2))
    return outs


def fuse(levels):
    """[p2, p3, p4, p5] -> concat(p5 x8, p4 x4, p3 x2, p2) on channels (upstream's order)."""
    return paddle.concat([up(levels[3], 8), up(levels[2], 4), up(levels[1], 2), levels[0]], axis=1)


@NECKS.register()
class DBFPN(nn.Layer):
    """``out_channels`` of the fused map (each level contributes ``out_channels // 4``)."""

    def __init__(self, in_channels, out_channels, use_asf=False):
        super().__init__()
        check_in_channels("Architecture.Neck (DBFPN)", in_channels)
        if use_asf:
            raise ValueError("Architecture.Neck (DBFPN): use_asf (DBNet++ adaptive scale fusion) is "
                             "not implemented in ppexp; remove the key or set it to false")
        self.out_channels = out_channels
        for level, channels in zip((2, 3, 4, 5), in_channels):
            setattr(self, f"in{level}_conv", kaiming_conv(channels, out_channels, 1))
        for level in (5, 4, 3, 2):
            setattr(self, f"p{level}_conv", kaiming_conv(out_channels, out_channels // 4, 3))

    def forward(self, x):
        ins = [getattr(self, f"in{level}_conv")(c) for level, c in zip((2, 3, 4, 5), x)]
        outs = top_down(ins)
        return fuse([getattr(self, f"p{level}_conv")(o) for level, o in zip((2, 3, 4, 5), outs)])
