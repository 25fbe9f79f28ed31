"""ResNet-vd backbone for text recognition (PaddleOCR ``ResNet`` in rec_resnet_vd).

Stem of three 3x3 convs, a 3x3/2 max pool, four stages whose first block (after
stage 0) downsamples height only, and a final 2x2 max pool: 32x100 -> 1x25.
Blocks are registered as ``bb_<stage>_<index>`` like upstream, and parameters carry
upstream's explicit names (``conv1_1_weights``, ``res2a_branch2a_weights``,
``bn2a_branch2a_scale`` / ``_offset`` / ``_mean`` / ``_variance``), so optimizer state interchanges.
"""
import logging
import paddle.nn.functional as F
from paddle import nn

from ppexp.modeling.param_attrs import named_attr
from ppexp.modeling.registry import BACKBONES

DEPTHS = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3],
          101: [3, 4, 23, 3], 152: [3, 8, 36, 3], 200: [3, 12, 48, 3]}
NUM_FILTERS = [64, 128, 256, 512]


class ConvBNLayer(nn.Layer):
    """Conv (no bias) + BN + optional ReLU; names ``_conv`` / ``_batch_norm``.

    In vd mode the stride is done by an average pool (kernel = stride, ceil mode)
    before a stride-1 conv, the "ResNet-D" shortcut trick. ``name`` (e.g. ``res2a_branch1``)
    gives the parameter names: ``<name>_weights`` and ``bn<name[3:]>_{scale,offset,mean,variance}``.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, groups=1,
                 is_vd_mode=False, act=None, name=None):
        super().__init__()
        self.is_vd_mode = is_vd_mode
        self.act = act
        if is_vd_mode:
            self._pool2d_avg = nn.AvgPool2D(kernel_size=stride, stride=stride, padding=0,
                                            ceil_mode=True)
        self._conv = nn.Conv2D(in_channels, out_channels, kernel_size,
                               stride=1 if is_vd_mode else stride,
                               padding=(kernel_size - 1) // 2, groups=groups, bias_attr=False,
                               weight_attr=named_attr(name + "_weights") if name else None)
        if name is None:  # det ResNet_vd: upstream leaves these to paddle's automatic names
            self._batch_norm = nn.BatchNorm(out_channels)
            return
        bn = "bn_" + name if name == "conv1" else "bn" + name[3:]
        self._batch_norm = nn.BatchNorm(out_channels, param_attr=named_attr(bn + "_scale"),
                                        bias_attr=named_attr(bn + "_offset"),
                                        moving_mean_name=bn + "_mean", moving_variance_name=bn + "_variance")

    def forward(self, x):
        if self.is_vd_mode:
            x = self._pool2d_avg(x)
        x = self._batch_norm(self._conv(x))
        return F.relu(x) if self.act == "relu" else x


def _sub(name, suffix):
    """``name + suffix``, or None (automatic parameter names) when the block has no name."""
    return None if name is None else name + suffix


def _shortcut(in_channels, out_channels, stride, if_first, name):
    """1x1 projection; avg-pool + conv (vd) when it downsamples, except in the first block."""
    return ConvBNLayer(in_channels, out_channels, 1, stride=stride,
                       is_vd_mode=not if_first and stride[0] != 1, name=_sub(name, "_branch1"))


def block_name(layers, stage, index):
    """Upstream's block name: ``res<stage+2><a,b,c...>``; ``res4a, res4b1, ...`` in 101/152/200."""
    if layers in (101, 152, 200) and stage == 2:
        return "res4a" if index == 0 else f"res4b{index}"
    return f"res{stage + 2}{chr(97 + index)}"


class BasicBlock(nn.Layer):
    """Two 3x3 convs (ResNet-18/34)."""

    expansion = 1

    def __init__(self, in_channels, out_channels, stride, shortcut, if_first, name=None):
        super().__init__()
        self.conv0 = ConvBNLayer(in_channels, out_channels, 3, stride=stride, act="relu", name=_sub(name, "_branch2a"))
        self.conv1 = ConvBNLayer(out_channels, out_channels, 3, name=_sub(name, "_branch2b"))
        self.shortcut = shortcut
        if not shortcut:
            self.short = _shortcut(in_channels, out_channels, stride, if_first, name)

    def forward(self, inputs):
        y = self.conv1(self.conv0(inputs))
        short = inputs if self.shortcut else self.short(inputs)
        return F.relu(short + y)


class BottleneckBlock(nn.Layer):
    """1x1 reduce, 3x3, 1x1 expand (x4) (ResNet-50 and deeper)."""

    expansion = 4

    def __init__(self, in_channels, out_channels, stride, shortcut, if_first, name=None):
        super().__init__()
        self.conv0 = ConvBNLayer(in_channels, out_channels, 1, act="relu", name=_sub(name, "_branch2a"))
        self.conv1 = ConvBNLayer(out_channels, out_channels, 3, stride=stride, act="relu", name=_sub(name, "_branch2b"))
        self.conv2 = ConvBNLayer(out_channels, out_channels * 4, 1, name=_sub(name, "_branch2c"))
        self.shortcut = shortcut
        if not shortcut:
            self.short = _shortcut(in_channels, out_channels * 4, stride, if_first, name)

    def forward(self, inputs):
        y = self.conv2(self.conv1(self.conv0(inputs)))
        short = inputs if self.shortcut else self.short(inputs)
        return F.relu(short + y)


def warn_disable_se(disable_se):
    """Upstream swallows ``disable_se`` for ResNet-vd (rec and det); users set it believing it matters."""
    if disable_se is not None:
        logging.getLogger("ppexp").warning(
            "Architecture.Backbone.disable_se=%s has no effect: ResNet-vd has no SE blocks "
            "(PaddleOCR ignores it too)", disable_se)


@BACKBONES.register()
class ResNet(nn.Layer):
    """Rec ResNet-vd with ``layers`` in 18/34/50/101/152/200."""

    def __init__(self, in_channels=3, layers=50, disable_se=None):
        super().__init__()
        warn_disable_se(disable_se)
        if layers not in DEPTHS:
            raise ValueError(f"ResNet: layers must be one of {sorted(DEPTHS)}, got {layers!r}")
        self.layers = layers
        self.conv1_1 = ConvBNLayer(in_channels, 32, 3, act="relu", name="conv1_1")
        self.conv1_2 = ConvBNLayer(32, 32, 3, act="relu", name="conv1_2")
        self.conv1_3 = ConvBNLayer(32, 64, 3, act="relu", name="conv1_3")
        self.pool2d_max = nn.MaxPool2D(kernel_size=3, stride=2, padding=1)
        block_cls = BottleneckBlock if layers >= 50 else BasicBlock
        self.block_list = []
        channels = 64
        for stage, depth in enumerate(DEPTHS[layers]):
            for i in range(depth):
                stride = (2, 1) if i == 0 and stage != 0 else (1, 1)
                block = block_cls(channels, NUM_FILTERS[stage], stride,
                                  shortcut=i != 0, if_first=stage == i == 0,
                                  name=block_name(layers, stage, i))
                self.block_list.append(self.add_sublayer(f"bb_{stage}_{i}", block))
                channels = NUM_FILTERS[stage] * block_cls.expansion
        self.out_channels = channels
        self.out_pool = nn.MaxPool2D(kernel_size=2, stride=2, padding=0)

    @staticmethod
    def width_stride(**_):
        """Image width / feature width: pool2d_max (2) and out_pool (2); the blocks stride (2, 1), height only."""
        return 4

    def forward(self, x):
        x = self.pool2d_max(self.conv1_3(self.conv1_2(self.conv1_1(x))))
        for block in self.block_list:
            x = block(x)
        return self.out_pool(x)
