"""`ppexp check-labels` on detection label files: each planted defect is found at its line."""
import json
import os

import cv2
import numpy as np
import yaml

from det_helpers import det_config, make_det_set
from ppexp.cli import main


def cli(*argv):
    """`ppexp check-labels ARGV` through the CLI (which turns user errors into exit codes)."""
    return main(["check-labels", *argv])


def box(text, pts):
    return {"transcription": text, "points": pts}


RECT = [[10, 10], [50, 10], [50, 30], [10, 30]]
PLANTED = {  # line label -> the finding expected on it
    "not json": ("det_invalid_json", "error"),
    "[]": ("det_no_boxes", "error"),
    json.dumps([box("A", [[1, 2], [3, 4]])]): ("det_few_points", "error"),
    json.dumps([box("Z", [[10, 10], [50, 10], [50, 10], [10, 10]])]): ("det_zero_area", "error"),
    json.dumps([box("X", [[10, 10], [70, 30], [50, 10], [10, 40]])]): ("det_self_intersecting", "error"),
    json.dumps([box("O", [[500, 500], [550, 500], [550, 530], [500, 530]])]): ("det_points_outside", "error"),
    json.dumps([box("P", [[-5, 10], [50, 10], [50, 30], [-5, 30]])]): ("det_points_outside", "warning"),
    json.dumps([box("", RECT)]): ("det_empty_transcription", "warning"),
    json.dumps([box("D", RECT), box("D", RECT)]): ("det_duplicate_box", "warning"),
}


def planted_file(tmp_path):
    os.makedirs(tmp_path / "p", exist_ok=True)
    lines = []
    for k, label in enumerate(PLANTED):
        noise = np.random.default_rng(k).integers(0, 255, (60, 80, 3), dtype=np.uint8)  # distinct contents
        cv2.imwrite(str(tmp_path / "p" / f"{k}.png"), noise)
        lines.append(f"p/{k}.png\t{label}")
    lines.append(lines[-1])  # a repeated line
    path = tmp_path / "det.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_planted_det_defects_found_at_their_lines(tmp_path, capsys):
    path = planted_file(tmp_path)
    out = tmp_path / "r.json"
    code = cli("--det", "--label-file", str(path), "--data-dir", str(tmp_path), "--no-progress", "--json", str(out))
    assert code == 1
    report = json.loads(out.read_text())
    found = {(f["line"], f["category"], f["severity"]) for f in report["findings"]}
    for line, (category, severity) in enumerate(PLANTED.values(), 1):
        assert (line, category, severity) in found, (line, category)
    assert (len(PLANTED) + 1, "duplicate_line", "warning") in found
    assert report["settings"]["det"] and report["boxes_per_image"] == {"0": 1, "1": 6, "2": 2}
    assert not any(f["category"].startswith(("image_aspect", "image_1px")) for f in report["findings"])
    text = capsys.readouterr().out
    assert "Boxes per image" in text and "exit code 1" in text


def test_clean_det_set_from_config_exits_zero(tmp_path, capsys):
    label = make_det_set(tmp_path, 6)
    cfg = det_config(tmp_path, label)
    cfg.pop("Eval")  # the same file in Train and Eval would be reported as leakage
    cfg_path = tmp_path / "det.yml"
    cfg_path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    assert cli("-c", str(cfg_path), "--no-progress", "-q") == 0
    assert "0 of 6 samples" in capsys.readouterr().out


def test_no_images_notes_the_skipped_bounds_check(tmp_path, capsys):
    path = planted_file(tmp_path)
    assert cli("--det", "--label-file", str(path), "--no-images") == 1
    text = capsys.readouterr().out
    assert "boxes outside their image are not checked" in text and "det_points_outside" not in text
