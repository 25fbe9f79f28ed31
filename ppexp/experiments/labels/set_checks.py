"""Checks across lines and splits: repeated lines, one image with two labels, Train/Eval leakage; a label
file read against another synthetic set's images.

Images are compared by the path upstream opens (``os.path.join(data_dir, path)``);
with --images, image_checks adds the same checks by content hash.
"""
from collections import Counter, defaultdict

from ppexp.data.synth_sets import foreign_synth_set


def _where(pf, i):
    return f"{pf.file}:{pf.linenos[i]}"


def report_group(report, members, kind):
    """Report one group of samples showing the same image.

    ``members``: [(pf, i)] in file order, each a distinct occurrence; ``kind``:
    'path' or 'content'. Same split + same label -> duplicate (warning on the
    repeats); different labels -> conflicting_labels (error on every member);
    other splits -> train_eval_leak (error on the later split's members).
    """
    splits = []
    for pf, _ in members:
        if pf.source.split not in splits:
            splits.append(pf.source.split)
    labels = {pf.labels[i] for pf, i in members}
    first_pf, first_i = members[0]
    if len(labels) > 1:
        listing = "; ".join(f"{pf.labels[i]!r} at {_where(pf, i)}" for pf, i in members[:6])
        for pf, i in members:
            report.add("conflicting_labels", f"same image ({kind}) with {len(labels)} different labels: {listing}",
                       file=pf.file, line=pf.linenos[i], text=pf.labels[i], image=pf.ref(i))
    elif kind == "path" or len(splits) == 1:
        cat = "duplicate_line" if kind == "path" else "duplicate_image_content"
        for pf, i in members[1:]:
            if pf.source.split != first_pf.source.split:
                continue
            what = "the same line" if kind == "path" else f"the same image content as {first_pf.ref(first_i)}"
            report.add(cat, f"{what} (first at {_where(first_pf, first_i)})", file=pf.file, line=pf.linenos[i],
                       text=pf.labels[i], image=pf.ref(i))
    if len(splits) > 1:
        home = splits[0]
        for pf, i in members:
            if pf.source.split != home:
                report.add("train_eval_leak", f"image ({kind}) also in {home} at {_where(first_pf, first_i)}",
                           file=pf.file, line=pf.linenos[i], text=pf.labels[i], image=pf.ref(i))


def check_sets(parsed, report):
    """Path-based duplicates / conflicts / leakage over all label files (LMDB keys are skipped)."""
    files = [pf for pf in parsed if pf.source.kind == "file" and len(pf.paths)]
    # with one data_dir and plain relative paths, the paths themselves identify the images
    plain = len({pf.source.data_dir for pf in files}) == 1 and all(pf.plain_paths() for pf in files)
    keys = (lambda pf: pf.paths) if plain else (lambda pf: pf.refs())
    seen, dups = set(), set()
    for pf in files:
        refs = keys(pf)
        fresh = set(refs)
        if len(fresh) < len(refs):       # repeats inside the file
            dups.update(r for r, n in Counter(refs).items() if n > 1)
        dups |= fresh & seen
        seen |= fresh
    if not dups:
        return
    groups = defaultdict(list)
    for pf in files:
        for i, r in enumerate(keys(pf)):
            if r in dups:
                groups[r].append((pf, i))
    for members in groups.values():
        report_group(report, members, "path")


def check_synth_sets(sources, report):
    """A label file of one ``ppexp synth-plates`` set with data_dir at another's (see ppexp.data.synth_sets)."""
    seen = set()
    for src in sources:
        if src.kind != "file" or (src.file, src.data_dir) in seen:
            continue
        seen.add((src.file, src.data_dir))
        mismatch = foreign_synth_set(src.file, src.data_dir)
        if mismatch:
            report.add("synth_set_mismatch", f"{mismatch.message}; fix: {mismatch.fix}", file=src.file,
                       data_dir=mismatch.data_dir, label_meta=mismatch.label_meta, data_meta=mismatch.data_meta)
