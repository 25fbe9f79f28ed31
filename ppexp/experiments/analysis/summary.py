"""Summary facts of a run: best eval metric and where, finals, gap, speed, data, drops."""
import os

import numpy as np

from ppexp.config_defaults import split_files


def best_point(series):
    """(index, step, value) of the best finite value; ties go to the latest, like upstream's ``>=``."""
    if series is None or not len(series):
        return None
    values = series.values
    finite = np.isfinite(values)
    if not finite.any():
        return None
    best = np.nanmax(np.where(finite, values, np.nan))
    idx = int(np.flatnonzero(values == best)[-1])
    return idx, int(series.steps[idx]), float(best)


def train_value_near(run, tag, step):
    """The logged (already window-smoothed) train value at or before ``step``."""
    series = run.get(tag)
    return series.value_at(step) if series is not None else None


def steps_to_fraction(series, target):
    """First step where the series reaches ``target``."""
    if series is None or target is None:
        return None
    hit = np.flatnonzero(series.values >= target)
    return int(series.steps[hit[0]]) if len(hit) else None


def _optimizer_facts(config):
    opt = (config or {}).get("Optimizer") or {}
    lr = opt.get("lr") or {}
    loader = ((config or {}).get("Train") or {}).get("loader") or {}
    return {
        "optimizer": opt.get("name"),
        "lr_schedule": lr.get("name") or ("Const" if lr else None),
        "learning_rate": lr.get("learning_rate") if lr.get("learning_rate") is not None else lr.get("max_lr"),
        "batch_size": loader.get("batch_size_per_card"),
    }


def _label_lines(config, mode):
    """Samples in the label files of Train/Eval, when they are readable text files here."""
    sf = split_files(config, mode)
    files = sf.label_files if sf else None
    if not files or sf.is_lmdb:
        return None
    total = 0
    for path in files:
        if not isinstance(path, str) or not os.path.isfile(path) or os.path.getsize(path) > 512 * 2**20:
            return None
        with open(path, "rb") as f:
            total += sum(1 for line in f if line.strip())
    return total


def _data_facts(run):
    facts = run.facts
    train = facts.get("train_samples") or _label_lines(run.config, "Train")
    evals = facts.get("eval_samples") or _label_lines(run.config, "Eval")
    spe = run.steps_per_epoch()
    batch = _optimizer_facts(run.config)["batch_size"]
    dropped = run.get("TRAIN/dropped_samples")
    total_dropped = float(np.nansum(dropped.values)) if dropped is not None else facts.get("dropped_samples")
    last = run.last_step() or 0
    seen = last * batch if batch else None
    share = (total_dropped / (total_dropped + seen)) if total_dropped and seen else (0.0 if seen else None)
    return {"train_samples": train, "eval_samples": evals, "steps_per_epoch": spe,
            "dropped_samples": int(total_dropped) if total_dropped is not None else None,
            "dropped_share": share, "drop_reasons": facts.get("drop_reasons")}


def summarize(run):
    """A flat dict of the facts ``compare``/``report`` show; None where unknown."""
    metric = f"EVAL/{run.main_indicator}"
    ev = run.get(metric)
    best = best_point(ev)
    out = {"name": run.name, "path": run.path, "source": run.source, "metric": metric,
           "evals": len(ev) if ev is not None else 0, "last_step": run.last_step()}
    out["last_epoch"] = run.epoch_at(out["last_step"]) if out["last_step"] is not None else None
    g = run.section("Global")
    out["epochs_planned"] = g.get("epoch_num") or run.facts.get("epochs_planned")
    out.update(_data_facts(run))
    spe = out["steps_per_epoch"]
    out["planned_steps"] = int(out["epochs_planned"] * spe) if out["epochs_planned"] and spe else None
    out.update(best_value=None, best_step=None, best_epoch=None, norm_edit_dis_at_best=None,
               train_acc_at_best=None, gap_at_best=None, steps_to_90pct=None)
    if best:
        _, step, value = best
        ned = run.get("EVAL/norm_edit_dis")
        out.update(best_value=value, best_step=step, best_epoch=run.epoch_at(step),
                   norm_edit_dis_at_best=ned.value_at(step) if ned is not None else None,
                   steps_to_90pct=steps_to_fraction(ev, 0.9 * value) if value > 0 else None)
        train_acc = train_value_near(run, "TRAIN/acc", step)
        if train_acc is not None:
            out.update(train_acc_at_best=train_acc, gap_at_best=train_acc - value)
    ned_best = best_point(run.get("EVAL/norm_edit_dis"))
    out["best_norm_edit_dis"] = ned_best[2] if ned_best else None
    out["final"] = {tag: run.series[tag].last() for tag in run.tags()}
    out["final_train_acc"] = out["final"].get("TRAIN/acc")
    out["final_train_loss"] = out["final"].get("TRAIN/loss")
    seconds, steps_per_s = run.wall_time()
    sps = run.get("TRAIN/samples_per_sec")
    out.update(wall_time_s=seconds, steps_per_s=steps_per_s,
               samples_per_s=float(np.nanmedian(sps.values)) if sps is not None else None)
    out.update(_optimizer_facts(run.config))
    out["best_checkpoint"] = run.best_checkpoint()
    return out
