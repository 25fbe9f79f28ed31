"""Metrics. Registry METRICS."""
from ppexp.utils.registry import Registry

METRICS = Registry("metric")

from ppexp.metrics.rec_metric import RecMetric  # noqa: E402,F401
from ppexp.metrics.det_metric import DetMetric  # noqa: E402,F401


def build_metric(config):
    return METRICS.build(config, where="Metric")
