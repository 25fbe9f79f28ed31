"""The paths `ppexp reset` may touch, and nothing else.

Rules (checked when the plan is made and again right before each action):
- never delete, move or rewrite an image file (by extension or by content), nor
  anything under a Train/Eval ``data_dir`` except the label files themselves;
- moves and deletes only inside ``Global.save_model_dir``; a symlink whose target
  lies outside it is never followed (and a directory holding one is not moved);
- rewrites only of the label files the config names (regular files, not symlinks)
  and of the config (its reset copy, or in place with a backup);
- new files only inside save_model_dir, ``<save_model_dir>/../_archive/`` and the
  config's reset copy;
- no reset at all when save_model_dir is a symlink, a system directory, the home
  directory (or above it), a filesystem root or a folder right under one, overlaps
  the data, or a training run holds its lock.
"""
import os

from ppexp.config_defaults import save_model_dir
from ppexp.data.label_lines import IMAGE_EXTS
from ppexp.engine.env_info import dataset_paths  # noqa: F401  (re-exported)
from ppexp.errors import UserError

ARCHIVE_DIRNAME = "_archive"
# System trees: nothing in or under them is ever a run's output folder or a label file to rewrite.
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run", "/sbin",
                "/sys", "/usr", "/var")
SYSTEM_EXCEPTIONS = ("/var/tmp",)


def system_path(real):
    """The system tree ``real`` lies in, or None."""
    if any(inside(real, ok) for ok in SYSTEM_EXCEPTIONS):
        return None
    return next((t for t in SYSTEM_TREES if inside(real, t)), None)
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"II*\x00", b"MM\x00*", b"\x00\x00\x00\x0cjP")


class SafetyError(UserError, RuntimeError):
    """An action would touch a path reset must never touch."""


def inside(path, root):
    """True when ``path`` is ``root`` or below it (both already normalised)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def real_parent(path):
    """Real path of the parent joined with the name: resolves directories, not the entry itself."""
    path = os.path.abspath(path)
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def is_image(path):
    """Image file by extension, or by its first bytes (JPEG, PNG, GIF, BMP, TIFF, JPEG 2000, WebP)."""
    if path.lower().endswith(IMAGE_EXTS):
        return True
    if os.path.islink(path) or not os.path.isfile(path):
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    bmp = head[:2] == b"BM" and len(head) >= 10 and head[6:10] == b"\x00\x00\x00\x00"   # reserved fields
    return head.startswith(_MAGIC) or bmp or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


class Guard:
    """Path rules for one config. All stored paths are absolute and symlink-resolved."""

    def __init__(self, config, config_path, extra_writable=()):
        self.save_dir_given = os.path.abspath(save_model_dir(config))
        self.save_dir = os.path.realpath(self.save_dir_given)
        self.run_name = os.path.basename(self.save_dir.rstrip(os.sep)) or "run"
        self.archive_root = os.path.join(os.path.dirname(self.save_dir), ARCHIVE_DIRNAME)
        data_dirs, label_files = dataset_paths(config)
        self.data_dirs = sorted({os.path.realpath(d) for d in data_dirs})
        self.label_files = list(dict.fromkeys(os.path.abspath(f) for f in label_files))
        self.label_real = {os.path.realpath(f) for f in self.label_files}
        self.config_path = os.path.realpath(config_path) if config_path else None
        self.writable = {real_parent(p) for p in extra_writable}

    # ------------------------------------------------------------ whole-run refusals
    def fatal_problems(self):
        """Reasons the reset must not run at all (empty list when it may)."""
        out = self._save_dir_problems()
        for d in self.data_dirs:
            if inside(self.save_dir, d) or inside(d, self.save_dir):
                out.append(f"Global.save_model_dir {self.save_dir} overlaps the data_dir {d}: reset never touches "
                           "anything under a data_dir. Give the run its own output folder outside the data.")
        for f in sorted(self.label_real):
            if inside(f, self.save_dir):
                out.append(f"label file {f} lies inside save_model_dir {self.save_dir}; move it out first")
        if self.config_path and inside(self.config_path, self.save_dir):
            out.append(f"the config {self.config_path} lies inside save_model_dir (it is the run's saved copy, "
                       "which reset archives); copy it out first, e.g. cp it to configs/ and pass that")
        return out

    def _save_dir_problems(self):
        from ppexp.engine.run_lock import describe_holder, holder_if_locked

        given, real = self.save_dir_given.rstrip(os.sep) or os.sep, self.save_dir
        fix = "point it at the run's own output folder, e.g. ./output/rec/exp9/"
        home = os.path.realpath(os.path.expanduser("~"))
        if os.path.islink(given):
            return [f"Global.save_model_dir {given} is a symlink (to {real}); reset does not follow it: "
                    f"point save_model_dir at {real} itself"]
        tree = system_path(real)
        if tree:
            return [f"Global.save_model_dir {real} is a system directory (under {tree}); refusing to reset it: {fix}"]
        if inside(home, real):
            return [f"Global.save_model_dir {real} is the home directory or above it; refusing to reset it: {fix}"]
        parent = os.path.dirname(real)
        if parent == real or os.path.ismount(real) or os.path.dirname(parent) == parent:
            return [f"Global.save_model_dir {real} is a filesystem root or a folder right under one (the archive "
                    f"would go to {os.path.join(parent, ARCHIVE_DIRNAME)}); refusing to reset it: {fix}"]
        holder = holder_if_locked(real)
        if holder is not None:
            return [f"a training run is using Global.save_model_dir {real} ({describe_holder(holder)}); "
                    "reset it after that run has finished or been stopped"]
        return []

    # ------------------------------------------------------------ per path
    def protected_reason(self, real):
        """Why an already resolved path is protected, or None."""
        for d in self.data_dirs:
            if inside(real, d):
                return f"under data_dir {d}"
        for f in self.label_real:
            if inside(f, real):
                return f"is or contains the label file {f}"
        if self.config_path and inside(self.config_path, real):
            return "is or contains the config file"
        return None

    def _link_problem(self, path):
        target = os.path.realpath(path)
        if not inside(target, self.save_dir):
            return f"symlink pointing outside save_model_dir (to {target}); not followed"
        return None

    def output_problem(self, path):
        """Why the entry ``path`` (inside save_model_dir) may not be moved/deleted, or None."""
        entry = real_parent(path)
        if not inside(entry, self.save_dir) or entry == self.save_dir:
            return "outside save_model_dir"
        if not os.path.lexists(entry):
            return "does not exist"
        reason = self.protected_reason(entry)
        if reason:
            return reason
        if os.path.islink(entry):
            return self._link_problem(entry)
        if not os.path.isdir(entry):
            return "an image file; reset never moves images" if is_image(entry) else None
        return self._tree_problem(entry)

    def _tree_problem(self, top):
        for root, dirs, files in os.walk(top, followlinks=False):
            for name in dirs + files:
                p = os.path.join(root, name)
                if os.path.islink(p):
                    problem = self._link_problem(p)
                    if problem:
                        return f"contains {os.path.relpath(p, top)}: {problem}"
                elif name in files and is_image(p):
                    return f"contains the image {os.path.relpath(p, top)}; reset never moves images"
                reason = self.protected_reason(os.path.realpath(p))
                if reason:
                    return f"contains {os.path.relpath(p, top)}, which {reason}"
        return None

    def cache_file_problem(self, path, cache_dir):
        """A file listed by a ppexp cache marker: may go when it is inside that cache, not a link."""
        entry = real_parent(path)
        if not inside(entry, real_parent(cache_dir)) or not inside(entry, self.save_dir):
            return "outside the cache directory"
        if os.path.islink(entry) or os.path.isdir(entry):
            return "not a plain file"
        return self.protected_reason(entry)

    def label_problem(self, path):
        """Why the label file ``path`` may not be rewritten, or None."""
        ab = os.path.abspath(path)
        if ab not in self.label_files:
            return "not a label file named by the config"
        if os.path.islink(ab):
            return (f"a symlink (to {os.path.realpath(ab)}); not followed: rewrite the target yourself or "
                    "name the real file in the config")
        if not os.path.isfile(ab):
            return "does not exist"
        if is_image(ab):
            return "looks like an image"
        tree = system_path(os.path.realpath(ab))
        if tree:
            return f"a system file (under {tree}); reset never rewrites those"
        if not os.access(ab, os.W_OK):
            return "not writable by you; reset never rewrites it"
        return None

    def write_problem(self, path):
        """Why a new or rewritten file at ``path`` is not allowed, or None."""
        p = real_parent(path)
        if os.path.islink(p):
            return "is a symlink; not followed"
        if p in self.writable or (self.config_path and p == self.config_path):
            return None
        if p in self.label_real:
            return None
        for root in (self.save_dir, self.archive_root):
            if inside(p, root):
                return self.protected_reason(p)
        return "outside save_model_dir, the archive, the label files and the config"

    def require(self, problem, what, path):
        """Raise SafetyError when ``problem`` is set."""
        if problem:
            raise SafetyError(f"refusing to {what} {path}: {problem}")
