"""Export a DBNet detector for PaddleOCR 3's ``TextDetection(model_dir=..., model_name=...)``.

inference.json/.pdiparams (input [N, 3, H, W], output the shrink map) and an inference.yml in the
form PaddleX's text-detection predictor reads: ``PreProcess.transform_ops`` of DecodeImage,
DetResizeForTest, NormalizeImage, ToCHWImage (DetLabelEncode and KeepKeys left out: PaddleX ignores
them), ``PostProcess`` DBPostProcess with the config's thresholds.

PaddleX's resize rule: for the PP-OCRv3/v4/v5 det names (MAX_LIMIT_MODEL_NAMES) it resizes with
limit_type 'max', for any other name with 'min', and takes the side length from ``resize_long``;
so an Eval ``DetResizeForTest {limit_side_len: L, limit_type: max}`` is written as
``{resize_long: L}`` under such a name. ``image_shape`` ([H, W], keep_ratio) passes as is.
``read_det_resize`` reads it back the same way (ppexp's runner of an export, ppexp ocr).
"""
import logging
import os

import yaml

from ppexp.engine.export import save_static

logger = logging.getLogger("ppexp")

DEFAULT_DET_MODEL_NAME = "PP-OCRv5_mobile_det"
MAX_LIMIT_MODEL_NAMES = ("PP-OCRv5_server_det", "PP-OCRv5_mobile_det", "PP-OCRv4_server_det",
                         "PP-OCRv4_mobile_det", "PP-OCRv3_server_det", "PP-OCRv3_mobile_det")
DB_KEYS = ("thresh", "box_thresh", "max_candidates", "unclip_ratio", "use_dilation", "score_mode", "box_type")
DB_DEFAULTS = {"thresh": 0.3, "box_thresh": 0.7, "max_candidates": 1000, "unclip_ratio": 2.0}


def paddlex_limit_type(model_name):
    return "max" if model_name in MAX_LIMIT_MODEL_NAMES else "min"


def _resize_op(params, model_name, where):
    if params.get("image_shape") is not None:
        out = {"image_shape": [int(v) for v in params["image_shape"]]}
        if params.get("keep_ratio"):
            out["keep_ratio"] = True
        return {"DetResizeForTest": out}
    if params.get("limit_side_len") is None and params.get("resize_long") is not None:
        raise ValueError(f"{where}: DetResizeForTest resize_long (upstream's multiple-of-128 mode) has no "
                         "equivalent in PaddleX's TextDetection, which reads resize_long as limit_side_len; use "
                         "limit_side_len + limit_type: max (or image_shape) in Eval.dataset.transforms")
    limit, ltype = int(params.get("limit_side_len") or 736), params.get("limit_type") or "min"
    want = paddlex_limit_type(model_name)
    if ltype != want:
        names = ", ".join(MAX_LIMIT_MODEL_NAMES)
        raise ValueError(
            f"{where}: DetResizeForTest limit_type {ltype!r}, but PaddleX's TextDetection resizes a model named "
            f"{model_name!r} with limit_type {want!r}. Use limit_type max with a model name among {names} "
            "(--model_name), limit_type min with another name, or image_shape")
    return {"DetResizeForTest": {"resize_long": limit}}


def _det_op(name, params, model_name, where):
    """The inference.yml form of one Eval transform (None: left out)."""
    if name in ("DetLabelEncode", "KeepKeys"):
        return None
    if name == "DecodeImage":
        mode = params.get("img_mode", "BGR")
        if mode not in ("BGR", "RGB") or params.get("channel_first"):
            raise ValueError(f"{where}: DecodeImage img_mode {mode!r} channel_first {params.get('channel_first')!r}: "
                             "PaddleX reads 3-channel HWC images; use img_mode BGR or RGB, channel_first false")
        return {"DecodeImage": {"img_mode": mode, "channel_first": False}}
    if name == "DetResizeForTest":
        return _resize_op(params, model_name, where)
    if name == "NormalizeImage":
        if (params.get("order") or "hwc") != "hwc":
            raise ValueError(f"{where}: NormalizeImage order {params.get('order')!r}: before ToCHWImage the image "
                             "is HWC, and PaddleX normalises HWC images; use order: hwc")
        keys = ("scale", "mean", "std")
        return {"NormalizeImage": dict({k: params[k] for k in keys if params.get(k) is not None}, order="hwc")}
    if name == "ToCHWImage":
        return {"ToCHWImage": None}
    raise ValueError(f"{where}: {name} cannot be exported for PaddleOCR 3's TextDetection, which runs only "
                     "DecodeImage, DetResizeForTest, NormalizeImage and ToCHWImage; remove it from "
                     "Eval.dataset.transforms or apply it in your application")


def det_transform_ops(config, model_name):
    """Eval transforms in PaddleX's form; ValueError naming a step it cannot run or a missing one."""
    ops = []
    transforms = ((config.get("Eval") or {}).get("dataset") or {}).get("transforms") or []
    for i, item in enumerate(transforms):
        (name, params), = item.items()
        op = _det_op(name, params or {}, model_name, f"Eval.dataset.transforms[{i}]")
        if op is not None:
            ops.append(op)
    names = [next(iter(op)) for op in ops]
    for needed in ("DecodeImage", "DetResizeForTest", "NormalizeImage", "ToCHWImage"):
        if needed not in names:
            raise ValueError(f"Eval.dataset.transforms has no {needed}: PaddleX's TextDetection needs DecodeImage, "
                             "DetResizeForTest, NormalizeImage and ToCHWImage; add it")
    return ops


def det_postprocess(config):
    post = dict(config.get("PostProcess") or {})
    if post.get("name") != "DBPostProcess":
        raise ValueError(f"PostProcess.name {post.get('name')!r}: PaddleX's TextDetection runs DBPostProcess only")
    out = {"name": "DBPostProcess"}
    out.update({k: post.get(k, DB_DEFAULTS.get(k)) for k in DB_KEYS if post.get(k, DB_DEFAULTS.get(k)) is not None})
    return out


def dump_det_infer_config(config, path, model_name=None):
    model_name = model_name or config["Global"].get("model_name") or DEFAULT_DET_MODEL_NAME
    infer = {"Global": {"model_name": model_name},
             "PreProcess": {"transform_ops": det_transform_ops(config, model_name)},
             "PostProcess": det_postprocess(config)}
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(infer, f, default_flow_style=False, allow_unicode=True, sort_keys=False)
    return model_name


def export_det_model(model, config, save_dir, model_name=None):
    """inference.yml (checked first, so nothing is saved for an export PaddleX could not run) + the model."""
    os.makedirs(save_dir, exist_ok=True)
    name = dump_det_infer_config(config, os.path.join(save_dir, "inference.yml"), model_name)
    prefix = save_static(model, [None, 3, -1, -1], save_dir)
    logger.info("inference model is saved to %s (for PaddleOCR 3: TextDetection(model_name=%r, model_dir=%r))",
                prefix, name, save_dir)
    return prefix


def read_det_resize(op_params, model_name):
    """ppexp's DetResizeForTest arguments for an inference.yml DetResizeForTest, as PaddleX applies it."""
    params = dict(op_params or {})
    if params.get("image_shape") is not None:
        return {"image_shape": params["image_shape"], "keep_ratio": bool(params.get("keep_ratio", False))}
    default = 960 if model_name in MAX_LIMIT_MODEL_NAMES else 736
    return {"limit_side_len": int(params.get("limit_side_len") or params.get("resize_long") or default),
            "limit_type": params.get("limit_type") or paddlex_limit_type(model_name)}
