"""Restricted unpickling for checkpoints that may come from strangers.

``.pdparams`` / ``.pdopt`` (written by paddle.save) and ``.states`` (pickle
protocol 2) only ever need plain containers, numbers, strings and numpy
arrays. Anything else (os.system, builtins.eval, ...) is refused before it runs.
"""
import io
import pickle

_ALLOWED = {
    ("collections", "OrderedDict"),
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"),
    ("builtins", "slice"), ("builtins", "bytearray"), ("builtins", "range"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
}


class UnsafeCheckpointError(pickle.UnpicklingError):
    """The file asks to run something other than plain data construction."""


class _RestrictedUnpickler(pickle.Unpickler):
    source = "<bytes>"

    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise UnsafeCheckpointError(
            f"{self.source}: refusing to load '{module}.{name}' from a checkpoint; only plain data "
            "(dicts, lists, numbers, strings, numpy arrays) is allowed. The file may be malicious or "
            "not a PaddleOCR checkpoint."
        )


def safe_loads(data, source="<bytes>"):
    unpickler = _RestrictedUnpickler(io.BytesIO(data), encoding="latin1")
    unpickler.source = source
    return unpickler.load()


def safe_load(path):
    """Load a .pdparams / .pdopt / .states file without executing code."""
    with open(path, "rb") as f:
        data = f.read()
    return safe_loads(data, path)
