"""ppexp's CPU depthwise conv (ppexp/modeling/depthwise.py): the same outputs and gradients as paddle's conv,
used only where it applies, never in an exported program, and a clean fallback when it cannot be built."""
import logging

import numpy as np
import paddle
import pytest

from ppexp.modeling import build_model
from ppexp.modeling import depthwise as dw

GEOMETRIES = [  # (n, c, h, w, kernel, stride, padding)
    (2, 8, 9, 13, 3, (1, 1), 1),
    (2, 8, 9, 13, 5, (2, 1), 2),   # MobileNetV3 rec blocks: stride (2, 1)
    (3, 4, 10, 11, 3, (2, 2), 1),  # det backbone
    (1, 6, 7, 7, 5, (1, 2), 2),
    (2, 3, 5, 6, 3, (1, 1), 0),
    (2, 4, 8, 8, 3, (3, 2), 1),
    (2, 5, 1, 9, 3, (1, 1), 1),    # a one-row map
]


@pytest.fixture(scope="module")
def op():
    module = dw.load_op()
    assert module is not None, f"the depthwise op did not build here: {dw.reason()}"
    return module


def _grads(fn, x, weight, upstream):
    y = fn(x)
    gx, gw = paddle.grad([y], [x, weight], [upstream])
    return y.numpy(), gx.numpy(), gw.numpy()


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=[str(g) for g in GEOMETRIES])
def test_outputs_and_gradients_equal_paddles_conv(op, geometry):
    n, c, h, w, k, stride, pad = geometry
    rng = np.random.default_rng(sum(geometry[:5]))
    conv = paddle.nn.Conv2D(c, c, k, stride=stride, padding=pad, groups=c, bias_attr=False)
    x = paddle.to_tensor(rng.standard_normal((n, c, h, w)).astype("float32"), stop_gradient=False)
    assert dw.applies(x, conv)
    ref = conv(x)
    upstream = paddle.to_tensor(rng.standard_normal(ref.shape).astype("float32"))
    want = _grads(conv, x, conv.weight, upstream)
    got = _grads(lambda t: dw.depthwise_conv2d(t, conv), x, conv.weight, upstream)
    for name, a, b in zip(("out", "grad x", "grad weight"), want, got):
        assert a.shape == b.shape, name
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5, err_msg=name)
    again = _grads(lambda t: dw.depthwise_conv2d(t, conv), x, conv.weight, upstream)
    for a, b in zip(got, again):  # serial loops in a fixed order: the same bits
        assert np.array_equal(a, b)


def test_applies_only_where_it_computes_the_same():
    x = paddle.randn([1, 4, 6, 6])
    assert dw.applies(x, paddle.nn.Conv2D(4, 4, 3, padding=1, groups=4, bias_attr=False))
    assert not dw.applies(x, paddle.nn.Conv2D(4, 4, 3, padding=1, groups=4))  # bias
    assert not dw.applies(x, paddle.nn.Conv2D(4, 4, 3, padding=2, dilation=2, groups=4, bias_attr=False))
    assert not dw.applies(x, paddle.nn.Conv2D(4, 8, 3, padding=1, groups=4, bias_attr=False))  # multiplier 2
    assert not dw.applies(x, paddle.nn.Conv2D(4, 4, 3, padding=1, groups=2, bias_attr=False))
    assert not dw.applies(x, paddle.nn.Conv2D(4, 4, 3, padding="SAME", groups=4, bias_attr=False))
    assert not dw.applies(x, paddle.nn.Conv2D(4, 4, 3, padding=1, groups=4, bias_attr=False,
                                              padding_mode="reflect"))
    assert not dw.applies(x.astype("float64"), paddle.nn.Conv2D(4, 4, 3, padding=1, groups=4, bias_attr=False))


def _rec_model():
    paddle.seed(3)
    return build_model({"model_type": "rec", "algorithm": "CRNN", "Transform": None,
                        "Backbone": {"name": "MobileNetV3", "scale": 0.35, "model_name": "small",
                                     "small_stride": [2, 2, 2, 1]},
                        "Neck": {"name": "SequenceEncoder", "encoder_type": "reshape", "rows": 1},
                        "Head": {"name": "CTCHead", "out_channels": 12}})


def test_recogniser_trains_the_same_with_and_without_it(op, monkeypatch):
    """A MobileNetV3 recogniser's loss gradients through the fast op equal paddle's conv's."""
    model = _rec_model()
    assert sum(isinstance(m, paddle.nn.Conv2D) and dw.is_depthwise(m) for m in model.sublayers()) >= 8
    x = paddle.to_tensor(np.random.default_rng(0).standard_normal((2, 3, 32, 64)).astype("float32"))

    def run():
        model.clear_gradients()
        out = model(x)
        (out * out).sum().backward()
        return out.numpy(), {p.name: p.grad.numpy() for p in model.parameters() if p.grad is not None}

    fast_out, fast_grads = run()
    calls = []

    def never(x, conv):
        calls.append(conv)
        return False

    monkeypatch.setattr(dw, "applies", never)  # every depthwise conv through paddle's kernel
    slow_out, slow_grads = run()
    assert calls, "the backbone did not route its depthwise convs through ppexp.modeling.depthwise"
    np.testing.assert_allclose(fast_out, slow_out, rtol=1e-4, atol=1e-5)
    assert fast_grads.keys() == slow_grads.keys()
    # all gradients as one vector: float summation order differs, and BatchNorm's bias gradients are sums
    # that cancel to ~0 (pure rounding noise on their own)
    a = np.concatenate([fast_grads[k].ravel() for k in sorted(fast_grads)])
    b = np.concatenate([slow_grads[k].ravel() for k in sorted(slow_grads)])
    assert np.abs(a - b).max() <= 1e-3 * np.abs(b).max()
    assert float(a @ b) >= (1 - 1e-6) * float(np.linalg.norm(a) * np.linalg.norm(b))


@pytest.mark.parametrize("full_graph", [True, False], ids=["ast", "sot"])
def test_exported_program_holds_only_paddles_ops(op, full_graph):
    """to_static (what export runs; AST or SOT tracing) traces paddle's conv: PaddleOCR / PaddleX load the
    program unedited, and it computes what the eager model computes."""
    model = _rec_model()
    model.eval()
    x = paddle.randn([2, 3, 32, 64])
    eager = model(x).numpy()
    static = paddle.jit.to_static(model, input_spec=[paddle.static.InputSpec([None, 3, 32, -1], "float32")],
                                  full_graph=full_graph)
    np.testing.assert_allclose(static(x).numpy(), eager, rtol=1e-4, atol=1e-5)
    program = static.forward.concrete_program.main_program if full_graph else None
    if program is not None:
        types = {op_.name() if hasattr(op_, "name") and callable(op_.name) else op_.type
                 for op_ in program.global_block().ops}
        assert not any("ppexp" in t for t in types), sorted(types)
        assert any("depthwise" in t or "conv2d" in t for t in types), sorted(types)


def test_a_failed_build_falls_back_with_one_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(dw.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(dw, "_state", {"op": None, "tried": False, "reason": None})

    def no_compiler(build_dir, name):
        raise RuntimeError("command 'c++' failed: No such file or directory")

    monkeypatch.setattr(dw, "_build", no_compiler)
    conv = paddle.nn.Conv2D(4, 4, 3, padding=1, groups=4, bias_attr=False)
    x = paddle.randn([1, 4, 6, 6])
    with caplog.at_level(logging.WARNING, logger="ppexp.modeling.depthwise"):
        out = dw.depthwise_conv2d(x, conv)
        dw.depthwise_conv2d(x, conv)
    np.testing.assert_array_equal(out.numpy(), conv(x).numpy())
    warnings_ = [r for r in caplog.records if "could not be built" in r.getMessage()]
    assert len(warnings_) == 1 and "No such file" in warnings_[0].getMessage()
    assert "c++" in dw.reason()


def test_switch_turns_it_off(monkeypatch):
    monkeypatch.setenv(dw.SWITCH, "0")
    monkeypatch.setattr(dw, "_state", {"op": None, "tried": False, "reason": None})
    assert dw.load_op() is None and dw.reason() == f"{dw.SWITCH}=0"


def test_doctor_says_which_kernel_runs(tmp_path, monkeypatch):
    from ppexp.experiments.reset.doctor import OK, check_depthwise

    monkeypatch.setattr(dw, "_state", {"op": None, "tried": False, "reason": None})
    monkeypatch.setenv(dw.CACHE_ENV, str(tmp_path / "empty"))
    check = check_depthwise()  # nothing built in that cache: doctor does not build, it says when it happens
    assert check.status == OK and "first training" in check.message
    assert dw._state["tried"] is False  # a later training in this process still builds it
    monkeypatch.setenv(dw.SWITCH, "0")
    assert "PPEXP_FAST_DEPTHWISE=0" in check_depthwise().message


def test_only_training_builds_the_op_for_env_json(tmp_path, monkeypatch):
    """doctor and reset record the environment without a compile; a training's env.json builds (and names) it."""
    from ppexp.engine.env_info import collect_env, compare_env

    built = []
    monkeypatch.setattr(dw, "_state", {"op": None, "tried": False, "reason": None})
    monkeypatch.setenv(dw.CACHE_ENV, str(tmp_path / "empty"))
    monkeypatch.setattr(dw, "_build", lambda build_dir, name: built.append(name) or _FakeModule())
    config = {"Global": {"use_gpu": False}}
    for who in ("doctor", "reset"):
        assert collect_env(config, written_by=who)["kernels"] is None
    assert built == []
    trained = collect_env(config, written_by="train")
    assert built and trained["kernels"] == {"depthwise_conv": "ppexp"}
    unknown = dict(trained, kernels=None)
    assert not [d for d in compare_env(trained, unknown) if d[0] == "kernels"]  # not known: not a change


class _FakeModule:
    ppexp_depthwise_conv2d = staticmethod(lambda *args: None)


def test_a_strided_view_input_reads_its_own_values(op):
    """A transposed view (paddle 3 keeps it non-contiguous) is read by its logical layout, not its storage."""
    conv = paddle.nn.Conv2D(3, 3, 3, padding=1, groups=3, bias_attr=False)
    view = paddle.randn([2, 3, 6, 5]).transpose([0, 1, 3, 2])
    np.testing.assert_allclose(dw.depthwise_conv2d(view, conv).numpy(), conv(view).numpy(), rtol=1e-5, atol=1e-5)
