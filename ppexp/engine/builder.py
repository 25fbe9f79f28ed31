"""Build every part of a recognition run from a validated config."""
import copy
import logging
from dataclasses import dataclass
from typing import Any

from ppexp.utils.character import CharacterDict

logger = logging.getLogger("ppexp")


@dataclass
class Components:
    charset: CharacterDict
    model: Any
    loss: Any
    post_process: Any
    metric: Any


def inject_head_channels(config, charset):
    """Head.out_channels = dictionary + blank (upstream's rule for CTC)."""
    arch = config["Architecture"]
    head = arch.get("Head")
    if not isinstance(head, dict):
        raise ValueError("Architecture.Head is missing; a CRNN needs e.g. {name: CTCHead}")
    given = head.get("out_channels")
    if given is not None and given != charset.num_classes:
        logger.warning("Architecture.Head.out_channels=%s replaced by %d (dictionary size + blank)",
                       given, charset.num_classes)
    head["out_channels"] = charset.num_classes


def is_det(config):
    """Whether ``config`` is a detection run (Architecture.model_type det, as upstream)."""
    return ((config.get("Architecture") or {}).get("model_type") or "rec") == "det"


def build_components(config):
    """Dictionary, model, loss, post-process and metric (no data, no optimizer)."""
    from ppexp.losses import build_loss
    from ppexp.metrics import build_metric
    from ppexp.modeling import build_model
    from ppexp.postprocess import build_post_process

    global_cfg = config.get("Global") or {}
    charset = CharacterDict.from_config(global_cfg)
    if not is_det(config):  # a det head has no classes
        inject_head_channels(config, charset)
    model = build_model(copy.deepcopy(config["Architecture"]))
    loss = build_loss(copy.deepcopy(config.get("Loss") or {"name": "CTCLoss"}))
    post_process = build_post_process(config.get("PostProcess") or {"name": "CTCLabelDecode"},
                                      global_cfg, charset=charset)
    metric = build_metric(copy.deepcopy(config.get("Metric") or {"name": "RecMetric"}))
    return Components(charset, model, loss, post_process, metric)
