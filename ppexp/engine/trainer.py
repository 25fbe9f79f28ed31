"""The training loop, read top to bottom: setup -> epochs -> steps -> eval -> save.

Semantics follow upstream PaddleOCR's tools/program.py (epoch_num,
print_batch_step, log_smooth_window, eval_batch_step, cal_metric_during_train,
save_epoch_step, best by main_indicator, checkpoint prefixes), plus: exact
resume (global_step and best metric too), eval loss, dropped-sample
accounting, a warning when evaluation would never run, NaN guard, early
stopping and gradient accumulation.
"""
import datetime
import logging
import os
import time

import numpy as np
import paddle

from ppexp.config import dump_config
from ppexp.config_defaults import eval_batch_step, global_value, print_batch_step, save_model_dir
from ppexp.data.datasets.accounting import REASONS
from ppexp.data.loader import build_dataloader
from ppexp.engine.builder import build_components, is_det
from ppexp.engine.checkpoint import EXTS as CKPT_EXTS
from ppexp.engine.checkpoint import load_checkpoint, load_params_into, remove_stale_temps, save_checkpoint
from ppexp.engine.controls import (AmpControl, EarlyStopping, NonFiniteGuard, NonFiniteLoss, eval_schedule,
                                   nonfinite_tensors)
from ppexp.engine.cpu_setup import current_plan
from ppexp.engine.ema import ModelEMA, swap_weights
from ppexp.engine.evaluator import evaluate, log_skipped
from ppexp.engine.loggers import VisualDLLogger
from ppexp.engine.run_lock import run_lock
from ppexp.engine.runtime import capture_rng, restore_rng, set_seed
from ppexp.engine.stats import TrainingStats
from ppexp.engine.written import record_written
from ppexp.engine.env_info import write_env_json
from ppexp.optimizer import build_optimizer

logger = logging.getLogger("ppexp")


class Trainer:
    """Owns the model, optimizer, loaders and run state of one training run."""

    def __init__(self, config, callbacks=(), eval_callbacks=()):
        self.config = config
        self.callbacks = list(callbacks)  # callback(trainer, step) after every step
        # eval_callback(trainer, result, step) after every evaluation; a true return stops training
        self.eval_callbacks = list(eval_callbacks)
        self.g = config["Global"]
        self.rank = paddle.distributed.get_rank()
        self.world_size = paddle.distributed.get_world_size()
        self.save_dir = save_model_dir(config)
        seed = global_value(self.config, "seed")
        set_seed(seed)  # same init and data order for the same seed (upstream default 1024)
        self.parts = build_components(config)
        self.model = self.parts.model
        split = int((current_plan() or {}).get("world_size", 1))  # ppexp's CPU workers share the batch
        data = dict(charset=self.parts.charset, rank=self.rank, world_size=self.world_size)
        self.train_loader, self.train_set = build_dataloader(config, "Train", seed, batch_split=split, **data)
        self.eval_loader = None
        if config.get("Eval"):
            self.eval_loader, self.eval_set = build_dataloader(config, "Eval", seed, **data)
        self.epochs = int(global_value(self.config, "epoch_num"))
        self.eval_start, self.eval_interval = eval_schedule(eval_batch_step(config))
        self.steps_per_epoch = len(self.train_loader)
        self.accumulate = max(1, int(global_value(self.config, "accumulate_steps") or 1))
        # wrapped before the optimizer is built; the bare model is evaluated and saved (same keys)
        self.train_model = paddle.DataParallel(self.model) if self.world_size > 1 else self.model
        opt_steps = max(1, self.steps_per_epoch // self.accumulate)
        self.optimizer, self.lr_scheduler = build_optimizer(config["Optimizer"], self.epochs, opt_steps, self.model)
        self.amp = AmpControl(self.g, self.model, self.optimizer)
        self.main_indicator = self.parts.metric.main_indicator
        self.state = {"epoch": 0, "global_step": 0, "best_model_dict": {self.main_indicator: 0}}
        self.early_stop = EarlyStopping(self.g.get("early_stopping"), self.main_indicator)
        self.nan_guard = NonFiniteGuard(self.g.get("nan_policy", "stop"), self.g.get("nan_max_consecutive", 20))
        ema_cfg = self.g.get("ema")
        self.ema = ModelEMA(self.model, **ema_cfg) if ema_cfg else None
        use_vdl = bool(global_value(config, "use_visualdl")) and self.rank == 0
        self.vdl = VisualDLLogger(os.path.join(self.save_dir, "vdl"), use_vdl)

    # ------------------------------------------------------------------ setup
    def restore(self):
        """Global.checkpoints resumes everything; Global.pretrained_model loads weights only."""
        ckpt, pretrained = self.g.get("checkpoints"), self.g.get("pretrained_model")
        if ckpt:
            states = load_checkpoint(ckpt, self.model, self.optimizer,
                                     bool(self.g.get("load_unverified_checkpoint", False)))
            self.state["epoch"] = int(states.get("epoch", 0))
            self.state["global_step"] = int(states.get("global_step", 0))
            self.state["best_model_dict"] = dict(states.get("best_model_dict") or self.state["best_model_dict"])
            self.early_stop.load(states.get("early_stopping"))
            self.amp.load(states.get("amp"))
            self.nan_guard.skipped = int(states.get("nonfinite_skipped", 0) or 0)
            if states.get("position"):
                self.state["position"] = states["position"]
            restore_rng(states.get("rng"))
            if self.ema is not None:
                self.ema.load(states.get("ema"))
            logger.info("resume from %s: epoch %d, global_step %d, best %s", ckpt, self.state["epoch"],
                        self.state["global_step"], self.state["best_model_dict"])
        elif pretrained:
            path = pretrained if pretrained.endswith(".pdparams") else pretrained + ".pdparams"
            if not os.path.exists(path):
                raise FileNotFoundError(
                    f"Global.pretrained_model: '{path}' does not exist; train the run that writes it first "
                    "(e.g. configs/rec/plates_pretrain_warmup.yml before plates_pretrain.yml), point the key at another "
                    ".pdparams, or set it to null (-o Global.pretrained_model=null) to start from scratch")
            notes = load_params_into(self.model, path)
            logger.info("loaded pretrained weights from %s (%d warnings)", path, len(notes))

    def announce(self):
        """Log the plan, and warn when evaluation can never run."""
        total = self.epochs * self.steps_per_epoch
        start, interval = self.eval_start, self.eval_interval
        logger.info("train: %d samples, %d steps/epoch, %d epochs, %d steps in total; world size %d",
                    len(self.train_set), self.steps_per_epoch, self.epochs, total, self.world_size)
        if self.eval_loader is not None:
            first = start + interval if start > 0 else interval
            logger.info("During the training process, after the %dth iteration, an evaluation is run every %d "
                        "iterations", start, interval)
            if first > total:
                logger.warning("evaluation will NEVER run: Global.eval_batch_step=%s but training has only %d "
                               "steps (%d epochs x %d). Lower eval_batch_step, e.g. -o Global.eval_batch_step=[0,%d]",
                               self.g.get("eval_batch_step"), total, self.epochs, self.steps_per_epoch,
                               max(1, self.steps_per_epoch))
        self.amp.announce()

    # ------------------------------------------------------------------ loop
    def fit(self):
        """Train for the configured epochs; returns the best metrics dict."""
        self.restore()
        self.announce()
        stats = TrainingStats(global_value(self.config, "log_smooth_window"))
        self._interrupted = False
        try:
            self._fit_epochs(stats)
        except NonFiniteLoss as err:
            logger.error("%s", err)  # into train.log and VisualDL, so `ppexp diagnose` sees it
            self.vdl.scalars("TRAIN", {"loss": float("nan")}, self.state["global_step"] + 1)
            self.vdl.close()
            raise
        best = self.state["best_model_dict"]
        logger.info("best metric, %s", _fmt_metrics(best))
        self.vdl.close()
        self.record_outputs()
        return best

    def _fit_epochs(self, stats):
        with _SignalGuard(self):
            epoch, skip = self.resume_position()
            while epoch <= self.epochs:
                self.train_loader.batch_sampler.set_epoch(epoch, skip)
                self.log_resolution(epoch)
                stop = self.train_epoch(epoch, stats, first_idx=skip)
                if self._interrupted:
                    self.save_interrupted(epoch)
                    break
                self.state["epoch"] = epoch
                self.end_epoch(epoch)
                if stop:
                    break
                epoch, skip = epoch + 1, 0

    def log_resolution(self, epoch):
        """Train.dataset.resolution_schedule: say (log + VisualDL TRAIN/crop_size) when the crop size changes.
        The dataset applies it itself, from the epoch each sample index carries."""
        schedule = getattr(self.train_set, "resolution", None)
        if schedule is None:
            return
        size = schedule.size_for(epoch)
        if size != getattr(self, "_crop_size", None):
            self._crop_size = size
            logger.info("Train.dataset.resolution_schedule: training crops of %dx%d from epoch %d",
                        size[0], size[1], epoch)
            self.vdl.scalars("TRAIN", {"crop_size": size[0]}, self.state["global_step"] + 1)

    def resume_position(self):
        """(epoch, batches to skip) where training continues."""
        pos = self.state.pop("position", None)
        if pos:
            return int(pos["epoch"]), int(pos["step_in_epoch"])
        return self.state["epoch"] + 1, 0

    def train_epoch(self, epoch, stats, first_idx=0):
        """One pass over the training loader. Returns True to stop training."""
        self.model.train()
        reader_start, reader_cost, batch_cost, samples, steps = time.time(), 0.0, 0.0, 0, 0
        for idx, batch in enumerate(self.train_loader, start=first_idx):
            reader_cost += time.time() - reader_start
            step_start = time.time()
            self.train_step(batch, idx, stats, epoch)
            batch_cost += time.time() - step_start
            samples, steps = samples + batch[0].shape[0], steps + 1
            self.state["global_step"] += 1
            self.state["step_in_epoch"] = idx + 1
            step = self.state["global_step"]
            if step % print_batch_step(self.config) == 0 or idx == self.steps_per_epoch - 1:
                self.log_train(epoch, stats, reader_cost, batch_cost, samples, steps)
                reader_cost, batch_cost, samples, steps = 0.0, 0.0, 0, 0
            if self.should_eval(step) and self.run_eval(epoch):
                return True
            for callback in self.callbacks:
                callback(self, step)
            if self._interrupted:
                return True
            reader_start = time.time()
        return False

    def train_step(self, batch, idx, stats, epoch):
        """Forward, loss, backward; optimizer step every ``accumulate_steps`` batches."""
        images, lr = batch[0], self.optimizer.get_lr()  # the rate this step uses
        with self.amp.autocast():
            preds = self.train_model(images)
            loss = self.parts.loss(preds, batch)["loss"]
        value = float(loss)
        if not np.isfinite(value) and self.nan_guard.skip(value, epoch, self.state["global_step"] + 1, idx, lr,
                                                          self.model):
            self.optimizer.clear_grad()
            return
        self.nan_guard.ok()
        self.amp.backward(loss / self.accumulate if self.accumulate > 1 else loss)
        if (idx + 1) % self.accumulate == 0 or idx == self.steps_per_epoch - 1:
            self.amp.step()
            self.optimizer.clear_grad()
            self.lr_scheduler.step()
            if self.ema is not None:
                self.ema.update(self.model)
        record = {"loss": value, "lr": lr}
        if global_value(self.config, "cal_metric_during_train"):
            labels = batch[1].numpy()
            record.update(self.parts.metric(self.parts.post_process(preds.detach(), labels), batch))
            self.parts.metric.reset()
        stats.update(record)

    # ------------------------------------------------------------------ logging
    def log_train(self, epoch, stats, reader_cost, batch_cost, samples, steps):
        """Upstream's log line over the last ``steps`` steps. Samples and ips count all ranks."""
        done = self.state["global_step"]
        remaining = self.epochs * self.steps_per_epoch - done
        eta = datetime.timedelta(seconds=int((reader_cost + batch_cost) / steps * remaining))
        samples *= self.world_size
        ips = samples / max(1e-9, reader_cost + batch_cost)
        logger.info("epoch: [%d/%d], global_step: %d, %s, avg_reader_cost: %.5f s, avg_batch_cost: %.5f s, "
                    "avg_samples: %.1f, ips: %.5f samples/s, eta: %s", epoch, self.epochs, done, stats.log(),
                    reader_cost / steps, (reader_cost + batch_cost) / steps, samples / steps, ips, eta)
        self.vdl.scalars("TRAIN", dict(stats.get(), samples_per_sec=ips, epoch=epoch), done)

    # ------------------------------------------------------------------ eval
    def should_eval(self, step):
        """Every rank evaluates its shard of the Eval set (no rank idles into gloo's 30 s timeout)."""
        if self.eval_loader is None:
            return False
        return step > self.eval_start and (step - self.eval_start) % self.eval_interval == 0

    def run_eval(self, epoch):
        """Evaluate, update best (saving best_accuracy), early stopping. True = stop."""
        step = self.state["global_step"]
        best = self.state["best_model_dict"]
        with swap_weights(self.model, self.ema):  # with EMA on, the averaged weights are evaluated and saved
            # det eval batches carry no label maps, so no eval loss there
            result = evaluate(self.model, self.eval_loader, self.parts.post_process, self.parts.metric,
                              None if is_det(self.config) else self.parts.loss)
            # a tie does not re-save best_accuracy (the first evaluation always saves it)
            if result[self.main_indicator] > best.get(self.main_indicator, 0) or "best_step" not in best:
                best.clear()
                best.update(result, best_epoch=epoch, best_step=step)
                self.save("best_accuracy", epoch)
        log_skipped(result, logger)
        logger.info("cur metric, %s", _fmt_metrics(result))
        logger.info("best metric, %s", _fmt_metrics(best))
        # upstream's tag: EVAL/best_<main_indicator> (best_acc for rec, best_hmean for det)
        self.vdl.scalars("EVAL", {**result, f"best_{self.main_indicator}": best.get(self.main_indicator, 0)}, step)
        self.vdl.flush()
        if self.early_stop.update(result, step):
            logger.info("early stopping: %s did not improve by more than %s for %d evaluations; stopping",
                        self.early_stop.monitor, self.early_stop.min_delta, self.early_stop.patience)
            return True
        return any([bool(callback(self, result, step)) for callback in self.eval_callbacks])

    # ------------------------------------------------------------------ saving
    def end_epoch(self, epoch):
        drops = self.epoch_drops()
        total = sum(drops.values())
        if total:
            logger.warning("dropped samples this epoch: %d (%s); they were replaced by other samples. "
                           "Run `ppexp check-labels`.", total, ", ".join(f"{k}: {v}" for k, v in drops.items()))
        self.vdl.scalars("TRAIN", {"dropped_samples": total, "skipped_steps": self.nan_guard.skipped},
                         self.state["global_step"])
        if self.nan_guard.skipped:
            logger.warning("steps skipped for a non-finite loss so far (Global.nan_policy: skip): %d",
                           self.nan_guard.skipped)
        self.save("latest", epoch)
        save_step = int(global_value(self.config, "save_epoch_step") or 1)
        if epoch % save_step == 0:
            self.save(f"iter_epoch_{epoch}", epoch)

    def epoch_drops(self):
        """Replaced samples of this epoch by reason, summed over ranks."""
        drops = self.train_set.drops.snapshot_and_reset()
        if self.world_size > 1:
            reasons = list(REASONS)
            counts = paddle.to_tensor(np.array([drops.get(r, 0) for r in reasons], dtype="int64"))
            paddle.distributed.all_reduce(counts)
            drops = {r: int(c) for r, c in zip(reasons, counts.numpy()) if c}
        return drops

    def save_interrupted(self, epoch):
        """Save ``latest`` mid-epoch with the position to continue from."""
        position = {"epoch": epoch, "step_in_epoch": self.state.get("step_in_epoch", 0)}
        self.save("latest", epoch - 1, position)
        logger.info("interrupted at epoch %d, step %d of %d: resume with -o Global.checkpoints=%s",
                    epoch, position["step_in_epoch"], self.steps_per_epoch, os.path.join(self.save_dir, "latest"))

    def save(self, prefix, epoch, position=None):
        if self.rank != 0:
            return
        bad, total = nonfinite_tensors(self.model)
        if bad:  # never let NaN weights become latest / best_accuracy / iter_epoch_N
            raise NonFiniteLoss(f"{bad} of {total} weight tensors are NaN/inf at global_step "
                                f"{self.state['global_step']}; refusing to save '{prefix}' over the last good "
                                "checkpoint. Lower the learning rate or enable gradient clipping (Optimizer.clip_norm)")
        states = {
            "best_model_dict": dict(self.state["best_model_dict"]),
            "epoch": epoch,
            "global_step": self.state["global_step"],
            "early_stopping": self.early_stop.state(),
            "amp": self.amp.state(),
            "rng": capture_rng(),
            "nonfinite_skipped": self.nan_guard.skipped,
        }
        if self.ema is not None:
            states["ema"] = self.ema.state()
        if position:
            states["position"] = position
        written = [save_checkpoint(self.save_dir, prefix, self.model, self.optimizer, states)]
        if prefix == "best_accuracy":
            written.append(save_checkpoint(os.path.join(self.save_dir, "best_model"), "model", self.model,
                                           self.optimizer, states))
        logger.info("save model in %s", os.path.join(self.save_dir, prefix))
        self.record_outputs(*(base + ext for base in written for ext in CKPT_EXTS))

    def record_outputs(self, *paths):
        """Note in .ppexp-written.json what this run wrote, logs included (reset acts only on such files)."""
        if self.rank == 0:
            self.vdl.flush()
            logs = (os.path.join(self.save_dir, "train.log"), self.vdl.path)
            record_written(self.save_dir, [p for p in (*paths, *logs) if p])


def _fmt_metrics(metrics):
    return ", ".join(f"{k}: {v}" for k, v in metrics.items())


class _SignalGuard:
    """SIGINT/SIGTERM finish the current step, save ``latest`` and stop cleanly."""

    def __init__(self, trainer):
        self.trainer = trainer
        self.previous = {}

    def __enter__(self):
        import signal

        def handler(signum, frame):
            if self.trainer._interrupted:
                raise KeyboardInterrupt
            logger.warning("signal %d received: saving 'latest' after this step and stopping", signum)
            self.trainer._interrupted = True

        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.previous[sig] = signal.signal(sig, handler)
            except ValueError:  # not the main thread
                pass
        return self

    def __exit__(self, *exc):
        import signal

        for sig, prev in self.previous.items():
            signal.signal(sig, prev)
        return False


def train(config, config_path=None, callbacks=(), eval_callbacks=()):
    """Entry point used by tools/train.py, ``ppexp train`` and ``ppexp tune``'s trials."""
    save_dir = save_model_dir(config)
    if paddle.distributed.get_rank() != 0:
        return Trainer(config, callbacks, eval_callbacks).fit()
    with run_lock(save_dir):
        removed = remove_stale_temps(save_dir)
        if removed:
            logger.info("removed %d temporary file(s) of interrupted checkpoint saves, e.g. %s",
                        len(removed), removed[0])
        dump_config(config, os.path.join(save_dir, "config.yml"))
        record_written(save_dir, [os.path.join(save_dir, "config.yml"), write_env_json(config, save_dir)])
        return Trainer(config, callbacks, eval_callbacks).fit()
