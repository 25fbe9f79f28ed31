"""CropToText: cut a loose one-line plate crop to the box around its text, so the characters fill the input.

A detector's box or a hand crop often shows the bumper, the car body or the grille around the plate; resized
to the model's height, such a crop leaves the characters a fraction of the rows (a plate 1/3 of a loose crop's
height gets ~20 of 64 rows). CropToText finds the text line (two_line.text_box: the strongest band of rows of
horizontal-gradient energy, then the strongest run of columns in it, grown over the gaps between character
groups) and cuts the crop to it plus ``pad`` x the text height on every side.

A crop that holds two text lines (find_line_split finds their gap: a two-line plate TwoLineToOneLine joins
next) is left alone: its strongest band is one of the lines. Deterministic; applied the same way in Train and
Eval, by ``ppexp predict`` and on an export (``ppexp_preprocess``; PaddleOCR 3 has no such step). Put it after
Deskew and before TwoLineToOneLine.
"""
from ppexp.data.imaug.options import number_option
from ppexp.data.imaug.registry import TRANSFORMS
from ppexp.data.imaug.two_line import PROFILE_HEIGHT, find_line_split, text_box


@TRANSFORMS.register()
class CropToText:
    """Config: ``- CropToText: {pad: 0.3}`` (this default): the margin kept around the text, in text heights."""

    ppexp_only_export = True  # PaddleX has no such op: export writes it under ppexp_preprocess

    def __init__(self, pad=0.3):
        self.pad = number_option("CropToText", "pad", pad, lo=0.0, hi=2.0)

    def __call__(self, data):
        img = data["image"]
        if img.shape[0] < 8 or img.shape[1] < 8 or find_line_split(img) is not None:
            return data
        y0, y1, x0, x1 = text_box(img, pad=self.pad, rows=PROFILE_HEIGHT)
        if (y1 - y0, x1 - x0) != img.shape[:2]:
            data["image"] = img[y0:y1, x0:x1]
        return data
