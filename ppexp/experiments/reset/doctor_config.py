"""`ppexp doctor -c cfg.yml`: config sanity checks (see doctor.py for the environment ones)."""
import math
import os

from ppexp.config import ConfigError, get_config
from ppexp.config_defaults import dataset_files, eval_batch_step, global_value, save_model_dir
from ppexp.data.label_lines import image_path_of, read_label_lines
from ppexp.data.synth_sets import foreign_synth_set
from ppexp.experiments.reset.checks import ERROR, OK, WARNING, Check
from ppexp.engine.env_info import ENV_FILE, collect_env, compare_env, read_env_json
from ppexp.experiments.reset.safety import inside, real_parent

SAMPLE_IMAGES = 50


def load_for_doctor(path, overrides=None):
    """(config or None, [Check]) -- a config that does not load is an error, unknown keys a warning."""
    try:
        config, warnings = get_config(path, overrides)
    except ConfigError as err:
        return None, [Check("config", ERROR, str(err), "fix the YAML / key named above")]
    checks = [Check("config", OK, f"{path} loads")]
    if warnings:
        more = f" (+{len(warnings) - 3} more)" if len(warnings) > 3 else ""
        checks.append(Check("config keys", WARNING, "; ".join(warnings[:3]) + more,
                            "fix the spelling (unknown keys are ignored, so the setting has no effect)"))
    return config, checks


def check_dictionary(config):
    from ppexp.utils.character import CharacterDict

    g = config.get("Global") or {}
    path = g.get("character_dict_path")
    if not path:
        return Check("dictionary", OK, "none: built-in 0-9a-z, labels lower-cased")
    try:
        cs = CharacterDict(path, g.get("use_space_char", False))
    except (FileNotFoundError, ValueError) as err:
        return Check("dictionary", ERROR, str(err), "point Global.character_dict_path at a UTF-8 file, one char a line")
    dup = len(cs.characters) - len(set(cs.characters))
    empty = sum(1 for c in cs.characters if c == "")
    if dup or empty:
        return Check("dictionary", WARNING, f"{path}: {len(cs.characters)} entries, {dup} duplicate(s), "
                     f"{empty} empty line(s)", "run `ppexp check-labels -c` for the details and remove them")
    return Check("dictionary", OK, f"{path}: {len(cs.characters)} characters")


def _label_file_state(path, delimiter, data_dir):
    """(non-blank lines, format problems, missing images among the first SAMPLE_IMAGES)."""
    parsed = read_label_lines(path, delimiter)
    problems = [name for name, found in (("BOM", parsed.bom), ("CRLF", parsed.crlf), ("not UTF-8", parsed.not_utf8))
                if found]
    if any(ln.malformed for ln in parsed.lines[:200]):
        problems.append(f"lines without the {'TAB' if delimiter == chr(9) else repr(delimiter)} delimiter")
    missing = 0
    for ln in parsed.lines[:SAMPLE_IMAGES]:
        img = image_path_of(ln.text, delimiter)
        if img and not os.path.exists(os.path.join(data_dir or "", img)):
            missing += 1
    return len(parsed.lines), problems, missing


def check_datasets(config):
    """([Check], number of training lines or None)."""
    checks, n_train = [], None
    for sf in dataset_files(config):
        split, files = sf.split, sf.label_files
        data_dir = (sf.data_dirs or [""])[0]
        for d in [d for d in sf.data_dirs if d and not os.path.isdir(d)]:
            checks.append(Check(f"{split} data", ERROR, f"{split}.dataset.data_dir '{d}' does not exist",
                                f"fix {split}.dataset.data_dir"))
        if sf.is_lmdb:
            continue
        total = 0
        for f in files:
            if not os.path.isfile(f):
                checks.append(Check(f"{split} labels", ERROR, f"label file '{f}' does not exist",
                                    f"fix {split}.dataset.label_file_list"))
                continue
            n, problems, missing = _label_file_state(f, sf.delimiter, data_dir)
            total += n
            if problems:
                checks.append(Check(f"{split} labels", WARNING, f"{f}: {', '.join(problems)}",
                                    "`ppexp reset -c CONFIG` rewrites it in canonical form (or `ppexp check-labels --fix`)"))
            if missing:
                checks.append(Check(f"{split} images", ERROR, f"{f}: {missing} of the first {min(n, SAMPLE_IMAGES)} "
                                    f"image paths do not exist under '{data_dir}'",
                                    f"check {split}.dataset.data_dir (paths in the label file are relative to it)"))
            mismatch = foreign_synth_set(f, data_dir)
            if mismatch:
                checks.append(Check(f"{split} labels", WARNING, mismatch.message,
                                    f"{mismatch.fix} ({split}.dataset.data_dir / label_file_list)"))
        if files and not any(c.status == ERROR for c in checks if c.name.startswith(split)):
            checks.append(Check(f"{split} data", OK, f"{len(files)} label file(s), {total:,} lines"))
        if split == "Train":
            n_train = total
    return checks, n_train


def check_eval_schedule(config, n_train):
    from ppexp.engine.controls import eval_schedule

    loader = ((config.get("Train") or {}).get("loader")) or {}
    if not config.get("Eval") or not n_train:
        return Check("eval schedule", OK, "no Eval section or no training lines: nothing to schedule")
    bs = int(loader.get("batch_size_per_card", 1) or 1)
    per_epoch = n_train // bs if loader.get("drop_last", True) else math.ceil(n_train / bs)
    epochs = int(global_value(config, "epoch_num"))
    total = epochs * per_epoch
    try:
        start, interval = eval_schedule(eval_batch_step(config))
    except ValueError as err:
        return Check("eval schedule", ERROR, str(err), "set Global.eval_batch_step: [0, N]")
    first = start + interval
    if first > total:
        return Check("eval schedule", ERROR, f"evaluation never runs: first at step {first}, but training has "
                     f"{total} steps ({epochs} epochs x {per_epoch} = {n_train:,} lines / batch {bs})",
                     f"-o Global.eval_batch_step=[0,{max(1, per_epoch)}] (once per epoch)")
    n_eval = (total - start) // interval
    return Check("eval schedule", OK, f"{n_eval} evaluation(s) over {total} steps (every {interval} after step {start})")


def _stale_reasons(prefix, config, save_dir):
    from ppexp.config import ConfigError, load_config
    from ppexp.engine.safe_pickle import safe_load

    reasons, g = [], config.get("Global") or {}
    ckpt_dir = os.path.dirname(real_parent(prefix))
    if not inside(ckpt_dir, save_dir):
        reasons.append(f"it belongs to another run ({ckpt_dir}): its optimizer state, LR schedule position and "
                       "epoch carry over into this one")
    if os.path.exists(prefix + ".states"):
        try:
            states = safe_load(prefix + ".states")
            if int(states.get("epoch", 0)) >= int(global_value(config, "epoch_num")):
                reasons.append(f"it is at epoch {states.get('epoch')} >= epoch_num {g.get('epoch_num')}: "
                               "training would stop at once")
        except Exception as err:  # noqa: BLE001
            reasons.append(f"its .states cannot be read ({err})")
    saved = os.path.join(ckpt_dir, "config.yml")
    if os.path.isfile(saved):
        try:
            old = load_config(saved)   # bounded: a hostile saved config cannot hang doctor
        except ConfigError as err:
            old = {}
            reasons.append(f"its saved config cannot be read ({err})")
        for key in ("Architecture",):
            if old.get(key) != config.get(key):
                reasons.append(f"its run used a different {key} (see `ppexp diff {saved} CONFIG`)")
        if (old.get("Global") or {}).get("character_dict_path") != g.get("character_dict_path"):
            reasons.append("its run used another character_dict_path")
    mtime = os.path.getmtime(prefix + ".pdparams")
    newer = [f for f in _label_files(config) if os.path.isfile(f) and os.path.getmtime(f) > mtime]
    if newer:
        reasons.append(f"label file(s) changed after it was written: {newer[:2]}")
    return reasons


def _label_files(config):
    from ppexp.experiments.reset.safety import dataset_paths
    return dataset_paths(config)[1]


def check_checkpoints(config):
    from ppexp.engine.checkpoint import normalize_prefix

    g = config.get("Global") or {}
    ckpt = g.get("checkpoints")
    if not ckpt:
        return Check("checkpoints", OK, "Global.checkpoints is empty: training starts fresh")
    prefix = normalize_prefix(str(ckpt))
    if not os.path.exists(prefix + ".pdparams"):
        return Check("checkpoints", ERROR, f"Global.checkpoints: '{prefix}.pdparams' does not exist",
                     "set Global.checkpoints to null to start fresh, or to an existing prefix such as .../latest")
    save_dir = os.path.realpath(save_model_dir(config))
    reasons = _stale_reasons(prefix, config, save_dir)
    if reasons:
        return Check("checkpoints", WARNING, f"Global.checkpoints {ckpt} resumes a stale run: " + "; ".join(reasons),
                     "`ppexp reset -c CONFIG` (sets it to null and archives the old outputs), or use "
                     "Global.pretrained_model for weights only")
    return Check("checkpoints", OK, f"resumes {prefix} (same run)")


def check_pretrained(config):
    g = config.get("Global") or {}
    pre = g.get("pretrained_model")
    if not pre:
        return Check("pretrained", OK, "none")
    path = str(pre) if str(pre).endswith(".pdparams") else f"{pre}.pdparams"
    if not os.path.isfile(path):
        return Check("pretrained", ERROR, f"Global.pretrained_model: '{path}' does not exist",
                     "fix the path or set Global.pretrained_model to null")
    if inside(real_parent(path), os.path.realpath(save_model_dir(config))):
        return Check("pretrained", WARNING, f"{path} lies in this run's own output dir: a new run overwrites it",
                     "copy it out of save_model_dir first")
    return Check("pretrained", OK, path)


def check_env_json(config, env_path=None):
    if env_path is None:
        env_path = os.path.join(save_model_dir(config), ENV_FILE)
        if not os.path.isfile(env_path):
            return Check("env.json", OK, f"no {env_path} yet (written when training starts)")
    try:
        old = read_env_json(env_path)
    except (OSError, ValueError) as err:
        return Check("env.json", WARNING, f"{env_path} unreadable ({err})", "delete it; training writes a new one")
    now = collect_env(config or {}, written_by="doctor")
    diffs = compare_env(old, now) if config else [d for d in compare_env(old, now)
                                                   if d[0] not in ("config_sha256", "label_files", "dictionary")]
    if not diffs:
        return Check("env.json", OK, f"{env_path}: the present matches the run's environment")
    short = lambda v: v[:12] if isinstance(v, str) and len(v) == 64 else v  # noqa: E731 - sha256 digests
    text = "; ".join(f"{k}: {short(a)!r} -> {short(b)!r} ({why})" for k, a, b, why in diffs)
    return Check("env.json", WARNING, f"{env_path} differs from the present: {text}",
                 "expected after a deliberate change; otherwise restore the environment the run used")


def config_checks(config, env_path=None):
    data, n_train = check_datasets(config)
    return [check_dictionary(config), *data, check_eval_schedule(config, n_train), check_checkpoints(config),
            check_pretrained(config), check_env_json(config, env_path)]
