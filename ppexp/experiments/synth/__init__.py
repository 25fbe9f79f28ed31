"""Synthetic Korean licence plates (``ppexp synth-plates``) and the plate dictionary.

    from ppexp.experiments.synth import generate_dataset, render_plate, plate_character_dict
    summary = generate_dataset("data/plates", 5000, seed=0)      # DIR/train.txt, DIR/val.txt
    img, label = render_plate(np.random.default_rng(0), "private")
"""
from ppexp.experiments.synth.charsets import (
    PLATE_DICT_PATH, plate_character_dict, plate_characters, write_plate_dict,
)
from ppexp.experiments.synth.dataset import generate_dataset
from ppexp.experiments.synth.fonts import FontNotFoundError, find_font_files
from ppexp.experiments.synth.kinds import KIND_NAMES, kind_regex, sample_spec
from ppexp.experiments.synth.render import render_plate, render_spec, sample_kind

__all__ = [
    "PLATE_DICT_PATH", "plate_character_dict", "plate_characters", "write_plate_dict",
    "generate_dataset", "FontNotFoundError", "find_font_files", "KIND_NAMES", "kind_regex",
    "sample_spec", "render_plate", "render_spec", "sample_kind",
]
