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
    """Cached per image size: complex grid nodes, their grid shape, the two
    float32 interpolation matrices and the identity sampling maps."""
    ys, xs = grid_nodes(h, grid_size), grid_nodes(w, grid_size)
    nodes = (xs[None, :] + 1j * ys[:, None]).ravel()
    ry = interp_matrix(h, ys, grid_size).astype(np.float32)
    rx_t = np.ascontiguousarray(interp_matrix(w, xs, grid_size).T.astype(np.float32))
    base_x = np.broadcast_to(np.arange(w, dtype=np.float32), (h, w))
    base_y = np.broadcast_to(np.arange(h, dtype=np.float32)[:, None], (h, w))
    return nodes, (len(ys), len(xs)), ry, rx_t, base_x, base_y


def mls_similarity(nodes, src_pts, dst_pts):
    """Similarity MLS: where each output node comes from in the source.

    Points are complex numbers ``x + 1j*y``. ``dst_pts`` (K,) are the control
    points' positions in the output image, ``src_pts`` (K,) their positions in
    the source, ``nodes`` (N,) the output positions to map. In complex form the
    best similarity around a node is ``f(v) = A (v - p*) + q*`` with
    ``A = sum_k w_k conj(p_k - p*) (q_k - q*) / sum_k w_k |p_k - p*|^2`` and
    ``w_k = 1 / |v - p_k|^2``; this equals upstream's real-valued sums term by
    term. A node on a control point maps to that point's source (upstream's
    special case; here the weight is capped at 1e12, which gives the same
    result to ~1e-9 px).
    """
    diff = nodes[:, None] - dst_pts[None, :]
    w = 1.0 / np.maximum(diff.real ** 2 + diff.imag ** 2, 1e-12)
    sw = w.sum(1)
    pstar = (w @ dst_pts) / sw
    qstar = (w @ src_pts) / sw
    phat = dst_pts[None, :] - pstar[:, None]
    mu = np.maximum((w * (phat.real ** 2 + phat.imag ** 2)).sum(1), 1e-300)
    a = (w * np.conj(phat) * (src_pts[None, :] - qstar[:, None])).sum(1) / mu
    return a * (nodes - pstar) + qstar


def warp_complex(img, src, dst, grid_size=GRID_SIZE):
    """Warp ``img`` so that control points ``src`` (complex, K) move to ``dst``."""
    h, w = img.shape[:2]
    nodes, grid_shape, ry, rx_t, base_x, base_y = warp_geometry(h, w, grid_size)
    delta = (mls_similarity(nodes, src, dst) - nodes).reshape(grid_shape)
    # Out-of-image positions are clamped by BORDER_REPLICATE, which for bilinear
    # sampling equals upstream's clipping of the coordinates.
    map_x = ry @ delta.real.astype(np.float32) @ rx_t
    map_y = ry @ delta.imag.astype(np.float32) @ rx_t
    map_x += base_x
    map_y += base_y
    # remap samples at 1/32 px either way; converting the maps first is faster
    xy, frac = cv2.convertMaps(map_x, map_y, cv2.CV_16SC2)
    return cv2.remap(img, xy, frac, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def warp_mls(img, src_pts, dst_pts, grid_size=GRID_SIZE):
    """Warp ``img`` so that ``src_pts`` (K, 2) move to ``dst_pts`` (same output size)."""
    src, dst = (np.asarray(p, np.float64) for p in (src_pts, dst_pts))
    return warp_complex(img, src[:, 0] + 1j * src[:, 1], dst[:, 0] + 1j * dst[:, 1], grid_size)


def _rand(thresh, n):
    """n draws of np.random.randint(thresh) (thresh >= 1)."""
    return np.random.randint(thresh, size=n)


def _corners(h, w):
    return np.array([0, w, w + 1j * h, 1j * h])


_INWARD_X = np.array([1, -1, -1, 1], np.float64)        # corners move inwards
_INWARD_Y = np.array([1j, 1j, -1j, -1j])


def _cut_points(cut, segment, h):
    """Top and bottom end of each inner cut line x = cut * i (i = 1 .. segment-1), interleaved."""
    pts = np.empty(2 * (segment - 1), np.complex128)
    pts[0::2] = cut * np.arange(1, segment)
    pts[1::2] = pts[0::2] + 1j * h
    return pts


def distort_points(h, w, segment):
    """Upstream's tia_distort control points as complex (src, dst), or None if too small.

    Corners move inwards by randint(thresh) in x and y; the top and bottom
    points of each inner cut line move by randint(thresh) - thresh/2.
    """
    cut = w // segment
    thresh = cut // 3
    if thresh < 1 or h < 1:
        return None
    n = segment - 1
    r = _rand(thresh, 8 + 4 * n).astype(np.float64)
    corners = _corners(h, w)
    dst_c = corners + _INWARD_X * r[0:4] + _INWARD_Y * r[4:8]
    src_mid = _cut_points(cut, segment, h)
    dst_mid = src_mid + (r[8:8 + 2 * n] - thresh * 0.5) + 1j * (r[8 + 2 * n:] - thresh * 0.5)
    return np.concatenate([corners, src_mid]), np.concatenate([dst_c, dst_mid])


def stretch_points(h, w, segment):
    """Upstream's tia_stretch control points as complex (src, dst), or None if too small.

    Corners stay; each inner cut line shifts sideways by randint(thresh) - thresh/2.
    """
    cut = w // segment
    thresh = cut * 4 // 5
    if thresh < 1 or h < 1:
        return None
    n = segment - 1
    move = np.repeat(_rand(thresh, n) - thresh * 0.5, 2)
    corners = _corners(h, w)
    src_mid = _cut_points(cut, segment, h)
    return np.concatenate([corners, src_mid]), np.concatenate([corners, src_mid + move])


def perspective_points(h, w):
    """Upstream's tia_perspective control points as complex (src, dst), or None if too small.

    Top corners move down and bottom corners up by randint(h // 2) each.
    """
    thresh = h // 2
    if thresh < 1 or w < 2:
        return None
    corners = _corners(h, w)
    return corners, corners + 1j * _rand(thresh, 4) * np.array([1, 1, -1, -1])


def _apply(img, pts):
    return img if pts is None else warp_complex(img, *pts)


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
