"""MobileNetV3 backbone for text recognition (PaddleOCR ``MobileNetV3``, rec variant).

Height is reduced to 1 by stride-(s, 1) blocks and a final 2x2 max pool, width by
4 (32x100 -> 1x25). Sub-layer names match upstream so checkpoints interchange.

Paddle quirk relied on (as upstream): with the default small_stride [2, 2, 2, 2] a
32-high input is already 1 high before the final pool, and MaxPool2D(2, 2) on a
height of 1 keeps height 1 (it does not fail or give 0).
"""
import paddle.nn.functional as F
from paddle import nn

from ppexp.modeling.depthwise import depthwise_conv2d, is_depthwise
from ppexp.modeling.registry import BACKBONES

SUPPORTED_SCALES = (0.35, 0.5, 0.75, 1.0, 1.25)

# kernel, expand, out, use_se, activation, stride. Stride "H<i>" = (strides[i], 1)
# (height only), "S<i>" = strides[i] as given (square), 1 = no downsampling.
LARGE_CFG = [
    (3, 16, 16, False, "relu", "S0"), (3, 64, 24, False, "relu", "H1"),
    (3, 72, 24, False, "relu", 1), (5, 72, 40, True, "relu", "H2"),
    (5, 120, 40, True, "relu", 1), (5, 120, 40, True, "relu", 1),
    (3, 240, 80, False, "hardswish", 1), (3, 200, 80, False, "hardswish", 1),
    (3, 184, 80, False, "hardswish", 1), (3, 184, 80, False, "hardswish", 1),
    (3, 480, 112, True, "hardswish", 1), (3, 672, 112, True, "hardswish", 1),
    (5, 672, 160, True, "hardswish", "H3"), (5, 960, 160, True, "hardswish", 1),
    (5, 960, 160, True, "hardswish", 1),
]
SMALL_CFG = [
    (3, 16, 16, True, "relu", "H0"), (3, 72, 24, False, "relu", "H1"),
    (3, 88, 24, False, "relu", 1), (5, 96, 40, True, "hardswish", "H2"),
    (5, 240, 40, True, "hardswish", 1), (5, 240, 40, True, "hardswish", 1),
    (5, 120, 48, True, "hardswish", 1), (5, 144, 48, True, "hardswish", 1),
    (5, 288, 96, True, "hardswish", "H3"), (5, 576, 96, True, "hardswish", 1),
    (5, 576, 96, True, "hardswish", 1),
]
LAST_CHANNELS = {"large": 960, "small": 576}


def make_divisible(value, divisor=8, min_value=None):
    """Round ``value`` to the nearest multiple of ``divisor``, never dropping below 90%."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def _activation(name):
    if name is None:
        return None
    acts = {"relu": nn.ReLU, "hardswish": nn.Hardswish}
    if name not in acts:
        raise ValueError(f"MobileNetV3: unknown activation '{name}', known: {sorted(acts)}")
    return acts[name]()


class ConvBNLayer(nn.Layer):
    """Conv2D (no bias) + BatchNorm + optional activation; names ``conv`` / ``bn``.

    ``nn.BatchNorm`` (not BatchNorm2D), as upstream: its auto parameter names are
    ``batch_norm_<n>.w_0`` (see ppexp/modeling/param_attrs.py), same numerics and state_dict keys.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 groups=1, act=None):
        super().__init__()
        self.conv = nn.Conv2D(in_channels, out_channels, kernel_size, stride=stride,
                              padding=padding, groups=groups, bias_attr=False)
        self.bn = nn.BatchNorm(out_channels)
        self.act = _activation(act)
        self.depthwise = is_depthwise(self.conv)

    def forward(self, x):
        x = self.bn(depthwise_conv2d(x, self.conv) if self.depthwise else self.conv(x))
        return self.act(x) if self.act is not None else x


class SEModule(nn.Layer):
    """Squeeze-and-excitation with upstream's hard sigmoid (slope 0.2, offset 0.5)."""

    def __init__(self, channels, reduction=4):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2D(1)
        self.conv1 = nn.Conv2D(channels, channels // reduction, 1)
        self.conv2 = nn.Conv2D(channels // reduction, channels, 1)

    def forward(self, x):
        w = F.relu(self.conv1(self.avg_pool(x)))
        w = F.hardsigmoid(self.conv2(w), slope=0.2, offset=0.5)
        return x * w


class ResidualUnit(nn.Layer):
    """Inverted residual: 1x1 expand, depthwise kxk, optional SE, 1x1 linear projection."""

    def __init__(self, in_channels, mid_channels, out_channels, kernel_size, stride,
                 use_se, act):
        super().__init__()
        # As upstream: a tuple stride, even (1, 1), disables the identity shortcut.
        self.if_shortcut = stride == 1 and in_channels == out_channels
        self.if_se = use_se
        self.expand_conv = ConvBNLayer(in_channels, mid_channels, 1, act=act)
        self.bottleneck_conv = ConvBNLayer(
            mid_channels, mid_channels, kernel_size, stride=stride,
            padding=(kernel_size - 1) // 2, groups=mid_channels, act=act)
        if use_se:
            self.mid_se = SEModule(mid_channels)
        self.linear_conv = ConvBNLayer(mid_channels, out_channels, 1, act=None)

    def forward(self, inputs):
        x = self.bottleneck_conv(self.expand_conv(inputs))
        if self.if_se:
            x = self.mid_se(x)
        x = self.linear_conv(x)
        return inputs + x if self.if_shortcut else x


def _resolve_stride(spec, strides):
    """Turn a cfg stride spec into the conv stride (see LARGE_CFG comment)."""
    if spec == 1:
        return 1
    value = strides[int(spec[1:])]
    return (value, 1) if spec[0] == "H" else value


def _check_strides(model_name, large_stride, small_stride):
    """The four block strides of ``model_name``: its ``<model_name>_stride`` option or the default."""
    strides = large_stride if model_name == "large" else small_stride
    strides = ([1, 2, 2, 2] if model_name == "large" else [2, 2, 2, 2]) if strides is None else strides
    if not isinstance(strides, (list, tuple)) or len(strides) != 4:
        raise ValueError(f"MobileNetV3: {model_name}_stride must be a list of 4 ints, got {strides!r}")
    return list(strides)


@BACKBONES.register()
class MobileNetV3(nn.Layer):
    """Rec MobileNetV3 ``small``/``large``; ``out_channels`` = make_divisible(scale * 576|960)."""

    def __init__(self, in_channels=3, model_name="small", scale=0.5, large_stride=None,
                 small_stride=None, disable_se=False):
        super().__init__()
        if model_name not in LAST_CHANNELS:
            raise ValueError(
                f"MobileNetV3: model_name must be 'small' or 'large', got {model_name!r}")
        if scale not in SUPPORTED_SCALES:
            raise ValueError(f"MobileNetV3: scale must be one of {SUPPORTED_SCALES}, got {scale!r}")
        cfg = LARGE_CFG if model_name == "large" else SMALL_CFG
        strides = _check_strides(model_name, large_stride, small_stride)
        self.disable_se = disable_se
        channels = make_divisible(16 * scale)
        self.conv1 = ConvBNLayer(in_channels, channels, 3, stride=2, padding=1, act="hardswish")
        blocks = []
        for kernel, expand, out, use_se, act, spec in cfg:
            out = make_divisible(scale * out)
            stride = _resolve_stride(spec, strides)
            blocks.append(ResidualUnit(channels, make_divisible(scale * expand), out, kernel,
                                       stride, use_se and not disable_se, act))
            channels = out
        self.blocks = nn.Sequential(*blocks)
        self.out_channels = make_divisible(scale * LAST_CHANNELS[model_name])
        self.conv2 = ConvBNLayer(channels, self.out_channels, 1, act="hardswish")
        self.pool = nn.MaxPool2D(kernel_size=2, stride=2, padding=0)

    @staticmethod
    def width_stride(model_name="small", large_stride=None, small_stride=None, **_):
        """Image width / feature width (CTC time steps T = W // this) for these constructor options.

        conv1 (2) and the final pool (2) halve the width; of the blocks only ``large``'s first
        ("S0", square) stride reaches the width, the "H" strides reduce the height alone.
        """
        strides = _check_strides(model_name, large_stride, small_stride)
        return 4 * int(strides[0]) if model_name == "large" else 4

    def forward(self, x):
        return self.pool(self.conv2(self.blocks(self.conv1(x))))
