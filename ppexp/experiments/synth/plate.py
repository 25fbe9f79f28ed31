"""Draw a flat, front-facing plate (BGR uint8) for a ``PlateSpec``.

Colours, rim line, flag band / EV emblem / construction logo, embossed text with a
shade, bolts, dirt and an optional plate-holder frame; all vectorised with numpy
and OpenCV drawing calls. Perspective, lighting and sensor effects are scene.py's.
"""
import cv2
import numpy as np

from ppexp.experiments.synth.fonts import PLATE_LETTERING
from ppexp.experiments.synth.layouts import ASPECT, LAYOUTS

# BGR colours: several plate backgrounds per style (faded / new sheets), text colour, rim colour.
STYLES = {
    "white": ([(238, 240, 240), (224, 228, 230), (246, 246, 242), (210, 214, 214)], (22, 22, 22), (35, 35, 35)),
    "military": ([(215, 218, 218), (190, 194, 196), (232, 234, 234)], (25, 25, 25), (40, 40, 40)),
    "green": ([(72, 128, 24), (96, 150, 30), (112, 160, 44), (80, 118, 34)], (236, 242, 236), (230, 236, 230)),
    "yellow": ([(22, 192, 242), (36, 204, 246), (12, 172, 228), (60, 200, 235)], (22, 22, 22), (30, 30, 30)),
    "blue": ([(236, 192, 120), (228, 200, 142), (240, 184, 104)], (32, 26, 22), (90, 50, 20)),
    "orange": ([(32, 92, 222), (42, 104, 232), (24, 80, 206)], (240, 242, 242), (236, 238, 238)),
    "navy": ([(112, 46, 26), (124, 60, 30), (96, 40, 24)], (238, 240, 240), (230, 232, 232)),
}
DEALER_WORDS = ("HYUNDAI", "KIA MOTORS", "BMW Korea", "SsangYong", "GM KOREA", "RENAULT", "TOYOTA")
NAVY = (120, 44, 20)


def _u(rng, lo, hi):
    return lo + (hi - lo) * rng.random()


def _paste(mask, glyph, x, y):
    """np.maximum ``glyph`` into ``mask`` at integer (x, y), clipped to the mask."""
    h, w = glyph.shape
    H, W = mask.shape
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 > x0 and y1 > y0:
        sub = mask[y0:y1, x0:x1]
        np.maximum(sub, glyph[y0 - y:y1 - y, x0 - x:x1 - x], out=sub)


def text_mask(cache, font, cells, shape):
    mask = np.zeros(shape, np.uint8)
    for ch, x, y, w, h in cells:
        xi, yi = int(round(x)), int(round(y))
        wi, hi = max(1, int(round(x + w)) - xi), max(1, int(round(y + h)) - yi)
        gh, gw = cache.glyph(font, ch).shape
        fit = min(wi, max(1, int(round(hi * gw / gh * 1.1))))   # never widen narrow glyphs ('1') much
        _paste(mask, cache.fitted(font, ch, fit, hi), xi + (wi - fit) // 2, yi)
    return mask


def _background(rng, style, H, W):
    bgs, fg, rim = STYLES[style]
    bg = np.array(bgs[int(rng.integers(len(bgs)))], np.float32) + rng.normal(0, 10) + rng.normal(0, 5, 3).astype(np.float32)
    grad = np.linspace(-1, 1, H, dtype=np.float32)[:, None, None] * _u(rng, -0.08, 0.08)
    img = np.empty((H, W, 3), np.float32)
    img[:] = bg * (1 + grad)
    return img, np.array(fg, np.float32) + rng.normal(0, 5, 3).astype(np.float32), rim


def _flag_band(img, cache, H, W):
    """The left band of 2020+ white plates: navy strip, taegeuk circle, 'KOR'."""
    bw = int(W * 0.085)
    img[:, :bw] = NAVY
    c, r = (bw // 2, int(H * 0.38)), max(2, int(bw * 0.32))
    cv2.ellipse(img, c, (r, r), 0, 180, 360, (50, 40, 205), -1, cv2.LINE_AA)
    cv2.ellipse(img, c, (r, r), 0, 0, 180, (160, 70, 20), -1, cv2.LINE_AA)
    kor = text_mask(cache, 0, [(ch, bw * (0.14 + 0.25 * i), H * 0.68, bw * 0.22, H * 0.14)
                               for i, ch in enumerate("KOR")], (H, W))
    a = kor[:, :, None].astype(np.float32) / 255
    img *= 1 - a
    img += a * 230
    return bw


def _ev_emblem(img, H, W):
    """EV plates: faint circles at the left, a lightning bolt at the right."""
    col = (200, 140, 70)
    for yy in (0.3, 0.7):
        cv2.circle(img, (int(W * 0.045), int(H * yy)), max(2, int(H * 0.14)), col, max(1, H // 30), cv2.LINE_AA)
    x, y, s = W * 0.965, H * 0.5, H * 0.22
    bolt = np.array([[x + .1 * s, y - s], [x - .45 * s, y + .1 * s], [x, y + .1 * s],
                     [x - .1 * s, y + s], [x + .45 * s, y - .1 * s], [x, y - .1 * s]], np.int32)
    cv2.fillPoly(img, [bolt], (210, 130, 50), cv2.LINE_AA)
    return int(W * 0.085), int(W * 0.055)


def _bolts(img, rng, spec, H, W, plate_bg):
    """Two bolt heads: near the top corners (two-line) or at the ends (one-line)."""
    if spec.two_line:
        y, x, r = H * _u(rng, 0.1, 0.16), W * _u(rng, 0.1, 0.2), H * 0.045
    else:
        y, x, r = H * 0.5, W * _u(rng, 0.025, 0.04), H * 0.06
    metal = _u(rng, 120, 210)
    cap = tuple(float(v) for v in plate_bg) if rng.random() < 0.4 else (metal, metal, metal)
    ri = max(1, int(round(r)))
    for c in ((int(x), int(y)), (int(W - x), int(y))):
        cv2.circle(img, c, ri, cap, -1, cv2.LINE_AA)
        cv2.circle(img, c, ri, (60, 60, 60), max(1, ri // 3), cv2.LINE_AA)
        cv2.circle(img, (c[0] - ri // 3, c[1] - ri // 3), max(1, ri // 3), (245, 245, 245), -1)


def _holder(img, cache, rng, H):
    """Pad with a plate-holder frame (black plastic / chrome), sometimes with dealer text."""
    t = max(1, int(H * _u(rng, 0.03, 0.12)))
    tb = t + (int(H * _u(rng, 0.08, 0.22)) if rng.random() < 0.35 else 0)
    v = _u(rng, 10, 60) if rng.random() < 0.7 else _u(rng, 140, 210)
    out = cv2.copyMakeBorder(img, t, tb, t, t, cv2.BORDER_CONSTANT, value=(v, v, v))
    if tb > t + 2 and rng.random() < 0.6:
        word = DEALER_WORDS[int(rng.integers(len(DEALER_WORDS)))]
        h, W = (tb - t) * 0.55, out.shape[1]
        cw = h * 0.6
        x0 = (W - cw * len(word)) / 2
        cells = [(ch, x0 + i * cw, H + t + (tb - t) * 0.2, cw * 0.85, h) for i, ch in enumerate(word) if ch != " "]
        m = text_mask(cache, 0, cells, out.shape[:2])[:, :, None].astype(np.float32) / 255
        out = out * (1 - m) + m * (255 - v if v < 100 else 40)
    return out


def draw_plate(rng, spec, H, cache):
    """Plate image (float32 BGR 0..255) of pixel height ``H`` (+ holder frame when drawn)."""
    W = int(round(H * ASPECT[spec.layout]))
    img, fg, rim = _background(rng, spec.style, H, W)
    plate_bg = img[H // 2, W // 2].copy()
    left = right = 0
    if spec.style == "blue":
        left, right = _ev_emblem(img, H, W)
    elif spec.style == "white" and spec.layout == "long" and rng.random() < (0.6 if len(spec.head) == 3 else 0.15):
        left = _flag_band(img, cache, H, W)
    if rng.random() < 0.8:
        inset, th = max(1, int(H * 0.03)), max(1, int(round(H * 0.018)))
        cv2.rectangle(img, (inset, inset), (W - 1 - inset, H - 1 - inset), rim, th, cv2.LINE_AA)
    if spec.layout == "two_line_construction":
        cv2.circle(img, (int(W * 0.12), int(H * 0.24)), max(2, int(H * 0.1)), tuple(map(float, fg)), max(1, H // 40))
    font = int(rng.choice(len(cache.paths), p=cache.weights))
    cells = LAYOUTS[spec.layout](rng, spec, W, H, left, right)
    if rng.random() < 0.7:                  # plate lettering: a flat-topped 3 and a short-flagged 1
        cells = [(PLATE_LETTERING[c[0]][0] if c[0] in PLATE_LETTERING else c[0],) + tuple(c[1:]) for c in cells]
    mask = text_mask(cache, font, cells, (H, W))
    r = rng.random()
    if r < 0.45:                            # stroke weight: plate lettering is heavier than most fonts
        k = max(2, int(round(H * _u(rng, 0.02, 0.06))))
        mask = cv2.dilate(mask, np.ones((k, k), np.uint8))
    elif r < 0.6 and H >= 40:
        mask = cv2.erode(mask, np.ones((2, 2), np.uint8))
    d = max(1, H // 40)
    shade = np.zeros_like(mask)
    shade[d:, d:] = mask[:-d, :-d]
    img *= 1 - (_u(rng, 0.1, 0.4) / 255) * shade[:, :, None]
    a = mask[:, :, None].astype(np.float32) * (1 / 255)
    img += a * (fg - img)
    if rng.random() < 0.6:
        _bolts(img, rng, spec, H, W, plate_bg)
    dirt = cv2.resize(rng.random((3, 6), dtype=np.float32), (W, H), interpolation=cv2.INTER_CUBIC)
    img *= 1 - _u(rng, 0.0, 0.25) * np.clip(dirt, 0, 1)[:, :, None]
    if rng.random() < 0.55:
        img = _holder(img, cache, rng, H)
    return img
