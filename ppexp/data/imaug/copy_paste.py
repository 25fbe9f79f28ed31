"""CopyPaste (PP-OCRv4 det configs): paste text instances of another sample into this one.

The dataset supplies one extra decoded sample (``ext_data``, built with the first
``ext_op_transform_idx`` ops: DecodeImage + DetLabelEncode). Up to max(1, min(int(ratio * K), 30))
of its care boxes (4-point) are cut out upright with a perspective warp, rotated by a random angle
(canvas expanded), and pasted where their bounding box meets no existing polygon (``limit_paste``;
50 tries, else the box is not pasted). The pasted boxes join ``polys`` / ``ignore_tags``; all polygons
are clipped to the image. Draws come from numpy's global RNG. Differences from upstream: the
overlap test uses the candidate's own rectangle (upstream shifts it to start at its right edge),
pasted boxes get their transcription in ``texts`` (upstream leaves ``texts`` short, so its
EastRandomCropData's zip silently drops every pasted box), and boxes that are not 4-point are
skipped and counted.
"""
import cv2
import numpy as np

from ppexp.data.imaug.random_crop_data import outside_rect
from ppexp.data.imaug.registry import TRANSFORMS
from ppexp.utils.polygon import SkipCounter


def upright_crop(img, quad):
    """The quad's content warped to an upright rectangle (rotated 90 degrees when 1.5x taller than wide)."""
    quad = np.asarray(quad, np.float32)
    w = int(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3])))
    h = int(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    if w < 1 or h < 1:
        return None
    target = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    crop = cv2.warpPerspective(img, cv2.getPerspectiveTransform(quad, target), (w, h),
                               borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)
    return np.ascontiguousarray(np.rot90(crop)) if h / w >= 1.5 else crop


def rotated(patch, angle):
    """(patch rotated counter-clockwise by ``angle`` degrees on an expanded canvas, its mask, its corners)."""
    h, w = patch.shape[:2]
    rad = np.deg2rad(angle)
    nw = int(np.ceil(abs(np.sin(rad)) * h + abs(np.cos(rad)) * w - 1e-6))
    nh = int(np.ceil(abs(np.cos(rad)) * h + abs(np.sin(rad)) * w - 1e-6))
    # in pixel-edge coordinates (pixel i spans [i, i + 1]), as the polygon corners are
    matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, 1.0)
    matrix[:, 2] += ((nw - w) / 2.0, (nh - h) / 2.0)
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64) @ matrix[:, :2].T + matrix[:, 2]
    # cv2 maps pixel centres: the same map in pixel-index coordinates
    index_matrix = matrix.copy()
    index_matrix[:, 2] += matrix[:, :2] @ (0.5, 0.5) - 0.5
    out = cv2.warpAffine(patch, index_matrix, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=0)
    full = np.full((h, w), 255, np.uint8)
    mask = cv2.warpAffine(full, index_matrix, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=0) >= 128
    return out, mask, corners


@TRANSFORMS.register()
class CopyPaste:
    """See the module docstring. Config: ``objects_paste_ratio`` (0.2), ``limit_paste`` (true)."""

    def __init__(self, objects_paste_ratio=0.2, limit_paste=True):
        self.ext_data_num = 1
        self.ratio = float(objects_paste_ratio)
        self.limit_paste = bool(limit_paste)
        self.skipped = SkipCounter("CopyPaste")

    def __call__(self, data):
        ext = (data.get("ext_data") or [None])[0]
        if ext is None:  # the dataset found no usable extra sample: nothing to paste
            return data
        img = data["image"].copy()
        polys = [np.asarray(p, np.float64) for p in data["polys"]]
        tags = list(np.asarray(data["ignore_tags"], bool))
        texts = list(data.get("texts", [""] * len(polys)))
        care = [i for i, tag in enumerate(ext["ignore_tags"]) if not tag]
        np.random.shuffle(care)
        for i in care[: max(1, min(int(self.ratio * len(ext["polys"])), 30))]:
            quad = np.asarray(ext["polys"][i])
            patch = upright_crop(ext["image"], quad) if len(quad) == 4 else None
            if patch is None:
                self.skipped.add("not a 4-point box with area")
                continue
            box = self.paste(img, patch, polys)
            if box is not None:
                polys.append(box)
                tags.append(False)
                texts.append(ext["texts"][i] if "texts" in ext else "")
        h, w = img.shape[:2]
        size = max([len(p) for p in polys] + [4])
        out = np.array([np.concatenate([p, np.repeat(p[-1:], size - len(p), 0)]) for p in polys]).reshape(-1, size, 2)
        out[..., 0], out[..., 1] = np.clip(out[..., 0], 0, w), np.clip(out[..., 1], 0, h)
        data["image"], data["polys"], data["ignore_tags"] = img, out, np.array(tags, bool)
        data["texts"] = texts
        return data

    def paste(self, img, patch, polys):
        """Paste a randomly rotated ``patch`` into ``img`` in place; its corners, or None."""
        h, w = img.shape[:2]
        ph, pw = patch.shape[:2]
        if pw > w or ph > h:
            return None
        patch, mask, corners = rotated(patch, float(np.random.randint(0, 360)))
        spot = self.place(polys, corners, w - pw, h - ph)
        if spot is None:
            return None
        x, y = spot
        rh, rw = min(patch.shape[0], h - y), min(patch.shape[1], w - x)
        region, keep = img[y:y + rh, x:x + rw], mask[:rh, :rw]
        region[keep] = patch[:rh, :rw][keep]
        return corners + (x, y)

    def place(self, polys, corners, end_x, end_y):
        """A paste offset whose rotated box's bounding box meets no polygon (50 tries), or None."""
        (x0, y0), (x1, y1) = corners.min(axis=0), corners.max(axis=0)
        for _ in range(50 if self.limit_paste else 1):
            x, y = int(np.random.randint(0, end_x + 1)), int(np.random.randint(0, end_y + 1))
            if not self.limit_paste or all(outside_rect(p, x0 + x, y0 + y, x1 - x0, y1 - y0) for p in polys):
                return x, y
        return None
