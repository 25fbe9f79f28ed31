"""``<save_model_dir>/env.json``: what a run ran with, and how the present differs from it.

Records ppexp / paddle / python versions, the device, the CPU thread setup
(OMP/MKL/OpenBLAS threads, LD_PRELOAD of libiomp5, ppexp's CPU plan), a hash of
the config, hashes of the label files and the dictionary, and the git commit of
the working directory if any. ``write_env_json(config, save_dir)`` is meant to be
called by the trainer at the start of training; ``ppexp reset`` writes one too.
"""
import datetime
import hashlib
import json
import os
import platform
import subprocess
import warnings

from ppexp.config_defaults import dataset_files
from ppexp.engine.cpu_setup import ENV_PLAN, MKL_CPU_VAR, THREAD_VARS, available_cores, iomp_library

def dataset_paths(config):
    """(data_dirs, label_files) of Train and Eval as named in the config."""
    data_dirs, label_files = [], []
    for sf in dataset_files(config):
        data_dirs += [d for d in sf.data_dirs if d and isinstance(d, str)]
        label_files += [f for f in sf.label_files if f and isinstance(f, str)]
    return data_dirs, label_files


ENV_FILE = "env.json"
VOLATILE = ("created", "written_by")   # ignored when deciding whether two records differ
EXPLAIN = {
    "ppexp_version": "ppexp changed: defaults or fixes may differ from the run",
    "paddle_version": "PaddlePaddle changed: kernels and numerics can differ; resuming may not reproduce",
    "python": "Python changed",
    "device": "device changed (CPU/GPU): speed and, with AMP, numerics differ",
    "threads": "thread/MKL setup changed: speed differs (threads >1 without libiomp5 preloaded can be much "
               "slower; MKL_DEBUG_CPU_TYPE picks MKL's code path, which also moves float rounding)",
    "config_sha256": "the config differs from the one the run used (compare with `ppexp diff`)",
    "label_files": "a label file changed since the run: it trained on other labels",
    "dictionary": "the dictionary changed since the run: class ids no longer match its checkpoints",
    "git": "the code (git commit) changed since the run",
    "cores": "the number of usable CPU cores changed",
    "kernels": "the depthwise conv kernel changed (ppexp's CPU op vs paddle's, ppexp/modeling/depthwise.py): "
               "speed and float rounding differ",
}


def sha256_file(path, chunk=1 << 20):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def config_hash(config):
    blob = json.dumps(config, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def _file_record(path):
    if not path:
        return None
    if not os.path.isfile(path):
        return {"path": path, "missing": True}
    return {"path": path, "sha256": sha256_file(path), "bytes": os.path.getsize(path)}


def _paddle_info():
    try:
        from importlib.metadata import version
        ver = version("paddlepaddle")
    except Exception:  # noqa: BLE001 - any packaging problem means "unknown"
        ver = None
    info = {"paddle_version": ver}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import paddle

        info["cuda_compiled"] = bool(paddle.device.is_compiled_with_cuda())
        info["gpu_count"] = int(paddle.device.cuda.device_count()) if info["cuda_compiled"] else 0
    except Exception:  # noqa: BLE001 - a broken paddle is doctor's business; record what is known
        info["cuda_compiled"] = None
    return info


def git_commit(cwd=None):
    """HEAD of the git work tree at ``cwd`` (with '+dirty' when it has changes), or None."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
        if head.returncode:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def thread_setup(environ=None):
    env = os.environ if environ is None else environ
    lib = iomp_library()
    preload = env.get("LD_PRELOAD", "")
    return {**{v: env.get(v) for v in (*THREAD_VARS, MKL_CPU_VAR)}, "LD_PRELOAD": preload or None,
            "libiomp5_preloaded": bool(lib and lib in preload) or "libiomp5" in preload,
            "cpu_plan": json.loads(env[ENV_PLAN]) if env.get(ENV_PLAN) else None}


def kernel_setup(config, build=True):
    """Which depthwise conv kernel training uses here: 'ppexp' or 'paddle (<why>)'. With ``build`` False (doctor,
    reset: commands that must not spend a compile) None when the op is not built yet: training decides then."""
    if (config.get("Global") or {}).get("use_gpu"):
        return {"depthwise_conv": "paddle (GPU run)"}
    from ppexp.modeling import depthwise

    if depthwise.load_op(build=build) is not None:
        return {"depthwise_conv": "ppexp"}
    return None if depthwise.reason() == depthwise.NOT_BUILT else {"depthwise_conv": f"paddle ({depthwise.reason()})"}


def collect_env(config, written_by="train"):
    """The env.json record for ``config`` (a dict) as of now."""
    import ppexp

    g = config.get("Global") or {}
    _, label_files = dataset_paths(config)
    paddle = _paddle_info()
    return {
        "written_by": written_by,
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "ppexp_version": getattr(ppexp, "__version__", None),
        "paddle_version": paddle.pop("paddle_version"),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "device": {"use_gpu": bool(g.get("use_gpu", False)), **paddle},
        "cores": available_cores(),
        "threads": thread_setup(),
        "kernels": kernel_setup(config, build=written_by == "train"),
        "config_sha256": config_hash(config),
        "label_files": [_file_record(f) for f in dict.fromkeys(label_files)],
        "dictionary": _file_record(g.get("character_dict_path")),
        "git": git_commit(),
    }


def env_json_bytes(record):
    return (json.dumps(record, indent=1, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


def write_env_json(config, save_dir, written_by="train"):
    """Write ``<save_dir>/env.json`` (rank 0 only, please); returns its path."""
    os.makedirs(save_dir, exist_ok=True)
    path = os.path.join(save_dir, ENV_FILE)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(env_json_bytes(collect_env(config, written_by)))
    os.replace(tmp, path)
    return path


def read_env_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def same_env(a, b):
    """True when two records differ only in VOLATILE keys."""
    strip = lambda r: {k: v for k, v in r.items() if k not in VOLATILE}  # noqa: E731
    return strip(a) == strip(b)


def _device_summary(dev):
    dev = dev or {}
    gpu = dev.get("use_gpu") and dev.get("gpu_count")
    return "gpu" if gpu else "cpu"


def compare_env(old, new):
    """[(key, old value, new value, explanation)] for the differences that matter."""
    diffs = []
    for key in ("ppexp_version", "paddle_version", "python", "cores", "config_sha256", "git"):
        if old.get(key) != new.get(key):
            diffs.append((key, old.get(key), new.get(key), EXPLAIN[key]))
    if _device_summary(old.get("device")) != _device_summary(new.get("device")):
        diffs.append(("device", old.get("device"), new.get("device"), EXPLAIN["device"]))
    keys = [*THREAD_VARS, MKL_CPU_VAR, "libiomp5_preloaded"]
    ot, nt = old.get("threads") or {}, new.get("threads") or {}
    changed = {k: (ot.get(k), nt.get(k)) for k in keys if ot.get(k) != nt.get(k)}
    if changed:
        diffs.append(("threads", {k: v[0] for k, v in changed.items()}, {k: v[1] for k, v in changed.items()},
                      EXPLAIN["threads"]))
    ok, nk = old.get("kernels"), new.get("kernels")  # None: not recorded (before stop 27) or not yet known
    if ok and nk and ok != nk:
        diffs.append(("kernels", ok, nk, EXPLAIN["kernels"]))
    old_labels = {r["path"]: r.get("sha256") for r in old.get("label_files") or [] if r}
    for rec in new.get("label_files") or []:
        if rec and rec["path"] in old_labels and old_labels[rec["path"]] != rec.get("sha256"):
            diffs.append(("label_files", rec["path"], "changed", EXPLAIN["label_files"]))
    od, nd = old.get("dictionary") or {}, new.get("dictionary") or {}
    if od.get("sha256") != nd.get("sha256"):
        diffs.append(("dictionary", od.get("path"), nd.get("path"), EXPLAIN["dictionary"]))
    return diffs
