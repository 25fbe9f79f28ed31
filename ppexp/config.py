"""Config loading with PaddleOCR's semantics and the checks upstream lacks.

- ``load_config(path)`` reads YAML with a safe loader: anchors and aliases work,
  ``!!python/...`` tags are refused with the file and line.
- ``merge_overrides(config, ["Global.epoch_num=2", ...])`` applies ``-o`` options:
  values are YAML-parsed, dotted keys go into existing sections (list items by index).
- ``validate_config(config, path)`` coerces ``1e-3``-style strings (PyYAML reads
  them as text) to numbers, raises ``ConfigError`` naming key and file on a wrong
  type, and returns warnings with a did-you-mean for unknown keys.
"""
import copy
import difflib
import os
import re

import yaml

from ppexp.config_schema import SCHEMA, SECTION_KEYS
from ppexp.errors import UsageError


class ConfigError(UsageError):
    """A config problem; the message names the file, key and fix."""


# Bounds on what a config may expand to: nesting depth (PyYAML's composer recurses) and the number
# of nodes once aliases are expanded (a "billion laughs" file is tiny but expands exponentially).
MAX_DEPTH = 64
MAX_NODES = 200_000


class _SafeLoader(yaml.SafeLoader):
    """SafeLoader that reports refused tags with file:line and bounds nesting depth."""

    _depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise ConfigError(f"{mark.name}:{mark.line + 1}: nested more than {MAX_DEPTH} levels deep; "
                                  "a config needs a handful, flatten the file")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _check_expansion(root, name):
    """ConfigError when ``root`` (a composed node graph) is cyclic, nests deeper than MAX_DEPTH or
    expands to more than MAX_NODES nodes through aliases. Sizes are memoised: linear in the graph."""
    sizes, on_path = {}, set()

    def size(node, depth):
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in on_path:
            raise ConfigError(f"{name}:{node.start_mark.line + 1}: an alias refers to its own anchor (a cycle); "
                              "remove the recursive alias")
        if depth > MAX_DEPTH:
            raise ConfigError(f"{name}:{node.start_mark.line + 1}: aliases nest the config more than {MAX_DEPTH} "
                              "levels deep; write the values out or use fewer nested aliases")
        on_path.add(key)
        children = node.value if isinstance(node.value, list) else []
        total = 1
        for child in children:
            for sub in (child if isinstance(child, tuple) else (child,)):
                total += size(sub, depth + 1)
                if total > MAX_NODES:
                    raise ConfigError(f"{name}: aliases expand the config to more than {MAX_NODES:,} values "
                                      "(an alias bomb?); write the values out or use fewer nested aliases")
        on_path.discard(key)
        sizes[key] = total
        return total

    if root is not None:
        size(root, 1)


def _refuse_tag(loader, tag_suffix, node):
    mark = node.start_mark
    raise ConfigError(
        f"{mark.name}:{mark.line + 1}: refusing YAML tag '!!python/{tag_suffix}' "
        "(it would run code); configs may only contain plain values"
    )


_SafeLoader.add_multi_constructor("tag:yaml.org,2002:python/", _refuse_tag)
_SafeLoader.add_multi_constructor("!!python/", _refuse_tag)


def _refuse_unknown(loader, tag_suffix, node):
    mark = node.start_mark
    raise ConfigError(f"{mark.name}:{mark.line + 1}: unsupported YAML tag '{node.tag}'")


_SafeLoader.add_multi_constructor("!", _refuse_unknown)
_SafeLoader.add_multi_constructor("tag:yaml.org,2002:", _refuse_unknown)


def parse_yaml(text, name="<string>"):
    """Parse YAML text safely; errors carry the source name and line."""
    try:
        loader = _SafeLoader(text)
        loader.name = name
        try:
            node = loader.get_single_node()
            _check_expansion(node, name)
            return loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as err:
        raise ConfigError(f"{name}: invalid YAML: {err}") from err


def load_config(path):
    """Load a config file into a dict (safe YAML)."""
    if not os.path.isfile(path):
        raise ConfigError(f"config file '{path}' does not exist (pass it with -c path/to/config.yml)")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 ({err}); re-save the config as UTF-8") from err
    config = parse_yaml(text, path)
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: expected a mapping of sections (Global, Architecture, ...)")
    return config


# ---------------------------------------------------------------- overrides
def parse_override(option):
    """Split ``A.b.c=value`` into (key, YAML-parsed value)."""
    if "=" not in option:
        raise ConfigError(f"-o option '{option}' must look like Section.key=value")
    key, value = option.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"-o option '{option}' has an empty key")
    parsed = parse_yaml(value, f"-o {key}") if value.strip() else None
    return key, parsed


def _descend(node, part, dotted):
    if isinstance(node, list):
        if not part.lstrip("-").isdigit() or not -len(node) <= int(part) < len(node):
            raise ConfigError(f"-o {dotted}: '{part}' is not a valid index into a list of {len(node)}")
        return int(part)
    if not isinstance(node, dict):
        raise ConfigError(f"-o {dotted}: cannot set '{part}' inside a {type(node).__name__}")
    return part


def merge_overrides(config, options):
    """Apply ``-o`` options to a copy of ``config`` (PaddleOCR's merge semantics)."""
    config = copy.deepcopy(config)
    for option in options or []:
        key, value = parse_override(option) if isinstance(option, str) else option
        parts = key.split(".")
        if len(parts) == 1:
            if isinstance(value, dict) and isinstance(config.get(key), dict):
                config[key].update(value)
            else:
                config[key] = value
            continue
        if parts[0] not in config:
            raise ConfigError(
                f"-o {key}: section '{parts[0]}' is not in the config; known: {', '.join(config)}"
            )
        node = config[parts[0]]
        for part in parts[1:-1]:
            idx = _descend(node, part, key)
            if isinstance(node, dict) and (idx not in node or node[idx] is None):
                node[idx] = {}
            node = node[idx]
        last = _descend(node, parts[-1], key)
        node[last] = value
    return config


# ---------------------------------------------------------------- validation
_EXP_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


def coerce_numbers(node):
    """Turn exponent strings such as '1e-3' (PyYAML's blind spot) into floats, in place."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in list(items):
        if isinstance(v, str) and _EXP_NUMBER.match(v.strip()):
            node[k] = float(v)
        elif isinstance(v, (dict, list)):
            coerce_numbers(v)
    return node


def _type_ok(value, expected):
    if value is None:
        return True
    checks = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "list": lambda v: isinstance(v, list),
        "dict": lambda v: isinstance(v, dict),
    }
    return any(checks[t](value) for t in expected.split("|"))


def _suggest(key, known):
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_section(section, values, path, warnings):
    known = SCHEMA.get(section, {})
    for key, value in values.items():
        dotted = f"{section}.{key}"
        if key not in known:
            warnings.append(f"{path}: unknown key '{dotted}'{_suggest(key, list(known))}; it is ignored")
            continue
        if not _type_ok(value, known[key]):
            raise ConfigError(
                f"{path}: '{dotted}' must be {known[key].replace('|', ' or ')}, got {value!r} "
                f"({type(value).__name__})"
            )


def validate_config(config, path="<config>"):
    """Coerce numbers, check types (ConfigError) and return unknown-key warnings."""
    coerce_numbers(config)
    warnings = []
    for section, values in config.items():
        if section not in SECTION_KEYS:
            warnings.append(f"{path}: unknown section '{section}'{_suggest(section, SECTION_KEYS)}")
            continue
        if values is None:
            continue
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: section '{section}' must be a mapping, got {type(values).__name__}")
        flat = {}
        for key, value in values.items():
            if section in ("Train", "Eval") and isinstance(value, dict):
                for sub, sub_value in value.items():
                    flat[f"{key}.{sub}"] = sub_value
            elif section == "Optimizer" and key in ("lr", "regularizer") and isinstance(value, dict):
                for sub, sub_value in value.items():
                    flat[f"{key}.{sub}"] = sub_value
            else:
                flat[key] = value
        _check_section(section, flat, path, warnings)
    return warnings


def get_config(path, overrides=None):
    """Load, apply -o overrides and validate. Returns (config, warnings)."""
    config = merge_overrides(load_config(path), overrides)
    warnings = validate_config(config, path)
    return config, warnings


def dump_config(config, path):
    """Write the merged config (``<save_model_dir>/config.yml``)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(config, f, default_flow_style=False, sort_keys=False, allow_unicode=True)
