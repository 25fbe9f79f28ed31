"""Write a PaddleOCR detection dataset of synthetic street scenes (``ppexp synth-plates --det``).

DIR/images/*.jpg, DIR/train.txt and DIR/val.txt with upstream's det label lines
``images/0000000.jpg<TAB>[{"transcription": "12가3456", "points": [[x, y] x 4]}, ...]``.
Scene ``i`` is drawn from ``numpy.random.default_rng([seed, i])`` alone, so a seed gives
byte-identical files whatever the worker count; the last ``round(num * val_fraction)`` scenes
form the validation split.
"""
import json

import cv2
import numpy as np

from ppexp.errors import UsageError
from ppexp.experiments.synth.dataset import _check_args, write_rendered, write_synth_set
from ppexp.experiments.synth.det_scene import IGNORE, render_scene
from ppexp.experiments.synth.render import DEFAULT_HEIGHT, DEFAULT_TWO_LINE_RATIO, check_kinds

JPEG_QUALITY = (70, 95)


def label_json(boxes):
    """Upstream's det label JSON: integer points (rounded), Hangul kept as is."""
    items = [{"transcription": b["transcription"],
              "points": np.round(np.asarray(b["points"], np.float64)).astype(int).tolist()} for b in boxes]
    return json.dumps(items, ensure_ascii=False)


def render_det_index(seed, i, kinds, two_line_ratio, width=None):
    """(JPEG bytes, label JSON, labelled plates, ignored boxes) of scene ``i`` for ``seed``."""
    rng = np.random.default_rng([seed, i])
    img, boxes = render_scene(rng, kinds, two_line_ratio, width)
    q = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
    if not ok:
        raise RuntimeError(f"JPEG encoding failed for scene {i}")
    plates = sum(1 for b in boxes if b["transcription"] != IGNORE)
    return buf.tobytes(), label_json(boxes), plates, len(boxes) - plates


def _render_det_chunk(task):
    out_dir, seed, start, stop, kinds, ratio, width, font_list = task
    return write_rendered(out_dir, font_list, range(start, stop),
                          lambda i: render_det_index(seed, i, kinds, ratio, width))


def _check_det_args(num, seed, val_fraction, two_line_ratio, width):
    _check_args(num, seed, val_fraction, two_line_ratio, DEFAULT_HEIGHT, None)   # the crop height is not used
    if width is not None and not 256 <= int(width) <= 4096:
        raise UsageError(f"--width for --det scenes must be 256..4096 pixels (got {width}); "
                         "leave it out for the default 384-640")


def generate_det_dataset(out_dir, num, seed=0, val_fraction=0.1, kinds=None,
                         two_line_ratio=DEFAULT_TWO_LINE_RATIO, workers=None, progress=True, width=None):
    """Render ``num`` scenes into ``out_dir``; returns a summary dict (counts, timing, files)."""
    _check_det_args(num, seed, val_fraction, two_line_ratio, width)
    num, seed, kinds = int(num), int(seed), check_kinds(kinds)
    width = None if width is None else int(width)

    def meta_of(rows):
        return {"task": "det", "seed": seed, "num": num, "val_fraction": float(val_fraction), "kinds": list(kinds),
                "two_line_ratio": float(two_line_ratio), "width": width,
                "plates": sum(r[3] for r in rows), "ignored_boxes": sum(r[4] for r in rows)}

    return write_synth_set(out_dir, num, seed, val_fraction, workers, progress, render=_render_det_chunk,
                           unit="scene", chunk=(4, 64), task_args=(kinds, float(two_line_ratio), width),
                           meta_of=meta_of)
