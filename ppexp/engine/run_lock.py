"""One trainer per save_model_dir: an OS file lock on ``<save_model_dir>/.ppexp.lock``.

``fcntl.flock`` locks belong to the open file: the kernel drops them when the holder
exits, however it dies (kill -9 included), so no ``--force`` is ever needed. The file
records the holder's pid and start time for the refusal message. ppexp's own CPU
workers are children of the process holding the lock and pass through.
"""
import contextlib
import datetime
import fcntl
import json
import os
import socket

from ppexp.errors import UserError

LOCK_NAME = ".ppexp.lock"
_HELD = {}  # real save_dir -> open lock file of this process


class RunLockedError(UserError, RuntimeError):
    """Another live process trains in this save_model_dir."""


class RunDirError(UserError, RuntimeError):
    """save_model_dir cannot be created or written."""


def lock_path(save_dir):
    return os.path.join(save_dir, LOCK_NAME)


def _holder(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def holder_if_locked(save_dir):
    """The holder record ({} if unreadable) when a live process holds the lock, else None."""
    path = lock_path(save_dir)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return None
    except BlockingIOError:
        return _holder(path)
    finally:
        os.close(fd)


def describe_holder(holder):
    return f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started {holder.get('started', '?')}"


def _acquire(save_dir):
    """Lock ``save_dir``; returns the open file, or None when this process or its parent holds it."""
    real = os.path.realpath(save_dir)
    if real in _HELD:
        return None
    path = lock_path(real)
    try:
        os.makedirs(real, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise RunDirError(f"cannot write in Global.save_model_dir {save_dir} ({err.strerror or err}); make it "
                          "writable or set Global.save_model_dir to a folder you can write") from err
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        holder = _holder(path)
        if holder.get("pid") == os.getppid():
            return None  # our supervisor (ppexp's CPU workers) holds it for us
        raise RunLockedError(f"Global.save_model_dir {save_dir} is in use by another training run "
                             f"({describe_holder(holder)}; lock {path}); wait for it to finish or stop it, "
                             "or set another Global.save_model_dir") from None
    record = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": datetime.datetime.now().isoformat(timespec="seconds")}
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps(record).encode("utf-8"))
    _HELD[real] = fd
    return real


def release(real):
    fd = _HELD.pop(real, None)
    if fd is not None:
        os.close(fd)  # closing the file drops the lock; the file stays (harmless, reused next time)


@contextlib.contextmanager
def run_lock(save_dir):
    """Hold the run lock of ``save_dir`` for the block (re-entrant within a process)."""
    acquired = _acquire(save_dir)
    try:
        yield
    finally:
        if acquired:
            release(acquired)
