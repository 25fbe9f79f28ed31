"""Restricted, bounded unpickling for checkpoints that may come from strangers.

``.pdparams`` / ``.pdopt`` (written by paddle.save) and ``.states`` (pickle
protocol 2) only ever need plain containers, numbers, strings and numpy
arrays. Anything else (os.system, builtins.eval, ...) is refused before it runs.

Bounded: a constructor that allocates from a size argument (``bytearray(n)``,
``range(n)``, ``numpy.ndarray(shape)``) may allocate no more in total than the
file's own size; object arrays (numpy crashes on malformed ones) are refused.
A file that is empty, truncated or not a pickle raises ``CheckpointError``
naming it.
"""
import io
import pickle
import struct
from _compat_pickle import IMPORT_MAPPING, NAME_MAPPING

import numpy as np

from ppexp.errors import UserError

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
_LATIN1 = {"latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1"}
# What a broken file raises while being unpickled (besides UnpicklingError).
_BROKEN = (EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError,
           UnicodeDecodeError, MemoryError, RecursionError, struct.error)


class CheckpointError(UserError, pickle.UnpicklingError):
    """A checkpoint file is unreadable or not plain data; the message names the file and the fix."""


class UnsafeCheckpointError(CheckpointError):
    """The file asks to run something other than plain data construction (or to allocate far more
    memory than it holds)."""


class _NdarrayToken:
    """Stands for ``numpy.ndarray`` in the pickle: ``_reconstruct`` gets the real class back,
    a direct call is charged to the budget."""


class _RestrictedUnpickler(pickle.Unpickler):
    source = "<bytes>"
    budget = 0

    def _refuse(self, what):
        raise UnsafeCheckpointError(
            f"{self.source}: refusing to load {what} from a checkpoint; only plain data (dicts, lists, numbers, "
            "strings, numpy arrays) is allowed. The file may be malicious or not a PaddleOCR checkpoint.")

    def _charge(self, nbytes, what):
        self.budget -= int(nbytes)
        if self.budget < 0:
            self._refuse(f"{what} ({int(nbytes):,} bytes, more than the whole file could hold)")

    def find_class(self, module, name):
        module, name = NAME_MAPPING.get((module, name), (IMPORT_MAPPING.get(module, module), name))  # py2 names
        if (module, name) not in _ALLOWED:
            self._refuse(f"'{module}.{name}'")
        if name == "ndarray":
            return _NdarrayToken
        real = super().find_class(module, name)
        guards = {"bytearray": self._bytearray, "range": self._range, "dtype": self._dtype,
                  "_reconstruct": self._reconstruct, "encode": self._encode}
        return (lambda *args: guards[name](real, *args)) if name in guards else real

    def _bytearray(self, real, *args):
        if args and isinstance(args[0], int):
            self._charge(args[0], f"bytearray({args[0]})")
        return real(*args)

    def _range(self, real, *args):
        out = real(*args)
        self._charge(len(out) * 8, f"range of {len(out):,} items")
        return out

    def _dtype(self, real, *args):
        out = real(*args)
        if out.hasobject:
            self._refuse(f"an object array dtype ({out})")
        return out

    def _reconstruct(self, real, subtype, shape, dtype):
        if subtype is not _NdarrayToken:
            self._refuse(f"an array of type {subtype!r}")
        count = int(np.prod(shape, dtype=np.float64)) if shape else 1
        self._charge(count * np.dtype(dtype).itemsize, f"an array of shape {shape}")
        return real(np.ndarray, shape, dtype)

    def _encode(self, real, obj, encoding="utf-8", *rest):
        if str(encoding).lower() not in _LATIN1 or rest:
            self._refuse(f"_codecs.encode with encoding {encoding!r}")
        return real(obj, encoding)


def safe_loads(data, source="<bytes>"):
    """Unpickle ``data`` (plain data only, bounded); CheckpointError names ``source`` when it is broken."""
    unpickler = _RestrictedUnpickler(io.BytesIO(data), encoding="latin1")
    unpickler.source, unpickler.budget = source, len(data)
    try:
        return unpickler.load()
    except CheckpointError:
        raise
    except (pickle.UnpicklingError, *_BROKEN) as err:
        what = "is empty" if not data else f"is truncated, corrupt or not a checkpoint ({type(err).__name__}: {err})"
        raise CheckpointError(f"{source} {what}; point the config at a complete checkpoint (e.g. the run's "
                              "latest or best_accuracy) or save it again") from err


def safe_load(path):
    """Load a .pdparams / .pdopt / .states file (a dict) without executing code."""
    with open(path, "rb") as f:
        data = f.read()
    obj = safe_loads(data, path)
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path} holds a {type(obj).__name__}, not a dict of named values; it is not a "
                              "PaddleOCR checkpoint: point the config at a .pdparams/.pdopt/.states file")
    return obj
