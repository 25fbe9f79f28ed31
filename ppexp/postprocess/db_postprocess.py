"""DBPostProcess: DB probability map -> text boxes (quad) or polygons (poly) in source-image pixels."""
import cv2
import numpy as np

from ppexp.postprocess import POSTPROCESS
from ppexp.utils.polygon import PolygonError, SkipCounter, offset_distance, offset_polygon

MIN_SIZE = 3  # upstream's hard-coded min_size: candidates need a short side >= 3 (>= 5 after unclip)


def mini_box(points):
    """cv2.minAreaRect of ``points`` as 4 corners (upstream's order: the two left-most points
    top then bottom, ... giving TL, TR, BR, BL for upright boxes) and the rect's short side."""
    rect = cv2.minAreaRect(points)
    corners = cv2.boxPoints(rect)
    pts = corners[np.argsort(corners[:, 0], kind="stable")]
    left = (0, 1) if pts[1, 1] > pts[0, 1] else (1, 0)
    right = (2, 3) if pts[3, 1] > pts[2, 1] else (3, 2)
    return pts[[left[0], right[0], right[1], left[1]]], min(rect[1])


def to_source(points, bitmap_shape, dest_w, dest_h):
    """Map points from the map (h, w) to the source image: upstream's x / w * dest_w, rounded and
    clipped to [0, dest_w] (the division stays in the points' own float precision, as upstream)."""
    size = np.array(bitmap_shape[::-1], dtype=points.dtype)
    return np.clip(np.round(points / size * np.array([dest_w, dest_h], np.float64)), 0, (dest_w, dest_h))


def mean_inside(pred, points, floor_ceil):
    """Mean of ``pred`` inside the polygon ``points``, computed on the polygon's bounding box
    (fast mode: floor/ceil of float corners; slow mode: the integer contour as is)."""
    h, w = pred.shape
    lo, hi = points.min(axis=0), points.max(axis=0)
    if floor_ceil:
        lo, hi = np.floor(lo), np.ceil(hi)
    x0, y0 = np.clip(lo.astype(np.int64), 0, (w - 1, h - 1))
    x1, y1 = np.clip(hi.astype(np.int64), 0, (w - 1, h - 1))
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
    cv2.fillPoly(mask, [(points - (x0, y0)).astype(np.int32).reshape(-1, 1, 2)], 1)
    return cv2.mean(pred[y0:y1 + 1, x0:x1 + 1], mask)[0]


@POSTPROCESS.register()
class DBPostProcess:
    """Binarize ``maps[:, 0] > thresh`` (optionally dilated 2x2), take contours, score them
    (``score_mode`` fast: mean inside the min-area box; slow: inside the contour), drop scores
    below ``box_thresh``, unclip by area * unclip_ratio / perimeter and scale to (src_w, src_h).

    Returns one ``{'points', 'scores'}`` per image: quad -> int32 [n, 4, 2]; poly -> a list of
    point lists. A candidate that pyclipper rejects or that unclips to several (or no) pieces is
    skipped and counted in ``self.skipped``. When a batch was padded to a common size (eval
    collate), the map is first cut to the image's own resized area, round(src * ratio)."""

    def __init__(self, thresh=0.3, box_thresh=0.7, max_candidates=1000, unclip_ratio=2.0, use_dilation=False,
                 score_mode="fast", box_type="quad", **kwargs):
        if score_mode not in ("fast", "slow"):
            raise ValueError(f"DBPostProcess.score_mode must be 'fast' or 'slow', got {score_mode!r}")
        if box_type not in ("quad", "poly"):
            raise ValueError(f"DBPostProcess.box_type must be 'quad' or 'poly', got {box_type!r}")
        self.thresh, self.box_thresh = float(thresh), float(box_thresh)
        self.max_candidates, self.unclip_ratio = int(max_candidates), float(unclip_ratio)
        self.use_dilation, self.score_mode, self.box_type = bool(use_dilation), score_mode, box_type
        self.skipped = SkipCounter("DBPostProcess")

    def __call__(self, outs_dict, shape_list):
        pred = outs_dict["maps"] if isinstance(outs_dict, dict) else outs_dict
        pred = np.asarray(pred.numpy() if hasattr(pred, "numpy") else pred)[:, 0]
        shapes = np.asarray(shape_list.numpy() if hasattr(shape_list, "numpy") else shape_list, dtype=np.float64)
        results = []
        for prob, (src_h, src_w, ratio_h, ratio_w) in zip(pred, shapes):
            vh, vw = int(round(src_h * ratio_h)), int(round(src_w * ratio_w))
            if 0 < vh <= prob.shape[0] and 0 < vw <= prob.shape[1]:
                prob = prob[:vh, :vw]
            bitmap = (prob > self.thresh).astype(np.uint8)
            if self.use_dilation:
                bitmap = cv2.dilate(bitmap, np.ones((2, 2), np.uint8))
            find = self.polygons if self.box_type == "poly" else self.boxes
            boxes, scores = find(prob, bitmap, src_w, src_h)
            results.append({"points": boxes, "scores": scores})
        return results

    def unclip(self, points):
        """The unclipped polygon [M, 2], or None (skipped and counted)."""
        try:
            pieces = offset_polygon(points, offset_distance(points, self.unclip_ratio))
        except PolygonError as err:
            self.skipped.add("pyclipper/shapely error", str(err))
            return None
        if len(pieces) != 1:
            self.skipped.add("unclip gave %s polygons" % ("no" if not pieces else "several"))
            return None
        return pieces[0]

    def contours(self, bitmap):
        found = cv2.findContours(bitmap * 255, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        return found[-2][: self.max_candidates]

    def boxes(self, prob, bitmap, dest_w, dest_h):
        boxes, scores = [], []
        for contour in self.contours(bitmap):
            box, short = mini_box(contour)
            if short < MIN_SIZE:
                continue
            fast = self.score_mode == "fast"
            score = mean_inside(prob, box if fast else contour.reshape(-1, 2), floor_ceil=fast)
            if score < self.box_thresh:
                continue
            expanded = self.unclip(box)
            if expanded is None:
                continue
            box, short = mini_box(expanded.astype(np.int32))
            if short < MIN_SIZE + 2:
                continue
            boxes.append(to_source(box, bitmap.shape, dest_w, dest_h))
            scores.append(score)
        return np.array(boxes, dtype=np.int32).reshape(-1, 4, 2), scores

    def polygons(self, prob, bitmap, dest_w, dest_h):
        polys, scores = [], []
        for contour in self.contours(bitmap):
            approx = cv2.approxPolyDP(contour, 0.002 * cv2.arcLength(contour, True), True).reshape(-1, 2)
            if len(approx) < 4:
                continue
            score = mean_inside(prob, approx, floor_ceil=True)
            if score < self.box_thresh:
                continue
            expanded = self.unclip(approx)
            if expanded is None or mini_box(expanded.astype(np.int32))[1] < MIN_SIZE + 2:
                continue
            polys.append(to_source(expanded, bitmap.shape, dest_w, dest_h).astype(np.int64).tolist())
            scores.append(score)
        return polys, scores
