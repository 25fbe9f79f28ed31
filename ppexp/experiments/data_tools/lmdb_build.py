"""Build a PaddleOCR-layout LMDB from label files (``ppexp lmdb``).

Lines are read the way SimpleDataSet reads them (UTF-8 BOM and CRLF stripped,
blank lines ignored, ``path<delimiter>label``, a JSON list as the path field
takes its first entry). Every image is read and decoded with cv2.imdecode
(as DecodeImage does) by a pool of threads before it is written; its original bytes are stored
unchanged, in label-file order, keys 1-based as upstream's LMDBDataSet reads
them. What is skipped is counted by reason with file:line examples.
"""
import os
import sys
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import cv2
import numpy as np

from ppexp.data.label_lines import read_label_lines
from ppexp.data.lmdb_writer import write_lmdb
from ppexp.errors import UsageError

REASONS = ("missing image", "unreadable file", "undecodable image", "malformed line", "empty label")
MAX_EXAMPLES = 5


class BuildError(UsageError):
    """Bad input to the builder (missing label file, existing database, ...)."""


@dataclass
class Line:
    file: str
    lineno: int
    image: str = ""
    label: str = ""
    problem: str = ""  # a reason from REASONS when the line itself is unusable
    detail: str = ""


@dataclass
class BuildResult:
    out_dir: str
    lines: int = 0
    written: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)  # reason -> ["file:line (detail)", ...]
    seconds: float = 0.0
    workers: int = 1

    def skip(self, line, reason, detail):
        self.skipped[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < MAX_EXAMPLES:
            shown.append(f"{line.file}:{line.lineno} ({detail})")


def read_label_file(path, delimiter="\t"):
    """Every non-blank line of ``path`` as a Line (problem set for malformed / empty-label lines)."""
    if not os.path.isfile(path):
        raise BuildError(f"label file '{path}' does not exist")
    out = []
    for ln in read_label_lines(path, delimiter).lines:
        if ln.malformed:
            out.append(Line(path, ln.lineno, problem="malformed line", detail=f"no {delimiter!r} delimiter"))
        elif not ln.label:
            out.append(Line(path, ln.lineno, ln.image, problem="empty label", detail="empty label"))
        else:
            out.append(Line(path, ln.lineno, ln.image, ln.label))
    return out


def check_image(path):
    """(bytes, None, '') when ``path`` decodes with cv2.imdecode, else (None, reason, detail)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None, "missing image", path
    except OSError as err:
        return None, "unreadable file", f"{path}: {err.strerror or err}"
    if not raw:
        return None, "undecodable image", f"{path}: empty file"
    if cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR) is None:
        return None, "undecodable image", f"{path}: cv2.imdecode failed"
    return raw, None, ""


def _checked(paths, workers, in_flight=256):
    """check_image over ``paths`` in order, on ``workers`` threads (file reads and cv2.imdecode release
    the GIL; threads avoid forking a process that may hold locks of other threads)."""
    if workers <= 1:
        yield from map(check_image, paths)
        return
    pending = deque()
    with ThreadPoolExecutor(workers) as pool:
        for path in paths:
            pending.append(pool.submit(check_image, path))
            if len(pending) >= in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _accepted(lines, data_dir, result, bar, workers):
    """(image bytes, label) of the usable lines, recording skips in ``result``."""
    todo = []
    for line in lines:
        if line.problem:
            result.skip(line, line.problem, line.detail)
            bar.update(1)
        else:
            todo.append(line)
    paths = (os.path.join(data_dir, line.image) for line in todo)
    for line, (raw, reason, detail) in zip(todo, _checked(paths, workers)):
        bar.update(1)
        if raw is None:
            result.skip(line, reason, detail)
        else:
            yield raw, line.label


def build_lmdb(label_files, data_dir, out_dir, delimiter="\t", workers=None, overwrite=False, progress=True):
    """Write the LMDB at ``out_dir``; returns a BuildResult."""
    from tqdm import tqdm

    if not label_files:
        raise BuildError("give at least one --label-file")
    if data_dir and not os.path.isdir(data_dir):
        raise BuildError(f"--data-dir '{data_dir}' is not a folder")
    lines = [line for path in label_files for line in read_label_file(path, delimiter)]
    if os.path.exists(os.path.join(out_dir, "data.mdb")) and not overwrite:
        raise BuildError(f"{out_dir} already holds an LMDB database (data.mdb); use --overwrite or another --out")
    workers = max(1, int(workers if workers is not None else min(4, os.cpu_count() or 1)))
    result = BuildResult(out_dir, lines=len(lines), workers=workers)
    t0 = time.perf_counter()
    with tqdm(total=len(lines), unit="img", desc="lmdb", file=sys.stderr, disable=not progress) as bar:
        result.written = write_lmdb(out_dir, _accepted(lines, data_dir or "", result, bar, workers),
                                    overwrite=overwrite)
    result.seconds = time.perf_counter() - t0
    return result


def _size(path):
    size = os.path.getsize(path) if os.path.exists(path) else 0
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024.0


def format_summary(result):
    """Human-readable summary: written, skipped by reason with file:line examples, how to use it."""
    rate = result.lines / result.seconds if result.seconds > 0 else 0.0
    out = [f"wrote {result.written} of {result.lines} samples to {result.out_dir} "
           f"(data.mdb {_size(os.path.join(result.out_dir, 'data.mdb'))}) in {result.seconds:.1f}s "
           f"({rate:.0f} lines/s, {result.workers} thread{'s' if result.workers != 1 else ''})"]
    total = sum(result.skipped.values())
    if total:
        out.append(f"skipped {total} lines:")
        for reason in REASONS:
            if result.skipped[reason]:
                out.append(f"  {reason:18s} {result.skipped[reason]:6d}   e.g. " + "; ".join(result.examples[reason]))
    else:
        out.append("skipped nothing: every line has an image that decodes and a non-empty label")
    out.append(f"train on it with: -o Train.dataset.name=LMDBDataSet Train.dataset.data_dir={result.out_dir}")
    return "\n".join(out)
