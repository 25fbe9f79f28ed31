"""Load a trained model from a config and recognise images (tools/infer_rec.py, ppexp predict)."""
import logging
import os

import numpy as np
import paddle

from ppexp.config_defaults import save_model_dir
from ppexp.data.imaug import create_operators, transform
from ppexp.data.imaug.operators import KeepKeys
from ppexp.data.imaug.registry import TRANSFORMS, class_declares
from ppexp.engine.builder import build_components
from ppexp.engine.checkpoint import load_params_into, normalize_prefix

logger = logging.getLogger("ppexp")
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def weights_path(global_cfg):
    """The .pdparams to load: Global.checkpoints, else pretrained_model, else best_accuracy in save_model_dir."""
    for key in ("checkpoints", "pretrained_model"):
        if global_cfg.get(key):
            return normalize_prefix(global_cfg[key]) + ".pdparams"
    best = os.path.join(save_model_dir({"Global": global_cfg}), "best_accuracy.pdparams")
    if os.path.exists(best):
        return best
    raise FileNotFoundError("no weights to load: set -o Global.checkpoints=<save_model_dir>/best_accuracy "
                            f"(looked for {best})")


def load_trained(config):
    """Components with the trained weights loaded, model in eval mode."""
    parts = build_components(config)
    path = weights_path(config["Global"])
    if not os.path.exists(path):
        raise FileNotFoundError(f"weights '{path}' do not exist (check Global.checkpoints)")
    notes = load_params_into(parts.model, path)
    if any("shape" in n for n in notes):
        raise ValueError(f"{path} does not match this config's model: {notes[:2]}")
    parts.model.eval()
    return parts, path


def infer_ops(config, charset):
    """Eval transforms without label ops, ending with KeepKeys(['image']).

    RecResizeImg runs in ``infer_mode``: the inference width rule PaddleX's TextRecognition applies
    to an exported model (ppexp/data/imaug/rec_resize.py), so both give the same texts.
    """
    ops_cfg = []
    for item in config["Eval"]["dataset"]["transforms"]:
        name = next(iter(item))
        keep_keys = name in TRANSFORMS and TRANSFORMS.get(name) is KeepKeys   # replaced by ours below
        if keep_keys or class_declares(name, "train_only"):
            continue
        if name == "DecodeImage":
            item = {name: dict(item[name] or {}, img_mode=(item[name] or {}).get("img_mode", "BGR"))}
        if name == "RecResizeImg":
            item = {name: dict(item[name] or {}, infer_mode=True)}
        ops_cfg.append(item)
    ops_cfg.append({"KeepKeys": {"keep_keys": ["image"]}})
    return create_operators(ops_cfg, dict(config["Global"], charset=charset), "inference transforms")


def list_images(path):
    if os.path.isdir(path):
        files = sorted(os.path.join(path, f) for f in os.listdir(path) if f.lower().endswith(IMAGE_EXTS))
        if not files:
            raise FileNotFoundError(f"no images ({', '.join(IMAGE_EXTS)}) in '{path}'; pass an image or a folder "
                                    "of images as --image or Global.infer_img")
        return files
    if not os.path.exists(path):
        raise FileNotFoundError(f"image '{path}' does not exist; fix --image or Global.infer_img")
    return [path]


def prepare_images(ops, paths):
    """{path: CHW float32 input} after the inference transforms; ValueError naming an unreadable file."""
    images = {}
    for path in paths:
        with open(path, "rb") as f:
            out = transform({"image": f.read(), "img_path": path}, ops)
        if out is None:
            raise ValueError(f"{path}: cannot be decoded as an image")
        images[path] = out[0]
    return images


def same_width_batches(images, batch_size):
    """Lists of paths whose inputs have the same width (no padding between images, so a text does
    not depend on the images batched with it), at most ``batch_size`` each."""
    by_width = {}
    for path, img in images.items():
        by_width.setdefault(img.shape[2], []).append(path)
    for group in by_width.values():
        for start in range(0, len(group), batch_size):
            yield group[start:start + batch_size]


def predict_images(model, post_process, ops, paths, batch_size=32):
    """[(path, text, score)] for image files, in ``paths`` order.

    ``model``: a model in eval mode, or an exported one (ppexp/engine/deployed.py).
    """
    images = prepare_images(ops, paths)
    decoded = {}
    for chunk in same_width_batches(images, batch_size):
        with paddle.no_grad():
            preds = model(paddle.to_tensor(np.stack([images[p] for p in chunk])))
        decoded.update(zip(chunk, post_process(preds)))
    return [(path, *decoded[path]) for path in paths]
