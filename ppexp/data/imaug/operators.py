"""Basic image transforms: DecodeImage, KeepKeys, NormalizeImage, ToCHWImage."""
import cv2
import numpy as np

from ppexp.data.imaug.registry import TRANSFORMS


@TRANSFORMS.register()
class DecodeImage:
    """Decode ``data['image']`` bytes to an HWC uint8 array (BGR, RGB or GRAY->3ch)."""

    def __init__(self, img_mode="RGB", channel_first=False, ignore_orientation=False):
        if img_mode not in ("RGB", "BGR", "GRAY"):
            raise ValueError(f"DecodeImage.img_mode must be RGB, BGR or GRAY, got {img_mode!r}")
        self.img_mode = img_mode
        self.channel_first = channel_first
        self.flags = cv2.IMREAD_COLOR | (cv2.IMREAD_IGNORE_ORIENTATION if ignore_orientation else 0)

    def __call__(self, data):
        buf = data["image"]
        if isinstance(buf, (bytes, bytearray, memoryview)):
            buf = np.frombuffer(buf, dtype=np.uint8)
        if buf is None or len(buf) == 0:
            data["_reject"] = "empty image file"
            return None
        img = cv2.imdecode(buf, self.flags)
        if img is None:
            data["_reject"] = "unreadable image"
            return None
        if self.img_mode == "GRAY":
            img = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        elif self.img_mode == "RGB":
            img = img[:, :, ::-1]
        if self.channel_first:
            img = img.transpose((2, 0, 1))
        data["image"] = np.ascontiguousarray(img)
        return data


@TRANSFORMS.register()
class KeepKeys:
    """Return ``[data[k] for k in keep_keys]`` (the loader's batch order)."""
    prepares_model_input = True

    def __init__(self, keep_keys):
        self.keep_keys = list(keep_keys)

    def __call__(self, data):
        missing = [k for k in self.keep_keys if k not in data]
        if missing:
            raise KeyError(
                f"KeepKeys: keys {missing} are not produced by the transforms before it "
                f"(available: {sorted(k for k in data if not k.startswith('_'))})"
            )
        return [data[k] for k in self.keep_keys]


@TRANSFORMS.register()
class NormalizeImage:
    """(img * scale - mean) / std, HWC float32 (upstream's NormalizeImage)."""
    prepares_model_input = True

    def __init__(self, scale=None, mean=None, std=None, order="chw"):
        if isinstance(scale, str):
            scale = eval_fraction(scale)
        self.scale = np.float32(scale if scale is not None else 1.0 / 255.0)
        shape = (3, 1, 1) if order == "chw" else (1, 1, 3)
        self.mean = np.array(mean if mean is not None else [0.485, 0.456, 0.406], np.float32).reshape(shape)
        self.std = np.array(std if std is not None else [0.229, 0.224, 0.225], np.float32).reshape(shape)

    def __call__(self, data):
        img = np.asarray(data["image"], dtype=np.float32)
        data["image"] = (img * self.scale - self.mean) / self.std
        return data


@TRANSFORMS.register()
class ToCHWImage:
    """HWC -> CHW."""
    prepares_model_input = True

    def __init__(self):  # explicit: no options (so Global keys are not passed in)
        pass

    def __call__(self, data):
        data["image"] = np.asarray(data["image"]).transpose((2, 0, 1))
        return data


def eval_fraction(text):
    """Parse '1./255.' style scale strings without eval()."""
    num, _, den = text.partition("/")
    return float(num) / float(den) if den else float(num)
