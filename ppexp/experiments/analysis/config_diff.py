"""Changed hyper-parameters between two configs, as ``key | A | B`` rows.

- Keys use PaddleOCR's dotted form (``Optimizer.lr.warmup_steps``).
- Defaults are filled in so a key omitted on one side and equal to its default
  there is not a change: for registered parts (backbone, neck, head, optimizer,
  lr schedule, loss, post-process, metric, dataset, transforms) from the
  constructor signature of the class named on that side (only when both sides
  name the same class), and from :data:`ppexp.config_defaults.SECTION_DEFAULTS` for plain sections.
  A missing key with a known default is shown as ``value (default)``.
- ``transforms`` lists are compared by transform name: a change of the sequence
  is one row holding the changed stretch (``RecAug`` -> ``RecAug +
  RandAugment(num_ops=2, magnitude=9)``); the arguments of transforms present on
  both sides are compared key by key (``Train.dataset.transforms.RecAug.aug_prob``).
  A transform argument missing on both sides and taken from ``Global`` (like
  ``CTCLabelEncode.max_text_length``) is not repeated: the Global row says it.
- ``null`` and an absent key are the same; paths compare after normalisation.
"""
import copy
import difflib
import fnmatch
import importlib
import inspect
import os
import pkgutil
import warnings

from ppexp.config_defaults import SECTION_DEFAULTS
from ppexp.experiments.analysis.tables import MISSING_TEXT, fmt_value, render

MISSING = type("Missing", (), {"__repr__": lambda self: "MISSING"})()

# Registered parts: config path -> (package that registers them, module of the registry, registry name).
COMPONENTS = {
    ("Architecture", "Backbone"): ("ppexp.modeling.backbones", "ppexp.modeling.registry", "BACKBONES"),
    ("Architecture", "Neck"): ("ppexp.modeling.necks", "ppexp.modeling.registry", "NECKS"),
    ("Architecture", "Head"): ("ppexp.modeling.heads", "ppexp.modeling.registry", "HEADS"),
    ("Optimizer",): ("ppexp.optimizer", "ppexp.optimizer.registry", "OPTIMIZERS"),
    ("Optimizer", "lr"): ("ppexp.optimizer", "ppexp.optimizer.registry", "LR_SCHEDULES"),
    ("Loss",): ("ppexp.losses", "ppexp.losses.registry", "LOSSES"),
    ("PostProcess",): ("ppexp.postprocess", "ppexp.postprocess", "POSTPROCESS"),
    ("Metric",): ("ppexp.metrics", "ppexp.metrics", "METRICS"),
    ("Train", "dataset"): ("ppexp.data.datasets", "ppexp.data.datasets", "DATASETS"),
    ("Eval", "dataset"): ("ppexp.data.datasets", "ppexp.data.datasets", "DATASETS"),
}
TRANSFORMS = ("ppexp.data.imaug", "ppexp.data.imaug.registry", "TRANSFORMS")
# Arguments builders pass themselves; never defaults worth showing.
_INJECTED = {"self", "in_channels", "out_channels", "epochs", "step_each_epoch", "named_params", "decay",
             "grad_clip", "learning_rate_scheduler", "last_epoch", "global_config", "charset", "mode"}


class Filled:
    """A value taken from a default (note='default') or from Global (note='Global')."""

    def __init__(self, value, note):
        self.value, self.note = value, note


# ---------------------------------------------------------------- defaults
_DEFAULTS_CACHE = {}


def _registry_item(spec, name):
    with warnings.catch_warnings():  # importing paddle may warn about build tools; not the user's business here
        warnings.simplefilter("ignore")
        return _registry_lookup(spec, name)


def _registry_lookup(spec, name):
    package, module, attr = spec
    try:
        registry = getattr(importlib.import_module(module), attr)
        if name not in registry:
            pkg = importlib.import_module(package)
            for info in pkgutil.walk_packages(getattr(pkg, "__path__", []), package + "."):
                if name in registry:
                    break
                try:
                    importlib.import_module(info.name)
                except Exception:  # noqa: BLE001 - a module being written elsewhere must not break diff
                    continue
        return registry.get(name) if name in registry else None
    except Exception:  # noqa: BLE001
        return None


def signature_defaults(obj):
    """Keyword defaults of a class (its __init__ chain, so ``**common`` bases count) or function."""
    defaults = {}
    targets = [c.__dict__["__init__"] for c in inspect.getmro(obj) if "__init__" in c.__dict__] \
        if inspect.isclass(obj) else [obj]
    for fn in targets:
        try:
            params = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            continue
        for p in params:
            if p.default is not p.empty and p.name not in _INJECTED and p.name not in defaults:
                defaults[p.name] = p.default
    return defaults


def component_defaults(spec, name):
    if not isinstance(name, str):
        return {}
    key = (spec, name)
    if key not in _DEFAULTS_CACHE:
        obj = _registry_item(spec, name)
        _DEFAULTS_CACHE[key] = signature_defaults(obj) if obj is not None else {}
    return _DEFAULTS_CACHE[key]


# ---------------------------------------------------------------- comparison
def _norm(key, value):
    if isinstance(value, Filled):
        value = value.value
    if value is MISSING:
        return None
    if key == "ratio_list" and isinstance(value, list) and len(value) == 1:
        return value[0]
    if isinstance(value, str) and (key.endswith("_dir") or key.endswith("_path")) and value:
        return os.path.normpath(value)
    if isinstance(value, list):
        return [_norm("", v) for v in value]
    if isinstance(value, dict):
        return {k: _norm(k, v) for k, v in value.items()}
    return value


def _same(key, a, b):
    na, nb = _norm(key, a), _norm(key, b)
    if isinstance(na, bool) != isinstance(nb, bool):
        return False
    return na == nb


def _cell(value, limit=100):
    if isinstance(value, Filled):
        return f"{fmt_value(value.value)} ({value.note})"
    text = MISSING_TEXT if value is MISSING else fmt_value(value)
    return text if len(text) <= limit else text[:limit - 4] + " ...}"


def _raw(value):
    if isinstance(value, Filled):
        return value.value
    return None if value is MISSING else value


class _Differ:
    def __init__(self, a, b):
        self.rows = []
        self.globals = (a.get("Global") or {}, b.get("Global") or {})

    def row(self, path, a, b):
        self.rows.append({
            "key": ".".join(path), "a": _raw(a), "b": _raw(b), "a_text": _cell(a), "b_text": _cell(b),
            "a_note": a.note if isinstance(a, Filled) else ("absent" if a is MISSING else None),
            "b_note": b.note if isinstance(b, Filled) else ("absent" if b is MISSING else None),
        })

    def walk(self, path, a, b):
        va, vb = _raw(a), _raw(b)
        if isinstance(va, dict) or isinstance(vb, dict):
            if (va is None or isinstance(va, dict)) and (vb is None or isinstance(vb, dict)):
                if (not va) != (not vb) and not isinstance(a, Filled) and not isinstance(b, Filled):
                    return self.row(path, a, b)  # a whole block on one side only: one row
                return self.walk_dict(path, va or {}, vb or {})
        if path[-1] == "transforms" and _is_transform_list(va) and _is_transform_list(vb):
            return self.walk_transforms(path, va or [], vb or [])
        if not _same(path[-1], a, b):
            self.row(path, a, b)

    def walk_dict(self, path, a, b):
        spec = COMPONENTS.get(path)
        table = SECTION_DEFAULTS.get(path, {})
        fill_a, fill_b = dict(table), dict(table)
        name_a, name_b = a.get("name", table.get("name")), b.get("name", table.get("name"))
        if spec is not None:
            if name_a == name_b:
                defaults = component_defaults(spec, name_a)
                fill_a.update(defaults)
                fill_b.update(defaults)
            elif not _same("name", name_a, name_b):
                dflt = Filled(table["name"], "default") if "name" in table else MISSING
                self.row(path + ("name",), a.get("name", dflt), b.get("name", dflt))
        keys = list(a) + [k for k in b if k not in a]
        for key in keys:
            if spec is not None and key == "name":
                if name_a == name_b:
                    self.walk(path + (key,), a.get(key, MISSING), b.get(key, MISSING))
                continue
            va = a[key] if key in a else (Filled(fill_a[key], "default") if key in fill_a else MISSING)
            vb = b[key] if key in b else (Filled(fill_b[key], "default") if key in fill_b else MISSING)
            self.walk(path + (key,), va, vb)

    def walk_transforms(self, path, la, lb):
        items_a, items_b = _transform_items(la), _transform_items(lb)
        names_a, names_b = [n for n, _ in items_a], [n for n, _ in items_b]
        ops = difflib.SequenceMatcher(a=names_a, b=names_b, autojunk=False).get_opcodes()
        if any(tag != "equal" for tag, *_ in ops):
            self.rows.append(_sequence_row(path, items_a, items_b, ops))
        labels_a = _labels(names_a)
        for tag, i1, i2, j1, j2 in ops:
            if tag != "equal":
                continue
            for i, j in zip(range(i1, i2), range(j1, j2)):
                self.walk_transform_args(path + (labels_a[i],), names_a[i], items_a[i][1], items_b[j][1])

    def walk_transform_args(self, path, name, pa, pb):
        defaults = component_defaults(TRANSFORMS, name)
        keys = list(pa) + [k for k in pb if k not in pa]
        for key in keys:
            va, via_a = self._transform_arg(pa, key, defaults, 0)
            vb, via_b = self._transform_arg(pb, key, defaults, 1)
            if via_a and via_b:
                continue  # inherited from Global on both sides: the Global row tells
            self.walk(path + (key,), va, vb)

    def _transform_arg(self, params, key, defaults, side):
        if key in params:
            return params[key], False
        glob = self.globals[side]
        if key in glob or key in SECTION_DEFAULTS[("Global",)]:
            if key in defaults or not defaults:
                value = glob[key] if key in glob else SECTION_DEFAULTS[("Global",)][key]
                return Filled(value, "Global"), True
        if key in defaults:
            return Filled(defaults[key], "default"), False
        return MISSING, False


def _is_transform_list(value):
    return value is None or (isinstance(value, list) and all(
        isinstance(item, dict) and len(item) == 1 or isinstance(item, str) for item in value))


def _transform_items(items):
    out = []
    for item in items:
        if isinstance(item, str):
            out.append((item, {}))
        else:
            (name, params), = item.items()
            out.append((name, dict(params or {})))
    return out


def _labels(names):
    seen, labels = {}, []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        labels.append(name if names.count(name) == 1 else f"{name}#{seen[name]}")
    return labels


def _describe(items, lo, hi, changed, limit=90):
    parts = []
    for k in range(lo, hi):
        name, params = items[k]
        if k in changed and params:
            args = ", ".join(f"{key}={fmt_value(v)}" for key, v in params.items())
            text = f"{name}({args})"
            parts.append(text if len(text) <= limit else text[:limit - 4] + "...)")
        else:
            parts.append(name)
    return " + ".join(parts) if parts else "(none)"


def _sequence_row(path, items_a, items_b, ops):
    """One row for a changed transform sequence: the changed stretch, with one neighbour as context."""
    diff = [op for op in ops if op[0] != "equal"]
    a_lo, a_hi = min(op[1] for op in diff), max(op[2] for op in diff)
    b_lo, b_hi = min(op[3] for op in diff), max(op[4] for op in diff)
    changed_a = {k for op in diff for k in range(op[1], op[2])}
    changed_b = {k for op in diff for k in range(op[3], op[4])}
    if a_lo == a_hi or b_lo == b_hi:  # pure insertion or deletion: show a neighbour for context
        if a_lo > 0 and b_lo > 0:
            a_lo, b_lo = a_lo - 1, b_lo - 1
        elif a_hi < len(items_a) and b_hi < len(items_b):
            a_hi, b_hi = a_hi + 1, b_hi + 1
    return {"key": ".".join(path), "a": [n for n, _ in items_a], "b": [n for n, _ in items_b],
            "a_text": _describe(items_a, a_lo, a_hi, changed_a), "b_text": _describe(items_b, b_lo, b_hi, changed_b),
            "a_note": None, "b_note": None}


# ---------------------------------------------------------------- API
def _prepare(config):
    from ppexp.config import coerce_numbers

    return coerce_numbers(copy.deepcopy(config or {}))


def diff_configs(a, b, ignore=()):
    """Rows ``{key, a, b, a_text, b_text, a_note, b_note}`` of what differs between two config dicts.

    ``ignore``: glob patterns of dotted keys to leave out (``Global.save_*``).
    """
    a, b = _prepare(a), _prepare(b)
    differ = _Differ(a, b)
    for section in list(a) + [s for s in b if s not in a]:
        differ.walk((section,), a.get(section, MISSING), b.get(section, MISSING))
    return [r for r in differ.rows if not any(fnmatch.fnmatchcase(r["key"], p) for p in ignore or ())]


def load_for_diff(path):
    """A config file, or the ``config.yml`` of a run directory."""
    from ppexp.config import load_config

    if os.path.isdir(path):
        path = os.path.join(path, "config.yml")
    return load_config(path)


def format_diff(rows, fmt="md", names=("A", "B")):
    headers = ["key", names[0], names[1]]
    table = [[r["key"], r["a_text"], r["b_text"]] for r in rows]
    if fmt == "json":
        return render(headers, table, fmt, records=rows)
    if not rows and fmt != "json":
        return "(no differences)"
    return render(headers, table, fmt)
