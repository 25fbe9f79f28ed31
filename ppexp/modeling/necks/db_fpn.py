"""Feature pyramids for DB text detection (PaddleOCR ``necks/db_fpn.py``): DBFPN, RSEFPN, LKPAN.

Four backbone maps c2..c5 (1/4..1/32) -> lateral layers to ``out_channels`` -> top-down
sum with nearest x2 upsampling -> a layer to ``out_channels // 4`` per level -> upsample
all to 1/4 and concatenate: ``out_channels`` channels at 1/4 of the input.
DBFPN uses plain convs; RSEFPN (PP-OCRv3 mobile) convs with a residual SE; LKPAN (PP-OCRv4
server) 9x9 convs and an extra bottom-up path. Input sides must be multiples of 32 (as
upstream: the x2 upsampling must meet the next level).
"""
import paddle
import paddle.nn.functional as F
from paddle import nn

from ppexp.modeling.backbones.rec_mobilenet_v3 import SEModule
from ppexp.modeling.fast_ops import upsample_nearest
from ppexp.modeling.registry import NECKS


def kaiming_conv(in_channels, out_channels, kernel_size, stride=1):
    """Bias-free conv with upstream's KaimingUniform weight init ("same" padding)."""
    return nn.Conv2D(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2,
                     weight_attr=paddle.ParamAttr(initializer=nn.initializer.KaimingUniform()),
                     bias_attr=False)


def check_in_channels(where, in_channels):
    """A det neck takes the 4 maps of a det backbone."""
    if not isinstance(in_channels, (list, tuple)) or len(in_channels) != 4:
        raise ValueError(f"{where} needs a backbone that returns 4 feature maps (a det backbone), "
                         f"got in_channels={in_channels!r}; check Architecture.model_type: det")


def up(x, scale):
    return upsample_nearest(x, scale)


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


def reject_intracl(where, intracl):
    if intracl:
        raise ValueError(f"{where}: intracl (IntraCL blocks) is not implemented in ppexp; remove the "
                         "key or set it to false")


class RSELayer(nn.Layer):
    """Conv, then x + SE(x) (``shortcut``) or SE(x)."""

    def __init__(self, in_channels, out_channels, kernel_size, shortcut=True):
        super().__init__()
        self.in_conv = kaiming_conv(in_channels, out_channels, kernel_size)
        self.se_block = SEModule(out_channels)
        self.shortcut = shortcut

    def forward(self, x):
        x = self.in_conv(x)
        return x + self.se_block(x) if self.shortcut else self.se_block(x)


@NECKS.register()
class RSEFPN(nn.Layer):
    """DBFPN with RSELayers: 1x1 lateral (``ins_conv``) and 3x3 output (``inp_conv``) per level."""

    def __init__(self, in_channels, out_channels, shortcut=True, intracl=False):
        super().__init__()
        check_in_channels("Architecture.Neck (RSEFPN)", in_channels)
        reject_intracl("Architecture.Neck (RSEFPN)", intracl)
        self.out_channels = out_channels
        self.ins_conv = nn.LayerList([RSELayer(c, out_channels, 1, shortcut) for c in in_channels])
        self.inp_conv = nn.LayerList([RSELayer(out_channels, out_channels // 4, 3, shortcut)
                                      for _ in in_channels])

    def forward(self, x):
        outs = top_down([conv(c) for conv, c in zip(self.ins_conv, x)])
        return fuse([conv(o) for conv, o in zip(self.inp_conv, outs)])


class DSConv(nn.Layer):
    """LKPAN lite's layer: depthwise kxk + BN, 1x1 to 4x + BN + act, 1x1 to ``out_channels``;
    plus a 1x1 projection of the input when the widths differ."""

    def __init__(self, in_channels, out_channels, kernel_size, act="relu"):
        super().__init__()
        if act not in ("relu", "hardswish"):
            raise ValueError(f"DSConv: act must be relu or hardswish, got {act!r}")
        self.act = act
        self.conv1 = nn.Conv2D(in_channels, in_channels, kernel_size, padding=kernel_size // 2,
                               groups=in_channels, bias_attr=False)
        self.bn1 = nn.BatchNorm(in_channels)
        self.conv2 = nn.Conv2D(in_channels, in_channels * 4, 1, bias_attr=False)
        self.bn2 = nn.BatchNorm(in_channels * 4)
        self.conv3 = nn.Conv2D(in_channels * 4, out_channels, 1, bias_attr=False)
        self.project = in_channels != out_channels
        if self.project:
            self.conv_end = nn.Conv2D(in_channels, out_channels, 1, bias_attr=False)

    def forward(self, inputs):
        x = self.bn2(self.conv2(self.bn1(self.conv1(inputs))))
        x = F.relu(x) if self.act == "relu" else F.hardswish(x)
        x = self.conv3(x)
        return x + self.conv_end(inputs) if self.project else x


@NECKS.register()
class LKPAN(nn.Layer):
    """Large-kernel PAN: 9x9 layers (``mode`` large: convs, lite: DSConv) and a bottom-up path of
    stride-2 3x3 convs (``pan_head_conv``) before the per-level 9x9 ``pan_lat_conv``."""

    def __init__(self, in_channels, out_channels, mode="large", intracl=False):
        super().__init__()
        where = "Architecture.Neck (LKPAN)"
        check_in_channels(where, in_channels)
        reject_intracl(where, intracl)
        layers = {"large": kaiming_conv, "lite": DSConv}
        if str(mode).lower() not in layers:
            raise ValueError(f"{where}: mode must be 'large' or 'lite', got {mode!r}")
        layer = layers[str(mode).lower()]
        self.out_channels = out_channels
        quarter = out_channels // 4
        self.ins_conv = nn.LayerList([kaiming_conv(c, out_channels, 1) for c in in_channels])
        self.inp_conv = nn.LayerList([layer(out_channels, quarter, 9) for _ in in_channels])
        self.pan_head_conv = nn.LayerList([kaiming_conv(quarter, quarter, 3, stride=2)
                                           for _ in in_channels[1:]])
        self.pan_lat_conv = nn.LayerList([layer(quarter, quarter, 9) for _ in in_channels])

    def forward(self, x):
        outs = top_down([conv(c) for conv, c in zip(self.ins_conv, x)])
        feats = [conv(o) for conv, o in zip(self.inp_conv, outs)]
        pan = [feats[0]]
        for head, feat in zip(self.pan_head_conv, feats[1:]):
            pan.append(feat + head(pan[-1]))
        return fuse([conv(p) for conv, p in zip(self.pan_lat_conv, pan)])
