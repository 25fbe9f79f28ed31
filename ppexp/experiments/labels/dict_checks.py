"""Dictionary checks: entries upstream loads but can never use, and label/dictionary coverage."""
import unicodedata

from ppexp.experiments.labels.label_checks import describe_char
from ppexp.utils.character import CharacterDict


def check_dictionary(settings, report):
    """Line-level problems of the dictionary file (needs no labels)."""
    if not settings.dict_path:
        return []
    path = settings.dict_path
    entries = CharacterDict.read_lines(path)
    first = {}
    for n, e in enumerate(entries, 1):
        if e == "":
            report.add("dict_empty_entry", "empty line: becomes a class no label can ever produce",
                       file=path, dict_line=n, text=e)
        elif e.startswith("\ufeff"):
            report.add("dict_multichar_entry", f"the dictionary starts with a BOM: entry {e!r} never matches and "
                       f"{e[1:]!r} is missing", file=path, dict_line=n, text=e)
        elif e != e.strip() and e.strip():
            report.add("dict_whitespace_entry", f"entry {e!r} has whitespace around {e.strip()!r}: never matches",
                       file=path, dict_line=n, text=e)
        elif len(e) > 1:
            report.add("dict_multichar_entry", f"entry {e!r} has {len(e)} characters: labels are encoded per "
                       "character, so it never matches", file=path, dict_line=n, text=e)
        elif e.isspace() and e != " ":
            report.add("dict_whitespace_entry", f"entry {describe_char(e)} is a whitespace class",
                       file=path, dict_line=n, text=e)
        if e and not unicodedata.is_normalized("NFC", e):
            report.add("dict_not_nfc", f"entry {e!r} is not NFC (NFC: {unicodedata.normalize('NFC', e)!r})",
                       file=path, dict_line=n, text=e)
        if e in first:
            report.add("dict_duplicate", f"{e!r} (line {first[e]}) appears again at line {n}: upstream maps it to "
                       f"the last occurrence, so the class of line {first[e]} is never trained", file=path,
                       dict_line=first[e], text=e, duplicate_at=n)
        first[e] = n
    if settings.use_space_char and " " in first:
        report.add("dict_double_space", "the dictionary has a space entry and use_space_char: true appends "
                   "another: two space classes, the first never trained", file=path, dict_line=first[" "], text=" ")
    return entries


def check_coverage(settings, entries, checker, report):
    """Label characters missing from the dictionary and dictionary entries never used."""
    cs = checker.charset
    used = {}
    for c, n in checker.char_counts.items():
        for k in cs.normalize(c):
            used[k] = used.get(k, 0) + n
    missing = sorted((c for c in used if c not in cs), key=lambda c: -used[c])
    for c in missing:
        lines = checker.unknown_lines.get(c, [])
        report.add("dict_missing_char", f"{describe_char(c)} appears {used[c]:,} times in labels but is not in the "
                   "dictionary", file=settings.dict_path, dict_line=None, text=c, codepoint=f"U+{ord(c):04X}",
                   count=used[c], lines=[f"{f}:{ln}" for f, ln in lines])
    unused = []
    if settings.dict_path and entries:
        seen = set()
        for n, e in enumerate(entries, 1):
            if len(e) == 1 and e not in used and e not in seen:
                unused.append(e)
                report.add("dict_unused_entry", f"{describe_char(e)} is never used by a label",
                           file=settings.dict_path, dict_line=n, text=e)
            seen.add(e)
    classes = [c for c in cs.characters if c]
    report.sections["unknown_chars"] = [
        {"char": c, "codepoint": f"U+{ord(c):04X}", "name": unicodedata.name(c, ""), "count": used[c],
         "lines": [f"{f}:{ln}" for f, ln in checker.unknown_lines.get(c, [])]} for c in missing]
    report.sections["coverage"] = {
        "dictionary_classes": len(set(classes)),
        "classes_used": len({c for c in classes if c in used}),
        "unused": unused,
        "counts": {c: n for c, n in sorted(used.items(), key=lambda kv: -kv[1])},
    }
    return used, missing
