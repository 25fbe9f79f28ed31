"""Rule-based diagnosis of a run's curves: each finding has evidence and a concrete suggestion.

Rules (thresholds in :class:`Thresholds`, overridable with ``--set name=value``):

=================== ======== ==========================================================================
rule                severity fires when
=================== ======== ==========================================================================
no_data             error    no VisualDL scalars and no parsable train.log
nan                 error    a logged value is NaN/inf, or train.log reports a non-finite loss
eval_never_ran      error    training steps were logged but no eval metric (eval_batch_step too large)
dead_pipeline       error    after ``dead_after_steps``: acc never above ``dead_acc_max`` (train and eval)
                             and loss fell less than ``dead_loss_drop`` (relative) between the 5-20% and
                             the last 10% of the steps
blank_plateau       warning  after ``blank_after_steps``: acc and norm_edit_dis (train and eval) never above
                             ``blank_ned_max`` although the loss fell by ``blank_loss_drop`` (relative) from
                             its first values: the model emits only CTC blanks (empty predictions)
stalled             warning  after ``stall_after_steps``: train acc (eval acc if no train acc) never
                             reached ``stall_acc_floor``
overfitting         warning  >= ``overfit_evals`` evals after the best one, their mean is
                             ``overfit_min_drop`` below the best while train acc rose by
                             ``overfit_train_rise``; or eval loss is ``overfit_loss_rise`` (relative)
                             above its minimum over the last ``overfit_evals`` evals while train loss falls
generalization_gap  warning  train acc - eval acc at the best eval > ``gap_max``
precision_recall    warning  det runs: |eval precision - eval recall| at the best eval > ``pr_gap_max``
plateau             info     the best eval metric (>= ``stall_acc_floor``) did not improve by
                             ``plateau_min_delta`` for >= ``plateau_evals`` evals spanning
                             >= ``plateau_min_fraction`` of the run
lr_collapse         warning  lr fell below max(``lr_collapse_ratio`` x peak, ``lr_min_useful``) with
                             >= ``lr_collapse_min_tail`` of the run left, while the metric had risen
                             >= ``lr_improving_delta`` over the preceding ``lr_improving_window`` of the run
long_warmup         warning  warmup longer than ``warmup_max_fraction`` of the planned steps
dropped_samples     warning  more than ``dropped_share_max`` of the samples were dropped by the pipeline
=================== ======== ==========================================================================

A finding hides those its cause explains (:data:`SUPPRESSES`): nan hides dead_pipeline,
stalled, overfitting, generalization_gap, plateau and lr_collapse; dead_pipeline hides
stalled, generalization_gap and plateau; blank_plateau (its advice starts with check-labels) hides
dead_pipeline, stalled and plateau; stalled, overfitting and lr_collapse hide plateau.
"""
import dataclasses
import math

import numpy as np

from ppexp.config_defaults import eval_batch_step
from ppexp.experiments.analysis.summary import best_point
from ppexp.experiments.analysis.tables import fmt_value


@dataclasses.dataclass
class Thresholds:
    blank_after_steps: int = 300
    blank_ned_max: float = 0.05
    blank_loss_drop: float = 0.5
    stall_after_steps: int = 2000
    stall_acc_floor: float = 0.05
    dead_after_steps: int = 500
    dead_acc_max: float = 0.001
    dead_loss_drop: float = 0.05
    overfit_evals: int = 3
    overfit_min_drop: float = 0.005
    overfit_train_rise: float = 0.01
    overfit_loss_rise: float = 0.05
    gap_max: float = 0.10
    pr_gap_max: float = 0.20
    plateau_evals: int = 5
    plateau_min_fraction: float = 0.25
    plateau_min_delta: float = 0.001
    lr_collapse_ratio: float = 0.01
    lr_min_useful: float = 1e-7
    lr_collapse_min_tail: float = 0.25
    lr_improving_delta: float = 0.01
    lr_improving_window: float = 0.2
    warmup_max_fraction: float = 0.2
    dropped_share_max: float = 0.01

    def override(self, **values):
        names = {f.name: f.type for f in dataclasses.fields(self)}
        for key, value in values.items():
            if key not in names:
                import difflib

                close = difflib.get_close_matches(key, names, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise KeyError(f"unknown threshold '{key}'{hint}; known: {', '.join(names)}")
            setattr(self, key, (int if names[key] in ("int", int) else float)(value))
        return self


SEVERITY = {"no_data": "error", "nan": "error", "eval_never_ran": "error", "dead_pipeline": "error",
            "blank_plateau": "warning", "stalled": "warning", "overfitting": "warning",
            "generalization_gap": "warning", "precision_recall": "warning", "plateau": "info", "lr_collapse": "warning", "long_warmup": "warning", "dropped_samples": "warning"}
RULES = tuple(SEVERITY)
SUPPRESSES = {
    "no_data": RULES,
    "nan": ("dead_pipeline", "blank_plateau", "stalled", "overfitting", "generalization_gap", "plateau",
            "lr_collapse"),
    "dead_pipeline": ("stalled", "generalization_gap", "plateau"),
    "blank_plateau": ("dead_pipeline", "stalled", "plateau"),
    "stalled": ("plateau",),
    "overfitting": ("plateau",),
    "lr_collapse": ("plateau",),
}


@dataclasses.dataclass
class Finding:
    rule: str
    severity: str
    message: str
    suggestion: str
    evidence: dict
    steps: list = dataclasses.field(default_factory=list)  # steps worth marking on a plot

    def as_dict(self):
        return dataclasses.asdict(self)


# ---------------------------------------------------------------- helpers
class _Ctx:
    def __init__(self, run, th):
        self.run, self.th = run, th
        self.metric = f"EVAL/{run.main_indicator}"
        self.ev = _finite(run.get(self.metric))
        self.train_acc = _finite(run.get("TRAIN/acc"))
        self.train_ned = _finite(run.get("TRAIN/norm_edit_dis"))
        self.eval_ned = _finite(run.get("EVAL/norm_edit_dis"))
        self.loss = _finite(run.get("TRAIN/loss"))
        self.last = run.last_step() or 0
        self.summary = run.summary()
        self.planned = self.summary.get("planned_steps") or self.last

    def epoch(self, step):
        return self.run.epoch_at(step) if step is not None else None

    def where(self, step):
        epoch = self.epoch(step)
        return f"step {step}" + (f" (epoch {epoch})" if epoch is not None else "")


def _finite(series):
    if series is None:
        return None
    series = series.finite()
    return series if len(series) else None


def _median_between(series, lo, hi):
    part = series.between(lo, hi)
    return float(np.median(part.values)) if len(part) else None


def _r(value, digits=4):
    return None if value is None else round(float(value), digits)


def _opt(run):
    return run.section("Optimizer")


# ---------------------------------------------------------------- rules
def rule_no_data(c):
    if c.run.tags():
        return None
    return Finding("no_data", "", f"nothing logged in {c.run.path}: no vdl/vdlrecords.* files and no parsable "
                   "train.log", "Point diagnose at Global.save_model_dir of a run; keep Global.use_visualdl: true "
                   "(ppexp's default) so scalars are recorded.", {"path": c.run.path})


def rule_nan(c):
    first = None
    for tag, series in c.run.series.items():
        bad = np.flatnonzero(~np.isfinite(series.values))
        if len(bad) and (first is None or series.steps[bad[0]] < first[1]):
            first = (tag, int(series.steps[bad[0]]), float(series.values[bad[0]]), len(bad))
    logged = c.run.facts.get("nonfinite_loss")
    if first is None and logged is None:
        return None
    if first is None or (logged and logged[0] < first[1]):
        first = ("TRAIN/loss (train.log)", logged[0], float(logged[1]), 1)
    tag, step, value, count = first
    opt, g = _opt(c.run), c.run.section("Global")
    lr = (opt.get("lr") or {}).get("learning_rate") or (opt.get("lr") or {}).get("max_lr")
    tips = [f"lower Optimizer.lr.learning_rate{f' (now {lr:g})' if isinstance(lr, (int, float)) else ''}"]
    if opt.get("clip_norm") is None and opt.get("clip_norm_global") is None:
        tips.append("add Optimizer.clip_norm: 10")
    if g.get("use_amp"):
        tips.append("retry without AMP (Global.use_amp: false) or with dynamic loss scaling")
    tips.append("run `ppexp check-labels` for empty or over-long labels")
    return Finding("nan", "", f"{tag} is {value} first at {c.where(step)} ({count} non-finite point(s))",
                   "; ".join(tips) + ".", {"tag": tag, "step": step, "epoch": c.epoch(step), "value": str(value),
                                           "count": count}, [step])


def rule_eval_never_ran(c):
    if c.ev is not None or (c.loss is None and c.train_acc is None):
        return None
    g = c.run.section("Global")
    ebs = eval_batch_step({"Global": g})
    spe = c.summary.get("steps_per_epoch")
    evidence = {"last_step": c.last, "eval_batch_step": ebs, "has_eval_section": bool(c.run.section("Eval"))}
    if not c.run.section("Eval") and c.run.config:
        return Finding("eval_never_ran", "", f"no {c.metric} logged in {c.last} steps: the config has no Eval section",
                       "Add an Eval section (dataset + loader) so the best checkpoint is chosen on held-out data.",
                       evidence)
    per = f"[0, {spe}]" if spe else "[0, <steps per epoch>]"
    if isinstance(ebs, list) and len(ebs) == 2:
        start, every = ebs
        first = start + every if start > 0 else every
        evidence["first_eval_step"] = first
        why = f"Global.eval_batch_step={ebs} puts the first evaluation at step {first}"
    else:
        why = f"Global.eval_batch_step={ebs}"
    return Finding("eval_never_ran", "", f"no {c.metric} logged although training reached {c.where(c.last)}; {why}",
                   f"Evaluate at least once per epoch: -o Global.eval_batch_step={per}; without evaluation there "
                   "is no best_accuracy checkpoint and no way to see over-fitting.", evidence)


def rule_dead_pipeline(c):
    th = c.th
    if c.loss is None or c.last < th.dead_after_steps or (c.train_acc is None and c.ev is None):
        return None
    acc_max = max(float(np.max(s.values)) for s in (c.train_acc, c.ev) if s is not None)
    if acc_max > th.dead_acc_max:
        return None
    early = _median_between(c.loss, 0.05 * c.last, 0.2 * c.last)
    late = _median_between(c.loss, 0.9 * c.last, None)
    if early is None or late is None:
        return None
    drop = (early - late) / abs(early) if early else 0.0
    if drop >= th.dead_loss_drop:
        return None
    share = c.summary.get("dropped_share")
    extra = f"; {share:.1%} of the samples were dropped" if share else ""
    return Finding("dead_pipeline", "", f"acc stayed at {acc_max:.3f} (train and eval) for {c.last} steps and the "
                   f"loss is flat ({early:.4g} -> {late:.4g}, {drop:+.1%} drop){extra}: nothing reaches the model "
                   "as a learnable label",
                   "Run `ppexp check-labels -c <config>` (label -> CTCLabelEncode -> decode round trip against the "
                   "dictionary); check Global.character_dict_path / use_space_char and that the transforms keep "
                   "'label' and 'length' (KeepKeys). exp7 looked exactly like this.",
                   {"steps": c.last, "acc_max": _r(acc_max), "loss_early": _r(early), "loss_late": _r(late),
                    "loss_drop": _r(drop), "dropped_share": _r(share)})


def rule_blank_plateau(c):
    th = c.th
    scores = [s for s in (c.train_acc, c.ev, c.train_ned, c.eval_ned) if s is not None]
    if c.loss is None or c.last < th.blank_after_steps or len(c.loss) < 4 or not scores:
        return None
    after = [s.between(th.blank_after_steps, None) for s in scores]
    if any(len(s) == 0 for s in after) or max(float(np.max(s.values)) for s in after) > th.blank_ned_max:
        return None
    first = float(np.max(c.loss.values[:3]))  # the loss at the first log steps, before the blank prior is learnt
    late = _median_between(c.loss, 0.9 * c.last, None)
    if late is None or first <= 0 or (first - late) / first < th.blank_loss_drop:
        return None  # a loss that never fell is dead_pipeline's case, not the blank plateau
    neck = c.run.section("Architecture").get("Neck") or {}
    encoder = neck.get("encoder_type")
    rnn_tip = (" A fresh BiLSTM neck (encoder_type rnn) is the slowest to leave it: on clean synthetic plates "
               "encoder_type reshape left it by ~200 steps, the BiLSTM was still on it at 500.") \
        if encoder == "rnn" else ""
    return Finding("blank_plateau", "", f"by {c.where(c.last)} the model still predicts empty strings (acc and "
                   f"norm_edit_dis <= {th.blank_ned_max} after step {th.blank_after_steps}) while the loss fell "
                   f"{first:.4g} -> {late:.4g}: it has learnt CTC's all-blank output and nothing else yet",
                   "First run `ppexp check-labels -c <config>`; if the labels are clean this is CTC's blank plateau. "
                   "Warm up on easier images (e.g. `ppexp synth-plates --clean`) or start from trained weights, "
                   "then load them with Global.pretrained_model; avoid heavy augmentation and long lr decay until "
                   f"it leaves the plateau.{rnn_tip} Measurements: docs/plates_convergence.md.",
                   {"after_steps": th.blank_after_steps, "loss_first": _r(first), "loss_late": _r(late),
                    "encoder_type": encoder, "last_step": c.last})


def rule_stalled(c):
    th = c.th
    series = c.train_acc if c.train_acc is not None else c.ev
    if series is None or c.last < th.stall_after_steps:
        return None
    after = series.between(th.stall_after_steps, None)
    if not len(after) or float(np.max(after.values)) >= th.stall_acc_floor:
        return None
    name = "train acc" if series is c.train_acc else "eval acc"
    best = float(np.max(after.values))
    trend = ""
    evidence = {"series": name, "after_steps": th.stall_after_steps, "max_acc": _r(best), "last_step": c.last}
    if c.loss is not None:
        early = _median_between(c.loss, 0.05 * c.last, 0.2 * c.last)
        late = _median_between(c.loss, 0.9 * c.last, None)
        if early and late is not None:
            drop = (early - late) / abs(early)
            evidence["loss_drop"] = _r(drop)
            trend = (f"; the loss still fell {drop:.0%}, so it learns something but does not read the text"
                     if drop > 0.05 else "; the loss is flat too")
    backbone = (c.run.section("Architecture").get("Backbone") or {}).get("name")
    tip = "a stronger backbone (MobileNetV3 -> ResNet, as exp2 -> exp3)" if backbone == "MobileNetV3" else \
        "more model capacity"
    return Finding("stalled", "", f"{name} never reached {th.stall_acc_floor} after step {th.stall_after_steps} "
                   f"- max {best:.4f} by {c.where(c.last)}{trend}",
                   f"Try {tip}, check that RecResizeImg.image_shape fits the images' aspect ratio, raise the "
                   "learning rate if the lr curve is tiny, and run `ppexp check-labels`.", evidence)


def _overfit_by_acc(c):
    th, ev = c.th, c.ev
    if ev is None or c.train_acc is None:
        return None
    best = best_point(ev)
    idx, step, value = best
    after = ev.values[idx + 1:]
    if len(after) < th.overfit_evals:
        return None
    tail = after[-th.overfit_evals:]
    if float(np.mean(tail)) > value - th.overfit_min_drop or tail[-1] > value - th.overfit_min_drop:
        return None
    last_step = int(ev.steps[-1])
    t0, t1 = c.train_acc.value_at(step), c.train_acc.value_at(last_step)
    if t1 - t0 < th.overfit_train_rise:
        return None
    return {"best_step": step, "best_epoch": c.epoch(step), "best": _r(value), "last_evals": [_r(v) for v in tail],
            "last_eval_step": last_step, "train_acc_at_best": _r(t0), "train_acc_last": _r(t1)}


def _overfit_by_loss(c):
    th = c.th
    eloss = _finite(c.run.get("EVAL/loss"))
    if eloss is None or c.loss is None or len(eloss) < th.overfit_evals + 1:
        return None
    m = int(np.argmin(eloss.values))
    after = eloss.values[m + 1:]
    if len(after) < th.overfit_evals:
        return None
    low = float(eloss.values[m])
    tail = after[-th.overfit_evals:]
    limit = low + abs(low) * th.overfit_loss_rise
    if float(np.mean(tail)) < limit or tail[-1] < limit:
        return None
    step_min, step_last = int(eloss.steps[m]), int(eloss.steps[-1])
    if c.loss.value_at(step_last) >= c.loss.value_at(step_min):
        return None
    return {"eval_loss_min_step": step_min, "eval_loss_min": _r(low), "eval_loss_last": [_r(v) for v in tail],
            "train_loss_at_min": _r(c.loss.value_at(step_min)), "train_loss_last": _r(c.loss.value_at(step_last))}


def rule_overfitting(c):
    by_acc, by_loss = _overfit_by_acc(c), _overfit_by_loss(c)
    if not by_acc and not by_loss:
        return None
    parts, steps = [], []
    if by_acc:
        parts.append(f"eval acc fell from its best {by_acc['best']} at {c.where(by_acc['best_step'])} to "
                     f"{by_acc['last_evals']} over the last {len(by_acc['last_evals'])} evals while train acc rose "
                     f"{by_acc['train_acc_at_best']} -> {by_acc['train_acc_last']}")
        steps.append(by_acc["best_step"])
    if by_loss:
        parts.append(f"eval loss rose from {by_loss['eval_loss_min']} at {c.where(by_loss['eval_loss_min_step'])} "
                     f"to {by_loss['eval_loss_last']} while train loss kept falling")
        steps.append(by_loss["eval_loss_min_step"])
    opt = _opt(c.run)
    factor = (opt.get("regularizer") or {}).get("factor")
    reg = "add an L2 regularizer"
    if isinstance(factor, (int, float)):
        reg = f"raise Optimizer.regularizer.factor (now {fmt_value(factor)})"
    best = c.summary.get("best_step")
    return Finding("overfitting", "", "; ".join(parts),
                   f"Keep best_accuracy (step {best}) and stop earlier (Global.early_stopping: {{patience: "
                   f"{c.th.overfit_evals}}}); {reg} or Head.fc_decay; add augmentation diversity "
                   "(RecAug + RandAugment); or use a smaller model.",
                   {"by_eval_acc": by_acc, "by_eval_loss": by_loss}, sorted(set(steps)))


def rule_precision_recall(c):
    """Detection: precision and recall far apart at the best eval (the DB thresholds or the labels are off)."""
    precision, recall = _finite(c.run.get("EVAL/precision")), _finite(c.run.get("EVAL/recall"))
    if precision is None or recall is None or c.ev is None:
        return None
    step = int(c.ev.steps[int(np.argmax(c.ev.values))])
    p, r = precision.value_at(step), recall.value_at(step)
    if p is None or r is None or abs(p - r) <= c.th.pr_gap_max:
        return None
    evidence = {"step": step, "epoch": c.epoch(step), "precision": _r(p), "recall": _r(r)}
    if p > r:
        return Finding("precision_recall", "", f"recall {r:.3f} is far below precision {p:.3f} at the best eval, "
                       f"{c.where(step)}: the detector misses texts",
                       "Lower PostProcess.box_thresh (e.g. 0.5) or thresh, raise unclip_ratio when boxes come out "
                       "too small for IoU > 0.5, evaluate at a larger DetResizeForTest limit_side_len for small "
                       "texts, check that MakeShrinkMap.min_text_size does not ignore them, and train longer.",
                       evidence, [step])
    return Finding("precision_recall", "", f"precision {p:.3f} is far below recall {r:.3f} at the best eval, "
                   f"{c.where(step)}: many detections match no labelled text",
                   "Raise PostProcess.box_thresh, check the eval labels for unlabelled texts (label them or mark "
                   "them '###', don't care), and add negatives (text-like clutter that is not labelled) to Train.",
                   evidence, [step])


def rule_generalization_gap(c):
    gap, step = c.summary.get("gap_at_best"), c.summary.get("best_step")
    if gap is None or gap <= c.th.gap_max:
        return None
    train, value = c.summary["train_acc_at_best"], c.summary["best_value"]
    return Finding("generalization_gap", "", f"train acc {train:.3f} vs eval acc {value:.3f} at the best eval, "
                   f"{c.where(step)}: a gap of {gap * 100:.1f} points (> {c.th.gap_max * 100:g})",
                   "Make training data look more like eval data: stronger/more varied augmentation (RecAug + "
                   "RandAugment), more diverse samples, regularisation (regularizer.factor, fc_decay); check that "
                   "Eval images are preprocessed like Train and that the eval labels are right.",
                   {"step": step, "epoch": c.epoch(step), "train_acc": _r(train), "eval_acc": _r(value),
                    "gap": _r(gap)}, [step])


def rule_plateau(c):
    th, ev = c.th, c.ev
    if ev is None or len(ev) <= th.plateau_evals or float(np.max(ev.values)) < th.stall_acc_floor:
        return None  # a "plateau" at ~0 is not learning at all: stalled / dead_pipeline cover it
    running, last_improve = -math.inf, 0
    for i, v in enumerate(ev.values):
        if v > running + th.plateau_min_delta:
            running, last_improve = v, i
    stale_evals = len(ev) - 1 - last_improve
    since = int(ev.steps[last_improve])
    stale_steps = int(ev.steps[-1]) - since
    total = max(c.last, 1)
    if stale_evals < th.plateau_evals or stale_steps < th.plateau_min_fraction * total:
        return None
    stop_at = int(ev.steps[min(last_improve + th.plateau_evals, len(ev) - 1)])
    return Finding("plateau", "", f"the best {c.metric} ({running:.4f} at {c.where(since)}) did not improve by "
                   f"{th.plateau_min_delta} for {stale_evals} evals ({stale_steps} steps, "
                   f"{stale_steps / total:.0%} of the run)",
                   f"Stop earlier: Global.early_stopping: {{patience: {th.plateau_evals}, min_delta: "
                   f"{th.plateau_min_delta}}} would have stopped at step {stop_at}; change the recipe rather than "
                   "training longer.",
                   {"best": _r(running), "best_step": since, "best_epoch": c.epoch(since), "stale_evals": stale_evals,
                    "stale_steps": stale_steps, "would_stop_at": stop_at}, [since])


def rule_lr_collapse(c):
    th = c.th
    lr = _finite(c.run.get("TRAIN/lr"))
    metric = c.ev if c.ev is not None and len(c.ev) >= 2 else c.train_acc
    if lr is None or metric is None or c.last <= 0:
        return None
    peak_idx = int(np.argmax(lr.values))
    peak = float(lr.values[peak_idx])
    floor = max(th.lr_collapse_ratio * peak, th.lr_min_useful)
    low = np.flatnonzero(lr.values[peak_idx:] < floor)
    if not len(low):
        return None
    step = int(lr.steps[peak_idx + low[0]])
    tail = (c.last - step) / c.last
    if tail < th.lr_collapse_min_tail:
        return None
    before = metric.value_at(step - th.lr_improving_window * c.last)
    at = metric.value_at(step)
    if at - before < th.lr_improving_delta:
        return None
    min_lr = (_opt(c.run).get("lr") or {}).get("min_lr")
    name = "eval" if metric is c.ev else "train"
    tip = "set Optimizer.lr.min_lr (exp13 used 3e-5)"
    if isinstance(min_lr, (int, float)):
        tip = f"raise Optimizer.lr.min_lr (now {fmt_value(min_lr)}; exp13 used 3e-5)"
    return Finding("lr_collapse", "", f"lr fell to {float(lr.values[peak_idx + low[0]]):.3g} (< {floor:.3g}, peak "
                   f"{peak:.3g}) at {c.where(step)} with {tail:.0%} of the run left, while {name} acc was still "
                   f"rising ({before:.4f} -> {at:.4f})",
                   f"{tip}, or check that the decay length (epochs / decay_epochs / step_size) matches the run.",
                   {"step": step, "epoch": c.epoch(step), "lr": _r(lr.values[peak_idx + low[0]], 10),
                    "peak_lr": _r(peak, 10), "tail_fraction": _r(tail), "metric_before": _r(before),
                    "metric_at": _r(at), "min_lr": min_lr}, [step])


def _warmup_steps(c):
    lr_cfg = _opt(c.run).get("lr") or {}
    spe = c.summary.get("steps_per_epoch")
    if lr_cfg.get("warmup_steps"):
        return int(lr_cfg["warmup_steps"]), "Optimizer.lr.warmup_steps"
    if lr_cfg.get("warmup_epoch") and spe:
        return int(round(float(lr_cfg["warmup_epoch"]) * spe)), "Optimizer.lr.warmup_epoch"
    return None, None


def rule_long_warmup(c):
    steps, key = _warmup_steps(c)
    planned = c.planned
    if not steps or not planned:
        return None
    frac = steps / planned
    if frac <= c.th.warmup_max_fraction:
        return None
    return Finding("long_warmup", "", f"warmup of {steps} steps ({key}) is {frac:.0%} of the {planned} planned steps",
                   f"Shorten the warmup to <= {c.th.warmup_max_fraction:.0%} of training (exp4 -> exp5 cut 5000 to "
                   "3000 steps); a long warmup delays useful learning.",
                   {"warmup_steps": steps, "planned_steps": planned, "fraction": _r(frac), "key": key}, [steps])


def rule_dropped_samples(c):
    share, count = c.summary.get("dropped_share"), c.summary.get("dropped_samples")
    if not share or share <= c.th.dropped_share_max:
        return None
    reasons = c.summary.get("drop_reasons") or {}
    detail = f" ({', '.join(f'{k}: {v}' for k, v in reasons.items())})" if reasons else ""
    return Finding("dropped_samples", "", f"{count} samples ({share:.1%}) were dropped by the data pipeline{detail}",
                   "Run `ppexp check-labels` to list the bad lines (unreadable images, characters missing from the "
                   "dictionary, labels longer than max_text_length) and fix or remove them.",
                   {"dropped": count, "share": _r(share), "reasons": reasons})


RULE_FUNCS = {
    "no_data": rule_no_data, "nan": rule_nan, "eval_never_ran": rule_eval_never_ran,
    "dead_pipeline": rule_dead_pipeline, "blank_plateau": rule_blank_plateau, "stalled": rule_stalled,
    "overfitting": rule_overfitting,
    "generalization_gap": rule_generalization_gap, "precision_recall": rule_precision_recall,
    "plateau": rule_plateau, "lr_collapse": rule_lr_collapse,
    "long_warmup": rule_long_warmup, "dropped_samples": rule_dropped_samples,
}


def diagnose(run, thresholds=None, disable=(), **overrides):
    """Findings for ``run`` (a :class:`Run`), most severe first."""
    th = thresholds or Thresholds()
    if overrides:
        th = dataclasses.replace(th).override(**overrides)
    c = _Ctx(run, th)
    found = {}
    for name, func in RULE_FUNCS.items():
        if name in disable:
            continue
        finding = func(c)
        if finding is not None:
            finding.severity = SEVERITY[name]
            found[name] = finding
            if name == "no_data":
                break
    hidden = {h for name in found for h in SUPPRESSES.get(name, ()) if h != name}
    order = {"error": 0, "warning": 1, "info": 2}
    out = [f for name, f in found.items() if name not in hidden]
    return sorted(out, key=lambda f: order[f.severity])


def format_findings(run, findings, th=None):
    if not findings:
        return f"{run.name}: no problems found ({len(RULES)} rules checked)"
    lines = [f"{run.name}: {len(findings)} finding(s)"]
    for f in findings:
        lines.append(f"[{f.severity}] {f.rule}: {f.message}")
        lines.append(f"    suggestion: {f.suggestion}")
    return "\n".join(lines)


def rules_help(th=None):
    """The rules table (module docstring) and the current thresholds."""
    th = th or Thresholds()
    text = __doc__.split("Rules", 1)[1]
    values = "\n".join(f"  {f.name} = {getattr(th, f.name)}" for f in dataclasses.fields(th))
    return "Rules" + text + "\nThresholds (override with --set name=value):\n" + values
