"""Explicit name -> class registries, one per pipeline stage, and the one way to build a part.

Upstream PaddleOCR builds parts with ``eval(name)(**config)``; ppexp keeps a
registry per stage so an unknown name fails with the list of known ones, and
:meth:`Registry.build` checks a part's options against its constructor's signature
(did-you-mean; ``strict`` raises, otherwise the option is warned about and left out).
"""
import copy
import difflib
import inspect
import logging

logger = logging.getLogger("ppexp")
_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def accepted_options(builder):
    """Option names ``builder`` (a class's ``__init__`` or a function) accepts, None when it takes ``**kwargs``."""
    target = builder.__init__ if isinstance(builder, type) else builder
    params = [p for p in inspect.signature(target).parameters.values() if p.name != "self"]
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.kind in _NAMED]


def unknown_option(where, key, accepted):
    """The message for an option ``key`` that ``where`` (e.g. "Architecture.Head: DBHead") does not take."""
    close = difflib.get_close_matches(str(key), accepted, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return f"{where} has no option '{key}'.{hint} Accepted: {', '.join(accepted) or '(none)'}"


def check_options(builder, options, where, strict=True, injected=()):
    """``options`` a builder accepts; an unknown one raises ValueError (``strict``) or is warned about and dropped.

    ``injected``: names code passes itself (not accepted from the config)."""
    accepted = accepted_options(builder)
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


class Registry:
    """Maps config ``name`` values to classes (or factory functions) for one stage."""

    def __init__(self, stage):
        self.stage = stage
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
        kwargs = check_options(cls, kwargs, f"{section}: {name}", strict, injected=extra)
        kwargs.update(extra)
        return cls(**kwargs)
