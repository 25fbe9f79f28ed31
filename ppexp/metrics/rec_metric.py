"""RecMetric: exact-match accuracy and 1 - normalised edit distance."""
import string

from rapidfuzz.distance import Levenshtein

from ppexp.metrics import METRICS

_KEEP = set(string.digits + string.ascii_letters)


def _filter_text(text):
    return "".join(ch for ch in text if ch in _KEEP).lower()


@METRICS.register()
class RecMetric:
    """Accumulates acc and norm_edit_dis over batches (upstream's definitions, eps 1e-5)."""

    eps = 1e-5

    def __init__(self, main_indicator="acc", is_filter=False, ignore_space=True):
        self.main_indicator = main_indicator
        self.is_filter = is_filter
        self.ignore_space = ignore_space
        self.reset()

    def _prepare(self, text):
        if self.ignore_space:
            text = text.replace(" ", "")
        if self.is_filter:
            text = _filter_text(text)
        return text

    def __call__(self, pred_label, *args, **kwargs):
        preds, labels = pred_label
        correct, dist = 0, 0.0
        for (pred, _), (target, _) in zip(preds, labels):
            pred, target = self._prepare(pred), self._prepare(target)
            dist += Levenshtein.normalized_distance(pred, target)
            correct += pred == target
        n = len(preds)
        self.correct_num += correct
        self.all_num += n
        self.norm_edit_dis += dist
        return {"acc": correct / (n + self.eps), "norm_edit_dis": 1 - dist / (n + self.eps)}

    def get_metric(self):
        """Metrics over everything seen since the last reset; then resets."""
        out = {
            "acc": self.correct_num / (self.all_num + self.eps),
            "norm_edit_dis": 1 - self.norm_edit_dis / (self.all_num + self.eps),
        }
        self.reset()
        return out

    def reset(self):
        self.correct_num = 0
        self.all_num = 0
        self.norm_edit_dis = 0.0
