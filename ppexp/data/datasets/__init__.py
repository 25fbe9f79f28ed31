"""Datasets. Registry DATASETS; importing registers SimpleDataSet and LMDBDataSet."""
from ppexp.utils.registry import Registry

DATASETS = Registry("dataset")

from ppexp.data.datasets import simple_dataset, lmdb_dataset  # noqa: E402,F401
