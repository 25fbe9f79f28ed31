"""``ppexp synth-plates --det``: determinism, label validity (check-labels --det), and a 1-epoch train + eval."""
import json
import os

import cv2
import numpy as np
import pytest

from det_helpers import tiny_det_overrides
from ppexp import cli
from ppexp.experiments.synth.det_dataset import generate_det_dataset
from ppexp.experiments.synth.det_scene import IGNORE, PLATE_WIDTH, render_scene
from ppexp.experiments.synth.kinds import KIND_NAMES, kind_regex

DEMO_CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "det", "det_plates_demo.yml")


@pytest.fixture(scope="module")
def det_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("det_set")
    summary = generate_det_dataset(str(root), 8, seed=5, val_fraction=0.25, workers=1, progress=False)
    return root, summary


def _lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f]


def test_same_seed_same_files_whatever_the_worker_count(det_set, tmp_path):
    root, summary = det_set
    generate_det_dataset(str(tmp_path), 8, seed=5, val_fraction=0.25, workers=2, progress=False)
    for name in ("train.txt", "val.txt", "synth_meta.json"):
        assert (tmp_path / name).read_bytes() == (root / name).read_bytes(), name
    for name in sorted(os.listdir(root / "images")):
        assert (tmp_path / "images" / name).read_bytes() == (root / "images" / name).read_bytes(), name
    other = render_scene(np.random.default_rng([6, 0]))[0]
    assert other.shape != cv2.imread(str(root / "images" / "0000000.jpg")).shape or other.std() > 0
    assert summary["train"] == 6 and summary["val"] == 2 and summary["plates"] >= 8


def test_labels_are_plates_inside_their_images(det_set):
    root, _ = det_set
    patterns = [kind_regex(k) for k in KIND_NAMES]
    plates = 0
    for rel, label in _lines(root / "train.txt") + _lines(root / "val.txt"):
        h, w = cv2.imread(str(root / rel)).shape[:2]
        for box in json.loads(label):
            pts = np.asarray(box["points"])
            assert pts.shape == (4, 2) and (pts >= 0).all() and (pts[:, 0] < w).all() and (pts[:, 1] < h).all()
            if box["transcription"] == IGNORE:
                continue
            plates += 1
            assert any(p.match(box["transcription"]) for p in patterns), box["transcription"]
            top, bottom = np.linalg.norm(pts[1] - pts[0]), np.linalg.norm(pts[2] - pts[3])
            assert PLATE_WIDTH[0] * 0.8 <= max(top, bottom) <= PLATE_WIDTH[1] * 1.25
    assert plates >= 8


def test_check_labels_det_finds_nothing(det_set, tmp_path):
    root, _ = det_set
    report = tmp_path / "report.json"
    rc = cli.main(["check-labels", "--det", "--label-file", str(root / "train.txt"), "--eval-label-file",
                   str(root / "val.txt"), "--data-dir", str(root), "--json", str(report), "--no-progress", "-q"])
    assert rc == 0
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["totals"]["errors"] == 0 and data["totals"]["warnings"] == 0, data


def test_cli_det_flag_and_refused_options(tmp_path, capsys):
    rc = cli.main(["synth-plates", "--det", "--out", str(tmp_path), "--num", "2", "--workers", "1",
                   "--no-progress", "--val-fraction", "0.5"])
    out = capsys.readouterr().out
    assert rc == 0 and "detection scenes" in out and len(_lines(tmp_path / "val.txt")) == 1
    assert cli.main(["synth-plates", "--det", "--clean", "--out", str(tmp_path), "--num", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ppexp synth-plates: error: --clean, --clean-ratio, --joinable and --height apply to plate crops")
    assert cli.main(["synth-plates", "--det", "--width", "100", "--out", str(tmp_path), "--num", "2"]) == 2
    assert "--width for --det scenes must be 256..4096 pixels (got 100)" in capsys.readouterr().err


def test_one_epoch_train_evaluates_hmean(det_set, tmp_path):
    from ppexp.experiments.analysis.run_reader import read_run

    root, _ = det_set
    out = tmp_path / "run"
    args = ["train", "-c", DEMO_CONFIG, "-o", *tiny_det_overrides(root, out)]
    assert cli.main(args) == 0
    log = (out / "train.log").read_text(encoding="utf-8")
    assert "hmean" in log and "precision" in log and "recall" in log
    assert (out / "best_accuracy.pdparams").exists() and (out / "latest.pdparams").exists()
    series = read_run(str(out)).series
    assert {"EVAL/hmean", "EVAL/precision", "EVAL/recall", "EVAL/best_hmean"} <= set(series)
