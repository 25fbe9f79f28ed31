"""Synthetic street scenes for plate detection (``ppexp synth-plates --det``).

A scene: sky and buildings above a horizon, a road with lane marks below, 1-3 car-like bodies seen
from behind or the front, each carrying a plate drawn by plate.py and warped in perspective
(plate.py's own plate_quad tilt), plates 20-200 px wide. Text-like clutter: shop signs (Hangul /
Latin words, not labelled: the detector must learn to leave them), number boards that look like
plates and far plates narrower than 20 px (labelled ``###``: don't care). The whole scene then goes
through scene.py's lighting and sensor effects.

Labels: one ``{"transcription", "points"}`` per plate, points the four corners of the plate sheet
(without the holder frame) clockwise from top-left, in image pixels.
"""
import cv2
import numpy as np

from ppexp.experiments.synth import fonts
from ppexp.experiments.synth.charsets import DIGITS, PRIVATE_HANGUL, REGIONS
from ppexp.experiments.synth.kinds import sample_spec
from ppexp.experiments.synth.layouts import ASPECT
from ppexp.experiments.synth.plate import draw_plate, text_mask
from ppexp.experiments.synth.render import DEFAULT_TWO_LINE_RATIO, sample_kind
from ppexp.experiments.synth.scene import CAR_COLOURS, lighting, plate_quad, sensor

IGNORE = "###"
PLATE_WIDTH = (20, 200)          # labelled plates, pixels (the sheet's width before perspective)
FAR_PLATE_WIDTH = (9, 19)        # far plates: drawn, labelled '###'
SCENE_WIDTH = (384, 640)
LATIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SIGN_COLOURS = ((40, 40, 200), (200, 90, 30), (30, 140, 30), (20, 20, 20), (230, 230, 230), (0, 200, 240))


def _u(rng, lo, hi):
    return lo + (hi - lo) * rng.random()


def _grey(v):
    return (float(v), float(v), float(v))


def backdrop(rng, H, W, horizon):
    """float32 BGR: sky gradient, building blocks with windows above ``horizon``, asphalt and lane marks below."""
    img = np.empty((H, W, 3), np.float32)
    sky_top, sky_low = rng.uniform(150, 250, 3), rng.uniform(170, 255, 3)
    t = np.linspace(0, 1, horizon, dtype=np.float32)[:, None, None]
    img[:horizon] = sky_top * (1 - t) + sky_low * t
    x = 0
    while x < W:                                         # buildings along the horizon
        bw, bh = int(_u(rng, 0.08, 0.3) * W), int(_u(rng, 0.2, 0.95) * horizon)
        colour = rng.uniform(60, 220, 3)
        img[horizon - bh:horizon, x:x + bw] = colour
        for wy in range(horizon - bh + 6, horizon - 6, int(_u(rng, 10, 22))):
            for wx in range(x + 4, x + bw - 8, int(_u(rng, 10, 24))):
                if rng.random() < 0.7:
                    img[wy:wy + 5, wx:wx + 6] = colour * _u(rng, 0.3, 0.7)
        x += bw + int(rng.integers(0, 12))
    road = _u(rng, 55, 140)
    rows = np.linspace(0, 1, H - horizon, dtype=np.float32)[:, None, None]
    img[horizon:] = road * (0.85 + 0.3 * rows) + rng.normal(0, 3, 3).astype(np.float32)
    vx = W * _u(rng, 0.3, 0.7)
    for k in range(int(rng.integers(2, 5))):             # lane marks converging on the vanishing point
        bottom_x = W * (k + 0.5) / 3 + _u(rng, -0.1, 0.1) * W - W * 0.15
        cv2.line(img, (int(vx), horizon), (int(bottom_x), H), _grey(_u(rng, 170, 240)),
                 max(1, int(W * 0.006)), cv2.LINE_AA)
    return img


def draw_car(img, rng, cx, bottom, cw, ch, front):
    """Car body (rear or front view) of width ``cw`` and height ``ch`` standing on ``bottom``;
    returns the plate's centre (x, y) on the bumper."""
    colour = np.array(CAR_COLOURS[int(rng.integers(len(CAR_COLOURS)))], np.float32) + rng.normal(0, 10, 3)
    col = tuple(float(c) for c in np.clip(colour, 0, 255))
    dark = tuple(float(c) * 0.45 for c in col)
    x0, x1, top = cx - cw / 2, cx + cw / 2, bottom - ch
    wheel = max(2, int(ch * 0.12))
    cv2.ellipse(img, (int(cx), int(bottom)), (int(cw * 0.55), max(2, int(ch * 0.06))), 0, 0, 360, _grey(25), -1)
    for wx in (x0 + cw * 0.12, x1 - cw * 0.12 - wheel * 1.6):
        cv2.rectangle(img, (int(wx), int(bottom - wheel)), (int(wx + wheel * 1.6), int(bottom)), _grey(15), -1)
    body_top = top + ch * _u(rng, 0.38, 0.5)
    cabin = np.array([[x0 + cw * 0.08, body_top], [x0 + cw * 0.2, top], [x1 - cw * 0.2, top],
                      [x1 - cw * 0.08, body_top]], np.int32)
    cv2.fillPoly(img, [cabin], col, cv2.LINE_AA)
    glass = cabin.astype(np.float32) + np.array([[cw * 0.04, -2], [cw * 0.03, ch * 0.05],
                                                 [-cw * 0.03, ch * 0.05], [-cw * 0.04, -2]], np.float32)
    cv2.fillPoly(img, [glass.astype(np.int32)], _grey(_u(rng, 20, 90)), cv2.LINE_AA)
    r = max(1, int(ch * 0.06))
    cv2.rectangle(img, (int(x0), int(body_top)), (int(x1), int(bottom - wheel * 0.6)), col, -1)
    cv2.rectangle(img, (int(x0 + r), int(body_top - r)), (int(x1 - r), int(body_top + r)), col, -1)
    light_y, lw, lh = body_top + ch * 0.1, cw * 0.16, max(2.0, ch * 0.09)
    lamp = (220, 230, 240) if front else (30, 30, 190)
    for lx in (x0 + cw * 0.04, x1 - cw * 0.04 - lw):
        cv2.rectangle(img, (int(lx), int(light_y)), (int(lx + lw), int(light_y + lh)), lamp, -1)
    if front:                                            # grille between the headlights
        cv2.rectangle(img, (int(cx - cw * 0.25), int(light_y)), (int(cx + cw * 0.25), int(light_y + lh * 1.3)), dark, -1)
    bumper_y = bottom - wheel * 0.6 - ch * 0.08
    cv2.line(img, (int(x0), int(bumper_y)), (int(x1), int(bumper_y)), dark, max(1, int(ch * 0.02)))
    return cx + _u(rng, -0.03, 0.03) * cw, body_top + (bumper_y - body_top) * _u(rng, 0.55, 0.7)


def plate_sheet(rng, spec, width, cache):
    """(uint8 plate image, 4x2 corners of the sheet inside it) rendered for a sheet ``width`` px wide."""
    h = width / ASPECT[spec.layout]
    ph = max(16, int(round(h)))
    plate = np.clip(draw_plate(rng, spec, ph, cache), 0, 255).astype(np.uint8)
    sheet_w = int(round(ph * ASPECT[spec.layout]))
    t = (plate.shape[1] - sheet_w) // 2                  # holder frame: t on the left, right and top
    corners = np.array([[t, t], [t + sheet_w, t], [t + sheet_w, t + ph], [t, t + ph]], np.float32)
    scale = h / ph
    if scale < 0.6:                                      # pre-shrink with area averaging (no aliasing)
        size = (max(2, int(round(plate.shape[1] * scale))), max(2, int(round(plate.shape[0] * scale))))
        corners *= np.array([size[0] / plate.shape[1], size[1] / plate.shape[0]], np.float32)
        plate = cv2.resize(plate, size, interpolation=cv2.INTER_AREA)
    return plate, corners


def paste_warped(img, src_img, src_pts, dst_pts):
    """Warp ``src_img`` so that ``src_pts`` land on ``dst_pts`` (4x2), over ``img`` (float32) in place."""
    M = cv2.getPerspectiveTransform(src_pts.astype(np.float32), dst_pts.astype(np.float32))
    h, w = src_img.shape[:2]
    outline = cv2.perspectiveTransform(np.array([[[0, 0], [w, 0], [w, h], [0, h]]], np.float32), M)[0]
    H, W = img.shape[:2]
    x0, y0 = np.clip(np.floor(outline.min(0)).astype(int), 0, (W, H))
    x1, y1 = np.clip(np.ceil(outline.max(0)).astype(int) + 1, 0, (W, H))
    if x1 <= x0 or y1 <= y0:
        return
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64)
    roi = np.ascontiguousarray(img[y0:y1, x0:x1])
    cv2.warpPerspective(src_img.astype(np.float32), shift @ M, (int(x1 - x0), int(y1 - y0)), dst=roi,
                        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_TRANSPARENT)
    img[y0:y1, x0:x1] = roi


def put_plate(img, rng, cache, centre, width, kinds, two_line_ratio):
    """Draw a random plate ``width`` px wide centred at ``centre``; returns (label, 4x2 quad)."""
    kind, two = sample_kind(rng, kinds, two_line_ratio)
    spec = sample_spec(rng, kind, two)
    plate, corners = plate_sheet(rng, spec, width, cache)
    quad = plate_quad(rng, width, width / ASPECT[spec.layout]) + np.asarray(centre, np.float32)
    paste_warped(img, plate, corners, quad)
    return spec.label, quad


def _word(rng, n):
    """Shop-sign text: Latin or Hangul (digit-only strings are the plate-like boards' own)."""
    pool = (LATIN, PRIVATE_HANGUL + "".join(REGIONS) + "식당카페약국병원마트")[int(rng.integers(2))]
    return "".join(pool[int(rng.integers(len(pool)))] for _ in range(n))


def draw_sign(img, rng, cache, box, plate_like):
    """A sign panel with a word in ``box`` (x0, y0, x1, y1): a shop sign, or a plate-like number board."""
    x0, y0, x1, y1 = (int(v) for v in box)
    if plate_like:
        bg, fg, text = (_grey(_u(rng, 200, 245)), _grey(20), "".join(DIGITS[int(rng.integers(10))]
                                                                       for _ in range(int(rng.integers(3, 7)))))
    else:
        bg = SIGN_COLOURS[int(rng.integers(len(SIGN_COLOURS)))]
        fg = _grey(245) if sum(bg) < 400 else _grey(15)
        text = _word(rng, int(rng.integers(2, 7)))
    cv2.rectangle(img, (x0, y0), (x1, y1), bg, -1)
    H, W = img.shape[:2]
    cw, ch = (x1 - x0) * 0.9 / len(text), (y1 - y0) * 0.7
    cells = [(c, x0 + (x1 - x0) * 0.05 + i * cw, y0 + (y1 - y0) * 0.15, cw * 0.85, ch) for i, c in enumerate(text)]
    font = int(rng.choice(len(cache.paths), p=cache.weights))
    mask = text_mask(cache, font, cells, (H, W))[:, :, None].astype(np.float32) / 255
    img += mask * (np.array(fg, np.float32) - img)


def _overlaps(a, b, pad=2):
    return a[0] < b[2] + pad and b[0] < a[2] + pad and a[1] < b[3] + pad and b[1] < a[3] + pad


def _quad_box(quad):
    return (*quad.min(0), *quad.max(0))


def place_cars(rng, H, W, horizon, n):
    """Up to ``n`` (cx, bottom, car w, car h, plate width, front) far to near, plates inside the image
    and no car covering another car's plate."""
    cars, plates = [], []
    for _ in range(n * 6):
        if len(cars) == n:
            break
        pw = float(np.exp(_u(rng, np.log(PLATE_WIDTH[0]), np.log(PLATE_WIDTH[1]))))
        cw = pw * _u(rng, 3.2, 4.2)
        ch = cw * _u(rng, 0.55, 0.8)
        depth = (pw - PLATE_WIDTH[0]) / (PLATE_WIDTH[1] - PLATE_WIDTH[0])
        bottom = horizon + ch * 0.3 + (H - horizon) * min(1.0, depth * _u(rng, 0.8, 1.3) + 0.1)
        cx = _u(rng, 0.05, 0.95) * W
        plate = (cx - pw * 0.7, bottom - ch * 0.6, cx + pw * 0.7, bottom)
        body = (cx - cw / 2, bottom - ch, cx + cw / 2, bottom)
        if plate[0] < 3 or plate[2] > W - 3 or plate[3] > H - 3 or plate[1] < 3:
            continue
        if any(_overlaps(body, p) or _overlaps(plate, b) for p, b in plates):
            continue
        cars.append((cx, bottom, cw, ch, pw, rng.random() < 0.4))
        plates.append((plate, body))
    return sorted(cars, key=lambda c: c[1])


def _inside(quad, H, W, margin=1):
    return bool((quad >= margin).all() and (quad[:, 0] <= W - 1 - margin).all() and (quad[:, 1] <= H - 1 - margin).all())


def _clutter(img, rng, cache, horizon, boxes):
    """Shop signs (unlabelled) and number boards (``###``) above the road, away from ``boxes``."""
    H, W = img.shape[:2]
    labels = []
    for _ in range(int(rng.integers(1, 5))):
        plate_like = rng.random() < 0.3
        sw = _u(rng, 30, 160)
        sh = sw / (_u(rng, 2.5, 5) if plate_like else _u(rng, 1.8, 6))
        x0, y0 = _u(rng, 0, W - sw), _u(rng, 2, max(3, horizon + 0.2 * (H - horizon) - sh))
        box = (x0, y0, x0 + sw, y0 + sh)
        if sh < 6 or y0 + sh > H - 2 or any(_overlaps(box, b, 4) for b in boxes):
            continue
        draw_sign(img, rng, cache, box, plate_like)
        boxes.append(box)
        if plate_like:
            labels.append({"transcription": IGNORE, "points": _rect_points(box)})
    return labels


def _rect_points(box):
    x0, y0, x1, y1 = box
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def _far_plates(img, rng, cache, horizon, boxes, kinds, two_line_ratio):
    """0-2 plates narrower than 20 px near the horizon, labelled ``###``."""
    H, W = img.shape[:2]
    labels = []
    for _ in range(int(rng.integers(0, 3))):
        pw = _u(rng, *FAR_PLATE_WIDTH)
        centre = (_u(rng, 0.05, 0.95) * W, horizon + _u(rng, 0.02, 0.15) * (H - horizon))
        box = (centre[0] - pw, centre[1] - pw, centre[0] + pw, centre[1] + pw)
        if any(_overlaps(box, b, 2) for b in boxes):
            continue
        cv2.rectangle(img, (int(box[0]), int(centre[1] - pw * 0.4)), (int(box[2]), int(box[3])),
                      CAR_COLOURS[int(rng.integers(len(CAR_COLOURS)))], -1)
        _, quad = put_plate(img, rng, cache, centre, pw, kinds, two_line_ratio)
        if _inside(quad, H, W):
            boxes.append(box)
            labels.append({"transcription": IGNORE, "points": quad})
    return labels


def render_scene(rng, kinds=None, two_line_ratio=DEFAULT_TWO_LINE_RATIO, width=None):
    """(BGR uint8 scene, [{"transcription", "points" (4x2 float32)}]); every labelled plate lies inside the image."""
    cache = fonts.glyph_cache()
    W = int(width or rng.integers(SCENE_WIDTH[0], SCENE_WIDTH[1] + 1))
    H = int(round(W * _u(rng, 0.62, 0.8)))
    horizon = int(H * _u(rng, 0.3, 0.5))
    img = backdrop(rng, H, W, horizon)
    cars = place_cars(rng, H, W, horizon, int(rng.integers(1, 4)))
    boxes = [(cx - cw / 2, bottom - ch, cx + cw / 2, bottom) for cx, bottom, cw, ch, _, _ in cars]
    labels = _clutter(img, rng, cache, horizon, boxes)
    labels += _far_plates(img, rng, cache, horizon, boxes, kinds, two_line_ratio)
    plates = []
    for cx, bottom, cw, ch, pw, front in cars:
        centre = draw_car(img, rng, cx, bottom, cw, ch, front)
        text, quad = put_plate(img, rng, cache, centre, pw, kinds, two_line_ratio)
        plates.append({"transcription": text if _inside(quad, H, W) else IGNORE, "points": quad})
    smallest = min([float(np.ptp(p["points"][:, 1])) for p in plates] or [H])
    out = sensor(rng, lighting(rng, img), min_height=6, plate_height=smallest)
    return out, labels + plates
