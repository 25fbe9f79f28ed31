"""SequenceEncoder neck: feature map [B, C, 1, W] -> sequence [B, W, C'] (PaddleOCR necks/rnn).

ppexp extension ``rows: R`` (absent: upstream's behaviour, the feature height must be 1): the feature map is
average-pooled to R rows and the rows are read one after the other, top row first ([B, C, R, W] -> [B, R*W, C]);
``rows: 1`` pools a taller map to one row (e.g. input height 64 with small_stride [2, 2, 2, 1]). A CTC
head on it reads a two-line plate's top line before its bottom line without a sequence encoder and
without cutting the image: the model itself learns which row emits each character.
"""
import paddle
import paddle.nn.functional as F
from paddle import nn

from ppexp.modeling.param_attrs import uniform_decay_attrs
from ppexp.modeling.necks.svtr import EncoderWithSVTR
from ppexp.modeling.registry import NECKS
from ppexp.utils.registry import check_options


class Im2Seq(nn.Layer):
    """[B, C, 1, W] -> [B, W, C]; without ``rows`` the height must already be 1 (upstream).

    With ``rows`` (1 or more): [B, C, H, W] -> average-pool to ``rows`` rows -> [B, rows * W, C], row by row
    (H must be known and a multiple of ``rows``: the input height is fixed, as in every rec config).
    """

    def __init__(self, in_channels, rows=None):
        super().__init__()
        self.out_channels = in_channels
        self.rows = None if rows is None else int(rows)

    def forward(self, x):
        if self.rows is not None:
            height = x.shape[2]
            if height < self.rows or height % self.rows:
                raise ValueError(
                    f"SequenceEncoder rows={self.rows} needs a feature map whose height is a multiple of "
                    f"{self.rows}, got shape {list(x.shape)}; set the input height (RecResizeImg image_shape) "
                    "and the backbone's height strides to match (e.g. 64 with small_stride [2, 2, 2, 1])")
            if height != self.rows:
                k = height // self.rows
                x = F.avg_pool2d(x, kernel_size=(k, 1), stride=(k, 1))
            return x.transpose([0, 2, 3, 1]).reshape([0, -1, self.out_channels])
        if x.shape[2] not in (1, -1):  # -1: unknown at to_static time
            raise ValueError(
                f"Im2Seq needs feature height 1, got shape {list(x.shape)}; "
                "check the input image height (32 for these backbones) and backbone strides")
        return x.squeeze(axis=2).transpose([0, 2, 1])


class EncoderWithRNN(nn.Layer):
    """Two-layer bidirectional LSTM; ``out_channels`` = 2 * hidden_size."""

    def __init__(self, in_channels, hidden_size):
        super().__init__()
        self.out_channels = hidden_size * 2
        self.lstm = nn.LSTM(in_channels, hidden_size, direction="bidirectional", num_layers=2)

    def forward(self, x):
        return self.lstm(x)[0]


class EncoderWithFC(nn.Layer):
    """One linear layer (L2 decay 1e-5 as upstream); ``out_channels`` = hidden_size."""

    def __init__(self, in_channels, hidden_size):
        super().__init__()
        self.out_channels = hidden_size
        weight_attr, bias_attr = uniform_decay_attrs(0.00001, in_channels)
        self.fc = nn.Linear(in_channels, hidden_size, weight_attr=weight_attr, bias_attr=bias_attr)

    def forward(self, x):
        return self.fc(x)


class EncoderWithResidualRNN(nn.Layer):
    """ppexp extension: ``x + proj(BiLSTM(x))``, the projection initialised to zero.

    ``out_channels`` = ``in_channels``, so a reshape model's CTC head and weights load unchanged and the
    model starts exactly where the reshape model was: the LSTM (one bidirectional layer) adds context
    across the sequence (e.g. a two-syllable region name read as a word) without the blank plateau a
    fresh CTC head on a fresh BiLSTM sits on.
    """

    def __init__(self, in_channels, hidden_size):
        super().__init__()
        self.out_channels = in_channels
        self.lstm = nn.LSTM(in_channels, hidden_size, direction="bidirectional", num_layers=1)
        zero = paddle.ParamAttr(initializer=nn.initializer.Constant(0.0))
        self.proj = nn.Linear(hidden_size * 2, in_channels, weight_attr=zero, bias_attr=zero)

    def forward(self, x):
        return x + self.proj(self.lstm(x)[0])


ENCODERS = {"fc": EncoderWithFC, "rnn": EncoderWithRNN, "residual_rnn": EncoderWithResidualRNN}


def _svtr_encoder(in_channels, options):
    """EncoderWithSVTR(in_channels, **options); an unknown option names the accepted ones."""
    where = "Architecture.Neck: encoder_type svtr"
    options = check_options(EncoderWithSVTR, options, where, injected=("in_channels",))
    return EncoderWithSVTR(in_channels, **options)


@NECKS.register()
class SequenceEncoder(nn.Layer):
    """Im2Seq plus an optional encoder: ``encoder_type`` reshape | fc | rnn | svtr | residual_rnn (ppexp).

    fc and rnn run on the sequence (after Im2Seq); svtr runs on the feature map (before it).
    ``svtr_options`` are EncoderWithSVTR's keyword options (dims, depth, hidden_dims, ...).
    """

    def __init__(self, in_channels, encoder_type, hidden_size=48, rows=None, **svtr_options):
        super().__init__()
        if rows is not None and (not isinstance(rows, int) or isinstance(rows, bool) or rows < 1):
            raise ValueError(f"Architecture.Neck.rows must be an int >= 1, got {rows!r}")
        if rows is not None and encoder_type == "svtr":
            raise ValueError("Architecture.Neck.rows is not supported with encoder_type svtr; use reshape, fc or rnn")
        self.encoder_reshape = Im2Seq(in_channels, rows)
        self.encoder_type = encoder_type
        self.only_reshape = encoder_type == "reshape"
        if svtr_options and encoder_type != "svtr":
            raise ValueError(f"Architecture.Neck: options {sorted(svtr_options)} apply to encoder_type svtr "
                             f"only (this neck is '{encoder_type}'); remove them")
        if self.only_reshape:
            self.out_channels = in_channels
            return
        if encoder_type == "svtr":
            self.encoder = _svtr_encoder(in_channels, svtr_options)
        elif encoder_type in ENCODERS:
            self.encoder = ENCODERS[encoder_type](in_channels, hidden_size)
        else:
            known = ", ".join(["reshape", *sorted(ENCODERS), "svtr"])
            raise ValueError(
                f"SequenceEncoder: unknown encoder_type '{encoder_type}'; known: {known}")
        self.out_channels = self.encoder.out_channels

    def forward(self, x):
        if self.encoder_type == "svtr":
            return self.encoder_reshape(self.encoder(x))
        x = self.encoder_reshape(x)
        return x if self.only_reshape else self.encoder(x)
