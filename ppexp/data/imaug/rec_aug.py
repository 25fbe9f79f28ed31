"""RecAug: upstream PaddleOCR's text-line augmentation (TIA warps + basic ops).

Two signatures exist in real configs, both accepted (not mixed):

* current upstream: ``tia_prob``, ``crop_prob``, ``reverse_prob``,
  ``noise_prob``, ``jitter_prob``, ``blur_prob``, ``hsv_aug_prob``, each 0.4 by
  default. One draw against ``tia_prob`` applies distort + stretch (only when
  the image is at least 20x20) and perspective; then crop (>= 20x20 only),
  blur, hsv, jitter, noise and reverse each with their own probability.
* older upstream releases: ``use_tia`` (True) and ``aug_prob`` (0.4). distort,
  stretch (>= 20x20 only) and perspective are drawn independently with
  ``aug_prob`` when ``use_tia``; crop, blur, hsv, noise and reverse with
  ``aug_prob``; jitter always.

The basic ops keep upstream's strength, which is mild at text-line sizes:
jitter shifts by ``int(rand * min(h, w) * 0.01)`` pixels (nothing below
200 px), noise is N(0, 0.1) * 0.5 then truncated, hsv scales V by
1 +- 0.001*rand (done as a per-pixel scale of B, G, R, which is the same
thing for V without the lossy HSV round trip). Tiny images never crash:
warps are skipped when there is nothing to move (e.g. height < 2).
"""
import cv2
import numpy as np

from ppexp.data.imaug.randaugment import ImageFormatError, to_uint8_bgr
from ppexp.data.imaug.registry import TRANSFORMS
from ppexp.data.imaug.tia import tia_distort, tia_perspective, tia_stretch

MIN_WARP_SIDE = 20  # upstream: distort / stretch / crop only on images >= 20x20


def random_crop(img):
    """Cut 1-8 rows (at most h - 1) off the top or the bottom."""
    h = img.shape[0]
    cut = min(np.random.randint(1, 9), h - 1)
    return img[cut:] if np.random.randint(2) else img[: h - cut]


def blur(img):
    """5x5 Gaussian, sigma 1, on images larger than 10x10."""
    h, w = img.shape[:2]
    return cv2.GaussianBlur(img, (5, 5), 1) if h > 10 and w > 10 else img


def hsv_aug(img):
    """Scale brightness (HSV value) by 1 +- 0.001*rand, truncating like upstream."""
    factor = 1.0 + 0.001 * np.random.random() * (1.0 if np.random.random() > 0.5000001 else -1.0)
    return np.multiply(img, np.float32(factor), dtype=np.float32).astype(np.uint8)


def jitter(img):
    """Upstream's diagonal smear: shift by up to ``s`` pixels, s = int(rand * min(h, w) * 0.01)."""
    h, w = img.shape[:2]
    if h <= 10 or w <= 10:
        return img
    s = int(np.random.random() * min(h, w) * 0.01)
    if s <= 1:
        return img
    out = img.copy()
    for i in range(1, s):
        out[i:, i:] = img[: h - i, : w - i]
    return out


def gaussian_noise(img, mean=0.0, var=0.1):
    """img + 0.5 * N(mean, var), clipped and truncated to uint8 (cv2's RNG, seeded from np.random)."""
    noise = np.empty((img.size, 1), np.float32)  # one channel, so cv2 uses mean/std for every value
    cv2.setRNGSeed(int(np.random.randint(2 ** 31 - 1)))
    cv2.randn(noise, mean, var ** 0.5)
    noise = noise.reshape(img.shape)
    noise *= 0.5
    noise += img
    return np.clip(noise, 0, 255, out=noise).astype(np.uint8)


def reverse(img):
    return cv2.bitwise_not(img)


def _prob(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"RecAug.{name} must be a probability in [0, 1], got {value!r}")
    return float(value)


@TRANSFORMS.register()
class RecAug:
    """Upstream's RecAug with either the current or the old parameter set (see module doc).

    The output is a uint8 HxWx3 image of the input's width (crop removes up to 8
    rows); other dtypes / channel counts are converted first like RandAugment
    does, and a value that is not an image rejects the sample.
    """

    CURRENT = ("tia_prob", "crop_prob", "reverse_prob", "noise_prob", "jitter_prob", "blur_prob", "hsv_aug_prob")
    OLD = ("use_tia", "aug_prob")

    def __init__(self, tia_prob=None, crop_prob=None, reverse_prob=None, noise_prob=None, jitter_prob=None,
                 blur_prob=None, hsv_aug_prob=None, use_tia=None, aug_prob=None):
        current = dict(tia_prob=tia_prob, crop_prob=crop_prob, reverse_prob=reverse_prob, noise_prob=noise_prob,
                       jitter_prob=jitter_prob, blur_prob=blur_prob, hsv_aug_prob=hsv_aug_prob)
        current = {k: v for k, v in current.items() if v is not None}
        old = {k: v for k, v in dict(use_tia=use_tia, aug_prob=aug_prob).items() if v is not None}
        if current and old:
            raise ValueError(
                f"RecAug: {sorted(old)} belong to the old signature (use_tia, aug_prob) and {sorted(current)} to "
                f"the current one ({', '.join(self.CURRENT)}); use one of them")
        self.legacy = bool(old)
        if self.legacy:
            p = _prob("aug_prob", old.get("aug_prob", 0.4))
            use = old.get("use_tia", True)
            if not isinstance(use, bool):
                raise ValueError(f"RecAug.use_tia must be true or false, got {use!r}")
            t = p if use else 0.0
            self.probs = dict(distort=t, stretch=t, perspective=t, crop=p, blur=p, hsv=p, jitter=1.0, noise=p,
                              reverse=p)
        else:
            pr = {k: _prob(k, current.get(k, 0.4)) for k in self.CURRENT}
            self.tia_prob = pr["tia_prob"]
            self.probs = dict(crop=pr["crop_prob"], blur=pr["blur_prob"], hsv=pr["hsv_aug_prob"],
                              jitter=pr["jitter_prob"], noise=pr["noise_prob"], reverse=pr["reverse_prob"])

    def _hit(self, name):
        return np.random.random() < self.probs[name]

    def tia(self, img):
        """The warps: one joint draw (current) or one draw per warp (old)."""
        h, w = img.shape[:2]
        big = h >= MIN_WARP_SIDE and w >= MIN_WARP_SIDE
        if not self.legacy:
            if np.random.random() < self.tia_prob:
                if big:
                    img = tia_distort(img, np.random.randint(3, 7))
                    img = tia_stretch(img, np.random.randint(3, 7))
                img = tia_perspective(img)
            return img
        if self._hit("distort") and big:
            img = tia_distort(img, np.random.randint(3, 7))
        if self._hit("stretch") and big:
            img = tia_stretch(img, np.random.randint(3, 7))
        if self._hit("perspective"):
            img = tia_perspective(img)
        return img

    def basic(self, img):
        """crop, blur, hsv, jitter, noise, reverse in upstream's order."""
        h, w = img.shape[:2]
        if self._hit("crop") and h >= MIN_WARP_SIDE and w >= MIN_WARP_SIDE:
            img = random_crop(img)
        for name, fn in (("blur", blur), ("hsv", hsv_aug), ("jitter", jitter), ("noise", gaussian_noise),
                         ("reverse", reverse)):
            if self._hit(name):
                img = fn(img)
        return img

    def __call__(self, data):
        try:
            img = to_uint8_bgr(data["image"])
        except ImageFormatError as err:
            data["_reject"] = f"RecAug: {err}"
            return None
        data["image"] = np.ascontiguousarray(self.basic(self.tia(img)))
        return data
