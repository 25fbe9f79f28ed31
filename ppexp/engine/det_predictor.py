"""Detect text boxes with a trained det checkpoint or an exported det model (``ppexp predict``, ``ppexp ocr``).

Exported models are read the way PaddleOCR 3's TextDetection reads them: inference.yml's
DecodeImage / DetResizeForTest (PaddleX's resize rule, det_export.read_det_resize) / NormalizeImage /
ToCHWImage, then DBPostProcess with its PostProcess keys. One image per forward pass (sizes differ).
"""
import copy
import json
import os

import cv2
import numpy as np
import paddle

from ppexp.data.imaug import create_operators, transform
from ppexp.engine.det_export import read_det_resize
from ppexp.engine.deployed import ExportedModel, read_infer_config

IMAGE_KEYS = {"KeepKeys": {"keep_keys": ["image", "shape"]}}


def det_infer_ops(config):
    """A det config's Eval transforms without DetLabelEncode / KeepKeys, ending with KeepKeys(image, shape)."""
    ops_cfg = [item for item in config["Eval"]["dataset"]["transforms"]
               if next(iter(item)) not in ("DetLabelEncode", "KeepKeys")]
    return create_operators(ops_cfg + [IMAGE_KEYS], dict(config["Global"]), "inference transforms")


def exported_det_op_configs(infer_cfg, path="inference.yml"):
    """inference.yml's image steps (``- Name: {params}`` items, no label op / KeepKeys) as PaddleX applies them."""
    model_name = (infer_cfg.get("Global") or {}).get("model_name")
    ops_cfg = []
    for item in (infer_cfg.get("PreProcess") or {}).get("transform_ops") or []:
        (name, params), = item.items()
        if name == "DetResizeForTest":
            params = read_det_resize(params, model_name)
        if name not in ("DetLabelEncode", "KeepKeys"):
            ops_cfg.append({name: params})
    if not any("DetResizeForTest" in op for op in ops_cfg):
        raise ValueError(f"{path}: PreProcess.transform_ops has no DetResizeForTest; re-export the det model")
    return ops_cfg


def exported_det_ops(infer_cfg, path="inference.yml"):
    """Transforms of an exported det model's inference.yml, as PaddleX applies them."""
    return create_operators(exported_det_op_configs(infer_cfg, path) + [IMAGE_KEYS], {}, f"{path} PreProcess")


def det_eval_config_for_exported(config, model_dir):
    """``config`` with the Eval set read as the exported det model sees it: inference.yml's decode, the
    config's DetLabelEncode, inference.yml's resize / normalise / layout; one image per batch (as PaddleX)."""
    config = copy.deepcopy(config)
    infer_ops = exported_det_op_configs(read_infer_config(model_dir), os.path.join(model_dir, "inference.yml"))
    dataset = config["Eval"]["dataset"]
    labels = [op for op in dataset["transforms"] if next(iter(op)) == "DetLabelEncode"] or [{"DetLabelEncode": None}]
    decode = [op for op in infer_ops if "DecodeImage" in op]
    rest = [op for op in infer_ops if "DecodeImage" not in op]
    keep = {"KeepKeys": {"keep_keys": ["image", "shape", "polys", "ignore_tags"]}}
    dataset["transforms"] = decode + labels + rest + [keep]
    config["Eval"].setdefault("loader", {})["batch_size_per_card"] = 1
    return config


def is_det_export(model_dir):
    return ((read_infer_config(model_dir).get("PostProcess") or {}).get("name")) == "DBPostProcess"


def load_exported_det(model_dir):
    """(ExportedModel, transforms, DBPostProcess) of an exported det model directory."""
    from ppexp.postprocess import build_post_process

    infer_cfg = read_infer_config(model_dir)
    post_cfg = dict(infer_cfg.get("PostProcess") or {})
    if post_cfg.get("name") != "DBPostProcess":
        raise ValueError(f"{model_dir}/inference.yml: PostProcess {post_cfg.get('name')!r} is not a DB detector's; "
                         "give the directory of an exported det model (ppexp export -c configs/det/...)")
    ops = exported_det_ops(infer_cfg, os.path.join(model_dir, "inference.yml"))
    return ExportedModel(model_dir, mkldnn=False), ops, build_post_process(post_cfg)


def detect_bytes(model, post_process, ops, data, name="image"):
    """(points, scores) for one encoded image: quads int32 [n, 4, 2] (or polygons), in source pixels."""
    out = transform({"image": data, "img_path": name}, ops)
    if out is None:
        raise ValueError(f"{name}: cannot be decoded as an image")
    image, shape = out
    with paddle.no_grad():
        preds = model(paddle.to_tensor(np.asarray(image, np.float32)[None]))
    result = post_process(preds, np.asarray(shape, np.float64)[None])[0]
    return result["points"], [float(s) for s in result["scores"]]


def detect_images(model, post_process, ops, paths):
    """[(path, points, scores)] in ``paths`` order."""
    results = []
    for path in paths:
        with open(path, "rb") as f:
            results.append((path, *detect_bytes(model, post_process, ops, f.read(), path)))
    return results


def boxes_json(points, scores):
    return [{"points": np.asarray(p).astype(int).tolist(), "score": round(float(s), 6)} for p, s in zip(points, scores)]


def draw_boxes(img, points, scores=None, colour=(0, 255, 0)):
    """``img`` (BGR) with each box outlined and, when given, its score written above it."""
    out = img.copy()
    thick = max(1, round(max(img.shape[:2]) / 400))
    for k, pts in enumerate(points):
        pts = np.asarray(pts, np.int32).reshape(-1, 1, 2)
        cv2.polylines(out, [pts], True, colour, thick, cv2.LINE_AA)
        if scores is not None:
            x, y = pts[:, 0].min(0)
            cv2.putText(out, f"{scores[k]:.2f}", (int(x), max(10, int(y) - 3)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.4 * thick, colour, thick, cv2.LINE_AA)
    return out


def write_det_outputs(results, out_dir):
    """``<name>.json`` ({image, boxes: [{points, score}]}) and ``<name>.png`` (boxes drawn) per image; their paths."""
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for path, points, scores in results:
        stem = os.path.splitext(os.path.basename(path))[0]
        json_path, png_path = os.path.join(out_dir, stem + ".json"), os.path.join(out_dir, stem + ".png")
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump({"image": path, "boxes": boxes_json(points, scores)}, f, ensure_ascii=False, indent=1)
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f"{path}: cannot be read as an image for drawing")
        cv2.imwrite(png_path, draw_boxes(img, points, scores))
        written += [json_path, png_path]
    return written
