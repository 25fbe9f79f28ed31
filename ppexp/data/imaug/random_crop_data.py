"""EastRandomCropData: a random crop that does not cut through care texts, scaled into ``size`` (w, h).

Same algorithm and the same numpy RNG draws as upstream's random_crop_data.py, minus its
numpy-2 crash (``int()`` of a 1-element array, which made upstream's dataset silently redraw
most samples). Kept from upstream: the last free run of an axis is not a candidate region
when there are several. Changed: text boxes reaching outside the image are clipped to it
when marking the occupied rows/columns (upstream's negative slice start marks nothing), and with
keep_ratio false the polygons are scaled per axis like the stretched image (upstream uses one scale).
"""
import cv2
import numpy as np

from ppexp.data.imaug.registry import TRANSFORMS


def outside_rect(poly, x, y, w, h):
    """True when the polygon lies entirely outside the rectangle (touching counts as inside)."""
    poly = np.asarray(poly)
    xs, ys = poly[:, 0], poly[:, 1]
    return xs.max() < x or xs.min() > x + w or ys.max() < y or ys.min() > y + h


def free_runs(free):
    """Runs of consecutive free positions; like upstream's split_regions, the last run is dropped."""
    breaks = np.nonzero(np.diff(free) != 1)[0] + 1
    return np.split(free, breaks)[:-1] if len(breaks) else []


def _pick_in(free, size):
    xx = np.random.choice(free, size=2)
    return int(np.clip(xx.min(), 0, size - 1)), int(np.clip(xx.max(), 0, size - 1))


def _pick_between(runs):
    chosen = [int(np.random.choice(runs[i], size=1)[0]) for i in np.random.choice(len(runs), 2)]
    return min(chosen), max(chosen)


def crop_area(shape, care_polys, min_crop_side_ratio, max_tries):
    """(x, y, w, h) of a crop whose borders avoid the care polygons' extents; the whole image if none found."""
    h, w = shape[:2]
    rows, cols = np.zeros(h, np.int32), np.zeros(w, np.int32)
    for poly in care_polys:
        pts = np.round(np.asarray(poly)).astype(np.int64)
        cols[np.clip(pts[:, 0].min(), 0, w):np.clip(pts[:, 0].max(), 0, w)] = 1
        rows[np.clip(pts[:, 1].min(), 0, h):np.clip(pts[:, 1].max(), 0, h)] = 1
    free_y, free_x = np.nonzero(rows == 0)[0], np.nonzero(cols == 0)[0]
    if len(free_y) == 0 or len(free_x) == 0:
        return 0, 0, w, h
    runs_y, runs_x = free_runs(free_y), free_runs(free_x)
    for _ in range(max_tries):
        xmin, xmax = _pick_between(runs_x) if len(runs_x) > 1 else _pick_in(free_x, w)
        ymin, ymax = _pick_between(runs_y) if len(runs_y) > 1 else _pick_in(free_y, h)
        if xmax - xmin < min_crop_side_ratio * w or ymax - ymin < min_crop_side_ratio * h:
            continue
        if any(not outside_rect(p, xmin, ymin, xmax - xmin, ymax - ymin) for p in care_polys):
            return xmin, ymin, xmax - xmin, ymax - ymin
    return 0, 0, w, h


@TRANSFORMS.register()
class EastRandomCropData:
    """Crop (see crop_area), resize by min(size/crop) and paste top-left on a black ``size`` canvas
    (``keep_ratio``; otherwise stretch to ``size``). Polygons entirely outside the result are dropped
    with their texts and tags; partly outside ones are kept unclipped.
    ``size`` follows Train.dataset.resolution_schedule when the config has one."""

    scheduled_size = True  # data/resolution_schedule.py sets ``size`` per epoch

    def __init__(self, size=(640, 640), max_tries=10, min_crop_side_ratio=0.1, keep_ratio=True):
        if not (isinstance(size, (list, tuple)) and len(size) == 2 and min(size) > 0):
            raise ValueError(f"EastRandomCropData.size must be [width, height], got {size!r}")
        self.size = (int(size[0]), int(size[1]))
        self.max_tries = int(max_tries)
        self.min_crop_side_ratio = float(min_crop_side_ratio)
        self.keep_ratio = bool(keep_ratio)

    def __call__(self, data):
        img, polys = data["image"], np.asarray(data["polys"], dtype=np.float64)
        tags, texts = np.asarray(data["ignore_tags"], dtype=bool), list(data["texts"])
        care = [p for p, tag in zip(polys, tags) if not tag]
        x, y, cw, ch = crop_area(img.shape, care, self.min_crop_side_ratio, self.max_tries)
        scale = min(self.size[0] / cw, self.size[1] / ch)
        sx, sy = (scale, scale) if self.keep_ratio else (self.size[0] / cw, self.size[1] / ch)
        w, h = (int(cw * scale), int(ch * scale)) if self.keep_ratio else self.size
        patch = img[y:y + ch, x:x + cw]
        if self.keep_ratio:
            out = np.zeros((self.size[1], self.size[0]) + img.shape[2:], img.dtype)
            out[:h, :w] = cv2.resize(patch, (w, h))
        else:
            out = cv2.resize(patch, self.size)
        moved = (polys - (x, y)) * (sx, sy)
        keep = [i for i, p in enumerate(moved) if not outside_rect(p, 0, 0, w, h)]
        data["image"] = out
        data["polys"] = moved[keep] if keep else np.zeros((0,) + polys.shape[1:], np.float64)
        data["ignore_tags"] = tags[keep]
        data["texts"] = [texts[i] for i in keep]
        return data
