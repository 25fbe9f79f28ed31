"""diagnose: each seed failure pattern gives exactly its finding; a healthy run gives none."""
import json

import pytest

from ppexp.cli import main
from ppexp.experiments.analysis import Thresholds, diagnose, read_run
from ppexp.experiments.analysis.diagnose import RULES, rules_help
from ppexp.experiments.analysis.synthetic import PATTERNS, write_run

EXPECTED = {
    "healthy": [],
    "stalled": ["stalled"],                      # exp2: train acc < 0.015 while loss falls
    "overfitting": ["overfitting"],              # exp4 / exp11
    "gap": ["generalization_gap"],               # exp6: 13 points
    "dead_pipeline": ["dead_pipeline"],          # exp7: loss flat, acc 0
    "blank_plateau": ["blank_plateau"],          # plates_demo + BiLSTM from scratch: empty predictions
    "plateau": ["plateau"],                      # exp6 / exp10: best unchanged
    "lr_collapse": ["lr_collapse"],              # exp12 -> exp13: min_lr too low
    "nan": ["nan"],
    "eval_never_ran": ["eval_never_ran"],
    "long_warmup": ["long_warmup"],
    "dropped_samples": ["dropped_samples"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("patterns")
    out = {}
    for pattern in PATTERNS:
        out[pattern, "vdl"] = write_run(str(root / f"vdl_{pattern}"), pattern, train_log=False)
        out[pattern, "log"] = write_run(str(root / f"log_{pattern}"), pattern, vdl=False, seed=1)
    return out


def test_every_pattern_has_an_expectation():
    assert set(EXPECTED) == set(PATTERNS)


@pytest.mark.parametrize("source", ["vdl", "log"])
@pytest.mark.parametrize("pattern", PATTERNS)
def test_pattern_gives_exactly_its_finding(runs, pattern, source):
    findings = diagnose(read_run(runs[pattern, source]))
    assert [f.rule for f in findings] == EXPECTED[pattern], [f.message for f in findings]
    for f in findings:
        assert f.message and f.suggestion and f.evidence and f.severity in ("error", "warning", "info")


def test_evidence_points_at_the_right_steps(runs):
    over = diagnose(read_run(runs["overfitting", "vdl"]))[0]
    assert over.evidence["by_eval_acc"]["best_step"] == 3000 and over.evidence["by_eval_loss"]
    gap = diagnose(read_run(runs["gap", "vdl"]))[0]
    assert gap.evidence["gap"] == pytest.approx(0.13, abs=0.01) and gap.evidence["step"] == 6000
    nan = diagnose(read_run(runs["nan", "vdl"]))[0]
    assert nan.evidence["step"] == 3600 and nan.evidence["tag"] == "TRAIN/loss"
    lr = diagnose(read_run(runs["lr_collapse", "vdl"]))[0]
    assert 2400 <= lr.evidence["step"] <= 2800 and "min_lr" in lr.suggestion
    dead = diagnose(read_run(runs["dead_pipeline", "vdl"]))[0]
    assert "check-labels" in dead.suggestion and dead.severity == "error"
    never = diagnose(read_run(runs["eval_never_ran", "vdl"]))[0]
    assert never.evidence["first_eval_step"] == 10000 and "eval_batch_step=[0, 200]" in never.suggestion


def test_thresholds_are_overridable(runs):
    healthy = read_run(runs["healthy", "vdl"])
    assert [f.rule for f in diagnose(healthy, gap_max=0.05)] == ["generalization_gap"]
    gap = read_run(runs["gap", "vdl"])
    assert diagnose(gap, Thresholds(gap_max=0.2)) == []
    assert diagnose(gap, disable=("generalization_gap",)) == []
    with pytest.raises(KeyError, match="did you mean 'gap_max'"):
        Thresholds().override(gap_mx=0.1)


def test_suppression_dead_pipeline_hides_stalled_and_plateau(runs):
    run = read_run(runs["dead_pipeline", "vdl"])
    # with dead_pipeline disabled the explained symptoms show up
    assert {"stalled"} <= {f.rule for f in diagnose(run, disable=("dead_pipeline",))}


def test_blank_plateau_advice_and_what_it_hides(runs):
    run = read_run(runs["blank_plateau", "vdl"])
    (finding,) = diagnose(run)
    assert finding.evidence["encoder_type"] == "rnn" and finding.evidence["loss_first"] > 2 * finding.evidence["loss_late"]
    for words in ("check-labels", "Global.pretrained_model", "BiLSTM"):
        assert words in finding.suggestion
    # the symptoms it explains show up when it is disabled; a run that reads something never gets it
    assert "dead_pipeline" in {f.rule for f in diagnose(run, disable=("blank_plateau",))}
    assert "blank_plateau" not in {f.rule for f in diagnose(read_run(runs["stalled", "vdl"]))}


def test_empty_run_is_no_data(tmp_path):
    assert [f.rule for f in diagnose(read_run(str(tmp_path)))] == ["no_data"]


def test_cli_json_and_rules(runs, capsys):
    assert main(["diagnose", runs["overfitting", "vdl"], "--json", "--set", "overfit_evals=2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [f["rule"] for f in data["findings"]] == ["overfitting"] and data["thresholds"]["overfit_evals"] == 2
    assert main(["diagnose", runs["healthy", "vdl"]]) == 0
    assert "no problems found" in capsys.readouterr().out
    assert main(["diagnose", "--rules"]) == 0
    text = capsys.readouterr().out
    assert all(rule in text for rule in RULES) and "gap_max = 0.1" in text and text == rules_help() + "\n"
    assert main(["diagnose", runs["healthy", "vdl"], "--set", "nope=1"]) == 2
