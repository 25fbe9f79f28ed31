"""Synthetic Korean plates: dictionary agreement, kinds, determinism, splits, font errors, CLI."""
import os

import cv2
import numpy as np
import pytest

from ppexp import cli
from ppexp.experiments import synth
from ppexp.experiments.synth import charsets, fonts, kinds
from ppexp.experiments.synth.render import sample_kind


def _sample_labels(n, seed=0, **kw):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        kind, two = sample_kind(rng, **kw)
        out.append((kind, kinds.sample_spec(rng, kind, two)))
    return out


def test_dict_file_is_the_pools():
    lines = charsets.CharacterDict.read_lines(synth.PLATE_DICT_PATH)
    assert lines == charsets.plate_characters()
    assert len(lines) == len(set(lines)) and all(len(ch) == 1 for ch in lines)
    for word in ("외교", "영사", "준", "국", "기", "협정", "대표", "육해공국합", "".join(charsets.REGIONS)):
        assert all(ch in lines for ch in word), word


def test_every_dict_entry_is_reachable_and_nothing_else():
    seen = set()
    for _, spec in _sample_labels(8000):
        seen.update(spec.label)
    assert seen == set(charsets.plate_characters())


def test_labels_round_trip_through_the_character_dict():
    cd = synth.plate_character_dict()
    for _, spec in _sample_labels(3000, seed=1):
        ids = cd.encode(spec.label)
        assert cd.unknown_chars(spec.label) == []
        assert cd.decode_ids(ids) == spec.label


def test_weights_cover_every_kind():
    for name in kinds.KIND_NAMES:
        if kinds.supports(name, True):
            assert name in kinds.TWO_LINE_WEIGHTS
        if kinds.supports(name, False):
            assert name in kinds.ONE_LINE_WEIGHTS


CASES = [(k, two) for k in kinds.KIND_NAMES for two in (False, True) if kinds.supports(k, two)]


@pytest.mark.parametrize("kind,two_line", CASES)
def test_each_kind_renders(kind, two_line):
    for i in range(3):
        img, label = synth.render_plate(np.random.default_rng([i, 5]), kind, two_line=two_line)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
        assert img.shape[0] == 64 and img.shape[1] >= 16 and img.std() > 3
        assert synth.kind_regex(kind).match(label), (kind, label)


def test_fixed_size_and_same_rng_same_image():
    a, la = synth.render_plate(np.random.default_rng(7), "old_green", height=48, width=160)
    b, lb = synth.render_plate(np.random.default_rng(7), "old_green", height=48, width=160)
    assert a.shape == (48, 160, 3) and la == lb and np.array_equal(a, b)


def test_two_line_ratio_is_respected():
    assert all(s.two_line for _, s in _sample_labels(300, two_line_ratio=1.0))
    assert not any(s.two_line for _, s in _sample_labels(300, two_line_ratio=0.0))
    only_private = _sample_labels(50, kinds=["private"], two_line_ratio=1.0)
    assert {k for k, _ in only_private} == {"private"}


def _read_dataset(d):
    files = {}
    for name in sorted(os.listdir(os.path.join(d, "images"))):
        with open(os.path.join(d, "images", name), "rb") as f:
            files[name] = f.read()
    with open(os.path.join(d, "train.txt"), "rb") as f, open(os.path.join(d, "val.txt"), "rb") as g:
        return f.read(), g.read(), files


def test_dataset_is_deterministic_for_any_worker_count(tmp_path):
    a = synth.generate_dataset(str(tmp_path / "a"), 40, seed=3, workers=1, progress=False)
    synth.generate_dataset(str(tmp_path / "b"), 40, seed=3, workers=2, progress=False)
    synth.generate_dataset(str(tmp_path / "c"), 40, seed=4, workers=1, progress=False)
    ra, rb, rc = (_read_dataset(str(tmp_path / n)) for n in "abc")
    assert ra == rb
    assert ra[0] != rc[0]
    assert a["train"] == 36 and a["val"] == 4


def test_split_sizes_and_label_format(tmp_path):
    s = synth.generate_dataset(str(tmp_path), 30, seed=0, val_fraction=0.2, workers=1, progress=False)
    train = (tmp_path / "train.txt").read_text(encoding="utf-8").splitlines()
    val = (tmp_path / "val.txt").read_text(encoding="utf-8").splitlines()
    assert (len(train), len(val)) == (24, 6) == (s["train"], s["val"])
    cd = synth.plate_character_dict()
    for line in train + val:
        rel, label = line.split("\t")
        assert rel.startswith("images/") and (tmp_path / rel).is_file()
        assert cd.decode_ids(cd.encode(label)) == label
    s0 = synth.generate_dataset(str(tmp_path / "z"), 5, val_fraction=0.0, workers=1, progress=False)
    assert (s0["train"], s0["val"]) == (5, 0) and (tmp_path / "z" / "val.txt").read_text() == ""


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown plate kind"):
        synth.render_plate(np.random.default_rng(0), "taxi")
    with pytest.raises(ValueError, match="val_fraction"):
        synth.generate_dataset("/nonexistent/x", 5, val_fraction=1.5)


@pytest.fixture
def no_fonts(monkeypatch):
    monkeypatch.delenv(fonts.FONT_ENV, raising=False)
    monkeypatch.setattr(fonts, "FONT_DIRS", [])
    monkeypatch.setattr(fonts, "_fc_list", lambda: [])
    monkeypatch.setattr(fonts, "_CACHE", None)


def test_missing_font_gives_the_install_command(no_fonts, tmp_path, capsys):
    with pytest.raises(synth.FontNotFoundError, match="apt-get install fonts-nanum"):
        synth.render_plate(np.random.default_rng(0), "private")
    with pytest.raises(synth.FontNotFoundError, match="apt-get install fonts-nanum"):
        synth.generate_dataset(str(tmp_path), 3, progress=False)
    assert cli.main(["synth-plates", "--out", str(tmp_path), "--num", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ppexp synth-plates: error: ") and "apt-get install fonts-nanum" in err


@pytest.mark.parametrize("argv, message", [
    (["--num", "0"], "num (--num) must be >= 1 (got 0)"),
    (["--num", "3", "--val-fraction", "1.5"], "val_fraction (--val-fraction) must be in [0, 1) (got 1.5)"),
    (["--num", "3", "--clean-ratio", "2"], "(--clean-ratio; got 2.0)"),
    (["--num", "3", "--kinds", "taxi"], "unknown plate kind(s) ['taxi'] (--kinds); known kinds: "),
])
def test_cli_bad_options_are_usage_errors_naming_the_option(tmp_path, capsys, argv, message):
    assert cli.main(["synth-plates", "--out", str(tmp_path / "o"), "--no-progress", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("ppexp synth-plates: error: ") and message in captured.err
    assert captured.out == "" and not (tmp_path / "o" / "train.txt").exists()


def test_cli_writes_the_files(tmp_path, capsys):
    out = tmp_path / "plates"
    rc = cli.main(["synth-plates", "--out", str(out), "--num", "12", "--seed", "2", "--workers", "1",
                   "--val-fraction", "0.25", "--kinds", "private,ev", "diplomatic", "--no-progress"])
    assert rc == 0 and "train.txt 9" in capsys.readouterr().out
    lines = (out / "train.txt").read_text(encoding="utf-8").splitlines()
    lines += (out / "val.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 12 and (out / "synth_meta.json").is_file()
    regexes = [synth.kind_regex(k) for k in ("private", "ev", "diplomatic")]
    for line in lines:
        rel, label = line.split("\t")
        assert any(r.match(label) for r in regexes), label
        assert cv2.imread(str(out / rel)).shape[0] == 64


def test_real_holdout_labels_lie_in_the_generators_label_space(shared_dir):
    """Coverage only (no fitting): every real plate label is one some kind can emit."""
    path = shared_dir / "holdout" / "kr_plates_real" / "labels.txt"
    if not path.is_file():
        pytest.skip(f"{path} missing")
    cd = synth.plate_character_dict()
    for line in path.read_text(encoding="utf-8").splitlines():
        label = line.split("\t")[1]
        assert cd.unknown_chars(label) == [], line
        assert any(synth.kind_regex(k).match(label) for k in synth.KIND_NAMES), line


def test_clean_plates_share_labels_and_are_tight_flat_crops(tmp_path):
    real = synth.generate_dataset(str(tmp_path / "real"), 12, seed=5, workers=1, progress=False,
                                  two_line_ratio=0.0, height=48)
    clean = synth.generate_dataset(str(tmp_path / "clean"), 12, seed=5, workers=1, progress=False,
                                   two_line_ratio=0.0, height=48, clean=True)
    ra, ca = _read_dataset(str(tmp_path / "real")), _read_dataset(str(tmp_path / "clean"))
    assert ra[0] == ca[0] and ra[1] == ca[1]          # same texts for the same seed
    assert ra[2] != ca[2]
    assert clean["clean"] is True and real["clean"] is False
    for name, data in ca[2].items():
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        # the flat plate (maybe in a holder frame) fills the crop: plate-shaped, 1.4:1 (a short plate in a
        # holder with a dealer band) to 5:1
        assert img.shape[0] == 48 and 1.4 < img.shape[1] / 48 < 5.0, (name, img.shape)


def test_cli_clean_flag(tmp_path, capsys):
    assert cli.main(["synth-plates", "--out", str(tmp_path), "--num", "6", "--clean",
                     "--workers", "1", "--no-progress"]) == 0
    import json
    from ppexp.experiments.synth.dataset import GENERATOR_VERSION
    meta = json.loads((tmp_path / "synth_meta.json").read_text(encoding="utf-8"))
    assert meta["clean"] is True and meta["generator_version"] == GENERATOR_VERSION  # scripts reuse sets by it


def test_clean_ratio_mixes_clean_plates_without_changing_any_text(tmp_path):
    real = synth.generate_dataset(str(tmp_path / "real"), 40, seed=3, workers=1, progress=False, height=48)
    mixed = synth.generate_dataset(str(tmp_path / "mixed"), 40, seed=3, workers=1, progress=False, height=48,
                                   clean=0.5)
    clean = synth.generate_dataset(str(tmp_path / "clean"), 40, seed=3, workers=1, progress=False, height=48,
                                   clean=True)
    ra, ma, ca = (_read_dataset(str(tmp_path / d)) for d in ("real", "mixed", "clean"))
    assert ra[0] == ma[0] == ca[0] and ra[1] == ma[1]
    same_as_clean = sum(ma[2][k] == ca[2][k] for k in ma[2])
    same_as_real = sum(ma[2][k] == ra[2][k] for k in ma[2])
    assert same_as_clean + same_as_real == 40 and 10 <= same_as_clean <= 30
    assert mixed["clean"] == 0.5 and real["clean"] is False
    with pytest.raises(ValueError, match="clean must be"):
        synth.generate_dataset(str(tmp_path / "bad"), 4, clean=1.5, workers=1, progress=False)


def test_every_font_found_draws_every_plate_character():
    """A face without a glyph would draw its 'missing' box and teach the model a wrong shape."""
    from PIL import Image, ImageDraw

    def ink(font, ch):
        img = Image.new("L", (140, 140), 0)
        ImageDraw.Draw(img).text((20, 20), ch, font=font, fill=255)
        return np.asarray(img)

    found = fonts.find_font_files()
    assert found
    for path, _ in found:
        font = fonts._load_font(path)
        missing = ink(font, "\uffff")
        bad = [ch for ch in charsets.plate_characters() if ink(font, ch).max() == 0 or np.array_equal(ink(font, ch), missing)]
        assert not bad, (path, bad)


def test_plate_style_digits_are_drawn_as_on_plates():
    """The plate lettering's 1 is a bare bar with a short flag (no foot); its 3 has a flat top bar."""
    cache = fonts.glyph_cache()
    for font in range(len(cache.paths)):
        one = cache.glyph(font, fonts.PLATE_ONE) > 127
        h, w = one.shape
        assert h == cache.glyph(font, "1").shape[0]                 # as tall as the font's own 1
        stem = one[int(h * 0.4):].sum(axis=1)                        # below the flag: the bare stem, no foot
        assert stem.max() == stem.min() and stem.min() < w
        assert one[: int(h * 0.2), 0].any() and not one[int(h * 0.4):, 0].any()   # flag only near the top
        three = cache.glyph(font, fonts.FLAT_THREE) > 127
        assert three[0, int(three.shape[1] * 0.5):].all()            # a straight top bar


def test_most_plates_use_the_plate_style_digits(monkeypatch):
    from ppexp.experiments.synth import plate
    drawn = []
    real_text_mask = plate.text_mask

    def record(cache, font, cells, shape):
        drawn.append("".join(c[0] for c in cells))
        return real_text_mask(cache, font, cells, shape)

    monkeypatch.setattr(plate, "text_mask", record)
    spec = next(s for _, s in _sample_labels(200, seed=4) if "1" in s.label and "3" in s.label)
    styled = 0
    for seed in range(60):
        drawn.clear()
        plate.draw_plate(np.random.default_rng(seed), spec, 48, fonts.glyph_cache())
        text = [t for t in drawn if "1" in t.replace(fonts.PLATE_ONE, "") or fonts.PLATE_ONE in t][0]
        plain = text.replace(fonts.PLATE_ONE, "1").replace(fonts.FLAT_THREE, "3")
        assert plain == spec.label.replace(" ", "")               # the text itself never changes
        assert (fonts.PLATE_ONE in text) == (fonts.FLAT_THREE in text)   # one switch: plate lettering or font
        styled += fonts.PLATE_ONE in text
    assert 30 <= styled <= 55                                     # 70% of plates


def test_region_lettering_is_never_cropped_or_downsampled_into_a_blob():
    """Generator v4: a plate with a region name keeps it at >= REGION_MIN_ROWS rows of a 64-row crop
    (loose crops are tightened, low resolution is capped); plates without a region are unaffected."""
    from ppexp.experiments.synth.render import REGION_MIN_ROWS, REGION_SHARE, legible_plate_rows
    from ppexp.experiments.synth.scene import place
    no_region = kinds.sample_spec(np.random.default_rng(0), "private", False)
    assert legible_plate_rows(no_region, 64) is None
    plate = np.full((60, 118, 3), 200, np.uint8)
    for layout, share in REGION_SHARE.items():
        spec = kinds.PlateSpec("old_white", layout, "white", "서울", "12", "가", "3456")
        need = legible_plate_rows(spec, 64)
        assert need * share >= REGION_MIN_ROWS
        rows = [place(np.random.default_rng(s), plate, 64, min_plate_rows=need)[1] for s in range(200)]
        free = [place(np.random.default_rng(s), plate, 64)[1] for s in range(200)]
        assert min(rows) >= 0.85 * need, (layout, min(rows), need)   # perspective/tilt jitter the quad
        assert min(free) < 0.85 * need                                 # the cap is what keeps them legible


def test_joinable_two_line_plates_are_split_by_two_line_to_one_line_and_keep_their_text():
    from ppexp.data.imaug.two_line import find_line_split
    from ppexp.experiments.synth.dataset import render_index
    from ppexp.experiments.synth.render import check_kinds
    split = {False: 0, True: 0}
    n_two = 0
    for i in range(40):
        plain = render_index(7, i, check_kinds(None), 1.0, 64, None)
        joined = render_index(7, i, check_kinds(None), 1.0, 64, None, joinable=True)
        assert plain[1:] == joined[1:]                       # same label, kind and layout family
        assert joined == render_index(7, i, check_kinds(None), 1.0, 64, None, joinable=True)
        n_two += joined[3]
        for flag, (buf, *_rest) in ((False, plain), (True, joined)):
            img = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_COLOR)
            split[flag] += find_line_split(img) is not None
    assert n_two == 40
    assert split[True] >= 38 and split[True] > split[False] + 5, split
