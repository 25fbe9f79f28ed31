"""`ppexp doctor`: the environment checks a user would otherwise do by hand.

Each check returns ``Check(name, status, message, fix)`` with status ok / warning /
error. Environment: python, paddle import and version, GPU/CUDA visibility, the
CPU thread setup (libiomp5 preload), libgomp, visualdl, Nanum fonts, free disk.
With a config (``doctor_config``): files, dictionary, eval interval vs total
steps, checkpoints pointer, pretrained weights, and env.json against the present.
"""
import ctypes
import ctypes.util
import os
import platform
import shutil
import sys
import warnings

from ppexp.config_defaults import save_model_dir
from ppexp.experiments.reset.checks import ERROR, OK, WARNING, Check, exit_code, format_checks  # noqa: F401
from ppexp.experiments.reset.doctor_config import check_env_json, config_checks, load_for_doctor

PADDLE_PIN = "paddlepaddle==3.3.1"
GIB = 1 << 30


def check_python():
    v = sys.version_info
    if v < (3, 8):
        return Check("python", ERROR, f"Python {platform.python_version()} is too old", "use Python 3.8 or newer")
    return Check("python", OK, f"{platform.python_version()} ({sys.executable})")


def check_paddle():
    try:
        with warnings.catch_warnings():       # paddle's import-time "No ccache found" is noise here
            warnings.simplefilter("ignore")
            import paddle
    except Exception as err:  # noqa: BLE001 - ImportError, OSError from a missing shared library, ...
        return Check("paddle", ERROR, f"import paddle failed: {type(err).__name__}: {err}",
                     f"pip install {PADDLE_PIN}  (if a .so is missing: sudo apt-get install libgomp1)")
    ver = getattr(paddle, "__version__", "?")
    build = "CUDA build" if paddle.device.is_compiled_with_cuda() else "CPU build"
    if not ver.split(".")[0].isdigit() or int(ver.split(".")[0]) < 3:
        return Check("paddle", WARNING, f"paddle {ver} ({build}); ppexp is tested with 3.3.1",
                     f"pip install {PADDLE_PIN}")
    return Check("paddle", OK, f"{ver} ({build})")


def check_gpu(config=None):
    use_gpu = bool(((config or {}).get("Global") or {}).get("use_gpu", False))
    try:
        import paddle
        cuda = paddle.device.is_compiled_with_cuda()
        count = paddle.device.cuda.device_count() if cuda else 0
    except Exception as err:  # noqa: BLE001
        return Check("gpu", WARNING, f"cannot query devices ({err})", "fix the paddle import first")
    if count:
        return Check("gpu", OK, f"{count} GPU(s) visible (CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')})")
    if use_gpu:
        why = "this paddle is a CPU build" if not cuda else \
            f"no GPU visible (CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r})"
        return Check("gpu", WARNING, f"Global.use_gpu is True but {why}: training runs on CPU",
                     "set Global.use_gpu: False (or install paddlepaddle-gpu on a machine with a GPU)")
    return Check("gpu", OK, "no GPU (CPU build); training runs on the CPU" if not cuda else "CUDA build, no GPU visible")


def check_threads(config=None):
    from ppexp.engine.cpu_setup import (available_cores, current_plan, iomp_library, mkl_path_note,
                                        plan_cpu_parallel)

    g = (config or {}).get("Global") or {}
    batch = (((config or {}).get("Train") or {}).get("loader") or {}).get("batch_size_per_card")
    try:
        plan = plan_cpu_parallel(g.get("cpu_threads"), g.get("data_parallel", "auto"), batch,
                                 model_type=((config or {}).get("Architecture") or {}).get("model_type"))
    except ValueError as err:
        return Check("cpu threads", ERROR, str(err), "set Global.cpu_threads to a positive int or 'auto'")
    lib = iomp_library()
    what = (f"{plan['world_size']} worker(s) x {plan['threads_per_worker']} thread(s) on "
            f"{available_cores()} core(s)")
    if plan["preload_iomp"] and not lib:
        return Check("cpu threads", WARNING, f"plan {what}, but paddle's libiomp5.so was not found: two OpenMP "
                     "runtimes (gcc's libgomp and MKL's iomp) will spin against each other",
                     "reinstall paddle, or use one thread per worker (Global.cpu_threads / data_parallel)")
    active = current_plan()
    omp = os.environ.get("OMP_NUM_THREADS")
    preload = os.environ.get("LD_PRELOAD", "")
    if not active and omp and omp.isdigit() and int(omp) > 1 and "libiomp5" not in preload:
        return Check("cpu threads", WARNING, f"this shell sets OMP_NUM_THREADS={omp} without libiomp5 in LD_PRELOAD: "
                     "training started outside ppexp's runtime setup runs two OpenMP runtimes (much slower)",
                     f"unset OMP_NUM_THREADS and let `ppexp train` set threads, or export LD_PRELOAD={lib}")
    if not plan["preload_iomp"]:
        tail = "1 thread per worker: no libiomp5 preload needed"
    elif "libiomp5" in preload:
        tail = f"libiomp5 preloaded in this process ({lib})"
    else:
        tail = f"libiomp5 found for the preload ({lib})"
    mkl = mkl_path_note()
    return Check("cpu threads", OK,
                 f"CPU plan {what}{' (active)' if active else ''}; {tail}" + (f"; {mkl}" if mkl else ""))


def check_depthwise():
    """ppexp's CPU depthwise conv (ppexp/modeling/depthwise.py): built, buildable, or off."""
    import shutil

    from ppexp.modeling import depthwise

    if not depthwise.enabled():
        return Check("depthwise conv", OK, f"{depthwise.SWITCH}=0: paddle's kernel (about half the MobileNetV3 "
                     "training speed on CPU)")
    if depthwise.load_op(build=False) is not None:
        return Check("depthwise conv", OK, f"ppexp's CPU kernel, built in {depthwise.cache_dir()}")
    if depthwise.reason() == depthwise.NOT_BUILT and (shutil.which("c++") or shutil.which("g++")):
        return Check("depthwise conv", OK, "ppexp's CPU kernel is built by the first training (~1 min once)",
                     "python -m ppexp.modeling.depthwise builds it now")
    return Check("depthwise conv", WARNING, f"ppexp's CPU kernel cannot be built ({depthwise.reason()}): "
                 "MobileNetV3 training on CPU runs at about half speed", "sudo apt-get install g++")


def check_libgomp():
    name = ctypes.util.find_library("gomp")
    for candidate in ([name] if name else []) + ["libgomp.so.1"]:
        try:
            ctypes.CDLL(candidate)
            return Check("libgomp", OK, f"{candidate} loads")
        except OSError:
            continue
    return Check("libgomp", ERROR, "libgomp (GNU OpenMP runtime) not found; paddle's CPU kernels need it",
                 "sudo apt-get install libgomp1")


def check_visualdl(config=None):
    wanted = bool(((config or {}).get("Global") or {}).get("use_visualdl", False))
    try:
        import visualdl
    except Exception as err:  # noqa: BLE001
        status = ERROR if wanted else WARNING
        why = "Global.use_visualdl is True: training would fail" if wanted else "curves cannot be logged"
        return Check("visualdl", status, f"import visualdl failed ({err}); {why}",
                     "pip install visualdl  (or set Global.use_visualdl: False)")
    return Check("visualdl", OK, f"{getattr(visualdl, '__version__', '?')}")


def check_fonts():
    try:
        from ppexp.experiments.synth.fonts import INSTALL_HINT, FontNotFoundError, find_font_files
    except Exception as err:  # noqa: BLE001
        return Check("fonts", WARNING, f"plate synthesis unavailable ({err})", "pip install pillow opencv-python")
    try:
        fonts = find_font_files()
    except FontNotFoundError:
        return Check("fonts", WARNING, "no Korean Nanum font found: `ppexp synth-plates` cannot render plates",
                     INSTALL_HINT)
    return Check("fonts", OK, f"{len(fonts)} Nanum font(s) for plate synthesis, e.g. {fonts[0][0]}")


def check_disk(config=None):
    path = os.path.abspath(save_model_dir(config))
    probe = path
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    free = shutil.disk_usage(probe).free
    msg = f"{free / GIB:.1f} GiB free at {probe}"
    if free < GIB:
        return Check("disk", ERROR, msg + ": checkpoints and logs will fail to save",
                     "free disk space or point Global.save_model_dir at a larger disk")
    if free < 5 * GIB:
        return Check("disk", WARNING, msg + " (each epoch checkpoint of a large model can take 100s of MB)",
                     "free disk space or raise Global.save_epoch_step")
    return Check("disk", OK, msg)


def environment_checks(config=None):
    return [check_python(), check_paddle(), check_gpu(config), check_threads(config), check_depthwise(),
            check_libgomp(), check_visualdl(config), check_fonts(), check_disk(config)]


def run_doctor(config_path=None, overrides=None, env_path=None):
    """All checks; with ``config_path`` the config checks too. Returns [Check]."""
    config, checks = None, []
    if config_path:
        config, checks = load_for_doctor(config_path, overrides)
    out = environment_checks(config) + checks
    if config is not None:
        out += config_checks(config, env_path)
    elif env_path:
        out.append(check_env_json(None, env_path))
    return out
