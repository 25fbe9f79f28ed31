"""DetMetric: detection precision / recall / hmean at IoU > 0.5 with don't-care regions (ICDAR 2015 rules)."""
import numpy as np

from ppexp.metrics import METRICS
from ppexp.utils.polygon import SkipCounter


def _as_numpy(value):
    return value.numpy() if hasattr(value, "numpy") else value


def _valid_polygons(polys, stage, skipped):
    """shapely Polygons of ``polys`` with their indices; invalid or self-intersecting ones are
    skipped (as upstream) and counted."""
    from shapely.geometry import Polygon

    out = []
    for i, pts in enumerate(polys):
        try:
            poly = Polygon(np.asarray(pts, dtype=np.float64).reshape(-1, 2))
            ok = poly.is_valid and poly.is_simple
        except Exception:  # shapely: too few points, NaN, ...
            ok = False
        if ok:
            out.append((i, poly))
        else:
            skipped.add(f"invalid {stage} polygon")
    return out


def evaluate_image(gt_polys, gt_ignore, det_polys, iou_thresh=0.5, dontcare_thresh=0.5, skipped=None):
    """{'gtCare', 'detCare', 'detMatched'} for one image.

    A detection covering a don't-care GT by more than ``dontcare_thresh`` of its own area is
    don't care. Matching is greedy in GT order, then detection order: the first free pair,
    neither don't care, with IoU > iou_thresh (strict) is matched."""
    skipped = skipped if skipped is not None else SkipCounter("DetMetric")
    gts = _valid_polygons(gt_polys, "ground-truth", skipped)
    dets = [poly for _, poly in _valid_polygons(det_polys, "detection", skipped)]
    gt_dontcare = [bool(gt_ignore[i]) for i, _ in gts]
    gts = [poly for _, poly in gts]
    dontcare_gts = [g for g, dc in zip(gts, gt_dontcare) if dc]
    det_dontcare = [any(_covered(d, g) > dontcare_thresh for g in dontcare_gts) for d in dets]
    gt_used, det_used, matched = [False] * len(gts), [False] * len(dets), 0
    for gi, gt in enumerate(gts):
        if gt_dontcare[gi]:
            continue
        for di, det in enumerate(dets):
            if det_used[di] or det_dontcare[di]:
                continue
            if _iou(det, gt) > iou_thresh:
                gt_used[gi] = det_used[di] = True
                matched += 1
                break
    return {"gtCare": len(gts) - sum(gt_dontcare), "detCare": len(dets) - sum(det_dontcare), "detMatched": matched}


def _covered(det, gt):
    """Share of ``det``'s area inside ``gt``."""
    area = det.area
    return 0.0 if area == 0 else det.intersection(gt).area / area


def _iou(det, gt):
    inter = det.intersection(gt).area
    union = det.union(gt).area
    return inter / union if union > 0 else 0.0


def combine(counts):
    """Micro-averaged precision, recall, hmean over summed per-image counts."""
    gt, det, matched = counts
    recall = matched / gt if gt else 0.0
    precision = matched / det if det else 0.0
    hmean = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "hmean": hmean}


@METRICS.register()
class DetMetric:
    """Upstream's call: ``metric(preds, batch)`` with preds = DBPostProcess output (``points`` per
    image) and batch = [image, shape, polys, ignore_tags] (GT in source-image coordinates);
    ``get_metric()`` -> {precision, recall, hmean} over everything since the last reset, then resets."""

    def __init__(self, main_indicator="hmean", iou_thresh=0.5, **kwargs):
        self.main_indicator = main_indicator
        self.iou_thresh = float(iou_thresh)
        self.skipped = SkipCounter("DetMetric")
        self.reset()

    def __call__(self, preds, batch, **kwargs):
        gt_batch, ignore_batch = _as_numpy(batch[2]), _as_numpy(batch[3])
        for pred, gt_polys, ignore in zip(preds, gt_batch, ignore_batch):
            result = evaluate_image(_as_numpy(gt_polys), _as_numpy(ignore), _as_numpy(pred["points"]),
                                    self.iou_thresh, skipped=self.skipped)
            self.results.append(result)
            self.gt_care += result["gtCare"]
            self.det_care += result["detCare"]
            self.det_matched += result["detMatched"]

    def get_metric(self):
        out = combine((self.gt_care, self.det_care, self.det_matched))
        self.reset()
        return out

    def reset(self):
        self.results = []
        self.gt_care, self.det_care, self.det_matched = 0, 0, 0
