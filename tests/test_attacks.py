"""Hostile and careless inputs (issue 15): each test reproduces an attack, then asserts the fix.

Items: 3 honest evaluation, 4 run lock, 5 bounded loading, 6 NaN policy, 7 clear errors.
Reset/restore (items 1, 2) are in test_attacks_reset.py. Everything is written under tmp dirs.
"""
import json
import os

import pytest

from helpers import data_overrides, make_toy_set
from ppexp.cli import main

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "rec", "tiny_words.yml")
BROKEN = 7


def _tiny(root, out, *extra):
    """Overrides for a 4-step, 1-epoch run on 32 images, evaluated once at its end."""
    return data_overrides(root, out) + [
        "Global.epoch_num=1", "Global.eval_batch_step=[0,4]", "Global.print_batch_step=2",
        "Train.loader.batch_size_per_card=8", "Eval.loader.batch_size_per_card=8", *extra]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """32 train images; 24 eval images of which the first 7 are unreadable (junk bytes)."""
    root = make_toy_set(tmp_path_factory.mktemp("data"), n_train=32, n_val=24)
    with open(os.path.join(root, "val.txt"), encoding="utf-8") as f:
        rels = [line.split("\t")[0] for line in f if line.strip()]
    for rel in rels[:BROKEN]:
        with open(os.path.join(root, rel), "wb") as f:
            f.write(b"not an image at all " * 8)
    return root


@pytest.fixture(scope="module")
def run(data, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("run"))
    assert main(["train", "-c", CONFIG, "-o", *_tiny(data, out)]) == 0
    return out


# ---------------------------------------------------------------- 3. honest evaluation
def test_eval_scores_each_readable_sample_once_and_reports_the_skipped(data, run, tmp_path):
    report = str(tmp_path / "eval.json")
    opts = _tiny(data, run, f"Global.checkpoints={run}/latest")
    assert main(["eval", "-c", CONFIG, "--json", report, "-o", *opts]) == 0
    result = json.load(open(report, encoding="utf-8"))
    # before: 24 "samples" scored, the 7 unreadable ones replaced by their readable neighbours
    assert result["samples"] == 24 - BROKEN
    assert result["skipped"] == BROKEN
    assert result["skipped_by_reason"] == {"unreadable image": BROKEN}


def test_eval_inside_training_logs_and_records_the_skipped(run):
    from visualdl import LogReader

    log = open(os.path.join(run, "train.log"), encoding="utf-8").read()
    assert f"evaluation skipped {BROKEN} sample(s) it could not load (unreadable image: {BROKEN})" in log
    vdl = os.path.join(run, "vdl")
    reader = LogReader(file_path=os.path.join(vdl, os.listdir(vdl)[0]))
    assert [r.value for r in reader.get_data("scalar", "EVAL/skipped")] == [BROKEN]
    assert [r.value for r in reader.get_data("scalar", "EVAL/samples")] == [24 - BROKEN]
