"""TwoLineToOneLine: put a two-line plate's top line left of its bottom line, as plate readers do.

Korean two-line plates (old green/white, commercial, construction) carry the region and class digits on a
small top line and the class letter and serial on a large bottom line; their labels read top line, then
bottom line (``서울33거2172``). A CTC reader reads left to right, so this transform turns such a crop into
one line in label order:

1. decide whether the crop holds two lines: its aspect ratio is at most ``max_aspect`` and the row profile
   of horizontal gradient energy (text strokes; polarity-free, so dark-on-light and light-on-dark plates
   alike) has a valley in the ``band`` of rows whose energy is at most ``depth`` times that of the text
   rows above and below it;
2. split the crop at that valley, scale the top part to the bottom part's height, and place it left of the
   bottom part.

A crop that does not pass step 1 is left untouched, so the transform is safe on single-line plates. It is
deterministic (no randomness) and applied the same way in Train and Eval transforms, by ``ppexp predict``
and by ``ppexp eval/predict --model_dir`` on an export (the export records it; PaddleOCR 3's own
TextRecognition accepts no such step: see docs/plates_convergence.md).
"""
import cv2
import numpy as np

from ppexp.data.imaug.options import number_option
from ppexp.data.imaug.registry import TRANSFORMS
from ppexp.errors import UsageError

PROFILE_HEIGHT = 64  # rows of the normalised crop the profile is measured on


def grey_at_rows(img, rows):
    """The grey image (float32) resized to ``rows`` rows, width in proportion (at least 8 columns)."""
    grey = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    h, w = grey.shape[:2]
    width = max(8, int(round(w * rows / float(max(h, 1)))))
    return cv2.resize(grey, (width, rows), interpolation=cv2.INTER_AREA).astype(np.float32)


def _abs_dx(img, rows):
    """|d/dx| of the grey image at ``rows`` rows (grey_at_rows): text strokes, whatever their polarity."""
    return np.abs(cv2.Sobel(grey_at_rows(img, rows), cv2.CV_32F, 1, 0, ksize=3))


def row_profile(img):
    """Per-row mean |d/dx| of the grey image at PROFILE_HEIGHT rows, lightly smoothed (1-D float array)."""
    gx = _abs_dx(img, PROFILE_HEIGHT)
    width = gx.shape[1]
    margin = max(1, width // 12)  # the plate's frame and bolts sit at the sides
    prof = gx[:, margin:width - margin].mean(axis=1)
    return np.convolve(prof, np.ones(3, np.float32) / 3, mode="same")


def _blocks(mask):
    """(start, end) row runs where ``mask`` is true, end exclusive."""
    runs, start = [], None
    for i, on in enumerate(mask):
        if on and start is None:
            start = i
        elif not on and start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(mask)))
    return runs


def _split_rows(prof, depth, min_line):
    """Profile row between the top and bottom text lines, or None (see find_line_split)."""
    n = len(prof)
    peak = float(prof.max())
    if peak <= 0:
        return None
    blocks = [b for b in _blocks(prof > 0.3 * peak) if b[1] - b[0] >= 2]
    if not blocks:
        return None
    main = max(blocks, key=lambda b: prof[b[0]:b[1]].sum())  # the bottom line: the largest text
    mh = main[1] - main[0]
    above = [b for b in blocks if b[1] <= main[0] and main[0] - b[1] <= 0.6 * mh
             and 0.25 * mh <= b[1] - b[0] <= 1.0 * mh]
    if above:                                   # a separate, smaller text band just above: the top line
        top = above[-1]
        y = top[1] + int(np.argmin(prof[top[1]:main[0] + 1]))
        return y
    # one band: the lines may touch; look for a valley 25-60% down the band
    lo, hi = main[0] + int(0.25 * mh), main[0] + int(0.6 * mh) + 1
    if mh < 3 * min_line * n or hi - lo < 2:
        return None
    y = lo + int(np.argmin(prof[lo:hi]))
    t_peak, b_peak = float(prof[main[0]:y].max()), float(prof[y + 1:main[1]].max())
    if prof[y] > depth * min(t_peak, b_peak):
        return None
    if y - main[0] < min_line * n or main[1] - y < 1.5 * min_line * n:
        return None
    return y


def find_line_split(img, max_aspect=2.6, depth=0.45, min_line=0.1):
    """Row (in img's pixels) between a two-line plate's lines, or None for a one-line crop.

    The text lines are the row bands whose horizontal-gradient energy exceeds 30% of the peak; the band
    with the most energy is the bottom line (the plate's largest characters). A two-line plate has a
    second, smaller band just above it (or, when the lines touch, a valley ``depth`` deep in its upper half)."""
    h, w = img.shape[:2]
    if h < 8 or w / float(h) > max_aspect:
        return None
    prof = row_profile(img)
    y = _split_rows(prof, depth, min_line)
    return None if y is None else int(round(y * h / float(len(prof))))


def _text_span(energy, min_len, rel=0.3, min_run=1):
    """(start, end) of the run of ``energy`` above ``rel`` x its peak that holds the most energy (among runs
    at least ``min_run`` long: a frame edge is a narrow run), grown over neighbouring runs separated by gaps
    shorter than ``min_len`` (None when there is no such run)."""
    peak = float(energy.max()) if len(energy) else 0.0
    if peak <= 0:
        return None
    runs = _blocks(energy > rel * peak)
    wide = [i for i, (a, b) in enumerate(runs) if b - a >= min_run]
    if not wide:
        return None
    best = max(wide, key=lambda i: energy[runs[i][0]:runs[i][1]].sum())
    lo, hi = best, best
    while lo > 0 and runs[lo][0] - runs[lo - 1][1] < min_len:
        lo -= 1
    while hi + 1 < len(runs) and runs[hi + 1][0] - runs[hi][1] < min_len:
        hi += 1
    return runs[lo][0], runs[hi][1]


def text_box(part, pad=0.12, gap=0.8, rows=PROFILE_HEIGHT // 2):
    """(y0, y1, x0, x1): the box around a line's text in ``part`` (one line of a plate), from horizontal
    gradient energy (polarity-free). Rows: the strongest band of rows; columns: the strongest run of columns,
    grown over gaps narrower than ``gap`` x the text height (the space between region name and digits); then
    ``pad`` x the text height on every side. Frame edges, empty plate and car body beyond that are cut.
    ``rows``: the height the energy is measured at (more for a loose crop, whose text is a band of it)."""
    h, w = part.shape[:2]
    gx = _abs_dx(part, rows)
    sh, sw = gx.shape
    scale = sh / float(max(h, 1))
    rows = _text_span(np.convolve(gx.mean(axis=1), np.ones(3, np.float32) / 3, mode="same"), 2)
    if rows is None:
        return 0, h, 0, w
    th = rows[1] - rows[0]
    k = max(1, th // 3)
    cols_energy = np.convolve(gx[rows[0]:rows[1]].mean(axis=0), np.ones(k, np.float32) / k, mode="same")
    cols = _text_span(cols_energy, max(2, int(gap * th)), rel=0.2, min_run=max(2, th // 2))
    if cols is None or cols[1] - cols[0] < 1.5 * th:  # a line holds two characters or more: not text, keep all
        cols = (0, sw)
    p = pad * th
    y0, y1 = max(0.0, rows[0] - p), min(float(sh), rows[1] + p)
    x0, x1 = max(0.0, cols[0] - p), min(float(sw), cols[1] + p)
    box = [int(round(v / scale)) for v in (y0, y1, x0, x1)]
    if box[1] - box[0] < 4 or box[3] - box[2] < 4:
        return 0, h, 0, w
    return box[0], min(h, box[1]), box[2], min(w, box[3])


def join_lines(img, split, trim=False, gap=0.0):
    """The top part (rows < split), scaled to the bottom part's height, placed left of the bottom part.
    ``trim``: first cut each part to the box around its text (text_box: the top line's empty plate, bolts'
    surroundings and frame to the sides, and the rows above and below either line's text), so both lines'
    text is as tall as the joined crop and the top line takes no more width than its characters need.
    ``gap``: that many joined heights of blank columns (the bottom part's median colour: its plate) between
    the two, so the top line's last character and the bottom line's first do not touch."""
    top, bottom = img[:split], img[split:]
    if trim:
        y0, y1, x0, x1 = text_box(top)
        top = top[y0:y1, x0:x1]
        y0, y1, _, _ = text_box(bottom)
        bottom = bottom[y0:y1]
    bh = bottom.shape[0]
    tw = max(1, int(round(top.shape[1] * bh / float(max(top.shape[0], 1)))))
    top = cv2.resize(top, (tw, bh), interpolation=cv2.INTER_LINEAR)
    parts = [top, bottom]
    gw = int(round(gap * bh))
    if gw > 0:
        colour = np.median(bottom.reshape(-1, bottom.shape[2]) if bottom.ndim == 3 else bottom, axis=0)
        parts.insert(1, np.broadcast_to(colour.astype(bottom.dtype), (bh, gw) + bottom.shape[2:]))
    return np.concatenate(parts, axis=1)


@TRANSFORMS.register()
class TwoLineToOneLine:
    """Config: ``- TwoLineToOneLine: {max_aspect: 2.6, depth: 0.45, min_line: 0.1, trim: false, gap: 0}`` (these
    defaults). ``trim: true`` cuts each line to its text box before joining; ``gap`` puts that many joined heights
    of plate colour between the lines (join_lines)."""

    ppexp_only_export = True  # PaddleX has no such op: export writes it under ppexp_preprocess

    def __init__(self, max_aspect=2.6, depth=0.45, min_line=0.1, trim=False, gap=0.0):
        if not isinstance(trim, bool):
            raise UsageError(f"TwoLineToOneLine.trim must be true or false, got {trim!r}; remove it for false")
        self.trim = trim
        self.params = {key: number_option("TwoLineToOneLine", key, value)
                       for key, value in (("max_aspect", max_aspect), ("depth", depth), ("min_line", min_line))}
        self.gap = number_option("TwoLineToOneLine", "gap", gap, lo=0.0, hi=2.0)

    def __call__(self, data):
        img = data["image"]
        split = find_line_split(img, **self.params)
        if split is not None:
            data["image"] = join_lines(img, split, trim=self.trim, gap=self.gap)
        return data
