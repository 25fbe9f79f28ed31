"""Generated word images for tests, smoke runs and benchmarks (no fonts needed)."""
import os

import cv2
import numpy as np

ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def render_word(text, rng, height=32):
    """A dark-on-light word rendered with cv2's Hershey font, lightly jittered."""
    scale = 0.9
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
    img = np.full((h + base + 10, w + 12, 3), int(rng.integers(170, 255)), np.uint8)
    color = tuple(int(c) for c in rng.integers(0, 80, 3))
    cv2.putText(img, text, (6, h + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, color, 2, cv2.LINE_AA)
    noise = rng.normal(0, 6, img.shape)
    img = np.clip(img + noise, 0, 255).astype(np.uint8)
    return cv2.resize(img, (max(8, int(img.shape[1] * height / img.shape[0])), height))


def make_word_dataset(out_dir, num, seed=0, alphabet=ALPHABET, min_len=3, max_len=8, name="train.txt"):
    """Write ``num`` JPEG word images under ``out_dir/images`` and a label file; returns its path."""
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(out_dir, "images"), exist_ok=True)
    lines = []
    stem = os.path.splitext(name)[0]
    for i in range(num):
        text = "".join(rng.choice(list(alphabet), int(rng.integers(min_len, max_len + 1))))
        rel = f"images/{stem}_{i:05d}.jpg"
        cv2.imwrite(os.path.join(out_dir, rel), render_word(text, rng))
        lines.append(f"{rel}\t{text}\n")
    path = os.path.join(out_dir, name)
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)
    return path
