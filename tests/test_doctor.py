"""`ppexp doctor`: environment and config checks, each ok / warning / error with a fix."""
import json
import os

import pytest

from ppexp.cli import main
from ppexp.experiments.reset import compare_env
from ppexp.experiments.reset.doctor import ERROR, OK, WARNING, check_disk, check_threads, exit_code, run_doctor
from ppexp.engine.env_info import collect_env, write_env_json
from test_reset import build_dirty_experiment


@pytest.fixture
def exp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return build_dirty_experiment(tmp_path)


def _by_name(checks):
    out = {}
    for c in checks:
        out.setdefault(c.name, []).append(c)
    return out


def test_environment_checks_report_status_and_fix(capsys):
    assert main(["doctor"]) in (0, 1)
    out = capsys.readouterr().out
    for name in ("python", "paddle", "gpu", "cpu threads", "libgomp", "visualdl", "fonts", "disk"):
        assert f" {name} " in out, name
    lines = [ln for ln in out.splitlines() if ln.startswith("  ") and "fix:" not in ln]
    assert all(ln.split()[0] in (OK, WARNING, ERROR) for ln in lines)
    assert "checks:" in out.splitlines()[-1]


def test_dirty_experiment_gets_errors_and_warnings(exp, capsys):
    checks = run_doctor(exp["config"])
    named = _by_name(checks)
    assert named["eval schedule"][0].status == ERROR                      # [0, 2000] with 6 steps in total
    assert "[0,3]" in named["eval schedule"][0].fix
    ck = named["checkpoints"][0]
    assert ck.status == WARNING and "epoch 3 >= epoch_num 2" in ck.message and "ppexp reset" in ck.fix
    labels = named["Train labels"][0]
    assert labels.status == WARNING and "BOM" in labels.message and "CRLF" in labels.message
    assert named["paddle"][0].status == OK and named["dictionary"][0].status == OK
    assert exit_code(checks) == 1
    assert main(["doctor", "-c", exp["config"]]) == 1
    assert "fix: -o Global.eval_batch_step=[0,3]" in capsys.readouterr().out


def test_clean_after_reset(exp, capsys):
    assert main(["reset", "-c", exp["config"], "--yes"]) == 0
    clean = exp["config"].replace(".yml", ".reset.yml")
    checks = run_doctor(clean, ["Global.eval_batch_step=[0,3]"])
    named = _by_name(checks)
    for name in ("config", "dictionary", "Train data", "Eval data", "eval schedule", "checkpoints", "pretrained"):
        assert all(c.status == OK for c in named[name]), (name, named[name])
    assert "Train labels" not in named
    env = named["env.json"][0]      # env.json of the reset vs the present: only the -o override differs
    assert env.status == WARNING and "config_sha256" in env.message and "threads" not in env.message
    capsys.readouterr()
    assert main(["doctor", "-c", clean, "-o", "Global.eval_batch_step=[0,3]"]) == exit_code(
        [c for c in checks if c.name not in ("env.json",)])


def test_config_problems_are_errors(exp):
    text = open(exp["config"], encoding="utf-8").read()
    text = text.replace("dict.txt", "missing_dict.txt").replace("val.txt", "nope.txt")
    text = text.replace("checkpoints: " + exp["save"] + "/latest", "checkpoints: /nowhere/latest")
    with open(exp["config"], "w", encoding="utf-8") as f:
        f.write(text)
    named = _by_name(run_doctor(exp["config"]))
    assert named["dictionary"][0].status == ERROR and "character_dict_path" in named["dictionary"][0].message
    assert named["Eval labels"][0].status == ERROR and "nope.txt" in named["Eval labels"][0].message
    assert named["checkpoints"][0].status == ERROR and "null" in named["checkpoints"][0].fix


def test_checkpoint_of_another_run_is_stale(exp, tmp_path):
    other = tmp_path / "output" / "rec" / "exp5"
    other.mkdir()
    for ext in (".pdparams", ".pdopt", ".states"):
        os.replace(os.path.join(exp["save"], "iter_epoch_1" + ext), other / ("latest" + ext))
    text = open(exp["config"], encoding="utf-8").read()
    with open(exp["config"], "w", encoding="utf-8") as f:
        f.write(text.replace(exp["save"] + "/latest", str(other / "latest")))
    ck = _by_name(run_doctor(exp["config"]))["checkpoints"][0]
    assert ck.status == WARNING and "another run" in ck.message and "exp5" in ck.message


def test_unloadable_config_is_an_error(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("Global: {save_model_dir: !!python/object:os.system x}\n")
    checks = run_doctor(str(bad))
    assert _by_name(checks)["config"][0].status == ERROR and exit_code(checks) == 1


def test_env_json_written_and_compared(exp, monkeypatch):
    from ppexp.config import get_config

    config, _ = get_config(exp["config"])
    path = write_env_json(config, exp["save"])
    rec = json.load(open(path, encoding="utf-8"))
    for key in ("ppexp_version", "paddle_version", "python", "device", "threads", "config_sha256", "label_files",
                "dictionary", "git"):
        assert key in rec, key
    assert rec["written_by"] == "train" and rec["threads"]["cpu_plan"] is None
    assert rec["kernels"] == {"depthwise_conv": "ppexp"}  # scripts/setup.sh builds the op
    assert not compare_env(rec, collect_env(config))
    other = dict(rec, kernels={"depthwise_conv": "paddle (PPEXP_FAST_DEPTHWISE=0)"})
    assert [d[0] for d in compare_env(other, collect_env(config))] == ["kernels"]
    assert not compare_env({k: v for k, v in rec.items() if k != "kernels"}, collect_env(config))  # older record
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    with open(exp["train"], "ab") as f:
        f.write(b"images/p_000.png\t12\xea\xb0\x803456\n")
    diffs = {d[0]: d for d in compare_env(rec, collect_env(config))}
    assert "threads" in diffs and "label_files" in diffs
    assert "other labels" in diffs["label_files"][3]
    env = _by_name(run_doctor(exp["config"]))["env.json"][0]
    assert env.status == WARNING and "OMP_NUM_THREADS" in env.message


def test_threads_and_disk_checks(monkeypatch, tmp_path):
    monkeypatch.delenv("PPEXP_CPU_PLAN", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    monkeypatch.setenv("LD_PRELOAD", "")
    c = check_threads({"Global": {"cpu_threads": 1}})
    assert c.status == WARNING and "OMP_NUM_THREADS=4" in c.message
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert check_threads({"Global": {"cpu_threads": 1}}).status == OK
    assert check_threads({"Global": {"cpu_threads": "many"}}).status == ERROR
    disk = check_disk({"Global": {"save_model_dir": str(tmp_path / "not" / "yet")}})
    assert disk.status in (OK, WARNING, ERROR) and "GiB free" in disk.message
