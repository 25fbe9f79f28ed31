"""Plate kinds: which characters, layouts and colours each kind of Korean plate uses.

A kind samples a ``PlateSpec`` (the text parts + layout + colour style); the label
is always ``region + head + mark + serial`` (two-line plates flattened top line
first, diplomatic dashes not labelled).
"""
import re
from dataclasses import dataclass

from ppexp.experiments.synth.charsets import (
    COMMERCIAL_HANGUL, DELIVERY_HANGUL, DIPLOMATIC_PREFIXES, MILITARY_HANGUL,
    OLD_REGIONS, PRIVATE_HANGUL, REGIONS, RENTAL_HANGUL,
)

# Layout names (see layouts.py); the two-line ones.
TWO_LINE_LAYOUTS = ("two_line_region", "two_line_noregion", "two_line_construction")
REGION_LAYOUTS = ("long_region", "two_line_region", "two_line_construction")


@dataclass
class PlateSpec:
    kind: str
    layout: str
    style: str
    region: str
    head: str
    mark: str
    serial: str

    @property
    def label(self):
        return self.region + self.head + self.mark + self.serial

    @property
    def two_line(self):
        return self.layout in TWO_LINE_LAYOUTS


@dataclass(frozen=True)
class Kind:
    """One plate kind. ``layouts``: (layout, weight); ``head``: '2', '3' or '23' digits."""
    name: str
    style: str
    marks: str
    layouts: tuple
    head: str = "2"
    region: str = "never"          # never | always | layout (only layouts with 'region')
    marks_alt: str = ""            # optional second pool, used with probability 0.15
    regions: tuple = REGIONS

    def regex(self):
        marks = re.escape(self.marks + self.marks_alt)
        head = {"2": r"\d{2}", "3": r"\d{3}", "23": r"\d{2,3}"}[self.head]
        region = "(?:" + "|".join(self.regions) + ")"
        region = {"never": "", "always": region, "layout": region + "?"}[self.region]
        return re.compile(f"^{region}{head}[{marks}]\\d{{4}}$")


KINDS = {k.name: k for k in (
    Kind("private", "white", PRIVATE_HANGUL, (("long", 0.75), ("short", 0.25)), head="23"),
    Kind("old_green", "green", PRIVATE_HANGUL,
         (("two_line_region", 0.7), ("two_line_noregion", 0.3)), region="layout", regions=OLD_REGIONS),
    Kind("old_white", "white", PRIVATE_HANGUL,
         (("two_line_region", 0.7), ("long_region", 0.3)), region="always", regions=OLD_REGIONS),
    Kind("commercial", "yellow", COMMERCIAL_HANGUL,
         (("two_line_region", 0.5), ("long_region", 0.5)), region="always"),
    Kind("delivery", "yellow", DELIVERY_HANGUL,
         (("long", 0.4), ("long_region", 0.3), ("two_line_region", 0.3)), region="layout"),
    Kind("ev", "blue", PRIVATE_HANGUL, (("long", 1.0),), head="23", marks_alt=RENTAL_HANGUL),
    Kind("construction", "orange", PRIVATE_HANGUL + COMMERCIAL_HANGUL,
         (("two_line_construction", 1.0),), region="always"),
    Kind("rental", "white", RENTAL_HANGUL, (("long", 0.75), ("short", 0.25)), head="23"),
    Kind("military", "military", MILITARY_HANGUL, (("long", 0.7), ("short", 0.3))),
)}
DIPLOMATIC_RE = re.compile("^(?:" + "|".join(DIPLOMATIC_PREFIXES) + r")\d{6}$")
KIND_NAMES = tuple(KINDS) + ("diplomatic",)

# Default mix (relative weights) inside the one-line and the two-line pool.
ONE_LINE_WEIGHTS = {
    "private": 0.52, "ev": 0.12, "rental": 0.07, "commercial": 0.14, "delivery": 0.05,
    "military": 0.03, "diplomatic": 0.03, "old_white": 0.04,
}
TWO_LINE_WEIGHTS = {
    "old_green": 0.45, "old_white": 0.15, "commercial": 0.25, "delivery": 0.05, "construction": 0.10,
}


def kind_regex(name):
    """Compiled regex every label of kind ``name`` matches."""
    return DIPLOMATIC_RE if name == "diplomatic" else KINDS[name].regex()


def kind_layouts(name):
    """Layouts a kind can be drawn with."""
    return ("diplomatic",) if name == "diplomatic" else tuple(l for l, _ in KINDS[name].layouts)


def supports(name, two_line):
    return any((l in TWO_LINE_LAYOUTS) == two_line for l in kind_layouts(name))


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def _digits(rng, lo, hi, width):
    return str(int(rng.integers(lo, hi + 1))).zfill(width)


def sample_spec(rng, name, two_line=None):
    """A random ``PlateSpec`` of kind ``name``; ``two_line`` restricts the layout when possible."""
    if name == "diplomatic":
        serial = _digits(rng, 1, 999, 3) + _digits(rng, 1, 999, 3)
        return PlateSpec(name, "diplomatic", "navy", "", "", _pick(rng, DIPLOMATIC_PREFIXES), serial)
    kind = KINDS[name]
    layouts = [lw for lw in kind.layouts if two_line is None or (lw[0] in TWO_LINE_LAYOUTS) == two_line]
    layouts = layouts or list(kind.layouts)
    weights = [w for _, w in layouts]
    r, acc, layout = rng.random() * sum(weights), 0.0, layouts[-1][0]
    for lay, w in layouts:
        acc += w
        if r < acc:
            layout = lay
            break
    three = kind.head == "3" or (kind.head == "23" and rng.random() < 0.45)
    head = _digits(rng, 100, 699, 3) if three else _digits(rng, 1, 99, 2)
    if name == "construction":
        head = _digits(rng, 1, 27, 2)
    marks = kind.marks_alt if kind.marks_alt and rng.random() < 0.15 else kind.marks
    has_region = kind.region == "always" or (kind.region == "layout" and layout in REGION_LAYOUTS)
    region = _pick(rng, kind.regions) if has_region else ""
    serial = _digits(rng, 1, 9999, 4)
    return PlateSpec(name, layout, kind.style, region, head, _pick(rng, marks), serial)
