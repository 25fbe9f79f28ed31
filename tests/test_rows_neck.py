"""SequenceEncoder ``rows: 2``: the feature map's rows read one after the other (two-line plates)."""
import copy

import numpy as np
import paddle
import pytest

from ppexp.modeling import build_model
from ppexp.modeling.necks.rnn import Im2Seq

ARCH = {
    "model_type": "rec", "algorithm": "CRNN", "Transform": None,
    "Backbone": {"name": "MobileNetV3", "model_name": "small", "scale": 0.35, "small_stride": [2, 2, 2, 1]},
    "Neck": {"name": "SequenceEncoder", "encoder_type": "reshape", "rows": 2},
    "Head": {"name": "CTCHead", "fc_decay": 0.0, "out_channels": 20},
}


def _model(**neck):
    arch = copy.deepcopy(ARCH)
    arch["Neck"].update(neck)
    paddle.seed(0)
    model = build_model(arch)
    model.eval()
    return model


def test_rows_are_concatenated_top_row_first():
    x = paddle.to_tensor(np.arange(2 * 3 * 2 * 4, dtype="float32").reshape([2, 3, 2, 4]))
    seq = Im2Seq(3, rows=2)(x).numpy()
    assert seq.shape == (2, 8, 3)
    np.testing.assert_array_equal(seq[:, :4], x.numpy()[:, :, 0].transpose(0, 2, 1))
    np.testing.assert_array_equal(seq[:, 4:], x.numpy()[:, :, 1].transpose(0, 2, 1))


def test_taller_maps_are_pooled_to_the_rows():
    x = paddle.to_tensor(np.random.default_rng(0).normal(size=(1, 2, 4, 5)).astype("float32"))
    seq = Im2Seq(2, rows=2)(x).numpy()
    top = x.numpy()[0, :, :2].mean(axis=1).T
    np.testing.assert_allclose(seq[0, :5], top, rtol=1e-6)


def test_model_output_has_two_rows_of_steps_and_keys_unchanged():
    model = _model()
    out = model(paddle.randn([2, 3, 64, 192]))
    assert out.shape == [2, 2 * 192 // 4, 20]
    plain = copy.deepcopy(ARCH)
    plain["Neck"] = {"name": "SequenceEncoder", "encoder_type": "reshape"}
    assert list(model.state_dict()) == list(build_model(plain).state_dict())


def test_rows_one_pools_a_taller_map_and_absent_rows_keeps_upstreams_check():
    x = paddle.to_tensor(np.random.default_rng(1).normal(size=(1, 2, 2, 5)).astype("float32"))
    np.testing.assert_allclose(Im2Seq(2, rows=1)(x).numpy()[0], x.numpy()[0].mean(axis=1).T, rtol=1e-6)
    with pytest.raises(ValueError, match="needs feature height 1"):
        Im2Seq(2)(x)
    assert _model(rows=1)(paddle.randn([1, 3, 64, 128])).shape == [1, 128 // 4, 20]


def test_too_short_feature_map_and_bad_values_are_named():
    with pytest.raises(ValueError, match="rows=2 needs a feature map whose height is a multiple of 2"):
        _model()(paddle.randn([1, 3, 32, 128]))
    for bad in (0, "2", 1.5):
        with pytest.raises(ValueError, match="Architecture.Neck.rows"):
            _model(rows=bad)
    with pytest.raises(ValueError, match="svtr"):
        _model(encoder_type="svtr", rows=2)


def test_exports_with_a_dynamic_width(tmp_path):
    model = _model()
    static = paddle.jit.to_static(model, input_spec=[paddle.static.InputSpec([None, 3, 64, None], "float32")])
    paddle.jit.save(static, str(tmp_path / "inference"))
    loaded = paddle.jit.load(str(tmp_path / "inference"))
    x = paddle.randn([1, 3, 64, 160])
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-5)


def test_residual_rnn_starts_as_the_reshape_model_and_then_learns():
    """encoder_type residual_rnn: x + proj(BiLSTM(x)) with proj zero-initialised. A reshape model's weights
    load into it and give the same output; a training step then moves the LSTM too (gradient reaches it)."""
    base = _model()
    res = _model(encoder_type="residual_rnn", hidden_size=16)
    missing = res.set_state_dict(base.state_dict())
    assert all(k.startswith("neck.encoder.") for k in missing[0]) and missing[0]
    x = paddle.randn([2, 3, 64, 128])
    np.testing.assert_allclose(res(x).numpy(), base(x).numpy(), atol=1e-6)
    res.train()
    opt = paddle.optimizer.Adam(1e-2, parameters=res.parameters())
    lstm_before = res.neck.encoder.lstm.weight_ih_l0.numpy().copy()
    for _ in range(2):                       # step 1 moves proj off zero, step 2 reaches the LSTM
        res(x).square().mean().backward()
        opt.step()
        opt.clear_grad()
    assert np.abs(res.neck.encoder.proj.weight.numpy()).max() > 0
    assert np.abs(res.neck.encoder.lstm.weight_ih_l0.numpy() - lstm_before).max() > 0
    res.eval()
    static = paddle.jit.to_static(res, input_spec=[paddle.static.InputSpec([None, 3, 64, None], "float32")])
    assert static(x).shape == [2, 2 * 128 // 4, 20]
