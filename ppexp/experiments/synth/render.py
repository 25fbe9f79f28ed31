"""One synthetic plate crop: choose a kind, sample its text, draw, place, degrade."""
import cv2
import numpy as np

from ppexp.errors import UsageError
from ppexp.experiments.synth import fonts
from ppexp.experiments.synth.kinds import (
    KIND_NAMES, ONE_LINE_WEIGHTS, TWO_LINE_WEIGHTS, sample_spec, supports,
)
from ppexp.experiments.synth.plate import draw_plate
from ppexp.experiments.synth.scene import lighting, place, sensor

# 64 rows keep the small top line of two-line plates legible (about 14 px high).
DEFAULT_HEIGHT = 64
# Share of two-line plates: the user's 80k crops held ~25k two-line ones (seed report, exp9).
DEFAULT_TWO_LINE_RATIO = 0.3


def check_kinds(kinds):
    """Validated tuple of kind names (all kinds when None)."""
    kinds = tuple(kinds) if kinds else KIND_NAMES
    bad = [k for k in kinds if k not in KIND_NAMES]
    if bad:
        raise UsageError(f"unknown plate kind(s) {bad} (--kinds); known kinds: {', '.join(KIND_NAMES)}")
    return kinds


def sample_kind(rng, kinds=None, two_line_ratio=DEFAULT_TWO_LINE_RATIO):
    """(kind, two_line) drawn with the default mix; two-line with probability ``two_line_ratio``."""
    kinds = check_kinds(kinds)
    two = rng.random() < two_line_ratio
    pool = [k for k in kinds if supports(k, two)]
    if not pool:                                         # e.g. only one-line kinds asked for
        two = not two
        pool = [k for k in kinds if supports(k, two)]
    table = TWO_LINE_WEIGHTS if two else ONE_LINE_WEIGHTS
    w = np.array([table.get(k, 0.05) for k in pool], np.float64)
    return pool[int(rng.choice(len(pool), p=w / w.sum()))], two


def render_spec(rng, spec, height=DEFAULT_HEIGHT, width=None, clean=False):
    """BGR uint8 crop of ``spec`` (``height`` high; natural width unless ``width``).

    ``clean``: the flat, front-facing plate, tightly cropped, without camera effects
    (a warm-up set: CRNNs trained from scratch leave CTC's blank plateau far sooner on it).
    """
    cache = fonts.glyph_cache()
    if clean:
        plate = np.clip(draw_plate(rng, spec, height, cache), 0, 255).astype(np.uint8)
        h, w = plate.shape[:2]                           # a plate-holder frame may add a rim
        size = (int(width) if width is not None else max(8, round(w * height / h)), height)
        return cv2.resize(plate, size, interpolation=cv2.INTER_AREA)
    ph = max(16, int(round(height * (0.85 + 0.25 * rng.random()))))
    plate = np.clip(draw_plate(rng, spec, ph, cache), 0, 255).astype(np.uint8)
    legible = legible_plate_rows(spec, height)
    img, plate_rows = place(rng, plate, height, width, min_plate_rows=legible)
    min_rows = max(24 if spec.two_line else 13, legible or 0)
    return sensor(rng, lighting(rng, img), min_height=min_rows, plate_height=plate_rows)


# Region names are the plate's smallest lettering: the top line of a two-line plate (21-32% of the plate
# height) or two syllables stacked at the left (30-37%). Below ~9 rows a region syllable is a blob, and a
# label that names what the image does not show teaches the model to guess the region (generator v3: it
# wrote 경 for almost every region). So a plate with a region name is never cropped so loosely, nor
# down-sampled so far, that its region lettering falls below REGION_MIN_ROWS rows of a 64-row crop.
REGION_MIN_ROWS = 9
REGION_SHARE = {"two_line_region": 0.21, "two_line_construction": 0.26, "long_region": 0.30}


def legible_plate_rows(spec, height):
    """Least plate height (crop rows) that keeps ``spec``'s region name legible; None without a region."""
    share = REGION_SHARE.get(spec.layout) if spec.region else None
    if share is None:
        return None
    return min(int(height * 0.9), int(np.ceil(REGION_MIN_ROWS * height / 64 / share)))


def render_plate(rng, kind=None, height=DEFAULT_HEIGHT, width=None, two_line=None):
    """(BGR uint8 image, label) for one random plate of ``kind`` (random kind when None).

    ``rng`` is a ``numpy.random.Generator``; the same generator state gives the same
    image. ``two_line`` forces the layout family when the kind has it.
    """
    if kind is None:
        kind, two_line = sample_kind(rng)
    spec = sample_spec(rng, check_kinds([kind])[0], two_line)
    return render_spec(rng, spec, height, width), spec.label
