"""SequenceEncoder encoder_type svtr (PP-OCRv3's neck): layout, global mixing, options."""
import copy

import numpy as np
import paddle
import pytest

from ppexp.modeling import build_model

ARCH = {
    "model_type": "rec", "algorithm": "CRNN", "Transform": None,
    "Backbone": {"name": "MobileNetV3", "model_name": "small", "scale": 0.35},
    "Neck": {"name": "SequenceEncoder", "encoder_type": "svtr", "dims": 32, "depth": 2,
             "hidden_dims": 64, "num_heads": 4},
    "Head": {"name": "CTCHead", "fc_decay": 0.0, "out_channels": 20},
}


def _model(**neck):
    arch = copy.deepcopy(ARCH)
    arch["Neck"].update(neck)
    paddle.seed(0)
    return build_model(arch)


def test_state_dict_keys_follow_upstream_names():
    keys = {k[len("neck.encoder."):] for k in _model().state_dict() if k.startswith("neck.encoder.")}
    conv_bn = lambda n: {f"{n}.conv.weight", *(f"{n}.norm.{p}" for p in ("weight", "bias", "_mean", "_variance"))}
    expected = set().union(*(conv_bn(n) for n in ("conv1", "conv2", "conv3", "conv4", "conv1x1")))
    expected |= {"norm.weight", "norm.bias"}
    for i in range(2):
        for part in ("norm1", "norm2", "mixer.qkv", "mixer.proj", "mlp.fc1", "mlp.fc2"):
            expected |= {f"svtr_block.{i}.{part}.weight", f"svtr_block.{i}.{part}.bias"}
    assert keys == expected


def test_shapes_and_output_width():
    model = _model()
    model.eval()
    out = model(paddle.randn([2, 3, 32, 128]))
    assert out.shape == [2, 32, 20]
    assert model.neck.out_channels == 32
    assert model.neck.encoder.svtr_block[0].mixer.qkv.weight.shape == [64, 192]


def test_attention_mixes_the_whole_sequence():
    """A change in the last columns reaches the first time step (an rnn does this too; fc cannot)."""
    x = paddle.to_tensor(np.random.default_rng(0).normal(size=(1, 3, 32, 128)).astype("float32"))
    y = x.clone()
    y[:, :, :, 112:] = 0.0
    for encoder_type, reaches in (("svtr", True), ("fc", False)):
        arch = copy.deepcopy(ARCH)
        arch["Neck"] = {"name": "SequenceEncoder", "encoder_type": encoder_type, "hidden_size": 16}
        if encoder_type == "svtr":
            arch["Neck"] = copy.deepcopy(ARCH["Neck"])
        paddle.seed(0)
        model = build_model(arch)
        model.eval()
        first_step_change = float((model(x)[0, 0] - model(y)[0, 0]).abs().max())
        assert (first_step_change > 1e-6) == reaches, encoder_type


def test_use_guide_stops_the_gradient_at_the_neck():
    for use_guide, reaches_backbone in ((False, True), (True, False)):
        model = _model(use_guide=use_guide)
        model.train()
        model(paddle.randn([2, 3, 32, 64])).sum().backward()
        first = next(p for n, p in model.named_parameters() if n.startswith("backbone."))
        grad = first.grad
        assert (grad is not None and float(grad.abs().sum()) > 0) == reaches_backbone


def test_options_are_checked():
    with pytest.raises(ValueError, match="no option 'dim'.*Did you mean 'dims'"):
        _model(dim=64)
    arch = copy.deepcopy(ARCH)
    arch["Neck"] = {"name": "SequenceEncoder", "encoder_type": "rnn", "hidden_size": 16, "depth": 2}
    with pytest.raises(ValueError, match="apply to encoder_type svtr only"):
        build_model(arch)
    with pytest.raises(ValueError, match="divisible by num_heads"):
        _model(hidden_dims=60, num_heads=8)
