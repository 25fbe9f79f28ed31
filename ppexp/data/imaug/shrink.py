"""ShrinkLarge: shrink a crop taller than ``max_height`` rows to that height with area averaging.

The model's resize (RecResizeImg, PaddleOCR's bilinear cv2.resize) aliases a large crop shrunk several times
(a 350-row photo of a two-line plate to a 64-row input): thin strokes, a bare 1 above all, break up or vanish.
Area averaging first keeps them. Aspect ratio kept; smaller crops are left untouched. Deterministic; a
ppexp-only export step like Deskew (``ppexp_preprocess``).
"""
import cv2

from ppexp.data.imaug.options import number_option
from ppexp.data.imaug.registry import TRANSFORMS


@TRANSFORMS.register()
class ShrinkLarge:
    """Config: ``- ShrinkLarge: {max_height: 64}`` (this default: the crop height synth-plates draws). Put it
    first, after DecodeImage."""

    ppexp_only_export = True  # PaddleX has no such op: export writes it under ppexp_preprocess

    def __init__(self, max_height=64):
        self.max_height = number_option("ShrinkLarge", "max_height", max_height, lo=8, whole=True)

    def __call__(self, data):
        img = data["image"]
        h, w = img.shape[:2]
        if h > self.max_height:
            width = max(1, int(round(w * self.max_height / float(h))))
            data["image"] = cv2.resize(img, (width, self.max_height), interpolation=cv2.INTER_AREA)
        return data
