"""Value formatting and Markdown / aligned-text tables shared by diff, compare and report."""
import json
import math

MISSING_TEXT = "—"


def fmt_value(value):
    """YAML-like short text: true/false/null, '1e-5' not '1e-05', lists in brackets."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value == int(value) and abs(value) < 1e15:
            return str(int(value)) if abs(value) >= 1 else ("0" if value == 0 else format(value, ".6g"))
        text = format(value, ".6g")
        if "e" in text:
            mant, exp = text.split("e")
            text = f"{mant}e{int(exp)}"
        return text
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {fmt_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def fmt_num(value, digits=4):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING_TEXT
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{value:.{digits}f}"


def fmt_duration(seconds):
    if seconds is None:
        return MISSING_TEXT
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}"


def _md_cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(headers, rows):
    lines = ["| " + " | ".join(_md_cell(h) for h in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(headers, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)] if rows else [len(h) for h in headers]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*(str(c) for c in row)) for row in rows]
    return "\n".join(line.rstrip() for line in out)


def render(headers, rows, fmt, records=None):
    """``fmt`` in md|text|json; json dumps ``records`` (default: rows as dicts)."""
    if fmt == "json":
        data = records if records is not None else [dict(zip(headers, row)) for row in rows]
        return json.dumps(data, indent=2, ensure_ascii=False, default=_json_default)
    if fmt == "md":
        return markdown_table(headers, rows)
    return text_table(headers, rows)


def _json_default(obj):
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)
