"""MakeShrinkMap: DB's probability-map target (``shrink_map``, ``shrink_mask``) at input resolution."""
import cv2
import numpy as np

from ppexp.data.imaug.registry import TRANSFORMS
from ppexp.data.imaug.make_border_map import scheduled_ratio
from ppexp.utils.polygon import PolygonError, SkipCounter, offset_distance, offset_polygon, signed_area


def validate_polygons(polys, tags, h, w):
    """Upstream's validate_polygons on copies: clip to the image, |area| < 1 -> ignore,
    positive signed area -> reversed point order."""
    polys = np.array(polys, dtype=np.float64, copy=True)
    tags = np.array(tags, dtype=bool, copy=True)
    if len(polys):
        polys[..., 0] = np.clip(polys[..., 0], 0, w - 1)
        polys[..., 1] = np.clip(polys[..., 1], 0, h - 1)
    for i, poly in enumerate(polys):
        area = signed_area(poly) if np.isfinite(poly).all() else 0.0
        if abs(area) < 1:
            tags[i] = True
        if area > 0:
            polys[i] = poly[::-1]
    return polys, tags


@TRANSFORMS.register()
class MakeShrinkMap:
    """Fill each care polygon shrunk by D = A(1 - r^2)/L in ``shrink_map``; ignored polygons, ones
    thinner than ``min_text_size`` and ones that shrink to nothing are zeroed in ``shrink_mask`` and
    become ignored (``ignore_tags`` is updated, as upstream). The ratio r is tried over
    ``arange(r, 1, r)`` until the shrink gives one polygon. Polygons pyclipper/shapely reject are
    masked out, ignored and counted in ``self.skipped``."""

    def __init__(self, min_text_size=8, shrink_ratio=0.4, epoch=None, total_epoch=None):
        self.min_text_size = min_text_size
        self.shrink_ratio = scheduled_ratio(shrink_ratio, epoch, total_epoch)
        self.skipped = SkipCounter("MakeShrinkMap")

    def __call__(self, data):
        h, w = data["image"].shape[:2]
        polys, tags = validate_polygons(data["polys"], data["ignore_tags"], h, w)
        gt = np.zeros((h, w), np.float32)
        mask = np.ones((h, w), np.float32)
        for i, poly in enumerate(polys):
            if not np.isfinite(poly).all():
                self.skipped.add("non-finite coordinates")
                tags[i] = True
                continue
            size = min(np.ptp(poly[:, 1]), np.ptp(poly[:, 0]))
            shrunk = [] if tags[i] or size < self.min_text_size else self.shrink(poly)
            if not shrunk:
                cv2.fillPoly(mask, [poly.astype(np.int32)], 0)
                tags[i] = True
                continue
            for part in shrunk:
                cv2.fillPoly(gt, [part.astype(np.int32)], 1)
        data["shrink_map"] = gt
        data["shrink_mask"] = mask
        data["ignore_tags"] = tags
        return data

    def shrink(self, poly):
        """The shrunk polygon(s); [] when it vanishes or the geometry libraries reject it."""
        shrunk = []
        try:
            for ratio in np.arange(self.shrink_ratio, 1, self.shrink_ratio):
                shrunk = offset_polygon(poly, -offset_distance(poly, 1 - ratio ** 2))
                if len(shrunk) == 1:
                    break
        except PolygonError as err:
            self.skipped.add("pyclipper/shapely error", str(err))
            return []
        return shrunk
