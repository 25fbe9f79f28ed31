"""Checks of detection label files (``path<TAB>[{"transcription": ..., "points": [[x, y], ...]}]``).

Per line, what upstream's DB pipeline does with each box: invalid JSON or an empty list makes
DetLabelEncode drop the sample; a box with fewer than 3 points, zero area or points that all
fall outside the image is turned into a don't-care region by MakeShrinkMap (never trained);
a self-intersecting polygon is skipped by DetMetric and gives distorted targets. Warnings: an
empty transcription (trained as text, likely meant '###'), the same box twice in one image,
points partly outside the image (clipped). Image sizes come from the image decoding (--images).
"""
from collections import Counter

import numpy as np

from ppexp.data.imaug.det_label_ops import IGNORE_TEXTS, DetLabelError, parse_det_label
from ppexp.utils.polygon import signed_area


def _is_simple(points):
    from shapely.geometry import Polygon

    try:
        poly = Polygon(points)
        return poly.is_valid and poly.is_simple
    except Exception:  # shapely rejects the coordinates altogether
        return False


class DetLabelChecker:
    """Checks det labels; keeps each sample's polygons for the image-bounds check."""

    def __init__(self):
        self.length_counts = Counter()   # label lengths do not apply to det (report keeps its schema)
        self.boxes_per_image = Counter()
        self.polygons = {}               # (file, line) -> [(box index, points array)]
        self.n_lower_changed = 0

    def check_file(self, pf, report):
        for i, label in enumerate(pf.labels):
            where = dict(file=pf.file, line=pf.linenos[i], text=label[:120])
            try:
                boxes, texts = parse_det_label(label)
            except DetLabelError as err:
                report.add("det_invalid_json", str(err), **where)
                continue
            self.boxes_per_image[len(boxes)] += 1
            if not boxes:
                report.add("det_no_boxes", "the label lists no boxes (DetLabelEncode returns None)", **where)
                continue
            self._check_boxes(pf, i, boxes, texts, where, report)

    def _check_boxes(self, pf, i, boxes, texts, where, report):
        seen = {}
        kept = []
        for k, (pts, text) in enumerate(zip(boxes, texts)):
            pts = np.asarray(pts, dtype=np.float64)
            key = tuple(map(tuple, pts.tolist()))
            if key in seen:
                report.add("det_duplicate_box", f"box {k} repeats box {seen[key]}", **where)
            seen.setdefault(key, k)
            if text == "":
                report.add("det_empty_transcription", f"box {k} has an empty transcription but is not "
                           f"marked don't care ({' or '.join(IGNORE_TEXTS)})", **where)
            if len(pts) < 3:
                report.add("det_few_points", f"box {k} has {len(pts)} point{'s' * (len(pts) != 1)}", **where)
                continue
            area = abs(signed_area(pts))
            if area < 1:
                report.add("det_zero_area", f"box {k} encloses {area:g} px^2", **where)
            elif not _is_simple(pts):
                report.add("det_self_intersecting", f"box {k} crosses itself (point order?)", **where)
            kept.append((k, pts))
        self.polygons[(pf.file, pf.linenos[i])] = kept


def check_points_inside(parsed, checker, image_results, report):
    """Boxes reaching outside their image (sizes from the image decoding)."""
    from ppexp.experiments.labels.image_checks import image_key

    for pf in parsed:
        for i in range(len(pf.paths)):
            boxes = checker.polygons.get((pf.file, pf.linenos[i]))
            status, h, w, _ = image_results.get(image_key(pf, i), ("missing", 0, 0, None))
            if not boxes or status != "ok":
                continue
            where = dict(file=pf.file, line=pf.linenos[i], text=pf.labels[i][:120], image=pf.ref(i))
            for k, pts in boxes:
                inside = (pts[:, 0] >= 0) & (pts[:, 0] <= w) & (pts[:, 1] >= 0) & (pts[:, 1] <= h)
                if inside.all():
                    continue
                out = (pts[:, 0].max() < 0 or pts[:, 0].min() > w - 1 or pts[:, 1].max() < 0
                       or pts[:, 1].min() > h - 1)
                report.add("det_points_outside",
                           f"box {k}: {'every point' if out else f'{int((~inside).sum())} point(s)'} outside the "
                           f"{w}x{h} image" + (" (the box is never trained)" if out else " (clipped)"),
                           severity="error" if out else "warning", effect="altered" if out else None, **where)
