"""Counting replaced samples, by reason, across DataLoader worker processes.

Counters live in shared memory created before workers fork, so the trainer
reads exact per-epoch totals in the main process.
"""
import multiprocessing as mp

REASONS = (
    "missing image",
    "unreadable image",
    "empty image file",
    "zero-size image",
    "empty label",
    "label too long",
    "all characters unknown",
    "malformed line",
    "transform error",
    "other",
)


def reason_key(text):
    """Map a free-text rejection reason to one of REASONS."""
    text = (text or "other").lower()
    for key, needle in (
        ("label too long", "longer than"),
        ("all characters unknown", "dictionary"),
    ):
        if needle in text:
            return key
    return text if text in REASONS else "other"


class DropCounter:
    """Shared per-reason counters (fork-safe); ``snapshot_and_reset`` per epoch."""

    def __init__(self):
        self._counts = mp.Array("q", len(REASONS), lock=True)

    def add(self, reason):
        idx = REASONS.index(reason_key(reason))
        with self._counts.get_lock():
            self._counts[idx] += 1

    def snapshot(self):
        with self._counts.get_lock():
            return {r: int(c) for r, c in zip(REASONS, self._counts) if c}

    def snapshot_and_reset(self):
        with self._counts.get_lock():
            out = {r: int(c) for r, c in zip(REASONS, self._counts) if c}
            for i in range(len(REASONS)):
                self._counts[i] = 0
        return out

    def __getstate__(self):
        return {"_counts": self._counts}

    def __setstate__(self, state):
        self._counts = state["_counts"]
