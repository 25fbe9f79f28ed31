"""DetLabelEncode: the det label JSON -> polys [K, P, 2] float32, texts, ignore_tags."""
import json

import numpy as np

from ppexp.data.imaug.registry import TRANSFORMS

IGNORE_TEXTS = ("###", "*")


class DetLabelError(ValueError):
    """The label field of a det line is not upstream's ``[{"transcription", "points"}]`` JSON."""


def parse_det_label(text):
    """(points lists, transcriptions) of a det label field; DetLabelError names the problem and the fix."""
    try:
        boxes = json.loads(text)
    except ValueError as err:
        raise DetLabelError(f"not valid JSON ({err}); expected "
                            '[{"transcription": "...", "points": [[x, y], ...]}, ...]') from None
    if not isinstance(boxes, list):
        raise DetLabelError(f"det label must be a JSON list of boxes, got {type(boxes).__name__}")
    points, texts = [], []
    for i, box in enumerate(boxes):
        if not isinstance(box, dict) or "points" not in box or "transcription" not in box:
            raise DetLabelError(f"box {i} needs the keys 'transcription' and 'points', got {str(box)[:80]}")
        pts = box["points"]
        if not isinstance(pts, list) or not pts or not all(_is_xy(p) for p in pts):
            raise DetLabelError(f"box {i}: 'points' must be a non-empty list of [x, y] numbers, got {str(pts)[:80]}")
        points.append([[float(p[0]), float(p[1])] for p in pts])
        texts.append(str(box["transcription"]))
    return points, texts


def det_label_problem(text):
    """Why DetLabelEncode would reject the label field ``text`` (None if accepted)."""
    try:
        points, _ = parse_det_label(text)
    except DetLabelError as err:
        return f"invalid det label: {err}"
    return None if points else "no text boxes"


def _is_xy(p):
    return (isinstance(p, (list, tuple)) and len(p) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p))


def pad_points(points):
    """Upstream's expand_points_num: repeat each polygon's last point up to the longest one -> [K, P, 2]."""
    longest = max(len(p) for p in points)
    return np.array([p + [p[-1]] * (longest - len(p)) for p in points], dtype=np.float32)


@TRANSFORMS.register()
class DetLabelEncode:
    """``data['label']`` (JSON) -> ``polys`` float32 [K, P, 2], ``texts``, ``ignore_tags`` bool [K].

    '###' and '*' transcriptions are don't-care regions. An empty list or a malformed label rejects
    the sample with the reason (the dataset counts it); point order is kept as written (as upstream)."""
    label_encoder = train_only = whole_line_label = True

    def __init__(self):
        pass

    def __call__(self, data):
        try:
            points, texts = parse_det_label(data["label"])
        except DetLabelError as err:
            data["_reject"] = f"invalid det label: {err}"
            return None
        if not points:
            data["_reject"] = "no text boxes"
            return None
        data["polys"] = pad_points(points)
        data["texts"] = texts
        data["ignore_tags"] = np.array([t in IGNORE_TEXTS for t in texts], dtype=bool)
        return data
