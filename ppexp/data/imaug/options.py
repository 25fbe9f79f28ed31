"""Reading a transform's numeric options from a config, with errors that name the step and the key."""
from ppexp.errors import UsageError


def number_option(step, key, value, lo=None, hi=None, whole=False):
    """``value`` of option ``step.key`` as a float (an int when ``whole``), within [lo, hi] when given."""
    try:
        number = int(value) if whole else float(value)
    except (TypeError, ValueError):
        kind = "a whole number" if whole else "a number"
        raise UsageError(f"{step}.{key} must be {kind}, got {value!r}; remove it for the default") from None
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        bound = f"between {lo:g} and {hi:g}" if hi is not None else f"at least {lo:g}"
        raise UsageError(f"{step}.{key} must be {bound}, got {number:g}; remove it for the default")
    return number
