"""What in save_model_dir is a previous run's output (and why it matters), and ppexp's caches.

Only the top level of save_model_dir is scanned, and only what ppexp recorded as
written (``.ppexp-written.json``: each file's size and sha256, see
``ppexp.engine.written``) and still holds those bytes is taken: checkpoints,
``train.log``, ``vdl/``, ``config.yml``, ``best_model/``, ``env.json``, inference
exports, prediction results. Anything else, whatever its name, is listed as left alone.

Caches: a directory is one of ppexp's caches when it holds a ``.ppexp-cache.json``
marker (written by ``write_cache_marker``) naming the label files it was built
from and the files it made; reset removes exactly those files.
"""
import json
import os
import re
from dataclasses import dataclass

from ppexp.engine.run_lock import LOCK_NAME
from ppexp.engine.written import RECORD, read_record, written_by_ppexp

CACHE_MARKER = ".ppexp-cache.json"
CKPT_EXTS = (".pdparams", ".pdopt", ".states")
_TMP = re.compile(r"^(?P<name>.+\.(pdparams|pdopt|states))\.tmp\d+$")
INFERENCE_FILES = ("inference.pdiparams", "inference.json", "inference.pdmodel", "inference.yml")
REASONS = {
    "config.yml": "the previous run's merged config (a new run overwrites it; keep it with its run)",
    "env.json": "the previous run's environment record",
    "vdl": "VisualDL records: VisualDL shows only the newest file of a folder, old runs shadow or mix with new curves",
    "best_model": "copy of the previous run's best checkpoint",
}


@dataclass
class Output:
    path: str
    reason: str
    group: str          # checkpoint / log / vdl / config / env / inference / predictions / other output
    keep: bool = False  # --keep-best keeps it in place


def _checkpoint_reason(name):
    prefix = name
    for ext in CKPT_EXTS:
        if name.endswith(ext):
            prefix = name[: -len(ext)]
    what = {"latest": "what Global.checkpoints resumes (old optimizer state, LR schedule position, epoch)",
            "best_accuracy": "best checkpoint of the previous run"}.get(prefix)
    if what is None and prefix.startswith("iter_epoch_"):
        what = f"epoch {prefix[len('iter_epoch_'):]} checkpoint of the previous run"
    return prefix, f"checkpoint '{prefix}': {what or 'checkpoint of the previous run'}"


def _is_inference_dir(path):
    return os.path.isdir(path) and not os.path.islink(path) and any(
        os.path.isfile(os.path.join(path, f)) for f in INFERENCE_FILES)


def _named_child(save_dir, value):
    """The top-level entry of save_dir that ``value`` (a path) lies in, or None."""
    if not value or not isinstance(value, str):
        return None
    p = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(value))), os.path.basename(os.path.abspath(value)))
    rel = os.path.relpath(p, save_dir)
    if rel.startswith("..") or rel == ".":
        return None
    return rel.split(os.sep)[0]


def classify(name, path, glob, save_dir):
    """(group, reason) for a top-level entry, or None when it is not a ppexp output."""
    if name in ("config.yml", "env.json", "vdl", "best_model"):
        return {"config.yml": "config", "env.json": "env", "vdl": "vdl", "best_model": "checkpoint"}[name], REASONS[name]
    if name.endswith(".log"):
        return "log", "training log: a new run appends to it, mixing two runs in one file"
    if name.endswith(CKPT_EXTS):
        return "checkpoint", _checkpoint_reason(name)[1]
    if _TMP.match(name):
        return "checkpoint", "interrupted checkpoint write (temporary file)"
    if name in INFERENCE_FILES or name == _named_child(save_dir, glob.get("save_inference_dir")) \
            or _is_inference_dir(path):
        return "inference", "inference export of the previous run's weights"
    if name == _named_child(save_dir, glob.get("save_res_path")):
        return "predictions", "prediction results of the previous run"
    return None


def is_best(name):
    return name == "best_model" or any(name == "best_accuracy" + e for e in CKPT_EXTS)


def scan_outputs(save_dir, glob, keep_best=False):
    """(outputs, left_alone) for the top level of ``save_dir`` (real path)."""
    outputs, left = [], []
    if not os.path.isdir(save_dir):
        return outputs, left
    record = read_record(save_dir)
    for name in sorted(os.listdir(save_dir)):
        path = os.path.join(save_dir, name)
        if name in (RECORD, LOCK_NAME) or os.path.isfile(os.path.join(path, CACHE_MARKER)):
            continue                            # ppexp's bookkeeping (kept), caches (see find_caches)
        kind = classify(name, path, glob, save_dir)
        if not written_by_ppexp(save_dir, path, record):
            why = "not written by ppexp" if kind is None else \
                f"named like a ppexp output, but not recorded in {RECORD} as written by ppexp (or changed since)"
            left.append((path, why))
            continue
        kind = kind or ("other output", "written by ppexp")
        outputs.append(Output(path, kind[1], kind[0], keep=keep_best and is_best(name)))
    return outputs, left


# ---------------------------------------------------------------- caches
def write_cache_marker(cache_dir, kind, sources, files):
    """Mark ``cache_dir`` as made by ppexp from ``sources`` (label files); ``files`` relative to it."""
    os.makedirs(cache_dir, exist_ok=True)
    data = {"kind": kind, "sources": [os.path.realpath(s) for s in sources], "files": sorted(files)}
    with open(os.path.join(cache_dir, CACHE_MARKER), "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, ensure_ascii=False)


def find_caches(save_dir, label_files, max_depth=3):
    """[(cache_dir, marker dict)] under save_dir (links not followed) built from one of ``label_files``."""
    found = []
    wanted = {os.path.realpath(f) for f in label_files}
    if not os.path.isdir(save_dir):
        return found
    base = save_dir.rstrip(os.sep).count(os.sep)
    for root, dirs, files in os.walk(save_dir, followlinks=False):
        if root.count(os.sep) - base >= max_depth:
            dirs[:] = []
        if CACHE_MARKER not in files:
            continue
        try:
            with open(os.path.join(root, CACHE_MARKER), encoding="utf-8") as f:
                marker = json.load(f)
        except (OSError, ValueError):
            continue
        if isinstance(marker, dict) and wanted & set(marker.get("sources") or []):
            found.append((root, marker))
        dirs[:] = []
    return found
