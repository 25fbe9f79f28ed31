"""--fix: write cleaned label files that a second check run accepts.

Per line: undecodable bytes re-read in the legacy codec when every bad line of the
file decodes in it (else dropped), BOM and CRLF removed, blank lines dropped,
a whitespace delimiter repaired when unambiguous, empty extra columns removed,
path and label stripped, labels NFC-normalised with zero-width / control
characters removed and full-width digits/letters mapped to half-width when only
those are in the dictionary, exact repeats removed. The result is then checked
with the same checks (images from the first run's cache) and every line still in
error is dropped, until none is left. Each dropped line is listed with its reason.
"""
import os
import unicodedata
from dataclasses import replace

from ppexp.experiments.labels.checker import check_parsed
from ppexp.experiments.labels.findings import ERROR, Report
from ppexp.experiments.labels.image_checks import check_images
from ppexp.experiments.labels.label_checks import FULLWIDTH_ALNUM, _in
from ppexp.data.label_lines import decode_label_bytes, suggest_split
from ppexp.experiments.labels.reader import _guess_legacy, read_label_file


def clean_label(label, charset):
    """NFC, no zero-width/control characters, half-width alnum where only that is known, stripped."""
    out = []
    for c in unicodedata.normalize("NFC", label):
        cat = unicodedata.category(c)
        if cat in ("Cf", "Cc") and c not in charset:
            continue
        if _in(ord(c), FULLWIDTH_ALNUM) and c not in charset and chr(ord(c) - 0xFEE0) in charset:
            c = chr(ord(c) - 0xFEE0)
        out.append(c)
    return "".join(out).strip()


def legacy_codec(bad):
    codecs = {_guess_legacy(chunk)[0] for chunk in bad.values()}
    return next(iter(codecs)) if len(codecs) == 1 and None not in codecs and "latin-1" not in codecs else None


def _clean_file(src, charset, drops):
    """[(orig_line, path, label)] for one label file; drops get (file, line, reason, text)."""
    with open(src.file, "rb") as f:
        decoded = decode_label_bytes(f.read())      # BOM and one trailing '\r' per line removed
    bad = decoded.undecodable
    legacy = legacy_codec(bad)
    out, seen = [], {}
    for n, line in enumerate(decoded.lines, 1):
        if line is None:
            if not legacy:
                drops.append((src.file, n, "undecodable_bytes: not valid UTF-8", repr(bad[n][:80])))
                continue
            line = bad[n].decode(legacy)
        line = line.rstrip("\r")
        if not line.strip():
            drops.append((src.file, n, "blank_line", line))
            continue
        fields = line.split(src.delimiter)
        if len(fields) == 1:
            guess = suggest_split(line, src.delimiter)
            if not guess:
                drops.append((src.file, n, "missing_delimiter: cannot split unambiguously", line))
                continue
            fields = list(guess)
        elif len(fields) > 2:
            if any(x.strip() for x in fields[2:]):
                drops.append((src.file, n, "extra_columns: which column is the label is ambiguous", line))
                continue
            fields = fields[:2]
        path, label = fields[0].strip(), clean_label(fields[1], charset)
        if (path, label) in seen:
            drops.append((src.file, n, f"duplicate_line: same as line {seen[(path, label)]}", line))
            continue
        seen[(path, label)] = n
        out.append((n, path, label))
    return out


def _render(cands, delimiter):
    return "".join(f"{p}{delimiter}{lab}\n" for _, p, lab in cands).encode("utf-8")


def _verify(sources, cands, settings, cache):
    """Check the cleaned lines; {(source index, candidate index): reason} for lines still in error."""
    scratch = Report(max_examples=0)
    parsed = [read_label_file(src, scratch, raw=_render(cands[k], src.delimiter)) for k, src in enumerate(sources)]
    check_parsed(parsed, settings, scratch)
    if settings.images:
        check_images(parsed, settings, scratch, progress=False, cache=cache)
    index = {src.file: k for k, src in enumerate(sources)}
    bad = {}
    for f in scratch.findings():
        if f["severity"] == ERROR and f.get("line") and f["file"] in index:
            key = (index[f["file"]], f["line"] - 1)
            bad.setdefault(key, f"{f['category']}: {f['message']}")
    return bad


def _out_paths(sources, out):
    if len(sources) == 1:
        return [out], out + ".dropped.tsv"
    os.makedirs(out, exist_ok=True)
    names, paths = set(), []
    for src in sources:
        name = os.path.basename(src.file)
        if name in names:
            name = f"{src.split}_{name}"
        names.add(name)
        paths.append(os.path.join(out, name))
    return paths, os.path.join(out, "dropped.tsv")


def run_fix(result, out):
    """Write the cleaned file(s) to ``out``; returns the 'fix' section of the report."""
    settings = result.settings
    names = [s.file for s in settings.sources]
    unique = len(set(names)) == len(names)      # else give the scratch sources distinct names
    sources = [s if unique else replace(s, file=f"{s.file}#{k}") for k, s in enumerate(settings.sources)]
    drops, cands = [], []
    for src in settings.sources:
        cands.append(_clean_file(src, settings.charset, drops))
    cache = dict(result.images or {})
    for _ in range(20):
        bad = _verify(sources, cands, settings, cache)
        if not bad:
            break
        for k, cand in enumerate(cands):
            keep = []
            for i, c in enumerate(cand):
                if (k, i) in bad:
                    drops.append((settings.sources[k].file, c[0], bad[(k, i)], f"{c[1]}\t{c[2]}"))
                else:
                    keep.append(c)
            cands[k] = keep
    paths, drop_path = _out_paths(settings.sources, out)
    outputs = []
    for src, cand, path in zip(settings.sources, cands, paths):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as f:
            f.write(_render(cand, src.delimiter))
        outputs.append({"file": src.file, "output": path, "kept": len(cand)})
    drops.sort(key=lambda d: (d[0], d[1]))
    with open(drop_path, "w", encoding="utf-8") as f:
        f.write("file\tline\treason\ttext\n")
        for file, line, reason, text in drops:
            f.write(f"{file}\t{line}\t{reason}\t{text!r}\n")
    section = {"outputs": outputs, "dropped_list": drop_path,
               "dropped": [{"file": d[0], "line": d[1], "reason": d[2], "text": d[3]} for d in drops]}
    result.report.sections["fix"] = section
    return section
