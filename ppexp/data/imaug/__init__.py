"""Data transforms. Importing this package registers every transform module."""
from ppexp.data.imaug.registry import TRANSFORMS
from ppexp.data.imaug import operators, label_ops, rec_resize, two_line, deskew, crop_to_text, shrink  # noqa: F401
from ppexp.data.imaug import (  # noqa: F401  (registration: detection)
    det_label_ops, iaa_augment, random_crop_data, make_border_map, make_shrink_map, det_resize, copy_paste)

_OPTIONAL_MODULES = ["rec_aug", "randaugment", "rec_con_aug"]
for _name in _OPTIONAL_MODULES:
    try:
        __import__(f"ppexp.data.imaug.{_name}")
    except ModuleNotFoundError as err:
        if err.name != f"ppexp.data.imaug.{_name}":
            raise


def build_transform(name, params, global_config=None, where="transforms"):
    """Build one transform. Global keys fill parameters the transform accepts; user parameters
    it does not accept are warned about (did-you-mean) and left out (upstream ignores them too)."""
    from ppexp.utils.registry import accepted_options

    params = params or {}
    accepted = accepted_options(TRANSFORMS.get(name))
    shared = {k: v for k, v in (global_config or {}).items()      # passed as they are (the run's charset)
              if (accepted is None or k in accepted) and k not in params}
    return TRANSFORMS.build({**params, "name": name}, where=where, strict=False, **shared)


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
