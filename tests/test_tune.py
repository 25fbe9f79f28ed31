"""ppexp tune: the space file, a tiny SQLite study with a pruned and a failed trial, kill -9 and resume."""
import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import TUNE_SPACE, make_toy_set, tune_overrides
from ppexp.cli import main

optuna = pytest.importorskip("optuna", reason="ppexp tune needs the [tune] extra: pip install -e '.[tune]'")

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "rec", "tiny_words.yml")


def _space(tmp_path, text=TUNE_SPACE, name="space.yml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _load(path):
    from ppexp.config import load_config
    from ppexp.experiments.tune.space import load_space

    return load_space(path, load_config(CONFIG))


# ------------------------------------------------------------------ space file
@pytest.mark.parametrize("text, expected", [
    ("Global.epoch_num: {type: int, low: 1, high: 3}\nOptimizer.lr.learning_rat: {type: float, low: 1, high: 2}\n",
     ":2: Optimizer.lr.learning_rat: 'Optimizer.lr.learning_rat' is not in the config (did you mean 'learning_rate'?)"),
    ("Global.epoch_num: {type: int, low: 1, hihg: 3}\n", ":1: Global.epoch_num: unknown field 'hihg' (did you mean 'high'?)"),
    ("\n\nGlobal.epoch_num: {type: int, low: 5, high: 3}\n", ":3: Global.epoch_num: 'low' (5) is greater than 'high' (3)"),
    ("Optimizer.lr.learning_rate: {type: float, low: 0, high: 1, log: true}\n", ":1: Optimizer.lr.learning_rate: log: true needs low > 0"),
    ("Global.epoch_num: {type: uniform, low: 1, high: 3}\n", ":1: Global.epoch_num: unknown type 'uniform'"),
    ("Architecture.Neck.hidden_size: {type: categorical, choices: []}\n", "categorical needs 'choices'"),
    ("Global.epoch_num: {type: categorical, choices: [ten, 2]}\n", ":1: Global.epoch_num: ") ,
    ("Global.seed: {type: int, low: 1, high: 3, when: {Global.epoch_num: 2}}\n",
     ":1: Global.seed: 'when' refers to 'Global.epoch_num', which is not a key defined above it"),
    ("Nope.key: {type: int, low: 1, high: 3}\n", "'Nope' is not in the config"),
])
def test_space_errors_name_line_and_key(tmp_path, text, expected):
    from ppexp.experiments.tune.space import SpaceError

    with pytest.raises(SpaceError) as err:
        _load(_space(tmp_path, text))
    assert expected in str(err.value) and "space.yml" in str(err.value), str(err.value)


@pytest.mark.slow
def test_space_conditional_and_whole_values(tmp_path):
    """A conditional key is sampled only under its parent's value; a whole LR block is one category."""
    from ppexp.config import load_config, merge_overrides
    from ppexp.experiments.tune.space import as_overrides

    space = _load(_space(tmp_path, """\
Optimizer.lr:
  type: categorical
  choices:
    cosine: {name: Cosine, learning_rate: 0.002, warmup_epoch: 0}
    const: {name: Const, learning_rate: 0.001}
Optimizer.lr.warmup_epoch: {type: float, low: 0.0, high: 1.0, when: {Optimizer.lr: cosine}}
Train.dataset.transforms.2.RecResizeImg.image_shape: {type: categorical, choices: [[3, 32, 100], [3, 32, 128]]}
"""))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(40):
        trial = study.ask()
        values = space.suggest(trial)
        config = merge_overrides(load_config(CONFIG), as_overrides(values))
        lr = config["Optimizer"]["lr"]
        assert lr["name"] in ("Cosine", "Const")
        assert ("Optimizer.lr.warmup_epoch" in trial.params) == (lr["name"] == "Cosine")
        if lr["name"] == "Cosine":
            assert lr["warmup_epoch"] == values["Optimizer.lr.warmup_epoch"]
        else:
            assert "warmup_epoch" not in lr  # the Const block replaced the whole mapping
        shape = config["Train"]["dataset"]["transforms"][2]["RecResizeImg"]["image_shape"]
        assert shape in ([3, 32, 100], [3, 32, 128])
        seen.add((lr["name"], shape[2]))
        study.tell(trial, 0.0)
    assert len(seen) == 4, seen


def test_grid_needs_finite_values(tmp_path):
    from ppexp.experiments.tune.space import SpaceError

    space = _load(_space(tmp_path, "Global.epoch_num: {type: int, low: 1, high: 5, step: 2}\n"
                                   "Optimizer.lr.learning_rate: {type: float, low: 0.001, high: 0.003, step: 0.001}\n"))
    assert space.grid()["Global.epoch_num"] == [1, 3, 5]
    assert space.grid()["Optimizer.lr.learning_rate"] == pytest.approx([0.001, 0.002, 0.003])
    with pytest.raises(SpaceError, match=r"space.yml:1: Optimizer.lr.learning_rate: --sampler grid needs finite"):
        _load(_space(tmp_path, "Optimizer.lr.learning_rate: {type: float, low: 0.001, high: 0.01}\n")).grid()


# ------------------------------------------------------------------ a tiny study on SQLite
@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return make_toy_set(tmp_path_factory.mktemp("tune_data"), n_train=160, n_val=32)


def _tune_argv(toy, out, space, trials, *extra):
    return ["tune", "-c", CONFIG, "--space", space, "--trials", str(trials), "--out", str(out),
            "--metric", "loss", "--direction", "minimize", "--seed", "0", *extra, "-o", *tune_overrides(toy)]


def _trials(out, name="tiny_words"):
    from ppexp.experiments.tune.study import default_storage

    return optuna.load_study(study_name=name, storage=default_storage(str(out))).get_trials()


@pytest.mark.slow
def test_tiny_study_prunes_and_fails_bad_trials(toy, tmp_path, capsys):
    """6 trials (eval loss, minimised): 3 sane ones first, then lr 100 (pruned by the median rule at its
    first eval) and lr 1e30 (non-finite loss: failed with its message); the study carries on."""
    out = tmp_path / "study"
    good = [f"Optimizer.lr.learning_rate={lr}" for lr in (0.003, 0.005, 0.008)]
    enqueue = [x for lr in good for x in ("--enqueue", lr)]
    argv = _tune_argv(toy, out, _space(tmp_path), 6, *enqueue, "--enqueue", "Optimizer.lr.learning_rate=100",
                      "--enqueue", "Optimizer.lr.learning_rate=1.0e+30")
    assert main(argv) == 0
    printed = capsys.readouterr().out
    trials = _trials(out)
    assert [t.number for t in trials] == list(range(6))
    by_lr = {t.params["Optimizer.lr.learning_rate"]: t for t in trials}
    state = optuna.trial.TrialState
    assert by_lr[100].state == state.PRUNED, (by_lr[100].state, by_lr[100].user_attrs)
    assert by_lr[1e30].state == state.FAIL
    assert "non-finite" in by_lr[1e30].user_attrs["fail_reason"].lower() or \
        "nan" in by_lr[1e30].user_attrs["fail_reason"].lower(), by_lr[1e30].user_attrs
    complete = [t for t in trials if t.state == state.COMPLETE]
    assert len(complete) == 4
    best, worst = min(t.value for t in complete), max(t.value for t in complete)
    assert best < worst
    pruned_loss = by_lr[100].intermediate_values
    assert max(pruned_loss) <= 2 and min(pruned_loss.values()) > worst  # stopped at its first eval, and it was bad
    for t in trials:  # one progress line per trial, with state and number
        assert f"trial {t.number:>4}  {t.state.name}" in printed, printed
    assert "study tiny_words: 6 trials (4 complete, 1 pruned, 1 fail)" in printed
    # each trial is a normal run: its own dir with config.yml (the sampled values in it) and train.log
    t0 = by_lr[0.003]
    cfg = (out / "trial_0000" / "config.yml").read_text()
    assert t0.user_attrs["trial_dir"].endswith("trial_0000") and "learning_rate: 0.003" in cfg
    assert (out / "trial_0000" / "train.log").exists()
    # a re-run with the same target does nothing more: the study already holds 6
    assert main(argv) == 0
    assert len(_trials(out)) == 6
    _check_report(out, min(complete, key=lambda t: t.value))


def _check_report(out, best):
    from ppexp.config import load_config

    assert main(["tune", "--report", "tiny_words", "--out", str(out)]) == 0
    rep = out / "report"
    for name in ("report.md", "history.png", "importance.png", "parallel.png", "intermediate.png", "report.png"):
        assert (rep / name).stat().st_size > 1000 or name == "report.md", name
    md = (rep / "report.md").read_text()
    assert f"| {best.number} | {best.value:.4f} |" in md and "## Failed trials" in md and "## Parameter importances" in md
    cfg = load_config(str(rep / "best_config.yml"))  # ready for ppexp train: the best trial's values
    assert cfg["Optimizer"]["lr"]["learning_rate"] == pytest.approx(best.params["Optimizer.lr.learning_rate"])
    assert cfg["Architecture"]["Neck"]["hidden_size"] == best.params["Architecture.Neck.hidden_size"]
    assert cfg["Global"]["save_model_dir"] == "./output/rec/tiny_words_best/"


def test_bad_space_is_a_clear_error_before_any_trial(tmp_path, capsys):
    bad = _space(tmp_path, "Optimizer.lr.learning_rate: {type: float, low: 0.01, high: 0.001}\n")
    assert main(["tune", "-c", CONFIG, "--space", bad, "--trials", "2", "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "space.yml:1: Optimizer.lr.learning_rate: 'low' (0.01) is greater than 'high' (0.001)" in err
    assert not (tmp_path / "s").exists()


def _wait_for(predicate, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if predicate():
                return
        except KeyError:  # the tuner has not created the study yet
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.mark.slow
def test_kill9_then_rerun_finishes_without_repeating(toy, tmp_path):
    """kill -9 of the tuner while a trial runs; the same command again marks that trial failed (its worker
    is dead), runs the rest, and the study ends with exactly --trials trials, numbers 0..N-1, none twice."""
    out = tmp_path / "study"
    argv = _tune_argv(toy, out, _space(tmp_path), 3, "--sampler", "random")
    state = optuna.trial.TrialState
    proc = subprocess.Popen([sys.executable, "-m", "ppexp.cli", *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: os.path.exists(out / "study.db") and
                  [t.state for t in _trials(out)] == [state.COMPLETE, state.RUNNING], 900,
                  "trial 0 complete and trial 1 running")
        time.sleep(1.0)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert [t.state for t in _trials(out)] == [state.COMPLETE, state.RUNNING]  # nobody could record the loss
    rerun = subprocess.run([sys.executable, "-m", "ppexp.cli", *argv], capture_output=True, text=True, timeout=1800)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    trials = _trials(out)
    assert [t.number for t in trials] == [0, 1, 2]
    assert trials[1].state == state.FAIL and "died" in trials[1].user_attrs["fail_reason"]
    assert trials[2].state == state.COMPLETE
    assert "trial    1  FAIL" in rerun.stdout and "trial    2" in rerun.stdout and "trial    0 " not in rerun.stdout


def test_optuna_is_imported_lazily():
    """The core install does not need optuna: the CLI and the tune modules import without it."""
    code = ("import sys, ppexp.cli; ppexp.cli.build_parser(); import ppexp.experiments.tune.tuner, "
            "ppexp.experiments.tune.report, ppexp.experiments.tune.trial_main; "
            "assert 'optuna' not in sys.modules and 'sqlalchemy' not in sys.modules, 'imported eagerly'")
    subprocess.run([sys.executable, "-c", code], check=True)
