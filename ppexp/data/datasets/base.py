"""Shared dataset behaviour: transforms, bounded replacement of failed samples, accounting."""
import logging

import numpy as np
from paddle.io import Dataset

from ppexp.data.datasets.accounting import DropCounter
from ppexp.data.imaug import create_operators, transform

logger = logging.getLogger("ppexp")


class DatasetError(RuntimeError):
    """The dataset cannot produce samples; the message says why."""


class RecDatasetBase(Dataset):
    """Subclasses implement ``__len__``, ``load(idx) -> data dict`` and ``describe(idx)``."""

    def __init__(self, config, mode, global_config, seed=None):
        section = config[mode]
        self.mode = mode.lower()
        self.dataset_config = section["dataset"]
        self.loader_config = section.get("loader") or {}
        self.global_config = global_config or {}
        self.seed = seed
        where = f"{mode}.dataset.transforms"
        self.ops = create_operators(self.dataset_config.get("transforms") or [], self.global_config, where)
        self.ext_op_transform_idx = int(self.dataset_config.get("ext_op_transform_idx", 2))
        self.ext_data_num = max([getattr(op, "ext_data_num", 0) for op in self.ops] + [0])
        self.max_retries = int(self.dataset_config.get("max_sample_retries",
                                                       self.global_config.get("max_sample_retries", 20)))
        self.drops = DropCounter()
        self.rng = np.random.default_rng(seed)

    def label_encoder(self):
        """The CTCLabelEncode op of the pipeline (for pre-validation), if any."""
        return next((op for op in self.ops if type(op).__name__ == "CTCLabelEncode"), None)

    def get_ext_data(self):
        """Extra decoded samples for ops such as RecConAug (first ext_op_transform_idx ops)."""
        out = []
        while len(out) < self.ext_data_num:
            data = self.load(int(self.rng.integers(len(self))))
            if data is None:
                continue
            data = transform(data, self.ops[: self.ext_op_transform_idx])
            if data is not None:
                out.append(data)
        return out

    def try_sample(self, idx):
        """Transformed sample or (None, reason)."""
        try:
            data = self.load(idx)
            if data is None or "_reject" in data:
                return None, (data or {}).get("_reject", "other")
            if self.ext_data_num:
                data["ext_data"] = self.get_ext_data()
            probe = data
            out = transform(data, self.ops)
            return (out, None) if out is not None else (None, probe.get("_reject", "transform error"))
        except Exception as err:  # a bad sample must not kill the epoch; it is counted and logged
            logger.warning("%s: sample %s failed: %s: %s", self.mode, self.describe(idx), type(err).__name__, err)
            return None, "transform error"

    def __getitem__(self, idx):
        tried = []
        for _ in range(self.max_retries + 1):
            out, reason = self.try_sample(idx)
            if out is not None:
                return out
            self.drops.add(reason)
            tried.append(f"{self.describe(idx)}: {reason}")
            # upstream: a random sample in training, the next one in evaluation
            idx = int(self.rng.integers(len(self))) if self.mode == "train" else (idx + 1) % len(self)
        raise DatasetError(
            f"{self.mode}: {len(tried)} consecutive samples were rejected; the dataset is mostly unusable. "
            f"Last failures: {tried[-3:]}. Run `ppexp check-labels -c <config>` to find the cause."
        )
