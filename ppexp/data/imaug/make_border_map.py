"""MakeBorderMap: DB's threshold-map target (``threshold_map``, ``threshold_mask``) at input resolution."""
import cv2
import numpy as np

from ppexp.data.imaug.registry import TRANSFORMS
from ppexp.utils.polygon import PolygonError, SkipCounter, area_and_length, offset_distance, offset_polygon


def scheduled_ratio(shrink_ratio, epoch=None, total_epoch=None):
    """Upstream's shrink-ratio schedule: + 0.2 * epoch / total_epoch when both are given (upstream
    never sets ``epoch``, so configs that pass only total_epoch keep the ratio fixed)."""
    ratio = float(shrink_ratio)
    if epoch is not None and total_epoch:
        ratio += 0.2 * float(epoch) / float(total_epoch)
    return ratio


def edge_distances(xs, ys, poly):
    """[P, H, W] distance of each pixel to each edge i -> i+1 of ``poly``, upstream's rule: the distance
    to the edge's line when the edge subtends a right or obtuse angle at the pixel, else the
    distance to the nearer end point."""
    a = poly[:, None, None, :]
    b = np.roll(poly, -1, axis=0)[:, None, None, :]
    d1 = (xs - a[..., 0]) ** 2 + (ys - a[..., 1]) ** 2
    d2 = (xs - b[..., 0]) ** 2 + (ys - b[..., 1]) ** 2
    edge = (a[..., 0] - b[..., 0]) ** 2 + (a[..., 1] - b[..., 1]) ** 2
    cross = (b[..., 0] - a[..., 0]) * (ys - a[..., 1]) - (b[..., 1] - a[..., 1]) * (xs - a[..., 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        line = np.abs(cross) / np.sqrt(edge)
    line = np.where(edge > 0, line, np.sqrt(d1))
    return np.where(d1 + d2 > edge, np.sqrt(np.minimum(d1, d2)), line)


@TRANSFORMS.register()
class MakeBorderMap:
    """For each care polygon: dilate by D = A(1 - r^2)/L, fill the dilation in ``threshold_mask``, and
    raise ``canvas`` to 1 - min(dist/D, 1) near the edges; ``threshold_map`` = canvas * (max - min) + min.
    Polygons with area <= 0 are skipped (as upstream); ones pyclipper/shapely reject are skipped and
    counted in ``self.skipped``."""

    def __init__(self, shrink_ratio=0.4, thresh_min=0.3, thresh_max=0.7, epoch=None, total_epoch=None):
        self.shrink_ratio = scheduled_ratio(shrink_ratio, epoch, total_epoch)
        self.thresh_min, self.thresh_max = float(thresh_min), float(thresh_max)
        self.skipped = SkipCounter("MakeBorderMap")

    def __call__(self, data):
        shape = data["image"].shape[:2]
        canvas = np.zeros(shape, np.float32)
        mask = np.zeros(shape, np.float32)
        for poly, ignore in zip(data["polys"], data["ignore_tags"]):
            if not ignore:
                try:
                    self.draw(np.asarray(poly, np.float64), canvas, mask)
                except PolygonError as err:
                    self.skipped.add("pyclipper/shapely error", str(err))
        data["threshold_map"] = canvas * (self.thresh_max - self.thresh_min) + self.thresh_min
        data["threshold_mask"] = mask
        return data

    def draw(self, poly, canvas, mask):
        area, _ = area_and_length(poly)
        if area <= 0:
            return
        distance = offset_distance(poly, 1 - self.shrink_ratio ** 2)
        dilated = offset_polygon(poly, distance)
        if not dilated:
            raise PolygonError("dilation gave no polygon")
        padded = dilated[0]
        cv2.fillPoly(mask, [padded.astype(np.int32)], 1.0)
        (x0, y0), (x1, y1) = padded.min(axis=0), padded.max(axis=0)
        h, w = canvas.shape
        cx0, cx1, cy0, cy1 = max(x0, 0), min(x1, w - 1), max(y0, 0), min(y1, h - 1)
        if cx0 > cx1 or cy0 > cy1:
            return  # the dilated polygon is entirely outside the image
        xs = np.arange(cx0, cx1 + 1, dtype=np.float64)[None, :] - x0
        ys = np.arange(cy0, cy1 + 1, dtype=np.float64)[:, None] - y0
        dist = edge_distances(xs, ys, poly - (x0, y0))
        near = 1 - np.clip(dist / distance, 0, 1).min(axis=0).astype(np.float32)
        region = canvas[cy0:cy1 + 1, cx0:cx1 + 1]
        np.fmax(near, region, out=region)
