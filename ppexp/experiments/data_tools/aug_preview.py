"""Render what the model sees: a config's Train transforms on real samples, as a labelled image grid.

Each tile shows the image after the augmentation ops (every op before the first
resize / normalise / KeepKeys op; label encoders are skipped for the picture)
and, below it, the model input after the remaining ops, de-normalised back to
pixels. The label is the text after the augmentations (RecConAug joins labels).
Samples the pipeline rejects are counted by reason, not drawn.
"""
import math
import os
import random
from collections import Counter
from dataclasses import dataclass

import cv2
import numpy as np

from ppexp.data.imaug.operators import DecodeImage, KeepKeys, NormalizeImage
from ppexp.data.imaug.registry import declares
from ppexp.errors import UserError

class PreviewError(UserError, ValueError):
    """No grid could be made or written (exit code 1)."""


FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
    "/usr/share/fonts/truetype/nanum/NanumBarunGothic.ttf",
    "/usr/share/fonts/nanum/NanumGothic.ttf",
    "/usr/share/fonts/truetype/nanum/NanumGothicCoding.ttf",
]
PAD, TEXT_H, BG = 6, 22, (255, 255, 255)


@dataclass
class Tile:
    augmented: np.ndarray   # HxWx3 uint8 BGR
    model_input: object     # HxWx3 uint8 BGR or None
    label: str
    source: str


def _is_stop(op):
    """The augmented image is shown before the first op that makes the model input of it."""
    return declares(op, "prepares_model_input")


def _is_label_op(op):
    return declares(op, "label_encoder")


def _rgb_input(ops):
    decode = next((op for op in ops if isinstance(op, DecodeImage)), None)
    return decode is not None and getattr(decode, "img_mode", "BGR") == "RGB"


def to_display(img, ops, rgb=False):
    """Any pipeline image (HWC/CHW, uint8/float, 1/3/4 channels) as HxWx3 uint8 BGR for display."""
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[2] not in (1, 3, 4):
        a = a.transpose(1, 2, 0)
    if a.dtype != np.uint8:
        a = a.astype(np.float32)
        norm = next((op for op in ops if isinstance(op, NormalizeImage)), None)
        if norm is not None:
            a = (a * norm.std.reshape(-1) + norm.mean.reshape(-1)) / norm.scale
        elif any(declares(op, "carries_input_shape") for op in ops):  # RecResizeImg: x * 2/255 - 1
            a = (a + 1.0) * 127.5
        elif a.max() <= 1.0:
            a = a * 255.0
        a = np.clip(np.nan_to_num(a), 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    elif a.shape[2] == 4:
        a = a[:, :, :3]
    elif rgb:
        a = a[:, :, ::-1]
    return np.ascontiguousarray(a)


def run_pipeline(data, ops):
    """(augmented image, label text, final image) or (None, reason, None) when an op rejects the sample."""
    augmented, label, rgb = None, None, _rgb_input(ops)
    for i, op in enumerate(ops):
        if isinstance(op, KeepKeys):
            break
        if augmented is None and _is_stop(op):
            augmented = to_display(data["image"], ops[:i], rgb)
        if label is None and _is_label_op(op):
            label = data.get("label")
        data = op(data)
        if data is None:
            return None, "rejected", None
    if augmented is None:
        return to_display(data["image"], ops, rgb), str(label if label is not None else data.get("label", "")), None
    label = label if isinstance(label, str) else data.get("label", "")
    return augmented, str(label), to_display(data["image"], ops, rgb)


def collect_tiles(dataset, n, seed=0):
    """Up to ``n`` Tiles from random samples of ``dataset``; Counter of rejection reasons."""
    np.random.seed(seed)
    random.seed(seed)
    order = np.random.default_rng(seed).permutation(len(dataset))
    tiles, rejected = [], Counter()
    for idx in order[: max(n * 5, n + 20)]:
        if len(tiles) >= n:
            break
        data = dataset.load(int(idx))
        if data is None or "_reject" in data:
            rejected[(data or {}).get("_reject", "other")] += 1
            continue
        if dataset.ext_data_num:
            data["ext_data"] = dataset.get_ext_data()
        probe = data
        try:
            augmented, label, model_input = run_pipeline(data, dataset.ops)
        except Exception as err:  # noqa: BLE001 - shown in the summary, the preview goes on
            rejected[f"{type(err).__name__}: {err}"[:80]] += 1
            continue
        if augmented is None:
            rejected[probe.get("_reject", "rejected by a transform")] += 1
            continue
        tiles.append(Tile(augmented, model_input, label, dataset.describe(int(idx))))
    return tiles, rejected


def _fit(img, height, max_w):
    h, w = img.shape[:2]
    new_w = max(1, int(round(w * height / max(h, 1))))
    if new_w > max_w:
        new_w, height = max_w, max(1, int(round(h * max_w / max(w, 1))))
    return cv2.resize(img, (new_w, height), interpolation=cv2.INTER_AREA if h > height else cv2.INTER_LINEAR)


def find_font(font_path=None):
    """A TrueType font that renders Hangul (Nanum), or None."""
    for path in [font_path] + FONT_CANDIDATES if font_path else FONT_CANDIDATES:
        if path and os.path.isfile(path):
            return path
    return None


class TextDrawer:
    """Labels with PIL and a Hangul-capable font; cv2 ASCII text when no font is installed."""

    def __init__(self, font_path=None, size=16):
        self.path = find_font(font_path)
        self.items = []
        self.size = size

    def add(self, xy, text, color=(0, 0, 0)):
        self.items.append((xy, text, color))

    def render(self, canvas):
        if self.path:
            from PIL import Image, ImageDraw, ImageFont

            font = ImageFont.truetype(self.path, self.size)
            pil = Image.fromarray(canvas[:, :, ::-1])
            draw = ImageDraw.Draw(pil)
            for (x, y), text, color in self.items:
                draw.text((x, y), text, font=font, fill=tuple(color[::-1]))
            return np.ascontiguousarray(np.asarray(pil)[:, :, ::-1])
        for (x, y), text, color in self.items:
            ascii_text = text.encode("ascii", "replace").decode("ascii")
            cv2.putText(canvas, ascii_text, (x, y + self.size - 3), cv2.FONT_HERSHEY_SIMPLEX,
                        self.size / 32.0, color, 1, cv2.LINE_AA)
        return canvas


def render_grid(tiles, cols=4, tile_w=240, image_h=48, title="", font_path=None):
    """The tiles as one BGR image: augmented image, model input below it, label under both."""
    cols = max(1, min(cols, len(tiles)))
    rows = math.ceil(len(tiles) / cols)
    has_model = any(t.model_input is not None for t in tiles)
    cell_h = PAD + image_h + (PAD + image_h if has_model else 0) + TEXT_H + PAD
    top = TEXT_H + PAD if title else 0
    canvas = np.full((top + rows * cell_h, cols * (tile_w + PAD) + PAD, 3), BG, np.uint8)
    text = TextDrawer(font_path)
    if title:
        text.add((PAD, 2), title, (60, 60, 60))
    for k, tile in enumerate(tiles):
        x, y = PAD + (k % cols) * (tile_w + PAD), top + (k // cols) * cell_h + PAD
        canvas[y:y + image_h, x:x + tile_w] = (235, 235, 235)
        for img in (tile.augmented, tile.model_input):
            if img is None:
                continue
            shown = _fit(img, image_h, tile_w)
            canvas[y:y + shown.shape[0], x:x + shown.shape[1]] = shown
            y += image_h + PAD
        text.add((x, y - 2), tile.label, (0, 0, 160))
    return text.render(canvas), text.path


def ops_summary(ops):
    """('DecodeImage > RecAug', 'RecResizeImg') : the ops shown in the top row, and the rest."""
    names = [type(op).__name__ for op in ops]
    cut = next((i for i, op in enumerate(ops) if _is_stop(op)), len(ops))
    shown = [n for n, op in zip(names[:cut], ops[:cut]) if not _is_label_op(op)]
    rest = [n for n, op in zip(names[cut:], ops[cut:]) if not isinstance(op, KeepKeys) and not _is_label_op(op)]
    return " > ".join(shown), " > ".join(rest)


def aug_preview(config, out, n=32, mode="Train", seed=0, cols=4, tile_w=240, image_h=48, font_path=None,
                config_name=""):
    """Write the grid PNG for ``config``'s ``mode`` set; returns a summary dict."""
    from ppexp.data.loader import build_dataset
    from ppexp.utils.character import CharacterDict

    charset = CharacterDict.from_config(config.get("Global") or {})
    dataset = build_dataset(config, mode, seed=seed, charset=charset)
    tiles, rejected = collect_tiles(dataset, n, seed)
    if not tiles:
        raise PreviewError(f"{mode}: no sample made it through the transforms ({dict(rejected)}); run "
                           f"`ppexp check-labels -c CONFIG` and check {mode}.dataset.transforms")
    top, rest = ops_summary(dataset.ops)
    title = f"{config_name} {mode}, seed {seed}: top = {top}" + (f"; below = {rest} (de-normalised)" if rest else "")
    grid, font = render_grid(tiles, cols, tile_w, image_h, title.strip(), font_path)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    try:
        written = cv2.imwrite(out, grid, [cv2.IMWRITE_PNG_COMPRESSION, 9] if out.lower().endswith(".png") else [])
    except cv2.error:       # no writer for the file name's extension
        written = False
    if not written:
        raise PreviewError(f"--out: could not write '{out}'; give a .png or .jpg file name")
    return {"out": out, "width": grid.shape[1], "height": grid.shape[0], "tiles": len(tiles),
            "samples": len(dataset), "rejected": dict(rejected), "top": top, "rest": rest, "font": font,
            "bytes": os.path.getsize(out)}
