"""Polygon helpers shared by the detection label maps, DBPostProcess and the det label checks.

pyclipper offsets polygons (the DB shrink/dilate/unclip step); area and perimeter
are the ring's shoelace area and length (what upstream gets from shapely). A
polygon that cannot be handled raises PolygonError, so callers can skip it and
count it instead of crashing.
"""
from collections import Counter
import logging

import numpy as np

logger = logging.getLogger("ppexp")


class PolygonError(ValueError):
    """pyclipper or shapely could not handle a polygon."""


def area_and_length(points):
    """(area, perimeter) of the closed ring through ``points`` [N, 2] (shoelace, as shapely computes
    them for a ring; numpy because it runs once per candidate box in DBPostProcess)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) == 0 or not np.isfinite(pts).all():
        raise PolygonError(f"polygon has {'no' if len(pts) == 0 else 'non-finite'} coordinates")
    nxt = np.roll(pts, -1, axis=0)
    area = abs(float(np.sum(pts[:, 0] * nxt[:, 1] - nxt[:, 0] * pts[:, 1]))) / 2.0
    length = float(np.sum(np.hypot(nxt[:, 0] - pts[:, 0], nxt[:, 1] - pts[:, 1])))
    return area, length


def offset_distance(points, factor):
    """``area * factor / perimeter``: the DB offset distance (shrink: factor 1 - r**2, unclip: ratio)."""
    area, length = area_and_length(points)
    if length <= 0 or not np.isfinite(area):
        raise PolygonError("polygon has zero perimeter")
    return area * factor / length


def offset_polygon(points, distance):
    """Offset (distance > 0 dilates, < 0 shrinks) with round joins; a list of [M, 2] int64 arrays."""
    import pyclipper

    try:
        offset = pyclipper.PyclipperOffset()
        offset.AddPath([tuple(p) for p in np.asarray(points).reshape(-1, 2).tolist()],
                       pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
        return [np.asarray(p, dtype=np.int64).reshape(-1, 2) for p in offset.Execute(distance)]
    except Exception as err:  # pyclipper.ClipperException, TypeError/OverflowError on bad coordinates
        raise PolygonError(f"pyclipper: {type(err).__name__}: {err}") from err


def signed_area(points):
    """Shoelace area; positive for points listed counter-clockwise in x-right/y-up axes
    (upstream's ``polygon_area`` sign convention)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    x, y = pts[:, 0], pts[:, 1]
    xq, yq = np.roll(x, 1), np.roll(y, 1)
    return float(np.sum(x * yq - y * xq) / 2.0)


class SkipCounter:
    """Counts polygons skipped by a stage, by reason; warns once per reason (then only counts)."""

    def __init__(self, stage):
        self.stage = stage
        self.counts = Counter()

    def add(self, reason, detail=""):
        if not self.counts[reason]:
            logger.warning("%s: skipped a polygon (%s)%s; further ones are only counted", self.stage, reason,
                           f": {detail}" if detail else "")
        self.counts[reason] += 1

    def total(self):
        return sum(self.counts.values())
