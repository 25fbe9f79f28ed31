"""Execute a reset plan into an archive, and ``--restore`` an archive.

The archive ``<save_model_dir>/../_archive/<run>-<timestamp>/`` holds ``outputs/``
(moved outputs, same layout as in save_model_dir), ``caches/``, ``backups/``
(the label files and config as they were) and ``manifest.json``, rewritten after
every step so that an interrupted reset is restorable too.

Restore undoes each entry only when doing so cannot lose data: a moved entry goes
back when its place is free (or holds identical bytes); a rewritten file gets its
backup back when it still holds exactly what reset wrote; a file reset created is
removed when unchanged. Anything else is a conflict: left as it is, kept in the
archive, and reported.

Restore trusts nothing in the manifest it can check elsewhere: its checksum
(``manifest.json.sha256``, written with it) must match; its config must still name
the same save_model_dir and label files; every ``archived``/``backup`` path must be
relative, without ``..``, inside the archive; every destination inside
save_model_dir (or one of the config's label files / the config itself), outside
any data_dir. One failed check refuses the whole restore before anything moves.
"""
import datetime
import errno
import hashlib
import json
import os
import shutil

from ppexp.engine.env_info import sha256_file
from ppexp.experiments.reset.safety import ARCHIVE_DIRNAME, Guard, SafetyError, inside, real_parent

MANIFEST = "manifest.json"
CHECKSUM = MANIFEST + ".sha256"


def _show(path):
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def _write_in_place(path, data):
    """Overwrite ``path`` keeping its inode and permissions (no temporary file next to it)."""
    with open(path, "r+b" if os.path.exists(path) else "wb") as f:
        f.write(data)
        f.truncate()
        f.flush()
        os.fsync(f.fileno())


def _move(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if os.path.lexists(dst):
        raise SafetyError(f"refusing to move {src} onto existing {dst}")
    try:
        os.rename(src, dst)
    except OSError as err:
        if err.errno != errno.EXDEV:
            raise
        shutil.move(src, dst)   # another file system: copy (links as links), then remove


class Manifest:
    def __init__(self, archive_dir, plan):
        self.dir = archive_dir
        self.data = {"version": 1, "created": datetime.datetime.now().isoformat(timespec="seconds"),
                     "config": os.path.abspath(plan.config_path), "train_config": plan.train_config,
                     "save_model_dir": plan.guard.save_dir, "label_files": plan.guard.label_files, "entries": []}

    def add(self, entry):
        self.data["entries"].append(entry)
        self.save()

    def save(self):
        save_manifest(self.dir, self.data)


def save_manifest(archive_dir, data):
    """manifest.json and its checksum beside it (restore refuses a manifest edited afterwards)."""
    raw = json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8")
    for name, content in ((CHECKSUM, (_sha(raw) + "\n").encode("ascii")), (MANIFEST, raw)):
        tmp = os.path.join(archive_dir, name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(content)
        os.replace(tmp, os.path.join(archive_dir, name))


# ---------------------------------------------------------------- execute
def _check(guard, action):
    if action.kind in ("archive", "delete"):
        if action.group == "caches":
            return guard.require(guard.cache_file_problem(action.path, os.path.dirname(action.path)),
                                 action.kind, action.path)
        return guard.require(guard.output_problem(action.path), action.kind, action.path)
    if action.role == "label":
        guard.require(guard.label_problem(action.path), "rewrite", action.path)
    guard.require(guard.write_problem(action.path), "write", action.path)


def _rewrite(action, manifest, n):
    with open(action.path, "rb") as f:
        old = f.read()
    backup = os.path.join("backups", f"{n:02d}_{os.path.basename(action.path)}")
    with open(os.path.join(manifest.dir, backup), "wb") as f:
        f.write(old)
    manifest.add({"op": "rewrite", "role": action.role or "file", "path": action.path, "backup": backup,
                  "old_sha256": _sha(old), "new_sha256": _sha(action.data)})
    _write_in_place(action.path, action.data)


def _create(action, manifest):
    os.makedirs(os.path.dirname(action.path), exist_ok=True)
    if manifest:
        manifest.add({"op": "create", "path": action.path, "sha256": _sha(action.data)})
    _write_in_place(action.path, action.data)


def _archive(action, manifest, save_dir):
    sub = "caches" if action.group == "caches" else "outputs"
    rel = os.path.join(sub, os.path.relpath(action.path, save_dir))
    manifest.add({"op": "move", "path": action.path, "archived": rel, "group": action.group})
    _move(action.path, os.path.join(manifest.dir, rel))


def _delete(action):
    if os.path.isdir(action.path) and not os.path.islink(action.path):
        shutil.rmtree(action.path)      # removes links inside, never what they point to
    else:
        os.unlink(action.path)


ORDER = {"labels": 0, "config": 1, "outputs": 2, "caches": 3, "env": 4}


def execute_plan(plan, log=None):
    """Carry out ``plan`` (re-checking every path first); returns the archive dir or None."""
    guard = plan.guard
    if plan.fatal:
        raise SafetyError("; ".join(plan.fatal))
    gone = {a.path for a in plan.actions if a.kind in ("archive", "delete")}
    for action in plan.actions:
        if not (action.kind == "write" and action.path in gone):   # checked once the old entry is gone
            _check(guard, action)
    manifest = None
    if plan.archive_dir:
        guard.require(guard.write_problem(plan.archive_dir), "create", plan.archive_dir)
        os.makedirs(os.path.join(plan.archive_dir, "backups"))
        manifest = Manifest(plan.archive_dir, plan)
        manifest.save()
    for n, action in enumerate(sorted(plan.actions, key=lambda a: ORDER[a.group]), 1):
        _check(guard, action)
        if action.kind == "rewrite" or (action.kind == "write" and os.path.lexists(action.path)):
            _rewrite(action, manifest, n)
        elif action.kind == "write":
            _create(action, manifest)
        elif action.kind == "archive":
            _archive(action, manifest, guard.save_dir)
        else:
            _delete(action)
            if manifest:
                manifest.add({"op": "delete", "path": action.path})
        if log:
            log(f"  done  {action.kind:8s}{_show(action.path)}")
    return plan.archive_dir


# ---------------------------------------------------------------- restore
def load_manifest(archive_dir):
    path = os.path.join(archive_dir, MANIFEST)
    if not os.path.isfile(path):
        raise SafetyError(f"{archive_dir} is not a reset archive (no {MANIFEST})")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        with open(os.path.join(archive_dir, CHECKSUM), encoding="ascii") as f:
            recorded = f.read().strip()
    except (OSError, ValueError):
        recorded = None
    if recorded != _sha(raw):
        raise SafetyError(f"{path} does not match its checksum in {CHECKSUM} (edited after the reset, or written "
                          "by an older ppexp); restore refuses it: move the files back by hand from the archive")
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError as err:
        raise SafetyError(f"{path} is not valid JSON ({err}); move the files back by hand from the archive") from err
    save_dir = data.get("save_model_dir") or ""
    archive_root = os.path.join(os.path.dirname(save_dir), ARCHIVE_DIRNAME)
    if not inside(os.path.realpath(archive_dir), archive_root):
        raise SafetyError(f"{archive_dir}: its manifest names save_model_dir {save_dir}, whose archives live in "
                          f"{archive_root}; refusing a moved or edited archive")
    return data


def _guard_of(data):
    """The Guard of the manifest's config, checked against what the manifest claims."""
    from ppexp.config import ConfigError, get_config
    from ppexp.experiments.reset.config_edit import reset_copy_path

    config_path = data.get("config") or ""
    try:
        config, _ = get_config(config_path)
    except ConfigError as err:
        raise SafetyError(f"cannot check the archive against its config ({err}); restore the config first") from err
    guard = Guard(config, config_path)
    if guard.save_dir != data.get("save_model_dir"):
        raise SafetyError(f"the manifest names save_model_dir {data.get('save_model_dir')} but its config "
                          f"{config_path} names {guard.save_dir}; refusing an edited manifest")
    if not set(data.get("label_files") or []) <= set(guard.label_files):
        raise SafetyError(f"the manifest lists label files its config {config_path} does not name; "
                          "refusing an edited manifest")
    if data.get("train_config") not in (os.path.abspath(config_path), os.path.abspath(reset_copy_path(config_path))):
        raise SafetyError(f"the manifest's train_config {data.get('train_config')} is neither the config nor its "
                          "reset copy; refusing an edited manifest")
    return guard


def _archive_path(archive_dir, rel, top):
    """``archive_dir/rel`` when ``rel`` is relative, without '..', under ``top``/ and inside the archive."""
    parts = rel.split("/") if isinstance(rel, str) else []
    if not parts or os.path.isabs(rel) or ".." in parts or parts[0] != top or len(parts) < 2:
        return None
    path = os.path.join(archive_dir, rel)
    return path if inside(real_parent(path), os.path.realpath(archive_dir)) else None


def _allowed(archive_dir, data, guard, entry):
    """Restore reads only from the archive and writes only where the reset itself may act."""
    op, path = entry.get("op"), entry.get("path")
    if not isinstance(path, str) or not os.path.isabs(path):
        return False
    real, save_dir = real_parent(path), guard.save_dir
    in_save = inside(real, save_dir) and real != save_dir and not guard.protected_reason(real)
    if op == "move":
        archived = entry.get("archived")
        top = archived.split("/")[0] if isinstance(archived, str) else ""
        return in_save and top in ("outputs", "caches") and _archive_path(archive_dir, archived, top) is not None
    if op == "rewrite":
        named = path in (data.get("label_files") or []) or path in (data.get("config"), data.get("train_config"))
        return (named or in_save) and _archive_path(archive_dir, entry.get("backup"), "backups") is not None
    if op == "create":
        return in_save or path == data.get("train_config")
    return op == "delete"


def _same(a, b):
    return os.path.isfile(a) and os.path.isfile(b) and not os.path.islink(a) and sha256_file(a) == sha256_file(b)


def _undo(archive_dir, entry, dry_run):
    """(done?, message) for one manifest entry."""
    op, path = entry["op"], entry["path"]
    if op == "delete":
        return True, f"deleted  {_show(path)} (--purge: not restorable)"
    if op == "create":
        if not os.path.lexists(path):
            return True, f"gone     {_show(path)}"
        if os.path.islink(path) or not os.path.isfile(path) or sha256_file(path) != entry["sha256"]:
            return False, f"conflict {_show(path)}: changed since the reset; left as it is"
        dry_run or os.unlink(path)
        return True, f"remove   {_show(path)} (created by the reset)"
    if op == "rewrite":
        src = os.path.join(archive_dir, entry["backup"])
        if os.path.islink(path) or not os.path.isfile(path) or sha256_file(path) != entry["new_sha256"]:
            return False, f"conflict {_show(path)}: changed since the reset; backup kept at {_show(src)}"
        if not dry_run:
            with open(src, "rb") as f:
                _write_in_place(path, f.read())
            os.unlink(src)
        return True, f"restore  {_show(path)}"
    src = os.path.join(archive_dir, entry["archived"])
    if not os.path.lexists(src):
        return False, f"missing  {_show(src)}"
    if os.path.lexists(path):
        if _same(src, path):
            dry_run or os.unlink(src)
            return True, f"same     {_show(path)} (identical file already there)"
        return False, f"conflict {_show(path)}: exists (a newer run?); the archived copy stays at {_show(src)}"
    dry_run or _move(src, path)
    return True, f"move     {_show(path)}"


def _prune(archive_dir):
    """Remove the archive's now empty folders and the manifest (never a file with data)."""
    for root, dirs, files in os.walk(archive_dir, topdown=False):
        for d in dirs:
            p = os.path.join(root, d)
            if not os.path.islink(p) and not os.listdir(p):
                os.rmdir(p)
    os.unlink(os.path.join(archive_dir, MANIFEST))
    os.unlink(os.path.join(archive_dir, CHECKSUM))
    if not os.listdir(archive_dir):
        os.rmdir(archive_dir)
        parent = os.path.dirname(archive_dir.rstrip(os.sep))
        if os.path.basename(parent) == ARCHIVE_DIRNAME and not os.listdir(parent):
            os.rmdir(parent)


def restore_archive(archive_dir, dry_run=False, log=print):
    """Undo a reset from its archive; returns the number of conflicts (0: fully restored, archive removed)."""
    archive_dir = os.path.abspath(archive_dir)
    data = load_manifest(archive_dir)
    guard = _guard_of(data)
    remaining = []
    for entry in reversed(data.get("entries") or []):
        if not isinstance(entry, dict) or not _allowed(archive_dir, data, guard, entry):
            raise SafetyError(f"{archive_dir}/{MANIFEST}: entry {entry} points outside what the reset may touch; "
                              "nothing was restored: move the files back by hand")
    for entry in reversed(data["entries"]):
        done, message = _undo(archive_dir, entry, dry_run)
        log(f"  {message}")
        if not done:
            remaining.insert(0, entry)
    if dry_run:
        return len(remaining)
    if remaining:
        data["entries"] = remaining
        save_manifest(archive_dir, data)
    else:
        _prune(archive_dir)
    return len(remaining)
