"""RecResizeImg: resize keeping the aspect ratio, normalise to [-1, 1], right-pad."""
import math

import cv2
import numpy as np

from ppexp.data.imaug.registry import TRANSFORMS


def resize_norm_img(img, image_shape, padding=True, interpolation=cv2.INTER_LINEAR):
    """Upstream's resize_norm_img: returns (CHW float32 in [-1,1], valid_ratio)."""
    img_c, img_h, img_w = image_shape
    h, w = img.shape[:2]
    if not padding:
        resized_w = img_w
    else:
        resized_w = min(img_w, int(math.ceil(img_h * w / float(max(h, 1)))))
        resized_w = max(resized_w, 1)
    resized = cv2.resize(img, (resized_w, img_h), interpolation=interpolation).astype(np.float32)
    if img_c == 1:
        if resized.ndim == 3:
            resized = cv2.cvtColor(resized, cv2.COLOR_BGR2GRAY)
        resized = resized[np.newaxis, :, :]
    else:
        if resized.ndim == 2:
            resized = np.repeat(resized[:, :, None], 3, axis=2)
        resized = resized.transpose((2, 0, 1))
    out = np.zeros((img_c, img_h, img_w), dtype=np.float32)
    out[:, :, :resized_w] = resized * (2.0 / 255.0) - 1.0
    return out, min(1.0, float(resized_w) / img_w)


@TRANSFORMS.register()
class RecResizeImg:
    """Resize a text crop to ``image_shape`` [C, H, W] (upstream semantics)."""

    def __init__(self, image_shape, infer_mode=False, eval_mode=False, padding=True, character_dict_path=None):
        if not isinstance(image_shape, (list, tuple)) or len(image_shape) != 3:
            raise ValueError(f"RecResizeImg.image_shape must be [C, H, W], got {image_shape!r}")
        self.image_shape = [int(v) for v in image_shape]
        self.padding = padding

    def __call__(self, data):
        img = data["image"]
        if img.shape[0] == 0 or img.shape[1] == 0:
            data["_reject"] = "zero-size image"
            return None
        data["image"], data["valid_ratio"] = resize_norm_img(img, self.image_shape, self.padding)
        return data
