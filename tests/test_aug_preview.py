"""ppexp aug-preview: a labelled grid PNG of the Train transforms on real samples."""
import os

import cv2
import numpy as np
import pytest

from ppexp.cli import main
from ppexp.config import dump_config, load_config
from ppexp.data.imaug import create_operators
from ppexp.experiments.data_tools import aug_preview as ap
from ppexp.utils.toy_data import make_word_dataset

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "rec", "tiny_words.yml")
HANGUL = "가나다라마바사"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Toy words with Hangul labels, a dictionary for them and a config with RecAug + RandAugment."""
    root = tmp_path_factory.mktemp("preview")
    label_file = make_word_dataset(str(root), 24, seed=3)
    lines = open(label_file, encoding="utf-8").read().splitlines()
    lines = [f"{path}\t{HANGUL[i % 7]}{label}" for i, (path, label) in enumerate(l.split("\t") for l in lines)]
    open(label_file, "w", encoding="utf-8").write("\n".join(lines) + "\n")
    dict_path = root / "dict.txt"
    dict_path.write_text("\n".join("0123456789abcdefghijklmnopqrstuvwxyz" + HANGUL) + "\n", encoding="utf-8")
    config = load_config(CONFIG)
    config["Global"]["character_dict_path"] = str(dict_path)
    config["Train"]["dataset"].update(data_dir=str(root), label_file_list=[label_file])
    config["Train"]["dataset"]["transforms"][1:1] = [
        {"RecAug": {"tia_prob": 1.0}}, {"RandAugment": {"prob": 1.0, "num_ops": 2, "magnitude": 9}}]
    cfg = str(root / "preview.yml")
    dump_config(config, cfg)
    return root, cfg, lines


def _expected_size(n, cols, tile_w=240, image_h=48):
    rows = -(-n // cols)
    cell_h = ap.PAD + image_h + ap.PAD + image_h + ap.TEXT_H + ap.PAD
    return ap.TEXT_H + ap.PAD + rows * cell_h, cols * (tile_w + ap.PAD) + ap.PAD


def test_cli_writes_a_png_of_the_expected_size(setup, tmp_path, capsys):
    root, cfg, _ = setup
    out = str(tmp_path / "grid.png")
    assert main(["aug-preview", "-c", cfg, "--n", "6", "--cols", "3", "--out", out, "--seed", "2"]) == 0
    img = cv2.imread(out)
    assert img is not None and img.shape[:2] == _expected_size(6, 3)
    text = capsys.readouterr().out
    assert "DecodeImage > RecAug > RandAugment" in text and "RecResizeImg" in text
    assert img.std() > 10  # not a blank canvas


def test_same_seed_same_grid(setup, tmp_path):
    _, cfg, _ = setup
    a, b = str(tmp_path / "a.png"), str(tmp_path / "b.png")
    for out in (a, b):
        assert main(["aug-preview", "-c", cfg, "--n", "4", "--out", out, "--seed", "5"]) == 0
    assert np.array_equal(cv2.imread(a), cv2.imread(b))


def test_tiles_keep_labels_and_show_the_model_input(setup):
    root, cfg, lines = setup
    from ppexp.config import get_config
    from ppexp.data.loader import build_dataset

    config = get_config(cfg)[0]
    dataset = build_dataset(config, "Train", seed=0)
    tiles, rejected = ap.collect_tiles(dataset, 5, seed=0)
    assert len(tiles) == 5 and not rejected
    labels = dict(line.split("\t")[::-1] for line in lines)
    for tile in tiles:
        assert tile.label in labels and tile.label[0] in HANGUL
        assert tile.augmented.dtype == np.uint8 and tile.augmented.ndim == 3 and tile.augmented.shape[2] == 3
        assert tile.model_input.shape == (32, 100, 3) and tile.model_input.dtype == np.uint8


def test_denormalised_model_input_matches_the_resized_image():
    ops = create_operators([{"RecResizeImg": {"image_shape": [3, 32, 100]}}])
    img = np.random.default_rng(0).integers(0, 256, (32, 80, 3), dtype=np.uint8)
    chw = ops[0]({"image": img})["image"]
    shown = ap.to_display(chw, ops)
    assert shown.shape == (32, 100, 3) and shown.dtype == np.uint8
    assert np.abs(shown[:, :80].astype(int) - img).max() <= 1
    assert np.all(shown[:, 80:] == 127)  # padding is mid-grey


def test_hangul_font_and_ascii_fallback(monkeypatch):
    tiles = [ap.Tile(np.full((30, 90, 3), 200, np.uint8), None, "서울12가3456", "x")] * 2
    if os.path.isdir("/usr/share/fonts/truetype/nanum"):
        grid, font = ap.render_grid(tiles, cols=2, title="t")
        assert font and "Nanum" in font
    monkeypatch.setattr(ap, "FONT_CANDIDATES", [])
    grid, font = ap.render_grid(tiles, cols=2, title="t")
    assert font is None and grid.shape == (ap.TEXT_H + ap.PAD + ap.PAD + 48 + ap.TEXT_H + ap.PAD, 2 * 246 + 6, 3)
    assert (grid[-ap.TEXT_H:] < 128).any()  # the ASCII label was drawn


def test_missing_section_is_a_usage_error(setup, tmp_path, capsys):
    _, cfg, _ = setup
    assert main(["aug-preview", "-c", cfg, "--mode", "Test", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ppexp aug-preview: error: {cfg} has no Test.dataset section; pass --mode Train")
    assert main(["aug-preview", "-c", cfg, "--n", "0", "--out", str(tmp_path / "x.png")]) == 2
    assert "ppexp aug-preview: error: --n must be at least 1 (got 0)" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_unwritable_output_names_the_option(setup, tmp_path, capsys):
    _, cfg, _ = setup
    assert main(["aug-preview", "-c", cfg, "--n", "2", "--out", str(tmp_path / "grid.txt")]) == 1
    assert "ppexp aug-preview: error: --out: could not write" in capsys.readouterr().err
