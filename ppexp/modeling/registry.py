"""Registries of model parts, looked up by the config's ``name``."""
from ppexp.utils.registry import Registry

BACKBONES = Registry("backbone")
NECKS = Registry("neck")
HEADS = Registry("head")
TRANSFORMS = Registry("transform module")
