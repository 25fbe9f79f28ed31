"""Deskew and CropToText: a tilted plate crop is levelled and a loose one cut to its text (before
TwoLineToOneLine); a level, tight one is left alone. A tilted crop is made as a detector crops a tilted plate:
rotate_whole, the plate rotated inside its axis-aligned bounding box."""

import cv2
import numpy as np
import pytest

from helpers import generator_plates
from ppexp.data.imaug import create_operators
from ppexp.data.imaug.crop_to_text import CropToText
from ppexp.data.imaug.deskew import Deskew, estimate_angle, level, rotate_whole
from ppexp.data.imaug.two_line import find_line_split
from ppexp.experiments.synth.dataset import render_index
from ppexp.experiments.synth.render import check_kinds


@pytest.mark.parametrize("degrees", [-18.0, -9.0, 6.0, 14.0])
def test_the_angle_that_levels_a_tilted_plate_is_found(degrees):
    for plate, label in generator_plates(False, 3, True) + generator_plates(True, 3, True):
        found = estimate_angle(rotate_whole(plate, degrees))
        base = estimate_angle(plate)
        assert abs(found - (base - degrees)) <= 1.5, (label, degrees, found, base)


def test_a_level_plate_is_left_untouched():
    for plate, label in generator_plates(False, 4, True):
        assert abs(estimate_angle(plate)) < 1.0, label
        data = {"image": plate}
        assert Deskew()(data)["image"] is plate


def test_a_tilted_two_line_plate_splits_after_deskew_and_keeps_its_size():
    """A two-line plate tilted by 15 degrees has no level gap between its lines; levelled, it has, and the
    levelled crop is about the original plate (the bounding box's empty corners cut away)."""
    split_level = split_before = split_after = 0
    for plate, label in generator_plates(True, 8, True, seed=3):
        tilted = rotate_whole(plate, 15.0)
        split_level += find_line_split(plate) is not None
        split_before += find_line_split(tilted) is not None
        levelled = Deskew()({"image": tilted})["image"]
        split_after += find_line_split(levelled) is not None
        h, w = plate.shape[:2]
        assert 0.9 * h <= levelled.shape[0] <= 1.35 * h and 0.9 * w <= levelled.shape[1] <= 1.35 * w, \
            (label, plate.shape, levelled.shape)
    assert split_before <= 1 and split_after >= split_level - 1, (split_level, split_before, split_after)


def test_level_keeps_the_whole_canvas_when_the_crop_is_no_rotated_rectangle():
    img = np.full((40, 40, 3), 200, np.uint8)   # square: no rectangle has it as its bounding box at 44 degrees
    out = level(img, 44.0)
    assert out.shape[0] >= 40 and out.shape[1] >= 40


def test_deterministic_and_tiny_crops_pass_through():
    plate, _ = generator_plates(True, 1, True)[0]
    tilted = rotate_whole(plate, 11.0)
    op = create_operators([{"Deskew": {"max_angle": 20}}], {}, "t")[0]
    a, b = op({"image": tilted.copy()})["image"], op({"image": tilted.copy()})["image"]
    assert np.array_equal(a, b) and a.shape != tilted.shape
    tiny = np.zeros((5, 30, 3), np.uint8)
    assert op({"image": tiny})["image"] is tiny


@pytest.mark.parametrize("step, bad, message", [
    ("Deskew", {"max_angle": "steep"}, r"Deskew\.max_angle must be a number"),
    ("Deskew", {"margin": 3}, r"Deskew\.margin must be between 0 and 1"),
    ("Deskew", {"min_angle": -1}, r"Deskew\.min_angle must be between"),
    ("CropToText", {"pad": "wide"}, r"CropToText\.pad must be a number"),
    ("CropToText", {"pad": 5}, r"CropToText\.pad must be between 0 and 2"),
    ("ShrinkLarge", {"max_height": "tall"}, r"ShrinkLarge\.max_height must be a whole"),
    ("ShrinkLarge", {"max_height": 4}, r"ShrinkLarge\.max_height must be at least 8")])
def test_bad_option_names_the_step(step, bad, message):
    with pytest.raises(ValueError, match=message):
        create_operators([{step: bad}], {}, "Train.dataset.transforms")


def _loose(plate, top=40, bottom=50, side=30, colour=(40, 40, 45)):
    """``plate`` inside a car-coloured border: a detector's loose box (bumper and body around the plate)."""
    return cv2.copyMakeBorder(plate, top, bottom, side, side, cv2.BORDER_CONSTANT, value=colour)


def test_crop_to_text_cuts_a_loose_one_line_crop_to_its_plate():
    """The loose crop is 2.4 plate heights tall; cut, it is about the plate (text plus the pad)."""
    for plate, label in generator_plates(False, 4, True, seed=7):
        loose = _loose(plate)
        out = CropToText()({"image": loose})["image"]
        h, w = plate.shape[:2]
        assert out.shape[0] <= 1.35 * h and out.shape[1] <= loose.shape[1], (label, plate.shape, out.shape)
        assert out.shape[0] >= 0.5 * h and out.shape[1] >= 0.6 * w, (label, plate.shape, out.shape)


def test_crop_to_text_leaves_two_line_plates_to_the_join():
    """A crop with two text lines keeps both (its strongest band is one of them)."""
    for plate, label in generator_plates(True, 6, True, seed=7):
        if find_line_split(plate) is None:
            continue
        assert CropToText()({"image": plate})["image"] is plate, label


def test_joinable_two_line_plates_split_once_levelled():
    """synth-plates --joinable (generator v6) redraws a two-line plate until Deskew + find_line_split join it,
    as the plate configs' steps do; steep views (up to 25 degrees) included."""
    split = total = 0
    for i in range(40):
        buf, label, _, two = render_index(21, i, check_kinds(None), 1.0, 64, None, joinable=True)
        if not two:
            continue
        img = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_COLOR)
        total += 1
        split += find_line_split(Deskew()({"image": img})["image"]) is not None
    assert total >= 30 and split >= total - 2, (split, total)
