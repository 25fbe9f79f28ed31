"""BaseModel (transform -> backbone -> neck -> head) and ``build_model``.

Sub-layer names are upstream's (``backbone``, ``neck``, ``head``), so state_dict keys
and checkpoints are interchangeable with PaddleOCR.
"""
import copy

from paddle import nn

# Importing the part packages registers their classes.
from ppexp.modeling import backbones, heads, necks  # noqa: F401
from ppexp.modeling.param_attrs import fresh_names
from ppexp.modeling.registry import HEADS, NECKS, TRANSFORM_MODULES, backbone_registry, model_types_with_backbone


def _set_in_channels(section, cfg, in_channels):
    """Inject the previous part's width; a different explicit value is a config error."""
    given = cfg.get("in_channels")
    if given is not None and given != in_channels:
        raise ValueError(f"Architecture.{section}.in_channels is {given} but the part before it "
                         f"outputs {in_channels} channels; remove the key")
    cfg["in_channels"] = in_channels


def _build_backbone(model_type, cfg):
    """Backbone from the registry of ``model_type``; a name of another type says which key to change."""
    registry = backbone_registry(model_type)
    name = cfg.get("name") if isinstance(cfg, dict) else None
    others = model_types_with_backbone(name) if name is not None and name not in registry else []
    if others:
        raise KeyError(f"Architecture.Backbone.name: '{name}' is a {'/'.join(others)} backbone but "
                       f"Architecture.model_type is '{model_type}'; {model_type} backbones: "
                       f"{', '.join(registry.names())}. Set model_type: {others[0]} or pick one of those")
    return registry.build(cfg, where="Architecture.Backbone")


def _check_head(model_type, cfg):
    """A rec (CTC) head needs the class count from the caller; det heads have no out_channels."""
    if model_type == "rec" and isinstance(cfg, dict) and cfg.get("out_channels") is None:
        raise ValueError(
            "Architecture.Head.out_channels is missing: the caller must set it to the number of "
            "classes (dictionary size + 1 for the CTC blank, +1 with use_space_char) "
            "before build_model")


class BaseModel(nn.Layer):
    """Recognition or detection model built from an Architecture config section (a dict).

    ``model_type`` (default rec) selects the backbone registry, as upstream.
    """

    def __init__(self, config):
        super().__init__()
        config = copy.deepcopy(config)
        self.model_type = config.get("model_type", "rec")
        backbone_registry(self.model_type)  # unknown model types fail before anything is built
        in_channels = self._image_channels(config)
        self.use_transform = config.get("Transform") is not None
        if self.use_transform:
            if not TRANSFORM_MODULES.names():
                raise ValueError("Architecture.Transform: ppexp implements no transform modules "
                                 "(TPS/STN); set 'Transform:' to null")
            config["Transform"]["in_channels"] = in_channels
            self.transform = TRANSFORM_MODULES.build(config["Transform"], where="Architecture.Transform")
            in_channels = self.transform.out_channels
        self.use_backbone = config.get("Backbone") is not None
        if self.use_backbone:
            config["Backbone"]["in_channels"] = in_channels
            self.backbone = _build_backbone(self.model_type, config["Backbone"])
            in_channels = self.backbone.out_channels
        self.use_neck = config.get("Neck") is not None
        if self.use_neck:
            _set_in_channels("Neck", config["Neck"], in_channels)
            self.neck = NECKS.build(config["Neck"], where="Architecture.Neck")
            in_channels = self.neck.out_channels
        self.use_head = config.get("Head") is not None
        if self.use_head:
            _check_head(self.model_type, config["Head"])
            _set_in_channels("Head", config["Head"], in_channels)
            self.head = HEADS.build(config["Head"], where="Architecture.Head")
        self.return_all_feats = config.get("return_all_feats", False)

    @staticmethod
    def _image_channels(config):
        """Input channels: Architecture.in_channels or Backbone.in_channels (default 3)."""
        outer = config.get("in_channels")
        inner = (config.get("Backbone") or {}).get("in_channels")
        if outer is not None and inner is not None and outer != inner:
            raise ValueError(f"Architecture.in_channels ({outer}) and Architecture.Backbone."
                             f"in_channels ({inner}) disagree; keep one")
        return outer if outer is not None else (inner if inner is not None else 3)

    def forward(self, x, data=None):
        feats = {}
        if self.use_transform:
            x = self.transform(x)
        if self.use_backbone:
            x = self.backbone(x)
        feats["backbone_out"] = x
        if self.use_neck:
            x = self.neck(x)
        feats["neck_out"] = x
        if self.use_head:
            x = self.head(x, targets=data)
        feats["head_out"] = x
        if not self.return_all_feats:
            return x
        return feats if self.training else {"head_out": x}


def build_model(arch_cfg):
    """Build a ``BaseModel`` from the Architecture section (``Head.out_channels`` already set).

    The caller's dict is not modified. Parameter names are upstream's for the same section,
    whatever was built before in this process (see ppexp/modeling/param_attrs.py).
    """
    if not isinstance(arch_cfg, dict):
        raise ValueError(f"Architecture must be a mapping, got {type(arch_cfg).__name__}")
    with fresh_names():
        return BaseModel(arch_cfg)
