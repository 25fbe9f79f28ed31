"""Run reader: the fast VisualDL scalar parser, restarts, train.log fallback, summary facts."""
import math
import os

import numpy as np
import pytest

from ppexp.experiments.analysis import read_run, read_runs
from ppexp.experiments.analysis.run_reader import RunError
from ppexp.experiments.analysis.series import merge_segments
from ppexp.experiments.analysis.synthetic import encode_curves, encode_scalar, make_curves, write_run
from ppexp.experiments.analysis.train_log import log_facts, parse_train_log
from ppexp.experiments.analysis.vdl_records import parse_scalars, read_scalars

LogWriter = pytest.importorskip("visualdl").LogWriter


def _logreader_scalars(path):
    from visualdl import LogReader

    reader = LogReader(file_path=path)
    return {tag: [(v.id, v.value, v.timestamp) for v in reader.get_data("scalar", tag)]
            for tag in reader.get_tags().get("scalar", [])}


def _assert_same(ours, ref):
    assert sorted(ours) == sorted(ref)
    for tag, points in ref.items():
        steps, values, wall = ours[tag]
        assert steps.tolist() == [p[0] for p in points], tag
        np.testing.assert_array_equal(values, np.array([p[1] for p in points], np.float32).astype(np.float64))
        assert wall.tolist() == [p[2] for p in points], tag


def test_fast_parser_matches_visualdl_logreader_on_odd_records(tmp_path):
    long_a = "TRAIN/aaaaaaaa_middle_one_zzzzzzzz"
    long_b = "TRAIN/aaaaaaaa_middle_two_zzzzzzzz"  # same first and last 8 bytes as long_a
    with LogWriter(logdir=str(tmp_path), file_name="vdlrecords.1.log") as w:
        w.add_text("notes", "a text record the fast path must skip", step=1)
        for step in range(0, 50):
            w.add_scalar("TRAIN/loss", 0.0 if step == 3 else -1.5 * step, step)  # step 0 and value 0 are omitted
            w.add_scalar("x", float("nan") if step == 7 else step, step)  # a 1-byte tag
            w.add_scalar(long_a, step, step)
            w.add_scalar(long_b, -step, step)
            w.add_scalar("EVAL/정확도", 0.5, 2**40 + step)  # non-ASCII tag, big step
        w.add_histogram("hist", np.arange(10.0), step=3)
        w.add_scalar("neg", 1.0, -5)  # a 10-byte varint
        w.add_scalar("TRAIN/loss", float("inf"), 60)
    path = str(tmp_path / "vdlrecords.1.log")
    ours, ref = read_scalars(path), _logreader_scalars(path)
    nan_at = ours["x"][1]
    assert math.isnan(nan_at[7]) and ours["TRAIN/loss"][1][-1] == math.inf
    ours["x"] = (ours["x"][0], np.nan_to_num(nan_at, nan=-1.0), ours["x"][2])
    ref["x"] = [(s, -1.0 if math.isnan(v) else v, w) for s, v, w in ref["x"]]
    _assert_same(ours, ref)
    assert ours[long_b][1][5] == -5.0 and ours["TRAIN/loss"][0][0] == 0


def test_truncated_last_record_is_ignored(tmp_path):
    with LogWriter(logdir=str(tmp_path), file_name="vdlrecords.1.log") as w:
        for step in range(1, 21):
            w.add_scalar("TRAIN/loss", step, step)
    raw = (tmp_path / "vdlrecords.1.log").read_bytes()
    steps, _, _ = parse_scalars(raw[:-3])["TRAIN/loss"]
    assert steps.tolist() == list(range(1, 20))


def test_encoder_is_byte_identical_to_logwriter(tmp_path):
    with LogWriter(logdir=str(tmp_path), file_name="vdlrecords.1.log") as w:
        w.add_scalar("TRAIN/loss", 1.25, 0, walltime=1700000000123)
        w.add_scalar("TRAIN/norm_edit_dis", -0.5, 123456, walltime=1700000000456)
    raw = (tmp_path / "vdlrecords.1.log").read_bytes()
    ours = encode_scalar("TRAIN/loss", 0, 1.25, 1700000000123) + \
        encode_scalar("TRAIN/norm_edit_dis", 123456, -0.5, 1700000000456)
    assert raw.endswith(ours)  # LogWriter starts with one meta-data record


def test_encoded_file_parses_like_curves():
    curves = make_curves("healthy", steps=2000)
    parsed = parse_scalars(encode_curves(curves))
    assert sorted(parsed) == sorted(curves)
    for tag, (steps, values) in curves.items():
        assert parsed[tag][0].tolist() == steps.tolist()
        np.testing.assert_allclose(parsed[tag][1], values, rtol=1e-6, atol=1e-6)


def test_merge_segments_drops_the_abandoned_branch():
    a = (np.array([10, 20, 30, 40]), np.array([1.0, 2, 3, 4]), np.zeros(4))
    b = (np.array([30, 50]), np.array([30.0, 50]), np.ones(2))
    merged = merge_segments([a, b])
    assert merged.steps.tolist() == [10, 20, 30, 50] and merged.values.tolist() == [1, 2, 30, 50]


def test_restarted_run_reads_all_record_files(tmp_path):
    from ppexp.experiments.analysis.synthetic import write_vdl

    curves = make_curves("healthy", steps=2000, eval_every=200)
    vdl = str(tmp_path / "vdl")
    write_vdl(vdl, curves, "vdlrecords.1700000000.log", step_range=(0, 1500))
    resumed = {k: (s, v + 100) for k, (s, v) in curves.items()}  # distinguishable values
    write_vdl(vdl, resumed, "vdlrecords.1700009999.log", step_range=(1001, 2000), start=1800000000)
    run = read_run(str(tmp_path))
    loss = run.get("TRAIN/loss")
    assert loss.steps.tolist() == curves["TRAIN/loss"][0].tolist()
    assert np.all(loss.values[loss.steps <= 1000] < 100) and np.all(loss.values[loss.steps > 1000] > 100)
    assert len(run.segments) == 2
    seconds, steps_per_s = run.wall_time()
    assert steps_per_s == pytest.approx(5.0, rel=0.02) and seconds == pytest.approx((1480 + 980) / 5, rel=0.02)


UPSTREAM_LOG = """\
[2026/11/22 02:10:00] ppocr INFO: train dataloader has 4 iters
[2026/11/22 02:10:01] ppocr INFO: epoch: [1/72], global_step: 2, lr: 0.000500, acc: 0.000000, norm_edit_dis: 0.000000, loss: 35.123456, avg_reader_cost: 0.01234 s, avg_batch_cost: 0.12345 s, avg_samples: 64.0, ips: 518.30000 samples/s, eta: 0:10:00
[2026/11/22 02:10:11] ppocr INFO: epoch: [1/72], global_step: 4, lr: 0.000500, acc: 0.100000, norm_edit_dis: 0.200000, loss: 20.5, avg_reader_cost: 0.01234 s, avg_batch_cost: 0.12345 s, avg_samples: 64.0, ips: 520.00000 samples/s, eta: 0:10:00
[2026/11/22 02:10:30] ppocr INFO: cur metric, acc: 0.10000, norm_edit_dis: 0.20000, loss: 3.2, fps: 123.4
[2026/11/22 02:10:30] ppocr INFO: best metric, acc: 0.10000, norm_edit_dis: 0.20000, fps: 123.4, best_epoch: 1
[2026/11/22 02:10:31] ppocr WARNING: dropped samples this epoch: 3 (bad_image: 2, too_long: 1); they were replaced
[2026/11/22 02:10:41] ppocr INFO: epoch: [2/72], global_step: 6, lr: 0.000400, acc: 0.200000, norm_edit_dis: 0.300000, loss: nan, avg_reader_cost: 0.01 s, avg_batch_cost: 0.1 s, avg_samples: 64.0, ips: 500.0 samples/s, eta: 0:09:00
[2026/11/22 03:00:00] ppocr INFO: epoch: [2/72], global_step: 5, lr: 0.000450, acc: 0.150000, norm_edit_dis: 0.250000, loss: 10.0, avg_reader_cost: 0.01 s, avg_batch_cost: 0.1 s, avg_samples: 64.0, ips: 500.0 samples/s, eta: 0:09:00
"""


def test_upstream_train_log_is_parsed():
    series = parse_train_log(UPSTREAM_LOG)
    loss = series["TRAIN/loss"]
    assert loss.steps.tolist() == [2, 4, 5]  # the restart at step 5 replaced step 6
    assert loss.values.tolist() == [35.123456, 20.5, 10.0]
    assert series["TRAIN/epoch"].values.tolist() == [1, 1, 2]
    assert series["TRAIN/samples_per_sec"].values[0] == 518.3
    assert series["EVAL/acc"].steps.tolist() == [4] and series["EVAL/fps"].values[0] == 123.4
    assert series["EVAL/best_acc"].values.tolist() == [0.1]
    assert series["TRAIN/dropped_samples"].values.tolist() == [3]
    facts = log_facts(UPSTREAM_LOG)
    assert facts["steps_per_epoch"] == 4 and facts["best_epoch"] == 1
    assert facts["dropped_samples"] == 3 and facts["drop_reasons"] == {"bad_image": 2, "too_long": 1}
    assert facts["nonfinite_loss"] == (6, "nan")


def test_paddleocr_2_0_iter_lines():
    text = ("[2021/03/01 10:00:00] root INFO: epoch: [1/500], iter: 10, lr: 0.000050, loss: 40.1, acc: 0.000000, "
            "norm_edit_dis: 0.010000, reader_cost: 0.1 s, batch_cost: 0.3 s, samples: 256, ips: 853.3\n")
    series = parse_train_log(text)
    assert series["TRAIN/loss"].steps.tolist() == [10] and series["TRAIN/samples_per_sec"].values[0] == 853.3


def test_train_log_fallback_gives_the_same_summary_as_visualdl(tmp_path):
    a = read_run(write_run(str(tmp_path / "vdl_run"), "overfitting", train_log=False))
    b = read_run(write_run(str(tmp_path / "log_run"), "overfitting", vdl=False))
    assert (a.source, b.source) == ("visualdl", "train.log")
    sa, sb = a.summary(), b.summary()
    for key in ("best_step", "best_epoch", "last_step", "last_epoch", "steps_per_epoch", "planned_steps", "evals"):
        assert sa[key] == sb[key], key
    for key in ("best_value", "final_train_acc", "gap_at_best", "steps_per_s", "wall_time_s"):
        assert sa[key] == pytest.approx(sb[key], abs=1e-4), key


def test_summary_facts(tmp_path):
    run = read_run(write_run(str(tmp_path / "exp"), "dropped_samples", steps=2000))
    s = run.summary()
    assert s["best_step"] == 2000 and s["best_epoch"] == 10 and s["last_epoch"] == 10
    assert s["steps_per_epoch"] == 200 and s["planned_steps"] == 2000 and s["epochs_planned"] == 10
    assert s["dropped_samples"] == 3000 and s["dropped_share"] == pytest.approx(3000 / (3000 + 2000 * 64))
    assert s["lr_schedule"] == "Cosine" and s["batch_size"] == 64 and s["optimizer"] == "Adam"
    assert s["steps_to_90pct"] < s["best_step"]
    assert s["gap_at_best"] == pytest.approx(s["train_acc_at_best"] - s["best_value"])
    assert s["wall_time_s"] == pytest.approx((2000 - 20) / 5.0) and s["best_checkpoint"] is None
    (tmp_path / "exp" / "best_accuracy.pdparams").write_bytes(b"x")
    assert read_run(str(tmp_path / "exp")).summary()["best_checkpoint"].endswith("best_accuracy.pdparams")


def test_missing_and_empty_runs(tmp_path):
    with pytest.raises(RunError, match="does not exist"):
        read_run(str(tmp_path / "nope"))
    run = read_run(str(tmp_path))
    assert run.source is None and run.tags() == [] and run.summary()["best_value"] is None


def test_duplicate_names_get_parent(tmp_path):
    a = write_run(str(tmp_path / "a" / "exp"), "healthy", steps=400, train_log=False)
    b = write_run(str(tmp_path / "b" / "exp"), "healthy", steps=400, train_log=False)
    assert [r.name for r in read_runs([a, b])] == ["a/exp", "b/exp"]


def test_real_short_training_is_read(tmp_path, monkeypatch):
    """A real (tiny) training run through ppexp's trainer, then read back."""
    trainer = pytest.importorskip("ppexp.engine.trainer")
    from ppexp.config import load_config, merge_overrides
    from ppexp.utils.toy_data import make_word_dataset

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    monkeypatch.chdir(tmp_path)
    make_word_dataset("data", 32, seed=0, name="train.txt")
    make_word_dataset("data", 8, seed=1, name="val.txt")
    cfg = merge_overrides(load_config(os.path.join(repo, "configs/rec/tiny_words.yml")), [
        "Global.epoch_num=2", "Global.save_model_dir=run", "Global.eval_batch_step=[0,2]",
        "Global.print_batch_step=1", "Train.dataset.data_dir=data/", "Train.dataset.label_file_list=[data/train.txt]",
        "Eval.dataset.data_dir=data/", "Eval.dataset.label_file_list=[data/val.txt]",
        "Train.loader.batch_size_per_card=16"])
    from ppexp.engine.loggers import setup_logger

    logger = setup_logger(os.path.join("run", "train.log"))
    try:
        trainer.train(cfg)
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
    run = read_run("run")
    assert run.source == "visualdl"
    assert run.get("TRAIN/loss").steps.tolist() == [1, 2, 3, 4]
    assert run.get("EVAL/acc").steps.tolist() == [2, 4]
    s = run.summary()
    assert s["steps_per_epoch"] == 2 and s["last_epoch"] == 2 and s["train_samples"] == 32
    assert s["best_checkpoint"] and s["best_step"] in (2, 4)
    assert s["wall_time_s"] > 0
