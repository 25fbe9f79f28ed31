"""Checkpoints in PaddleOCR's layout, written atomically, read safely.

A checkpoint ``<dir>/<prefix>`` is three files: ``.pdparams`` (model),
``.pdopt`` (optimizer + LR scheduler), ``.states`` (pickle protocol 2:
best_model_dict, epoch, global_step, plus ppexp's resume extras).
Optimizer accumulators are stored under upstream's names ``<parameter name>_<accumulator>_0``
(what upstream's trainer writes and expects in a fresh process), whatever suffix paddle's
name counter gave them in this process; loading matches them by ``<parameter name>_<accumulator>``.
All three are written to temporary names, fsync'ed, then renamed, the
``.states`` file last, so a crash leaves the previous set or the new one.
"""
import hashlib
import logging
import os
import pickle
import re

import numpy as np
import paddle
from paddle.optimizer.lr import LRScheduler

from ppexp.engine.safe_pickle import CheckpointError, safe_load
from ppexp.errors import UserError

logger = logging.getLogger("ppexp")
STRUCT_KEY = "StructuredToParameterName@@"
_COUNTER_SUFFIX = re.compile(r"_\d+$")
TMP_PATTERN = re.compile(r"^.+\.(pdparams|pdopt|states)\.tmp\d+$")


class CheckpointSaveError(UserError, RuntimeError):
    """A checkpoint could not be written (disk full, read-only directory); the message says what to do."""


def _to_numpy_tree(obj):
    if isinstance(obj, paddle.Tensor):
        return obj.numpy()
    if isinstance(obj, dict):
        return {k: _to_numpy_tree(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_numpy_tree(v) for v in obj)
    return obj


def _write_atomic(path, payload, protocol):
    """Pickle to ``path.tmpPID`` and fsync; returns (tmp path, sha256 of the bytes)."""
    data = pickle.dumps(payload, protocol=protocol)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return tmp, hashlib.sha256(data).hexdigest()


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


EXTS = (".pdparams", ".pdopt", ".states")


def _keep_backup(base):
    """Hard-link the current complete set to ``<prefix>.bak.*`` while the new one is renamed in."""
    if not all(os.path.exists(base + ext) for ext in EXTS):
        return False
    for ext in EXTS:
        bak = base + ".bak" + ext
        if os.path.exists(bak):
            os.remove(bak)
        os.link(base + ext, bak)
    return True


def _accumulators_by_base(optimizer):
    """{'<parameter name>_<accumulator>': accumulator tensor name} of the optimizer's accumulators."""
    return {f"{pname}_{acc}": var.name
            for acc, per_param in getattr(optimizer, "_accumulators", {}).items()
            for pname, var in per_param.items()}


def optimizer_state(optimizer):
    """``optimizer.state_dict()`` with accumulators renamed to ``<parameter name>_<accumulator>_0``."""
    rename = {actual: base + "_0" for base, actual in _accumulators_by_base(optimizer).items()}
    return {rename.get(k, k): v for k, v in optimizer.state_dict().items()}


def save_checkpoint(directory, prefix, model, optimizer, states):
    """Write ``<directory>/<prefix>.{pdparams,pdopt,states}`` as one set.

    Each file goes to a temporary name and is fsync'ed; the previous set is kept as
    ``<prefix>.bak.*`` until the new ``.states`` (renamed last, carrying the sha256 of its
    two partners) is in place. A kill at any moment leaves the new set or the backup
    loadable; ``load_checkpoint`` tells a torn set by the hashes and falls back.
    """
    base = os.path.join(directory, prefix)
    params = _to_numpy_tree(model.state_dict())
    params[STRUCT_KEY] = {k: v.name for k, v in model.state_dict().items()}
    opt_state = _to_numpy_tree(optimizer_state(optimizer)) if optimizer is not None else {}
    try:
        os.makedirs(directory, exist_ok=True)
        tmp_params, sha_params = _write_atomic(base + ".pdparams", params, 4)
        tmp_opt, sha_opt = _write_atomic(base + ".pdopt", opt_state, 4)
        states = dict(states, checkpoint_sha256={"pdparams": sha_params, "pdopt": sha_opt})
        tmp_states, _ = _write_atomic(base + ".states", states, 2)
    except OSError as err:
        remove_stale_temps(directory, own_only=True)
        raise CheckpointSaveError(
            f"cannot write checkpoint {base}.pdparams/.pdopt/.states ({err.strerror or err}); free disk space or "
            f"make {directory} writable (or set Global.save_model_dir elsewhere): the previous checkpoint "
            "set is untouched") from err
    backed_up = _keep_backup(base)
    for tmp, final in ((tmp_params, base + ".pdparams"), (tmp_opt, base + ".pdopt"), (tmp_states, base + ".states")):
        os.replace(tmp, final)
    _fsync_dir(directory)
    if backed_up:
        for ext in EXTS:
            os.remove(base + ".bak" + ext)
    return base


def remove_stale_temps(directory, own_only=False):
    """Delete the temporary files of interrupted saves (``<name>.<ext>.tmp<pid>``) in ``directory``
    and its best_model/; ``own_only``: only this process's. Returns the paths removed."""
    removed = []
    for folder in (directory, os.path.join(directory, "best_model")):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            path = os.path.join(folder, name)
            if TMP_PATTERN.match(name) and (not own_only or name.endswith(f".tmp{os.getpid()}")) \
                    and os.path.isfile(path) and not os.path.islink(path):
                try:
                    os.remove(path)
                    removed.append(path)
                except OSError:
                    pass
    return removed


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def set_status(prefix):
    """'ok', 'unhashed' (upstream or older ppexp: nothing to check), 'incomplete', 'unreadable'
    or 'mismatch' (the .states hashes do not match its partners)."""
    if not all(os.path.exists(prefix + ext) for ext in EXTS):
        return "incomplete"
    try:
        states = safe_load(prefix + ".states")
    except Exception:  # truncated or foreign: not a usable set
        return "unreadable"
    hashes = states.get("checkpoint_sha256")
    if not hashes:
        return "unhashed"
    same = hashes.get("pdparams") == _sha256(prefix + ".pdparams") and \
        hashes.get("pdopt") == _sha256(prefix + ".pdopt")
    return "ok" if same else "mismatch"


def verify_set(prefix):
    """True when the three files exist and the .states hashes match (or predate hashing)."""
    return set_status(prefix) in ("ok", "unhashed")


def resolve_checkpoint(prefix, allow_unverified=False):
    """The prefix to load: ``prefix`` itself, or its ``.bak`` set when a save was interrupted.
    A set whose hashes do not match, with no intact backup, is refused unless ``allow_unverified``."""
    status = set_status(prefix)
    if status in ("ok", "unhashed"):
        return prefix
    if verify_set(prefix + ".bak"):
        logger.warning("%s: the last save was interrupted (files do not match); loading the previous "
                       "checkpoint %s.bak.*", prefix, prefix)
        return prefix + ".bak"
    if status == "mismatch":
        if not allow_unverified:
            raise CheckpointError(
                f"{prefix}.pdparams/.pdopt do not match the sha256 recorded in {prefix}.states (a torn save or "
                "edited files) and there is no intact backup; resume from another checkpoint, or set "
                "Global.load_unverified_checkpoint: true to load it anyway")
        logger.warning("%s: files do not match their recorded hashes; loading anyway "
                       "(Global.load_unverified_checkpoint: true)", prefix)
    return prefix


def normalize_prefix(path):
    for ext in (".pdparams", ".pdopt", ".states"):
        if path.endswith(ext):
            return path[: -len(ext)]
    return path


def load_params_into(model, path, strict_shapes=False):
    """Load a .pdparams into ``model``; mismatched/missing keys are reported, not hidden.

    Returns the list of warnings issued.
    """
    params = safe_load(path)
    own = model.state_dict()
    new_state, notes = {}, []
    for key, value in own.items():
        if key not in params:
            notes.append(f"{key}: not in {path}; keeps its initial value")
            continue
        src = np.asarray(params[key])
        if list(src.shape) != list(value.shape):
            notes.append(f"{key}: shape {list(src.shape)} in {path} vs {list(value.shape)} in the model "
                         "(a changed dictionary or head size?); keeps its initial value")
            if strict_shapes:
                raise ValueError(notes[-1])
            continue
        new_state[key] = src.astype(str(value.dtype).replace("paddle.", ""), copy=False)
    unused = [k for k in params if k not in own and k != STRUCT_KEY]
    if unused:
        notes.append(f"{len(unused)} keys in {path} are not used by the model (e.g. {unused[:3]})")
    model.set_state_dict(new_state)
    for note in notes:
        logger.warning(note)
    return notes


def _remap_optimizer_state(opt_state, saved_names, model):
    """Rename accumulators saved under other parameter names (another process or build order)."""
    current = {k: v.name for k, v in model.state_dict().items()}
    rename = {saved_names[k]: current[k] for k in current if k in saved_names and saved_names[k] != current[k]}
    if not rename:
        return opt_state
    out = {}
    for key, value in opt_state.items():
        for old, new in rename.items():
            if key.startswith(old + "_"):
                key = new + key[len(old):]
                break
        out[key] = value
    return out


def _create_accumulators(optimizer):
    """Create the accumulators now (paddle makes them at the first step) to learn their names."""
    params = []
    for item in optimizer._parameter_list:
        params.extend(item["params"] if isinstance(item, dict) else [item])
    block = paddle.static.default_main_program().global_block()
    optimizer._create_accumulators(block, [p for p in params if not p.stop_gradient])


def _match_accumulators(opt_state, optimizer, path):
    """Rename saved accumulators (any counter suffix) to this optimizer's accumulator names.

    A state without accumulators (saved before the first step) is passed on as it is.
    """
    if not set(opt_state) - {"LR_Scheduler", "master_weights"}:
        return opt_state
    _create_accumulators(optimizer)
    by_base = _accumulators_by_base(optimizer)
    out = {by_base.get(_COUNTER_SUFFIX.sub("", k), k): v for k, v in opt_state.items()}
    missing = sorted(set(by_base.values()) - set(out))
    if missing:
        raise ValueError(
            f"{path}: no state for {len(missing)} of the optimizer's {len(by_base)} accumulators "
            f"(e.g. {missing[:3]}); the checkpoint was written for another Architecture or "
            "Optimizer.name. Resume with the config that wrote it, or load the weights only with "
            "Global.pretrained_model")
    return out


def _position_schedule(opt_state, optimizer, states, path):
    """A .pdopt without LR_Scheduler (upstream's Const LR is a plain float): place the schedule
    at the checkpoint's global_step instead of failing in paddle's set_state_dict."""
    schedule = optimizer._learning_rate
    if "LR_Scheduler" in opt_state or not isinstance(schedule, LRScheduler):
        return opt_state
    step = int(states.get("global_step", 0))
    schedule.step(step)
    logger.info("%s has no LR_Scheduler state (upstream writes none for a Const learning rate): "
                "the schedule continues from global_step %d, lr %g", path, step, schedule.last_lr)
    return dict(opt_state, LR_Scheduler=schedule.state_dict())


def load_checkpoint(prefix, model, optimizer=None, allow_unverified=False):
    """Resume from ``prefix``: model, optimizer (+LR scheduler) and the states dict."""
    prefix = resolve_checkpoint(normalize_prefix(prefix), allow_unverified)
    if not os.path.exists(prefix + ".pdparams"):
        raise FileNotFoundError(
            f"Global.checkpoints: '{prefix}.pdparams' does not exist; point it at a checkpoint prefix "
            "such as ./output/rec/exp/latest, or set it to null to start fresh")
    load_params_into(model, prefix + ".pdparams")
    saved = safe_load(prefix + ".pdparams")
    states = safe_load(prefix + ".states") if os.path.exists(prefix + ".states") else {}
    if optimizer is not None:
        if os.path.exists(prefix + ".pdopt"):
            opt_state = safe_load(prefix + ".pdopt")
            opt_state.pop(STRUCT_KEY, None)
            if STRUCT_KEY in saved:
                opt_state = _remap_optimizer_state(opt_state, saved[STRUCT_KEY], model)
            opt_state = _match_accumulators(opt_state, optimizer, prefix + ".pdopt")
            optimizer.set_state_dict(_position_schedule(opt_state, optimizer, states, prefix + ".pdopt"))
        else:
            logger.warning("%s.pdopt missing: optimizer and LR schedule start fresh", prefix)
    return states
