"""Explicit name -> class registries, one per pipeline stage, and the one way to build a part.

Upstream PaddleOCR builds parts with ``eval(name)(**config)``; ppexp keeps a
registry per stage so an unknown name fails with the list of known ones, and
:meth:`Registry.build` checks a part's options against its constructor's signature
(did-you-mean; ``strict`` raises, otherwise the option is warned about and left out).
A ``typed`` registry (optimizers, LR schedules) also converts each option to its annotation
(utils/config_args.py: ``"1e-3"`` is a number), requires the options without a default, and
reads a class's ``**kwargs`` as its base class's options.
"""
import copy
import difflib
import inspect
import logging

from ppexp.utils.config_args import convert_options

logger = logging.getLogger("ppexp")
_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def accepted_params(builder, follow_base=False):
    """{name: inspect.Parameter} a class (its ``__init__``) or function takes by name; None when it takes
    ``**kwargs`` (with ``follow_base`` a class's ``**kwargs`` are its base class's options instead)."""
    target = builder.__init__ if isinstance(builder, type) else builder
    params = {}
    for p in inspect.signature(target).parameters.values():
        if p.kind in _NAMED and p.name != "self":
            params[p.name] = p
        elif p.kind is p.VAR_KEYWORD:
            base = accepted_params(builder.__mro__[1], True) if follow_base and isinstance(builder, type) else None
            if base is None:
                return None
            params.update({k: v for k, v in base.items() if k not in params})
    return params


def accepted_options(builder, follow_base=False):
    """Option names ``builder`` accepts, None when it takes ``**kwargs`` (see :func:`accepted_params`)."""
    params = accepted_params(builder, follow_base)
    return None if params is None else list(params)


def unknown_option(where, key, accepted):
    """The message for an option ``key`` that ``where`` (e.g. "Architecture.Head: DBHead") does not take."""
    close = difflib.get_close_matches(str(key), accepted, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return f"{where} has no option '{key}'.{hint} Accepted: {', '.join(accepted) or '(none)'}"


def check_options(builder, options, where, strict=True, injected=(), follow_base=False):
    """``options`` a builder accepts; an unknown one raises ValueError (``strict``) or is warned about and dropped.

    ``injected``: names code passes itself (not accepted from the config)."""
    accepted = accepted_options(builder, follow_base)
    if accepted is None:
        return dict(options)
    accepted = [name for name in accepted if name not in injected]
    out = {}
    for key, value in options.items():
        if key in accepted:
            out[key] = value
        elif strict:
            raise ValueError(unknown_option(where, key, accepted))
        else:
            logger.warning("%s; ignored", unknown_option(where, key, accepted))
    return out


def checked_options(builder, options, section, name, strict=True, injected=(), typed=False):
    """:func:`check_options` for ``builder`` (called ``name`` in ``section``); ``typed``: the class's
    ``**kwargs`` are its base's options, and the options are converted to their annotations."""
    options = check_options(builder, options, f"{section}: {name}", strict, injected, follow_base=typed)
    params = accepted_params(builder, follow_base=True) if typed else None
    if params is None:
        return options
    return convert_options({k: p for k, p in params.items() if k not in injected}, options, section, name)


class Registry:
    """Maps config ``name`` values to classes (or factory functions) for one stage."""

    def __init__(self, stage, typed=False):
        self.stage = stage
        self.typed = typed      # convert options to their annotations (see the module docstring)
        self._items = {}

    def register(self, name=None, aliases=()):
        """Decorator: register ``obj`` under ``name`` (default: its __name__) and aliases."""

        def deco(obj):
            for key in (name or obj.__name__, *aliases):
                if key in self._items and self._items[key] is not obj:
                    raise ValueError(f"{self.stage}: '{key}' registered twice")
                self._items[key] = obj
            return obj

        return deco

    def names(self):
        return sorted(self._items)

    def __contains__(self, name):
        return name in self._items

    def get(self, name):
        if name not in self._items:
            close = difflib.get_close_matches(str(name), self.names(), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise KeyError(
                f"Unknown {self.stage} '{name}'.{hint} Known {self.stage}s: {', '.join(self.names())}"
            )
        return self._items[name]

    def build(self, config, where=None, strict=True, **extra):
        """Build from a ``{'name': ..., **options}`` dict; ``extra`` kwargs are added by the caller.

        ``where`` is the config section named in errors (e.g. "Architecture.Head"); options are
        checked with :func:`check_options`."""
        section = where or self.stage
        if not isinstance(config, dict) or "name" not in config:
            raise ValueError(f"{section} needs a 'name' key, got {config!r}")
        kwargs = copy.deepcopy(config)
        name = kwargs.pop("name")
        try:
            cls = self.get(name)
        except KeyError as err:
            if where is None:
                raise
            raise KeyError(f"{where}.name: {err.args[0]}") from None
        kwargs = checked_options(cls, kwargs, section, name, strict, injected=extra, typed=self.typed)
        kwargs.update(extra)
        return cls(**kwargs)
