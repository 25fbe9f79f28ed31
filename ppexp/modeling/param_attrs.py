"""Parameter names and ParamAttr helpers shared by model parts.

Parameter names (``param.name``) are what optimizer state is keyed by: a ``.pdopt`` holds
``<param name>_moment1_0`` etc. To interchange ``.pdopt`` files with upstream PaddleOCR they
must be upstream's names, built the way upstream builds them:

- auto names ``<layer type>_<n>.w_<k>`` / ``.b_<k>`` come from paddle's per-layer-type counters
  (the snake-cased class name: Conv2D -> ``conv2d``, BatchNorm -> ``batch_norm``, BatchNorm2D ->
  ``batch_norm2d``, Linear -> ``linear``, LSTMCell -> ``lstm_cell``, LayerNorm -> ``layer_norm``).
  A part must therefore use the same layer classes as upstream's part, created in the same order;
  ``build_model`` runs in a fresh counter scope (:func:`fresh_names`), so the numbers are those of
  a model built first in a fresh process, however many models the process built before;
- explicit names (ResNet-vd's ``conv1_1_weights``, ``bn2a_branch1_scale``) via :func:`named_attr`,
  only where upstream gives them.
"""
import math

import paddle
from paddle import nn


def fresh_names():
    """Context manager: paddle's auto-name counters start at 0 inside (restored on exit)."""
    return paddle.utils.unique_name.guard()


def named_attr(name):
    """ParamAttr with the explicit parameter ``name`` (None -> paddle's auto name)."""
    return paddle.ParamAttr(name=name)


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
