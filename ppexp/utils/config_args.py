"""Type conversion of config options by a builder's annotations (Registry.build of a typed registry).

PaddleOCR's configs give numbers as YAML reads them: ``1e-3`` is a string to PyYAML, so numbers
given as strings are accepted; anything else that is not a number raises ValueError naming the
config key. Unannotated options pass as they are.
"""
import math
import typing


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


def convert_options(params, options, section, name):
    """``options`` converted to the annotations of ``params`` ({name: inspect.Parameter}).

    A None option stays None where the default is None; a parameter without a default that the
    options leave out raises ValueError (``<section>.<key>: required for <name>``).
    """
    out = {}
    for key, value in options.items():
        param = params[key]
        if value is None and param.default is None:
            out[key] = None
        else:
            out[key] = coerce(value, param.annotation, f"{section}.{key}")
    for key, param in params.items():
        if param.default is param.empty and key not in out:
            raise ValueError(f"{section}.{key}: required for {name}")
    return out
