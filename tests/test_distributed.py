"""`python -m paddle.distributed.launch --nproc_per_node 2 tools/train.py` on CPU (gloo)."""
import json
import os
import pickle
import re
import subprocess
import sys

import pytest

from helpers import data_overrides, make_toy_set

REPO = os.path.join(os.path.dirname(__file__), "..")


@pytest.mark.slow
def test_two_process_cpu_launch_trains_and_evaluates(tmp_path):
    root = make_toy_set(tmp_path / "data", n_train=128, n_val=32)
    out = tmp_path / "run"
    opts = data_overrides(root, str(out)) + ["Global.epoch_num=1", "Global.eval_batch_step=[0,2]",
                                             "Train.loader.batch_size_per_card=16"]
    cmd = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
           "--log_dir", str(tmp_path / "launch"), os.path.join(REPO, "tools", "train.py"),
           "-c", os.path.join(REPO, "configs", "rec", "tiny_words.yml"), "-o", *opts]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PADDLE_", "CUDA_VISIBLE"))}
    proc = subprocess.run(cmd, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = (out / "train.log").read_text(encoding="utf-8")
    assert "world size 2" in log
    assert log.count("cur metric") == 2  # steps 2 and 4; only rank 0 evaluates and logs
    with open(out / "latest.states", "rb") as f:
        states = pickle.load(f)
    # 128 samples / 2 ranks / 16 per card = 4 steps
    assert states["global_step"] == 4 and states["epoch"] == 1
    assert (out / "best_accuracy.pdparams").exists()


@pytest.mark.slow
def test_default_cpu_run_uses_both_cores_with_global_batch(tmp_path):
    """`tools/train.py` on a 2-core machine starts 2 data-parallel CPU workers by default;
    batch_size_per_card stays the global batch, so steps per epoch do not change."""
    root = make_toy_set(tmp_path / "data", n_train=128, n_val=32)
    out = tmp_path / "run"
    opts = data_overrides(root, str(out)) + ["Global.epoch_num=1", "Global.eval_batch_step=[0,2]",
                                             "Train.loader.batch_size_per_card=32", "Global.cpu_threads=2"]
    cmd = [sys.executable, os.path.join(REPO, "tools", "train.py"),
           "-c", os.path.join(REPO, "configs", "rec", "tiny_words.yml"), "-o", *opts]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PADDLE_", "PPEXP_CPU"))}
    proc = subprocess.run(cmd, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = (out / "train.log").read_text(encoding="utf-8")
    assert "world size 2" in log and "4 steps/epoch" in log
    assert "avg_samples: 32.0" in log  # global batch reported
    assert log.count("cur metric") == 2
    with open(out / "latest.states", "rb") as f:
        assert pickle.load(f)["global_step"] == 4
    # the eval at step 4 (each rank scored its half of the val set) is the saved model's: every rank used
    # rank 0's BatchNorm statistics, which `latest` holds
    sharded = float(re.findall(r"cur metric, .*?loss: ([0-9.]+)", log)[-1])
    eval_cmd = [sys.executable, "-c", "import sys; from ppexp.cli import main; sys.exit(main())", "eval",
                "-c", str(out / "config.yml"), "-o", f"Global.checkpoints={out / 'latest'}",
                "--json", str(tmp_path / "m.json")]
    proc = subprocess.run(eval_cmd, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    alone = json.loads((tmp_path / "m.json").read_text())["loss"]
    assert abs(sharded - alone) < 1e-6 * max(1.0, abs(alone)), (sharded, alone)  # per-rank statistics: 3e-5
