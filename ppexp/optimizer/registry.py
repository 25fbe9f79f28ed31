"""Registries of optimizers and learning-rate schedules (the ``Optimizer:`` section)."""
from ppexp.utils.registry import Registry

OPTIMIZERS = Registry("optimizer")
LR_SCHEDULES = Registry("lr schedule")
