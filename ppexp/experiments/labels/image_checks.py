"""Decode every referenced image in parallel (threads: file reads, hashing and
cv2.imdecode release the GIL) and report missing, empty, unreadable, degenerate
and squashed images plus duplicates by content hash."""
import hashlib
import math
import os
import sys
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from ppexp.experiments.labels.set_checks import report_group

CHUNK = 64          # images per thread-pool task


def _load_file(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _load_lmdb(env, key):
    with env.begin(write=False) as txn:
        return txn.get(key.encode())


def probe(data):
    """(status, h, w, digest) for the bytes of one image (None: missing)."""
    if data is None:
        return "missing", 0, 0, None
    if not data:
        return "zero_size", 0, 0, None
    digest = hashlib.blake2b(data, digest_size=16).digest()
    img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        return "unreadable", 0, 0, digest
    h, w = img.shape[:2]
    if h == 0 or w == 0:
        return "zero_size", h, w, digest
    return "ok", h, w, digest


def _task(item):
    kind, a, b = item
    return probe(_load_file(a) if kind == "file" else _load_lmdb(a, b))


def _chunk_task(items):
    """Several images per task: keeps the thread-pool overhead small next to the decoding."""
    return [_task(item) for item in items]


def decode_all(parsed, workers=0, progress=True, cache=None):
    """{task key: (status, h, w, digest)} for every distinct image of ``parsed`` (``cache``: known results)."""
    cache = cache or {}
    tasks = {}
    for pf in parsed:
        if pf.source.kind == "file":
            for r in pf.refs():
                tasks.setdefault(("file", r, None), None)
        else:
            for k in pf.paths:
                tasks.setdefault(("lmdb", pf.lmdb_env, k), None)
    keys = [k for k in tasks if k not in cache]
    tasks.update({k: cache[k] for k in tasks if k in cache})
    workers = workers or min(32, os.cpu_count() or 2)
    from tqdm import tqdm

    bar = tqdm(total=len(keys), unit="img", desc="decoding images", file=sys.stderr, disable=not progress or not keys,
               dynamic_ncols=True, mininterval=0.5)
    size = max(1, min(CHUNK, len(keys) // (workers * 4) or 1))
    chunks = [keys[k:k + size] for k in range(0, len(keys), size)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for chunk, res in zip(chunks, pool.map(_chunk_task, chunks)):
            tasks.update(zip(chunk, res))
            bar.update(len(chunk))
    bar.close()
    return tasks


def image_key(pf, i):
    return ("file", pf.refs()[i], None) if pf.source.kind == "file" else ("lmdb", pf.lmdb_env, pf.paths[i])


def check_images(parsed, settings, report, progress=True, cache=None):
    """Decode all images and report per-sample findings. Returns {key: result} (reused by --fix)."""
    results = decode_all(parsed, settings.workers, progress, cache)
    by_digest = defaultdict(list)
    seen = set()        # one member per distinct image; repeated paths are set_checks' business
    for pf in parsed:
        _, H, W = pf.source.image_shape
        for i in range(len(pf.paths)):
            key = image_key(pf, i)
            status, h, w, digest = results[key]
            _report_one(report, pf, i, status, h, w, H, W, settings.max_squash, not settings.det)
            if digest is not None and key not in seen:
                seen.add(key)
                by_digest[digest].append((pf, i, key))
    for members in by_digest.values():
        if len({k for _, _, k in members}) > 1:
            report_group(report, [(pf, i) for pf, i, _ in members], "content")
    return results


def _report_one(report, pf, i, status, h, w, H, W, max_squash, rec=True):
    """Per-image findings; the size and aspect rules are RecResizeImg's (``rec``), not detection's."""
    ref = pf.ref(i)
    where = dict(file=pf.file, line=pf.linenos[i], text=pf.labels[i], image=ref)
    if status == "missing":
        report.add("image_missing", f"{ref} does not exist", **where)
    elif status == "zero_size":
        report.add("image_zero_size", f"{ref} is empty ({h}x{w})", **where)
    elif status == "unreadable":
        report.add("image_unreadable", f"cv2.imdecode cannot decode {ref}", **where)
    elif not rec:
        return
    elif h <= 1 or w <= 1:
        report.add("image_1px_high", f"{ref} is {w}x{h} px (w x h): nothing left to recognise", **where)
    else:
        squash = H * w / h / W
        if squash > max_squash:
            report.add("image_aspect", f"{ref} is {w}x{h} (aspect {w / h:.1f}); RecResizeImg squeezes it into "
                       f"{W}x{H}, compressing the text {squash:.1f}x horizontally", **where)
        elif h >= 2 * w:
            rw = max(1, min(W, math.ceil(H * w / h)))
            report.add("image_aspect", f"{ref} is {w}x{h}: taller than wide (vertical text or a rotated crop?); "
                       f"RecResizeImg shrinks it to {rw} of {W} px", **where)


def bad_image_keys(results):
    """Keys whose image makes the sample unusable (for --fix)."""
    return {k for k, (status, h, w, _) in results.items() if status != "ok" or h <= 1 or w <= 1}
