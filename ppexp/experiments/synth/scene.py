"""Put a flat plate into a camera crop: perspective, rotation, crop jitter, background,
lighting, low resolution, blur, noise, colour loss and JPEG re-compression.

The crop mimics a detector's axis-aligned box around the (tilted) plate, with
margins that sometimes cut the frame and sometimes show the car around it.
"""
import cv2
import numpy as np

# car body colours (BGR) seen around plates
CAR_COLOURS = ((235, 235, 235), (25, 25, 28), (150, 152, 155), (190, 192, 195), (90, 40, 20),
               (30, 30, 150), (60, 60, 62), (40, 70, 110), (200, 205, 210))


def _u(rng, lo, hi):
    return lo + (hi - lo) * rng.random()


# a steep view's rotation, degrees: plate crops (recognition) up to 25, as photos of parked cars from the side
# show; det scenes keep 15
STEEP_TILT = 25.0


def plate_quad(rng, w, h, steep_tilt=15.0):
    """Corners (4x2, clockwise from top-left) of a ``w`` x ``h`` plate seen in perspective (a steep view,
    15% of them, is rotated by up to ``steep_tilt`` degrees)."""
    q = np.array([[-w, -h], [w, -h], [w, h], [-w, h]], np.float32) / 2
    strong = rng.random() < 0.15                        # now and then a steep view
    yaw, pitch = _u(rng, -0.12, 0.12) * (2.5 if strong else 1), _u(rng, -0.06, 0.06)
    q[:, 1] *= 1 + yaw * np.sign(q[:, 0])              # nearer side looks taller
    q[:, 0] *= 1 + pitch * np.sign(q[:, 1])
    q += rng.normal(0, 0.015 * h, (4, 2)).astype(np.float32)
    t = np.deg2rad(_u(rng, -steep_tilt, steep_tilt) if strong else float(np.clip(rng.normal(0, 2.5), -8, 8)))
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]], np.float32)
    return q @ rot.T


def crop_box(rng, quad, h, max_vmargin=None):
    """Axis-aligned crop around ``quad`` with jittered margins (in plate heights).

    ``max_vmargin``: cap on the top + bottom margin (plate heights), so the plate keeps at least
    1 / (1 + max_vmargin) of the crop's rows (see ``place``'s ``min_plate_rows``).

    Detector boxes and hand crops of real photos range from cutting into the plate to showing the
    bumper and car body around it (real crops' aspect ratio runs from ~1 to ~4.7, median ~2.3), so
    about half the crops are loose, some very loose.
    """
    lo, hi = quad.min(0), quad.max(0)
    r = rng.random()
    if r < 0.2:                                          # very loose: bumper and body around the plate
        m = np.array([rng.uniform(0.1, 0.7), rng.uniform(0.2, 1.1), rng.uniform(0.1, 0.7), rng.uniform(0.2, 1.1)])
    elif r < 0.5:                                        # loose detector box: car visible
        m = rng.uniform(0.05, 0.45, 4)
    else:                                                # tight box, may cut the frame
        m = rng.uniform(-0.06, 0.1, 4)
    vertical = m[1] + m[3]
    if max_vmargin is not None and vertical > max_vmargin:
        m[[1, 3]] *= max_vmargin / vertical
    return lo[0] - m[0] * h, lo[1] - m[1] * h, hi[0] + m[2] * h, hi[1] + m[3] * h


def background(rng, H, W):
    """Car body around the plate: paint with a light gradient, bumper edges, a darker recess, grime."""
    base = np.array(CAR_COLOURS[int(rng.integers(len(CAR_COLOURS)))], np.float32)
    base += rng.normal(0, 14, 3).astype(np.float32)
    g = np.linspace(-1, 1, H, dtype=np.float32)[:, None, None] * _u(rng, -0.35, 0.35)
    img = np.clip(base * (1 + g), 0, 255).astype(np.uint8)
    img = np.broadcast_to(img, (H, W, 3)).copy()
    if rng.random() < 0.5:                               # the plate recess / holder: a darker box
        v = _u(rng, 0.3, 0.8)
        x0, x1 = sorted(rng.integers(0, max(2, W), 2))
        y0, y1 = sorted(rng.integers(0, max(2, H), 2))
        img[y0:y1 + 1, x0:x1 + 1] = (img[y0:y1 + 1, x0:x1 + 1] * v).astype(np.uint8)
    for _ in range(int(rng.integers(0, 5))):             # bumper edges / recess lines / chrome strips
        y = int(rng.integers(H))
        v = float(rng.integers(0, 256))
        cv2.line(img, (0, y), (W, y + int(rng.integers(-3, 4))), (v, v, v), int(rng.integers(1, 4)))
    if rng.random() < 0.3:                               # a highlight or shadow blob
        c = (int(rng.integers(W)), int(rng.integers(H)))
        ax = (int(W * _u(rng, 0.1, 0.5)) + 1, int(H * _u(rng, 0.1, 0.5)) + 1)
        v = float(rng.integers(0, 256))
        cv2.ellipse(img, c, ax, _u(rng, 0, 180), 0, 360, (v, v, v), -1, cv2.LINE_AA)
    return img


def place(rng, plate, out_h, out_w=None, min_plate_rows=None):
    """Warp ``plate`` (uint8) into an ``out_h`` x (natural or ``out_w``) crop.

    ``min_plate_rows``: the crop is never so loose that the plate gets fewer rows than this (about).
    Returns (crop, plate height in crop pixels).
    """
    ph, pw = plate.shape[:2]
    quad = plate_quad(rng, pw, ph, STEEP_TILT)
    cap = None
    if min_plate_rows:                  # plate rows = ph * out_h / (quad height + margins * ph)
        quad_h = float(quad[:, 1].max() - quad[:, 1].min())
        cap = max(0.0, out_h / min_plate_rows - quad_h / ph)
    x0, y0, x1, y1 = crop_box(rng, quad, ph, cap)
    sy = out_h / (y1 - y0)
    sx = sy * _u(rng, 0.9, 1.1)                          # camera / resize aspect jitter
    if out_w is None:
        out_w = max(8, int(round((x1 - x0) * sx)))
    else:
        sx = out_w / (x1 - x0)
    dst = (quad - np.array([x0, y0], np.float32)) * np.array([sx, sy], np.float32)
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    M = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    out = background(rng, out_h, out_w)
    cv2.warpPerspective(plate, M, (out_w, out_h), dst=out, flags=cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_TRANSPARENT)
    return out, ph * sy


def haze(rng, f):
    """Washed-out contrast: blend towards the mean grey."""
    a = _u(rng, 0.5, 0.85)
    return f * a + (1 - a) * float(f.mean())


def lighting(rng, img):
    """Directional light gradient, a shadow edge, colour cast, contrast / brightness, haze."""
    H, W = img.shape[:2]
    f = img.astype(np.float32)
    gx = np.linspace(-1, 1, W, dtype=np.float32)[None, :]
    gy = np.linspace(-1, 1, H, dtype=np.float32)[:, None]
    gain = _u(rng, 0.65, 1.2) + _u(rng, -0.3, 0.3) * gx + _u(rng, -0.2, 0.2) * gy
    if rng.random() < 0.25:                              # hard shadow across the plate
        a, b = _u(rng, -1, 1), _u(rng, -0.6, 0.6)
        gain = gain * np.where(gy > a * gx + b, _u(rng, 0.4, 0.8), 1.0).astype(np.float32)
    cast = 1 + rng.normal(0, 0.04, 3).astype(np.float32)
    f *= gain[:, :, None] * cast
    f += _u(rng, -25, 25)
    if rng.random() < 0.1:                               # overexposed / glare
        f = f * 1.3 + 20
    if rng.random() < 0.2:
        f = haze(rng, f)
    return f


def low_resolution(rng, f, k):
    """A plate photographed ``k`` times smaller, upsampled back to the crop size."""
    H, W = f.shape[:2]
    small = cv2.resize(f, (max(4, int(W / k)), max(4, int(H / k))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (W, H), interpolation=cv2.INTER_LINEAR if rng.random() < 0.7 else cv2.INTER_CUBIC)


def motion_blur(rng, f):
    """A 3-8 pixel streak in any direction."""
    n = int(rng.integers(3, 9))
    k = np.zeros((n, n), np.float32)
    k[n // 2] = 1.0 / n
    rot = cv2.getRotationMatrix2D(((n - 1) / 2, (n - 1) / 2), _u(rng, 0, 180), 1.0)
    k = cv2.warpAffine(k, rot, (n, n))
    return cv2.filter2D(f, -1, k / max(1e-6, k.sum()))


def night_ir(rng, img):
    """Night / IR camera: dark grey, low contrast."""
    g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
    g = g * _u(rng, 0.25, 0.7) + _u(rng, 0, 30)
    return cv2.cvtColor(np.clip(g, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


def ir_negative(rng, img):
    """IR negative: light lettering on a dark plate."""
    g = 255 - cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
    g = g * _u(rng, 0.5, 0.9)
    return cv2.cvtColor(np.clip(g, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


def sensor(rng, f, min_height=18, plate_height=None):
    """Low resolution, blur, noise, colour loss, night/IR, JPEG; returns uint8.

    Low resolution never leaves the plate (``plate_height`` crop rows, default the whole crop) fewer than
    ``min_height`` rows: small plates photographed from afar, upsampled to the crop size.
    """
    H, W = f.shape[:2]
    if rng.random() < 0.45:
        f = low_resolution(rng, f, min(1.3 + 2.7 * rng.random() ** 1.5, max(1.0, (plate_height or H) / min_height)))
    r = rng.random()
    if r < 0.45:
        f = cv2.GaussianBlur(f, (0, 0), _u(rng, 0.3, 1.3))
    elif r < 0.65:
        f = motion_blur(rng, f)
    if rng.random() < 0.7:
        f += rng.standard_normal(f.shape, dtype=np.float32) * _u(rng, 1, 10)
    img = np.clip(f, 0, 255).astype(np.uint8)
    r = rng.random()
    if r < 0.06:
        img = night_ir(rng, img)
    elif r < 0.09:
        img = ir_negative(rng, img)
    elif r < 0.22:
        img = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    if rng.random() < 0.3:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(15, 60))])
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return img
