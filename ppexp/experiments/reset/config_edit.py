"""The reset copy of a config: ``Global.checkpoints`` null (and a tab delimiter where labels got one).

The YAML text is edited line by line so that comments and layout survive; the
result is parsed again and must equal the intended config, otherwise the config
is written with ``yaml.safe_dump`` instead (comments lost, values exact).
"""
import copy
import os
import re

import yaml

from ppexp.config import parse_yaml

_KEY = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z_][\w.]*)\s*:(?P<rest>.*)$")
HEADER = "# reset by `ppexp reset`: {what}\n"


def reset_copy_path(config_path):
    stem, ext = os.path.splitext(config_path)
    return f"{stem}.reset{ext or '.yml'}"


def _render(value):
    if value is None:
        return ""
    if value == "\t":
        return ' "\\t"'
    return " " + yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).strip().removesuffix("\n...")


def _set_in(config, path, value):
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _edit_lines(text, changes):
    """Replace the scalar value of each dotted key path in ``changes`` (block-style YAML only)."""
    lines = text.split("\n")
    stack = []  # (indent, key)
    pending = dict(changes)
    for i, line in enumerate(lines):
        m = _KEY.match(line)
        if not m or line.lstrip().startswith("#"):
            continue
        indent = len(m.group("indent"))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = tuple(k for _, k in stack) + (m.group("key"),)
        stack.append((indent, m.group("key")))
        if path in pending:
            old = m.group("rest").split(" #")[0].strip()
            comment = f"  # was: {old}" if old else ""
            lines[i] = f"{m.group('indent')}{m.group('key')}:{_render(pending.pop(path))}{comment}"
    return "\n".join(lines), pending


def edited_config_text(text, raw_config, changes, name="<config>"):
    """New YAML text with ``changes`` ({key path tuple: value}) applied; comments kept when possible."""
    expected = copy.deepcopy(raw_config)
    for path, value in changes.items():
        _set_in(expected, path, value)
    what = ", ".join(f"{'.'.join(p)} -> {'null' if v is None else repr(v)}" for p, v in changes.items())
    new_text, missing = _edit_lines(text, changes)
    if not missing:
        try:
            if parse_yaml(new_text, name) == expected:
                return HEADER.format(what=what) + new_text
        except ValueError:
            pass
    dumped = yaml.safe_dump(expected, default_flow_style=False, sort_keys=False, allow_unicode=True)
    return HEADER.format(what=what) + "# (re-written from the parsed config: the original comments are lost)\n" + dumped
