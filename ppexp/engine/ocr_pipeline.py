"""Detect -> crop -> recognise with two exported models (``ppexp ocr``), as upstream's predict_system.

Each detected quad is ordered (top-left, top-right, bottom-right, bottom-left), warped flat with a
perspective transform to its own width x height (crops more than 1.5 times taller than wide are
turned 90 degrees, as upstream), and recognised by the rec export exactly as ``ppexp predict
--model_dir`` does (inference.yml's steps, the inference width rule).
"""
import logging
import os

import cv2
import numpy as np
import paddle

from ppexp.data.imaug import transform

logger = logging.getLogger("ppexp")


def order_points(quad):
    """4x2 float32 corners ordered clockwise from the top-left (smallest x + y) corner."""
    pts = np.asarray(quad, np.float32).reshape(4, 2)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles, kind="stable")]          # clockwise in image coordinates (y down)
    start = int(np.argmin(pts.sum(axis=1)))
    return np.roll(pts, -start, axis=0)


def crop_quad(img, quad):
    """The quad's content warped to an upright crop (BGR uint8)."""
    pts = order_points(quad)
    w = int(round(max(np.linalg.norm(pts[0] - pts[1]), np.linalg.norm(pts[3] - pts[2]))))
    h = int(round(max(np.linalg.norm(pts[0] - pts[3]), np.linalg.norm(pts[1] - pts[2]))))
    w, h = max(w, 1), max(h, 1)
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    crop = cv2.warpPerspective(img, cv2.getPerspectiveTransform(pts, dst), (w, h),
                               flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    if h >= 1.5 * w:
        crop = np.rot90(crop).copy()
    return crop


class Recognizer:
    """An exported rec model run as PaddleX runs it (ppexp/engine/deployed.py)."""

    def __init__(self, model_dir, input_shape=None):
        from ppexp.engine.deployed import load_exported, read_infer_config
        from ppexp.postprocess import build_post_process

        if (read_infer_config(model_dir).get("PostProcess") or {}).get("name") != "CTCLabelDecode":
            raise ValueError(f"--rec-model-dir {model_dir}: inference.yml is not a CTC recogniser's "
                             "(PostProcess CTCLabelDecode); give the directory `ppexp export` wrote for a rec config")
        self.model, self.ops, charset = load_exported(model_dir, input_shape)
        self.post = build_post_process({"name": "CTCLabelDecode"}, {}, charset=charset)

    def __call__(self, crop):
        """(text, score) of one BGR crop."""
        ok, buf = cv2.imencode(".png", crop)
        out = transform({"image": buf.tobytes(), "img_path": "crop"}, self.ops) if ok else None
        if out is None:
            return "", 0.0
        with paddle.no_grad():
            preds = self.model(paddle.to_tensor(np.asarray(out[0], np.float32)[None]))
        text, score = self.post(preds)[0]
        return text, float(score)


class Detector:
    """An exported DB detector run as PaddleX's TextDetection runs it (ppexp/engine/det_predictor.py)."""

    def __init__(self, model_dir):
        from ppexp.engine.det_predictor import load_exported_det

        self.model, self.ops, self.post = load_exported_det(model_dir)

    def __call__(self, data, name="image"):
        from ppexp.engine.det_predictor import detect_bytes

        return detect_bytes(self.model, self.post, self.ops, data, name)


def reading_order(items):
    """Top-to-bottom, then left-to-right (boxes on about the same line by their left edge)."""
    def key(item):
        pts = np.asarray(item["points"])
        return (round(float(pts[:, 1].min()) / 10), float(pts[:, 0].min()))
    return sorted(items, key=key)


def ocr_image(path, detector, recognizer, drop_score=0.5):
    """(BGR image, [{"text", "rec_score", "det_score", "points"}]) for one image file; results whose
    recognition score is below ``drop_score`` are left out (upstream's drop_score)."""
    with open(path, "rb") as f:
        data = f.read()
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"{path}: cannot be decoded as an image")
    points, det_scores = detector(data, path)
    items = []
    for box, det_score in zip(points, det_scores):
        quad = np.asarray(box, np.float32).reshape(-1, 2)
        if len(quad) < 3:
            continue
        if len(quad) != 4:  # a polygon (box_type poly): its minimum-area rectangle
            quad = cv2.boxPoints(cv2.minAreaRect(quad))
        quad = order_points(quad)
        text, rec_score = recognizer(crop_quad(img, quad))
        if rec_score >= drop_score:
            items.append({"text": text, "rec_score": rec_score, "det_score": float(det_score),
                          "points": np.round(quad).astype(int).tolist()})
    return img, reading_order(items)


def _font(size):
    from PIL import ImageFont

    from ppexp.experiments.synth.fonts import TTC_INDEX, FontNotFoundError, find_font_files

    try:
        path = find_font_files()[0][0]
        return ImageFont.truetype(path, size, index=TTC_INDEX.get(os.path.basename(path), 0))
    except (FontNotFoundError, OSError) as err:
        logger.warning("no Korean font for the visualisation (%s); Hangul will not be drawn", err)
        return ImageFont.load_default()


def draw_ocr(img, items):
    """The image with each box outlined (green) and its text + scores written above it (Korean font)."""
    from PIL import Image, ImageDraw

    out = img.copy()
    for item in items:
        cv2.polylines(out, [np.asarray(item["points"], np.int32).reshape(-1, 1, 2)], True, (0, 255, 0),
                      max(1, round(max(img.shape[:2]) / 400)), cv2.LINE_AA)
    pil = Image.fromarray(cv2.cvtColor(out, cv2.COLOR_BGR2RGB))
    draw = ImageDraw.Draw(pil)
    size = max(12, round(max(img.shape[:2]) / 40))
    font = _font(size)
    for item in items:
        pts = np.asarray(item["points"])
        x, y = int(pts[:, 0].min()), max(0, int(pts[:, 1].min()) - size - 4)
        label = f"{item['text']} {item['rec_score']:.2f}/{item['det_score']:.2f}"
        box = draw.textbbox((x, y), label, font=font)
        draw.rectangle(box, fill=(0, 0, 0))
        draw.text((x, y), label, font=font, fill=(255, 255, 0))
    return cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)


def write_ocr_outputs(path, img, items, out_dir):
    """``<name>.json`` and ``<name>.png`` (the visualisation) in ``out_dir``; their paths."""
    import json

    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.splitext(os.path.basename(path))[0]
    json_path, png_path = os.path.join(out_dir, stem + ".json"), os.path.join(out_dir, stem + ".png")
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump({"image": path, "results": items}, f, ensure_ascii=False, indent=1)
    cv2.imwrite(png_path, draw_ocr(img, items))
    return json_path, png_path
