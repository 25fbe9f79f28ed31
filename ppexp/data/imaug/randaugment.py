"""RandAugment on numpy/cv2, safe for any image dtype or channel count.

Upstream PaddleOCR hands the array to ``PIL.Image.fromarray``, which raises
on float, multi-channel 16-bit or 2-channel arrays ("value conversion" /
"Cannot handle this data type") in the middle of an epoch. Here every input
is first converted explicitly by :func:`to_uint8_bgr`, and the ops work on
uint8 HxWx3 arrays with cv2/numpy.

Ops and magnitude semantics follow upstream's ``RawRandAugment``: the
level is ``magnitude / 10``; shear 0.3*level, translate 150/331*level of the
size, rotate 30*level degrees, color/contrast/sharpness/brightness factor
1 +- 0.9*level, posterize to int(4*level) bits, solarize above 256*level,
plus autocontrast, equalize and invert; ``num_layers`` ops are drawn
uniformly with replacement. Deviations: posterize keeps at least 1 bit
(upstream turns the image black below magnitude 2.5), the colour weights
of the grey image are BGR-correct (upstream feeds BGR to PIL as RGB), and
shears resample bilinearly instead of bicubically (5x faster in cv2).

Randomness comes from the global ``np.random`` state, which paddle's
DataLoader seeds differently in every worker.
"""
import numbers

import cv2
import numpy as np

from ppexp.data.imaug.registry import TRANSFORMS

MAX_LEVEL = 10.0


class ImageFormatError(ValueError):
    """The value is not something that can be read as an image."""


def _select_channels(arr):
    """2-D/3-D array -> (HxW gray or HxWx3), dropping alpha / extra channels."""
    if arr.ndim == 2:
        return arr
    c = arr.shape[2]
    if c in (1, 2):           # gray, gray + alpha
        return arr[:, :, 0]
    return arr[:, :, :3]      # BGR, BGRA, or more channels


def _float_to_uint8(arr):
    """Floats in [0, 1] are scaled by 255, anything else is clipped to [0, 255]; NaN -> 0."""
    arr = np.nan_to_num(arr.astype(np.float32, copy=False), nan=0.0, posinf=255.0, neginf=0.0)
    if arr.size and arr.min() >= 0.0 and arr.max() <= 1.0:
        arr = arr * 255.0
    return np.clip(arr + 0.5, 0, 255).astype(np.uint8)


def _int_to_uint8(arr):
    """Integers in [0, 255] are kept; non-negative 16-bit ranges are divided by 257;
    larger ranges are scaled by 255/max; arrays with negatives are min-max normalised."""
    lo, hi = int(arr.min()), int(arr.max())
    if lo >= 0 and hi <= 255:
        return arr.astype(np.uint8)
    arr = arr.astype(np.float64)
    if lo >= 0:
        arr = arr / 257.0 if hi <= 65535 else arr * (255.0 / hi)
    else:
        arr = (arr - lo) * (255.0 / max(hi - lo, 1))
    return np.clip(arr + 0.5, 0, 255).astype(np.uint8)


def to_uint8_values(arr):
    """Any numeric array -> uint8 with the documented scaling rules."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * np.uint8(255)
    if np.issubdtype(arr.dtype, np.complexfloating):
        arr = arr.real
    if np.issubdtype(arr.dtype, np.integer):
        return _int_to_uint8(arr)
    if np.issubdtype(arr.dtype, np.floating):
        return _float_to_uint8(arr)
    try:
        return _float_to_uint8(arr.astype(np.float64))
    except (TypeError, ValueError) as err:
        raise ImageFormatError(f"image of dtype {arr.dtype} cannot be read as numbers: {err}") from err


def to_uint8_bgr(img):
    """Coerce an image-like value to a contiguous uint8 HxWx3 array.

    Accepts HxW, HxWx1 (gray), HxWx2 (gray+alpha), HxWx3, HxWx4 (alpha dropped),
    CxHxW when the last axis is clearly not channels, extra leading/trailing
    singleton axes, PIL images, and any numeric dtype (bool, ints, floats in
    0-1 or 0-255). Raises :class:`ImageFormatError` when it is not an image.
    """
    if hasattr(img, "mode") and hasattr(img, "convert"):  # PIL image
        img = img if img.mode in ("L", "RGB", "RGBA", "I", "I;16", "F") else img.convert("RGB")
    arr = np.asarray(img)
    while arr.ndim > 3 and arr.shape[0] == 1:
        arr = arr[0]
    while arr.ndim > 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise ImageFormatError(f"expected an HxW or HxWxC image, got shape {arr.shape}")
    if arr.ndim == 3 and arr.shape[2] > 4 and arr.shape[0] <= 4:
        arr = arr.transpose(1, 2, 0)
    arr = to_uint8_values(_select_channels(arr))
    if arr.ndim == 2:
        return cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(arr)


def _sign():
    return 1.0 if np.random.random() < 0.5 else -1.0


def _lut(img, table):
    """Apply a 256-entry (or 256x1x3 per-channel) lookup table."""
    return cv2.LUT(img, np.clip(table, 0, 255).astype(np.uint8))


def _blend(img, degenerate, factor):
    """PIL ImageEnhance: degenerate + factor * (img - degenerate), saturated."""
    return cv2.addWeighted(img, factor, degenerate, 1.0 - factor, 0.0)


def _pil_affine(img, coeffs, interp, fill):
    """PIL ``Image.transform(AFFINE, coeffs)``: output (x, y) samples input
    (a x + b y + c, d x + e y + f) in PIL's pixel-centre convention."""
    a, b, c, d, e, f = coeffs
    m = np.array([[a, b, c + 0.5 * (a + b) - 0.5], [d, e, f + 0.5 * (d + e) - 0.5]], np.float64)
    h, w = img.shape[:2]
    return cv2.warpAffine(img, m, (w, h), flags=interp | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=fill)


def shear_x(img, level, fill):
    return _pil_affine(img, (1, level * _sign(), 0, 0, 1, 0), cv2.INTER_LINEAR, fill)


def shear_y(img, level, fill):
    return _pil_affine(img, (1, 0, 0, level * _sign(), 1, 0), cv2.INTER_LINEAR, fill)


def translate_x(img, level, fill):
    return _pil_affine(img, (1, 0, level * img.shape[1] * _sign(), 0, 1, 0), cv2.INTER_NEAREST, fill)


def translate_y(img, level, fill):
    return _pil_affine(img, (1, 0, 0, 0, 1, level * img.shape[0] * _sign()), cv2.INTER_NEAREST, fill)


def rotate(img, degrees, fill):
    """Counter-clockwise about the centre, same size, like PIL ``rotate`` (upstream: no sign flip)."""
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), degrees, 1.0)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_NEAREST,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=fill)


def color(img, level, fill):
    gray = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    return _blend(img, gray, 1.0 + level * _sign())


def contrast(img, level, fill):
    mean = int(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).mean() + 0.5)
    factor = 1.0 + level * _sign()
    return cv2.addWeighted(img, factor, img, 0.0, (1.0 - factor) * mean)


def brightness(img, level, fill):
    return cv2.addWeighted(img, 1.0 + level * _sign(), img, 0.0, 0.0)


_SMOOTH = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], np.float32) / 13.0


def sharpness(img, level, fill):
    """Blend with PIL's SMOOTH-filtered image (border pixels kept, as PIL does)."""
    degenerate = img.copy()
    if img.shape[0] > 2 and img.shape[1] > 2:
        degenerate[1:-1, 1:-1] = cv2.filter2D(img, -1, _SMOOTH)[1:-1, 1:-1]
    return _blend(img, degenerate, 1.0 + level * _sign())


def posterize(img, bits, fill):
    bits = int(min(max(bits, 1), 8))
    mask = (0xFF << (8 - bits)) & 0xFF
    return cv2.bitwise_and(img, np.full_like(img, mask))


def solarize(img, threshold, fill):
    table = np.arange(256)
    return _lut(img, np.where(table >= threshold, 255 - table, table))


def autocontrast(img, level, fill):
    """Stretch each channel's [min, max] to [0, 255] (channels with max == min are kept)."""
    lo, hi = np.array([cv2.minMaxLoc(ch)[:2] for ch in cv2.split(img)]).T
    flat = hi <= lo
    scale = np.where(flat, 1.0, 255.0 / np.where(flat, 1.0, hi - lo))
    offset = np.where(flat, 0.0, lo)
    table = (np.arange(256)[:, None] - offset) * scale
    return _lut(img, np.floor(table + 0.5).reshape(256, 1, 3))


def equalize(img, level, fill):
    return cv2.merge([cv2.equalizeHist(np.ascontiguousarray(ch)) for ch in cv2.split(img)])


def invert(img, level, fill):
    return cv2.bitwise_not(img)


def level_map(magnitude):
    """Op name -> (function, magnitude argument), as upstream's ``level_map``."""
    lv = magnitude / MAX_LEVEL
    return {
        "shearX": (shear_x, 0.3 * lv), "shearY": (shear_y, 0.3 * lv),
        "translateX": (translate_x, 150.0 / 331 * lv), "translateY": (translate_y, 150.0 / 331 * lv),
        "rotate": (rotate, 30.0 * lv), "color": (color, 0.9 * lv),
        "posterize": (posterize, int(4.0 * lv)), "solarize": (solarize, 256.0 * lv),
        "contrast": (contrast, 0.9 * lv), "sharpness": (sharpness, 0.9 * lv),
        "brightness": (brightness, 0.9 * lv), "autocontrast": (autocontrast, 0),
        "equalize": (equalize, 0), "invert": (invert, 0),
    }


def _check_number(name, value, low=0.0, high=None, integer=False):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = ok and value >= low and (high is None or value <= high) and (not integer or float(value).is_integer())
    if not ok:
        kind = "an integer" if integer else "a number"
        bound = f">= {low}" + (f" and <= {high}" if high is not None else "")
        raise ValueError(f"RandAugment.{name} must be {kind} {bound}, got {value!r}")


@TRANSFORMS.register()
class RandAugment:
    """With probability ``prob``, apply ``num_layers`` random ops of strength ``magnitude`` (0-10).

    ``num_ops`` is accepted as an alias of ``num_layers`` (torchvision's name).
    The output image is always uint8 HxWx3, also when no op is applied.
    """

    def __init__(self, prob=0.5, num_layers=None, magnitude=5, fillcolor=(128, 128, 128), num_ops=None):
        if num_layers is not None and num_ops is not None and num_layers != num_ops:
            raise ValueError(f"RandAugment: num_layers={num_layers} and num_ops={num_ops} disagree; give one of them")
        num_layers = num_layers if num_layers is not None else (num_ops if num_ops is not None else 2)
        _check_number("prob", prob, 0.0, 1.0)
        _check_number("num_layers", num_layers, 0, integer=True)
        _check_number("magnitude", magnitude, 0.0)
        self.prob = float(prob)
        self.num_layers = int(num_layers)
        self.magnitude = float(magnitude)
        self.fillcolor = tuple(float(v) for v in (fillcolor if np.ndim(fillcolor) else (fillcolor,) * 3))
        self.ops = list(level_map(self.magnitude).items())

    def apply(self, img):
        """Apply ``num_layers`` random ops to a uint8 HxWx3 image."""
        for _ in range(self.num_layers):
            _, (fn, arg) = self.ops[np.random.randint(len(self.ops))]
            img = fn(img, arg, self.fillcolor)
        return img

    def __call__(self, data):
        try:
            img = to_uint8_bgr(data["image"])
        except ImageFormatError as err:
            data["_reject"] = f"RandAugment: {err}"
            return None
        if np.random.random() < self.prob:
            img = self.apply(img)
        data["image"] = img
        return data
