"""diagnose on det runs: a precision-recall imbalance at the best hmean is flagged, a balanced run is not."""
import os

import numpy as np

from ppexp.config import dump_config
from ppexp.experiments.analysis import diagnose, read_run
from ppexp.experiments.analysis.synthetic import write_vdl


def _det_run(path, precision, recall):
    os.makedirs(path)
    dump_config({"Global": {"epoch_num": 5, "save_model_dir": str(path), "eval_batch_step": [0, 100]},
                 "Metric": {"name": "DetMetric", "main_indicator": "hmean"},
                 "Train": {"loader": {"batch_size_per_card": 8}}}, os.path.join(path, "config.yml"))
    steps, p, r = np.arange(100, 1100, 100), np.asarray(precision), np.asarray(recall)
    write_vdl(os.path.join(path, "vdl"), {
        "TRAIN/loss": (np.arange(10, 1010, 10), np.linspace(3.0, 1.0, 100)),
        "TRAIN/lr": (np.arange(10, 1010, 10), np.full(100, 1e-3)),
        "EVAL/precision": (steps, p), "EVAL/recall": (steps, r), "EVAL/hmean": (steps, 2 * p * r / (p + r))})
    return read_run(str(path))


def test_low_recall_is_flagged_with_the_db_thresholds(tmp_path):
    run = _det_run(tmp_path / "low_recall", np.linspace(0.6, 0.95, 10), np.linspace(0.2, 0.5, 10))
    found = {f.rule: f for f in diagnose(run)}
    f = found["precision_recall"]
    assert f.severity == "warning" and "misses texts" in f.message and "box_thresh" in f.suggestion
    assert f.evidence["step"] == 1000 and f.evidence["precision"] == 0.95 and f.evidence["recall"] == 0.5


def test_low_precision_and_balanced_runs(tmp_path):
    low_p = _det_run(tmp_path / "low_precision", np.linspace(0.2, 0.4, 10), np.linspace(0.5, 0.9, 10))
    assert "match no labelled text" in {f.rule: f for f in diagnose(low_p)}["precision_recall"].message
    balanced = _det_run(tmp_path / "balanced", np.linspace(0.5, 0.9, 10), np.linspace(0.45, 0.88, 10))
    assert "precision_recall" not in {f.rule for f in diagnose(balanced)}
    assert "precision_recall" not in {f.rule for f in diagnose(low_p, pr_gap_max=0.6)}
