"""Export to a Paddle inference model: inference.json/.pdiparams + inference.yml (upstream's format)."""
import logging
import os

import paddle
import yaml

logger = logging.getLogger("ppexp")


def rec_image_shape(config):
    """[C, H, W] of the Eval RecResizeImg (default [3, 32, 100])."""
    for item in ((config.get("Eval") or {}).get("dataset") or {}).get("transforms") or []:
        if isinstance(item, dict) and "RecResizeImg" in item:
            return list((item["RecResizeImg"] or {}).get("image_shape", [3, 32, 100]))
    return [3, 32, 100]


def dump_infer_config(config, path, charset):
    """inference.yml: PreProcess.transform_ops (Eval transforms) and PostProcess with character_dict."""
    infer = {}
    if config["Global"].get("model_name"):
        infer["Global"] = {"model_name": config["Global"]["model_name"]}
    infer["PreProcess"] = {"transform_ops": config["Eval"]["dataset"]["transforms"]}
    post = dict(config.get("PostProcess") or {"name": "CTCLabelDecode"})
    if config["Global"].get("character_dict_path"):
        post["character_dict"] = list(charset.characters)
    infer["PostProcess"] = post
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(infer, f, default_flow_style=False, allow_unicode=True, sort_keys=False)


def export_model(model, config, charset, save_dir):
    """jit-save ``model`` (eval mode) with input [N, C, H, -1]; returns the path prefix."""
    os.makedirs(save_dir, exist_ok=True)
    c, h, _ = rec_image_shape(config)
    model.eval()
    spec = [paddle.static.InputSpec(shape=[None, c, h, -1], dtype="float32")]
    static_model = paddle.jit.to_static(model, input_spec=spec, full_graph=True)
    prefix = os.path.join(save_dir, "inference")
    paddle.jit.save(static_model, prefix)
    dump_infer_config(config, os.path.join(save_dir, "inference.yml"), charset)
    logger.info("inference model is saved to %s", prefix)
    return prefix
