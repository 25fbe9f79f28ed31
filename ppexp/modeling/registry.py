"""Registries of model parts, looked up by the config's ``name`` (options are checked by Registry.build)."""
from ppexp.utils.registry import Registry

BACKBONES = Registry("rec backbone")
DET_BACKBONES = Registry("det backbone")
# Upstream picks the backbone class by Architecture.model_type: rec and det both have a
# "MobileNetV3" (different networks), so each model type has its own backbone registry.
# Necks and heads are shared, as upstream.
BACKBONES_BY_MODEL_TYPE = {"rec": BACKBONES, "det": DET_BACKBONES}
NECKS = Registry("neck")
HEADS = Registry("head")
# Architecture.Transform modules (upstream's TPS/STN; ppexp implements none). The data transforms
# of Train/Eval are ppexp.data.imaug.registry.TRANSFORMS.
TRANSFORM_MODULES = Registry("transform module")


def backbone_registry(model_type):
    """The backbone registry of ``Architecture.model_type``; other types are a config error."""
    if model_type not in BACKBONES_BY_MODEL_TYPE:
        raise ValueError(f"Architecture.model_type: ppexp builds {', '.join(sorted(BACKBONES_BY_MODEL_TYPE))} "
                         f"models, got {model_type!r}; set model_type to one of them")
    return BACKBONES_BY_MODEL_TYPE[model_type]


def model_types_with_backbone(name):
    """Model types whose registry holds backbone ``name`` (for a hint when model_type is wrong)."""
    return sorted(t for t, reg in BACKBONES_BY_MODEL_TYPE.items() if name in reg)
