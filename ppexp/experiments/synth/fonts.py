"""Korean sans fonts (Nanum and other Debian font packages) found at run time, and a per-process cache of rendered glyph masks.

Glyphs are rendered once per (font, character) with PIL at a large size and
cropped to their ink; plates then resize them into layout cells (tall, narrow
cells give the condensed look of plate lettering). ``CACHE = False`` renders every
glyph from scratch with a freshly loaded font (the benchmark's naive baseline).
"""
import os
import shutil
import subprocess

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ppexp.errors import UsageError

INSTALL_HINT = ("sudo apt-get install fonts-nanum fonts-nanum-extra fonts-unfonts-core fonts-baekmuk "
                "fonts-noto-cjk fonts-lexi-gulim   (Debian/Ubuntu; only fonts-nanum is required)")
FONT_ENV = "PPEXP_PLATE_FONTS"
FONT_DIRS = [
    "/usr/share/fonts/truetype/nanum", "/usr/share/fonts/nanum", "/usr/share/fonts/TTF",
    "/usr/share/fonts/truetype/unfonts-core", "/usr/share/fonts/truetype/baekmuk",
    "/usr/share/fonts/truetype/lexi", "/usr/share/fonts/opentype/noto", "/usr/share/fonts/noto-cjk",
    "/usr/local/share/fonts", os.path.expanduser("~/.local/share/fonts"), os.path.expanduser("~/.fonts"),
]
# Sans (gothic / dotum) faces whose lettering resembles plates, with sampling weights: bold and heavy
# weights dominate (plate strokes are thick), lighter weights add variety. Packages: fonts-nanum (the
# only required one), fonts-nanum-extra, fonts-unfonts-core, fonts-baekmuk, fonts-noto-cjk,
# fonts-lexi-gulim. Serif, brush, pen and display faces are left out: no plate uses them.
PREFERRED = {
    "NanumGothicBold.ttf": 2.0, "NanumBarunGothicBold.ttf": 2.0, "NanumSquareB.ttf": 1.5,
    "NanumSquareRoundB.ttf": 0.7, "NanumGothic.ttf": 0.5, "NanumBarunGothic.ttf": 0.6,
    "NanumGothicExtraBold.ttf": 1.5, "NanumSquareEB.ttf": 1.0, "NanumSquareR.ttf": 0.4,
    "NanumSquare_acB.ttf": 1.0, "NanumSquare_acEB.ttf": 0.7, "NanumSquareRoundEB.ttf": 0.4,
    "NanumGothicCodingBold.ttf": 0.6, "NanumGothicCoding.ttf": 0.3,
    "UnDotumBold.ttf": 1.5, "UnDotum.ttf": 0.5, "UnGraphicBold.ttf": 1.0, "UnGraphic.ttf": 0.3,
    "UnDinaruBold.ttf": 0.8, "UnDinaru.ttf": 0.3,
    "hline.ttf": 1.0, "dotum.ttf": 0.6, "gulim.ttf": 0.4,
    "NotoSansCJK-Bold.ttc": 2.0, "NotoSansCJK-Regular.ttc": 0.6, "LexiGulim.ttf": 0.5,
}
# Font collections: the face index holding the Korean design (Noto Sans CJK: JP, KR, SC, TC, HK).
TTC_INDEX = {"NotoSansCJK-Bold.ttc": 1, "NotoSansCJK-Regular.ttc": 1}
GLYPH_SIZE = 96
CACHE = True


class FontNotFoundError(UsageError, FileNotFoundError):
    """No usable Korean (Nanum) font on this machine (exit code 2)."""


def _fc_list():
    if not shutil.which("fc-list"):
        return []
    try:
        out = subprocess.run(["fc-list", ":lang=ko", "file"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.split(":")[0].strip() for line in out.splitlines() if line.strip()]


def find_font_files():
    """[(path, weight)] of Korean sans fonts: $PPEXP_PLATE_FONTS, known folders, then fc-list."""
    env = [p for p in os.environ.get(FONT_ENV, "").split(os.pathsep) if p]
    if env:
        missing = [p for p in env if not os.path.isfile(p)]
        if missing:
            raise FontNotFoundError(f"${FONT_ENV} names missing font files: {missing}")
        return [(p, 1.0) for p in env]
    found = {}
    for d in FONT_DIRS:
        for name, w in PREFERRED.items():
            path = os.path.join(d, name)
            if name not in found and os.path.isfile(path):
                found[name] = (path, w)
    if not found:
        for path in sorted(_fc_list()):
            name = os.path.basename(path)
            if name in PREFERRED and name not in found:
                found[name] = (path, PREFERRED[name])
    if not found:
        raise FontNotFoundError(
            "synth-plates needs the Korean Nanum fonts (NanumGothic etc.), none found in "
            f"{FONT_DIRS} or via fc-list. Install them with:\n    {INSTALL_HINT}\n"
            f"or point ${FONT_ENV} at .ttf files that cover Hangul."
        )
    return [found[n] for n in PREFERRED if n in found]


def _load_font(path):
    return ImageFont.truetype(path, GLYPH_SIZE, index=TTC_INDEX.get(os.path.basename(path), 0))


def _render(path, ch):
    font = _load_font(path)
    img = Image.new("L", (GLYPH_SIZE * 2, GLYPH_SIZE * 2), 0)
    ImageDraw.Draw(img).text((GLYPH_SIZE // 2, GLYPH_SIZE // 2), ch, font=font, fill=255)
    a = np.asarray(img)
    ys, xs = np.nonzero(a > 8)
    if len(ys) == 0:
        raise FontNotFoundError(f"font {path} has no glyph for {ch!r}; use a Nanum font ({INSTALL_HINT})")
    return np.ascontiguousarray(a[ys.min():ys.max() + 1, xs.min():xs.max() + 1])


# Pseudo character for the plate-style '3': Korean plate lettering draws 3 with a flat top bar and a
# diagonal into the lower bowl (close to a 5 at low resolution); most fonts draw a round top.
FLAT_THREE = "3\u0304"


def flat_top_three(g):
    """The plate-style 3 derived from a font's round 3 (uint8 mask): lower bowl kept, top redrawn."""
    h, w = g.shape
    col = g[:, w // 2] > 127
    sw = 1
    while sw < h // 3 and col[h - 1 - sw]:     # the bottom stroke's thickness at the centre column
        sw += 1
    mid = int(h * 0.46)
    out = g.copy()
    out[:mid] = 0
    out[:sw, int(w * 0.1):] = 255
    cv2.line(out, (w - 1 - sw // 2, sw // 2), (int(w * 0.4), mid + sw // 2), 255, max(1, sw), cv2.LINE_AA)
    return out


# Pseudo character for the plate-style '1': a plain upright bar with a short flag and no foot, as on Korean
# plates (the condensed old green plates especially); most fonts draw a long flag that makes 1 unmistakable.
PLATE_ONE = "1\u0304"


def plate_one(g):
    """The plate-style 1 from a font's 1 (uint8 mask): its stem thickness, full height, a short flag."""
    h, w = g.shape
    row = g[int(h * 0.6)] > 127
    sw = max(1, int(row.sum()))             # stem thickness at 60% height (below any flag)
    fw = max(1, int(round(sw * 0.9)))       # the flag reaches about a stem's width left of the stem
    out = np.zeros((h, sw + fw), np.uint8)
    out[:, fw:] = 255
    fh = max(sw, int(round(h * 0.14)))
    cv2.line(out, (fw, 0), (0, fh), 255, max(1, int(round(sw * 0.7))), cv2.LINE_AA)
    return out


# Plate lettering: a plain character -> (its pseudo character, how that glyph is derived from the font's own).
PLATE_LETTERING = {"3": (FLAT_THREE, flat_top_three), "1": (PLATE_ONE, plate_one)}
_DERIVED = {pseudo: (plain, derive) for plain, (pseudo, derive) in PLATE_LETTERING.items()}


class GlyphCache:
    """Tight glyph masks per (font index, char), and resized copies per cell size."""

    def __init__(self, fonts):
        self.fonts = [tuple(f) for f in fonts]
        self.paths = [p for p, _ in fonts]
        w = np.array([w for _, w in fonts], dtype=np.float64)
        self.weights = w / w.sum()
        self._glyphs, self._fitted = {}, {}

    def glyph(self, font, ch):
        key = (font, ch)
        g = self._glyphs.get(key) if CACHE else None
        if g is None:
            if ch in _DERIVED:
                plain, derive = _DERIVED[ch]
                g = derive(self.glyph(font, plain))
            else:
                g = _render(self.paths[font], ch)
            if CACHE:
                self._glyphs[key] = g
        return g

    def warm(self, chars):
        """Render ``chars`` in every font now (before forking workers, so they share it)."""
        for font in range(len(self.paths)):
            for ch in chars:
                self.glyph(font, ch)
        return self

    def fitted(self, font, ch, w, h):
        """uint8 mask of ``ch`` stretched to exactly ``w`` x ``h`` pixels."""
        key = (font, ch, w, h)
        m = self._fitted.get(key) if CACHE else None
        if m is None:
            g = self.glyph(font, ch)
            interp = cv2.INTER_AREA if h < g.shape[0] else cv2.INTER_LINEAR
            m = cv2.resize(g, (max(1, w), max(1, h)), interpolation=interp)
            if CACHE:
                if len(self._fitted) > 50000:
                    self._fitted.clear()
                self._fitted[key] = m
        return m


_CACHE = None


def glyph_cache():
    """The process-wide ``GlyphCache`` (fonts looked up on first use)."""
    global _CACHE
    if _CACHE is None:
        _CACHE = GlyphCache(find_font_files())
    return _CACHE


def use_fonts(font_list):
    """Make ``font_list`` ([(path, weight)]) this process's fonts (workers get the parent's)."""
    global _CACHE
    font_list = [tuple(f) for f in font_list]
    if _CACHE is None or _CACHE.fonts != font_list:
        _CACHE = GlyphCache(font_list)
    return _CACHE


def reset_cache():
    global _CACHE
    _CACHE = None
