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
    "invalid det label",
    "no text boxes",
    "transform error",
    "other",
)


def reason_key(text):
    """Map a free-text rejection reason to one of REASONS."""
    text = (text or "other").lower()
    for key, needle in (
        ("label too long", "longer than"),
        ("all characters unknown", "dictionary"),
        ("invalid det label", "invalid det label"),
    ):
        if needle in text:
            return key
    return text if text in REASONS else "other"


class DropCounter:
    """Shared per-reason counters (fork-safe); ``snapshot_and_reset`` per epoch.

    One extra slot after the reasons counts accepted loads, so the dataset can
    tell what share of the epoch's loads was rejected (``loads``)."""

    OK = len(REASONS)
    FATAL_BYTES = 4096

    def __init__(self):
        self._counts = mp.Array("q", len(REASONS) + 1, lock=True)
        self._fatal = mp.Array("c", self.FATAL_BYTES, lock=True)

    def set_fatal(self, message):
        """Keep the message of the error that stopped the dataset, for the main process: paddle's
        DataLoader loses it (its loader thread dies; the main thread sees a killed queue)."""
        raw = message.encode("utf-8")[: self.FATAL_BYTES - 1]
        with self._fatal.get_lock():
            self._fatal.value = raw.decode("utf-8", errors="ignore").encode("utf-8")

    def fatal(self):
        """The message passed to ``set_fatal`` ('' if none)."""
        with self._fatal.get_lock():
            return self._fatal.value.decode("utf-8", errors="replace")

    def add(self, reason):
        idx = REASONS.index(reason_key(reason))
        with self._counts.get_lock():
            self._counts[idx] += 1

    def add_ok(self):
        with self._counts.get_lock():
            self._counts[self.OK] += 1

    def loads(self):
        """(loads attempted, loads rejected) since the last reset."""
        with self._counts.get_lock():
            dropped = sum(self._counts[: self.OK])
            return dropped + self._counts[self.OK], dropped

    def snapshot(self):
        with self._counts.get_lock():
            return {r: int(c) for r, c in zip(REASONS, self._counts[: self.OK]) if c}

    def snapshot_and_reset(self):
        with self._counts.get_lock():
            out = {r: int(c) for r, c in zip(REASONS, self._counts[: self.OK]) if c}
            for i in range(len(self._counts)):
                self._counts[i] = 0
        return out

    def __getstate__(self):
        return {"_counts": self._counts, "_fatal": self._fatal}

    def __setstate__(self, state):
        self._counts = state["_counts"]
        self._fatal = state["_fatal"]
