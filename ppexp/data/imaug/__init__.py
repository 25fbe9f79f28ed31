"""Data transforms. Importing this package registers every transform module."""
import inspect
import logging
import difflib

from ppexp.data.imaug.registry import TRANSFORMS
from ppexp.data.imaug import operators, label_ops, rec_resize, two_line  # noqa: F401  (registration)
from ppexp.data.imaug import (  # noqa: F401  (registration: detection)
    det_label_ops, iaa_augment, random_crop_data, make_border_map, make_shrink_map, det_resize, copy_paste)

logger = logging.getLogger("ppexp")

_OPTIONAL_MODULES = ["rec_aug", "randaugment", "rec_con_aug"]
for _name in _OPTIONAL_MODULES:
    try:
        __import__(f"ppexp.data.imaug.{_name}")
    except ModuleNotFoundError as err:
        if err.name != f"ppexp.data.imaug.{_name}":
            raise


def _accepted_params(cls):
    sig = inspect.signature(cls.__init__)
    params = [p for p in sig.parameters.values() if p.name != "self"]
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params)
    return {p.name for p in params if p.kind is not p.VAR_KEYWORD}, takes_any


def build_transform(name, params, global_config=None, where="transforms"):
    """Build one transform. Global keys fill parameters the transform accepts;
    user parameters it does not accept are warned about (did-you-mean), not dropped silently."""
    cls = TRANSFORMS.get(name)
    accepted, takes_any = _accepted_params(cls)
    kwargs = {k: v for k, v in (global_config or {}).items() if k in accepted or takes_any}
    for key, value in (params or {}).items():
        if key in accepted or takes_any:
            kwargs[key] = value
        else:
            close = difflib.get_close_matches(key, sorted(accepted), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            logger.warning("%s: %s does not take '%s'%s; ignored", where, name, key, hint)
    return cls(**kwargs)


def create_operators(op_list, global_config=None, where="transforms"):
    """Build the transform list of a dataset config (``- Name: {params}`` items)."""
    if not isinstance(op_list, list):
        raise ValueError(f"{where} must be a list of '- Name: {{params}}' items")
    ops = []
    for i, item in enumerate(op_list):
        if not isinstance(item, dict) or len(item) != 1:
            raise ValueError(f"{where}[{i}] must be a one-key mapping like '- RecResizeImg: {{...}}', got {item!r}")
        (name, params), = item.items()
        ops.append(build_transform(name, params, global_config, f"{where}[{i}]"))
    return ops


def transform(data, ops):
    """Run ``ops`` in order; None as soon as one rejects the sample."""
    for op in ops:
        data = op(data)
        if data is None:
            return None
    return data
