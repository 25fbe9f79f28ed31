"""ppexp lmdb: upstream-layout LMDB from label files; round trip (labels, image bytes) and training from it."""
import os
import re

import lmdb
import pytest

from ppexp.cli import main
from ppexp.data.loader import build_dataset
from ppexp.experiments.data_tools.lmdb_build import build_lmdb, read_label_file
from ppexp.utils.toy_data import make_word_dataset

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "rec", "tiny_words.yml")


@pytest.fixture(scope="module")
def words(tmp_path_factory):
    """96 train + 32 val word images; train.txt gets 5 bad lines appended (one of each skip reason, +1)."""
    root = str(tmp_path_factory.mktemp("words"))
    make_word_dataset(root, 96, 0, name="train.txt")
    make_word_dataset(root, 32, 1, name="val.txt")
    good = open(os.path.join(root, "train.txt"), encoding="utf-8").read().splitlines()
    with open(os.path.join(root, "images", "broken.jpg"), "wb") as f:
        f.write(b"\xff\xd8 not really a jpeg")
    open(os.path.join(root, "images", "empty.jpg"), "wb").close()
    bad = ["images/nowhere.jpg\tabc", "a line without the delimiter", "images/train_00001.jpg\t",
           "images/broken.jpg\tabc", "images/empty.jpg\tabc"]
    with open(os.path.join(root, "train.txt"), "w", encoding="utf-8", newline="") as f:
        f.write("\ufeff" + "\r\n".join(good[:50] + bad[:2] + good[50:] + bad[2:]) + "\r\n\r\n")
    return root, good


def _read_db(path):
    env = lmdb.open(path, readonly=True, lock=False)
    with env.begin() as txn:
        n = int(txn.get(b"num-samples"))
        items = [(txn.get(b"image-%09d" % i), txn.get(b"label-%09d" % i).decode("utf-8")) for i in range(1, n + 1)]
        assert txn.get(b"image-%09d" % (n + 1)) is None and txn.get(b"image-%09d" % 0) is None
    env.close()
    return items


def test_build_reports_skips_and_round_trips(words, tmp_path, capsys):
    root, good = words
    out = str(tmp_path / "db")
    assert main(["lmdb", "--label-file", f"{root}/train.txt", "--data-dir", root, "--out", out,
                 "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "wrote 96 of 101 samples" in text and "skipped 5 lines" in text
    tf = f"{root}/train.txt"
    for reason, count, where in [("missing image", 1, f"{tf}:51"), ("malformed line", 1, f"{tf}:52"),
                                 ("empty label", 1, f"{tf}:99"), ("undecodable image", 2, f"{tf}:100")]:
        assert re.search(rf"{reason}\s+{count}\s+e\.g\. {re.escape(where)}", text), (reason, text)
    assert f"{tf}:101 (" in text  # the second undecodable example
    items = _read_db(out)
    assert [label for _, label in items] == [line.split("\t")[1] for line in good]
    for (image, _), line in zip(items, good):
        assert image == open(os.path.join(root, line.split("\t")[0]), "rb").read()


def test_strict_overwrite_and_workers(words, tmp_path, capsys):
    root, _ = words
    out = str(tmp_path / "db")
    args = ["lmdb", "--label-file", f"{root}/train.txt", "--data-dir", root, "--out", out, "--no-progress"]
    assert main(args + ["--workers", "1"]) == 0
    single = _read_db(out)
    assert main(args) == 2  # refuses to write over a database
    assert "--overwrite" in capsys.readouterr().err
    assert main(args + ["--workers", "2", "--overwrite", "--strict"]) == 1  # skipped lines + --strict
    assert _read_db(out) == single


def test_several_label_files_and_delimiters(words, tmp_path):
    root, good = words
    spaced = tmp_path / "spaced.txt"
    spaced.write_text("\n".join(line.replace("\t", " ") for line in good[:10]) + "\n", encoding="utf-8")
    result = build_lmdb([f"{root}/val.txt", str(spaced)], root, str(tmp_path / "db"), delimiter=" ",
                        progress=False)
    assert result.written == 10 and result.skipped["malformed line"] == 32  # val.txt is tab-separated
    lines = read_label_file(f"{root}/val.txt")
    assert not any(line.problem for line in lines) and len(lines) == 32


def test_lmdb_dataset_reads_leaf_dirs_like_upstream(words, tmp_path):
    root, good = words
    for part, rows in (("a", good[:7]), ("b", good[7:12])):
        label_file = tmp_path / f"{part}.txt"
        label_file.write_text("\n".join(rows) + "\n", encoding="utf-8")
        build_lmdb([str(label_file)], root, str(tmp_path / "lmdb" / "sub" / part), progress=False)
    config = {"Global": {}, "Train": {"dataset": {"name": "LMDBDataSet", "data_dir": str(tmp_path / "lmdb"),
                                                  "transforms": [{"DecodeImage": {"img_mode": "BGR"}}]}}}
    dataset = build_dataset(config, "Train", seed=0)
    assert len(dataset) == 12
    for idx, line in enumerate(good[:12]):
        rel, label = line.split("\t")
        data = dataset.load(idx)
        assert data["label"] == label and data["image"] == open(os.path.join(root, rel), "rb").read()
    assert dataset[3]["image"].shape[2] == 3  # decoded by the pipeline (no KeepKeys: the data dict)


def test_train_one_epoch_from_lmdb(words, tmp_path):
    root, _ = words
    train_db, val_db, out = str(tmp_path / "train_db"), str(tmp_path / "val_db"), str(tmp_path / "run")
    assert main(["lmdb", "--label-file", f"{root}/train.txt", "--data-dir", root, "--out", train_db,
                 "--no-progress"]) == 0
    assert main(["lmdb", "--label-file", f"{root}/val.txt", "--data-dir", root, "--out", val_db,
                 "--no-progress"]) == 0
    opts = [f"Global.save_model_dir={out}", "Global.epoch_num=1", "Global.eval_batch_step=[0,3]",
            "Train.dataset.name=LMDBDataSet", f"Train.dataset.data_dir={train_db}",
            "Eval.dataset.name=LMDBDataSet", f"Eval.dataset.data_dir={val_db}"]
    assert main(["train", "-c", CONFIG, "-o", *opts]) == 0
    log = open(os.path.join(out, "train.log"), encoding="utf-8").read()
    assert "train: 96 samples, 3 steps/epoch" in log
    assert "cur metric" in log and "dropped samples this epoch" not in log
    assert os.path.exists(os.path.join(out, "latest.pdparams"))
