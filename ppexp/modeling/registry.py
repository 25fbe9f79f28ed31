"""Registries of model parts, looked up by the config's ``name``, and the check of their options."""
import difflib
import inspect

from ppexp.utils.registry import Registry

BACKBONES = Registry("rec backbone")
DET_BACKBONES = Registry("det backbone")
# Upstream picks the backbone class by Architecture.model_type: rec and det both have a
# "MobileNetV3" (different networks), so each model type has its own backbone registry.
# Necks and heads are shared, as upstream.
BACKBONES_BY_MODEL_TYPE = {"rec": BACKBONES, "det": DET_BACKBONES}
NECKS = Registry("neck")
HEADS = Registry("head")
TRANSFORMS = Registry("transform module")


def backbone_registry(model_type):
    """The backbone registry of ``Architecture.model_type``; other types are a config error."""
    if model_type not in BACKBONES_BY_MODEL_TYPE:
        raise ValueError(f"Architecture.model_type: ppexp builds {', '.join(sorted(BACKBONES_BY_MODEL_TYPE))} "
                         f"models, got {model_type!r}; set model_type to one of them")
    return BACKBONES_BY_MODEL_TYPE[model_type]


def model_types_with_backbone(name):
    """Model types whose registry holds backbone ``name`` (for a hint when model_type is wrong)."""
    return sorted(t for t, reg in BACKBONES_BY_MODEL_TYPE.items() if name in reg)


def accepted_kwargs(cls):
    """Names accepted by ``cls.__init__``, or None when it takes ``**kwargs``."""
    params = inspect.signature(cls.__init__).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.name != "self"]


def reject_unknown_options(where, keys, accepted):
    """Raise ValueError naming the first key not in ``accepted``, a close match and the accepted options."""
    for key in keys:
        if key not in accepted:
            close = difflib.get_close_matches(key, accepted, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ValueError(f"{where} has no option '{key}'.{hint} Accepted: {', '.join(accepted)}")
