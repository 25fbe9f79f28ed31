"""A scalar series (step, value, wall time) and the merge of restarted segments."""
import numpy as np


class Series:
    """Points of one scalar tag, sorted by step; ``wall`` is seconds since the epoch (or None)."""

    __slots__ = ("steps", "values", "wall")

    def __init__(self, steps, values, wall=None):
        self.steps = np.asarray(steps, np.int64)
        self.values = np.asarray(values, np.float64)
        self.wall = None if wall is None else np.asarray(wall, np.float64)

    def __len__(self):
        return len(self.steps)

    def __repr__(self):
        return f"Series({len(self)} points, steps {self.first_step}..{self.last_step})"

    @property
    def first_step(self):
        return int(self.steps[0]) if len(self) else None

    @property
    def last_step(self):
        return int(self.steps[-1]) if len(self) else None

    def last(self):
        return float(self.values[-1]) if len(self) else None

    def value_at(self, step):
        """Value of the last point at or before ``step`` (the first point if none is)."""
        if not len(self):
            return None
        i = int(np.searchsorted(self.steps, step, side="right")) - 1
        return float(self.values[max(i, 0)])

    def between(self, lo=None, hi=None):
        """Points with lo <= step <= hi."""
        mask = np.ones(len(self), bool)
        if lo is not None:
            mask &= self.steps >= lo
        if hi is not None:
            mask &= self.steps <= hi
        return Series(self.steps[mask], self.values[mask], None if self.wall is None else self.wall[mask])

    def finite(self):
        mask = np.isfinite(self.values)
        return Series(self.steps[mask], self.values[mask], None if self.wall is None else self.wall[mask])

    def downsample(self, max_points=2000):
        """Bucket means (NaN-aware) so plots of 100k-point series stay light."""
        n = len(self)
        if n <= max_points:
            return self.steps.astype(np.float64), self.values
        edges = np.linspace(0, n, max_points + 1).astype(np.int64)
        steps = np.add.reduceat(self.steps.astype(np.float64), edges[:-1]) / np.diff(edges)
        finite = np.isfinite(self.values)
        sums = np.add.reduceat(np.where(finite, self.values, 0.0), edges[:-1])
        counts = np.add.reduceat(finite.astype(np.float64), edges[:-1])
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        return steps, values


def merge_segments(segments):
    """One series from segments written in order (files of restarted runs).

    A later segment that starts at step s replaces the earlier points at steps
    >= s (the abandoned branch after a resume from an older checkpoint); within
    the result points are ordered by step, and a repeated step keeps the last
    point written.
    """
    segments = [seg for seg in segments if len(seg[0])]
    if not segments:
        return Series([], [], [])
    kept = []
    for steps, values, wall in segments:
        start = steps.min()
        kept = [tuple(c[s < start] for c in (s, v, w)) for s, v, w in kept]
        kept.append((steps, values, wall))
    steps = np.concatenate([k[0] for k in kept])
    values = np.concatenate([k[1] for k in kept])
    wall = np.concatenate([k[2] for k in kept])
    if len(steps) > 1 and np.any(np.diff(steps) <= 0):
        order = np.argsort(steps, kind="stable")
        steps, values, wall = steps[order], values[order], wall[order]
        last = np.append(steps[1:] != steps[:-1], True)
        steps, values, wall = steps[last], values[last], wall[last]
    return Series(steps, values, wall)
