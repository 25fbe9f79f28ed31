"""Collect every action of a reset, with its reason, before anything is touched.

``build_plan(config_path, ResetOptions)`` reads only. Actions:
- ``archive`` / ``delete``: a previous run's output (or a cache file) in save_model_dir;
- ``rewrite``: a label file or the config, in place, with a backup in the archive;
- ``write``: a new file (the config's reset copy, env.json).
Paths that a rule protects are listed under ``refused`` with the rule.
"""
import copy
import datetime
import hashlib
import os
from dataclasses import dataclass, field

from ppexp.config import get_config, load_config, parse_yaml, validate_config
from ppexp.config_defaults import dataset_files, dict_path
from ppexp.experiments.reset import canonical
from ppexp.experiments.reset.config_edit import edited_config_text, reset_copy_path
from ppexp.engine.env_info import ENV_FILE, collect_env, env_json_bytes, read_env_json, same_env
from ppexp.engine.written import written_by_ppexp
from ppexp.experiments.reset.outputs import CACHE_MARKER, find_caches, scan_outputs
from ppexp.experiments.reset.safety import Guard, inside, real_parent
from ppexp.utils.character import CharacterDict


@dataclass
class ResetOptions:
    dry_run: bool = False
    purge: bool = False
    keep_best: bool = False
    labels_from: str = None
    in_place: bool = False


@dataclass
class Action:
    kind: str                # archive / delete / rewrite / write
    path: str
    reason: str
    group: str               # outputs / caches / labels / config / env
    data: bytes = None       # rewrite / write: the new content
    role: str = ""           # rewrite: 'label' or 'config'


@dataclass
class Plan:
    config_path: str
    guard: Guard
    options: ResetOptions
    actions: list = field(default_factory=list)
    refused: list = field(default_factory=list)     # (path, reason)
    left: list = field(default_factory=list)        # (path, reason): not ours, left alone
    kept: list = field(default_factory=list)        # (path, reason): ours, kept on purpose
    warnings: list = field(default_factory=list)
    fatal: list = field(default_factory=list)
    train_config: str = None                        # the config to train with after the reset
    archive_dir: str = None

    def by_group(self, group):
        return [a for a in self.actions if a.group == group]

    @property
    def needs_archive(self):
        gone = {a.path for a in self.actions if a.kind in ("archive", "delete")}
        return any(a.kind in ("archive", "rewrite") or (a.kind == "write" and os.path.lexists(a.path)
                                                        and a.path not in gone) for a in self.actions)


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def _rel(path):
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


# ---------------------------------------------------------------- outputs and caches
def _plan_outputs(plan, glob):
    guard, opts = plan.guard, plan.options
    outputs, left = scan_outputs(guard.save_dir, glob, opts.keep_best)
    plan.left += left
    for out in outputs:
        if os.path.basename(out.path) == ENV_FILE:
            continue                            # decided in _plan_env
        if out.keep:
            plan.kept.append((out.path, "kept in place (--keep-best)"))
            continue
        problem = guard.output_problem(out.path)
        if problem:
            plan.refused.append((out.path, problem))
            continue
        plan.actions.append(Action("delete" if opts.purge else "archive", out.path, out.reason, "outputs"))


def _note_outside(plan, glob):
    """Paths the config names outside save_model_dir: say that they are not touched."""
    for key in ("checkpoints", "save_inference_dir"):
        value = glob.get(key)
        if not value or not isinstance(value, str):
            continue
        path = real_parent(value)
        exists = os.path.lexists(path) or os.path.lexists(path + ".pdparams")
        if exists and not inside(path, plan.guard.save_dir):
            plan.left.append((path, f"Global.{key} points outside save_model_dir: never touched"
                              + (" (the config just stops resuming from it)" if key == "checkpoints" else "")))


def _plan_caches(plan):
    guard, moving = plan.guard, [a.path for a in plan.actions if a.group == "outputs"]
    for cache_dir, marker in find_caches(guard.save_dir, guard.label_files):
        if any(inside(cache_dir, m) for m in moving):
            continue
        why = f"ppexp {marker.get('kind', 'cache')} cache built from these label files"
        for rel in list(marker.get("files") or []) + [CACHE_MARKER]:
            path = os.path.join(cache_dir, rel)
            if not os.path.lexists(path):
                continue
            problem = guard.cache_file_problem(path, cache_dir)
            if problem:
                plan.refused.append((path, problem))
            else:
                plan.actions.append(Action("delete" if plan.options.purge else "archive", path, why, "caches"))


# ---------------------------------------------------------------- labels
def _label_sources(config):
    """[(split, file, delimiter)] in config order."""
    return [(sf.split, f, sf.delimiter) for sf in dataset_files(config) for f in sf.label_files]


def _charset(plan, glob):
    try:
        return CharacterDict(dict_path({"Global": glob}), bool(glob.get("use_space_char", False)))
    except (FileNotFoundError, ValueError) as err:
        plan.warnings.append(f"dictionary unreadable ({err}); labels are normalised without it")
        return CharacterDict(None)


def _canonical_contents(plan, sources, charset):
    """{file: (raw, Canonical)}; per split one delimiter (tab unless a file must keep its own)."""
    results = {}
    for split, f, delim in sources:
        if f in results or plan.guard.label_problem(f):
            continue
        results[f] = canonical.canonical_file(f, delim, charset)
    for split in {s for s, _, _ in sources}:
        files = [(f, d) for s, f, d in sources if s == split and f in results]
        if any(results[f][1].delimiter != "\t" for f, _ in files):
            for f, d in files:
                raw = results[f][0]
                results[f] = (raw, canonical.canonicalize(raw, d, charset, out_delimiter=d))
    return results


def _plan_labels(plan, config, glob):
    sources = _label_sources(config)
    charset = _charset(plan, glob)
    for f in dict.fromkeys(f for _, f, _ in sources):
        problem = plan.guard.label_problem(f)
        if problem:
            plan.refused.append((os.path.abspath(f), problem))
    if plan.options.labels_from:
        rows = canonical.read_manifest(plan.options.labels_from)
        usable = [(s, f) for s, f, _ in sources if not plan.guard.label_problem(f)]
        new = canonical.regenerate(rows, usable, charset, plan.options.labels_from)
        for f, data in new.items():
            with open(f, "rb") as fh:
                same = fh.read() == data
            if not same:
                n = data.count(b"\n")
                plan.actions.append(Action("rewrite", os.path.abspath(f), f"regenerated from "
                                           f"{plan.options.labels_from} ({n:,} lines)", "labels", data, "label"))
        return {f: "\t" for f in new}
    results = _canonical_contents(plan, sources, charset)
    for f, (raw, res) in results.items():
        for lineno, why in res.kept[:5]:
            plan.warnings.append(f"{_rel(f)}:{lineno}: kept as is ({why}); fix it by hand or with "
                                 "`ppexp check-labels --fix`")
        if len(res.kept) > 5:
            plan.warnings.append(f"{_rel(f)}: {len(res.kept) - 5} more lines kept as is")
        if res.data != raw:
            what = ", ".join(f"{k}: {v}" for k, v in res.changes.items()) or "canonical form"
            plan.actions.append(Action("rewrite", os.path.abspath(f), what, "labels", res.data, "label"))
    return {f: res.delimiter for f, (_, res) in results.items()}


# ---------------------------------------------------------------- config
def _config_changes(plan, raw, glob, delimiters):
    changes, why = {}, []
    if glob.get("checkpoints"):
        changes[("Global", "checkpoints")] = None
        why.append(f"Global.checkpoints: {glob['checkpoints']} -> null (resuming restores the old optimizer, "
                   "LR schedule, epoch and best metric)")
    for split, f, delim in _label_sources(raw):
        ds = (raw.get(split) or {}).get("dataset") or {}
        key = (split, "dataset", "delimiter")
        if "delimiter" in ds and ds["delimiter"] != "\t" and delimiters.get(f) == "\t" and key not in changes:
            changes[key] = "\t"
            why.append(f"{split}.dataset.delimiter: {ds['delimiter']!r} -> tab (label files rewritten with tabs)")
    return changes, why


def _warn_pretrained(plan, glob):
    pre = glob.get("pretrained_model")
    if not pre or not isinstance(pre, str):
        return
    path = real_parent(pre)
    if inside(path, plan.guard.save_dir):
        moved = any(a.path.startswith(path) for a in plan.actions if a.group == "outputs")
        plan.warnings.append(
            f"Global.pretrained_model {pre} points inside this run's own output dir: the new run would start "
            "from the previous run's weights" + ("; and reset moves that file away (use --keep-best or point "
                                                 "pretrained_model at a copy outside save_model_dir)" if moved else ""))


def _plan_config(plan, text, raw, glob, delimiters):
    changes, why = _config_changes(plan, raw, glob, delimiters)
    plan.train_config = os.path.abspath(plan.config_path)
    if not changes:
        return raw
    new_text = edited_config_text(text, raw, changes, plan.config_path)
    target = plan.train_config if plan.options.in_place else os.path.abspath(reset_copy_path(plan.config_path))
    plan.train_config = target
    problem = plan.guard.write_problem(target)
    if problem:
        plan.refused.append((target, problem))
        return raw
    data = new_text.encode("utf-8")
    old = open(target, "rb").read() if os.path.isfile(target) else None
    if old != data:
        kind = "rewrite" if old is not None else "write"
        plan.actions.append(Action(kind, target, "; ".join(why), "config", data, "config"))
    return parse_yaml(new_text, target)


# ---------------------------------------------------------------- env.json
def _plan_env(plan, config):
    record = collect_env(config, written_by="reset")
    planned = {a.path: a.data for a in plan.actions if a.group == "labels"}
    for rec in record["label_files"]:
        if rec and os.path.abspath(rec["path"]) in planned:
            data = planned[os.path.abspath(rec["path"])]
            rec.update(sha256=_sha(data), bytes=len(data))
    path = os.path.join(plan.guard.save_dir, ENV_FILE)
    if os.path.lexists(path):
        try:
            old = read_env_json(path)
        except (OSError, ValueError):
            old = {}
        if isinstance(old, dict) and old.get("written_by") == "reset" and same_env(old, record):
            return
        if not written_by_ppexp(plan.guard.save_dir, path):
            plan.left.append((path, "not written by ppexp (or changed since); left as is, and no new env.json"))
            return
        problem = plan.guard.output_problem(path)
        if problem:
            plan.refused.append((path, problem))
            return
        plan.actions.append(Action("delete" if plan.options.purge else "archive", path,
                                   "the previous run's environment record", "outputs"))
    plan.actions.append(Action("write", path, "environment of the reset (compare later with `ppexp doctor`)",
                               "env", env_json_bytes(record)))


# ---------------------------------------------------------------- entry point
def archive_dir_for(guard, now=None):
    stamp = (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = os.path.join(guard.archive_root, f"{guard.run_name}-{stamp}")
    path, n = base, 2
    while os.path.lexists(path):
        path, n = f"{base}-{n}", n + 1
    return path


def build_plan(config_path, options=None):
    """Plan the reset of the run configured by ``config_path`` (reads only)."""
    options = options or ResetOptions()
    config, _ = get_config(config_path)
    raw = load_config(config_path)
    with open(config_path, "rb") as f:
        text = f.read().decode("utf-8-sig")
    glob = config.get("Global") or {}
    guard = Guard(config, config_path, extra_writable=[reset_copy_path(config_path)])
    plan = Plan(config_path, guard, options)
    plan.fatal = guard.fatal_problems()
    if plan.fatal:
        return plan
    _plan_outputs(plan, glob)
    _note_outside(plan, glob)
    _plan_caches(plan)
    delimiters = _plan_labels(plan, config, glob)
    new_raw = _plan_config(plan, text, raw, glob, delimiters)
    _warn_pretrained(plan, glob)
    _plan_env(plan, _coerced(new_raw))
    if plan.needs_archive:
        plan.archive_dir = archive_dir_for(guard)
    return plan


def _coerced(raw):
    cfg = copy.deepcopy(raw)
    validate_config(cfg)
    return cfg
