"""Training controls: eval schedule, AMP, early stopping, non-finite loss."""
import contextlib
import logging

import paddle

from ppexp.errors import UserError

logger = logging.getLogger("ppexp")


class NonFiniteLoss(UserError, FloatingPointError):
    """The loss became NaN/inf; the message gives step, batch and what to try."""


def eval_schedule(value):
    """``eval_batch_step``: int N (every N steps) or [start, interval] -> (start, interval)."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"Global.eval_batch_step must be an int or [start, interval], got {value!r}")
        start, interval = int(value[0]), int(value[1])
    else:
        start, interval = 0, int(value)
    if interval <= 0:
        raise ValueError(f"Global.eval_batch_step interval must be > 0, got {value!r}")
    return start, interval


class AmpControl:
    """Upstream's AMP keys. On CPU they are accepted and reported as ignored."""

    def __init__(self, g, model, optimizer):
        self.enabled = bool(g.get("use_amp", False))
        self.level = g.get("amp_level", "O1")
        self.dtype = g.get("amp_dtype", "float16")
        self.black_list = g.get("amp_custom_black_list") or []
        self.white_list = g.get("amp_custom_white_list") or []
        self.optimizer = optimizer
        self.on_gpu = paddle.device.is_compiled_with_cuda() and "gpu" in paddle.device.get_device()
        self.scaler = None
        if self.enabled and self.on_gpu:
            self.scaler = paddle.amp.GradScaler(
                init_loss_scaling=float(g.get("scale_loss", 1.0)),
                use_dynamic_loss_scaling=bool(g.get("use_dynamic_loss_scaling", False)))
            if self.level == "O2":
                paddle.amp.decorate(models=model, optimizers=optimizer, level="O2", dtype=self.dtype)

    @property
    def active(self):
        return self.scaler is not None

    def announce(self):
        if self.enabled and not self.active:
            logger.warning("Global.use_amp is set but training runs on CPU: AMP is ignored (full float32)")
        elif self.active:
            logger.info("AMP on: level %s, dtype %s", self.level, self.dtype)

    def autocast(self):
        if not self.active:
            return contextlib.nullcontext()
        return paddle.amp.auto_cast(level=self.level, dtype=self.dtype,
                                    custom_black_list=self.black_list, custom_white_list=self.white_list)

    def backward(self, loss):
        (self.scaler.scale(loss) if self.active else loss).backward()

    def step(self):
        if self.active:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()

    def state(self):
        return self.scaler.state_dict() if self.active else None

    def load(self, state):
        if self.active and state:
            self.scaler.load_state_dict(state)


class EarlyStopping:
    """``Global.early_stopping: {patience: 5, min_delta: 0, monitor: acc}`` on eval results."""

    def __init__(self, cfg, default_monitor="acc"):
        cfg = cfg or {}
        self.enabled = bool(cfg) and cfg.get("enabled", True)
        self.patience = int(cfg.get("patience", 5))
        self.min_delta = float(cfg.get("min_delta", 0.0))
        self.monitor = cfg.get("monitor", default_monitor)
        self.mode = cfg.get("mode", "min" if self.monitor == "loss" else "max")
        self.best = None
        self.bad_evals = 0

    def _improved(self, value):
        if self.best is None:
            return True
        if self.mode == "max":
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def update(self, result, step):
        """Record an eval result; True when training should stop."""
        if not self.enabled:
            return False
        if self.monitor not in result:
            raise KeyError(f"Global.early_stopping.monitor '{self.monitor}' is not an eval metric "
                           f"(have: {', '.join(result)})")
        value = float(result[self.monitor])
        if self._improved(value):
            self.best, self.bad_evals = value, 0
        else:
            self.bad_evals += 1
            logger.info("early stopping: no improvement of %s for %d/%d evaluations (best %.6f)",
                        self.monitor, self.bad_evals, self.patience, self.best)
        return self.bad_evals >= self.patience

    def state(self):
        return {"best": self.best, "bad_evals": self.bad_evals}

    def load(self, state):
        if state:
            self.best, self.bad_evals = state.get("best"), int(state.get("bad_evals", 0))


def nonfinite_tensors(model):
    """(number of float weight tensors holding NaN/inf, number of float weight tensors)."""
    bad = total = 0
    for value in model.state_dict().values():
        if value.dtype in (paddle.float16, paddle.bfloat16, paddle.float32, paddle.float64):
            total += 1
            bad += int(not bool(paddle.isfinite(value).all()))
    return bad, total


class NonFiniteGuard:
    """``Global.nan_policy``: 'stop' (default) raises NonFiniteLoss with step and batch;
    'skip' drops the step, logs it and stops after ``Global.nan_max_consecutive`` (20) in a row,
    or at once when the weights themselves went non-finite (skipping cannot recover them)."""

    def __init__(self, policy="stop", max_consecutive=20):
        if policy not in ("stop", "skip"):
            raise ValueError(f"Global.nan_policy must be 'stop' or 'skip', got {policy!r}")
        if int(max_consecutive) < 1:
            raise ValueError(f"Global.nan_max_consecutive must be >= 1, got {max_consecutive!r}")
        self.policy = policy
        self.max_consecutive = max_consecutive
        self.skipped = 0
        self.consecutive = 0

    def message(self, value, epoch, step, batch_idx, lr):
        return (f"loss is {value} at epoch {epoch}, global_step {step}, batch {batch_idx} (lr {lr:.3g}). "
                "Lower the learning rate, enable gradient clipping (Optimizer.clip_norm), or check the labels "
                "with `ppexp check-labels`.")

    def skip(self, value, epoch, step, batch_idx, lr, model=None):
        """Called for a non-finite loss: True = skip this step; raises under 'stop'."""
        text = self.message(value, epoch, step, batch_idx, lr)
        if self.policy == "stop":
            raise NonFiniteLoss(text + " (Global.nan_policy: skip would drop such steps instead)")
        self.skipped += 1
        self.consecutive += 1
        bad, total = nonfinite_tensors(model) if model is not None else (0, 0)
        if bad:
            raise NonFiniteLoss(f"{bad} of {total} weight tensors are NaN/inf, so skipping steps cannot recover; "
                                f"stopping after {self.skipped} skipped step(s) (nothing non-finite is saved). "
                                f"Last: {text}")
        logger.warning("skipping step: %s [%d skipped so far]", text, self.skipped)
        if self.consecutive >= self.max_consecutive:
            raise NonFiniteLoss(f"{self.consecutive} consecutive non-finite losses (Global.nan_max_consecutive: "
                                f"{self.max_consecutive}); stopping. Last: {text}")
        return True

    def ok(self):
        self.consecutive = 0
