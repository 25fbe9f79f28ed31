"""run_check(settings) -> CheckResult: every check, in upstream's order of reading a sample."""
import contextlib
import gc
import time
from dataclasses import dataclass, field

from ppexp.experiments.labels.det_checks import DetLabelChecker, check_points_inside
from ppexp.experiments.labels.dict_checks import check_coverage, check_dictionary
from ppexp.experiments.labels.findings import Report
from ppexp.experiments.labels.image_checks import check_images
from ppexp.experiments.labels.label_checks import LabelChecker
from ppexp.experiments.labels.reader import read_label_file, read_lmdb
from ppexp.experiments.labels.set_checks import check_sets, check_synth_sets
from ppexp.experiments.labels.settings import validate


@dataclass
class CheckResult:
    settings: object
    report: Report
    parsed: list
    checker: LabelChecker
    dict_entries: list = None
    images: dict = None
    timings: dict = field(default_factory=dict)

    @property
    def exit_code(self):
        return self.report.exit_code(self.settings.strict)


def read_sources(settings, report):
    parsed = []
    for src in settings.sources:
        parsed += read_lmdb(src, report) if src.kind == "lmdb" else [read_label_file(src, report)]
    return parsed


def check_parsed(parsed, settings, report):
    """Label and cross-line checks of already parsed files (also used by --fix to verify)."""
    if settings.det:
        checker = DetLabelChecker()
        for pf in parsed:
            checker.check_file(pf, report)
        report.sections["boxes_per_image"] = {str(k): v for k, v in sorted(checker.boxes_per_image.items())}
    else:
        checker = LabelChecker(settings.charset, settings.max_text_length)
        for pf in parsed:
            checker.check_file(pf, settings.time_steps_for(pf.source), report)
    check_sets(parsed, report)
    return checker


@contextlib.contextmanager
def gc_paused():
    """Millions of small lists/tuples would trigger the cyclic GC over and over; none form cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def run_check(settings, progress=None):
    """Run every check; ``settings`` is a CheckSettings (UsageError for bad inputs)."""
    with gc_paused():
        return _run_check(settings, progress)


def _run_check(settings, progress):
    validate(settings)
    progress = settings.progress if progress is None else progress
    report = Report(settings.max_examples)
    report.notes.extend(settings.notes)
    t = {"start": time.perf_counter()}
    entries = None if settings.det else check_dictionary(settings, report)
    parsed = read_sources(settings, report)
    t["read"] = time.perf_counter()
    checker = check_parsed(parsed, settings, report)
    check_synth_sets(settings.sources, report)
    t["labels"] = time.perf_counter()
    images = check_images(parsed, settings, report, progress) if settings.images else None
    t["images"] = time.perf_counter()
    if settings.det:
        if images is not None:
            check_points_inside(parsed, checker, images, report)
        else:
            report.notes.append("images not decoded (--no-images): boxes outside their image are not checked")
    else:
        check_coverage(settings, entries, checker, report)
    if checker.n_lower_changed:
        report.notes.append(f"{checker.n_lower_changed:,} labels contain upper-case letters: without a dictionary "
                            "upstream lower-cases them (documented; not an error)")
    _totals(report, settings, parsed, images)
    timings = {"read_s": t["read"] - t["start"], "labels_s": t["labels"] - t["read"],
               "images_s": t["images"] - t["labels"], "total_s": time.perf_counter() - t["start"]}
    return CheckResult(settings, report, parsed, checker, entries, images, timings)


def _totals(report, settings, parsed, images):
    tot = report.totals
    tot["label_files"] = sum(1 for s in settings.sources if s.kind == "file")
    tot["lmdb_databases"] = sum(1 for pf in parsed if pf.source.kind == "lmdb")
    tot["lines"] = sum(pf.n_lines for pf in parsed)
    tot["samples"] = sum(pf.n_samples for pf in parsed)
    tot["labels_checked"] = sum(len(pf.labels) for pf in parsed)
    tot["images_checked"] = len(images) if images is not None else 0
    split = {}
    for pf in parsed:
        split[pf.source.split] = split.get(pf.source.split, 0) + pf.n_samples
    report.sections["samples_per_split"] = split
