"""Text Image Augmentation (TIA) warps: distort, stretch, perspective.

The warps follow "Learn to Augment: Joint Data Augmentation and Network
Optimization for Text Recognition" (Luo et al., CVPR 2020) as used by
upstream PaddleOCR: control points on the top and bottom edges of the
text image are moved at random and the image is warped with a
similarity moving-least-squares (MLS) deformation.

Like upstream, MLS is evaluated only on a coarse grid of nodes (every
``grid_size`` pixels plus the last row/column) and the displacement is
bilinearly interpolated in between. Upstream does this per grid cell in
Python loops; here the node solve is one numpy expression over all nodes
and control points, the interpolation is two small matrix products, and
the resampling is a single ``cv2.remap`` (bilinear, border replicate, the
same as upstream's clipped coordinates).

Randomness comes from the global ``np.random`` state, which paddle's
DataLoader seeds differently in every worker.
"""
import functools

import cv2
import numpy as np

GRID_SIZE = 100  # upstream's WarpMLS grid step in pixels


def grid_nodes(length, grid_size=GRID_SIZE):
    """Node coordinates along one axis: 0, g, 2g, ... (< length) and length - 1."""
    nodes = np.arange(0, length, grid_size)
    if nodes[-1] != length - 1:
        nodes = np.append(nodes, length - 1)
    return nodes


def interp_matrix(length, nodes, grid_size=GRID_SIZE):
    """(length, len(nodes)) matrix that bilinearly spreads node values over pixels.

    Pixel ``x`` lies in the cell starting at ``j = x // g * g``; the cell ends at
    ``j + g`` or at the last pixel, and the weight of its far node is
    ``(x - j) / cell_width`` with upstream's cell width (``g``, or ``length - j``
    for the last, clipped cell).
    """
    x = np.arange(length)
    start = x // grid_size * grid_size
    end = np.minimum(start + grid_size, length - 1)
    width = np.where(start + grid_size < length, grid_size, length - start)
    frac = (x - start) / width
    mat = np.zeros((length, len(nodes)))
    np.add.at(mat, (x, np.searchsorted(nodes, start)), 1.0 - frac)
    np.add.at(mat, (x, np.searchsorted(nodes, end)), frac)
    return mat


@functools.lru_cache(maxsize=4096)
def warp_geometry(h, w, grid_size=GRID_SIZE):
    """Cached per image size: complex node coordinates and the two interpolation matrices."""
    ys, xs = grid_nodes(h, grid_size), grid_nodes(w, grid_size)
    nodes = (xs[None, :] + 1j * ys[:, None]).ravel()
    base_x = np.broadcast_to(np.arange(w, dtype=np.float64), (h, w))
    base_y = np.broadcast_to(np.arange(h, dtype=np.float64)[:, None], (h, w))
    return nodes, (len(ys), len(xs)), interp_matrix(h, ys, grid_size), interp_matrix(w, xs, grid_size).T, base_x, base_y


def mls_similarity(nodes, src_pts, dst_pts):
    """Similarity MLS: where each output node comes from in the source.

    Points are complex numbers ``x + 1j*y``. ``dst_pts`` (K,) are the control
    points' positions in the output image, ``src_pts`` (K,) their positions in
    the source, ``nodes`` (N,) the output positions to map. In complex form the
    best similarity around a node is ``f(v) = A (v - p*) + q*`` with
    ``A = sum_k w_k conj(p_k - p*) (q_k - q*) / sum_k w_k |p_k - p*|^2`` and
    ``w_k = 1 / |v - p_k|^2``; this equals upstream's real-valued sums term by
    term. A node exactly on a control point maps to that point's source.
    """
    diff = nodes[:, None] - dst_pts[None, :]
    d2 = diff.real ** 2 + diff.imag ** 2
    on_point = d2 == 0
    w = 1.0 / np.where(on_point, 1.0, d2)
    w[on_point] = 0.0
    sw = w.sum(1)
    sw[sw == 0] = 1.0
    pstar = (w @ dst_pts) / sw
    qstar = (w @ src_pts) / sw
    phat = dst_pts[None, :] - pstar[:, None]
    qhat = src_pts[None, :] - qstar[:, None]
    mu = (w * (phat.real ** 2 + phat.imag ** 2)).sum(1)
    mu[mu == 0] = 1.0
    a = (w * np.conj(phat) * qhat).sum(1) / mu
    out = a * (nodes - pstar) + qstar
    if on_point.any():
        hit_node, hit_pt = np.nonzero(on_point)
        out[hit_node] = src_pts[hit_pt]
    return out


def _as_complex(pts):
    pts = np.asarray(pts, np.float64)
    return pts[:, 0] + 1j * pts[:, 1]


def warp_mls(img, src_pts, dst_pts, grid_size=GRID_SIZE):
    """Warp ``img`` so that ``src_pts`` (K, 2) move to ``dst_pts`` (same output size)."""
    h, w = img.shape[:2]
    nodes, grid_shape, ry, rx_t, base_x, base_y = warp_geometry(h, w, grid_size)
    delta = (mls_similarity(nodes, _as_complex(src_pts), _as_complex(dst_pts)) - nodes).reshape(grid_shape)
    map_x = ry @ delta.real @ rx_t
    map_y = ry @ delta.imag @ rx_t
    map_x = np.clip(map_x + base_x, 0, w - 1, out=map_x).astype(np.float32)
    map_y = np.clip(map_y + base_y, 0, h - 1, out=map_y).astype(np.float32)
    return cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _randint(high, size=None):
    """np.random.randint(high) that returns 0 for high <= 0 instead of raising."""
    if high <= 0:
        return np.zeros(size, np.int64) if size is not None else 0
    return np.random.randint(high, size=size)


def distort_points(h, w, segment):
    """Upstream's tia_distort control points: (src_pts, dst_pts) or None if too small."""
    cut = w // segment
    thresh = cut // 3
    if thresh < 1:
        return None
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    inward = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], np.float64)
    dst = corners + inward * _randint(thresh, (4, 2))
    xs = cut * np.arange(1, segment)
    src_mid = np.stack([np.repeat(xs, 2), np.tile([0, h], len(xs))], 1).astype(np.float64)
    dst_mid = src_mid + _randint(thresh, src_mid.shape) - thresh * 0.5
    return np.vstack([corners, src_mid]), np.vstack([dst, dst_mid])


def stretch_points(h, w, segment):
    """Upstream's tia_stretch control points: (src_pts, dst_pts) or None if too small."""
    cut = w // segment
    thresh = cut * 4 // 5
    if thresh < 1:
        return None
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    xs = cut * np.arange(1, segment)
    move = _randint(thresh, len(xs)) - thresh * 0.5
    src_mid = np.stack([np.repeat(xs, 2), np.tile([0, h], len(xs))], 1).astype(np.float64)
    dst_mid = src_mid.copy()
    dst_mid[:, 0] += np.repeat(move, 2)
    return np.vstack([corners, src_mid]), np.vstack([corners, dst_mid])


def perspective_points(h, w):
    """Upstream's tia_perspective control points: (src_pts, dst_pts) or None if too small."""
    thresh = h // 2
    if thresh < 1 or w < 2:
        return None
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    dy = _randint(thresh, 4) * np.array([1, 1, -1, -1])
    dst = corners.copy()
    dst[:, 1] += dy
    return corners, dst


def _apply(img, pts):
    return img if pts is None else warp_mls(img, *pts)


def tia_distort(img, segment=4):
    """Move every control point a little (local distortion)."""
    h, w = img.shape[:2]
    return _apply(img, distort_points(h, w, segment))


def tia_stretch(img, segment=4):
    """Shift the inner vertical cut lines left/right (local stretch/squeeze)."""
    h, w = img.shape[:2]
    return _apply(img, stretch_points(h, w, segment))


def tia_perspective(img):
    """Move the four corners vertically (perspective-like tilt)."""
    h, w = img.shape[:2]
    return _apply(img, perspective_points(h, w))
