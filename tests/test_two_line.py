"""TwoLineToOneLine: two-line plates are joined into one line in label order; one-line plates untouched;
the export records the step and ``ppexp predict --model_dir`` applies it as ``ppexp predict`` does."""
import os

import cv2
import numpy as np
import pytest
import yaml

from helpers import generator_plates
from ppexp.data.imaug import create_operators
from ppexp.data.imaug.two_line import TwoLineToOneLine, find_line_split, join_lines
from ppexp.engine.deployed import infer_transform_configs, ppexp_preprocessor
from ppexp.engine.export import PPEXP_PREPROCESS_KEY, dump_infer_config
from ppexp.utils.character import CharacterDict


def _two_lines(widths=(60, 120), heights=(14, 28), gap=8, w=130):
    """A white card with a small dark bar row on top and a large one below: a two-line layout."""
    h = 6 + heights[0] + gap + heights[1] + 6
    img = np.full((h, w, 3), 235, np.uint8)
    for x in range((w - widths[0]) // 2, (w + widths[0]) // 2, 12):
        img[6:6 + heights[0], x:x + 6] = 20
    y = 6 + heights[0] + gap
    for x in range(5, 5 + widths[1], 15):
        img[y:y + heights[1], x:x + 9] = 20
    return img, 6 + heights[0] + gap // 2


def test_split_found_in_the_gap_and_the_halves_joined_left_to_right():
    img, gap_row = _two_lines()
    split = find_line_split(img)
    assert split is not None and abs(split - gap_row) <= 4, (split, gap_row)
    joined = join_lines(img, split)
    bottom_h = img.shape[0] - split
    assert joined.shape[0] == bottom_h and joined.shape[1] > img.shape[1]
    assert np.array_equal(joined[:, -img.shape[1]:], img[split:])   # the bottom line ends the image


def test_one_line_and_wide_crops_are_left_alone():
    blank = np.full((40, 60, 3), 200, np.uint8)
    assert find_line_split(blank) is None
    img, _ = _two_lines()
    wide = cv2.resize(img, (img.shape[1] * 3, img.shape[0]))   # aspect above max_aspect: one-line
    assert find_line_split(wide) is None
    for plate, label in generator_plates(False, 30, clean=True):
        assert find_line_split(plate) is None, label


def test_generator_two_line_plates_are_mostly_split():
    plates = generator_plates(True, 20, clean=True)
    found = sum(find_line_split(p) is not None for p, _ in plates)
    assert found >= 16, found   # clean two-line plates: the gap is there


def test_transform_from_config_is_deterministic_and_validates_options():
    ops = create_operators([{"TwoLineToOneLine": {"max_aspect": 2.6}}], {}, "t")
    img, _ = _two_lines()
    a = ops[0]({"image": img.copy()})["image"]
    b = ops[0]({"image": img.copy()})["image"]
    assert np.array_equal(a, b) and a.shape[1] > img.shape[1]
    assert TwoLineToOneLine(max_aspect=0.1)({"image": img.copy()})["image"].shape == img.shape


@pytest.mark.parametrize("steps", [
    [{"TwoLineToOneLine": {"max_aspect": 2.4}}],
    [{"ShrinkLarge": {"max_height": 64}}, {"Deskew": {"min_angle": 2}}, {"CropToText": None},
     {"TwoLineToOneLine": None}]])
def test_export_records_the_step_and_deployed_runs_it_after_decoding(tmp_path, steps):
    """ppexp's own image steps (ShrinkLarge, Deskew, CropToText, TwoLineToOneLine) go under ppexp_preprocess,
    in order."""
    config = {"Global": {}, "PostProcess": {"name": "CTCLabelDecode"},
              "Eval": {"dataset": {"transforms": [
                  {"DecodeImage": {"img_mode": "BGR", "channel_first": False}}, *steps,
                  {"CTCLabelEncode": None},
                  {"RecResizeImg": {"image_shape": [3, 48, 160]}},
                  {"KeepKeys": {"keep_keys": ["image", "label", "length"]}}]}}}
    path = os.path.join(tmp_path, "inference.yml")
    dump_infer_config(config, path, CharacterDict(characters=list("0123456789")))
    infer = yaml.safe_load(open(path, encoding="utf-8"))
    names = [next(iter(op)) for op in infer["PreProcess"]["transform_ops"]]
    ours = [next(iter(op)) for op in steps]
    assert not set(ours) & set(names)                 # PaddleX asserts on unknown PreProcess ops
    assert infer[PPEXP_PREPROCESS_KEY] == [{name: args or {}} for op in steps for name, args in op.items()]
    ops = infer_transform_configs(infer)
    assert [next(iter(op)) for op in ops][:1 + len(steps)] == ["DecodeImage", *ours]
    # a PaddleOCR 3 application runs the same steps on a crop with ppexp_preprocessor(model_dir)
    img, _ = _two_lines()
    big = cv2.resize(img, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
    expected = big
    for op in create_operators(steps, {}, "t"):
        expected = op({"image": expected})["image"]
    assert expected.shape != big.shape
    assert np.array_equal(ppexp_preprocessor(str(tmp_path))(big), expected)


@pytest.mark.parametrize("bad", [{"max_aspect": "wide"}, {"depth": None}])
def test_bad_option_names_the_step(bad):
    key = next(iter(bad))
    with pytest.raises(ValueError, match=rf"TwoLineToOneLine\.{key} must be a number"):
        create_operators([{"TwoLineToOneLine": bad}], {}, "Train.dataset.transforms")


def _dark_runs(row, level=128):
    dark = row < level
    return int(np.sum(dark[1:] & ~dark[:-1]) + dark[0])


def test_trim_cuts_each_line_to_its_text_and_keeps_every_character():
    """trim: the top line's empty plate and frame to the sides go, the rows above and below both lines' text
    go; all 5 top bars and 8 bottom bars stay, in order, and the top line's text is as tall as the crop."""
    img, _ = _two_lines()
    img[:, 1:3] = 20       # the plate frame's vertical edges, down the whole crop
    img[:, -3:-1] = 20
    split = find_line_split(img)
    plain, trimmed = join_lines(img, split), join_lines(img, split, trim=True)
    assert trimmed.shape[1] < plain.shape[1] - 40, (plain.shape, trimmed.shape)
    grey = trimmed[..., 0]
    top_w = trimmed.shape[1] - (img.shape[1])       # the bottom keeps its full width (rows trimmed only)
    mid = grey[grey.shape[0] // 2]
    assert _dark_runs(mid[:top_w]) == 5                # the top bars, and no frame edge
    assert _dark_runs(mid[top_w:]) == 8 + 2            # the bottom bars between the frame's edges
    rows_with_ink = np.where((grey[:, :top_w] < 128).any(axis=1))[0]
    assert rows_with_ink.size >= 0.7 * grey.shape[0]   # the top text fills the height, not a band of it
    assert np.array_equal(TwoLineToOneLine(trim=True)({"image": img.copy()})["image"], trimmed)


def test_trim_keeps_generator_plates_legible():
    """On the generator's two-line plates trimming never throws a line away: the joined crop is at least
    as wide as the bottom line and its top part is at least 1.5 text heights wide (two characters)."""
    for plate, label in generator_plates(True, 12, clean=False, seed=5):
        split = find_line_split(plate)
        if split is None:
            continue
        joined = join_lines(plate, split, trim=True)
        assert joined.shape[1] - plate.shape[1] >= 1.5 * joined.shape[0] * 0.8, label


def test_trim_must_be_a_boolean():
    with pytest.raises(ValueError, match=r"TwoLineToOneLine\.trim must be true or false"):
        create_operators([{"TwoLineToOneLine": {"trim": "yes"}}], {}, "Train.dataset.transforms")


def test_gap_puts_plate_coloured_columns_between_the_lines():
    img, _ = _two_lines()
    split = find_line_split(img)
    plain = join_lines(img, split)
    spaced = TwoLineToOneLine(gap=0.5)({"image": img.copy()})["image"]
    bh = img.shape[0] - split
    gw = int(round(0.5 * bh))
    assert spaced.shape[1] == plain.shape[1] + gw
    top_w = plain.shape[1] - img.shape[1]
    assert np.array_equal(spaced[:, :top_w], plain[:, :top_w])
    assert np.array_equal(spaced[:, top_w + gw:], plain[:, top_w:])
    assert (spaced[:, top_w:top_w + gw] == 235).all()      # the card's colour, no ink
    with pytest.raises(ValueError, match=r"TwoLineToOneLine\.gap must be between 0 and 2"):
        TwoLineToOneLine(gap=3)
