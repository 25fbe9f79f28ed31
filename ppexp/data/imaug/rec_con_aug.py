"""RecConAug: concatenate a sample with extra samples side by side (upstream semantics).

Contract with the dataset (what upstream's SimpleDataSet / LMDBDataSet do):

* The dataset reads ``op.ext_data_num`` from the built ops (the largest one
  when several ops have it) and, for every sample, puts a list of that many
  *other* samples in ``data['ext_data']`` before running the transforms.
* Each element is a dict with at least ``'image'`` (decoded HxWxC uint8 image,
  i.e. the output of the ops before RecConAug: ``ops[:ext_op_transform_idx]``,
  typically just DecodeImage, so ``ext_op_transform_idx: 1`` when RecConAug is
  the second op) and ``'label'`` (the text label as a ``str``, not yet encoded;
  RecConAug must come before CTCLabelEncode).
* RecConAug always removes ``ext_data`` from the sample. A missing, None or
  empty ``ext_data`` just leaves the sample unchanged; malformed elements
  (no image / label, empty image) are skipped.

With probability ``prob`` the extra samples are appended in order while the
joined label stays within ``max_text_length`` characters and the summed
aspect ratio (width / height) stays within ``image_shape[1] / image_shape[0]``;
the first one that does not fit stops the loop. Every joined image is resized
to height ``image_shape[0]`` keeping its aspect ratio, and labels are joined
without a separator, as upstream does.
"""
import numbers

import cv2
import numpy as np

from ppexp.data.imaug.randaugment import ImageFormatError, to_uint8_bgr
from ppexp.data.imaug.registry import TRANSFORMS


def _check_shape(image_shape):
    """Validate ``[H, W, C]`` and catch the common ``[C, H, W]`` (RecResizeImg order) mix-up."""
    ok = isinstance(image_shape, (list, tuple)) and len(image_shape) == 3 and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in image_shape)
    if not ok:
        raise ValueError(f"RecConAug.image_shape must be [H, W, C] positive integers, got {image_shape!r}")
    if image_shape[0] in (1, 3) and image_shape[2] > 4:
        raise ValueError(
            f"RecConAug.image_shape is [H, W, C] (e.g. [48, 320, 3]); {list(image_shape)} looks like "
            f"RecResizeImg's [C, H, W]; write [{image_shape[1]}, {image_shape[2]}, {image_shape[0]}]")
    return [int(v) for v in image_shape]


def _usable(item):
    return (isinstance(item, dict) and isinstance(item.get("label"), str)
            and getattr(item.get("image"), "size", 0) > 0 and np.ndim(item["image"]) >= 2)


@TRANSFORMS.register()
class RecConAug:
    """Concatenate ``data['ext_data']`` samples to the right of the sample (see module doc)."""
    train_only = True

    def __init__(self, prob=0.5, image_shape=(32, 320, 3), max_text_length=25, ext_data_num=1):
        if isinstance(prob, bool) or not isinstance(prob, numbers.Real) or not 0 <= prob <= 1:
            raise ValueError(f"RecConAug.prob must be a probability in [0, 1], got {prob!r}")
        if isinstance(ext_data_num, bool) or not isinstance(ext_data_num, numbers.Integral) or ext_data_num < 0:
            raise ValueError(f"RecConAug.ext_data_num must be an integer >= 0, got {ext_data_num!r}")
        self.prob = float(prob)
        self.image_shape = _check_shape(image_shape)
        self.max_text_length = int(max_text_length)
        self.ext_data_num = int(ext_data_num)
        self.max_wh_ratio = self.image_shape[1] / self.image_shape[0]

    def _resize(self, img):
        h, w = img.shape[:2]
        new_w = max(1, int(round(w / h * self.image_shape[0])))
        return cv2.resize(img, (new_w, self.image_shape[0]))

    def merge(self, data, ext):
        """Append ``ext`` (image and label) to ``data`` at height image_shape[0]."""
        left, right = data["image"], ext["image"]
        if left.dtype != np.uint8 or right.dtype != np.uint8 or left.shape[2:] != right.shape[2:]:
            left, right = to_uint8_bgr(left), to_uint8_bgr(right)
        data["image"] = np.concatenate([self._resize(left), self._resize(right)], axis=1)
        data["label"] = data["label"] + ext["label"]
        return data

    def __call__(self, data):
        ext_list = data.pop("ext_data", None) or []
        if not ext_list or np.random.random() > self.prob or not isinstance(data.get("label"), str):
            return data
        for ext in ext_list:
            if not _usable(ext):
                continue
            if len(data["label"]) + len(ext["label"]) > self.max_text_length:
                break
            img, other = data["image"], ext["image"]
            if img.shape[1] / img.shape[0] + other.shape[1] / other.shape[0] > self.max_wh_ratio:
                break
            try:
                data = self.merge(data, ext)
            except ImageFormatError:
                continue
        return data
