"""Registry of data transforms (the ``transforms:`` lists of Train/Eval)."""
from ppexp.utils.registry import Registry

TRANSFORMS = Registry("transform")
