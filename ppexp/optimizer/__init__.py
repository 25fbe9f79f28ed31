"""Optimizers and learning-rate schedules built from a config's ``Optimizer:`` section.

    optimizer, lr_scheduler = build_optimizer(config["Optimizer"], epochs, step_each_epoch, model)

Call ``lr_scheduler.step()`` once per iteration. Upstream keys are accepted
(``lr``, ``regularizer``, ``clip_norm``, ``clip_norm_global``, per-optimizer keys);
``param_groups: [{prefix: backbone, lr_mult: 0.1}]`` scales parts of the model.
"""
import copy

import paddle

from ppexp.optimizer import lr_schedules, optimizers  # noqa: F401  (registers the builders)
from ppexp.optimizer.optimizers import Decay
from ppexp.optimizer.param_groups import apply_param_groups
from ppexp.optimizer.registry import LR_SCHEDULES, OPTIMIZERS
from ppexp.utils.config_args import to_float, to_int

__all__ = ["build_optimizer", "build_lr_scheduler", "build_regularizer", "build_grad_clip",
           "apply_param_groups", "OPTIMIZERS", "LR_SCHEDULES"]

_REGULARIZERS = {"L1": "L1", "L1Decay": "L1", "L2": "L2", "L2Decay": "L2"}
DEFAULT_LR = 0.001


def build_lr_scheduler(lr_config, epochs, step_each_epoch):
    """A per-iteration ``LRScheduler`` from ``Optimizer.lr`` (no ``name`` -> Const)."""
    if not isinstance(lr_config, dict):
        raise ValueError(f"Optimizer.lr: expected a mapping, got {lr_config!r}")
    config = {"name": "Const", **lr_config}
    return LR_SCHEDULES.build(config, where="Optimizer.lr", epochs=to_int(epochs, "epochs"),
                              step_each_epoch=to_int(step_each_epoch, "step_each_epoch"))


def build_regularizer(reg_config):
    """``regularizer: {name: L1|L2 (or L1Decay|L2Decay), factor}`` -> :class:`Decay` or None."""
    if reg_config is None:
        return None
    if not isinstance(reg_config, dict) or reg_config.get("name") not in _REGULARIZERS:
        raise ValueError(f"Optimizer.regularizer: expected {{name: L1|L2, factor: ...}} "
                         f"(known names: {', '.join(_REGULARIZERS)}), got {reg_config!r}")
    unknown = set(reg_config) - {"name", "factor"}
    if unknown:
        raise ValueError(f"Optimizer.regularizer.{sorted(unknown)[0]}: unknown key "
                         "(accepted: name, factor)")
    factor = to_float(reg_config.get("factor", 0.0), "Optimizer.regularizer.factor")
    return Decay(_REGULARIZERS[reg_config["name"]], factor)


def build_grad_clip(clip_norm=None, clip_norm_global=None):
    """``clip_norm`` -> per-tensor ClipGradByNorm (as upstream); ``clip_norm_global`` -> global."""
    if clip_norm is not None and clip_norm_global is not None:
        raise ValueError("Optimizer: give clip_norm or clip_norm_global, not both")
    if clip_norm is not None:
        return paddle.nn.ClipGradByNorm(to_float(clip_norm, "Optimizer.clip_norm"))
    if clip_norm_global is not None:
        value = to_float(clip_norm_global, "Optimizer.clip_norm_global")
        return paddle.nn.ClipGradByGlobalNorm(value)
    return None


def build_optimizer(config, epochs, step_each_epoch, model):
    """``(optimizer, lr_scheduler)`` for ``model``'s trainable parameters.

    Without an ``lr:`` section the rate is constant: ``Optimizer.learning_rate``
    if given, else 0.001.
    """
    if not isinstance(config, dict) or "name" not in config:
        raise ValueError(f"Optimizer: expected a mapping with a 'name' key, got {config!r}")
    config = copy.deepcopy(config)
    lr_config = config.pop("lr", None)
    top_lr = config.pop("learning_rate", None)
    if lr_config is None:
        lr_config = {"learning_rate": DEFAULT_LR if top_lr is None else top_lr}
    elif top_lr is not None:
        raise ValueError("Optimizer: give learning_rate inside lr:, not beside it")
    scheduler = build_lr_scheduler(lr_config, epochs, step_each_epoch)
    decay = build_regularizer(config.pop("regularizer", None))
    grad_clip = build_grad_clip(config.pop("clip_norm", None), config.pop("clip_norm_global", None))
    groups = config.pop("param_groups", None)
    if groups:
        apply_param_groups(model, groups)
    named = [(n, p) for n, p in model.named_parameters() if not p.stop_gradient]
    optimizer = OPTIMIZERS.build(config, where="Optimizer", learning_rate=scheduler,
                                 named_params=named, decay=decay, grad_clip=grad_clip)
    return optimizer, scheduler
