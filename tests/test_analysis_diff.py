"""ppexp diff: dotted keys, defaults filled in, transforms compared by name and arguments."""
import json

import yaml

from ppexp.cli import main
from ppexp.experiments.analysis import diff_configs, format_diff, load_for_diff


def _rows(a, b, **kw):
    return {r["key"]: (r["a_text"], r["b_text"]) for r in diff_configs(a, b, **kw)}


def test_upstream_mv3_vs_r34(fixtures_dir):
    a = load_for_diff(str(fixtures_dir / "configs" / "rec_mv3_none_bilstm_ctc.yml"))
    b = load_for_diff(str(fixtures_dir / "configs" / "rec_r34_vd_none_bilstm_ctc.yml"))
    assert _rows(a, b, ignore=["Global.save_*"]) == {
        "Architecture.Backbone.name": ("MobileNetV3", "ResNet"),
        "Architecture.Backbone.scale": ("0.5", "—"),
        "Architecture.Backbone.model_name": ("large", "—"),
        "Architecture.Backbone.layers": ("—", "34"),
        "Architecture.Neck.hidden_size": ("96", "256"),
        "Train.loader.shuffle": ("false", "true"),
    }


def test_upstream_chinese_lite_vs_common(fixtures_dir):
    a = load_for_diff(str(fixtures_dir / "configs" / "rec_chinese_lite_train_v2.0.yml"))
    b = load_for_diff(str(fixtures_dir / "configs" / "rec_chinese_common_train_v2.0.yml"))
    rows = _rows(a, b, ignore=["Global.save_*"])
    # data_dir './train_data' vs './train_data/' is the same path; 'checkpoints: ' vs 'checkpoints:' both null
    assert rows == {
        "Optimizer.regularizer.factor": ("1e-5", "4e-5"),
        "Architecture.Backbone.name": ("MobileNetV3", "ResNet"),
        "Architecture.Backbone.scale": ("0.5", "—"),
        "Architecture.Backbone.model_name": ("small", "—"),
        "Architecture.Backbone.small_stride": ("[1, 2, 2, 2]", "—"),
        "Architecture.Backbone.layers": ("—", "34"),
        "Architecture.Neck.hidden_size": ("48", "256"),
        "Architecture.Head.fc_decay": ("1e-5", "4e-5"),
    }


def test_upstream_transform_change_is_one_row(fixtures_dir):
    a = load_for_diff(str(fixtures_dir / "configs" / "rec_icdar15_train.yml"))
    b = load_for_diff(str(fixtures_dir / "configs" / "rec_en_number_lite_train.yml"))
    rows = _rows(a, b)
    assert rows["Train.dataset.transforms"] == ("DecodeImage", "DecodeImage + RecAug")
    assert rows["Train.dataset.transforms.RecResizeImg.image_shape"] == ("[3, 32, 100]", "[3, 32, 320]")
    assert rows["Optimizer.lr.name"] == ("Const (default)", "Cosine")
    assert "Eval.dataset.transforms" not in rows


SEED = """
Global: {epoch_num: 120, save_model_dir: ./output/exp6, eval_batch_step: [0, 500], max_text_length: 25,
         checkpoints: null}
Optimizer:
  name: Adam
  lr: {name: LinearWarmupCosine, learning_rate: 0.001, warmup_steps: 2000, min_lr: 1.0e-6}
  regularizer: {name: L2, factor: 1.0e-5}
Architecture:
  model_type: rec
  algorithm: CRNN
  Backbone: {name: ResNet, layers: 18, disable_se: true}
  Neck: {name: SequenceEncoder, encoder_type: rnn, hidden_size: 256}
  Head: {name: CTCHead, fc_decay: 1.0e-5}
Train:
  dataset:
    name: SimpleDataSet
    transforms:
      - DecodeImage: {img_mode: BGR, channel_first: false}
      - RecAug:
      - CTCLabelEncode:
      - RecResizeImg: {image_shape: [3, 48, 320]}
      - KeepKeys: {keep_keys: [image, label, length]}
  loader: {shuffle: true, batch_size_per_card: 192, drop_last: true, num_workers: 8}
"""


def _seed(**changes):
    from ppexp.config import merge_overrides

    return merge_overrides(yaml.safe_load(SEED), list(changes.items()))


def test_seed_exp6_to_exp7_table():
    """The user's 'Exp6 -> Exp7' table (000_*.txt), row for row."""
    exp6 = _seed()
    exp7 = _seed(**{"Optimizer.lr.warmup_steps": 1000, "Optimizer.lr.min_lr": "1e-7",
                    "Optimizer.regularizer.factor": 1e-4, "Train.loader.batch_size_per_card": 128,
                    "Architecture.Backbone.disable_se": False, "Architecture.Neck.hidden_size": 384,
                    "Architecture.Head.fc_decay": 1e-4, "Global.save_model_dir": "./output/exp7"})
    exp7["Train"]["dataset"]["transforms"].insert(2, {"RandAugment": {"num_ops": 2, "magnitude": 9}})
    assert _rows(exp6, exp7, ignore=["Global.save_model_dir"]) == {
        "Optimizer.lr.warmup_steps": ("2000", "1000"),
        "Optimizer.lr.min_lr": ("1e-6", "1e-7"),
        "Optimizer.regularizer.factor": ("1e-5", "0.0001"),
        "Architecture.Backbone.disable_se": ("true", "false"),
        "Architecture.Neck.hidden_size": ("256", "384"),
        "Architecture.Head.fc_decay": ("1e-5", "0.0001"),
        "Train.dataset.transforms": ("RecAug", "RecAug + RandAugment(num_ops=2, magnitude=9)"),
        "Train.loader.batch_size_per_card": ("192", "128"),
    }


def test_seed_exp9_to_exp10_transform_arguments():
    exp9 = _seed()
    exp9["Train"]["dataset"]["transforms"][1] = {"RecAug": {"use_tia": True, "aug_prob": 0.7}}
    exp10 = _seed()
    exp10["Train"]["dataset"]["transforms"][1] = {"RecAug": {"use_tia": False, "aug_prob": 1.0}}
    assert _rows(exp9, exp10) == {
        "Train.dataset.transforms.RecAug.use_tia": ("true", "false"),
        "Train.dataset.transforms.RecAug.aug_prob": ("0.7", "1"),
    }


def test_seed_exp3_to_exp4_schedule_change():
    exp3 = _seed(**{"Optimizer.lr.warmup_steps": 3125})
    exp4 = _seed(**{"Optimizer.lr": {"name": "OneCycle", "max_lr": 0.001, "warmup_steps": 5000},
                    "Global.use_amp": True})
    rows = _rows(exp3, exp4)
    assert rows["Optimizer.lr.name"] == ("LinearWarmupCosine", "OneCycle")
    assert rows["Optimizer.lr.warmup_steps"] == ("3125", "5000")
    assert rows["Global.use_amp"] == ("false (default)", "true")
    assert rows["Optimizer.lr.max_lr"] == ("—", "0.001")


def test_defaults_are_not_changes():
    a = _seed()
    b = _seed(**{"Train.loader.use_shared_memory": True, "Global.use_amp": False, "Global.log_smooth_window": 20,
                 "Optimizer.lr.warmup_epoch": 0.0, "Global.pretrained_model": None})
    b["Train"]["dataset"]["transforms"][3]["RecResizeImg"]["padding"] = True  # RecResizeImg's default
    assert diff_configs(a, b) == []
    c = _seed(**{"Train.loader.use_shared_memory": False, "Architecture.Neck.hidden_size": 48})
    del c["Architecture"]["Neck"]["hidden_size"]  # SequenceEncoder's default hidden_size is 48
    rows = _rows(a, c)
    assert rows["Train.loader.use_shared_memory"] == ("true (default)", "false")
    assert rows["Architecture.Neck.hidden_size"] == ("256", "48 (default)")


def test_global_values_inherited_by_transforms_are_one_row():
    a = _seed()
    b = _seed(**{"Global.max_text_length": 40})
    assert _rows(a, b) == {"Global.max_text_length": ("25", "40")}


def test_exponent_strings_equal_numbers():
    a = _seed(**{"Optimizer.regularizer.factor": "1e-5"})
    assert diff_configs(a, _seed()) == []


def test_cli_formats_and_run_dirs(tmp_path, capsys):
    from ppexp.config import dump_config

    a, b = _seed(), _seed(**{"Architecture.Neck.hidden_size": 384})
    dump_config(a, str(tmp_path / "exp6" / "config.yml"))
    dump_config(b, str(tmp_path / "exp7.yml"))
    assert main(["diff", str(tmp_path / "exp6"), str(tmp_path / "exp7.yml")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:3] == ["| key | exp6 | exp7.yml |", "|---|---|---|",
                                    "| Architecture.Neck.hidden_size | 256 | 384 |"]
    assert main(["diff", str(tmp_path / "exp6"), str(tmp_path / "exp7.yml"), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["key"] == "Architecture.Neck.hidden_size" and (data[0]["a"], data[0]["b"]) == (256, 384)
    assert main(["diff", str(tmp_path / "exp6"), str(tmp_path / "exp6"), "--format", "text"]) == 0
    assert "(no differences)" in capsys.readouterr().out
    assert main(["diff", str(tmp_path / "missing.yml"), str(tmp_path / "exp7.yml")]) == 2
    text = format_diff(diff_configs(a, b), "text", ("exp6", "exp7"))
    assert text.splitlines()[2].split() == ["Architecture.Neck.hidden_size", "256", "384"]


def test_block_on_one_side_only_is_one_row():
    a = _seed()
    b = _seed(**{"Eval": {"dataset": {"name": "SimpleDataSet"}, "loader": {"batch_size_per_card": 64}}})
    del a["Optimizer"]["regularizer"]
    assert _rows(a, b) == {
        "Optimizer.regularizer": ("—", "{name: L2, factor: 1e-5}"),
        "Eval": ("—", "{dataset: {name: SimpleDataSet}, loader: {batch_size_per_card: 64}}"),
    }
