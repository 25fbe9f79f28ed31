"""Registries of model parts, looked up by the config's ``name``, and the check of their options."""
import difflib
import inspect

from ppexp.utils.registry import Registry

BACKBONES = Registry("backbone")
NECKS = Registry("neck")
HEADS = Registry("head")
TRANSFORMS = Registry("transform module")


def accepted_kwargs(cls):
    """Names accepted by ``cls.__init__``, or None when it takes ``**kwargs``."""
    params = inspect.signature(cls.__init__).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.name != "self"]


def reject_unknown_options(where, keys, accepted):
    """Raise ValueError naming the first key not in ``accepted``, a close match and the accepted options."""
    for key in keys:
        if key not in accepted:
            close = difflib.get_close_matches(key, accepted, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ValueError(f"{where} has no option '{key}'.{hint} Accepted: {', '.join(accepted)}")
