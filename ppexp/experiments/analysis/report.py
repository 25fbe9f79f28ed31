"""A Markdown experiment report like the user's notes: summary table, per-run changes from the
previous run, curves (PNG files next to the report), diagnosis and the best checkpoint."""
import datetime
import glob
import json
import os
import re

from ppexp.experiments.analysis.compare import compare_rows, format_compare
from ppexp.experiments.analysis.config_diff import diff_configs
from ppexp.experiments.analysis.diagnose import diagnose
from ppexp.experiments.analysis.plots import compare_figure, run_figure
from ppexp.experiments.analysis.tables import fmt_duration, fmt_num, fmt_value, markdown_table

# Keys that differ between any two runs and say nothing about the recipe.
REPORT_DIFF_IGNORE = ("Global.save_model_dir", "Global.save_res_path", "Global.save_inference_dir")


def _slug(name):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "run"


def _rel(path, start):
    try:
        return os.path.relpath(path, start)
    except ValueError:  # another drive on Windows
        return path


def _facts_lines(run, s, folder):
    lines = [f"- run directory: `{_rel(run.path, folder)}` (read from {s['source'] or 'nothing'})"]
    if s.get("best_value") is not None:
        epoch = f", epoch {s['best_epoch']}" if s.get("best_epoch") is not None else ""
        lines.append(f"- best {s['metric']}: **{s['best_value']:.4f}** at step {s['best_step']}{epoch}"
                     f" (norm_edit_dis {fmt_num(s.get('norm_edit_dis_at_best'))}, {s['evals']} evals)")
    else:
        lines.append(f"- best {s['metric']}: not logged")
    if s.get("best_checkpoint"):
        lines.append(f"- best checkpoint: `{_rel(s['best_checkpoint'], folder)}`")
    steps = f"{s['last_step']}" + (f" of {s['planned_steps']} planned" if s.get("planned_steps") else "")
    epochs = f", epoch {s['last_epoch']}" + (f"/{s['epochs_planned']}" if s.get("epochs_planned") else "") \
        if s.get("last_epoch") is not None else ""
    lines.append(f"- trained: {steps} steps{epochs}; time {fmt_duration(s.get('wall_time_s'))}"
                 f" ({fmt_num(s.get('steps_per_s'), 2)} steps/s)")
    lines.append(f"- final train acc {fmt_num(s.get('final_train_acc'))}, final train loss "
                 f"{fmt_num(s.get('final_train_loss'))}")
    sched = s.get("lr_schedule") or "—"
    lr = s.get("learning_rate")
    lines.append(f"- optimizer {s.get('optimizer') or '—'}, lr schedule {sched}, lr {fmt_value(lr) if lr else '—'},"
                 f" batch size {s.get('batch_size') or '—'}")
    data = []
    if s.get("train_samples"):
        data.append(f"{s['train_samples']} train")
    if s.get("eval_samples"):
        data.append(f"{s['eval_samples']} eval")
    if data:
        lines.append(f"- data: {', '.join(data)} samples")
    if s.get("dropped_samples"):
        lines.append(f"- dropped samples: {s['dropped_samples']} ({(s.get('dropped_share') or 0):.2%})")
    return lines


def _diff_section(prev, run):
    if prev is None:
        return ["First run of the report: no previous run to compare with."]
    if not prev.config or not run.config:
        return ["(config.yml missing in one of the runs: no diff)"]
    rows = diff_configs(prev.config, run.config, ignore=REPORT_DIFF_IGNORE)
    if not rows:
        return [f"Same configuration as `{prev.name}`."]
    table = markdown_table(["key", prev.name, run.name], [[r["key"], r["a_text"], r["b_text"]] for r in rows])
    return [f"Changes from `{prev.name}`:", "", table]


def _diagnosis_lines(findings):
    if not findings:
        return ["No problems found."]
    lines = []
    for f in findings:
        lines.append(f"- **[{f.severity}] {f.rule}**: {f.message}")
        lines.append(f"  - suggestion: {f.suggestion}")
    return lines


def _eval_files_lines(run):
    """Tables from ``ppexp eval --errors --json <run>/eval*.json`` files: accuracy by group, top confusions."""
    lines = []
    for path in sorted(glob.glob(os.path.join(run.path, "eval*.json"))):
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or not isinstance(data.get("groups"), dict):
            continue
        lines += [f"`{os.path.basename(path)}`: acc {fmt_num(data.get('acc'))}, norm_edit_dis "
                  f"{fmt_num(data.get('norm_edit_dis'))}, {len(data.get('errors') or [])} errors", ""]
        rows = [[name, f"{g.get('correct')}/{g.get('n')}", fmt_num(g.get("acc")), fmt_num(g.get("norm_edit_dis"))]
                for name, g in data["groups"].items()]
        lines += [markdown_table(["group", "correct", "acc", "norm_edit_dis"], rows), ""]
        conf = data.get("confusions") or []
        if conf:
            lines += ["Most frequent character confusions (label -> prediction): "
                      + ", ".join(f"{a or '(none)'} -> {b or '(none)'} ({n})" for a, b, n in conf[:15]), ""]
    return lines


def write_report(runs, out, title=None, metric=None):
    """Write ``out`` (Markdown) and its PNG files next to it; returns the list of files written."""
    folder = os.path.dirname(os.path.abspath(out))
    os.makedirs(folder, exist_ok=True)
    stem = os.path.splitext(os.path.basename(out))[0]
    rows = compare_rows(runs, metric)
    metric = metric or (rows[0]["metric"] if rows else "EVAL/acc")
    written = [out]
    lines = [f"# {title or 'Experiment report'}", "",
             f"Generated by `ppexp report` on {datetime.datetime.now():%Y-%m-%d %H:%M} from {len(runs)} run(s).",
             "", "## Summary", "", format_compare(rows, "md", metric), ""]
    if runs:
        png = os.path.join(folder, f"{stem}_compare.png")
        compare_figure(runs, png, metric)
        written.append(png)
        lines += [f"![curves of all runs]({os.path.basename(png)})", ""]
    prev = None
    for run, summary in zip(runs, rows):
        findings = diagnose(run)
        png = os.path.join(folder, f"{stem}_{_slug(run.name)}.png")
        marks = [(s, f.rule) for f in findings for s in f.steps]
        best_step = summary.get("best_step") if (summary.get("best_value") or 0) > 0 else None
        run_figure(run, png, best_step, marks)
        written.append(png)
        lines += [f"## {run.name}", ""] + _facts_lines(run, summary, folder) + [""]
        lines += ["### Changes", ""] + _diff_section(prev, run) + [""]
        lines += ["### Curves", "", f"![{run.name} curves]({os.path.basename(png)})", ""]
        lines += ["### Diagnosis", ""] + _diagnosis_lines(findings) + [""]
        evals = _eval_files_lines(run)
        if evals:
            lines += ["### Evaluations (`ppexp eval --errors --json`)", ""] + evals
        prev = run
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    return written
