"""compare and report: tables, PNG curves (opened and measured), Markdown report."""
import json
import os

import pytest

from ppexp.cli import main
from ppexp.experiments.analysis import compare_rows, format_compare, read_runs, write_report
from ppexp.experiments.analysis.report import _diff_section
from ppexp.experiments.analysis.synthetic import write_run

plt_image = pytest.importorskip("matplotlib.image")


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return [write_run(str(root / name), pattern, steps=2000, train_log=(name == "exp6"))
            for name, pattern in (("exp3", "healthy"), ("exp4", "overfitting"), ("exp6", "gap"))]


def _png_size(path):
    image = plt_image.imread(path)
    return image.shape[1], image.shape[0]


def test_compare_rows(run_dirs):
    rows = compare_rows(read_runs(run_dirs))
    assert [r["name"] for r in rows] == ["exp3", "exp4", "exp6"]
    exp4 = rows[1]
    assert exp4["best_step"] == 1000 and exp4["best_epoch"] == 5 and exp4["lr_schedule"] == "Cosine"
    assert exp4["final_train_acc"] > exp4["best_value"]
    assert rows[2]["gap_at_best"] > 0.1
    ned = compare_rows(read_runs(run_dirs[:1]), metric="EVAL/norm_edit_dis")[0]
    assert ned["metric"] == "EVAL/norm_edit_dis" and ned["best_value"] == pytest.approx(ned["best_norm_edit_dis"])


def test_compare_cli_table_json_and_plot(run_dirs, tmp_path, capsys):
    png = str(tmp_path / "curves.png")
    assert main(["compare", *run_dirs, "--plot", png]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| run | best acc | step (epoch) of best |")
    assert lines[3].startswith("| exp4 | 0.7") and "| 1000 (5) |" in lines[3]
    assert _png_size(png) == (1200, 800)
    assert main(["compare", *run_dirs, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in data] == ["exp3", "exp4", "exp6"] and "TRAIN/loss" in data[0]["final"]
    assert main(["compare", str(tmp_path / "nope")]) == 2


def test_report_markdown_and_pngs(run_dirs, tmp_path):
    out = str(tmp_path / "rep" / "report.md")
    files = write_report(read_runs(run_dirs), out, title="Plates")
    assert files[0] == out and len(files) == 5
    for png in files[1:]:
        assert os.path.dirname(png) == os.path.dirname(out) and _png_size(png) == (1200, 800)
    text = open(out, encoding="utf-8").read()
    assert text.startswith("# Plates\n")
    assert "![curves of all runs](report_compare.png)" in text and "![exp4 curves](report_exp4.png)" in text
    assert "| exp6 | 0.6" in text
    # each run's config is diffed against the previous run
    assert text.count("### Changes") == 3 and "First run of the report" in text
    assert "**[warning] overfitting**" in text and "**[warning] generalization_gap**" in text
    exp3 = text.split("## exp3", 1)[1].split("## exp4", 1)[0]
    assert "No problems found." in exp3


def test_report_cli(run_dirs, tmp_path, capsys):
    out = str(tmp_path / "r.md")
    assert main(["report", run_dirs[1], "--out", out]) == 0
    assert "report written to" in capsys.readouterr().out
    assert os.path.isfile(str(tmp_path / "r_compare.png")) and os.path.isfile(str(tmp_path / "r_exp4.png"))


def test_report_shows_config_changes(tmp_path):
    from ppexp.config import dump_config, load_config

    a = write_run(str(tmp_path / "a"), "healthy", steps=600, train_log=False)
    b = write_run(str(tmp_path / "b"), "healthy", steps=600, train_log=False)
    cfg = load_config(os.path.join(b, "config.yml"))
    cfg["Architecture"]["Neck"]["hidden_size"] = 384
    dump_config(cfg, os.path.join(b, "config.yml"))
    run_a, run_b = read_runs([a, b])
    text = "\n".join(_diff_section(run_a, run_b))
    assert text.startswith("Changes from `a`:") and "| Architecture.Neck.hidden_size | 256 | 384 |" in text
    assert "save_model_dir" not in text  # paths differ between any two runs: left out of reports
    assert _diff_section(run_a, run_a) == ["Same configuration as `a`."]
    assert format_compare(compare_rows(read_runs([a])), "text").splitlines()[1].startswith("---")


def test_report_includes_eval_error_files(tmp_path):
    from ppexp.experiments.analysis.rec_errors import error_report

    run = write_run(str(tmp_path / "plates"), "healthy", steps=600, train_log=False)
    rep = error_report([("a.jpg", "12가3456", "12나3456"), ("b.jpg", "서울33거2172", "서울33거2172")],
                       groups={"a.jpg": "one-line", "b.jpg": "two-line"})
    with open(os.path.join(run, "eval_holdout.json"), "w", encoding="utf-8") as f:
        json.dump(dict(rep, acc=0.5, norm_edit_dis=0.93), f, ensure_ascii=False)
    with open(os.path.join(run, "eval_broken.json"), "w", encoding="utf-8") as f:
        f.write("{not json")
    out = str(tmp_path / "r.md")
    write_report(read_runs([run]), out)
    text = open(out, encoding="utf-8").read()
    assert "### Evaluations (`ppexp eval --errors --json`)" in text
    assert "`eval_holdout.json`: acc 0.5" in text and "| layout: two-line | 1/1 |" in text
    assert "가 -> 나 (1)" in text and "eval_broken" not in text
