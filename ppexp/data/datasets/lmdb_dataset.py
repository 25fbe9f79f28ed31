"""LMDBDataSet: upstream's layout (num-samples, image-%09d, label-%09d, 1-based) in leaf dirs."""
import os

import lmdb

from ppexp.data.datasets import DATASETS
from ppexp.data.datasets.base import DatasetError, RecDatasetBase


_ENVS = {}


def open_env(path):
    """One read-only environment per (process, path): LMDB refuses to open a path twice
    in a process, and handles must not cross fork."""
    key = (os.getpid(), os.path.realpath(path))
    if key not in _ENVS:
        _ENVS[key] = lmdb.open(path, readonly=True, lock=False, readahead=False, meminit=False)
    return _ENVS[key]


def find_lmdb_dirs(root):
    """Every directory under ``root`` holding a data.mdb (upstream walks leaf dirs)."""
    if not os.path.isdir(root):
        raise DatasetError(f"LMDB data_dir '{root}' does not exist")
    found = sorted(d for d, _, files in os.walk(root, followlinks=True) if "data.mdb" in files)
    if not found:
        raise DatasetError(f"no LMDB database (data.mdb) under '{root}'; build one with `ppexp lmdb`")
    return found


@DATASETS.register()
class LMDBDataSet(RecDatasetBase):
    """Samples from one or more LMDB databases under ``data_dir``."""

    def __init__(self, config, mode, global_config, seed=None):
        super().__init__(config, mode, global_config, seed)
        self.dirs = find_lmdb_dirs(self.dataset_config.get("data_dir") or "")
        self.index = []  # (db number, 1-based key index)
        for db_no, path in enumerate(self.dirs):
            with open_env(path).begin() as txn:
                raw = txn.get(b"num-samples")
            if raw is None:
                raise DatasetError(f"{path}: no 'num-samples' key; not a PaddleOCR LMDB")
            self.index.extend((db_no, i) for i in range(1, int(raw) + 1))
        ratio = float(self.dataset_config.get("ratio_list", [1.0])[0]
                      if isinstance(self.dataset_config.get("ratio_list"), list)
                      else self.dataset_config.get("ratio_list", 1.0))
        if ratio < 1.0:
            self.index = self.index[: int(round(len(self.index) * ratio))]

    def _txn(self, db_no):
        return open_env(self.dirs[db_no]).begin()

    def __len__(self):
        return len(self.index)

    def describe(self, idx):
        db_no, i = self.index[idx]
        return f"{self.dirs[db_no]}#{i}"

    def load(self, idx):
        db_no, i = self.index[idx]
        with self._txn(db_no) as txn:
            label = txn.get(b"label-%09d" % i)
            image = txn.get(b"image-%09d" % i)
        if label is None:
            return {"_reject": "malformed line"}
        data = {"label": label.decode("utf-8"), "img_path": self.describe(idx)}
        if image is None:
            data["_reject"] = "missing image"
        else:
            data["image"] = image
        return data
