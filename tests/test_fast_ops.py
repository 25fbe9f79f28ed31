"""ppexp.modeling.fast_ops: the eager-mode fast paths equal paddle's plain ops, forward and backward."""
import numpy as np
import paddle
import paddle.nn.functional as F
import pytest
from paddle import nn

from ppexp.modeling.fast_ops import Conv2DTransposeFastBias, add_channel_bias, upsample_nearest


def _grads(fn, *arrays):
    """fn's output and the gradients of sum(out * w) (a fixed random weight) w.r.t. each input."""
    tensors = [paddle.to_tensor(a, stop_gradient=False) for a in arrays]
    out = fn(*tensors)
    weight = paddle.to_tensor(np.random.default_rng(1).standard_normal(out.shape).astype("float32"))
    (out * weight).sum().backward()
    return out.numpy(), [t.grad.numpy() for t in tensors]


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_upsample_nearest_equals_paddle(scale):
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 7)).astype("float32")
    out, (gx,) = _grads(lambda t: upsample_nearest(t, scale), x)
    ref, (rgx,) = _grads(lambda t: F.upsample(t, scale_factor=scale, mode="nearest", align_mode=1), x)
    assert out.shape == (2, 3, 5 * scale, 7 * scale)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_allclose(gx, rgx, rtol=1e-5, atol=1e-5)


def test_add_channel_bias_equals_broadcast_add():
    rng = np.random.default_rng(0)
    x, b = rng.standard_normal((3, 4, 6, 5)).astype("float32"), rng.standard_normal(4).astype("float32")
    out, (gx, gb) = _grads(add_channel_bias, x, b)
    ref, (rgx, rgb) = _grads(lambda t, c: t + c.reshape([1, -1, 1, 1]), x, b)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(gx, rgx)
    np.testing.assert_allclose(gb, rgb, rtol=1e-5, atol=1e-5)


def test_conv_transpose_fast_bias_is_a_drop_in_for_conv2d_transpose():
    paddle.seed(3)
    plain = nn.Conv2DTranspose(6, 5, 2, stride=2)
    fast = Conv2DTransposeFastBias(6, 5, 2, stride=2)
    assert list(fast.state_dict()) == list(plain.state_dict())
    fast.set_state_dict(plain.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 6, 7, 9)).astype("float32")
    out, (gx,) = _grads(fast, x)
    ref, (rgx,) = _grads(plain, x)
    np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gx, rgx, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fast.bias.grad.numpy(), plain.bias.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fast.weight.grad.numpy(), plain.weight.grad.numpy(), rtol=1e-4, atol=1e-4)


class _UpThenConvT(nn.Layer):
    def __init__(self):
        super().__init__()
        self.conv = Conv2DTransposeFastBias(4, 2, 2, stride=2)

    def forward(self, x):
        return self.conv(upsample_nearest(x, 2))


def test_static_graph_keeps_the_plain_ops():
    """Export traces the plain ops (unknown batch/sides are -1 there) and computes the same."""
    layer = _UpThenConvT()
    x = paddle.randn([1, 4, 3, 5])
    eager = layer(x).numpy()
    spec = [paddle.static.InputSpec([None, 4, None, None], "float32")]
    static = paddle.jit.to_static(layer, input_spec=spec, full_graph=True)
    np.testing.assert_allclose(static(x).numpy(), eager, rtol=1e-6, atol=1e-6)
