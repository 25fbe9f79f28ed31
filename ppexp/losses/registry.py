"""Registry of losses (the config's ``Loss.name``)."""
from ppexp.utils.registry import Registry

LOSSES = Registry("loss")
