"""CTC head: per-time-step class scores (PaddleOCR ``CTCHead``)."""
import paddle.nn.functional as F
from paddle import nn

from ppexp.modeling.param_attrs import uniform_decay_attrs
from ppexp.modeling.registry import HEADS


@HEADS.register()
class CTCHead(nn.Layer):
    """Linear layer(s) to ``out_channels`` classes (blank = 0).

    Training mode returns raw logits [B, T, C]; eval mode returns softmax over C,
    like upstream (so exported/eval outputs are probabilities).
    ``fc_decay`` is the L2 decay put on the fc weights and biases via ParamAttr.
    """

    def __init__(self, in_channels, out_channels, fc_decay=0.0004, mid_channels=None):
        super().__init__()
        self.out_channels = out_channels
        self.mid_channels = mid_channels
        if mid_channels is None:
            w_attr, b_attr = uniform_decay_attrs(fc_decay, in_channels)
            self.fc = nn.Linear(in_channels, out_channels, weight_attr=w_attr, bias_attr=b_attr)
        else:
            w_attr, b_attr = uniform_decay_attrs(fc_decay, in_channels)
            self.fc1 = nn.Linear(in_channels, mid_channels, weight_attr=w_attr, bias_attr=b_attr)
            w_attr, b_attr = uniform_decay_attrs(fc_decay, mid_channels)
            self.fc2 = nn.Linear(mid_channels, out_channels, weight_attr=w_attr, bias_attr=b_attr)

    def forward(self, x, targets=None):
        if self.mid_channels is None:
            predicts = self.fc(x)
        else:
            predicts = self.fc2(self.fc1(x))
        if not self.training:
            predicts = F.softmax(predicts, axis=2)
        return predicts
