"""Per-epoch dropped-sample accounting across DataLoader workers, and datasets that stop instead of looping."""
import os
import re
import time

import pytest

from ppexp.cli import main
from ppexp.data.datasets.base import DatasetError
from ppexp.data.loader import build_dataloader, build_dataset
from ppexp.utils.toy_data import make_word_dataset

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "rec", "tiny_words.yml")
TRANSFORMS = [
    {"DecodeImage": {"img_mode": "BGR", "channel_first": False}},
    {"CTCLabelEncode": None},
    {"RecResizeImg": {"image_shape": [3, 32, 100]}},
    {"KeepKeys": {"keep_keys": ["image", "label", "length"]}},
]
# reason -> how many planted; each bad line is followed by a good one (Eval skips it, Train replaces it)
PLANTED = {"unreadable image": 3, "missing image": 2, "empty image file": 1, "label too long": 2,
           "empty label": 2, "all characters unknown": 2}


def _good_lines(root, n, seed=0):
    label_file = make_word_dataset(root, n, seed, name="good.txt")
    return open(label_file, encoding="utf-8").read().splitlines()


def _bad_line(root, reason, k):
    rel = f"images/bad_{reason.replace(' ', '_')}_{k}.jpg"
    os.makedirs(os.path.join(root, "images"), exist_ok=True)
    good = "images/good_00000.jpg"
    if reason == "unreadable image":
        with open(os.path.join(root, rel), "wb") as f:
            f.write(b"this is not an image" * 10)
        return f"{rel}\tabc"
    if reason == "empty image file":
        open(os.path.join(root, rel), "wb").close()
        return f"{rel}\tabc"
    return {"missing image": f"images/nowhere_{k}.jpg\tabc",
            "label too long": f"{good}\t{'a' * 30}",
            "empty label": f"{good}\t",
            "all characters unknown": f"{good}\t#$%"}[reason]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """60 good samples with 12 planted bad ones spread over the file (root, label file)."""
    root = str(tmp_path_factory.mktemp("planted"))
    good = _good_lines(root, 60)
    bad = [_bad_line(root, reason, k) for reason, n in PLANTED.items() for k in range(n)]
    lines = []
    for i, line in enumerate(good):
        lines.append(line)
        if i % 5 == 2 and bad:  # at positions 3, 9, 15, ... -> in even and odd batches of 8
            lines.append(bad.pop(0))
    assert not bad
    path = os.path.join(root, "planted.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return root, path


def _config(root, label_file, mode="Eval", workers=2, batch=8, **dataset):
    section = {"dataset": {"name": "SimpleDataSet", "data_dir": root, "label_file_list": [label_file],
                           "transforms": TRANSFORMS, **dataset},
               "loader": {"batch_size_per_card": batch, "num_workers": workers, "drop_last": False,
                          "shuffle": mode == "Train"}}
    return {"Global": {"max_text_length": 25, "character_dict_path": None}, mode: section}


def _epoch(loader, epoch=1):
    loader.batch_sampler.set_epoch(epoch)
    return sum(batch[0].shape[0] for batch in loader)


def test_exact_counts_across_two_workers(planted):
    root, label_file = planted
    loader, dataset = build_dataloader(_config(root, label_file, workers=2), "Eval", seed=0)
    for epoch in (1, 2):  # persistent workers: the reset must reach them too
        assert len(dataset) == 72
        assert _epoch(loader, epoch) == 72 - sum(PLANTED.values())   # each readable sample once, none replaced
        assert dataset.drops.snapshot_and_reset() == PLANTED
    assert dataset.drops.snapshot() == {}


def test_training_order_counts_every_replacement(planted):
    root, label_file = planted
    loader, dataset = build_dataloader(_config(root, label_file, mode="Train", workers=2), "Train", seed=3)
    assert _epoch(loader) == 72
    drops = dataset.drops.snapshot_and_reset()
    # random replacements may hit another bad sample: at least the planted counts, no other reason
    assert set(drops) == set(PLANTED)
    assert all(drops[r] >= n for r, n in PLANTED.items()), drops


def test_workers_draw_different_replacements(planted):
    root, label_file = planted
    dataset = build_dataset(_config(root, label_file, mode="Train"), "Train", seed=1)
    main_draws = [int(dataset.rng.integers(1000)) for _ in range(5)]
    import paddle.io.dataloader.worker as worker_mod

    saved = worker_mod._worker_info
    try:
        draws = []
        for wid in (0, 1):
            worker_mod._worker_info = worker_mod.WorkerInfo(id=wid, num_workers=2, dataset=dataset, seed=0)
            draws.append([int(dataset.rng.integers(1000)) for _ in range(5)])
    finally:
        worker_mod._worker_info = saved
    assert draws[0] != draws[1] and main_draws not in draws


def test_training_run_logs_and_writes_dropped_samples(planted, tmp_path):
    from visualdl import LogReader

    root, label_file = planted
    out = str(tmp_path / "run")
    opts = [f"Global.save_model_dir={out}", "Global.epoch_num=1", "Global.eval_batch_step=[0,1000]",
            "Global.cal_metric_during_train=False", f"Train.dataset.data_dir={root}",
            f"Train.dataset.label_file_list=[{label_file}]", "Train.loader.batch_size_per_card=24",
            "Train.loader.num_workers=2", f"Eval.dataset.data_dir={root}",
            f"Eval.dataset.label_file_list=[{root}/good.txt]"]
    assert main(["train", "-c", CONFIG, "-o", *opts]) == 0
    log = open(os.path.join(out, "train.log"), encoding="utf-8").read()
    m = re.search(r"dropped samples this epoch: (\d+) \((.*)\)", log)
    assert m, log[-2000:]
    assert int(m.group(1)) >= sum(PLANTED.values())
    vdl = os.path.join(out, "vdl")
    name = [f for f in os.listdir(vdl) if f.startswith("vdlrecords")][0]
    records = LogReader(file_path=os.path.join(vdl, name)).get_data("scalar", "TRAIN/dropped_samples")
    assert [r.value for r in records] == [int(m.group(1))]


def test_mostly_bad_labels_stop_at_construction(tmp_path):
    root = str(tmp_path)
    good = _good_lines(root, 4)
    lines = good + [f"images/good_00000.jpg\t{'x' * 40}"] * 6
    path = os.path.join(root, "bad.txt")
    open(path, "w", encoding="utf-8").write("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=r"6 of 10 labels are rejected.*label too long"):
        build_dataset(_config(root, path, mode="Train"), "Train", seed=0)


def _unreadable_set(root, n_bad, n_good):
    lines = _good_lines(root, n_good) if n_good else []
    for k in range(n_bad):
        lines.append(_bad_line(root, "unreadable image", k))
    path = os.path.join(root, "mostly_bad.txt")
    open(path, "w", encoding="utf-8").write("\n".join(lines) + "\n")
    return path


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_all_images_unreadable_raise_after_bounded_retries(tmp_path):
    root = str(tmp_path)
    path = _unreadable_set(root, 40, 0)
    dataset = build_dataset(_config(root, path, mode="Train"), "Train", seed=0)
    t0 = time.process_time()
    with pytest.raises(DatasetError, match=r"21 consecutive samples were rejected.*unreadable image"):
        dataset[0]
    assert dataset.drops.snapshot() == {"unreadable image": 21}
    assert time.process_time() - t0 < 5
    loader, _ = build_dataloader(_config(root, path, mode="Train", workers=2), "Train", seed=0, dataset=dataset)
    _stops_in_a_worker(loader, dataset, r"consecutive samples were rejected.*unreadable image")


def _stops_in_a_worker(loader, dataset, pattern):
    """The error raised in a worker stops the epoch and reaches the main process as the
    dataset's DatasetError with its message (paddle alone says 'Blocking queue is killed')."""
    dataset.drops.set_fatal("")
    with pytest.raises(DatasetError, match=pattern):
        _epoch(loader)


def test_unreadable_dataset_stops_without_workers_too(tmp_path):
    """num_workers=0: the error surfaces in the training thread instead of hanging it."""
    root = str(tmp_path)
    path = _unreadable_set(root, 40, 0)
    loader, _ = build_dataloader(_config(root, path, mode="Train", workers=0), "Train", seed=0)
    with pytest.raises(DatasetError, match=r"consecutive samples were rejected.*unreadable image"):
        _epoch(loader)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_mostly_unreadable_images_stop_on_the_reject_fraction(tmp_path):
    root = str(tmp_path)
    path = _unreadable_set(root, 48, 12)  # 80 % bad: each sample still finds a good one within the retries
    loader, dataset = build_dataloader(
        _config(root, path, mode="Train", workers=2, max_sample_retries=1000), "Train", seed=0)
    _stops_in_a_worker(loader, dataset, r"of the last \d+ sample loads were rejected.*unreadable image")


def test_ext_data_is_bounded_when_every_image_fails(tmp_path):
    root = str(tmp_path)
    path = _unreadable_set(root, 20, 0)
    transforms = [TRANSFORMS[0], {"RecConAug": {"prob": 1.0, "image_shape": [32, 320, 3], "ext_data_num": 2}},
                  *TRANSFORMS[1:]]
    dataset = build_dataset(_config(root, path, mode="Train", transforms=transforms, ext_op_transform_idx=1),
                            "Train", seed=0)
    assert dataset.get_ext_data() == []
