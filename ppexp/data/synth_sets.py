"""A label file read against another synthetic set's images (``ppexp check-labels``, ``ppexp doctor``).

``ppexp synth-plates`` names the images of every set it writes images/0000000.jpg, images/0000001.jpg, ...
and puts the set's train.txt, val.txt and synth_meta.json next to them. A label file of one set read with
``data_dir`` at another set's folder therefore finds every image -- each of them another plate -- and
trains on wrong labels without a single missing file. Each folder's synth_meta.json tells the sets apart.
"""
import json
import os
from dataclasses import dataclass

SYNTH_META = "synth_meta.json"
SHOWN_KEYS = ("task", "seed", "num")


@dataclass(frozen=True)
class SynthSetMismatch:
    """``label_file`` lies in a synthetic set's folder, ``data_dir`` is another set's folder."""
    label_file: str
    data_dir: str
    label_meta: str           # path of the label file's folder's synth_meta.json
    data_meta: str            # path of data_dir's synth_meta.json
    label_desc: str           # e.g. "seed 1, num 40"
    data_desc: str
    differing: tuple          # synth_meta.json keys whose values differ

    @property
    def label_dir(self):
        return os.path.dirname(self.label_meta)

    @property
    def message(self):
        differ = f" (they differ in {', '.join(self.differing)})" if self.differing else ""
        return (f"label file {self.label_file} belongs to the synthetic set in {self.label_dir} ({self.label_meta}: "
                f"{self.label_desc}) but data_dir '{self.data_dir}' is another set ({self.data_meta}: "
                f"{self.data_desc}){differ}: both name their images images/0000000.jpg, ..., so every image "
                f"loads and trains with another image's label")

    @property
    def fix(self):
        return (f"point data_dir at '{self.label_dir}' (the label file's folder), or use the label files in "
                f"'{self.data_dir}'")


def _read_meta(path):
    """(content to compare, short description) of a synth_meta.json, or None when there is none."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    try:
        meta = json.loads(raw.decode("utf-8"))
    except ValueError:
        return raw, "not valid JSON"
    if not isinstance(meta, dict):
        return meta, "not a JSON object"
    shown = [f"{k} {meta[k]}" for k in SHOWN_KEYS if k in meta]
    return meta, ", ".join(shown) or "no seed / num"


def foreign_synth_set(label_file, data_dir):
    """SynthSetMismatch when the label file's folder and ``data_dir`` (default: the current directory) are
    two different folders, each with a synth_meta.json, and the two files differ in content; else None."""
    label_dir = os.path.dirname(os.path.abspath(label_file))
    image_dir = os.path.abspath(data_dir or ".")
    if os.path.realpath(label_dir) == os.path.realpath(image_dir):
        return None
    label_meta, data_meta = os.path.join(label_dir, SYNTH_META), os.path.join(image_dir, SYNTH_META)
    ours, theirs = _read_meta(label_meta), _read_meta(data_meta)
    if ours is None or theirs is None or ours[0] == theirs[0]:
        return None
    differing = ()
    if isinstance(ours[0], dict) and isinstance(theirs[0], dict):
        differing = tuple(k for k in sorted(set(ours[0]) | set(theirs[0]))
                          if k not in SHOWN_KEYS and ours[0].get(k) != theirs[0].get(k))
        differing = differing if ours[1] == theirs[1] else ()   # seed / num already tell them apart
    return SynthSetMismatch(label_file, data_dir or ".", label_meta, data_meta, ours[1], theirs[1], differing)
