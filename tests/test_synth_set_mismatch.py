"""A label file of one `ppexp synth-plates` set read against another set's images: a warning from
`ppexp check-labels` and `ppexp doctor`; nothing for the matching folder or a copy of the same set."""
import json
import shutil
from pathlib import Path

import pytest

from ppexp.cli import main
from ppexp.experiments.reset.checks import WARNING
from ppexp.experiments.reset.doctor_config import check_datasets, load_for_doctor
from ppexp.experiments.synth import PLATE_DICT_PATH, generate_dataset

PLATES_CONFIG = str(Path(__file__).resolve().parent.parent / "configs" / "rec" / "plates_demo.yml")


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    """Three real generated sets: a (seed 1), b (seed 2) and same (seed 1 again, in its own folder)."""
    root = tmp_path_factory.mktemp("synth_sets")
    out = {}
    for name, seed in (("a", 1), ("b", 2), ("same", 1)):
        generate_dataset(str(root / name), num=12, seed=seed, workers=1, progress=False)
        out[name] = root / name
    return out


def check_labels(tmp_path, label_file, data_dir, *extra):
    """(exit code, JSON report) of `ppexp check-labels` on one plate label file."""
    report = tmp_path / f"report{len(list(tmp_path.iterdir()))}.json"
    argv = ["check-labels", "--label-file", str(label_file), "--dict", PLATE_DICT_PATH, "--no-progress",
            "--json", str(report), *extra]
    if data_dir is not None:
        argv += ["--data-dir", str(data_dir)]
    code = main(argv)
    return code, json.loads(report.read_text(encoding="utf-8"))


def mismatches(rep):
    return [f for f in rep["findings"] if f["category"] == "synth_set_mismatch"]


def test_check_labels_warns_on_another_sets_data_dir(sets, tmp_path, capsys):
    code, rep = check_labels(tmp_path, sets["a"] / "train.txt", sets["b"])
    capsys.readouterr()
    found = mismatches(rep)
    assert len(found) == 1 and rep["counts"]["synth_set_mismatch"] == 1
    f = found[0]
    assert f["severity"] == "warning" and f["file"] == str(sets["a"] / "train.txt") and f["line"] is None
    assert f["label_meta"] == str(sets["a"] / "synth_meta.json")
    assert f["data_meta"] == str(sets["b"] / "synth_meta.json")
    msg = f["message"]
    assert str(sets["a"] / "train.txt") in msg and f"data_dir '{sets['b']}'" in msg
    assert "seed 1, num 12" in msg and "seed 2, num 12" in msg
    assert f"point data_dir at '{sets['a']}'" in msg and f"label files in '{sets['b']}'" in msg
    # every image exists: nothing else tells the two runs apart, and a warning keeps the exit code
    same_code, same = check_labels(tmp_path, sets["a"] / "train.txt", sets["a"])
    assert rep["totals"]["errors"] == same["totals"]["errors"] == 0
    assert rep["totals"]["warnings"] == same["totals"]["warnings"] + 1
    assert code == same_code == 0
    strict_code, _ = check_labels(tmp_path, sets["a"] / "train.txt", sets["b"], "--strict")
    assert strict_code == 1


def test_check_labels_text_names_the_file_and_the_fix(sets, capsys):
    main(["check-labels", "--label-file", str(sets["b"] / "val.txt"), "--dict", PLATE_DICT_PATH,
          "--data-dir", str(sets["a"]), "--no-progress", "--no-images"])
    out = capsys.readouterr().out
    assert "warn  synth_set_mismatch" in out
    assert f"\n        {sets['b'] / 'val.txt'}  label file {sets['b'] / 'val.txt'} belongs to" in out
    assert ":None" not in out and "seed 2, num 12" in out and "seed 1, num 12" in out


def test_check_labels_silent_for_the_own_folder_a_copy_or_no_meta(sets, tmp_path, monkeypatch, capsys):
    assert mismatches(check_labels(tmp_path, sets["a"] / "train.txt", sets["a"], "--no-images")[1]) == []
    # identical synth_meta.json in another folder: the same plates, the labels are right
    assert mismatches(check_labels(tmp_path, sets["a"] / "train.txt", sets["same"], "--no-images")[1]) == []
    # the label file's folder as the current directory (no --data-dir), given by a relative path
    monkeypatch.chdir(sets["b"])
    assert mismatches(check_labels(tmp_path, "train.txt", None, "--no-images")[1]) == []
    # a folder without synth_meta.json: not a synthetic set, nothing to compare
    plain = tmp_path / "plain"
    shutil.copytree(sets["b"], plain)
    (plain / "synth_meta.json").unlink()
    assert mismatches(check_labels(tmp_path, sets["a"] / "train.txt", plain, "--no-images")[1]) == []
    assert mismatches(check_labels(tmp_path, plain / "train.txt", sets["a"], "--no-images")[1]) == []
    capsys.readouterr()


def doctor_label_checks(label_dir, data_dir):
    overrides = [f"Train.dataset.data_dir={data_dir}", f"Train.dataset.label_file_list=[{label_dir}/train.txt]",
                 f"Eval.dataset.data_dir={data_dir}", f"Eval.dataset.label_file_list=[{label_dir}/val.txt]"]
    config, loaded = load_for_doctor(PLATES_CONFIG, overrides)
    assert config is not None, loaded
    checks, _ = check_datasets(config)
    return checks


def test_doctor_warns_on_another_sets_data_dir(sets):
    checks = doctor_label_checks(sets["a"], sets["b"])
    warned = {c.name: c for c in checks if c.status == WARNING}
    assert set(warned) == {"Train labels", "Eval labels"}, checks
    train = warned["Train labels"]
    assert str(sets["a"] / "train.txt") in train.message and f"data_dir '{sets['b']}'" in train.message
    assert "seed 1, num 12" in train.message and "seed 2, num 12" in train.message
    assert f"point data_dir at '{sets['a']}'" in train.fix and "Train.dataset.data_dir" in train.fix
    assert str(sets["a"] / "val.txt") in warned["Eval labels"].message
    assert all(c.status != "error" for c in checks)          # every image exists: only the warning tells


def test_doctor_silent_for_the_own_folder_or_a_copy(sets):
    for data_dir in (sets["a"], sets["same"]):
        checks = doctor_label_checks(sets["a"], data_dir)
        assert all(c.status == "ok" for c in checks), checks
