"""ResNet-vd backbone for text detection (PaddleOCR ``ResNet_vd`` in det_resnet_vd).

The blocks are the rec ResNet-vd's (``rec_resnet_vd``, same layout and state_dict keys
``bb_<stage>_<index>``) with square stride (2, 2); the stem's first conv has stride 2 and
there is no final pool. ``forward`` returns the outputs of the stages in ``out_indices`` (default
all four: 1/4, 1/8, 1/16, 1/32 of the input) and ``out_channels`` lists their widths.
"""
from paddle import nn

from ppexp.modeling.backbones.rec_resnet_vd import (
    DEPTHS, NUM_FILTERS, BasicBlock, BottleneckBlock, ConvBNLayer, warn_disable_se)
from ppexp.modeling.registry import DET_BACKBONES

WHERE = "Architecture.Backbone (ResNet_vd)"


def _check_stage_list(key, value, default, check):
    value = default if value is None else value
    if not isinstance(value, (list, tuple)) or not all(check(v) for v in value):
        raise ValueError(f"{WHERE}: {key} must be a list like {default}, got {value!r}")
    return list(value)


@DET_BACKBONES.register(name="ResNet_vd")
class ResNetVd(nn.Layer):
    """Det ResNet-vd with ``layers`` in 18/34/50/101/152/200.

    ``dcn_stage`` (deformable convs) is accepted only as all False: ppexp has no DCN.
    ``disable_se`` has no effect (logged), as upstream.
    """

    def __init__(self, in_channels=3, layers=50, dcn_stage=None, out_indices=None, disable_se=None):
        super().__init__()
        warn_disable_se(disable_se)
        if layers not in DEPTHS:
            raise ValueError(f"{WHERE}: layers must be one of {sorted(DEPTHS)}, got {layers!r}")
        dcn_stage = _check_stage_list("dcn_stage", dcn_stage, [False] * 4, lambda v: isinstance(v, bool))
        if any(dcn_stage):
            raise ValueError(f"{WHERE}: dcn_stage {dcn_stage}: deformable convolution is not "
                             "implemented in ppexp; remove the key or set every entry to false")
        self.out_indices = _check_stage_list("out_indices", out_indices, [0, 1, 2, 3],
                                             lambda v: v in (0, 1, 2, 3))
        self.layers = layers
        self.conv1_1 = ConvBNLayer(in_channels, 32, 3, stride=2, act="relu")
        self.conv1_2 = ConvBNLayer(32, 32, 3, act="relu")
        self.conv1_3 = ConvBNLayer(32, 64, 3, act="relu")
        self.pool2d_max = nn.MaxPool2D(kernel_size=3, stride=2, padding=1)
        block_cls = BottleneckBlock if layers >= 50 else BasicBlock
        self.stages, self.out_channels = [], []
        channels = 64
        for stage, depth in enumerate(DEPTHS[layers]):
            blocks = []
            for i in range(depth):
                stride = (2, 2) if i == 0 and stage != 0 else (1, 1)
                block = block_cls(channels, NUM_FILTERS[stage], stride,
                                  shortcut=i != 0, if_first=stage == i == 0)
                blocks.append(self.add_sublayer(f"bb_{stage}_{i}", block))
                channels = NUM_FILTERS[stage] * block_cls.expansion
            self.stages.append(blocks)
            if stage in self.out_indices:
                self.out_channels.append(channels)

    def forward(self, x):
        x = self.pool2d_max(self.conv1_3(self.conv1_2(self.conv1_1(x))))
        outs = []
        for index, blocks in enumerate(self.stages):
            for block in blocks:
                x = block(x)
            if index in self.out_indices:
                outs.append(x)
        return outs
