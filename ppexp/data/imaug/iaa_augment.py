"""IaaAugment: upstream's imgaug-style det augmentation list on numpy/cv2 (no imgaug, no albumentations).

Config (upstream's keys)::

    - IaaAugment:
        augmenter_args:
          - { 'type': Fliplr, 'args': { 'p': 0.5 } }
          - { 'type': Affine, 'args': { 'rotate': [-10, 10] } }
          - { 'type': Resize, 'args': { 'size': [0.5, 3] } }

Augmenters run in order on the image and the polygon points. Every random draw comes from
numpy's global RNG, so a run seeded through Global.seed (and the per-worker seeding) repeats
exactly; upstream's flips and rotations use albumentations' unseeded RNG and do not.
- Fliplr/Flipud ``p``: mirror with probability p (x -> w - x).
- Affine ``rotate`` [lo, hi] or a number (degrees, clockwise positive as imgaug), optional ``scale``:
  about the image centre, bilinear, black border, same output size (corners may leave the frame;
  points outside the image are kept, as upstream).
- Resize ``size`` [lo, hi] or a number: both sides times one factor s (aspect kept), bilinear.
"""
import cv2
import numpy as np

from ppexp.data.imaug.registry import TRANSFORMS

DEFAULT_AUGMENTERS = [
    {"type": "Fliplr", "args": {"p": 0.5}},
    {"type": "Affine", "args": {"rotate": [-10, 10]}},
    {"type": "Resize", "args": {"size": [0.5, 3]}},
]


def _draw(value):
    """A number is fixed; [lo, hi] is uniform in the range (numpy's global RNG)."""
    if isinstance(value, (int, float)):
        return float(value)
    return float(np.random.uniform(value[0], value[1]))


class Flip:
    def __init__(self, axis, p=0.5):
        self.axis, self.p = axis, float(p)

    def __call__(self, img, pts):
        if np.random.random() >= self.p:
            return img, pts
        h, w = img.shape[:2]
        pts = pts.copy()
        if self.axis == 1:
            img, pts[..., 0] = img[:, ::-1], w - pts[..., 0]
        else:
            img, pts[..., 1] = img[::-1], h - pts[..., 1]
        return np.ascontiguousarray(img), pts


class Affine:
    def __init__(self, rotate=0.0, scale=1.0):
        _check_range(rotate, "rotate")
        _check_range(scale, "scale")
        self.rotate, self.scale = rotate, scale

    def __call__(self, img, pts):
        angle, scale = _draw(self.rotate), _draw(self.scale)
        h, w = img.shape[:2]
        matrix = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), -angle, scale)
        img = cv2.warpAffine(img, matrix, (w, h), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return img, pts @ matrix[:, :2].T + matrix[:, 2]


class Resize:
    def __init__(self, size):
        _check_range(size, "size")
        self.size = size

    def __call__(self, img, pts):
        s = _draw(self.size)
        h, w = img.shape[:2]
        nh, nw = max(1, int(h * s)), max(1, int(w * s))
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
        return img, pts * np.array([nw / w, nh / h])


def _check_range(value, name):
    """Validate a number or [low, high] at build time (without drawing)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok or (isinstance(value, (list, tuple)) and len(value) == 2
                and all(isinstance(v, (int, float)) for v in value) and value[0] <= value[1])
    if not ok:
        raise ValueError(f"IaaAugment: '{name}' must be a number or [low, high], got {value!r}")


AUGMENTERS = {
    "Fliplr": lambda p=0.5: Flip(1, p),
    "Flipud": lambda p=0.5: Flip(0, p),
    "Affine": Affine,
    "Resize": Resize,
}


def build_augmenter(spec, index):
    """One ``{'type': Name, 'args': {...}}`` item (or upstream's ``[Name, arg, ...]`` list form)."""
    if isinstance(spec, dict) and "type" in spec:
        name, args, kwargs = spec["type"], [], dict(spec.get("args") or {})
    elif isinstance(spec, (list, tuple)) and spec and isinstance(spec[0], str):
        name, args, kwargs = spec[0], list(spec[1:]), {}
    else:
        raise ValueError(f"IaaAugment.augmenter_args[{index}]: expected {{'type': Name, 'args': {{...}}}}, got {spec!r}")
    if name not in AUGMENTERS:
        raise ValueError(f"IaaAugment.augmenter_args[{index}]: augmenter '{name}' is not supported on numpy/cv2; "
                         f"supported: {', '.join(AUGMENTERS)}")
    try:
        return AUGMENTERS[name](*args, **kwargs)
    except TypeError as err:
        raise ValueError(f"IaaAugment.augmenter_args[{index}] ({name}): {err}") from None


@TRANSFORMS.register()
class IaaAugment:
    """Flip / rotate / rescale ``image`` and ``polys`` together (see the module docstring)."""

    def __init__(self, augmenter_args=None):
        specs = DEFAULT_AUGMENTERS if augmenter_args is None else augmenter_args
        if not isinstance(specs, list):
            raise ValueError(f"IaaAugment.augmenter_args must be a list, got {specs!r}")
        self.augmenters = [build_augmenter(spec, i) for i, spec in enumerate(specs)]

    def __call__(self, data):
        img = data["image"]
        pts = np.asarray(data["polys"], dtype=np.float64)
        for aug in self.augmenters:
            img, pts = aug(img, pts)
        data["image"] = img
        data["polys"] = pts.astype(np.float32)
        return data
