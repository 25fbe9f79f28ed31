"""Hostile and careless inputs (issue 15): each test reproduces an attack, then asserts the fix.

Items: 3 honest evaluation, 4 run lock, 5 bounded loading, 6 NaN policy, 7 clear errors.
Reset/restore (items 1, 2) are in test_attacks_reset.py. Everything is written under tmp dirs.
"""
import json
import os
import pickle
import random
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from helpers import data_overrides, make_toy_set
from ppexp.cli import main
from ppexp.engine.safe_pickle import safe_load

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


def _exit_code(argv):
    """main()'s exit code, also when the command exits through SystemExit."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


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


# ---------------------------------------------------------------- 4. one trainer per save_model_dir
HOLDER = """
import sys, time
from ppexp.engine.run_lock import run_lock
with run_lock(sys.argv[1]):
    print("ready", flush=True)
    time.sleep(300)
"""


def test_second_trainer_is_refused_and_a_killed_holder_releases_the_lock(data, tmp_path, capsys):
    out = str(tmp_path / "run")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, out], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        assert main(["train", "-c", CONFIG, "-o", *_tiny(data, out)]) == 1
        err = capsys.readouterr().err
        assert f"is in use by another training run (pid {holder.pid} on " in err and "started 20" in err
        assert not os.path.exists(os.path.join(out, "train.log"))       # nothing of the refused run mixed in
        assert not os.path.exists(os.path.join(out, "config.yml"))
    finally:
        holder.kill()                                                   # kill -9: the kernel drops the lock
        holder.wait()
    stale = os.path.join(out, "latest.pdparams.tmp999999")              # 7. an interrupted save's temp file
    with open(stale, "wb") as f:
        f.write(b"\0" * (3 << 20))
    assert main(["train", "-c", CONFIG, "-o", *_tiny(data, out)]) == 0   # no --force needed
    assert not os.path.exists(stale)
    assert "removed 1 temporary file(s) of interrupted checkpoint saves" in \
        open(os.path.join(out, "train.log"), encoding="utf-8").read()


# ---------------------------------------------------------------- 5. bounded loading
def _bomb(levels=10):
    lines = ["lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("extra, expect", [
    (_bomb(), "expand the config to more than"),
    ("deep: " + "[" * 1000 + "]" * 1000 + "\n", "nested more than 64 levels deep"),
    ("loop: &a [1, *a]\n", "refers to its own anchor"),
])
def test_yaml_bombs_are_refused_quickly_by_every_command(tmp_path, capsys, extra, expect):
    hostile = str(tmp_path / "hostile.yml")
    with open(hostile, "w", encoding="utf-8") as f:
        f.write(open(CONFIG, encoding="utf-8").read() + extra)
    start = time.process_time()   # CPU time: the shared machine may be busy
    for argv in (["train", "-c", hostile], ["check-labels", "-c", hostile], ["diff", hostile, CONFIG]):
        assert _exit_code(argv) != 0, argv
        err = capsys.readouterr().err
        assert "hostile.yml" in err and expect in err and "Traceback" not in err, (argv, err)
    assert time.process_time() - start < 20   # before: train, check-labels and diff hung (> 60 s) on the bomb


class _Alloc:
    """Unpickles as ``bytearray(3e9)``: a 3 GB allocation from a few bytes (builtins.bytearray is allowed)."""

    def __reduce__(self):
        return bytearray, (3_000_000_000,)


def test_pickled_allocation_bomb_is_refused_without_allocating(run, data, tmp_path, capsys):
    import resource

    params = safe_load(os.path.join(run, "latest.pdparams"))
    params["evil"] = _Alloc()
    evil = str(tmp_path / "evil.pdparams")
    with open(evil, "wb") as f:
        pickle.dump(params, f, protocol=4)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert main(["eval", "-c", CONFIG, "-o", *_tiny(data, run, f"Global.checkpoints={evil}")]) == 1
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    err = capsys.readouterr().err
    assert "evil.pdparams: refusing to load bytearray(3000000000)" in err
    assert grown_mb < 500, grown_mb    # before: ppexp eval used 3.26 GB


# ---------------------------------------------------------------- 6. NaN policy
def _all_finite(path):
    return all(np.isfinite(np.asarray(v)).all() for k, v in safe_load(path).items() if k != "StructuredToParameterName@@")


def test_exploding_run_under_skip_stops_and_never_saves_nan_weights(data, tmp_path, capsys):
    out = str(tmp_path / "run")
    opts = _tiny(data, out, "Global.nan_policy=skip", "Global.epoch_num=2", "Optimizer.lr.learning_rate=1e30")
    assert main(["train", "-c", CONFIG, "-o", *opts]) == 1     # before: 15 of 16 steps skipped, exit 0
    err = capsys.readouterr().err
    assert "weight tensors are NaN/inf" in err
    saved = [os.path.join(d, f) for d, _, files in os.walk(out) for f in files if f.endswith(".pdparams")]
    assert all(_all_finite(p) for p in saved), saved   # before: latest, best_accuracy, iter_epoch_* had NaN


def test_consecutive_skip_limit_is_a_config_key():
    import paddle

    from ppexp.engine.controls import NonFiniteGuard, NonFiniteLoss

    guard = NonFiniteGuard("skip", max_consecutive=3)
    model = paddle.nn.Linear(2, 2)
    assert guard.skip(float("nan"), 1, 1, 0, 0.1, model) and guard.skip(float("nan"), 1, 2, 1, 0.1, model)
    with pytest.raises(NonFiniteLoss, match="Global.nan_max_consecutive: 3"):
        guard.skip(float("nan"), 1, 3, 2, 0.1, model)
    assert guard.skipped == 3


def test_ties_do_not_resave_best(data, tmp_path):
    out = str(tmp_path / "run")
    assert main(["train", "-c", CONFIG, "-o", *_tiny(data, out, "Global.eval_batch_step=[0,1]")]) == 0
    log = open(os.path.join(out, "train.log"), encoding="utf-8").read()
    accs = [float(a) for a in re.findall(r"cur metric, acc: ([0-9.e-]+)", log)]
    assert len(accs) == 4
    improvements = sum(1 for i, a in enumerate(accs) if i == 0 or a > max(accs[:i]))
    assert improvements < len(accs)          # the attack needs ties (acc 0 at every evaluation)
    assert log.count("best_accuracy\n") == improvements   # before: re-saved at every tie


# ---------------------------------------------------------------- 7. clear errors
@pytest.mark.parametrize("content, expect", [
    (b"", "is empty"),
    (bytes(random.Random(0).randrange(256) for _ in range(4096)), "is truncated, corrupt or not a checkpoint"),
    ("truncate", "is truncated, corrupt or not a checkpoint"),
])
def test_broken_checkpoint_gives_one_sentence_naming_the_file(run, data, tmp_path, capsys, content, expect):
    bad = tmp_path / "latest"
    for ext in (".pdparams", ".pdopt", ".states"):
        good = open(os.path.join(run, "latest" + ext), "rb").read()
        (tmp_path / ("latest" + ext)).write_bytes(good[: len(good) // 2] if content == "truncate" else content)
    for cmd in ("eval", "train"):
        opts = _tiny(data, str(tmp_path / "out"), f"Global.checkpoints={bad}")
        assert main([cmd, "-c", CONFIG, "-o", *opts]) == 1, cmd
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"ppexp {cmd}: error: {bad}.") and expect in err and "\n" not in err, err


def test_checkpoint_whose_hashes_do_not_match_is_refused_unless_asked(run, tmp_path):
    from ppexp.config import get_config
    from ppexp.engine.builder import build_components
    from ppexp.engine.checkpoint import load_checkpoint
    from ppexp.engine.safe_pickle import CheckpointError

    for ext in (".pdparams", ".pdopt", ".states"):
        shutil.copy(os.path.join(run, "latest" + ext), tmp_path / ("latest" + ext))
    params = safe_load(str(tmp_path / "latest.pdparams"))
    key = next(k for k, v in params.items() if getattr(v, "ndim", 0) == 4)   # a conv kernel
    params[key] = params[key] + 1.0                    # an edited (or torn) .pdparams, no .bak set
    with open(tmp_path / "latest.pdparams", "wb") as f:
        pickle.dump(params, f, protocol=4)
    config, _ = get_config(os.path.join(run, "config.yml"))
    model = build_components(config).model
    with pytest.raises(CheckpointError, match="do not match the sha256 recorded in .*load_unverified_checkpoint"):
        load_checkpoint(str(tmp_path / "latest"), model)     # before: loaded silently
    load_checkpoint(str(tmp_path / "latest"), model, allow_unverified=True)
    assert np.allclose(model.state_dict()[key].numpy(), params[key])


DISK_FULL = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)                       # writes past the limit fail with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, resource.RLIM_INFINITY))
from ppexp.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_failed_checkpoint_write_is_one_sentence_and_leaves_no_temp_files(data, tmp_path):
    out = str(tmp_path / "run")
    proc = subprocess.run([sys.executable, "-c", DISK_FULL, "train", "-c", CONFIG, "-o", *_tiny(data, out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    err = proc.stderr.strip().splitlines()[-1]
    assert err.startswith(f"ppexp train: error: cannot write checkpoint {out}/") and "File too large" in err
    assert "Traceback" not in proc.stderr
    assert not [f for f in os.listdir(out) if ".tmp" in f]          # before: 3.2 MB of temp files stayed


def test_unwritable_save_dir_is_one_sentence(data, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    out = str(blocker / "run")            # (tests run as root: a chmod'ed dir would still be writable)
    assert main(["train", "-c", CONFIG, "-o", *_tiny(data, out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (f"ppexp train: error: cannot write in Global.save_model_dir {out} (Not a directory); make it "
                   "writable or set Global.save_model_dir to a folder you can write")


def test_non_utf8_label_line_is_warned_about_at_train_time(data, tmp_path, caplog):
    from ppexp.config import get_config
    from ppexp.data.loader import build_dataset

    labels = tmp_path / "latin1.txt"
    good = open(os.path.join(data, "train.txt"), "rb").read().splitlines()[:4]
    labels.write_bytes(b"\n".join(good[:2] + [good[2].split(b"\t")[0] + b"\tcaf\xe9"] + good[3:]) + b"\n")
    config, _ = get_config(CONFIG, _tiny(data, str(tmp_path / "o"), f"Train.dataset.label_file_list=[{labels}]"))
    with caplog.at_level("WARNING", logger="ppexp"):
        build_dataset(config, "Train")
    assert f"{labels}: 1 line(s) are not valid UTF-8 (first: line [3])" in caplog.text
