"""Write a PaddleOCR-format plate dataset: DIR/images/*.jpg, DIR/train.txt, DIR/val.txt.

Plate ``i`` is drawn from ``numpy.random.default_rng([seed, i])`` alone, so a seed
gives byte-identical images and labels whatever the worker count or chunking.
The last ``round(num * val_fraction)`` plates form the validation split.
"""
import json
import multiprocessing as mp
import os
import time
from collections import Counter

import cv2
import numpy as np
from tqdm import tqdm

from ppexp.data.imaug.deskew import Deskew
from ppexp.data.imaug.two_line import find_line_split
from ppexp.data.synth_sets import SYNTH_META
from ppexp.errors import UsageError
from ppexp.experiments.synth import fonts
from ppexp.experiments.synth.charsets import PLATE_DICT_PATH
from ppexp.experiments.synth.kinds import sample_spec
from ppexp.experiments.synth.render import (
    DEFAULT_HEIGHT, DEFAULT_TWO_LINE_RATIO, check_kinds, render_spec, sample_kind,
)

JPEG_QUALITY = (55, 95)
# Bumped whenever the same seed draws different plates; written to synth_meta.json so that scripts reuse a
# generated set only when the current generator would draw the same one. 2: road-like two-line layout;
# 3: plate-style flat-topped 3; 4: region names kept legible (render.legible_plate_rows); 5: plate-style 1, condensed
# two-line serial digits; 6: steep views up to 25 degrees, --joinable judged after Deskew.
GENERATOR_VERSION = 6


def is_clean(seed, i, clean):
    """Whether plate ``i`` is drawn clean: ``clean`` is a bool or the share of clean plates (0..1).

    Decided by its own stream ([seed, i, 1]), so a share leaves every plate's text unchanged."""
    if isinstance(clean, bool) or clean in (0, 1):
        return bool(clean)
    return bool(np.random.default_rng([seed, i, 1]).random() < float(clean))


JOIN_TRIES = 8


def render_index(seed, i, kinds, two_line_ratio, height, width, clean=False, joinable=False):
    """(JPEG bytes, label, kind, two_line) of plate ``i`` for ``seed``; ``clean``: see is_clean.

    ``joinable``: a two-line plate is drawn as a crop TwoLineToOneLine can join once Deskew has levelled it
    (its line gap found), as the plate configs' transforms do; the same plate text is redrawn with its own
    streams ([seed, i, 2, k], up to JOIN_TRIES times) until it is. Data for a one-row model, whose label
    order needs the lines side by side.
    """
    clean = is_clean(seed, i, clean)
    rng = np.random.default_rng([seed, i])
    kind, two = sample_kind(rng, kinds, two_line_ratio)
    spec = sample_spec(rng, kind, two)
    buf = _encode(rng, render_spec(rng, spec, height, width, clean=clean), i)
    if joinable and spec.two_line:
        level = Deskew()
        for k in range(JOIN_TRIES):
            img = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_COLOR)
            if find_line_split(level({"image": img})["image"]) is not None:
                break
            again = np.random.default_rng([seed, i, 2, k])
            buf = _encode(again, render_spec(again, spec, height, width, clean=clean), i)
    return buf, spec.label, kind, spec.two_line


def _encode(rng, img, i):
    q = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
    if not ok:
        raise RuntimeError(f"JPEG encoding failed for plate {i}")
    return buf.tobytes()


def write_rendered(out_dir, font_list, indices, render):
    """In a worker: ``render(i) -> (JPEG bytes, *fields)`` for each index, written to out_dir/images/<i>.jpg.
    Returns the rows ``(i, relative path, *fields)`` and the CPU seconds spent (plates and det scenes alike)."""
    fonts.use_fonts(font_list)
    cpu0, rows = time.process_time(), []
    for i in indices:
        data, *fields = render(i)
        rel = f"images/{i:07d}.jpg"
        with open(os.path.join(out_dir, rel), "wb") as f:
            f.write(data)
        rows.append((i, rel, *fields))
    return rows, time.process_time() - cpu0


def _render_chunk(task):
    out_dir, seed, start, stop, kinds, ratio, height, width, clean, joinable, font_list = task
    return write_rendered(out_dir, font_list, range(start, stop),
                          lambda i: render_index(seed, i, kinds, ratio, height, width, clean, joinable))


def _worker_init():
    cv2.setNumThreads(1)


def _clean_arg(clean):
    """True / False, or the share of clean plates as a float in (0, 1)."""
    if isinstance(clean, bool) or float(clean) in (0.0, 1.0):
        return bool(clean)
    if not 0.0 < float(clean) < 1.0:
        raise UsageError(f"clean must be True/False or a share in [0, 1] (--clean-ratio; got {clean})")
    return float(clean)


def _check_args(num, seed, val_fraction, two_line_ratio, height, width):
    if int(num) < 1:
        raise UsageError(f"num (--num) must be >= 1 (got {num})")
    if int(seed) < 0:
        raise UsageError(f"seed (--seed) must be >= 0 (got {seed})")
    if not 0.0 <= float(val_fraction) < 1.0:
        raise UsageError(f"val_fraction (--val-fraction) must be in [0, 1) (got {val_fraction})")
    if not 0.0 <= float(two_line_ratio) <= 1.0:
        raise UsageError(f"two_line_ratio (--two-line-ratio) must be in [0, 1] (got {two_line_ratio})")
    if int(height) < 16 or (width is not None and int(width) < 16):
        raise UsageError(f"height / width (--height / --width) must be >= 16 pixels (got {height} / {width})")


def _run(tasks, workers, total, progress, render=_render_chunk, unit="plate"):
    """Map ``render`` over ``tasks`` in ``workers`` processes; (rows sorted, CPU seconds)."""
    pool = None
    if workers > 1:
        # Plain fork deadlocks when the parent already runs native threads (OpenCV, Paddle);
        # the fork server is a clean single-threaded parent with this module preloaded.
        if "forkserver" in mp.get_all_start_methods():
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload([__name__, render.__module__])
        else:
            ctx = mp.get_context("spawn")
        pool = ctx.Pool(workers, initializer=_worker_init)
    bar = tqdm(total=total, unit=unit, desc="synth-plates", disable=not progress)
    rows, cpu = [], 0.0
    try:
        results = pool.imap_unordered(render, tasks) if pool else map(render, tasks)
        for chunk, seconds in results:
            rows.extend(chunk)
            cpu += seconds
            bar.update(len(chunk))
    except BaseException:
        if pool:
            pool.terminate()
        raise
    finally:
        bar.close()
        if pool:
            pool.close()
            pool.join()
    return sorted(rows), cpu


def _write_labels(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(f"{rel}\t{label}\n" for _, rel, label, _, _ in rows)


def split_and_write(out_dir, rows, val_fraction):
    """The last ``round(len(rows) * val_fraction)`` rows are val: write DIR/train.txt and DIR/val.txt.

    Returns (train rows, val rows, {"train": path, "val": path})."""
    n_val = int(round(len(rows) * float(val_fraction)))
    train, val = rows[:len(rows) - n_val], rows[len(rows) - n_val:]
    files = {"train": os.path.join(out_dir, "train.txt"), "val": os.path.join(out_dir, "val.txt")}
    _write_labels(files["train"], train)
    _write_labels(files["val"], val)
    return train, val, files


def write_meta(out_dir, meta):
    """DIR/synth_meta.json: what the set was drawn with (scripts reuse a set by it)."""
    with open(os.path.join(out_dir, SYNTH_META), "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False, indent=1, sort_keys=True)


def write_synth_set(out_dir, num, seed, val_fraction, workers, progress, *, task_args, render, unit, chunk,
                    meta_of):
    """Render ``num`` items into ``out_dir`` and write DIR/train.txt, DIR/val.txt and DIR/synth_meta.json: the
    run plate crops (generate_dataset) and det scenes (generate_det_dataset) share.

    ``render`` maps a task ``(abs out_dir, seed, start, stop, *task_args, font list)`` to (rows, CPU seconds);
    ``chunk``: (fewest, most) items per task; ``unit``: 'plate' / 'scene' (progress bar, rate keys);
    ``meta_of(rows)``: the synth_meta.json dict. Returns dict(meta, counts, timing, label files) with the
    rates as ``{unit}s_per_s`` and ``{unit}s_per_cpu_s``.
    """
    font_list = fonts.glyph_cache().fonts    # fail fast (clear font error); workers use the same fonts
    workers = max(1, int(workers or os.cpu_count() or 1))
    os.makedirs(os.path.join(out_dir, "images"), exist_ok=True)
    step = max(chunk[0], min(chunk[1], num // (workers * 8) or 1))
    tasks = [(os.path.abspath(out_dir), seed, s, min(num, s + step), *task_args, font_list)
             for s in range(0, num, step)]
    t0 = time.perf_counter()
    rows, cpu = _run(tasks, min(workers, len(tasks)), num, progress, render=render, unit=unit)
    seconds = time.perf_counter() - t0
    train, val, files = split_and_write(out_dir, rows, val_fraction)
    meta = meta_of(rows)
    write_meta(out_dir, meta)
    return dict(meta, out_dir=out_dir, train=len(train), val=len(val), workers=workers, seconds=seconds,
                **{f"{unit}s_per_s": num / max(seconds, 1e-9)}, cpu_seconds=cpu,
                **{f"{unit}s_per_cpu_s": num / max(cpu, 1e-9)},
                train_file=files["train"], val_file=files["val"])


def generate_dataset(out_dir, num, seed=0, val_fraction=0.1, kinds=None,
                     two_line_ratio=DEFAULT_TWO_LINE_RATIO, workers=None, progress=True,
                     height=DEFAULT_HEIGHT, width=None, clean=False, joinable=False):
    """Render ``num`` plates into ``out_dir``; returns a summary dict (counts, timing, files).

    ``clean`` renders flat, tightly cropped plates without camera effects (see render_spec): True for
    all plates, or a share in (0, 1) drawn per plate (a warm-up mixed into a realistic set).
    ``joinable``: two-line plates only as crops TwoLineToOneLine joins (see render_index).
    """
    _check_args(num, seed, val_fraction, two_line_ratio, height, width)
    num, seed, kinds = int(num), int(seed), check_kinds(kinds)
    width, clean = None if width is None else int(width), _clean_arg(clean)

    def meta_of(rows):
        return {"seed": seed, "num": num, "val_fraction": float(val_fraction), "kinds": list(kinds),
                "two_line_ratio": float(two_line_ratio), "height": int(height), "width": width,
                "clean": clean, "joinable": bool(joinable), "generator_version": GENERATOR_VERSION,
                "character_dict": "ppexp/dicts/kr_plate_dict.txt",
                "kind_counts": dict(sorted(Counter(r[3] for r in rows).items())),
                "two_line": sum(1 for r in rows if r[4])}

    summary = write_synth_set(
        out_dir, num, seed, val_fraction, workers, progress, render=_render_chunk, unit="plate", chunk=(8, 256),
        task_args=(kinds, float(two_line_ratio), int(height), width, clean, bool(joinable)), meta_of=meta_of)
    return dict(summary, dict_path=PLATE_DICT_PATH)
