"""End-to-end exact-match rate of ``ppexp ocr`` against det label lines (``--labels``).

Each labelled text (``###`` / ``*`` ignored) is paired with the unpaired result of highest IoU
above 0.5 (DetMetric's rule); it counts as read when that result's text equals its transcription.
"""
import json
import os

import numpy as np

from ppexp.data.imaug.det_label_ops import IGNORE_TEXTS
from ppexp.data.label_lines import read_label_lines


def _iou(a, b):
    from shapely.geometry import Polygon

    pa, pb = Polygon(np.asarray(a, np.float64)), Polygon(np.asarray(b, np.float64))
    if not (pa.is_valid and pb.is_valid):
        return 0.0
    union = pa.union(pb).area
    return pa.intersection(pb).area / union if union > 0 else 0.0


def read_label_file(path, data_dir=None):
    """[(image path, [labelled boxes])] of a det label file; images relative to ``data_dir`` (default its folder)."""
    base = data_dir or os.path.dirname(os.path.abspath(path))
    rows = []
    for line in read_label_lines(path, "\t", whole_rest=True).lines:
        try:
            boxes = None if line.malformed else json.loads(line.label)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{line.lineno}: the label is not JSON ({err}); run `ppexp check-labels --det`")
        if not isinstance(boxes, list):
            raise ValueError(f"{path}:{line.lineno}: expected 'image<TAB>[{{\"transcription\", \"points\"}}, ...]'")
        rows.append((os.path.join(base, line.image), boxes))
    return rows


def match_texts(boxes, items, iou_thresh=0.5):
    """(labelled texts, read exactly) for one image."""
    used, read, total = set(), 0, 0
    for box in boxes:
        if box.get("transcription") in IGNORE_TEXTS:
            continue
        total += 1
        scored = [(_iou(box["points"], it["points"]), k) for k, it in enumerate(items) if k not in used]
        best = max(scored, default=(0.0, None))
        if best[0] > iou_thresh:
            used.add(best[1])
            read += items[best[1]]["text"] == box["transcription"]
    return total, read
