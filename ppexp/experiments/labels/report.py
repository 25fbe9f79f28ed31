"""Render a CheckResult as text (console) or as the JSON report (schema version 1)."""
import json

from ppexp.experiments.labels.findings import CATEGORIES, ERROR, EFFECT_ORDER
from ppexp.experiments.labels.label_checks import describe_char

SCHEMA_VERSION = 1
EFFECT_WORDS = {"dropped": "dropped (sample replaced)", "altered": "trained on an altered label",
                "no_gradient": "CTC-infeasible (no gradient)", "degraded": "unusable image"}


def _fmt_delim(d):
    return {"\t": "TAB", " ": "SPACE"}.get(d, repr(d))


def settings_dict(result):
    s = result.settings
    cs = s.charset
    return {
        "config": s.config_path,
        "character_dict_path": s.dict_path,
        "num_classes": cs.num_classes,
        "lowercase_without_dict": cs.lower,
        "use_space_char": s.use_space_char,
        "max_text_length": s.max_text_length,
        "max_examples": s.max_examples,
        "strict": s.strict,
        "backbone": s.backbone,
        "stride": s.stride,
        "images": s.images,
        "det": s.det,
        "sources": [{"split": src.split, "file": src.file, "kind": src.kind, "data_dir": src.data_dir,
                     "delimiter": src.delimiter, "image_shape": list(src.image_shape),
                     "time_steps": s.time_steps_for(src)} for src in s.sources],
    }


def to_json(result):
    """The JSON report as a dict."""
    rep = result.report
    tot = dict(rep.totals)
    effects = rep.effect_breakdown()
    tot.update({"errors": rep.n_errors, "warnings": rep.n_warnings, "affected_samples": _affected(rep),
                **{f"samples_{k}": v for k, v in effects.items()}})
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": "ppexp check-labels",
        "settings": settings_dict(result),
        "totals": tot,
        "counts": {c: rep.counts[c] for c in CATEGORIES if rep.counts.get(c)},
        "counts_by_severity": {c: dict(rep.category_severity[c]) for c in CATEGORIES if rep.counts.get(c)},
        "categories": {c: {"severity": cat.severity, "scope": cat.scope, "effect": cat.effect,
                           "description": cat.title, "fix": cat.fix} for c, cat in CATEGORIES.items()},
        "findings": rep.findings(),
        "omitted_findings": {c: rep.counts[c] - len(rep.examples[c]) for c in CATEGORIES
                             if rep.counts.get(c, 0) > len(rep.examples.get(c, ()))},
        "unknown_chars": rep.sections.get("unknown_chars", []),
        "coverage": rep.sections.get("coverage", {}),
        "length_histogram": {str(k): int(v) for k, v in sorted(result.checker.length_counts.items())},
        "samples_per_split": rep.sections.get("samples_per_split", {}),
        "boxes_per_image": rep.sections.get("boxes_per_image", {}),
        "notes": rep.notes,
        "verdict": verdict(rep),
        "fix": rep.sections.get("fix"),
        "exit_code": result.exit_code,
    }


def write_json(result, path):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(to_json(result), f, ensure_ascii=False, indent=1, default=str)


def _affected(rep):
    """Samples dropped or altered (any error with an effect on what trains)."""
    lines = set()
    for effect in EFFECT_ORDER:
        lines |= rep.effect_lines.get(effect, set())
    return len(lines)


def verdict(rep):
    n, m = _affected(rep), rep.totals["samples"]
    return f"{n:,} of {m:,} samples would be silently dropped or altered by PaddleOCR's pipeline"


# ---------------------------------------------------------------- text
def to_text(result, max_rows=60):
    out = []
    _header(result, out)
    _findings(result.report, out)
    if result.settings.det:
        _boxes(result.report, out)
    else:
        _unknown(result.report, out)
        _coverage(result, out, max_rows)
        _histogram(result, out)
    _summary(result, out)
    return "\n".join(line.rstrip() for line in out)


def _header(result, out):
    if result.settings.det:
        return _det_header(result, out)
    s, cs = result.settings, result.settings.charset
    dict_desc = (f"{s.dict_path} ({len(cs.characters)} classes + blank)" if s.dict_path
                 else "none: built-in 0-9a-z, labels lower-cased")
    out.append("ppexp check-labels" + (f"  (config {s.config_path})" if s.config_path else ""))
    out.append(f"  dictionary      : {dict_desc}, use_space_char={s.use_space_char}")
    out.append(f"  max_text_length : {s.max_text_length}")
    for src in s.sources:
        kind = "LMDB " if src.kind == "lmdb" else ""
        n = sum(pf.n_samples for pf in result.parsed if pf.source.split == src.split and
                (pf.source.file == src.file or src.kind == "lmdb" and pf.source.file.startswith(src.file.rstrip("/"))))
        T = s.time_steps_for(src)
        out.append(f"  {src.split:<6}: {kind}{src.file}  {n:,} samples, data_dir '{src.data_dir}', delimiter "
                   f"{_fmt_delim(src.delimiter)}, image {'x'.join(map(str, src.image_shape))} -> T={T}"
                   + ("" if s.time_steps else f" (width {src.image_shape[2]} // stride {s.stride}"
                                                 + (f", x {s.rows} rows)" if s.rows > 1 else ")")))
    for note in result.report.notes:
        out.append(f"  note: {note}")


def _det_header(result, out):
    s = result.settings
    out.append("ppexp check-labels" + (f"  (config {s.config_path})" if s.config_path else "") + "  detection labels")
    for src in s.sources:
        n = sum(pf.n_samples for pf in result.parsed if pf.source.split == src.split and pf.source.file == src.file)
        out.append(f"  {src.split:<6}: {src.file}  {n:,} samples, data_dir '{src.data_dir}', delimiter "
                   f"{_fmt_delim(src.delimiter)}")
    for note in result.report.notes:
        out.append(f"  note: {note}")


def _boxes(rep, out, width=40):
    hist = rep.sections.get("boxes_per_image") or {}
    if not hist:
        return
    out.append("")
    out.append("Boxes per image")
    peak = max(hist.values())
    for n, count in hist.items():
        out.append(f"  {n:>4} | {'#' * max(1, round(width * count / peak)):<{width}} {count:>9,}"
                   + ("  no boxes: dropped" if n == "0" else ""))


def _findings(rep, out):
    out.append("")
    if not rep.counts:
        out.append("No findings.")
        return
    out.append(f"Findings (up to {rep.max_examples or 'all'} examples per category)")
    order = list(CATEGORIES)
    for cat_name in sorted(rep.counts, key=lambda c: (not rep.category_severity[c].get(ERROR), order.index(c))):
        cat = CATEGORIES[cat_name]
        sev = rep.category_severity[cat_name]
        mix = "ERROR" if sev.get(ERROR) else "warn "
        split = f" ({sev.get(ERROR, 0):,} errors, {sev.get('warning', 0):,} warnings)" if len(sev) > 1 else ""
        out.append(f"  {mix} {cat_name:<24} {rep.counts[cat_name]:>9,}  {cat.title}{split}")
        for f in rep.examples[cat_name]:
            if "line" in f:
                where = f["file"] if f["line"] is None else f"{f['file']}:{f['line']}"
            else:
                where = f"{f['file']}:{f.get('dict_line') or '-'}"
            text = f"  {f['text']!r}" if f.get("text") is not None and cat.scope != "dict" else ""
            out.append(f"        {where}{text}  {f['message']}")
        shown = len(rep.examples[cat_name])
        if shown < rep.counts[cat_name]:
            out.append(f"        ... {rep.counts[cat_name] - shown:,} more (--max-examples 0 or --json for all)")
        out.append(f"        fix: {cat.fix}")


def _unknown(rep, out):
    rows = rep.sections.get("unknown_chars") or []
    if not rows:
        return
    out.append("")
    out.append(f"Label characters not in the dictionary ({len(rows)})")
    out.append(f"  {'char':<8}{'code point':<12}{'count':>9}  {'name':<36} first lines")
    for r in rows:
        shown = describe_char(r["char"]).split(" U+")[0]
        out.append(f"  {shown:<8}{r['codepoint']:<12}{r['count']:>9,}  {r['name'][:36]:<36} {', '.join(r['lines'][:3])}")


def _coverage(result, out, max_rows):
    cov = result.report.sections.get("coverage") or {}
    counts = cov.get("counts", {})
    cs = result.settings.charset
    out.append("")
    out.append(f"Character coverage: {cov.get('classes_used', 0)} of {cov.get('dictionary_classes', 0)} dictionary "
               f"classes used; {len(cov.get('unused', []))} unused; "
               f"{len(result.report.sections.get('unknown_chars') or [])} label characters not in the dictionary")
    items = list(counts.items())
    if len(items) > max_rows:
        half = max_rows // 2
        items = items[:half] + [("...", None)] + items[-half:]
    cells = []
    for c, n in items:
        if n is None:
            cells.append("   ...")
            continue
        mark = "" if c in cs else " !"
        shown = describe_char(c).split(" U+")[0]
        cells.append(f"{shown:>4} U+{ord(c):04X} {n:>9,}{mark:<2}")
    for k in range(0, len(cells), 4):
        out.append("  " + "   ".join(cells[k:k + 4]))
    if any(c not in cs for c in counts):
        out.append("  (! = not in the dictionary)")
    if cov.get("unused"):
        unused = cov["unused"]
        out.append("  never used: " + " ".join(unused[:80]) + (" ..." if len(unused) > 80 else ""))


def _histogram(result, out, width=40):
    hist = result.checker.length_counts
    s = result.settings
    if not hist:
        return
    Ts = sorted({s.time_steps_for(src) for src in s.sources})
    out.append("")
    out.append(f"Label length (as upstream counts it) vs max_text_length={s.max_text_length}, "
               f"CTC time steps T={'/'.join(map(str, Ts))}")
    peak = max(hist.values())
    marked = False
    for length in sorted(hist):
        if length > s.max_text_length and not marked:
            out.append(f"  {'':>4} -------- max_text_length={s.max_text_length}: longer labels are dropped --------")
            marked = True
        n = hist[length]
        bar = "#" * max(1, round(width * n / peak))
        flag = "  dropped" if length > s.max_text_length else ("  empty: dropped" if length == 0 else "")
        out.append(f"  {length:>4} | {bar:<{width}} {n:>9,}{flag}")


def _summary(result, out):
    rep = result.report
    out.append("")
    tot = rep.totals
    out.append(f"Totals: {tot['samples']:,} samples in {tot['lines']:,} lines"
               + (f", {tot['images_checked']:,} images decoded" if result.settings.images else ", images not checked")
               + f"; {rep.n_errors:,} errors, {rep.n_warnings:,} warnings")
    effects = rep.effect_breakdown()
    parts = [f"{effects[e]:,} {EFFECT_WORDS[e]}" for e in EFFECT_ORDER if effects.get(e)]
    out.append("VERDICT: " + verdict(rep) + (f" ({', '.join(parts)})" if parts else ""))
    other = rep.affected_samples() - _affected(rep)
    if other:
        out.append(f"  plus {other:,} sample{'s' if other != 1 else ''} with other errors (e.g. Train/Eval leakage)")
    code = result.exit_code
    why = "errors found" if rep.n_errors else ("warnings with --strict" if code else "clean")
    out.append(f"exit code {code} ({why})")
