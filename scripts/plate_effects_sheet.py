"""Render docs/img/synth_effects.jpg: one plate per row, each camera effect of synth-plates applied alone.

    .venv/bin/python scripts/plate_effects_sheet.py [--out docs/img/synth_effects.jpg] [--seed 0]

Columns: the clean plate, then each effect of ppexp/experiments/synth/scene.py on it (seeded): a camera crop
(perspective, tight box), a loose crop with car context, low resolution (x3 smaller, upsampled), motion blur,
night/IR, IR negative, haze, a steep view (18 degrees, loose box). The generator draws these at random rates;
here each one is forced. The last column is what the plate configs' image steps make of the steep view
(Deskew levels it, CropToText cuts a one-line crop to its text, TwoLineToOneLine joins a two-line plate's
lines: ppexp/data/imaug/).

    .venv/bin/python scripts/plate_effects_sheet.py --grid DIR [--out docs/img/synth_plates.jpg]

writes a grid of the first 40 plates of a set written by `ppexp synth-plates --out DIR`.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from ppexp.data.imaug import create_operators, transform  # noqa: E402
from ppexp.experiments.synth import fonts, scene  # noqa: E402
from ppexp.experiments.synth.kinds import sample_spec  # noqa: E402
from ppexp.experiments.synth.plate import draw_plate  # noqa: E402

ROWS = (("private", False), ("old_green", True), ("commercial", False), ("ev", False), ("construction", True))
H = 64


def _loose(rng, plate):
    """place() with the very loose margins (bumper and body around the plate)."""
    orig = scene.crop_box
    scene.crop_box = lambda r, q, h, cap=None: (q[:, 0].min() - 0.5 * h, q[:, 1].min() - 0.8 * h,
                                                q[:, 0].max() + 0.5 * h, q[:, 1].max() + 0.8 * h)
    try:
        return scene.place(rng, plate, H)[0]
    finally:
        scene.crop_box = orig


def _steep(rng, plate, degrees=18.0):
    """place() with a steep view: the plate rotated by ``degrees`` in a loose box."""
    orig_quad, orig_box = scene.plate_quad, scene.crop_box
    t = np.deg2rad(degrees)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]], np.float32)
    scene.plate_quad = lambda r, w, h, steep_tilt=15.0: (np.array([[-w, -h], [w, -h], [w, h], [-w, h]],
                                                                  np.float32) / 2) @ rot.T
    scene.crop_box = lambda r, q, h, cap=None: (q[:, 0].min() - 0.2 * h, q[:, 1].min() - 0.3 * h,
                                                q[:, 0].max() + 0.2 * h, q[:, 1].max() + 0.3 * h)
    try:
        return scene.place(rng, plate, H)[0]
    finally:
        scene.plate_quad, scene.crop_box = orig_quad, orig_box


IMAGE_STEPS = [{"ShrinkLarge": {"max_height": 64}}, {"Deskew": None}, {"CropToText": None}, {"TwoLineToOneLine": None}]


def image_steps(img):
    return transform({"image": img}, create_operators(IMAGE_STEPS, {}, "plate_effects_sheet"))["image"]


def row(seed, kind, two):
    rng = np.random.default_rng([seed, 7])
    spec = sample_spec(rng, kind, two)
    plate = np.clip(draw_plate(rng, spec, H, fonts.glyph_cache()), 0, 255).astype(np.uint8)
    tight = scene.place(np.random.default_rng([seed, 1]), plate, H)[0].astype(np.float32)
    u8 = lambda f: np.clip(f, 0, 255).astype(np.uint8)
    tiles = [
        ("clean", plate), ("camera crop", u8(tight)), ("loose crop", _loose(np.random.default_rng([seed, 2]), plate)),
        ("low res x3", u8(scene.low_resolution(np.random.default_rng([seed, 3]), tight, 3.0))),
        ("motion blur", u8(scene.motion_blur(np.random.default_rng([seed, 4]), tight))),
        ("night / IR", scene.night_ir(np.random.default_rng([seed, 5]), u8(tight))),
        ("IR negative", scene.ir_negative(np.random.default_rng([seed, 6]), u8(tight))),
        ("haze", u8(scene.haze(np.random.default_rng([seed, 8]), tight))),
    ]
    steep = _steep(np.random.default_rng([seed, 9]), plate)
    tiles += [("steep view", steep), ("image steps", image_steps(steep))]
    return tiles


def grid(data_dir, out, n=40, cols=5, cell_w=200, cell_h=70):
    """The first ``n`` plates of DIR/train.txt, ``cols`` per row, each scaled into a cell."""
    with open(os.path.join(data_dir, "train.txt"), encoding="utf-8") as f:
        paths = [line.split("\t")[0] for _, line in zip(range(n), f)]
    sheet = np.full((cell_h * ((len(paths) + cols - 1) // cols), cell_w * cols, 3), 255, np.uint8)
    for i, rel in enumerate(paths):
        img = cv2.imread(os.path.join(data_dir, rel))
        scale = min((cell_w - 6) / img.shape[1], (cell_h - 6) / img.shape[0])
        img = cv2.resize(img, (max(1, int(img.shape[1] * scale)), max(1, int(img.shape[0] * scale))),
                         interpolation=cv2.INTER_AREA)
        y, x = (i // cols) * cell_h + 3, (i % cols) * cell_w + 3
        sheet[y:y + img.shape[0], x:x + img.shape[1]] = img
    cv2.imwrite(out, sheet, [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"wrote {out} ({sheet.shape[1]}x{sheet.shape[0]})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--grid", metavar="DIR", help="a synth-plates output folder: write a grid of its plates")
    args = ap.parse_args()
    if args.grid:
        return grid(args.grid, args.out or "docs/img/synth_plates.jpg")
    args.out = args.out or "docs/img/synth_effects.jpg"
    cell_w, cell_h = 210, H + 22
    rows = [row(args.seed + i, k, t) for i, (k, t) in enumerate(ROWS)]
    sheet = np.full((cell_h * len(rows), cell_w * len(rows[0]), 3), 255, np.uint8)
    for r, tiles in enumerate(rows):
        for c, (name, img) in enumerate(tiles):
            scale = min(1.0, (cell_w - 8) / img.shape[1], H / img.shape[0])
            img = cv2.resize(img, (max(1, int(img.shape[1] * scale)), max(1, int(img.shape[0] * scale))),
                             interpolation=cv2.INTER_AREA)
            y, x = r * cell_h + 18, c * cell_w + 4
            sheet[y:y + img.shape[0], x:x + img.shape[1]] = img
            if r == 0:
                cv2.putText(sheet, name, (x, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.imwrite(args.out, sheet, [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"wrote {args.out} ({sheet.shape[1]}x{sheet.shape[0]})")


if __name__ == "__main__":
    main()
