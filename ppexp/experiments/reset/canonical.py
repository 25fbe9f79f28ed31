"""Label files in canonical form: UTF-8 without BOM, NFC labels, LF, tab delimiter, stripped fields.

Reads lines with ppexp.data.label_lines (``decode_lines``, ``suggest_split``)
and cleaning (``fixer.clean_label``, ``fixer.legacy_codec``). Unlike ``check-labels
--fix`` this is lossless: only blank lines go; a line that cannot be put in canonical
form unambiguously (no delimiter and no clear split, extra non-empty columns, bytes
in no known codec, empty path) is kept as it is and listed, and the validator that
runs afterwards reports it. Canonicalising a canonical file changes nothing.

``--labels-from MANIFEST`` regenerates the files instead, from a manifest with columns
``file`` (the label file as named in the config, its base name, or the split
``Train``/``Eval``), ``image`` and ``label``: CSV/TSV with a header, JSON Lines or
a JSON list of objects. ``file`` may be left out when the config names one label file.
"""
import codecs
import csv
import json
import os
from collections import Counter
from dataclasses import dataclass, field

from ppexp.experiments.labels.fixer import legacy_codec, clean_label
from ppexp.data.label_lines import decode_lines, suggest_split
from ppexp.errors import UsageError

CANONICAL_DELIMITER = "\t"


@dataclass
class Canonical:
    data: bytes
    changes: Counter = field(default_factory=Counter)
    kept: list = field(default_factory=list)       # (lineno, reason) kept verbatim
    delimiter: str = CANONICAL_DELIMITER


def _decode(raw):
    """(lines as str or None, undecodable bytes by lineno, changes)."""
    changes = Counter()
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        changes["UTF-16 re-encoded as UTF-8"] += 1
        text = raw.decode("utf-16")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return lines, {}, changes
    lines, bad = decode_lines(raw)
    if raw.startswith(codecs.BOM_UTF8) and lines and lines[0] is not None:
        lines[0] = lines[0].lstrip("\ufeff")
        changes["BOM removed"] += 1
    return lines, bad, changes


def _fields(line, delimiter, changes):
    """(path, label) or a reason the line cannot be split unambiguously."""
    parts = line.split(delimiter)
    if len(parts) == 1:
        guess = suggest_split(line, delimiter)
        if not guess:
            return "no delimiter and no unambiguous split"
        changes["whitespace delimiter -> tab"] += 1
        return guess
    if len(parts) > 2:
        if any(p.strip() for p in parts[2:]):
            return f"{len(parts)} columns: which one is the label is ambiguous"
        changes["empty extra columns removed"] += 1
    return parts[0], parts[1]


def canonicalize(raw, delimiter, charset, out_delimiter=CANONICAL_DELIMITER):
    """Canonical bytes of a label file read with ``delimiter``; see the module docstring."""
    lines, bad, changes = _decode(raw)
    legacy = legacy_codec(bad) if bad else None
    out, kept = [], []
    for n, line in enumerate(lines, 1):
        if line is None:
            if not legacy:
                kept.append((n, "not valid UTF-8 nor one legacy codec"))
                out.append(bad[n].rstrip(b"\r"))
                continue
            line = bad[n].decode(legacy)
            changes[f"re-decoded from {legacy}"] += 1
        if line.startswith("\ufeff"):          # a BOM inside the file: label files concatenated with cat
            line = line.lstrip("\ufeff")
            changes["BOM removed"] += 1
        if line.endswith("\r"):
            line = line.rstrip("\r")
            changes["CRLF -> LF"] += 1
        if not line.strip():
            changes["blank lines removed"] += 1
            continue
        split = _fields(line, delimiter, changes)
        if isinstance(split, str) or not split[0].strip():
            kept.append((n, split if isinstance(split, str) else "empty image path"))
            out.append(line.encode("utf-8"))
            continue
        path, label = split[0].strip(), clean_label(split[1], charset)
        if path != split[0] or split[1].strip() != split[1]:
            changes["fields stripped"] += 1
        if label != split[1].strip():
            changes["labels normalised (NFC, invisible chars)"] += 1
        if delimiter != out_delimiter and len(line.split(delimiter)) > 1:
            changes[f"{delimiter!r} delimiter -> tab"] += 1
        out.append(f"{path}{out_delimiter}{label}".encode("utf-8"))
    data = b"".join(chunk + b"\n" for chunk in out)
    return Canonical(data, changes, kept, out_delimiter)


def canonical_file(path, delimiter, charset):
    """Canonical form of one file; keeps the configured delimiter when lines would be kept verbatim."""
    with open(path, "rb") as f:
        raw = f.read()
    result = canonicalize(raw, delimiter, charset)
    if result.kept and delimiter != CANONICAL_DELIMITER:
        result = canonicalize(raw, delimiter, charset, out_delimiter=delimiter)
    return raw, result


# ---------------------------------------------------------------- --labels-from
class ManifestError(UsageError):
    """The manifest cannot be read or does not match the config's label files."""


def read_manifest(path):
    """Rows (dicts with image, label and maybe file) of a CSV/TSV/JSONL/JSON manifest."""
    if not os.path.isfile(path):
        raise ManifestError(f"--labels-from: manifest '{path}' does not exist")
    with open(path, encoding="utf-8-sig") as f:
        text = f.read()
    stripped = text.lstrip()
    if path.endswith(".json") or stripped.startswith("["):
        rows = json.loads(text)
    elif path.endswith(".jsonl") or stripped.startswith("{"):
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        dialect = "excel-tab" if path.endswith(".tsv") or "\t" in text.split("\n", 1)[0] else "excel"
        rows = list(csv.DictReader(text.splitlines(), dialect=dialect))
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ManifestError(f"{path}: expected rows with the columns file, image, label")
    for i, row in enumerate(rows, 1):
        if not isinstance(row.get("image"), str) or not isinstance(row.get("label"), str):
            raise ManifestError(f"{path}: row {i} lacks an 'image' or 'label' text column: {row}")
    return rows


def _matcher(sources):
    """sources: [(split, file as in config)] -> function(file column) -> label file or None."""
    by_key = {}
    for split, name in sources:
        keys = {name, os.path.abspath(name), os.path.basename(name)}
        if sum(1 for s, _ in sources if s == split) == 1:
            keys.add(split)
        for k in keys:
            by_key.setdefault(k, set()).add(name)
    return lambda key: next(iter(by_key[key])) if len(by_key.get(key, ())) == 1 else None


def regenerate(rows, sources, charset, manifest="manifest"):
    """{label file: canonical bytes} from manifest rows; ManifestError names unmatched rows/files."""
    names = list(dict.fromkeys(f for _, f in sources))
    match = _matcher(sources)
    out = {f: [] for f in names}
    for i, row in enumerate(rows, 1):
        key = row.get("file")
        target = names[0] if not key and len(names) == 1 else match(key) if key else None
        if target is None:
            raise ManifestError(f"{manifest}: row {i} names file {key!r}, which matches none (or several) of the "
                                f"config's label files {names}; use the path as in the config or the split name")
        image, label = row["image"].strip(), clean_label(row["label"], charset)
        out[target].append(f"{image}{CANONICAL_DELIMITER}{label}".encode("utf-8"))
    empty = [f for f, lines in out.items() if not lines]
    if empty:
        raise ManifestError(f"{manifest}: no rows for {empty}; refusing to empty a label file")
    return {f: b"".join(line + b"\n" for line in lines) for f, lines in out.items()}
