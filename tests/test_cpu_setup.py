"""ppexp.engine.cpu_setup: plan, environment, re-exec guard, worker supervision (no timings)."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ppexp.engine import cpu_setup
from ppexp.engine.cpu_setup import WorkerInfo, plan_cpu_parallel, runtime_env

REPO = Path(__file__).resolve().parent.parent
IOMP = cpu_setup.iomp_library()


def clean_env(**extra):
    drop = (*cpu_setup.THREAD_VARS, *cpu_setup.DIST_VARS, cpu_setup.ENV_PLAN, cpu_setup.MKL_CPU_VAR,
            cpu_setup.MKL_SET_BY_PPEXP, "LD_PRELOAD")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTHONPATH"] = str(REPO)
    env["PYTHONUNBUFFERED"] = "1"  # lines arrive as written; each line is one write() below
    env.update(extra)
    return env


def run_script(tmp_path, body, env, timeout=60):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(body))
    return subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                          text=True, timeout=timeout)


# ------------------------------------------------------------------------------------ plan
def test_default_plan_is_one_worker_per_core():
    plan = plan_cpu_parallel(cores=2)
    assert plan == {"cores": 2, "world_size": 2, "threads_per_worker": 1,
                    "worker_batch": None, "preload_iomp": False}
    assert plan_cpu_parallel("auto", "auto", cores=4)["world_size"] == 4
    assert plan_cpu_parallel(0, True, cores=3)["world_size"] == 3


def test_threads_instead_of_workers_preloads_iomp():
    plan = plan_cpu_parallel(2, False, cores=2)
    assert (plan["world_size"], plan["threads_per_worker"], plan["preload_iomp"]) == (1, 2, True)
    plan = plan_cpu_parallel(1, "auto", cores=8)
    assert (plan["world_size"], plan["threads_per_worker"], plan["preload_iomp"]) == (1, 1, False)


def test_workers_share_cores_and_are_capped():
    plan = plan_cpu_parallel(8, 2, cores=2)  # cpu_threads may exceed the cores seen
    assert (plan["world_size"], plan["threads_per_worker"]) == (2, 4)
    assert plan_cpu_parallel(2, 6, cores=8)["world_size"] == 2


def test_batch_is_split_evenly_with_a_minimum_per_worker():
    assert plan_cpu_parallel(2, "auto", batch_size=64, cores=2)["worker_batch"] == 32
    plan = plan_cpu_parallel(4, "auto", batch_size=30, cores=4)  # 30 % 4 != 0 -> 3 workers
    assert (plan["world_size"], plan["worker_batch"]) == (3, 10)
    plan = plan_cpu_parallel(2, "auto", batch_size=12, cores=2)  # 6 < MIN_WORKER_BATCH (rec: 8)
    assert (plan["world_size"], plan["worker_batch"], plan["threads_per_worker"]) == (1, 12, 2)


def test_det_workers_may_take_smaller_batches():
    """A DB detector's BatchNorm sees thousands of positions per image: 2 images per worker suffice."""
    plan = plan_cpu_parallel(2, "auto", batch_size=4, cores=2, model_type="det")
    assert (plan["world_size"], plan["worker_batch"], plan["threads_per_worker"]) == (2, 2, 1)
    assert plan_cpu_parallel(2, "auto", batch_size=4, cores=2, model_type="rec")["world_size"] == 1
    assert plan_cpu_parallel(2, "auto", batch_size=2, cores=2, model_type="det")["world_size"] == 1


@pytest.mark.parametrize("key,kwargs", [("cpu_threads", {"cpu_threads": "lots"}),
                                        ("cpu_threads", {"cpu_threads": -1}),
                                        ("data_parallel", {"data_parallel": "yes"})])
def test_bad_values_name_the_config_key(key, kwargs):
    with pytest.raises(ValueError, match=f"Global.{key}"):
        plan_cpu_parallel(cores=2, **kwargs)


def test_local_batch():
    assert WorkerInfo(rank=1, world_size=2).local_batch(64) == 32
    assert WorkerInfo().is_main and not WorkerInfo(rank=1, world_size=2).is_main
    with pytest.raises(ValueError, match="data_parallel"):
        WorkerInfo(world_size=3).local_batch(64)


# ----------------------------------------------------------------------------- environment
def test_runtime_env_sets_threads_and_keeps_user_preload():
    env = runtime_env(plan_cpu_parallel(2, False, cores=2), {"LD_PRELOAD": "libuser.so", "X": "1"})
    assert all(env[v] == "2" for v in cpu_setup.THREAD_VARS)
    assert env["X"] == "1" and json.loads(env[cpu_setup.ENV_PLAN])["threads_per_worker"] == 2
    if IOMP:
        assert env["LD_PRELOAD"].split() == [IOMP, "libuser.so"]
        again = runtime_env(plan_cpu_parallel(2, False, cores=2), env)
        assert again["LD_PRELOAD"] == env["LD_PRELOAD"]  # not added twice


def test_mkl_avx2_path_only_on_amd_and_only_when_unset():
    var = cpu_setup.MKL_CPU_VAR
    assert cpu_setup.mkl_cpu_env({}, vendor="AuthenticAMD") == {var: "5", cpu_setup.MKL_SET_BY_PPEXP: "1"}
    assert cpu_setup.mkl_cpu_env({}, vendor="GenuineIntel") == {}  # MKL's own choice (e.g. AVX-512)
    assert cpu_setup.mkl_cpu_env({var: "4"}, vendor="AuthenticAMD") == {}  # the user's value wins
    vendor = cpu_setup.cpu_vendor()
    env = runtime_env(plan_cpu_parallel(1, cores=2), {})
    assert (env.get(var) == "5") == (vendor == "AuthenticAMD")


def test_mkl_path_note_for_doctor():
    var = cpu_setup.MKL_CPU_VAR
    assert f"{var}=5" in cpu_setup.mkl_path_note({}, vendor="AuthenticAMD")
    assert cpu_setup.mkl_path_note({}, vendor="GenuineIntel") == ""
    assert "set before ppexp" in cpu_setup.mkl_path_note({var: "0"}, vendor="AuthenticAMD")
    ours = cpu_setup.mkl_cpu_env({}, vendor="AuthenticAMD")   # what `ppexp doctor`'s own process has
    assert "AVX2 path" in cpu_setup.mkl_path_note(ours, vendor="AuthenticAMD")


def test_single_thread_env_leaves_preload_alone():
    env = runtime_env(plan_cpu_parallel(1, cores=2), {"OMP_NUM_THREADS": "7"})
    assert env["OMP_NUM_THREADS"] == "1" and "LD_PRELOAD" not in env


def test_worker_envs_give_each_rank_paddle_gloo_variables():
    plan = plan_cpu_parallel(3, "auto", cores=3)
    envs = cpu_setup.worker_envs(plan, {"A": "b"})
    assert [e["PADDLE_TRAINER_ID"] for e in envs] == ["0", "1", "2"]
    endpoints = envs[0]["PADDLE_TRAINER_ENDPOINTS"].split(",")
    assert len(set(endpoints)) == 3
    for rank, env in enumerate(envs):
        assert env["PADDLE_CURRENT_ENDPOINT"] == endpoints[rank]
        assert env["PADDLE_MASTER"] == endpoints[0] and env["PADDLE_DISTRI_BACKEND"] == "gloo"
        assert env["PADDLE_TRAINERS_NUM"] == "3" and env["A"] == "b"


# ----------------------------------------------------------------- re-exec and supervision
PRINT_ENV = """
    import json, os, sys
    sys.stdout.write(f"START {{os.getpid()}}\\n")
    from ppexp.engine.cpu_setup import ensure_cpu_runtime
    plan = ensure_cpu_runtime({args})
    assert ensure_cpu_runtime({args}) == plan  # second call: no re-exec, same plan
    keys = ["OMP_NUM_THREADS", "MKL_NUM_THREADS", "LD_PRELOAD", "PADDLE_TRAINER_ID",
            "PADDLE_TRAINERS_NUM", "PADDLE_MASTER"]
    sys.stdout.write("ENV " + json.dumps({{k: os.environ.get(k) for k in keys}}) + "\\n")
    {tail}
"""


def env_lines(out):
    return [json.loads(line[4:]) for line in out.splitlines() if line.startswith("ENV ")]


@pytest.mark.skipif(IOMP is None, reason="paddle's libiomp5.so not found")
def test_reexec_once_with_iomp_preloaded(tmp_path):
    body = PRINT_ENV.format(args="cpu_threads=2, data_parallel=False", tail="")
    proc = run_script(tmp_path, body, clean_env(LD_PRELOAD="libm.so.6"))
    assert proc.returncode == 0, proc.stderr
    starts = [line for line in proc.stdout.splitlines() if line.startswith("START")]
    assert len(starts) == 2  # original start + exactly one re-exec
    (env,) = env_lines(proc.stdout)
    assert env["LD_PRELOAD"].split() == [IOMP, "libm.so.6"]
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "2"


def test_single_thread_plan_needs_no_reexec(tmp_path):
    body = PRINT_ENV.format(args="cpu_threads=1", tail="")
    proc = run_script(tmp_path, body, clean_env(OMP_NUM_THREADS="4"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("START") == 1
    (env,) = env_lines(proc.stdout)
    assert env["OMP_NUM_THREADS"] == "1" and env["LD_PRELOAD"] is None


def test_supervisor_starts_one_process_per_rank(tmp_path):
    body = PRINT_ENV.format(args="cpu_threads=2, data_parallel='auto', batch_size=64", tail="")
    proc = run_script(tmp_path, body, clean_env())
    assert proc.returncode == 0, proc.stderr
    envs = env_lines(proc.stdout)
    assert sorted(e["PADDLE_TRAINER_ID"] for e in envs) == ["0", "1"]
    assert {e["PADDLE_TRAINERS_NUM"] for e in envs} == {"2"}
    assert len({e["PADDLE_MASTER"] for e in envs}) == 1
    assert {e["OMP_NUM_THREADS"] for e in envs} == {"1"}
    assert proc.stdout.count("START") == 3  # supervisor + 2 workers


def test_first_failing_worker_stops_the_others(tmp_path):
    tail = """
    import time
    if os.environ["PADDLE_TRAINER_ID"] == "1":
        sys.exit(3)
    time.sleep(60)  # rank 0 would wait forever in a collective
    """
    body = PRINT_ENV.format(args="cpu_threads=2, data_parallel=2", tail=textwrap.indent(
        textwrap.dedent(tail), "    ").strip())
    proc = run_script(tmp_path, body, clean_env(), timeout=30)
    assert proc.returncode == 3


def test_init_worker_single_process_only_sets_threads(tmp_path):
    body = """
    from ppexp.engine.cpu_setup import init_worker
    print(f"INFO {init_worker()}")
    """
    proc = run_script(tmp_path, body, clean_env())
    assert proc.returncode == 0, proc.stderr
    assert "INFO WorkerInfo(rank=0, world_size=1, threads=1)" in proc.stdout


def test_data_parallel_contract_with_paddle_gloo(tmp_path):
    """Two CPU workers: params come from rank 0, gradients are the full-batch mean,
    on_main runs on rank 0 and hands its result (or its failure) to every rank."""
    body = """
    import sys
    from ppexp.engine.cpu_setup import ensure_cpu_runtime, init_worker, on_main
    ensure_cpu_runtime(cpu_threads=2, data_parallel=2, batch_size=16)
    import numpy as np, paddle
    info = init_worker()
    paddle.seed(100 + info.rank)  # different init per rank on purpose
    net = paddle.nn.Sequential(paddle.nn.Linear(4, 3), paddle.nn.Tanh(), paddle.nn.Linear(3, 1))
    dp = paddle.DataParallel(net)
    ref = paddle.nn.Sequential(paddle.nn.Linear(4, 3), paddle.nn.Tanh(), paddle.nn.Linear(3, 1))
    ref.set_state_dict(dp.state_dict())
    x = np.random.default_rng(0).standard_normal((16, 4)).astype("float32")
    n = info.local_batch(16)
    dp(paddle.to_tensor(x[info.rank * n:(info.rank + 1) * n])).pow(2).mean().backward()
    ref(paddle.to_tensor(x)).pow(2).mean().backward()
    diff = np.abs(net[0].weight.grad.numpy() - ref[0].weight.grad.numpy()).max()
    got = on_main(info, lambda: {"acc": np.float32(0.5), "by": info.rank})
    def fail():
        raise ValueError("bad metric")
    try:
        on_main(info, fail)
        err = "none"
    except Exception as exc:
        err = type(exc).__name__
    w = float(net[0].weight.numpy()[0, 0])
    sys.stdout.write(f"RESULT {info.rank} {w} {float(diff)} {got['by']} {err}\\n")
    """
    proc = run_script(tmp_path, body, clean_env(GLOG_minloglevel="2"), timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = sorted(line.split()[1:] for line in proc.stdout.splitlines() if line.startswith("RESULT"))
    assert [r[0] for r in rows] == ["0", "1"], proc.stdout + proc.stderr[-3000:]
    assert rows[0][1] == rows[1][1]  # same weights on both ranks
    assert all(float(r[2]) < 1e-5 for r in rows)
    assert [r[3] for r in rows] == ["0", "0"]  # rank 0's result everywhere
    assert [r[4] for r in rows] == ["ValueError", "RuntimeError"]


def test_sigterm_to_supervisor_stops_the_workers(tmp_path):
    body = PRINT_ENV.format(args="cpu_threads=2, data_parallel=2", tail="import time; time.sleep(60)")
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(body))
    proc = subprocess.Popen([sys.executable, str(script)], env=clean_env(),
                            stdout=subprocess.PIPE, text=True)
    seen = 0
    while seen < 2:  # both workers are up
        line = proc.stdout.readline()
        assert line, "workers did not start"
        seen += line.startswith("ENV ")
    proc.terminate()
    assert proc.wait(timeout=20) == 128 + 15  # the workers died of the forwarded SIGTERM


def test_external_launcher_is_respected(tmp_path):
    """Started as one of N ranks by paddle.distributed.launch: no extra workers."""
    body = PRINT_ENV.format(args="cpu_threads=2, data_parallel='auto'", tail="")
    env = clean_env(PADDLE_TRAINER_ID="1", PADDLE_TRAINERS_NUM="2")
    proc = run_script(tmp_path, body, env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("START") == 1
    (got,) = env_lines(proc.stdout)
    assert got["OMP_NUM_THREADS"] == "1" and got["PADDLE_TRAINER_ID"] == "1"
