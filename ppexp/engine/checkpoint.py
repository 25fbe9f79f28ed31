"""Checkpoints in PaddleOCR's layout, written atomically, read safely.

A checkpoint ``<dir>/<prefix>`` is three files: ``.pdparams`` (model),
``.pdopt`` (optimizer + LR scheduler), ``.states`` (pickle protocol 2:
best_model_dict, epoch, global_step, plus ppexp's resume extras).
All three are written to temporary names, fsync'ed, then renamed, the
``.states`` file last, so a crash leaves the previous set or the new one.
"""
import logging
import os
import pickle

import numpy as np
import paddle

from ppexp.engine.safe_pickle import safe_load

logger = logging.getLogger("ppexp")
STRUCT_KEY = "StructuredToParameterName@@"


def _to_numpy_tree(obj):
    if isinstance(obj, paddle.Tensor):
        return obj.numpy()
    if isinstance(obj, dict):
        return {k: _to_numpy_tree(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_numpy_tree(v) for v in obj)
    return obj


def _write_atomic(path, payload, protocol):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        pickle.dump(payload, f, protocol=protocol)
        f.flush()
        os.fsync(f.fileno())
    return tmp


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(directory, prefix, model, optimizer, states):
    """Write ``<directory>/<prefix>.{pdparams,pdopt,states}`` as one set."""
    os.makedirs(directory, exist_ok=True)
    base = os.path.join(directory, prefix)
    params = _to_numpy_tree(model.state_dict())
    params[STRUCT_KEY] = {k: v.name for k, v in model.state_dict().items()}
    opt_state = _to_numpy_tree(optimizer.state_dict()) if optimizer is not None else {}
    staged = [
        (_write_atomic(base + ".pdparams", params, 4), base + ".pdparams"),
        (_write_atomic(base + ".pdopt", opt_state, 4), base + ".pdopt"),
        (_write_atomic(base + ".states", dict(states), 2), base + ".states"),
    ]
    for tmp, final in staged:
        os.replace(tmp, final)
    _fsync_dir(directory)
    return base


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


def load_checkpoint(prefix, model, optimizer=None):
    """Resume from ``prefix``: model, optimizer (+LR scheduler) and the states dict."""
    prefix = normalize_prefix(prefix)
    if not os.path.exists(prefix + ".pdparams"):
        raise FileNotFoundError(
            f"Global.checkpoints: '{prefix}.pdparams' does not exist; point it at a checkpoint prefix "
            "such as ./output/rec/exp/latest, or set it to null to start fresh")
    load_params_into(model, prefix + ".pdparams")
    saved = safe_load(prefix + ".pdparams")
    if optimizer is not None:
        if os.path.exists(prefix + ".pdopt"):
            opt_state = safe_load(prefix + ".pdopt")
            opt_state.pop(STRUCT_KEY, None)
            if STRUCT_KEY in saved:
                opt_state = _remap_optimizer_state(opt_state, saved[STRUCT_KEY], model)
            optimizer.set_state_dict(opt_state)
        else:
            logger.warning("%s.pdopt missing: optimizer and LR schedule start fresh", prefix)
    states = safe_load(prefix + ".states") if os.path.exists(prefix + ".states") else {}
    return states
