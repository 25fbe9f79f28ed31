"""The search space file (space.yml): dotted config keys -> Optuna-style distributions.

    Optimizer.lr.learning_rate: {type: float, low: 1.0e-4, high: 3.0e-2, log: true}
    Train.loader.batch_size_per_card: {type: int, low: 32, high: 256, step: 32}
    Architecture.Neck.hidden_size: {type: categorical, choices: [48, 96]}
    Optimizer.lr:                      # whole values as categories, labelled by the mapping keys
      type: categorical
      choices: {cosine: {name: Cosine, learning_rate: 0.001}, const: {name: Const, learning_rate: 0.001}}
    Architecture.Backbone.scale:       # conditional: only sampled when an earlier key has one of these values
      {type: categorical, choices: [0.35, 0.5], when: {Architecture.Backbone.name: MobileNetV3}}

Each entry becomes one ``-o key=value`` override of the trial's run. Errors name the file, line and key.
No Optuna import here: ``suggest`` receives a trial object and only calls its suggest_* methods.
"""
import difflib
import math

import yaml

from ppexp.config import ConfigError, merge_overrides, parse_yaml, validate_config

FIELDS = {
    "float": {"type", "low", "high", "log", "step", "when"},
    "int": {"type", "low", "high", "log", "step", "when"},
    "categorical": {"type", "choices", "when"},
}
SCALARS = (str, int, float, bool, type(None))


class SpaceError(ConfigError):
    """A problem in the space file; the message names file, line and key."""


class Param:
    """One searched key: its distribution, its line in the file and its condition."""

    def __init__(self, key, spec, where):
        self.key, self.where = key, where
        self.kind = spec.get("type")
        self.when = spec.get("when") or {}
        self.low, self.high = spec.get("low"), spec.get("high")
        self.step, self.log = spec.get("step"), bool(spec.get("log", False))
        self.labels, self.values = [], []
        if self.kind == "categorical":
            self._set_choices(spec.get("choices"))
        else:
            self._check_range()

    def fail(self, message, fix=""):
        raise SpaceError(f"{self.where}: {self.key}: {message}" + (f"; {fix}" if fix else ""))

    def _set_choices(self, choices):
        if isinstance(choices, dict) and choices:
            self.labels, self.values = [str(k) for k in choices], list(choices.values())
        elif isinstance(choices, list) and choices:
            self.values = list(choices)
            if all(isinstance(v, SCALARS) for v in choices):
                self.labels = list(choices)
            else:  # a transform list, an LR block...: Optuna stores a short label, the run gets the value
                self.labels = [f"{i}: {to_yaml(v)}"[:60] for i, v in enumerate(choices)]
        else:
            self.fail("categorical needs 'choices': a non-empty list, or a mapping label -> value",
                      "e.g. {type: categorical, choices: [48, 96]}")
        if len(set(map(repr, self.labels))) != len(self.labels):
            self.fail(f"choices repeat a value: {self.labels}")

    def _check_range(self):
        for name in ("low", "high"):
            value = getattr(self, name)
            if isinstance(value, str):
                try:
                    value = float(value)
                except ValueError:
                    self.fail(f"'{name}' must be a number, got {value!r}")
                setattr(self, name, value)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                self.fail(f"'{name}' must be a finite number, got {value!r}",
                          f"e.g. {{type: {self.kind}, low: 1, high: 10}}")
        if self.kind == "int" and not all(float(v).is_integer() for v in (self.low, self.high)):
            self.fail(f"int range needs whole numbers, got low={self.low} high={self.high}",
                      "use type: float for fractional values")
        if self.low > self.high:
            self.fail(f"'low' ({self.low}) is greater than 'high' ({self.high})", "swap them")
        if self.log and self.low <= 0:
            self.fail(f"log: true needs low > 0, got {self.low}", "raise 'low' or drop log")
        if self.log and self.step is not None:
            self.fail("'step' and 'log: true' cannot be combined (Optuna's rule)", "drop one of them")
        if self.step is not None and (not isinstance(self.step, (int, float)) or self.step <= 0):
            self.fail(f"'step' must be a positive number, got {self.step!r}")

    def active(self, chosen):
        """True when every ``when`` key holds one of its listed values (or labels) in ``chosen``
        ({key: (label, value)})."""
        for key, allowed in self.when.items():
            allowed = allowed if isinstance(allowed, list) else [allowed]
            if key not in chosen or not any(c in allowed for c in chosen[key]):
                return False
        return True

    def suggest(self, trial):
        """Ask ``trial`` for this key: the Optuna value (a label for whole-value categories)."""
        if self.kind == "float":
            return trial.suggest_float(self.key, float(self.low), float(self.high), log=self.log, step=self.step)
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), log=self.log,
                                     step=int(self.step or 1))
        return trial.suggest_categorical(self.key, self.labels)

    def value_of(self, label):
        """The config value of a stored Optuna parameter value."""
        if self.kind != "categorical":
            return label
        return self.values[self.labels.index(label)] if label in self.labels else label

    def grid(self):
        """Finite values for the grid sampler."""
        if self.kind == "categorical":
            return list(self.labels)
        if self.kind == "int":
            return list(range(int(self.low), int(self.high) + 1, int(self.step or 1)))
        if self.step is None:
            self.fail("--sampler grid needs finite values but this float range has no 'step'",
                      "add step: ..., or make it {type: categorical, choices: [...]}")
        count = int(round((self.high - self.low) / self.step)) + 1
        return [self.low + i * self.step for i in range(count)]


class SearchSpace:
    """The parameters of a space file, in file order."""

    def __init__(self, params, path):
        self.params, self.path = params, path
        self.by_key = {p.key: p for p in params}

    def suggest(self, trial):
        """Sample every active parameter; returns {key: config value} in file order."""
        chosen = {}
        for param in self.params:
            if param.active(chosen):
                label = param.suggest(trial)
                chosen[param.key] = (label, param.value_of(label))
        return {key: value for key, (_, value) in chosen.items()}

    def values_of(self, optuna_params):
        """Stored Optuna parameters (labels for whole-value categories) -> config values."""
        return {k: self.by_key[k].value_of(v) if k in self.by_key else v for k, v in optuna_params.items()}

    def grid(self):
        for param in self.params:
            if param.when:
                param.fail("--sampler grid does not support conditional ('when') parameters",
                           "use --sampler tpe or random, or split the space into one file per branch")
        return {p.key: p.grid() for p in self.params}


def to_yaml(value):
    """One-line YAML of a value, as ``-o key=value`` parses it back."""
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 20, allow_unicode=True).strip()
    return text[:-4].strip() if text.endswith("\n...") else text


def as_overrides(values):
    """{key: value} -> ['key=value', ...] (PaddleOCR -o syntax)."""
    return [f"{key}={to_yaml(value)}" for key, value in values.items()]


def _key_lines(text, path):
    """Line (1-based) of each top-level key of the space file."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        raise SpaceError(f"{path}: invalid YAML: {err}") from err
    if node is None or not isinstance(node, yaml.MappingNode):
        raise SpaceError(f"{path}: expected a mapping of dotted config keys to distributions, e.g. "
                         "'Optimizer.lr.learning_rate: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}'")
    return {k.value: k.start_mark.line + 1 for k, _ in node.value}


def load_space(path, config=None):
    """Read and check a space file; with ``config`` also check that every key fits the config."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            text = f.read()
    except OSError as err:
        raise SpaceError(f"space file '{path}' cannot be read ({err.strerror}); pass it with --space FILE") from err
    lines = _key_lines(text, path)
    data = parse_yaml(text, path)
    params = []
    for key, spec in data.items():
        where = f"{path}:{lines.get(key, '?')}"
        params.append(_make_param(str(key), spec, where, params))
    if not params:
        raise SpaceError(f"{path}: the space is empty; add at least one key")
    space = SearchSpace(params, path)
    if config is not None:
        for param in params:
            check_key(param, config)
    return space


def _make_param(key, spec, where, earlier):
    if not isinstance(spec, dict) or "type" not in spec:
        raise SpaceError(f"{where}: {key}: expected a mapping with 'type' (float, int or categorical), got "
                         f"{spec!r}; e.g. {key}: {{type: float, low: 1.0e-4, high: 1.0e-2, log: true}}")
    kind = spec["type"]
    if kind not in FIELDS:
        raise SpaceError(f"{where}: {key}: unknown type {kind!r}; use float, int or categorical")
    unknown = sorted(set(spec) - FIELDS[kind])
    if unknown:
        close = difflib.get_close_matches(unknown[0], FIELDS[kind], n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise SpaceError(f"{where}: {key}: unknown field '{unknown[0]}'{hint}; {kind} takes "
                         f"{', '.join(sorted(FIELDS[kind]))}")
    when = spec.get("when")
    if when is not None:
        if not isinstance(when, dict) or not when:
            raise SpaceError(f"{where}: {key}: 'when' must map an earlier key to its value(s), e.g. "
                             "when: {Architecture.Backbone.name: MobileNetV3}")
        known = {p.key for p in earlier}
        for cond in when:
            if cond not in known:
                raise SpaceError(f"{where}: {key}: 'when' refers to '{cond}', which is not a key defined "
                                 "above it in the space file; move that key before this one")
    return Param(key, spec, where)


def check_key(param, config):
    """The key must lead into the config; a misspelt last part gets a did-you-mean."""
    parts = param.key.split(".")
    node = config
    for i, part in enumerate(parts):
        if isinstance(node, list) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
            node = node[int(part)]
            continue
        if not isinstance(node, dict) or part not in node:
            siblings = [str(k) for k in node] if isinstance(node, dict) else []
            close = difflib.get_close_matches(part, siblings, n=1, cutoff=0.7)
            if close:
                param.fail(f"'{'.'.join(parts[:i + 1])}' is not in the config (did you mean '{close[0]}'?)",
                           "fix the key in the space file")
            if i < len(parts) - 1:
                param.fail(f"'{'.'.join(parts[:i + 1])}' is not in the config, so '{param.key}' cannot be set",
                           "check the key against the config")
            break
        node = node[part]
    sample = param.values[0] if param.kind == "categorical" else param.low
    try:
        merged = merge_overrides(config, [(param.key, sample)])
        warnings = validate_config(merged, "space")
    except ConfigError as err:
        param.fail(str(err).replace("space: ", ""))
    for warning in warnings:
        if param.key in warning:
            param.fail(warning.replace("space: ", ""))
