"""RecResizeImg: resize keeping the aspect ratio, normalise to [-1, 1], right-pad.

Two width rules, both upstream's:
- training / eval (default): the crop keeps its aspect ratio up to ``image_shape``'s width W and is
  zero-padded to W; a wider crop is squeezed to W. Every image is C x H x W.
- inference (``infer_mode: true``; ``ppexp predict``, ``ppexp eval --model_dir`` and PaddleOCR 3 /
  PaddleX's TextRecognition, which applies it to an exported model): the crop is never squeezed.
  Its width is ceil(H * w / h), zero-padded to at least W; wider than 3200 px it is squeezed to 3200.
"""
import math

import cv2
import numpy as np

from ppexp.data.imaug.registry import TRANSFORMS


MAX_INFER_WIDTH = 3200  # PaddleX's cap on the inference width


def _to_chw_normalized(resized, img_c):
    """HWC (or HW) resized pixels -> CHW float32 in [-1, 1]: x / 255, - 0.5, / 0.5 (upstream's order)."""
    resized = resized.astype(np.float32)
    if img_c == 1:
        if resized.ndim == 3:
            resized = cv2.cvtColor(resized, cv2.COLOR_BGR2GRAY)
        resized = resized[np.newaxis, :, :]
    else:
        if resized.ndim == 2:
            resized = np.repeat(resized[:, :, None], 3, axis=2)
        resized = resized.transpose((2, 0, 1))
    resized = resized / 255
    resized -= 0.5
    resized /= 0.5
    return resized


def infer_width(h, w, image_shape):
    """(resized width, padded width) of an h x w crop under the inference rule (module docstring)."""
    _, img_h, img_w = image_shape
    padded = int(img_h * max(img_w / img_h, w / float(max(h, 1))))
    if padded > MAX_INFER_WIDTH:
        return MAX_INFER_WIDTH, MAX_INFER_WIDTH
    return min(padded, int(math.ceil(img_h * w / float(max(h, 1))))), padded


def resize_norm_img_infer(img, image_shape):
    """The inference rule: returns (CHW float32 in [-1,1] of width >= W, valid_ratio)."""
    img_c, img_h, _ = image_shape
    resized_w, padded = infer_width(img.shape[0], img.shape[1], image_shape)
    out = np.zeros((img_c, img_h, padded), dtype=np.float32)
    out[:, :, :resized_w] = _to_chw_normalized(cv2.resize(img, (resized_w, img_h)), img_c)
    return out, min(1.0, float(resized_w) / padded)


def resize_norm_img(img, image_shape, padding=True, interpolation=cv2.INTER_LINEAR):
    """Upstream's resize_norm_img: returns (CHW float32 in [-1,1], valid_ratio)."""
    img_c, img_h, img_w = image_shape
    h, w = img.shape[:2]
    if not padding:
        resized_w = img_w
    else:
        resized_w = min(img_w, int(math.ceil(img_h * w / float(max(h, 1)))))
        resized_w = max(resized_w, 1)
    resized = cv2.resize(img, (resized_w, img_h), interpolation=interpolation)
    out = np.zeros((img_c, img_h, img_w), dtype=np.float32)
    out[:, :, :resized_w] = _to_chw_normalized(resized, img_c)
    return out, min(1.0, float(resized_w) / img_w)


@TRANSFORMS.register()
class RecResizeImg:
    """Resize a text crop to ``image_shape`` [C, H, W] (upstream semantics); ``infer_mode``:
    the inference width rule (module docstring)."""
    carries_input_shape = prepares_model_input = True

    def __init__(self, image_shape, infer_mode=False, eval_mode=False, padding=True, character_dict_path=None):
        if not isinstance(image_shape, (list, tuple)) or len(image_shape) != 3:
            raise ValueError(f"RecResizeImg.image_shape must be [C, H, W], got {image_shape!r}")
        self.image_shape = [int(v) for v in image_shape]
        self.padding = padding
        self.infer_mode = bool(infer_mode)

    def __call__(self, data):
        img = data["image"]
        if img.shape[0] == 0 or img.shape[1] == 0:
            data["_reject"] = "zero-size image"
            return None
        if self.infer_mode:
            data["image"], data["valid_ratio"] = resize_norm_img_infer(img, self.image_shape)
        else:
            data["image"], data["valid_ratio"] = resize_norm_img(img, self.image_shape, self.padding)
        return data
