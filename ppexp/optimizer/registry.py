"""Registries of optimizers and learning-rate schedules (the ``Optimizer:`` section)."""
from ppexp.utils.registry import Registry

# typed: options are converted to the builders' annotations ("1e-3" is a number), as upstream's
# configs need; Registry.build checks them like every other part's.
OPTIMIZERS = Registry("optimizer", typed=True)
LR_SCHEDULES = Registry("lr schedule", typed=True)
