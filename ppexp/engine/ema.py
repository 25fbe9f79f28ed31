"""Exponential moving average of model weights (``Global.ema: {decay: 0.9999}``)."""
import paddle


class ModelEMA:
    """shadow = d * shadow + (1 - d) * weight after each optimizer step, with the usual
    warm-up d_n = min(decay, (1 + n) / (10 + n)) so early averages are not stuck at init.
    Buffers (BatchNorm statistics) are copied, not averaged."""

    def __init__(self, model, decay=0.9999, warmup=True):
        if not 0.0 < float(decay) < 1.0:
            raise ValueError(f"Global.ema.decay must be in (0, 1), got {decay!r}")
        self.decay = float(decay)
        self.warmup = warmup
        self.updates = 0
        self.param_names = {name for name, _ in model.named_parameters()}
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def current_decay(self):
        if not self.warmup:
            return self.decay
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    @paddle.no_grad()
    def update(self, model):
        d = self.current_decay()
        self.updates += 1
        for key, value in model.state_dict().items():
            if key in self.param_names and value.dtype in (paddle.float32, paddle.float64):
                self.shadow[key].set_value(self.shadow[key] * d + value.detach() * (1.0 - d))
            else:
                self.shadow[key].set_value(value.detach())

    def state(self):
        return {"decay": self.decay, "updates": self.updates,
                "shadow": {k: v.numpy() for k, v in self.shadow.items()}}

    def load(self, state):
        if not state:
            return
        self.updates = int(state.get("updates", 0))
        for key, value in (state.get("shadow") or {}).items():
            if key in self.shadow and list(self.shadow[key].shape) == list(value.shape):
                self.shadow[key].set_value(paddle.to_tensor(value))


class swap_weights:
    """Context manager: the model holds the EMA weights inside the block."""

    def __init__(self, model, ema):
        self.model, self.ema, self.saved = model, ema, None

    def __enter__(self):
        if self.ema is not None:
            self.saved = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self.model.set_state_dict(self.ema.shadow)
        return self.model

    def __exit__(self, *exc):
        if self.saved is not None:
            self.model.set_state_dict(self.saved)
        return False
