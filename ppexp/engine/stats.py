"""Windowed statistics for the training log (upstream's log_smooth_window).

Loss and metrics are the median of the last ``window`` values, as upstream;
``lr`` is the current learning rate (a smoothed lr hides warmup and resumes).
"""
from collections import deque

import numpy as np

_ORDER = ("lr", "acc", "norm_edit_dis")
_CURRENT = ("lr",)


class TrainingStats:
    """Keeps the last ``window`` values of each metric; ``log()`` formats them."""

    def __init__(self, window):
        self.window = max(1, int(window))
        self.values = {}

    def update(self, stats):
        for key, value in stats.items():
            self.values.setdefault(key, deque(maxlen=self.window)).append(float(value))

    def get(self):
        keys = [k for k in _ORDER if k in self.values] + sorted(k for k in self.values if k not in _ORDER)
        return {k: (self.values[k][-1] if k in _CURRENT else float(np.median(self.values[k])))
                for k in keys if self.values[k]}

    def log(self):
        """'lr: 0.000500, acc: 0.500000, norm_edit_dis: 0.700000, loss: 1.234567' (upstream's line)."""
        return ", ".join(f"{key}: {value:.6f}" for key, value in self.get().items())
