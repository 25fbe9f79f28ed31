"""Where each character of a plate goes: cells (ch, x, y, w, h) in plate pixels.

Proportions follow the regulation sizes (520x110 mm long plates, 335x155 mm
short plates, 335x170 mm two-line plates) with jitter, so fonts, spacing and
condensing vary from plate to plate.
"""

# plate aspect (width / height) per layout
ASPECT = {
    "long": 520 / 110, "long_region": 520 / 110, "diplomatic": 520 / 110,
    "short": 335 / 155, "two_line_region": 335 / 170, "two_line_noregion": 335 / 170,
    "two_line_construction": 335 / 170,
}


def _u(rng, lo, hi):
    return lo + (hi - lo) * rng.random()


def _row(rng, groups, x0, x1, yc, fill, max_ratio=0.78):
    """Lay character groups on one row between x0..x1, centred on yc.

    groups: [(text, height, width_ratio, gap_after)]; widths are scaled together
    so the row fills ``fill`` of the span, keeping width <= ``max_ratio`` x height.
    """
    inner = [0.1 * h * r for _, h, r, _ in groups]           # spacing inside a group
    natural = sum(len(t) * h * r for t, h, r, _ in groups)
    gaps = sum(g for _, _, _, g in groups[:-1]) + sum(s * (len(t) - 1) for s, (t, *_) in zip(inner, groups))
    span = x1 - x0
    scale = max(0.55, (span * fill - gaps) / natural)
    scale = min(scale, min(max_ratio / r for _, _, r, _ in groups))
    total = natural * scale + gaps
    k = min(1.0, span / total)            # still too wide: squeeze widths and gaps alike
    x = x0 + (span - total * k) * _u(rng, 0.35, 0.65)
    cells = []
    for i, (text, h, r, gap) in enumerate(groups):
        w = h * r * scale * k
        for j, ch in enumerate(text):
            cells.append((ch, x, yc - h / 2, w, h))
            x += w + (inner[i] * k if j < len(text) - 1 else 0)
        x += gap * k
    return cells


def _one_line(rng, spec, W, H, x0, x1, th):
    dw = _u(rng, 0.48, 0.58)
    hh = th * _u(rng, 0.82, 0.97)
    groups = [(spec.head, th, dw, th * _u(rng, 0.03, 0.12)),
              (spec.mark, hh, _u(rng, 0.68, 0.82), th * _u(rng, 0.12, 0.45)),
              (spec.serial, th, dw, 0)]
    return _row(rng, groups, x0, x1, H * _u(rng, 0.48, 0.53), _u(rng, 0.86, 0.98))


def layout_long(rng, spec, W, H, left=0.0, right=0.0):
    """Single-line plate; ``left``/``right`` reserve space (flag band, emblem) in pixels."""
    th = H * _u(rng, 0.66, 0.78)
    pad = H * 0.12
    return _one_line(rng, spec, W, H, left + pad, W - right - pad, th)


def layout_short(rng, spec, W, H, left=0.0, right=0.0):
    th = H * _u(rng, 0.52, 0.66)
    return _one_line(rng, spec, W, H, left + H * 0.08, W - right - H * 0.08, th)


def layout_long_region(rng, spec, W, H, left=0.0, right=0.0):
    """Region name stacked vertically at the left, then the one-line number."""
    rh = H * _u(rng, 0.30, 0.37)
    rw = rh * _u(rng, 0.85, 1.05)
    x = left + H * _u(rng, 0.12, 0.25)
    yc = H * 0.5
    cells = [(spec.region[0], x, yc - rh * 1.05, rw, rh), (spec.region[1], x, yc + rh * 0.05, rw, rh)]
    th = H * _u(rng, 0.66, 0.76)
    return cells + _one_line(rng, spec, W, H, x + rw + H * 0.1, W - right - H * 0.12, th)


def _top_bottom(rng, W, H, top, bottom):
    """Two-line plates as on the road: a small top line, a clear gap, a large bottom line."""
    th1 = H * _u(rng, 0.21, 0.27)
    t0 = H * _u(rng, 0.07, 0.11)
    th2 = H * _u(rng, 0.46, 0.54)
    b1 = H * _u(rng, 0.89, 0.94)
    th2 = min(th2, b1 - (t0 + th1 + H * _u(rng, 0.05, 0.09)))     # keep the gap between the lines
    cells = _row(rng, top(th1), W * _u(rng, 0.2, 0.27), W * _u(rng, 0.73, 0.8), t0 + th1 / 2,
                 _u(rng, 0.85, 1.0), max_ratio=1.0)
    return cells + _row(rng, bottom(th2), W * 0.05, W * 0.95, b1 - th2 / 2, _u(rng, 0.88, 0.97), max_ratio=0.9)


def layout_two_line_region(rng, spec, W, H, left=0.0, right=0.0):
    """Top: region + class digits; bottom: Hangul (nearly the digits' height) + four large digits."""
    def top(th):
        return [(spec.region, th, _u(rng, 0.85, 1.0), th * _u(rng, 0.3, 0.8)), (spec.head, th, 0.62, 0)]

    def bottom(th):
        mh = th * _u(rng, 0.72, 0.9)
        return [(spec.mark, mh, _u(rng, 0.85, 1.0), th * _u(rng, 0.08, 0.2)),     # old plates' digits: condensed
                (spec.serial, th, _u(rng, 0.44, 0.68), 0)]
    return _top_bottom(rng, W, H, top, bottom)


def layout_two_line_noregion(rng, spec, W, H, left=0.0, right=0.0):
    """Top: class digits + Hangul; bottom: four large digits."""
    def top(th):
        return [(spec.head, th, 0.62, th * 0.08), (spec.mark, th, _u(rng, 0.85, 1.0), 0)]

    def bottom(th):
        return [(spec.serial, th, _u(rng, 0.6, 0.7), 0)]
    return _top_bottom(rng, W, H, top, bottom)


def layout_two_line_construction(rng, spec, W, H, left=0.0, right=0.0):
    """Top: region spread wide (logo at left); bottom: class digits, Hangul, serial."""
    th1 = H * _u(rng, 0.26, 0.32)
    y1 = H * _u(rng, 0.1, 0.14) + th1 / 2
    cells = [(spec.region[0], W * _u(rng, 0.22, 0.3), y1 - th1 / 2, th1 * 0.95, th1),
             (spec.region[1], W * _u(rng, 0.62, 0.7), y1 - th1 / 2, th1 * 0.95, th1)]
    th2 = H * _u(rng, 0.38, 0.46)
    groups = [(spec.head, th2, 0.62, th2 * _u(rng, 0.2, 0.4)),
              (spec.mark, th2 * 0.8, 0.95, th2 * _u(rng, 0.2, 0.4)), (spec.serial, th2, 0.62, 0)]
    return cells + _row(rng, groups, W * 0.05, W * 0.95, H * _u(rng, 0.66, 0.72), _u(rng, 0.85, 0.95))


def layout_diplomatic(rng, spec, W, H, left=0.0, right=0.0):
    """'외교 123-456': the dash is drawn but not part of the label."""
    th = H * _u(rng, 0.62, 0.72)
    groups = [(spec.mark, th * 0.85, 0.85, th * _u(rng, 0.25, 0.45)),
              (spec.serial[:3], th, 0.52, th * 0.55), (spec.serial[3:], th, 0.52, 0)]
    cells = _row(rng, groups, H * 0.15, W - H * 0.15, H * 0.5, _u(rng, 0.85, 0.95))
    a, b = cells[4], cells[5]                 # last digit of the first group, first of the second
    mid = (a[1] + a[3] + b[1]) / 2
    cells.append(("-", mid - th * 0.16, H * 0.5 - th * 0.05, th * 0.32, th * 0.1))
    return cells


LAYOUTS = {
    "long": layout_long, "short": layout_short, "long_region": layout_long_region,
    "two_line_region": layout_two_line_region, "two_line_noregion": layout_two_line_noregion,
    "two_line_construction": layout_two_line_construction, "diplomatic": layout_diplomatic,
}
