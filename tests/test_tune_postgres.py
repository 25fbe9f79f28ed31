"""ppexp tune on a real PostgreSQL server (loopback, throw-away cluster): two worker processes share a study."""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from helpers import TUNE_SPACE, make_toy_set, tune_overrides

optuna = pytest.importorskip("optuna", reason="ppexp tune needs the [tune] extra: pip install -e '.[tune]'")
pytest.importorskip("psycopg", reason="PostgreSQL storage needs psycopg: pip install -e '.[tune]'")

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "rec", "tiny_words.yml")


def _pg_bin(name):
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1:]
    return found if isinstance(found, str) else (found[0] if found else None)


def _server_user():
    """PostgreSQL refuses to run as root: as root use the 'postgres' account (created if missing)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        made = subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], capture_output=True)
        if made.returncode:
            pytest.skip("running as root without a 'postgres' account, and useradd failed: "
                        f"{made.stderr.decode().strip()}")
    return "postgres"


def _as(user, cmd):
    if user is None:
        return cmd
    runner = shutil.which("runuser")
    return [runner, "-u", user, "--", *cmd] if runner else ["su", user, "-s", "/bin/sh", "-c", " ".join(cmd)]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("no PostgreSQL server binaries (initdb/pg_ctl); `bash scripts/setup.sh --test` installs "
                    "them with apt as root (apt-get install postgresql)")
    user = _server_user()
    root = tempfile.mkdtemp(prefix="ppexp-pg-")
    data, port = os.path.join(root, "data"), _free_port()
    if user:
        shutil.chown(root, user)
    init = subprocess.run(_as(user, [initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
                          capture_output=True, text=True)
    assert init.returncode == 0, init.stdout + init.stderr
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    start = subprocess.run(_as(user, [pg_ctl, "-D", data, "-o", opts, "-l", os.path.join(root, "log"), "-w", "start"]),
                           capture_output=True, text=True)
    assert start.returncode == 0, start.stdout + start.stderr + open(os.path.join(root, "log")).read()
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as(user, [pg_ctl, "-D", data, "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_two_workers_share_one_study(postgres_url, tmp_path):
    """Two `ppexp tune` processes on one PostgreSQL storage: every trial of the study ran in exactly one of
    them (the union of what they printed equals the study), the study holds exactly --trials trials, all complete.
    No pruner: which trials the median pruner sees as finished depends on the two workers' timing (CI once pruned
    trial 3 because trials 0-2 had finished first), and this test is about sharing, not pruning (test_tune.py)."""
    toy = make_toy_set(tmp_path / "data", n_train=160, n_val=32)
    space = tmp_path / "space.yml"
    space.write_text(TUNE_SPACE)
    argv = [sys.executable, "-m", "ppexp.cli", "tune", "-c", CONFIG, "--space", str(space), "--trials", "4",
            "--storage", postgres_url, "--study", "pg_study", "--metric", "loss", "--direction", "minimize",
            "--sampler", "random", "--pruner", "none", "-o", *tune_overrides(toy)]
    procs = [subprocess.Popen(argv + ["--out", str(tmp_path / f"worker{i}")], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(2)]
    outputs = [p.communicate(timeout=3000) for p in procs]  # generous: CI machines can be very busy
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err[-2000:]
    ran = [[int(line.split()[1]) for line in out.splitlines() if line.startswith("trial ")] for out, _ in outputs]
    study = optuna.load_study(study_name="pg_study", storage=postgres_url.replace("postgresql://",
                                                                                  "postgresql+psycopg://"))
    trials = study.get_trials()
    assert sorted(ran[0] + ran[1]) == [t.number for t in trials] == [0, 1, 2, 3], ran
    assert ran[0] and ran[1], f"one worker ran nothing: {ran}"  # both took part
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    for t in trials:  # each trial's run dir is under the study dir of the worker that ran it
        owner = 0 if t.number in ran[0] else 1
        assert t.user_attrs["trial_dir"].startswith(str(tmp_path / f"worker{owner}"))
        assert os.path.exists(os.path.join(t.user_attrs["trial_dir"], "train.log"))
