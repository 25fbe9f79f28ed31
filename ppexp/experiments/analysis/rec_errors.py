"""What a recogniser gets wrong: per-group accuracy, the errors with their files, character confusions.

    report = error_report(records)          # records: [(file or None, label, prediction)]
    print(format_error_report(report))

Groups come from the label pattern (plate kinds: Korean licence plates are told apart by their text),
from the image layout when a group file names it, or both. Confusions align label and prediction with
the Levenshtein edit operations: a substitution counts ``label char -> predicted char``, a deletion
``char -> ''`` (missed), an insertion ``'' -> char`` (extra).
"""
import re
from collections import Counter, defaultdict

from rapidfuzz.distance import Levenshtein

from ppexp.experiments.synth.charsets import DIPLOMATIC_PREFIXES, REGIONS

_REGION = "(?:" + "|".join(REGIONS) + ")"
_HANGUL = "[\uac00-\ud7a3]"
# (group name, pattern) in order; the first match names a label's group.
PLATE_GROUPS = (
    ("region + 2 digits (old / commercial plates)", re.compile(f"^{_REGION}\\d{{2}}{_HANGUL}\\d{{4}}$")),
    ("2 digits, no region", re.compile(f"^\\d{{2}}{_HANGUL}\\d{{4}}$")),
    ("3 digits (2019+ plates)", re.compile(f"^\\d{{3}}{_HANGUL}\\d{{4}}$")),
    ("diplomatic", re.compile("^(?:" + "|".join(DIPLOMATIC_PREFIXES) + ")\\d{6}$")),
)
OTHER = "other"


def label_group(label):
    """The plate group a label's pattern belongs to (``other`` when none)."""
    return next((name for name, pattern in PLATE_GROUPS if pattern.match(label)), OTHER)


def char_confusions(pairs):
    """Counter of (label char, predicted char) over (label, prediction) pairs; '' marks a miss / extra."""
    out = Counter()
    for label, pred in pairs:
        for op in Levenshtein.editops(label, pred):
            if op.tag == "replace":
                out[(label[op.src_pos], pred[op.dest_pos])] += 1
            elif op.tag == "delete":
                out[(label[op.src_pos], "")] += 1
            else:
                out[("", pred[op.dest_pos])] += 1
    return out


def _summary(items):
    n = len(items)
    correct = sum(1 for _, label, pred in items if label == pred)
    ned = sum(1 - Levenshtein.normalized_distance(label, pred) for _, label, pred in items)
    return {"n": n, "correct": correct, "acc": correct / n if n else 0.0, "norm_edit_dis": ned / n if n else 0.0}


def error_report(records, groups=None, top=20):
    """Dict with ``overall``, ``groups`` (by label pattern, and by ``groups[file]`` when given),
    ``errors`` ([{file, label, pred}]) and ``confusions`` ([[label char, predicted char, count]], top N)."""
    records = [(f, str(label), str(pred)) for f, label, pred in records]
    by_group = defaultdict(list)
    for rec in records:
        by_group["pattern: " + label_group(rec[1])].append(rec)
        if groups and rec[0] is not None and rec[0] in groups:
            by_group["layout: " + groups[rec[0]]].append(rec)
    errors = [{"file": f, "label": label, "pred": pred} for f, label, pred in records if label != pred]
    confusions = char_confusions((e["label"], e["pred"]) for e in errors)
    return {
        "overall": _summary(records),
        "groups": {name: _summary(items) for name, items in sorted(by_group.items())},
        "errors": errors,
        "confusions": [[a, b, n] for (a, b), n in confusions.most_common(top)],
    }


def read_group_file(path):
    """{image path: group} from a tab-separated file ``image<TAB>group`` (e.g. one-line / two-line)."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != 2 or not parts[0] or not parts[1]:
                raise ValueError(f"{path}:{lineno}: expected 'image<TAB>group', got {line!r}")
            out[parts[0]] = parts[1]
    return out


def _show(ch):
    return ch if ch else "(none)"


def format_error_report(report, max_errors=None):
    """Plain-text lines: groups table, the errors with their files, the most frequent confusions."""
    lines = ["accuracy by group:"]
    for name, s in report["groups"].items():
        lines.append(f"  {name:48s} {s['correct']:4d}/{s['n']:<4d} acc {s['acc']:.3f}  norm_edit_dis {s['norm_edit_dis']:.3f}")
    errors = report["errors"] if max_errors is None else report["errors"][:max_errors]
    if errors:
        more = len(report["errors"]) - len(errors)
        lines.append(f"errors ({len(report['errors'])}" + (f", the first {len(errors)} shown):" if more else "):"))
        lines.extend(f"  {e['file'] or '?'}  label {e['label']}  pred {e['pred'] or '(empty)'}" for e in errors)
    if report["confusions"]:
        lines.append("most frequent character confusions (label -> prediction: count):")
        lines.append("  " + ", ".join(f"{_show(a)}->{_show(b)}: {n}" for a, b, n in report["confusions"]))
    return lines
