"""A tune worker: ask the study for a trial, run it as a child process, tell the outcome; repeat
until the study holds ``--trials`` trials (any worker's, any state) or ``--timeout`` has passed.

Several workers (``--jobs J`` here, or ``ppexp tune`` on other machines) share one storage. A trial
counts towards the target from the moment it is asked for; two workers asking at once past the target
put the surplus trial back (WAITING, unrun), so the study never runs more than it was asked to.
"""
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

from ppexp.experiments.tune.space import as_overrides
from ppexp.experiments.tune.study import HEARTBEAT_S, fail_dead_trials, import_optuna, owner_attrs, taken_count


@dataclass
class TuneJob:
    """What one worker needs (also passed to the --jobs child workers on their command line)."""

    config: str
    space: object
    storage: object
    study_name: str
    study_dir: str
    trials: int
    metric: str
    pruner: str = "median"
    timeout: float = None
    overrides: list = field(default_factory=list)
    trial_overrides: list = field(default_factory=list)  # per-trial extras, e.g. cpu_threads under --jobs


def say(line):
    """Progress goes out line by line, also into a pipe or a log file (several workers interleave)."""
    print(line, flush=True)


def trial_dir(job, number):
    return os.path.join(job.study_dir, f"trial_{number:04d}")


def run_worker(job, study, out=say):
    """Run trials until the study is full; returns the list of outcome dicts this worker produced."""
    optuna = import_optuna()
    start, done = time.time(), []
    for number in fail_dead_trials(study):
        out(f"trial {number:>4}  FAIL      its worker died (resumed study); not re-run")
    while taken_count(study) < job.trials:
        if job.timeout and time.time() - start > job.timeout:
            out(f"--timeout {job.timeout:g} s reached: no new trials from this worker")
            break
        trial = study.ask()
        if taken_count(study, before_number=trial.number) >= job.trials:
            study._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.WAITING)
            break  # another worker took the last slot at the same moment
        for key, value in owner_attrs().items():
            study._storage.set_trial_system_attr(trial._trial_id, key, value)
        outcome = run_trial(job, study, trial)
        done.append(outcome)
        out(progress_line(outcome, job.metric))
    return done


def run_trial(job, study, trial):
    """Sample, run the child, record the outcome in the study."""
    optuna = import_optuna()
    TrialState = optuna.trial.TrialState
    tdir = trial_dir(job, trial.number)
    try:
        values = job.space.suggest(trial)
    except Exception as err:  # noqa: BLE001 - e.g. an --enqueue value of the wrong type: this trial fails
        trial.set_user_attr("fail_reason", f"sampling failed: {type(err).__name__}: {err}")
        study.tell(trial, state=TrialState.FAIL)
        return {"number": trial.number, "state": "FAIL", "value": None, "params": {}, "seconds": 0.0,
                "message": f"sampling failed: {err}", "dir": tdir}
    os.makedirs(tdir, exist_ok=True)
    overrides = as_overrides(values)
    all_overrides = list(job.overrides) + list(job.trial_overrides) + overrides + [f"Global.save_model_dir={tdir}"]
    trial.set_user_attr("trial_dir", os.path.abspath(tdir))
    trial.set_user_attr("overrides", overrides)
    started = time.time()
    result = _run_child(job, study, trial, all_overrides, tdir)
    seconds = time.time() - started
    trial.set_user_attr("seconds", round(seconds, 2))
    status, value = result.get("status"), result.get("value")
    if status == "complete" and (value is None or not math.isfinite(value)):
        status, result["error"] = "failed", f"the final {job.metric} is {value}"
    try:
        if status == "complete":
            study.tell(trial, value)
            state = TrialState.COMPLETE
        elif status == "pruned":
            trial.set_user_attr("prune_reason", result.get("message", ""))
            study.tell(trial, state=TrialState.PRUNED)
            state = TrialState.PRUNED
        else:
            trial.set_user_attr("fail_reason", result.get("error") or "unknown failure")
            study.tell(trial, state=TrialState.FAIL)
            state, value = TrialState.FAIL, None
    except Exception as err:  # noqa: BLE001 - e.g. marked failed by another worker meanwhile
        state, result["error"] = TrialState.FAIL, f"could not record the outcome: {err}"
    last = trial.storage.get_trial(trial._trial_id).intermediate_values
    if state == TrialState.PRUNED and last:
        value = last[max(last)]
    return {"number": trial.number, "state": state.name, "value": value, "params": values,
            "seconds": seconds, "message": result.get("error") or result.get("message") or "", "dir": tdir}


def _run_child(job, study, trial, overrides, tdir):
    """Start the trial process, heartbeat while it runs, return its result.json (or a failure)."""
    from ppexp.engine.cpu_setup import _worker_preexec

    result_path = os.path.join(tdir, "result.json")
    if os.path.exists(result_path):
        os.remove(result_path)
    cmd = [sys.executable, "-m", "ppexp.experiments.tune.trial_main", "-c", job.config, "-o", *overrides,
           "--storage", job.storage.url, "--study", job.study_name, "--trial-id", str(trial._trial_id),
           "--pruner", job.pruner, "--metric", job.metric, "--result", result_path]
    with open(os.path.join(tdir, "stdout.log"), "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_worker_preexec)
        try:
            beat = 0.0
            while proc.poll() is None:
                if time.time() - beat >= HEARTBEAT_S:
                    job.storage.record_heartbeat(trial._trial_id)
                    beat = time.time()
                time.sleep(0.2)
        except BaseException:
            proc.terminate()  # Ctrl-C: the run saves 'latest' and stops; the trial is recorded failed
            proc.wait(timeout=60)
            trial.set_user_attr("fail_reason", "interrupted (the tuner was stopped)")
            study.tell(trial, state=import_optuna().trial.TrialState.FAIL)
            raise
    try:
        with open(result_path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"status": "failed", "error": f"the trial process exited with code {proc.returncode} without a "
                                             f"result; see {os.path.join(tdir, 'stdout.log')}: "
                                             + _tail(os.path.join(tdir, "stdout.log"))}


def _tail(path, lines=3):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return " | ".join(line.strip() for line in f.readlines()[-lines:])
    except OSError:
        return ""


def _short(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 24 else text[:21] + "..."


def progress_line(outcome, metric):
    value = outcome["value"]
    shown = f"{metric} {value:.4f}" if isinstance(value, (int, float)) else f"{metric} -"
    params = " ".join(f"{k.split('.')[-1]}={_short(v)}" for k, v in outcome["params"].items())
    line = f"trial {outcome['number']:>4}  {outcome['state']:<8}  {shown:<14} {outcome['seconds']:6.1f}s  {params}"
    if outcome["state"] != "COMPLETE" and outcome["message"]:
        line += f"\n            {outcome['message'][:200]}"
    return line
