"""Opening a study on its storage, and the bookkeeping several workers share through it.

Optuna is imported lazily (``pip install -e .[tune]``). A trial belongs to the worker process that
asked for it: its host and pid (with the pid's start time, against pid reuse) are stored on the
trial, so a re-run on the same host marks trials of dead workers failed at once; workers on other
hosts are caught by Optuna's heartbeat (RDB storage) after ``grace`` seconds.
"""
import os
import socket
import time
import warnings

from ppexp.errors import UsageError

HEARTBEAT_S = 10
GRACE_S = 60
OWNER_ATTRS = ("ppexp_host", "ppexp_pid", "ppexp_pid_start")


class TuneError(UsageError):
    """A problem with the tune command's input (storage, study, options); names the fix."""


def import_optuna():
    try:
        import optuna
    except ImportError as err:
        raise TuneError("ppexp tune needs optuna: pip install -e '.[tune]' (or pip install optuna "
                        "'psycopg[binary]' for PostgreSQL storage)") from err
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # ppexp drives heartbeats itself (ask/tell, not Study.optimize) and uses the stable parts only
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
    return optuna


def default_storage(study_dir):
    return "sqlite:///" + os.path.abspath(os.path.join(study_dir, "study.db"))


def storage_url(url):
    """postgresql://... uses psycopg 3 (SQLAlchemy's default driver would be psycopg2)."""
    if url.startswith(("postgresql://", "postgres://")):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            return url  # psycopg2 perhaps; SQLAlchemy says what is missing
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def open_storage(url, heartbeat=True):
    """An Optuna RDB storage with heartbeats (so trials of a vanished machine become failed)."""
    optuna = import_optuna()
    url = storage_url(url)
    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    if url.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(os.path.abspath(url[len("sqlite:///"):])) or ".", exist_ok=True)
    for attempt in range(4):  # workers starting together race to create the tables: retry
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=kwargs,
                                              heartbeat_interval=HEARTBEAT_S if heartbeat else None,
                                              grace_period=GRACE_S if heartbeat else None)
        except Exception as err:  # noqa: BLE001 - driver / connection errors become one clear line
            text = type(err).__name__ + repr(err)
            # the loser of the race sees a unique-key clash (IntegrityError) or, on PostgreSQL, CREATE TABLE
            # of a table the winner just made (DuplicateTable, "relation ... already exists")
            if attempt < 3 and ("IntegrityError" in text or "DuplicateTable" in text or "already exists" in text):
                time.sleep(1 + attempt)
                continue
            raise TuneError(f"cannot open the study storage {redact(url)}: {type(err).__name__}: "
                            f"{str(err).splitlines()[0] if str(err) else ''}; check the URL (sqlite:///path/"
                            "study.db or postgresql://user:password@host:5432/db), that the server runs, and "
                            "that psycopg is installed (pip install -e '.[tune]')") from err


def redact(url):
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        cred, host = rest.rsplit("@", 1)
        return f"{scheme}://{cred.split(':', 1)[0]}:***@{host}"
    return url


def make_sampler(name, space, seed=None):
    optuna = import_optuna()
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=5)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler(space.grid(), seed=seed)
    raise TuneError(f"unknown --sampler {name!r}; use tpe, random or grid")


def make_pruner(name, startup=3):
    optuna = import_optuna()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=startup, n_warmup_steps=0)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner()
    if name == "none":
        return optuna.pruners.NopPruner()
    raise TuneError(f"unknown --pruner {name!r}; use median, hyperband or none")


def open_study(storage, name, direction="maximize", sampler=None, pruner=None, create=True):
    optuna = import_optuna()
    if not create:
        try:
            return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
        except KeyError as err:
            known = [s.study_name for s in optuna.get_all_study_summaries(storage)]
            raise TuneError(f"no study named {name!r} in {redact(storage.url)}; known: "
                            f"{', '.join(known) or 'none'}") from err
    for attempt in range(4):  # two workers creating the same study at once: the loser loads it
        try:
            study = optuna.create_study(storage=storage, study_name=name, direction=direction, sampler=sampler,
                                        pruner=pruner, load_if_exists=True)
            break
        except Exception as err:  # noqa: BLE001 - sqlalchemy IntegrityError under the race
            if attempt == 3 or "Integrity" not in type(err).__name__ + repr(err):
                raise
            time.sleep(1 + attempt)
    stored = study.direction.name.lower()
    if stored != direction:
        raise TuneError(f"study {name!r} already exists and maximizes/minimizes differently ({stored}); "
                        f"pass --direction {stored} or another --study name")
    return study


def _pid_start(pid):
    """Start time of a process (clock ticks since boot, Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner_attrs():
    pid = os.getpid()
    return {"ppexp_host": socket.gethostname(), "ppexp_pid": pid, "ppexp_pid_start": _pid_start(pid)}


def owner_alive(attrs):
    """False only when we can tell: same host, and that pid is gone (or is another process now)."""
    if attrs.get("ppexp_host") != socket.gethostname() or attrs.get("ppexp_pid") is None:
        return True
    pid = int(attrs["ppexp_pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    start = attrs.get("ppexp_pid_start")
    return start is None or _pid_start(pid) == start


def fail_dead_trials(study):
    """Mark RUNNING trials whose worker died failed (same host now; other hosts via heartbeat).
    Returns the numbers of the trials marked failed here."""
    optuna = import_optuna()
    TrialState = optuna.trial.TrialState
    marked = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if owner_alive(trial.system_attrs):
            continue
        reason = (f"worker pid {trial.system_attrs.get('ppexp_pid')} on {trial.system_attrs.get('ppexp_host')} "
                  "died while the trial ran (killed or crashed); marked failed on resume")
        if _fail(study, trial, reason):
            marked.append(trial.number)
    before = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))}
    optuna.storages.fail_stale_trials(study)  # other hosts: no heartbeat for GRACE_S seconds
    marked += [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
               if t.number not in before and t.number not in marked]
    return sorted(marked)


def _fail(study, trial, reason):
    optuna = import_optuna()
    try:
        study._storage.set_trial_user_attr(trial._trial_id, "fail_reason", reason)
        return study._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
    except optuna.exceptions.UpdateFinishedTrialError:
        return False  # another worker got there first


def taken_count(study, before_number=None):
    """Trials that count towards --trials: every trial not WAITING (optionally numbered below one)."""
    optuna = import_optuna()
    states = tuple(s for s in optuna.trial.TrialState if s != optuna.trial.TrialState.WAITING)
    trials = study.get_trials(deepcopy=False, states=states)
    if before_number is not None:
        trials = [t for t in trials if t.number < before_number]
    return len(trials)


def state_counts(trials):
    """'4 complete, 1 pruned, 1 fail' in a fixed order."""
    counts = {}
    for t in trials:
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    order = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")
    return ", ".join(f"{counts[s]} {s.lower()}" for s in order if counts.get(s))
