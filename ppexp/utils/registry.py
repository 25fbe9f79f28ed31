"""Explicit name -> class registries, one per pipeline stage.

Upstream PaddleOCR builds parts with ``eval(name)(**config)``; ppexp keeps a
registry per stage so an unknown name fails with the list of known ones.
"""
import copy
import difflib


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

    def build(self, config, **extra):
        """Build from a ``{'name': ..., **kwargs}`` dict; ``extra`` kwargs are added."""
        if not isinstance(config, dict) or "name" not in config:
            raise ValueError(f"{self.stage} config needs a 'name' key, got {config!r}")
        kwargs = copy.deepcopy(config)
        cls = self.get(kwargs.pop("name"))
        kwargs.update(extra)
        return cls(**kwargs)
