"""Read one training run (a ``Global.save_model_dir``) into series and summary facts.

Sources, in order of preference:
- ``vdl/vdlrecords.*.log`` (or such files in the run directory itself): every file,
  ordered by name (VisualDL names them by creation time); a file written after
  a resume replaces the older points from its first step on.
- ``train.log`` when there are no VisualDL records (upstream runs): the
  training/metric lines are parsed into the same tag names.
``train.log`` is always scanned for facts only it holds (data sizes, drop
reasons, non-finite losses). ``config.yml`` gives the schedule and settings.
"""
import glob
import os

import numpy as np

from ppexp.experiments.analysis.series import merge_segments
from ppexp.experiments.analysis.train_log import log_facts, parse_train_log
from ppexp.experiments.analysis.vdl_records import read_scalars
from ppexp.errors import UsageError


class RunError(UsageError):
    """The path is not a readable run directory."""


def vdl_files(path):
    """The VisualDL record files of a run, oldest first."""
    files = []
    for folder in (os.path.join(path, "vdl"), path):
        files = [f for f in glob.glob(os.path.join(folder, "*vdlrecords*")) if os.path.isfile(f)]
        if files:
            break
    return sorted(files, key=lambda f: (os.path.basename(f), os.path.getmtime(f)))


def _load_config(path):
    cfg_path = os.path.join(path, "config.yml")
    if not os.path.isfile(cfg_path):
        return None, None
    from ppexp.config import coerce_numbers, load_config

    try:
        return coerce_numbers(load_config(cfg_path)), cfg_path
    except Exception as err:  # noqa: BLE001 - a broken config must not hide the curves
        return {"_error": str(err)}, cfg_path


class Run:
    """A run directory: ``config``, ``series`` ({tag: Series}), ``facts`` and ``summary()``."""

    def __init__(self, path, name=None):
        if not os.path.isdir(path):
            raise RunError(f"run directory '{path}' does not exist (pass Global.save_model_dir of a run)")
        self.path = os.path.abspath(path)
        self.name = name or os.path.basename(self.path.rstrip(os.sep)) or self.path
        self.config, self.config_path = _load_config(path)
        self.files = vdl_files(path)
        self.segments = []  # (first step, last step, first wall, last wall) per record file / log segment
        log_path = os.path.join(path, "train.log")
        text = None
        if os.path.isfile(log_path):
            with open(log_path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        self.facts = log_facts(text) if text else {}
        if self.files:
            self.source = "visualdl"
            self.series = self._read_vdl()
        elif text:
            self.source = "train.log"
            self.series = parse_train_log(text)
            self._log_segments()
        else:
            self.source = None
            self.series = {}
        self._summary = None

    # ------------------------------------------------------------------ reading
    def _read_vdl(self):
        per_tag = {}
        for path in self.files:
            scalars = read_scalars(path)
            lo_s = hi_s = lo_w = hi_w = None
            for tag, (steps, values, wall) in scalars.items():
                per_tag.setdefault(tag, []).append((steps, values, wall / 1000.0))
                if len(steps):
                    lo_s = min(lo_s, steps.min()) if lo_s is not None else steps.min()
                    hi_s = max(hi_s, steps.max()) if hi_s is not None else steps.max()
                    lo_w = min(lo_w, wall.min()) if lo_w is not None else wall.min()
                    hi_w = max(hi_w, wall.max()) if hi_w is not None else wall.max()
            if lo_s is not None:
                self.segments.append((int(lo_s), int(hi_s), lo_w / 1000.0, hi_w / 1000.0))
        return {tag: merge_segments(segs) for tag, segs in per_tag.items()}

    def _log_segments(self):
        loss = self.series.get("TRAIN/loss")
        if loss is None or not len(loss) or loss.wall is None:
            return
        wall = loss.wall
        breaks = np.flatnonzero(np.diff(wall) > 6 * 3600) + 1  # a long silence: treat as a restart
        for part in np.split(np.arange(len(wall)), breaks):
            self.segments.append((int(loss.steps[part[0]]), int(loss.steps[part[-1]]),
                                  float(wall[part[0]]), float(wall[part[-1]])))

    # ------------------------------------------------------------------ access
    def get(self, tag):
        """The series of ``tag`` (e.g. 'EVAL/acc'), or None."""
        series = self.series.get(tag)
        return series if series is not None and len(series) else None

    def tags(self):
        return sorted(t for t, s in self.series.items() if len(s))

    def section(self, name):
        return (self.config or {}).get(name) or {}

    @property
    def main_indicator(self):
        return self.section("Metric").get("main_indicator") or "acc"

    def epoch_at(self, step):
        epochs = self.get("TRAIN/epoch")
        if epochs is not None:
            return int(epochs.value_at(step))
        spe = self.steps_per_epoch()
        return int(np.ceil(step / spe)) if spe and step is not None else None

    def steps_per_epoch(self):
        if self.facts.get("steps_per_epoch"):
            return int(self.facts["steps_per_epoch"])
        epochs = self.get("TRAIN/epoch")
        if epochs is None or len(epochs) < 2:
            return None
        change = np.flatnonzero(np.diff(epochs.values) > 0)
        if not len(change):
            return None
        # the step of the last point of each completed epoch
        ends = epochs.steps[change]
        first_epoch = epochs.values[0]
        per = np.diff(np.concatenate([[0], ends])) if first_epoch == 1 else np.diff(ends)
        per = per[per > 0]
        return int(np.median(per)) if len(per) else None

    def last_step(self):
        steps = [s.last_step for s in self.series.values() if len(s)]
        return max(steps) if steps else None

    def best_checkpoint(self):
        for rel in ("best_accuracy.pdparams", os.path.join("best_model", "model.pdparams")):
            path = os.path.join(self.path, rel)
            if os.path.isfile(path):
                return path
        return None

    def wall_time(self):
        """(seconds spent logging, steps per second) summed over record files / log segments."""
        seconds = sum(max(0.0, s[3] - s[2]) for s in self.segments)
        steps = sum(max(0, s[1] - s[0]) for s in self.segments)
        return (seconds or None), (steps / seconds if seconds else None)

    def summary(self):
        if self._summary is None:
            from ppexp.experiments.analysis.summary import summarize

            self._summary = summarize(self)
        return self._summary


def read_run(path, name=None):
    return Run(path, name)


def read_runs(paths):
    """Runs with unique display names (parent/name when base names clash)."""
    runs = [Run(p) for p in paths]
    names = [r.name for r in runs]
    for run in runs:
        if names.count(run.name) > 1:
            parent = os.path.basename(os.path.dirname(run.path))
            run.name = f"{parent}/{run.name}"
    return runs
