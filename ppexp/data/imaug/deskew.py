"""Deskew: turn a tilted plate crop level, as plate readers do before reading (and before TwoLineToOneLine).

A photo taken from the side or a tilted camera shows the plate rotated by up to ~25 degrees inside its
axis-aligned crop. A CTC reader reads columns, so a tilted line smears each character over its neighbours'
columns, and a tilted two-line plate has no row gap between its lines for TwoLineToOneLine to split at.

The angle is the one that makes the text rows sharpest (projection-profile deskew): the crop's gradient
energy (|d/dx| + |d/dy|: strokes and edges, whatever their polarity) is projected onto rows rotated by each candidate
angle, and the angle whose row profile has the largest sum of squares wins (a coarse 1-degree search, then
0.25 degrees around the best). The crop is rotated by it and cut back to the plate's rectangle (the crop taken
as the bounding box of a rotated rectangle, plus ``margin`` on each side). Angles below ``min_angle`` leave the
crop untouched. Deterministic (no randomness); applied the same way in Train and Eval transforms, by
``ppexp predict`` and by ``ppexp eval/predict --model_dir`` on an export (under ``ppexp_preprocess``:
PaddleOCR 3's TextRecognition has no such step).
"""
import cv2
import numpy as np

from ppexp.data.imaug.options import number_option
from ppexp.data.imaug.registry import TRANSFORMS
from ppexp.data.imaug.two_line import grey_at_rows

PROFILE_HEIGHT = 64  # rows of the normalised crop the angle is measured on


def _edge_energy(img, rows):
    """|d/dx| + |d/dy| of the grey image at ``rows`` rows (two_line.grey_at_rows): character strokes and the
    plate's and characters' horizontal edges, whatever their polarity."""
    grey = grey_at_rows(img, rows)
    energy = np.abs(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)) + np.abs(cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3))
    # clipped at its 90th percentile: one long, hard edge (a shadow across the plate, a bumper line) must not
    # outweigh the many strokes of the text
    return np.minimum(energy, np.percentile(energy, 90))


def _profile_sharpness(energy, degrees):
    """Sum of squares of the row profile of ``energy`` rotated by each of ``degrees`` (one array)."""
    rows, width = energy.shape
    ys, xs = np.mgrid[0:rows, 0:width].astype(np.float32)
    ys = (ys - rows / 2.0).ravel()
    xs = (xs - width / 2.0).ravel()
    weights = energy.ravel().astype(np.float64)
    keep = weights > 0.05 * float(weights.max()) if weights.size else weights > 0
    ys, xs, weights = ys[keep], xs[keep], weights[keep]
    t = np.deg2rad(np.asarray(degrees, np.float32))[:, None]
    r = ys[None, :] * np.cos(t) - xs[None, :] * np.sin(t)  # each pixel's row after levelling by t
    span = int(np.ceil(np.hypot(rows, width))) + 2
    idx = np.rint(r).astype(np.int64) + span // 2 + span * np.arange(len(degrees))[:, None]
    prof = np.bincount(idx.ravel(), weights=np.broadcast_to(weights, r.shape).ravel(),
                       minlength=span * len(degrees)).reshape(len(degrees), span)
    return (prof ** 2).sum(axis=1)


def estimate_angle(img, max_angle=25.0):
    """Degrees to rotate ``img`` by (counter-clockwise, cv2's sense) so its text rows are level."""
    energy = _edge_energy(img, PROFILE_HEIGHT)
    if not energy.any():
        return 0.0
    coarse = np.arange(-max_angle, max_angle + 1e-6, 1.0)
    best = float(coarse[int(np.argmax(_profile_sharpness(energy, coarse)))])
    fine = np.arange(best - 0.75, best + 0.76, 0.25)
    return float(fine[int(np.argmax(_profile_sharpness(energy, fine)))])


def rotate_whole(img, degrees):
    """``img`` rotated by ``degrees`` (counter-clockwise) on a canvas that holds all of it, the corners
    filled by replicating the edges."""
    h, w = img.shape[:2]
    M = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), degrees, 1.0)
    c, s = abs(M[0, 0]), abs(M[0, 1])
    nw, nh = int(round(h * s + w * c)), int(round(h * c + w * s))
    M[0, 2] += nw / 2.0 - w / 2.0
    M[1, 2] += nh / 2.0 - h / 2.0
    return cv2.warpAffine(img, M, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def level(img, degrees, margin=0.1):
    """``img`` rotated by ``degrees`` and cut to the rotated plate's rectangle plus ``margin`` of it on
    each side (the whole rotated canvas when the crop is too far from a rotated rectangle's bounding box)."""
    h, w = img.shape[:2]
    out = rotate_whole(img, degrees)
    nh, nw = out.shape[:2]
    t = np.deg2rad(abs(degrees))
    c, s = np.cos(t), np.sin(t)
    den = c * c - s * s
    if den <= 0.2:
        return out
    pw, ph = (w * c - h * s) / den, (h * c - w * s) / den  # the rectangle whose bounding box is the crop
    if ph < 0.25 * h or pw < 0.25 * w:
        return out
    pw, ph = min(nw, pw * (1 + 2 * margin)), min(nh, ph * (1 + 2 * margin))
    y0, x0 = max(0, int(round((nh - ph) / 2))), max(0, int(round((nw - pw) / 2)))
    return out[y0:y0 + max(1, int(round(ph))), x0:x0 + max(1, int(round(pw)))]


@TRANSFORMS.register()
class Deskew:
    """Config: ``- Deskew: {max_angle: 25, min_angle: 3, margin: 0.1}`` (these defaults). Put it before
    TwoLineToOneLine and the resize, in Train and Eval alike."""

    ppexp_only_export = True  # PaddleX has no such op: export writes it under ppexp_preprocess

    def __init__(self, max_angle=25.0, min_angle=3.0, margin=0.1):
        bounds = (("max_angle", max_angle, 1.0, 45.0), ("min_angle", min_angle, 0.0, 45.0),
                  ("margin", margin, 0.0, 1.0))
        self.params = {key: number_option("Deskew", key, value, lo, hi) for key, value, lo, hi in bounds}

    def __call__(self, data):
        img = data["image"]
        if img.shape[0] < 8 or img.shape[1] < 8:
            return data
        angle = estimate_angle(img, self.params["max_angle"])
        if abs(angle) >= self.params["min_angle"]:
            data["image"] = level(img, angle, self.params["margin"])
        return data
