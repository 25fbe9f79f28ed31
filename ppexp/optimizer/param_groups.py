"""Per-part learning-rate multipliers (``Optimizer.param_groups``)."""
from ppexp.utils.registry import checked_options

WHERE = "Optimizer.param_groups"
_BASE = "_ppexp_base_lr_mult"


def param_group(prefix: str, lr_mult: float):
    """Signature of one ``{prefix, lr_mult}`` entry (used for key checking)."""


def _matches(name, prefix):
    prefix = prefix.rstrip(".")
    return name == prefix or name.startswith(prefix + ".")


def top_level_prefixes(model):
    """First component of each parameter name, in model order."""
    return list(dict.fromkeys(n.split(".")[0] for n, _ in model.named_parameters()))


def apply_param_groups(model, groups):
    """Scale each matched parameter's ``optimize_attr['learning_rate']`` by its ``lr_mult``.

    ``groups``: ``[{prefix: backbone, lr_mult: 0.1}, ...]``; a prefix matches
    ``named_parameters`` names at a dot boundary, the longest matching prefix wins.
    The multiplier applies on top of any ParamAttr learning_rate and is idempotent
    (calling again re-applies from the original value). Returns {prefix: n_params}.
    An unmatched prefix raises ValueError listing the model's top-level prefixes.
    """
    parsed = _parse(groups)
    counts = {g["prefix"]: 0 for g in parsed}
    plan = []
    for name, param in model.named_parameters():
        hits = [g for g in parsed if _matches(name, g["prefix"])]
        for g in hits:
            counts[g["prefix"]] += 1
        best = max(hits, key=lambda g: len(g["prefix"].rstrip("."))) if hits else None
        plan.append((param, best["lr_mult"] if best else 1.0))
    missing = [p for p, n in counts.items() if n == 0]
    if missing:
        raise ValueError(f"{WHERE}: prefix {missing[0]!r} matches no parameter. "
                         f"Top-level prefixes: {', '.join(top_level_prefixes(model))}")
    for param, mult in plan:
        base = getattr(param, _BASE, param.optimize_attr.get("learning_rate", 1.0))
        setattr(param, _BASE, base)
        param.optimize_attr["learning_rate"] = base * mult
    return counts


def _parse(groups):
    if not isinstance(groups, (list, tuple)) or not all(isinstance(g, dict) for g in groups):
        raise ValueError(f"{WHERE}: expected a list of {{prefix, lr_mult}} mappings, "
                         f"got {groups!r}")
    parsed = [checked_options(param_group, g, f"{WHERE}[{i}]", "param_group", typed=True)
              for i, g in enumerate(groups)]
    for i, g in enumerate(parsed):
        if g["lr_mult"] < 0:
            raise ValueError(f"{WHERE}[{i}].lr_mult: expected >= 0, got {g['lr_mult']}")
    return parsed
