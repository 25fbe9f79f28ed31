"""Export to a Paddle inference model: inference.json/.pdiparams + inference.yml (upstream's format).

inference.yml is written so that PaddleOCR 3 / PaddleX's ``TextRecognition(model_dir=...)`` loads it
unedited: PaddleX runs only DecodeImage, RecResizeImg, MultiLabelEncode and KeepKeys in
``PreProcess.transform_ops`` (anything else fails there with a bare AssertionError), so label
encoders are left out, the other three are written in the form PaddleX calls them with, and any
other Eval transform stops the export with a message naming it. ``Global.model_name`` must be a
name PaddleX knows for text recognition (it picks the predictor and the visualisation font).
PaddleX resizes with the inference width rule of ppexp/data/imaug/rec_resize.py, as ``ppexp
predict`` does.
"""
import logging
import os

import paddle
import yaml

from ppexp.config_defaults import DEFAULT_IMAGE_SHAPE, resize_image_shape
from ppexp.data.imaug.registry import class_declares

logger = logging.getLogger("ppexp")

# TextRecognition's default model name in PaddleOCR 3.7: `TextRecognition(model_dir=DIR)` then loads
# the export with no model_name (a different name must also be passed to TextRecognition).
DEFAULT_PADDLEX_MODEL_NAME = "PP-OCRv6_medium_rec"
PADDLEX_PREPROCESS = ("DecodeImage", "RecResizeImg", "MultiLabelEncode", "KeepKeys")
# Image steps PaddleX has no op for but that ppexp runs on an export (``ppexp predict/eval --model_dir``;
# transforms declaring ``ppexp_only_export``): written under inference.yml's top-level ``ppexp_preprocess``
# key, which PaddleX does not read.
PPEXP_PREPROCESS_KEY = "ppexp_preprocess"


def _eval_transforms(config):
    return ((config.get("Eval") or {}).get("dataset") or {}).get("transforms") or []


def rec_image_shape(config):
    """[C, H, W] of the Eval RecResizeImg (default [3, 32, 100])."""
    return resize_image_shape(_eval_transforms(config), ops=("RecResizeImg",))


def _is_label_op(name):
    return class_declares(name, "label_encoder")


def _paddlex_op(name, params, where):
    """The inference.yml form of one Eval transform, or None when it is left out."""
    if _is_label_op(name):
        return None
    if name == "DecodeImage":
        mode = params.get("img_mode", "RGB")
        if mode not in ("BGR", "RGB") or params.get("channel_first"):
            raise ValueError(f"{where}: DecodeImage img_mode {mode!r} channel_first "
                             f"{params.get('channel_first')!r}: PaddleX's TextRecognition reads 3-channel "
                             "HWC images only; use img_mode BGR or RGB and channel_first: false")
        return {"DecodeImage": {"img_mode": mode, "channel_first": False}}
    if name == "RecResizeImg":
        return {"RecResizeImg": {"image_shape": list(params.get("image_shape", DEFAULT_IMAGE_SHAPE))}}
    if name == "KeepKeys":
        return {"KeepKeys": {"keep_keys": ["image"]}}
    raise ValueError(
        f"{where}: {name} cannot be exported for PaddleOCR 3 / PaddleX: its TextRecognition runs only "
        f"{', '.join(PADDLEX_PREPROCESS)} (and leaves label encoders aside). A model trained with "
        f"{name} would be fed different images there than in training; remove {name} from "
        "Eval.dataset.transforms (and Train) or do that step before recognition in your application")


def ppexp_only_ops(config):
    """The Eval image steps only ppexp runs on an export (``ppexp_only_export``), in order."""
    ops = []
    for item in _eval_transforms(config):
        (name, params), = item.items()
        if class_declares(name, "ppexp_only_export"):
            ops.append({name: dict(params or {})})
    return ops


def paddlex_transform_ops(config):
    """Eval transforms rewritten for inference.yml; ValueError naming a step PaddleX cannot run."""
    ops, names = [], []
    for i, item in enumerate(_eval_transforms(config)):
        (name, params), = item.items()
        if class_declares(name, "ppexp_only_export"):
            continue
        op = _paddlex_op(name, params or {}, f"Eval.dataset.transforms[{i}]")
        if op is not None:
            ops.append(op)
            names.append(name)
    for needed in ("DecodeImage", "RecResizeImg"):
        if needed not in names:
            raise ValueError(f"Eval.dataset.transforms has no {needed}: PaddleX's TextRecognition needs "
                             f"DecodeImage and RecResizeImg (image_shape) to prepare images; add it")
    if "KeepKeys" not in names:
        ops.append({"KeepKeys": {"keep_keys": ["image"]}})
    return ops


def dump_infer_config(config, path, charset, model_name=None):
    """inference.yml: Global.model_name, PreProcess.transform_ops for PaddleX, PostProcess with the dictionary."""
    model_name = model_name or config["Global"].get("model_name") or DEFAULT_PADDLEX_MODEL_NAME
    post = dict(config.get("PostProcess") or {"name": "CTCLabelDecode"})
    if post.get("name") != "CTCLabelDecode":
        raise ValueError(f"PostProcess.name {post.get('name')!r}: PaddleX's TextRecognition decodes CTCLabelDecode only")
    post["character_dict"] = list(charset.characters)
    infer = {"Global": {"model_name": model_name},
             "PreProcess": {"transform_ops": paddlex_transform_ops(config)},
             "PostProcess": post}
    extra = ppexp_only_ops(config)
    if extra:
        infer[PPEXP_PREPROCESS_KEY] = extra
        names = ", ".join(next(iter(op)) for op in extra)
        logger.warning("%s: PaddleOCR 3's TextRecognition does not run %s (it reads PreProcess only); "
                       "`ppexp predict/eval --model_dir` does. In your own application run each crop through "
                       "ppexp.engine.deployed.ppexp_preprocessor(model_dir) before recognition", path, names)
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(infer, f, default_flow_style=False, allow_unicode=True, sort_keys=False)


def save_static(model, input_shape, save_dir):
    """jit-save ``model`` in eval mode as save_dir/inference.json/.pdiparams; returns the path prefix."""
    model.eval()
    spec = [paddle.static.InputSpec(shape=list(input_shape), dtype="float32")]
    static_model = paddle.jit.to_static(model, input_spec=spec, full_graph=True)
    prefix = os.path.join(save_dir, "inference")
    paddle.jit.save(static_model, prefix)
    return prefix


def export_model(model, config, charset, save_dir, model_name=None):
    """jit-save ``model`` (eval mode) with input [N, C, H, -1]; returns the path prefix.

    inference.yml is checked (and written) before the model, so an export PaddleX could not
    run fails before anything is saved.
    """
    os.makedirs(save_dir, exist_ok=True)
    dump_infer_config(config, os.path.join(save_dir, "inference.yml"), charset, model_name)
    c, h, _ = rec_image_shape(config)
    prefix = save_static(model, [None, c, h, -1], save_dir)
    logger.info("inference model is saved to %s (Global.model_name %s for PaddleOCR 3's TextRecognition)",
                prefix, yaml.safe_load(open(os.path.join(save_dir, "inference.yml"), encoding="utf-8"))
                ["Global"]["model_name"])
    return prefix
