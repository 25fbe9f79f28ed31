"""Experiment analysis: read runs, diff configs, compare, diagnose and report.

    from ppexp.experiments.analysis import read_run, diff_configs, compare_rows, diagnose, write_report

Modules: vdl_records (fast VisualDL scalar reader), train_log (train.log parser),
series, run_reader (Run), summary, config_diff, compare, diagnose, plots, report.
"""
from ppexp.experiments.analysis.compare import compare_rows, format_compare
from ppexp.experiments.analysis.config_diff import diff_configs, format_diff, load_for_diff
from ppexp.experiments.analysis.diagnose import Finding, Thresholds, diagnose, format_findings
from ppexp.experiments.analysis.run_reader import Run, RunError, read_run, read_runs

__all__ = ["Run", "RunError", "read_run", "read_runs", "diff_configs", "format_diff", "load_for_diff",
           "compare_rows", "format_compare", "diagnose", "format_findings", "Thresholds", "Finding",
           "write_report"]


def write_report(runs, out, title=None, metric=None):
    """See :func:`ppexp.experiments.analysis.report.write_report` (imports matplotlib lazily)."""
    from ppexp.experiments.analysis.report import write_report as _write

    return _write(runs, out, title, metric)
