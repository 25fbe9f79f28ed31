"""ParamAttr helpers shared by model parts (no fixed parameter names, ever)."""
import math

import paddle
from paddle import nn


def uniform_decay_attrs(l2_decay, fan_in):
    """[weight_attr, bias_attr]: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) init and L2Decay(l2_decay).

    Matches upstream's ``get_para_bias_attr`` used by CTCHead and the fc encoder.
    """
    bound = 1.0 / math.sqrt(fan_in * 1.0)
    return [
        paddle.ParamAttr(regularizer=paddle.regularizer.L2Decay(l2_decay),
                         initializer=nn.initializer.Uniform(-bound, bound))
        for _ in range(2)
    ]
