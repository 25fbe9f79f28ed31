"""`ppexp check-labels`: find every sample PaddleOCR's pipeline would silently drop or alter.

Modules: ``findings`` (categories, Report), ``reader`` (label files / LMDB -> samples),
``label_checks`` (encode -> decode round trip, Unicode, lengths, CTC feasibility),
``set_checks`` (duplicates, conflicts, Train/Eval leakage), ``dict_checks``,
``image_checks`` (parallel decode), ``report`` (text / JSON), ``fixer`` (--fix),
``settings`` (config / CLI -> CheckSettings) and ``checker`` (run_check).
"""
from ppexp.experiments.labels.checker import run_check
from ppexp.experiments.labels.findings import CATEGORIES, Report
from ppexp.experiments.labels.settings import CheckSettings, LabelSource, UsageError

__all__ = ["run_check", "CATEGORIES", "Report", "CheckSettings", "LabelSource", "UsageError"]
