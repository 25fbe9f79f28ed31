"""CPU runtime for training: how many worker processes, how many threads each.

Measured on 2 cores (docs/cpu.md): a second intra-op thread gives these CRNNs at
most ~1.1x (0.7x without libiomp5 preloaded), while two data-parallel processes
(1 thread each, half the batch each, gradients all-reduced by paddle's gloo
backend) give ~1.8-1.9x. So by default every core gets its own worker process.

Two calls, two sides of ``import paddle``:

* ``ensure_cpu_runtime(...)`` -- CLI entry points only, first thing, *before* paddle
  is imported. Sets the thread env vars; re-execs once with libiomp5 preloaded when
  a worker uses >1 thread; when the plan has >1 worker, turns this process into a
  supervisor that starts the workers (same command line) and exits with their status.
* ``init_worker()`` -- the trainer, after ``import paddle``. Applies the thread count,
  joins the gloo process group when world_size > 1, and returns a ``WorkerInfo``.
* ``on_main(info, fn)`` -- eval / checkpoint / stop decisions: rank 0 runs ``fn``, all
  ranks get its result (gloo collectives would time out after 30 s of waiting).

The trainer's full contract, with a minimal loop: docs/cpu.md.

Library code and tests never call ``ensure_cpu_runtime``; without it ``init_worker``
sees a single worker and changes nothing but the thread count.
"""
import functools
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

from ppexp.utils.cpuinfo import cpuinfo_field

ENV_PLAN = "PPEXP_CPU_PLAN"  # JSON plan; set once the runtime is prepared (re-exec guard)
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
DIST_VARS = ("PADDLE_TRAINER_ID", "PADDLE_TRAINERS_NUM", "PADDLE_TRAINER_ENDPOINTS",
             "PADDLE_CURRENT_ENDPOINT", "PADDLE_MASTER", "PADDLE_DISTRI_BACKEND")
# Fewest samples per data-parallel worker: below this a worker's BatchNorm statistics get too noisy.
# What counts is positions per channel: a CRNN's last stage sees ~1 x 40 per sample (8 samples ~ 320),
# a DB detector's stride-32 stage 10 x 10 per 320 px crop (2 samples ~ 200) and thousands at stride 4.
MIN_WORKER_BATCH = {"rec": 8, "det": 2}
# Paddle's CPU wheel does its GEMMs (conv via im2col, matmul, LSTM) in Intel's MKL, which takes a
# slow generic code path on non-Intel CPUs. This variable makes it use its AVX2 path: measured on
# the 2-core AMD EPYC here, sgemm 16-17 -> 36-40 GFLOP/s and a det_mv3_db training step 1.5x faster
# (docs/cpu.md). MKL reads it at its first call, so it works until paddle computes anything.
MKL_CPU_VAR = "MKL_DEBUG_CPU_TYPE"
MKL_AVX2 = "5"
MKL_SET_BY_PPEXP = "PPEXP_MKL_CPU_TYPE_SET"  # marks the variable as ppexp's own choice (not the user's)


def available_cores():
    """Cores this process may run on (affinity / cpuset aware)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _as_count(value, key, default):
    """None / 'auto' / 0 -> default; otherwise a positive int (error names the key)."""
    if isinstance(value, bool):
        return default if value else 1
    if value is None or value == 0 or (isinstance(value, str) and value.strip().lower() == "auto"):
        return default
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"Global.{key}: expected a positive int or 'auto', got {value!r}") from None
    if count < 0:
        raise ValueError(f"Global.{key}: expected a positive int or 'auto', got {value!r}")
    return count


def min_worker_batch(model_type=None):
    """MIN_WORKER_BATCH for Architecture.model_type (rec's when unknown)."""
    return MIN_WORKER_BATCH.get(model_type or "rec", MIN_WORKER_BATCH["rec"])


def plan_cpu_parallel(cpu_threads=None, data_parallel="auto", batch_size=None, cores=None, model_type=None):
    """Decide workers x threads for ``cpu_threads`` cores.

    cpu_threads: cores to use; None/'auto'/0 = all available.
    data_parallel: 'auto'/True = one worker per core (Linux; elsewhere 1); False/1 =
      one process with ``cpu_threads`` threads; N = N workers sharing the cores.
    batch_size: the GLOBAL batch (Train.loader.batch_size_per_card); split evenly over
      workers, so the number of workers is reduced until it divides the batch and
      each worker keeps >= MIN_WORKER_BATCH[model_type] samples (rec 8, det 2).
    Returns a JSON-able dict: cores, world_size, threads_per_worker, worker_batch,
    preload_iomp (True when a worker runs >1 OpenMP thread).
    """
    avail = available_cores() if cores is None else cores
    total = _as_count(cpu_threads, "cpu_threads", avail)
    auto_world = total if sys.platform.startswith("linux") else 1  # gloo CPU: Linux only
    world = min(_as_count(data_parallel, "data_parallel", auto_world), total)
    if batch_size is not None:
        batch_size = int(batch_size)
        least = min_worker_batch(model_type)
        while world > 1 and (batch_size % world or batch_size // world < least):
            world -= 1
    threads = max(1, total // world)
    return {
        "cores": total,
        "world_size": world,
        "threads_per_worker": threads,
        "worker_batch": None if batch_size is None else batch_size // world,
        "preload_iomp": threads > 1,
    }


@functools.lru_cache(maxsize=1)
def cpu_vendor():
    """The CPU's vendor_id from /proc/cpuinfo ('AuthenticAMD', 'GenuineIntel', ...), or None (read once)."""
    return cpuinfo_field("vendor_id")


def mkl_cpu_env(environ=None, vendor=None):
    """{MKL_CPU_VAR: '5', MKL_SET_BY_PPEXP: '1'} when MKL would run its slow path (an AMD CPU) and
    the variable is not set; {} otherwise (Intel CPUs keep MKL's own choice, e.g. AVX-512)."""
    env = os.environ if environ is None else environ
    if MKL_CPU_VAR in env:
        return {}
    vendor = cpu_vendor() if vendor is None else vendor
    return {MKL_CPU_VAR: MKL_AVX2, MKL_SET_BY_PPEXP: "1"} if vendor == "AuthenticAMD" else {}


def mkl_path_note(environ=None, vendor=None):
    """One line on MKL's code path for ``ppexp doctor`` ('' on a CPU where ppexp leaves MKL alone)."""
    env = os.environ if environ is None else environ
    if MKL_CPU_VAR in env and not env.get(MKL_SET_BY_PPEXP):
        return f"{MKL_CPU_VAR}={env[MKL_CPU_VAR]} (set before ppexp; ppexp keeps it)"
    if env.get(MKL_SET_BY_PPEXP) or mkl_cpu_env(env, vendor):
        return (f"AMD CPU: ppexp runs MKL's AVX2 path ({MKL_CPU_VAR}={MKL_AVX2}; ~2x faster GEMMs than MKL's "
                "default here)")
    return ""


def use_fast_mkl():
    """Apply :func:`mkl_cpu_env` to this process (effective before paddle's first computation)."""
    os.environ.update(mkl_cpu_env())


def iomp_library():
    """Path of paddle's libiomp5.so, found without importing paddle (None if absent)."""
    import importlib.util

    spec = importlib.util.find_spec("paddle")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], "libs", "libiomp5.so")
    return path if os.path.isfile(path) else None


def runtime_env(plan, environ=None):
    """The environment a worker of ``plan`` needs (a new dict; ``environ`` untouched).

    MKL's AVX2 path is chosen on AMD CPUs (:func:`mkl_cpu_env`). Thread vars are forced to the plan;
    LD_PRELOAD gets libiomp5 prepended (user entries kept) when threads > 1 so gcc's libgomp calls
    resolve to the same OpenMP runtime as MKL/oneDNN -- two runtimes spinning on 2 cores is what makes
    OMP_NUM_THREADS=2 slower than 1.
    """
    env = dict(os.environ if environ is None else environ)
    env.update(mkl_cpu_env(env))
    for var in THREAD_VARS:
        env[var] = str(plan["threads_per_worker"])
    lib = iomp_library() if plan["preload_iomp"] else None
    if lib:
        parts = [p for p in env.get("LD_PRELOAD", "").replace(":", " ").split() if p]
        if lib not in parts:
            env["LD_PRELOAD"] = " ".join([lib, *parts])
    env[ENV_PLAN] = json.dumps(plan, sort_keys=True)
    return env


def current_plan():
    """The plan this process runs under (set by ensure_cpu_runtime), or None."""
    raw = os.environ.get(ENV_PLAN)
    return json.loads(raw) if raw else None


def _command_line():
    """argv to start this same program again (keeps ``-m module`` and interpreter flags)."""
    argv = list(getattr(sys, "orig_argv", []) or [sys.executable, *sys.argv])
    return [sys.executable, *argv[1:]]


def ensure_cpu_runtime(cpu_threads=None, data_parallel="auto", batch_size=None, model_type=None):
    """Prepare threads / processes; call before importing paddle. Returns the plan.

    Idempotent: inside a prepared process (ENV_PLAN set) it only returns the plan.
    Under an external launcher (PADDLE_TRAINERS_NUM > 1 already set) it starts no
    workers; this process gets its share of ``cpu_threads`` as threads.
    May not return: re-execs (os.execve) once when LD_PRELOAD must change (or thread
    vars must change after paddle was already imported), or, when the plan has several
    workers, supervises them and calls sys.exit with their exit status.
    """
    existing = current_plan()
    if existing is not None:
        return existing
    launched = int(os.environ.get("PADDLE_TRAINERS_NUM", "1"))
    if launched > 1:  # already one of N ranks (paddle.distributed.launch): share the cores
        total = _as_count(cpu_threads, "cpu_threads", available_cores())
        plan = plan_cpu_parallel(max(1, total // launched), False)
    else:
        plan = plan_cpu_parallel(cpu_threads, data_parallel, batch_size, model_type=model_type)
    env = runtime_env(plan)
    if plan["world_size"] > 1:
        sys.exit(supervise_workers(plan, env))
    if _needs_restart(env):
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, _command_line(), env)
    os.environ.update(env)
    return plan


def _needs_restart(env):
    """LD_PRELOAD only works from process start; thread vars only before paddle loads."""
    if env.get("LD_PRELOAD", "") != os.environ.get("LD_PRELOAD", ""):
        return True
    return "paddle" in sys.modules and any(env[v] != os.environ.get(v) for v in THREAD_VARS)


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def worker_envs(plan, env):
    """One environment per rank: paddle's gloo variables on 127.0.0.1 free ports."""
    world = plan["world_size"]
    endpoints = [f"127.0.0.1:{_free_port()}" for _ in range(world)]
    envs = []
    for rank in range(world):
        worker = dict(env)
        worker.update({
            "PADDLE_TRAINER_ID": str(rank), "PADDLE_TRAINERS_NUM": str(world),
            "PADDLE_TRAINER_ENDPOINTS": ",".join(endpoints),
            "PADDLE_CURRENT_ENDPOINT": endpoints[rank], "PADDLE_MASTER": endpoints[0],
            "PADDLE_DISTRI_BACKEND": "gloo",
        })
        envs.append(worker)
    return envs


def supervise_workers(plan, env, argv=None):
    """Run ``argv`` (default: this command line) once per rank; return the exit code.

    The first worker to fail stops the others (they would block in a collective).
    Workers run in their own process group, so a terminal's Ctrl-C reaches them once,
    through this supervisor, which passes SIGINT/SIGTERM on; they get SIGTERM if the
    supervisor dies (Linux).
    """
    argv = argv or _command_line()
    procs = []

    def forward(signum, _frame):
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signum)

    old = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for worker_env in worker_envs(plan, env):
            procs.append(subprocess.Popen(argv, env=worker_env, preexec_fn=_worker_preexec))
        return _wait_all(procs)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _worker_preexec():
    """In the child before exec: own process group; SIGTERM when the parent dies."""
    os.setpgid(0, 0)
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _wait_all(procs, poll_s=0.2):
    """Wait for every worker; the first failure terminates the rest. 128+N for signal N."""
    status = 0
    pending = list(procs)
    while pending:
        for proc in [p for p in pending if p.poll() is not None]:
            pending.remove(proc)
            code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
            if code and not status:
                status = code
                for other in pending:
                    other.terminate()
        if pending:
            time.sleep(poll_s)
    return status


@dataclass(frozen=True)
class WorkerInfo:
    """Where this process stands: ``rank`` of ``world_size`` workers, ``threads`` each."""

    rank: int = 0
    world_size: int = 1
    threads: int = 1

    @property
    def is_main(self):
        return self.rank == 0

    def local_batch(self, global_batch):
        """This worker's share of the global batch (must divide evenly)."""
        if global_batch % self.world_size:
            raise ValueError(f"batch size {global_batch} does not split over {self.world_size} "
                             "CPU workers; set Global.data_parallel or change the batch size")
        return global_batch // self.world_size


def init_worker():
    """After ``import paddle``: apply the thread count, join the gloo group if needed."""
    use_fast_mkl()
    import paddle

    plan = current_plan() or {}
    threads = int(plan.get("threads_per_worker") or os.environ.get("OMP_NUM_THREADS") or 1)
    from paddle.base import core

    if hasattr(core, "set_num_threads"):
        core.set_num_threads(threads)
    world = int(os.environ.get("PADDLE_TRAINERS_NUM", "1"))
    rank = int(os.environ.get("PADDLE_TRAINER_ID", "0"))
    if world > 1:
        paddle.set_device("cpu")
        if not paddle.distributed.is_initialized():
            paddle.distributed.init_parallel_env()
    return WorkerInfo(rank=rank, world_size=world, threads=threads)


_SECTIONS = itertools.count()


def _plain(value):
    """JSON fallback for numpy / paddle scalars and arrays."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"on_main: result must be JSON-able, got {type(value).__name__}")


def on_main(info, fn, *args, poll_s=0.05, **kwargs):
    """Run ``fn(*args, **kwargs)`` on rank 0 only; every rank returns its result.

    For evaluation, checkpointing, early-stop decisions: the result (JSON-able, e.g. a
    metrics dict or a stop flag) reaches all ranks so they take the same branch.
    Other ranks wait by polling paddle's TCP store, not in a gloo collective, whose
    fixed 30 s timeout would kill them during a long evaluation. Rank 0 returns only
    once every rank has read the result (rank 0 hosts the store, so it must not exit
    first). If ``fn`` raises on rank 0, the other ranks raise RuntimeError. All ranks
    must call ``on_main`` at the same points, in the same order.
    """
    if info.world_size == 1:
        return fn(*args, **kwargs)
    from paddle.distributed import collective

    store = collective._default_store
    key = f"ppexp/on_main/{next(_SECTIONS)}"
    if info.is_main:
        try:
            result = fn(*args, **kwargs)
            message = {"result": result}
            payload = json.dumps(message, default=_plain)
        except BaseException as err:
            message = {"error": f"{type(err).__name__}: {err}"}
            payload = json.dumps(message)
            raise
        finally:
            store.set(key, payload)
            store.add(key + "/done", 1)
            _poll(store, key + "/read", info.world_size - 1, poll_s)
        return result
    _poll(store, key + "/done", 1, poll_s)
    message = json.loads(bytes(store.get(key)).decode())
    store.add(key + "/read", 1)
    if "error" in message:
        raise RuntimeError(f"rank 0 failed in {getattr(fn, '__name__', fn)}: {message['error']}")
    return message["result"]


def _poll(store, counter, target, poll_s):
    """Sleep until the store counter reaches ``target`` (add(..., 0) reads it)."""
    while store.add(counter, 0) < target:
        time.sleep(poll_s)
