"""Parse ``train.log`` in upstream PaddleOCR's line format (also written by ppexp).

Two uses: the full parse turns the training and metric lines into the same
series names VisualDL would hold (for upstream runs without ``vdl/``), and
:func:`log_facts` scans the whole text with a few regular expressions for facts
that are only in the log (data sizes, drop reasons, non-finite losses, the
"evaluation will never run" warning, best epoch).

Lines understood::

    [2026/11/22 02:10:11] ppocr INFO: epoch: [1/72], global_step: 10, lr: 0.000500, acc: 0.0, ..., loss: 35.1, ...
    [...] ppocr INFO: cur metric, acc: 0.1, norm_edit_dis: 0.2, loss: 3.2, fps: 123.4
    [...] ppocr INFO: best metric, acc: 0.1, norm_edit_dis: 0.2, fps: 123.4, best_epoch: 1
    [...] ppocr WARNING: dropped samples this epoch: 12 (bad_image: 10, too_long: 2); ...
    [...] ppocr INFO: train: 5000 samples, 79 steps/epoch, 72 epochs, 5688 steps in total; ...
    [...] ppocr INFO: train dataloader has 79 iters          (upstream)
"""
import datetime
import re

import numpy as np

from ppexp.experiments.analysis.series import merge_segments

_PREFIX = re.compile(r"^\[(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)\] \S+ \w+: ")
_PAIR = re.compile(r"([A-Za-z_]\w*): ([-+]?(?:[0-9.]+(?:[eE][-+]?\d+)?|nan|inf|NaN|Inf))")
_EPOCH = re.compile(r"epoch: \[(\d+)/(\d+)\]")
_TRAIN_KEYS = {"lr": "lr", "acc": "acc", "norm_edit_dis": "norm_edit_dis", "loss": "loss",
               "ips": "samples_per_sec", "avg_reader_cost": "reader_cost", "avg_batch_cost": "batch_cost"}

# Facts come from the few lines that are not training lines, found in one regex pass.
_OTHER_LINE = re.compile(r"\] \S+ \w+: (?!epoch: \[)([^\n]*)")
_FACT_PATTERNS = {
    "train_summary": re.compile(r"^train: (\d+) samples, (\d+) steps/epoch, (\d+) epochs"),
    "eval_samples": re.compile(r"^(?:eval|valid): (\d+) samples"),
    "train_iters": re.compile(r"^train dataloader has (\d+) iters"),
    "eval_iters": re.compile(r"^valid dataloader has (\d+) iters"),
    "best_epoch": re.compile(r"^best metric, .*?best_epoch: (\d+)"),
    "eval_never": re.compile(r"evaluation will NEVER run.*"),
    "dropped": re.compile(r"^dropped samples this epoch: (\d+) \(([^)]*)\)"),
    "nonfinite_msg": re.compile(r"loss is (nan|inf|-inf)\b.*?global_step (\d+)"),
}
_NONFINITE_LOSS = re.compile(r"loss: (-?inf|nan|NaN|-?Inf)\b")
_STEP_IN_LINE = re.compile(r"(?:global_step|iter): (\d+),")


def _wall(stamp):
    try:
        return datetime.datetime.strptime(stamp, "%Y/%m/%d %H:%M:%S").timestamp()
    except ValueError:
        return np.nan


def _num(text):
    try:
        return float(text)
    except ValueError:
        return np.nan


def parse_train_log(text):
    """Series from the log text: ``{tag: Series}`` with TRAIN/* and EVAL/* tags."""
    points = {}  # tag -> list of segments, each a list of (step, value, wall)
    segment_of = {}
    step, segment, last_step = 0, 0, -1
    for line in text.splitlines():
        m = _PREFIX.match(line)
        if not m:
            continue
        msg = line[m.end():]
        if msg.startswith("epoch: ["):
            pairs = dict(_PAIR.findall(msg))
            key = "global_step" if "global_step" in pairs else "iter"  # PaddleOCR 2.0 printed 'iter'
            if key not in pairs:
                continue
            step = int(float(pairs[key]))
            if step <= last_step:
                segment += 1  # a restart appended to the same log
            last_step = step
            wall = _wall(m.group(1))
            em = _EPOCH.search(msg)
            if em:
                _add(points, segment_of, segment, "TRAIN/epoch", step, float(em.group(1)), wall)
            for key, tag in _TRAIN_KEYS.items():
                if key in pairs:
                    _add(points, segment_of, segment, f"TRAIN/{tag}", step, _num(pairs[key]), wall)
        elif msg.startswith("cur metric, "):
            wall = _wall(m.group(1))
            for key, value in _PAIR.findall(msg):
                _add(points, segment_of, segment, f"EVAL/{key}", step, _num(value), wall)
        elif msg.startswith("best metric, ") and last_step >= 0:
            pairs = _PAIR.findall(msg)
            if pairs and pairs[0][0] != "best_epoch":
                key, value = pairs[0]
                _add(points, segment_of, segment, f"EVAL/best_{key}", step, _num(value), _wall(m.group(1)))
        elif msg.startswith("dropped samples this epoch: "):
            count = re.match(r"dropped samples this epoch: (\d+)", msg)
            _add(points, segment_of, segment, "TRAIN/dropped_samples", step, float(count.group(1)),
                 _wall(m.group(1)))
    series = {}
    for tag, segs in points.items():
        arrays = [(np.array([p[0] for p in s], np.int64), np.array([p[1] for p in s], np.float64),
                   np.array([p[2] for p in s], np.float64)) for s in segs if s]
        series[tag] = merge_segments(arrays)
    return series


def _add(points, segment_of, segment, tag, step, value, wall):
    segs = points.setdefault(tag, [])
    if segment_of.get(tag) != segment:
        segment_of[tag] = segment
        segs.append([])
    segs[-1].append((step, value, wall))


def _line_at(text, pos):
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text[start:end if end >= 0 else len(text)]


def _add_drops(facts, count, detail):
    facts["dropped_samples"] = facts.get("dropped_samples", 0) + int(count)
    reasons = facts.setdefault("drop_reasons", {})
    for part in detail.split(","):
        if ":" in part:
            key, value = part.rsplit(":", 1)
            if value.strip().isdigit():
                reasons[key.strip()] = reasons.get(key.strip(), 0) + int(value)


def log_facts(text):
    """Facts found anywhere in the log: one regex pass collects the non-training lines (a few
    hundred in a 100k-line log), which are then matched one by one; the last value wins."""
    facts, nonfinite = {}, []
    P = _FACT_PATTERNS
    for msg in _OTHER_LINE.findall(text):
        m = P["train_summary"].match(msg)
        if m:
            facts.update(train_samples=int(m.group(1)), steps_per_epoch=int(m.group(2)),
                         epochs_planned=int(m.group(3)))
            continue
        for key in ("eval_samples", "train_iters", "eval_iters", "best_epoch"):
            m = P[key].match(msg)
            if m:
                facts[key] = int(m.group(1))
        m = P["dropped"].match(msg)
        if m:
            _add_drops(facts, *m.groups())
        m = P["eval_never"].search(msg)
        if m:
            facts["eval_never_warning"] = m.group(0)
        m = P["nonfinite_msg"].search(msg)
        if m:
            nonfinite.append((int(m.group(2)), m.group(1)))
    if "train_iters" in facts:
        facts.setdefault("steps_per_epoch", facts.pop("train_iters"))
    m = _NONFINITE_LOSS.search(text)
    if m:
        step = _STEP_IN_LINE.search(_line_at(text, m.start()))
        if step:
            nonfinite.append((int(step.group(1)), m.group(1).lower()))
    if nonfinite:
        facts["nonfinite_loss"] = min(nonfinite)
    return facts
