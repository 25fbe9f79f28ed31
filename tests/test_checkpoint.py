"""Checkpoints: upstream format, atomic sets, safe loading of untrusted files."""
import os
import pickle

import numpy as np
import paddle
import pytest

from ppexp.engine.checkpoint import load_checkpoint, load_params_into, save_checkpoint
from ppexp.engine.safe_pickle import UnsafeCheckpointError, safe_load


def _model():
    return paddle.nn.Sequential(paddle.nn.Linear(4, 3), paddle.nn.Linear(3, 2))


class _Payload:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_save_writes_upstream_readable_set(tmp_path):
    model = _model()
    opt = paddle.optimizer.Adam(parameters=model.parameters())
    save_checkpoint(str(tmp_path), "latest", model, opt, {"epoch": 3, "global_step": 30, "best_model_dict": {}})
    # paddle.load (what PaddleOCR uses) reads our files
    params = paddle.load(str(tmp_path / "latest.pdparams"))
    assert set(model.state_dict()) <= set(params)
    with open(tmp_path / "latest.states", "rb") as f:
        raw = f.read()
    assert raw[:2] == b"\x80\x02"  # pickle protocol 2, as upstream
    assert pickle.loads(raw)["global_step"] == 30


def test_resume_restores_optimizer_across_parameter_names(tmp_path):
    model = _model()
    opt = paddle.optimizer.Adam(parameters=model.parameters())
    model(paddle.ones([2, 4])).sum().backward()
    opt.step()
    save_checkpoint(str(tmp_path), "latest", model, opt, {"epoch": 1})
    other = _model()  # new parameter names (linear_2, ...) in this process
    opt2 = paddle.optimizer.Adam(parameters=other.parameters())
    states = load_checkpoint(str(tmp_path / "latest"), other, opt2)
    assert states["epoch"] == 1
    rename = {b.name: a.name for a, b in zip(model.parameters(), other.parameters())}
    restored = opt2.state_dict()
    moments = [k for k in restored if "moment1" in k]
    assert len(moments) == 4, "optimizer moments were not restored under the new parameter names"
    original = opt.state_dict()
    for key in moments:
        new_param = next(n for n in rename if key.startswith(n + "_"))
        old_key = rename[new_param] + key[len(new_param):]
        np.testing.assert_allclose(np.asarray(restored[key]), np.asarray(original[old_key]))


def test_pretrained_with_changed_head_skips_and_says_which(tmp_path):
    model = _model()
    save_checkpoint(str(tmp_path), "m", model, None, {})
    other = paddle.nn.Sequential(paddle.nn.Linear(4, 3), paddle.nn.Linear(3, 5))
    notes = load_params_into(other, str(tmp_path / "m.pdparams"))
    assert any("1.weight" in n and "shape" in n for n in notes)
    np.testing.assert_array_equal(other[0].weight.numpy(), model[0].weight.numpy())


@pytest.mark.parametrize("ext", [".pdparams", ".pdopt", ".states"])
def test_malicious_pickle_is_refused(tmp_path, ext):
    marker = tmp_path / "pwned"
    path = tmp_path / f"evil{ext}"
    with open(path, "wb") as f:
        pickle.dump({"w": _Payload(marker)}, f, protocol=2)
    with pytest.raises(UnsafeCheckpointError, match="posix.system|os.system"):
        safe_load(str(path))
    assert not marker.exists()


def test_malicious_checkpoint_refused_on_resume(tmp_path):
    model = _model()
    save_checkpoint(str(tmp_path), "latest", model, None, {})
    marker = tmp_path / "pwned"
    with open(tmp_path / "latest.states", "wb") as f:
        pickle.dump({"epoch": _Payload(marker)}, f, protocol=2)
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint(str(tmp_path / "latest"), _model(), None)
    assert not marker.exists()


def test_paddle_saved_files_load_safely(tmp_path):
    model = _model()
    paddle.save(model.state_dict(), str(tmp_path / "p.pdparams"))
    loaded = safe_load(str(tmp_path / "p.pdparams"))
    np.testing.assert_array_equal(loaded["0.weight"], model[0].weight.numpy())
