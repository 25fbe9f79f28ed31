"""``ppexp tune``: set up (config, space, storage, study), run the workers, print the summary."""
import math
import os
import subprocess
import sys
import time

from ppexp.config import get_config, parse_override
from ppexp.experiments.tune.space import load_space
from ppexp.experiments.tune.study import (TuneError, default_storage, import_optuna, make_pruner, make_sampler,
                                          open_storage, open_study, redact, state_counts)
from ppexp.experiments.tune.worker import TuneJob, run_worker, say


def study_paths(study_name, out=None, storage=None):
    """(study_dir, storage URL): ./output/tune/<study>/ and its study.db unless given."""
    study_dir = out or os.path.join("output", "tune", study_name)
    return study_dir, storage or default_storage(study_dir)


def prepare(args, overrides):
    """Check config and space, open the storage and the study; returns (job, study)."""
    if args.trials is None or args.trials < 1:
        raise TuneError("--trials N (N >= 1, the number of trials the study should hold) is required")
    if not args.space:
        raise TuneError("--space space.yml is required (dotted config keys -> distributions; see README)")
    config, _ = get_config(args.config, overrides)
    space = load_space(args.space, config)
    metric = args.metric or (config.get("Metric") or {}).get("main_indicator", "acc")
    name = args.study or os.path.splitext(os.path.basename(args.config))[0]
    study_dir, url = study_paths(name, args.out, args.storage)
    sampler = make_sampler(args.sampler, space, args.seed)
    if args.sampler == "grid":
        points = math.prod(len(values) for values in space.grid().values())
        if args.trials > points:
            raise TuneError(f"--sampler grid: the space has {points} grid points, fewer than --trials "
                            f"{args.trials}; pass --trials {points}")
    storage = open_storage(url)
    study = open_study(storage, name, args.direction, sampler, make_pruner(args.pruner))
    for key, value in (("config", os.path.abspath(args.config)), ("space", os.path.abspath(args.space)),
                       ("metric", metric), ("overrides", list(overrides))):
        study.set_user_attr(key, value)
    trial_overrides = []
    if args.jobs > 1 and not any(o.startswith("Global.cpu_threads=") for o in overrides):
        from ppexp.engine.cpu_setup import available_cores

        trial_overrides.append(f"Global.cpu_threads={max(1, available_cores() // args.jobs)}")
    job = TuneJob(args.config, space, storage, name, study_dir, args.trials, metric, args.pruner,
                  args.timeout, list(overrides), trial_overrides)
    return job, study


def enqueue(study, space, groups):
    """--enqueue KEY=VALUE ...: one fixed trial per group (skipped if already in the study)."""
    for group in groups or []:
        params = {}
        for item in group:
            key, value = parse_override(item)
            if key not in space.by_key:
                raise TuneError(f"--enqueue {item}: '{key}' is not a key of {space.path}; "
                                f"keys: {', '.join(space.by_key)}")
            params[key] = value
        study.enqueue_trial(params, skip_if_exists=True)


def run_tune(args, overrides, out=say, argv=None):
    """The whole study from this process (and its --jobs workers). Returns the exit code."""
    job, study = prepare(args, overrides)
    os.makedirs(job.study_dir, exist_ok=True)
    if not args.worker:
        enqueue(study, job.space, args.enqueue)
        out(f"study {job.study_name}: {redact(job.storage.url)}  target {job.trials} trials, metric "
            f"{job.metric} ({args.direction}), sampler {args.sampler}, pruner {args.pruner}, "
            f"{args.jobs} worker(s); trial runs under {job.study_dir}/")
    started = time.time()
    if args.jobs > 1:
        code = _run_local_workers(args.jobs, job, argv, args.seed)
    else:
        run_worker(job, study, out)
        code = 0
    if not args.worker:
        out(summary(study, job.metric, time.time() - started, job))
    return code


def _run_local_workers(jobs, job, argv, seed_base=None):
    """--jobs J: J copies of this command line with --jobs 1 --worker, sharing the storage."""
    if argv is None:
        raise TuneError("--jobs > 1 works from the ppexp command line; from Python start one process per worker")
    argv = _with_one_job(argv) + ["--worker"]
    if "--storage" not in argv:
        argv += ["--storage", job.storage.url]
    if job.trial_overrides:
        argv += ["-o", *job.trial_overrides]
    procs = []
    for i in range(jobs):  # the same seed in every worker would sample the same values: seed + i
        seed = ["--seed", str(seed_base + i)] if seed_base is not None else []
        procs.append(subprocess.Popen([sys.executable, "-m", "ppexp.cli", *argv, *seed]))
    return max(p.wait() for p in procs)


def _with_one_job(argv):
    """argv without --jobs / --seed (and their values), plus --jobs 1."""
    out, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item in ("--jobs", "--seed"):
            skip = True
        elif not item.startswith(("--jobs=", "--seed=")):
            out.append(item)
    return out + ["--jobs", "1"]


def summary(study, metric, seconds, job=None):
    optuna = import_optuna()
    trials = study.get_trials(deepcopy=False)
    lines = [f"study {study.study_name}: {len(trials)} trials ({state_counts(trials)}); this run {seconds:.1f} s"]
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    if complete:
        best = study.best_trial
        params = " ".join(f"{k}={v}" for k, v in best.params.items())
        lines.append(f"best: trial {best.number}  {metric} {best.value:.4f}  {params}")
        lines.append(f"  run dir: {best.user_attrs.get('trial_dir', '?')}")
    else:
        lines.append("no trial completed: see the FAIL messages above (and each trial's stdout.log)")
    where = ""
    if job is not None and job.storage.url != default_storage(job.study_dir):
        where = f" --storage {redact(job.storage.url)}"
    elif job is not None and job.study_dir != study_paths(study.study_name)[0]:
        where = f" --out {job.study_dir}"
    lines.append(f"report: ppexp tune --report {study.study_name}{where}")
    return "\n".join(lines)
