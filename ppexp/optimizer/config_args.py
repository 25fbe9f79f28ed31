"""Check and coerce config keyword arguments against a builder's signature.

YAML reads ``1e-3`` as a string, so numbers given as strings are accepted;
anything else that is not a number raises ValueError naming the config key.
"""
import difflib
import inspect
import math
import typing

_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def to_float(value, key):
    """``value`` as a finite float; ValueError naming ``key`` otherwise."""
    if not isinstance(value, bool):
        try:
            number = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            number = None
        if number is not None and math.isfinite(number):
            return number
    raise ValueError(f"{key}: expected a number, got {value!r}")


def to_int(value, key):
    """``value`` as an int (``'3e3'`` and ``3000.0`` are fine, ``2.5`` is not)."""
    number = to_float(value, key)
    if not number.is_integer():
        raise ValueError(f"{key}: expected a whole number, got {value!r}")
    return int(number)


def coerce(value, kind, key):
    """Coerce one config value to the annotated ``kind`` (float, int, bool, str, list[...])."""
    if kind is float:
        return to_float(value, key)
    if kind is int:
        return to_int(value, key)
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ValueError(f"{key}: expected true or false, got {value!r}")
    if kind is str:
        if isinstance(value, str):
            return value
        raise ValueError(f"{key}: expected a string, got {value!r}")
    if typing.get_origin(kind) is list:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{key}: expected a list, got {value!r}")
        (item,) = typing.get_args(kind)
        return [coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    return value


def accepted_params(builder):
    """Named parameters of a function or class; a class's ``**kwargs`` adds its base's."""
    params = {}
    for p in inspect.signature(builder).parameters.values():
        if p.kind in _KINDS:
            params[p.name] = p
        elif p.kind == p.VAR_KEYWORD and isinstance(builder, type):
            params.update(accepted_params(builder.__mro__[1]))
    return params


def check_kwargs(builder, config, where, injected=()):
    """Validated, coerced copy of ``config`` (without ``name``) for ``builder``.

    ``injected`` names are supplied by code, not by the config.
    """
    name = config.get("name", getattr(builder, "__name__", "?"))
    params = {k: p for k, p in accepted_params(builder).items() if k not in injected}
    out = {}
    for key, value in config.items():
        if key == "name":
            continue
        if key not in params:
            close = difflib.get_close_matches(key, list(params), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ValueError(f"{where}.{key}: unknown key for {name}.{hint} "
                             f"Accepted keys: {', '.join(params) or '(none)'}")
        param = params[key]
        if value is None and param.default is None:
            out[key] = None
        else:
            out[key] = coerce(value, param.annotation, f"{where}.{key}")
    for key, param in params.items():
        if param.default is param.empty and key not in out:
            raise ValueError(f"{where}.{key}: required for {name}")
    return out
