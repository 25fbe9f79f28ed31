"""Learning-rate schedules, stepped once per iteration (upstream ``by_epoch=False``).

Each schedule is a closed form of the step count ``last_epoch``, so
``state_dict()`` / ``set_state_dict()`` (last_epoch, last_lr) fully restore it.
Keys given in epochs (warmup_epoch, step_size, milestones, decay_epochs, cycle)
are converted to steps with ``step_each_epoch``, as upstream PaddleOCR does.
Warmup is linear from ``start_lr`` to the peak, then the decay curve starts at
its own step 0 (upstream ``paddle.optimizer.lr.LinearWarmup`` semantics).

State (the .pdopt's ``LR_Scheduler``) is written in upstream's format, so upstream's trainer resumes
it: ``last_epoch`` / ``last_lr``, plus, with a warmup, the state of the schedule upstream wraps in
paddle's LinearWarmup (``LinearWarmup_LR``: its own step t - warmup, never below 0, and rate).
Upstream's Const is a plain float (no state; with a warmup, LinearWarmup around a float, no
``LinearWarmup_LR``), and its LinearWarmupCosine does its own warmup.
"""
import bisect
import math

from paddle.optimizer.lr import LRScheduler

from ppexp.optimizer.registry import LR_SCHEDULES

WHERE = "Optimizer.lr"


def _cosine(high, low, t, period):
    """Half cosine from ``high`` (t=0) to ``low`` (t=period)."""
    return low + (high - low) * 0.5 * (1.0 + math.cos(math.pi * t / period))


def _to_steps(epochs, step_each_epoch):
    return max(1, round(epochs * step_each_epoch))


class WarmupSchedule(LRScheduler):
    """Base: optional linear warmup, then ``decay(t)`` with t counted from warmup's end."""

    # upstream puts a schedule object inside paddle's LinearWarmup when warmup_epoch > 0
    wrapped_in_linear_warmup = True

    def __init__(self, peak, /, *, epochs: int, step_each_epoch: int, warmup_epoch: float = 0.0,
                 warmup_steps: int = 0, start_lr: float = 0.0, last_epoch: int = -1):
        if warmup_epoch and warmup_steps:
            raise ValueError(f"{WHERE}: give warmup_epoch or warmup_steps, not both")
        if warmup_epoch < 0 or warmup_steps < 0:
            raise ValueError(f"{WHERE}: warmup must be >= 0")
        self.peak = float(peak)
        self.start_lr = start_lr
        self.total_steps = max(1, epochs * step_each_epoch)
        self.warmup_steps = round(warmup_epoch * step_each_epoch) if warmup_epoch else warmup_steps
        super().__init__(self.peak, last_epoch)

    def get_lr(self):
        t = self.last_epoch
        if t < self.warmup_steps:
            return self.start_lr + (self.peak - self.start_lr) * t / self.warmup_steps
        return self.decay(t - self.warmup_steps)

    def decay(self, t):
        raise NotImplementedError

    def state_dict(self):
        state = super().state_dict()
        if self.warmup_steps and self.wrapped_in_linear_warmup:
            inner = max(0, self.last_epoch - self.warmup_steps)
            state["LinearWarmup_LR"] = {"last_epoch": inner, "last_lr": self.decay(inner)}
        return state

    def set_state_dict(self, state_dict):
        """Upstream's or ppexp's state: the inner ``LinearWarmup_LR`` follows from ``last_epoch``."""
        state_dict = {k: v for k, v in state_dict.items() if k != "LinearWarmup_LR"}
        super().set_state_dict(state_dict)


@LR_SCHEDULES.register()
class Const(WarmupSchedule):
    """Constant ``learning_rate`` (after the optional warmup)."""

    wrapped_in_linear_warmup = False

    def __init__(self, learning_rate: float, **common):
        super().__init__(learning_rate, **common)

    def decay(self, t):
        return self.peak


@LR_SCHEDULES.register()
class Cosine(WarmupSchedule):
    """Cosine annealing over epochs*step_each_epoch steps down to ``min_lr`` (eta_min)."""

    def __init__(self, learning_rate: float, min_lr: float = 0.0, **common):
        self.min_lr = min_lr
        super().__init__(learning_rate, **common)

    def decay(self, t):
        return _cosine(self.peak, self.min_lr, min(t, self.total_steps), self.total_steps)


@LR_SCHEDULES.register()
class LinearWarmupCosine(WarmupSchedule):
    """Warmup, then cosine from ``learning_rate`` to ``min_lr`` over the remaining steps."""

    wrapped_in_linear_warmup = False

    def __init__(self, learning_rate: float, min_lr: float = 0.0, **common):
        self.min_lr = min_lr
        super().__init__(learning_rate, **common)

    def decay(self, t):
        span = max(1, self.total_steps - self.warmup_steps)
        return _cosine(self.peak, self.min_lr, min(t, span), span)


@LR_SCHEDULES.register()
class CyclicalCosine(WarmupSchedule):
    """Cosine restarted every ``cycle`` epochs, between ``learning_rate`` and ``min_lr``."""

    def __init__(self, learning_rate: float, cycle: float, min_lr: float = 0.0, **common):
        self.min_lr = min_lr
        self.cycle = _to_steps(cycle, common["step_each_epoch"])
        super().__init__(learning_rate, **common)

    def decay(self, t):
        return _cosine(self.peak, self.min_lr, t % self.cycle, self.cycle)


@LR_SCHEDULES.register(aliases=("StepDecay",))
class Step(WarmupSchedule):
    """Multiply by ``gamma`` every ``step_size`` epochs; never below ``min_lr``."""

    def __init__(self, learning_rate: float, step_size: float, gamma: float = 0.1,
                 min_lr: float = 0.0, **common):
        self.gamma, self.min_lr = gamma, min_lr
        self.step_size = _to_steps(step_size, common["step_each_epoch"])
        super().__init__(learning_rate, **common)

    def decay(self, t):
        return max(self.peak * self.gamma ** (t // self.step_size), self.min_lr)


@LR_SCHEDULES.register()
class MultiStepDecay(WarmupSchedule):
    """Multiply by ``gamma`` at each of ``milestones`` (epochs); never below ``min_lr``."""

    def __init__(self, learning_rate: float, milestones: list[float], gamma: float = 0.1,
                 min_lr: float = 0.0, **common):
        self.gamma, self.min_lr = gamma, min_lr
        self.milestones = sorted(round(m * common["step_each_epoch"]) for m in milestones)
        super().__init__(learning_rate, **common)

    def decay(self, t):
        return max(self.peak * self.gamma ** bisect.bisect_right(self.milestones, t), self.min_lr)


@LR_SCHEDULES.register()
class Piecewise(WarmupSchedule):
    """``values[i]`` between consecutive ``decay_epochs`` boundaries."""

    def __init__(self, decay_epochs: list[float], values: list[float], **common):
        if len(values) != len(decay_epochs) + 1:
            raise ValueError(f"{WHERE}.values: expected len(decay_epochs) + 1 = "
                             f"{len(decay_epochs) + 1} values, got {len(values)}")
        self.values = values
        self.boundaries = sorted(round(e * common["step_each_epoch"]) for e in decay_epochs)
        super().__init__(values[0], **common)

    def decay(self, t):
        return self.values[bisect.bisect_right(self.boundaries, t)]


@LR_SCHEDULES.register()
class Linear(WarmupSchedule):
    """Polynomial decay ``(lr - end_lr) * (1 - t/T) ** power + end_lr`` over T total steps."""

    def __init__(self, learning_rate: float, end_lr: float = 0.0, power: float = 1.0, **common):
        self.end_lr, self.power = end_lr, power
        super().__init__(learning_rate, **common)

    def decay(self, t):
        frac = 1.0 - min(t, self.total_steps) / self.total_steps
        return (self.peak - self.end_lr) * frac ** self.power + self.end_lr


@LR_SCHEDULES.register()
class OneCycle(WarmupSchedule):
    """One-cycle policy (upstream OneCycleDecay): ``max_lr/div_factor`` up to ``max_lr``
    over ``pct_start`` of the steps, then down to ``max_lr/div_factor/final_div_factor``.

    As upstream, an optional warmup rises to ``max_lr`` before the cycle starts.
    """

    def __init__(self, max_lr: float, pct_start: float = 0.3, anneal_strategy: str = "cos",
                 div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False, **common):
        if not 0.0 <= pct_start <= 1.0:
            raise ValueError(f"{WHERE}.pct_start: expected a value in [0, 1], got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{WHERE}.anneal_strategy: expected 'cos' or 'linear', "
                             f"got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        total = max(1, common["epochs"] * common["step_each_epoch"])
        low = max_lr / div_factor
        end = low / final_div_factor
        rise = pct_start * total - 1
        if three_phase:
            self.phases = [(rise, low, max_lr), (2 * pct_start * total - 2, max_lr, low),
                           (total - 1, low, end)]
        else:
            self.phases = [(rise, low, max_lr), (total - 1, max_lr, end)]
        super().__init__(max_lr, **common)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "linear":
            return start + (end - start) * pct
        return _cosine(start, end, pct, 1.0)

    def decay(self, t):
        begin = 0.0
        for i, (stop, start_lr, end_lr) in enumerate(self.phases):
            if t <= stop or i == len(self.phases) - 1:
                pct = min(1.0, (t - begin) / (stop - begin)) if stop > begin else 1.0
                return self._anneal(start_lr, end_lr, pct)
            begin = stop
        return self.phases[-1][2]
