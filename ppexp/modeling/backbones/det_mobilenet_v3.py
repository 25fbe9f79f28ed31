"""MobileNetV3 backbone for text detection (PaddleOCR ``MobileNetV3`` in det_mobilenet_v3).

Same blocks and channel table as the rec variant (``rec_mobilenet_v3``), but square
stride-2 downsampling and no final pool: the blocks are cut into four stages at the
stride-2 blocks, and ``forward`` returns the four stage outputs (1/4, 1/8, 1/16, 1/32
of the input) for an FPN neck. ``out_channels`` is the list of the four widths.
The last stage ends with the 1x1 ``conv_last`` (hardswish) as upstream, so state_dict
keys are ``conv.*`` and ``stage<i>.<j>.*``.
"""
from paddle import nn

from ppexp.modeling.backbones.rec_mobilenet_v3 import (
    LARGE_CFG, LAST_CHANNELS, SMALL_CFG, SUPPORTED_SCALES, ConvBNLayer, ResidualUnit, make_divisible)
from ppexp.modeling.registry import DET_BACKBONES

# Per-block stride of the det network (rows of LARGE_CFG / SMALL_CFG, whose stride column is
# the rec network's). A stride-2 block after the first few starts a new stage.
DET_STRIDES = {
    "large": [1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1],
    "small": [2, 2, 1, 2, 1, 1, 1, 1, 2, 1, 1],
}
TABLES = {"large": LARGE_CFG, "small": SMALL_CFG}
# Stride-2 blocks up to this index stay in stage 0 (large keeps 1/4 resolution for stage 0).
STAGE_START = {"large": 2, "small": 0}


@DET_BACKBONES.register()
class MobileNetV3(nn.Layer):
    """Det MobileNetV3 ``large``/``small`` at ``scale``; ``disable_se`` drops every SE block."""

    def __init__(self, in_channels=3, model_name="large", scale=0.5, disable_se=False):
        super().__init__()
        if model_name not in TABLES:
            raise ValueError(f"Architecture.Backbone (det MobileNetV3): model_name must be 'large' or "
                             f"'small', got {model_name!r}")
        if scale not in SUPPORTED_SCALES:
            raise ValueError(f"Architecture.Backbone (det MobileNetV3): scale must be one of "
                             f"{SUPPORTED_SCALES}, got {scale!r}")
        self.disable_se = disable_se
        channels = make_divisible(16 * scale)
        self.conv = ConvBNLayer(in_channels, channels, 3, stride=2, padding=1, act="hardswish")
        stages, blocks, self.out_channels = [], [], []
        rows = zip(TABLES[model_name], DET_STRIDES[model_name])
        for i, ((kernel, expand, out, use_se, act, _), stride) in enumerate(rows):
            if stride == 2 and i > STAGE_START[model_name]:
                stages.append(blocks)
                self.out_channels.append(channels)
                blocks = []
            out = make_divisible(scale * out)
            blocks.append(ResidualUnit(channels, make_divisible(scale * expand), out, kernel, stride,
                                       use_se and not disable_se, act))
            channels = out
        last = make_divisible(scale * LAST_CHANNELS[model_name])
        blocks.append(ConvBNLayer(channels, last, 1, act="hardswish"))
        stages.append(blocks)
        self.out_channels.append(last)
        self.stages = [self.add_sublayer(f"stage{i}", nn.Sequential(*layers))
                       for i, layers in enumerate(stages)]

    def forward(self, x):
        x = self.conv(x)
        outs = []
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        return outs
