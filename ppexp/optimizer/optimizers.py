"""Optimizer builders: config keys -> ``paddle.optimizer`` objects.

Every builder receives, from code rather than config: ``learning_rate`` (the
schedule), ``named_params`` (trainable ``(name, param)`` pairs), ``decay`` (the
``regularizer:`` section as a :class:`Decay`, or None) and ``grad_clip``.
"""
from collections import namedtuple

import paddle
from paddle import optimizer as optim

from ppexp.optimizer.registry import OPTIMIZERS

class Decay(namedtuple("Decay", "kind factor")):
    """``regularizer: {name: L1|L2, factor}``; ``kind`` is 'L1' or 'L2'."""

    def paddle(self):
        """The paddle regularizer, or None when ``factor`` is 0."""
        if not self.factor:
            return None
        cls = paddle.regularizer.L1Decay if self.kind == "L1" else paddle.regularizer.L2Decay
        return cls(self.factor)


def _coupled_decay(decay, weight_decay):
    """Regularizer for non-AdamW optimizers; a bare ``weight_decay`` is an L2 factor (upstream)."""
    if decay is not None and weight_decay is not None:
        raise ValueError("Optimizer: give regularizer or weight_decay, not both")
    if weight_decay is not None:
        decay = Decay("L2", weight_decay)
    return decay.paddle() if decay is not None else None


def _params(named_params):
    return [p for _, p in named_params]


@OPTIMIZERS.register()
def Adam(learning_rate, named_params, decay, grad_clip, beta1: float = 0.9, beta2: float = 0.999,
         epsilon: float = 1e-8, weight_decay: float = None, lazy_mode: bool = False,
         multi_precision: bool = False, amsgrad: bool = False):
    """paddle.optimizer.Adam; the regularizer adds L1/L2 decay to the gradient."""
    return optim.Adam(learning_rate=learning_rate, beta1=beta1, beta2=beta2, epsilon=epsilon,
                      parameters=_params(named_params),
                      weight_decay=_coupled_decay(decay, weight_decay), grad_clip=grad_clip,
                      lazy_mode=lazy_mode, multi_precision=multi_precision, amsgrad=amsgrad)


@OPTIMIZERS.register()
def AdamW(learning_rate, named_params, decay, grad_clip, beta1: float = 0.9, beta2: float = 0.999,
          epsilon: float = 1e-8, weight_decay: float = None, no_weight_decay_name: str = None,
          one_dim_param_no_weight_decay: bool = False, lazy_mode: bool = False,
          multi_precision: bool = False, amsgrad: bool = False):
    """paddle.optimizer.AdamW with decoupled ``weight_decay`` (default 0.01; an L2
    ``regularizer.factor`` is used as the coefficient, as upstream).

    ``no_weight_decay_name``: space-separated substrings of structured parameter
    names (e.g. ``"norm bias"``) excluded from decay; ``one_dim_param_no_weight_decay``
    also excludes every 1-D parameter.
    """
    if decay is not None:
        if weight_decay is not None:
            raise ValueError("Optimizer: give regularizer or weight_decay, not both")
        if decay.kind != "L2":
            raise ValueError("Optimizer.regularizer: AdamW supports only L2 (decoupled) decay")
        weight_decay = decay.factor
    substrings = (no_weight_decay_name or "").split()
    skip = {p.name for n, p in named_params
            if any(s in n for s in substrings)
            or (one_dim_param_no_weight_decay and len(p.shape) == 1)}
    return optim.AdamW(learning_rate=learning_rate, beta1=beta1, beta2=beta2, epsilon=epsilon,
                       parameters=_params(named_params),
                       weight_decay=0.01 if weight_decay is None else weight_decay,
                       apply_decay_param_fun=lambda name: name not in skip,
                       grad_clip=grad_clip, lazy_mode=lazy_mode,
                       multi_precision=multi_precision, amsgrad=amsgrad)


@OPTIMIZERS.register()
def Momentum(learning_rate, named_params, decay, grad_clip, momentum: float,
             use_nesterov: bool = False, weight_decay: float = None,
             multi_precision: bool = False):
    """paddle.optimizer.Momentum (``momentum`` is required, as upstream)."""
    return optim.Momentum(learning_rate=learning_rate, momentum=momentum,
                          parameters=_params(named_params), use_nesterov=use_nesterov,
                          weight_decay=_coupled_decay(decay, weight_decay),
                          grad_clip=grad_clip, multi_precision=multi_precision)


@OPTIMIZERS.register()
def RMSProp(learning_rate, named_params, decay, grad_clip, rho: float = 0.95,
            epsilon: float = 1e-6, momentum: float = 0.0, centered: bool = False,
            weight_decay: float = None):
    """paddle.optimizer.RMSProp with upstream's defaults."""
    return optim.RMSProp(learning_rate=learning_rate, rho=rho, epsilon=epsilon,
                         momentum=momentum, centered=centered,
                         parameters=_params(named_params),
                         weight_decay=_coupled_decay(decay, weight_decay), grad_clip=grad_clip)


@OPTIMIZERS.register()
def SGD(learning_rate, named_params, decay, grad_clip, weight_decay: float = None,
        multi_precision: bool = False):
    """paddle.optimizer.SGD."""
    return optim.SGD(learning_rate=learning_rate, parameters=_params(named_params),
                     weight_decay=_coupled_decay(decay, weight_decay), grad_clip=grad_clip,
                     multi_precision=multi_precision)
