"""One row per run: best eval metric and where, norm_edit_dis, train acc, gap, speed, schedule."""
from ppexp.experiments.analysis.summary import best_point, steps_to_fraction, train_value_near
from ppexp.experiments.analysis.tables import fmt_duration, fmt_num, render

COLUMNS = (
    ("run", "name"),
    ("best {metric}", "best_value"),
    ("step (epoch) of best", "best_at"),
    ("best norm_edit_dis", "best_norm_edit_dis"),
    ("final train acc", "final_train_acc"),
    ("train-eval gap at best", "gap_at_best"),
    ("steps to 90% of best", "steps_to_90pct"),
    ("time", "wall_time_s"),
    ("steps/s", "steps_per_s"),
    ("train samples", "train_samples"),
    ("lr schedule", "lr_schedule"),
)


def compare_rows(runs, metric=None):
    """Summary dicts of ``runs``; ``metric`` (e.g. 'EVAL/norm_edit_dis') overrides the main indicator."""
    rows = []
    for run in runs:
        summary = dict(run.summary())
        if metric and metric != summary["metric"]:
            series = run.get(metric)
            best = best_point(series)
            summary.update(metric=metric, best_value=None, best_step=None, best_epoch=None,
                           gap_at_best=None, steps_to_90pct=None)
            if best:
                _, step, value = best
                summary.update(best_value=value, best_step=step, best_epoch=run.epoch_at(step),
                               steps_to_90pct=steps_to_fraction(series, 0.9 * value))
                train = train_value_near(run, metric.replace("EVAL/", "TRAIN/", 1), step)
                if train is not None and metric.startswith("EVAL/"):
                    summary["gap_at_best"] = train - value
        rows.append(summary)
    return rows


def _best_at(row):
    if row.get("best_step") is None:
        return "—"
    epoch = row.get("best_epoch")
    return f"{row['best_step']} ({epoch})" if epoch is not None else str(row["best_step"])


def _cell(row, key):
    value = row.get(key)
    if key == "name":
        return value
    if key == "best_at":
        return _best_at(row)
    if key == "wall_time_s":
        return fmt_duration(value)
    if key == "steps_per_s":
        return fmt_num(value, 2)
    if key in ("lr_schedule",):
        return value or "—"
    if key in ("steps_to_90pct", "train_samples"):
        return "—" if value is None else str(value)
    return fmt_num(value)


def format_compare(rows, fmt="md", metric="EVAL/acc"):
    label = metric.split("/", 1)[-1]
    headers = [h.format(metric=label) for h, _ in COLUMNS]
    if fmt == "json":
        records = [{k: v for k, v in row.items() if k != "final"} | {"final": row.get("final")} for row in rows]
        return render(headers, [], "json", records=records)
    table = [[_cell(row, key) for _, key in COLUMNS] for row in rows]
    return render(headers, table, fmt)
