"""A tiny det config and untrained checkpoint / export for the det export, predict and ocr tests."""
import os

import paddle

from ppexp import cli
from ppexp.config import get_config

DEMO_CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "det", "det_plates_demo.yml")
TINY = ["Global.pretrained_model=null", "Architecture.Backbone.model_name=small", "Architecture.Backbone.scale=0.35",
        "Architecture.Neck.out_channels=16", "Eval.dataset.transforms.2.DetResizeForTest={limit_side_len: 160, limit_type: max}"]


def tiny_det_checkpoint(root, data_dir=None, label=None):
    """(config overrides, checkpoint prefix): the demo config shrunk, untrained weights saved under ``root``."""
    from ppexp.engine.builder import build_components

    overrides = TINY + [f"Global.save_model_dir={root}/run", f"Global.save_res_path={root}/run/predicts.txt"]
    if data_dir:
        overrides += [f"Eval.dataset.data_dir={data_dir}", f"Eval.dataset.label_file_list=[{label}]",
                      "Eval.loader.num_workers=0"]
    config, _ = get_config(DEMO_CONFIG, overrides)
    paddle.seed(3)
    parts = build_components(config)
    prefix = os.path.join(str(root), "ckpt", "model")
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    paddle.save(parts.model.state_dict(), prefix + ".pdparams")
    return overrides + [f"Global.checkpoints={prefix}"], prefix


def export_tiny_det(root, extra=()):
    """Export the tiny untrained det model to root/det_export; returns (dir, overrides)."""
    overrides, _ = tiny_det_checkpoint(root)
    out = os.path.join(str(root), "det_export")
    assert cli.main(["export", "-c", DEMO_CONFIG, "-o", *overrides, f"Global.save_inference_dir={out}", *extra]) == 0
    return out, overrides
