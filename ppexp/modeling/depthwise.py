"""A faster CPU depthwise convolution for training in dynamic mode (MobileNetV3's 3x3 / 5x5 per-channel convs).

Paddle 3.3's CPU kernel for a depthwise conv runs at about 1 GMAC/s (measured here: a 5x5 conv on
[16, 288, 4, 96] takes ~40 ms forward and ~95 ms backward on one core); in a plate recogniser's training step
(MobileNetV3 small 0.5, 64x192) it is ~65% of the time. ``csrc/depthwise_conv2d.cc`` does the same sums as
vectorised row loops (docs/cpu.md has the figures) and is built once per machine with the C++ compiler that
paddle's custom-op support uses (``paddle.utils.cpp_extension``), cached under ``~/.cache/ppexp/ops`` (or
``$PPEXP_OPS_CACHE``), keyed by the source, paddle's version, the compiler flags and the CPU's features.

Used only where it computes what ``nn.Conv2D`` computes: dynamic mode, CPU, float32, no autocast, groups ==
in == out channels, no bias, dilation 1, zero padding symmetric per axis, NCHW. Everything else (export,
``to_static``, GPU, AMP) runs paddle's conv unchanged, and the parameters are the layer's own, so state_dicts,
optimizer state and exported models are the same. Outputs equal paddle's up to float summation order.

``PPEXP_FAST_DEPTHWISE=0`` turns it off. Without a compiler the build fails once, ppexp says so (one warning
naming the reason) and runs paddle's kernel.
"""
import contextlib
import fcntl
import hashlib
import logging
import os
import sys
import time
import warnings
from pathlib import Path

import paddle

from ppexp.utils.cpuinfo import cpuinfo_field

try:  # paddle 3: tracing by to_static (AST) or by SOT (bytecode), where in_dynamic_mode() still says True
    from paddle.base.dygraph.base import in_sot_simulation_mode, in_to_static_mode
except ImportError:  # pragma: no cover - other paddle layouts: rely on in_dynamic_mode alone
    def in_sot_simulation_mode():
        return False

    def in_to_static_mode():
        return False

log = logging.getLogger(__name__)

SWITCH = "PPEXP_FAST_DEPTHWISE"
CACHE_ENV = "PPEXP_OPS_CACHE"
SOURCE = Path(__file__).with_name("csrc") / "depthwise_conv2d.cc"
CFLAGS = ["-O3", "-march=native", "-fopenmp-simd"]
OP_NAME = "ppexp_depthwise_conv2d"
NOT_BUILT = "not built yet"  # reason() after load_op(build=False) found no build in the cache

_state = {"op": None, "tried": False, "reason": None}


def enabled():
    return os.environ.get(SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


def build_key():
    """What the cached build depends on: source, paddle, python, compiler flags, CPU features."""
    h = hashlib.sha256(SOURCE.read_bytes())
    for part in (paddle.__version__, sys.version, " ".join(CFLAGS), cpuinfo_field("flags") or ""):
        h.update(b"\0" + part.encode())
    return h.hexdigest()[:16]


def cache_dir():
    root = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "ppexp", "ops")
    return Path(root) / f"depthwise-{build_key()}"


@contextlib.contextmanager
def _quiet():
    """paddle's extension builder logs INFO lines and a ccache warning on every load."""
    logger = logging.getLogger("utils.cpp_extension")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _load_built(build_dir, name):
    from paddle.utils.cpp_extension import extension_utils
    return extension_utils._import_module_from_library(name, str(build_dir / name), False)


def _build(build_dir, name):
    from paddle.utils.cpp_extension import load
    return load(name=name, sources=[str(SOURCE)], extra_cxx_cflags=list(CFLAGS), build_directory=str(build_dir),
                verbose=False)


def load_op(build=True):
    """The compiled op's python module, or None (then ``reason()`` says why). Built on first use, under a file
    lock (several training workers may start at once), reused from the cache afterwards."""
    if _state["tried"]:
        return _state["op"]
    _state["tried"] = True
    if not enabled():
        _state["reason"] = f"{SWITCH}=0"
        return None
    try:
        build_dir = cache_dir()
        build_dir.mkdir(parents=True, exist_ok=True)
        name = "ppexp_depthwise_ops"
        done = build_dir / "built.ok"
        with open(build_dir / ".lock", "w") as lock, _quiet():
            fcntl.flock(lock, fcntl.LOCK_EX)
            module = None
            if done.exists():
                try:
                    module = _load_built(build_dir, name)
                except Exception:  # a cache from an older layout: rebuild below
                    module = None
            if module is None:
                if not build:
                    _state.update(tried=False, reason=NOT_BUILT)
                    return None
                start = time.time()
                module = _build(build_dir, name)
                done.write_text(f"built in {time.time() - start:.1f} s\n")
        _state["op"] = getattr(module, OP_NAME)
    except Exception as err:  # no compiler, no headers, ...: paddle's own kernel still works
        _state["reason"] = f"{type(err).__name__}: {str(err).strip().splitlines()[-1] if str(err).strip() else ''}"
        log.warning("ppexp: the fast depthwise conv could not be built (%s); training uses paddle's (slower) "
                    "kernel. Needs a C++ compiler (apt-get install g++); %s=0 silences this.",
                    _state["reason"], SWITCH)
        _state["op"] = None
    return _state["op"]


def reason():
    """Why ``load_op`` returned None (None when it did not)."""
    return _state["reason"]


def _explicit_padding(conv):
    """(ph, pw) for zero padding the same on both sides of each axis, else None."""
    if (getattr(conv, "_padding_mode", "zeros") != "zeros"
            or getattr(conv, "_padding_algorithm", "EXPLICIT") != "EXPLICIT"):
        return None
    pad = conv._updated_padding
    if isinstance(pad, int):
        return pad, pad
    pad = [int(p) for p in pad]
    if len(pad) == 2:
        return pad[0], pad[1]
    if len(pad) == 4 and pad[0] == pad[1] and pad[2] == pad[3]:
        return pad[0], pad[2]
    return None


def is_depthwise(conv):
    """An ``nn.Conv2D`` with one filter per input channel (groups == in == out channels > 1)."""
    return conv._groups > 1 and conv._groups == conv._in_channels == conv._out_channels


def applies(x, conv):
    """Whether the fast op computes exactly what ``conv(x)`` computes here (see the module docstring)."""
    if in_sot_simulation_mode() or in_to_static_mode() or not paddle.in_dynamic_mode():
        return False  # being traced into a program (export, to_static): paddle's own conv op
    return (is_depthwise(conv) and conv.bias is None
            and conv._data_format == "NCHW" and list(conv._dilation) == [1, 1]
            and x.place.is_cpu_place() and x.dtype == paddle.float32 and conv.weight.dtype == paddle.float32
            and not paddle.amp.is_autocast_enabled() and _explicit_padding(conv) is not None)


def depthwise_conv2d(x, conv):
    """``conv(x)`` for a depthwise ``nn.Conv2D``, through the fast op where it applies."""
    if not applies(x, conv):
        return conv(x)
    op = load_op()
    if op is None:
        return conv(x)
    ph, pw = _explicit_padding(conv)
    sh, sw = (int(s) for s in conv._stride)
    return op(x, conv.weight, sh, sw, ph, pw)


def main():
    """``python -m ppexp.modeling.depthwise``: build (or find) the op and say which; used by scripts/setup.sh."""
    start = time.time()
    op = load_op()
    if op is None:
        print(f"[setup] fast depthwise conv: not available ({reason()}); paddle's kernel is used")
        return 0
    print(f"[setup] fast depthwise conv: ready ({time.time() - start:.1f} s, {cache_dir()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
