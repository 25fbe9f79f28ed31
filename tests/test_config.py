"""Config loading: PaddleOCR's -o semantics plus the checks upstream lacks."""
import os

import pytest

from ppexp.config import ConfigError, dump_config, get_config, load_config, merge_overrides

BASE = """
Global:
  epoch_num: 10
  save_model_dir: ./out
  eval_batch_step: [0, 100]
Optimizer:
  name: Adam
  lr:
    name: Cosine
    learning_rate: 1e-3
Architecture:
  model_type: rec
  Backbone: {name: MobileNetV3, scale: 0.5}
Train:
  dataset:
    name: SimpleDataSet
    transforms:
      - DecodeImage: {img_mode: BGR}
      - RecResizeImg: {image_shape: [3, 32, 100]}
  loader: {batch_size_per_card: 64}
"""


@pytest.fixture
def cfg_file(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text(BASE, encoding="utf-8")
    return str(path)


def test_exponent_strings_become_numbers(cfg_file):
    config, warnings = get_config(cfg_file)
    assert config["Optimizer"]["lr"]["learning_rate"] == pytest.approx(1e-3)
    assert warnings == []


def test_overrides_are_yaml_parsed_and_dotted(cfg_file):
    config, _ = get_config(cfg_file, ["Global.epoch_num=3", "Global.eval_batch_step=[5, 7]",
                                      "Optimizer.lr.learning_rate=5e-4", "Global.use_visualdl=false",
                                      "Train.dataset.transforms.1.RecResizeImg.image_shape=[3,48,320]"])
    assert config["Global"]["epoch_num"] == 3
    assert config["Global"]["eval_batch_step"] == [5, 7]
    assert config["Optimizer"]["lr"]["learning_rate"] == pytest.approx(5e-4)
    assert config["Global"]["use_visualdl"] is False
    assert config["Train"]["dataset"]["transforms"][1]["RecResizeImg"]["image_shape"] == [3, 48, 320]


def test_unknown_section_in_override_is_an_error(cfg_file):
    with pytest.raises(ConfigError, match="Globel"):
        get_config(cfg_file, ["Globel.epoch_num=3"])


def test_misspelt_key_warns_with_did_you_mean(cfg_file):
    _, warnings = get_config(cfg_file, ["Global.epoch_nums=3", "Train.loader.batch_size_per_crad=8"])
    assert any("epoch_nums" in w and "did you mean 'epoch_num'" in w for w in warnings)
    assert any("batch_size_per_crad" in w and "loader.batch_size_per_card" in w for w in warnings)


def test_wrong_type_names_key_and_file(cfg_file):
    with pytest.raises(ConfigError) as err:
        get_config(cfg_file, ["Global.epoch_num=ten"])
    assert "Global.epoch_num" in str(err.value) and cfg_file in str(err.value)


def test_python_tags_are_refused_with_line(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.yml"
    path.write_text("Global:\n  epoch_num: 1\n  x: !!python/object/apply:os.system ['touch %s']\n" % marker)
    with pytest.raises(ConfigError, match=r"evil.yml:3"):
        load_config(str(path))
    assert not marker.exists()


def test_anchors_and_aliases_still_work(tmp_path):
    path = tmp_path / "a.yml"
    path.write_text("Global: &g {epoch_num: 2}\nOther: *g\n")
    assert load_config(str(path))["Other"] == {"epoch_num": 2}


def test_merged_config_round_trips(cfg_file, tmp_path):
    config, _ = get_config(cfg_file, ["Global.epoch_num=4"])
    out = tmp_path / "saved" / "config.yml"
    dump_config(config, str(out))
    assert load_config(str(out)) == config


def test_missing_file_is_clear():
    with pytest.raises(ConfigError, match="does not exist"):
        load_config("/nonexistent/c.yml")


def test_top_level_override_merges_dicts():
    merged = merge_overrides({"Global": {"a": 1, "b": 2}}, ["Global={a: 5}"])
    assert merged["Global"] == {"a": 5, "b": 2}


def test_det_prediction_path_default_lives_in_config_defaults():
    from ppexp.config_defaults import DET_SAVE_RES_PATH, det_save_res_path

    assert det_save_res_path({}) == DET_SAVE_RES_PATH == "./output/det_db/predicts_db.txt"
    assert det_save_res_path({"Global": {"save_res_path": ""}}) == DET_SAVE_RES_PATH
    assert det_save_res_path({"Global": {"save_res_path": "out/r.txt"}}) == "out/r.txt"
