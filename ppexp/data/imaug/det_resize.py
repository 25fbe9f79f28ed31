"""DetResizeForTest: eval/predict resize for detection; ``shape`` = [src_h, src_w, ratio_h, ratio_w].

Modes (upstream's keys, first match wins):
- ``image_shape: [H, W]``: exactly H x W (``keep_ratio: true``: W = ceil(w * H / h / 32) * 32).
- ``limit_side_len: L`` + ``limit_type``: 'max' (longest side <= L), 'min' (shortest side >= L,
  the default type), 'resize_long' (longest side = L); then each side rounded to a multiple of 32
  (at least 32).
- ``resize_long: N``: longest side N, each side rounded up to a multiple of 128.
- nothing: limit_side_len 736, limit_type 'min'.
Images with h + w < 64 are first zero-padded to at least 32 x 32 (the ratios refer to the padded
image, as upstream). Polygons are not rescaled: DBPostProcess maps boxes back to (src_w, src_h).
"""
import math

import cv2
import numpy as np

from ppexp.data.imaug.registry import TRANSFORMS

LIMIT_TYPES = ("max", "min", "resize_long")


def limit_ratio(h, w, limit_side_len, limit_type):
    """The scale factor of the limit_side_len mode."""
    if limit_type == "max":
        return limit_side_len / max(h, w) if max(h, w) > limit_side_len else 1.0
    if limit_type == "min":
        return limit_side_len / min(h, w) if min(h, w) < limit_side_len else 1.0
    return limit_side_len / max(h, w)


@TRANSFORMS.register()
class DetResizeForTest:
    """See the module docstring."""
    prepares_model_input = True

    def __init__(self, image_shape=None, keep_ratio=False, limit_side_len=None, limit_type=None,
                 resize_long=None):
        self.image_shape, self.keep_ratio = image_shape, bool(keep_ratio)
        self.limit_side_len, self.limit_type, self.resize_long = limit_side_len, limit_type or "min", resize_long
        if image_shape is not None:
            if not (isinstance(image_shape, (list, tuple)) and len(image_shape) == 2 and min(image_shape) > 0):
                raise ValueError(f"DetResizeForTest.image_shape must be [height, width], got {image_shape!r}")
            self.mode = "shape"
        elif limit_side_len is not None:
            self.mode = "limit"
        elif resize_long is not None:
            self.mode = "long"
        else:
            self.mode, self.limit_side_len = "limit", 736
        if self.mode == "limit" and self.limit_type not in LIMIT_TYPES:
            raise ValueError(f"DetResizeForTest.limit_type must be one of {LIMIT_TYPES}, got {limit_type!r}")

    def target_size(self, h, w):
        """(resize_h, resize_w) for an (already padded) h x w image."""
        if self.mode == "shape":
            rh, rw = self.image_shape
            if self.keep_ratio:
                rw = math.ceil(w * rh / h / 32) * 32
            return int(rh), int(rw)
        if self.mode == "long":
            ratio = float(self.resize_long) / max(h, w)
            return tuple((int(side * ratio) + 127) // 128 * 128 for side in (h, w))
        ratio = limit_ratio(h, w, float(self.limit_side_len), self.limit_type)
        return tuple(max(int(round(int(side * ratio) / 32) * 32), 32) for side in (h, w))

    def __call__(self, data):
        img = data["image"]
        src_h, src_w = img.shape[:2]
        if src_h + src_w < 64:
            padded = np.zeros((max(32, src_h), max(32, src_w)) + img.shape[2:], img.dtype)
            padded[:src_h, :src_w] = img
            img = padded
        h, w = img.shape[:2]
        rh, rw = self.target_size(h, w)
        data["image"] = cv2.resize(img, (rw, rh))
        data["shape"] = np.array([src_h, src_w, rh / float(h), rw / float(w)])
        return data
