"""What ppexp itself wrote in a save_model_dir: ``<save_model_dir>/.ppexp-written.json``.

Each file ppexp writes there (checkpoints, config.yml, env.json, train.log, VisualDL
records, exports) is recorded with its size and sha256 when written. ``ppexp reset``
acts only on files that still hold exactly the recorded bytes (a ``.log`` may have
grown since: it must start with them), so a user's own file, or one edited after ppexp wrote it, is
never moved or deleted, whatever its name.
"""
import hashlib
import json
import os

from ppexp.config_defaults import save_model_dir

RECORD = ".ppexp-written.json"


def _digest(path, size):
    """sha256 of the first ``size`` bytes of ``path``."""
    digest, left = hashlib.sha256(), size
    with open(path, "rb") as f:
        while left > 0:
            block = f.read(min(left, 1 << 20))
            if not block:
                break
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


def read_record(save_dir):
    """{relative path: {'size', 'sha256'}} ({} when there is no readable record)."""
    try:
        with open(os.path.join(save_dir, RECORD), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else {}


def record_written(save_dir, paths):
    """Record the current size and sha256 of ``paths`` (files under ``save_dir``; others are ignored)."""
    files = read_record(save_dir)
    root = os.path.realpath(save_dir)
    for path in paths:
        real = os.path.realpath(path)
        if os.path.islink(path) or not os.path.isfile(real) or not real.startswith(root + os.sep):
            continue
        size = os.path.getsize(real)
        files[os.path.relpath(real, root)] = {"size": size, "sha256": _digest(real, size)}
    tmp = os.path.join(save_dir, RECORD + f".tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"version": 1, "files": files}, f, indent=0, sort_keys=True)
    os.replace(tmp, os.path.join(save_dir, RECORD))


def written_by_ppexp(save_dir, path, record=None):
    """True when ``path`` (a file or a folder, under save_dir) holds only files ppexp recorded,
    each still starting with the recorded bytes; symlinks never count as ppexp's."""
    record = read_record(save_dir) if record is None else record
    if os.path.islink(path):
        return False
    if os.path.isdir(path):
        files = [os.path.join(d, n) for d, dirs, names in os.walk(path) for n in names + [x for x in dirs
                 if os.path.islink(os.path.join(d, x))]]
        return bool(files) and all(written_by_ppexp(save_dir, f, record) for f in files)
    entry = record.get(os.path.relpath(path, save_dir))
    if not isinstance(entry, dict) or not os.path.isfile(path):
        return False
    size, now = entry.get("size"), os.path.getsize(path)
    grown_log = path.endswith(".log") and isinstance(size, int) and now >= size   # logs only ever grow
    return (now == size or grown_log) and _digest(path, size) == entry.get("sha256")


def record_output(config, path):
    """Record ``path`` (a file or a folder an export/predict command wrote) when it lies in the
    config's save_model_dir."""
    save_dir = os.path.realpath(save_model_dir(config))
    real = os.path.realpath(path)
    if not real.startswith(save_dir + os.sep) or not os.path.isdir(save_dir):
        return
    files = [os.path.join(d, n) for d, _, names in os.walk(real) for n in names] if os.path.isdir(real) else [real]
    record_written(save_dir, files)
