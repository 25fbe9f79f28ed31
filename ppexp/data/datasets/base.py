"""Shared dataset behaviour: transforms, bounded replacement of failed samples, accounting."""
import logging

import numpy as np
from paddle.io import Dataset, get_worker_info

from ppexp.data.datasets.accounting import DropCounter
from ppexp.data.imaug import create_operators, transform
from ppexp.data.imaug.registry import declares
from ppexp.data.resolution_schedule import ResolutionSchedule
from ppexp.errors import UserError

logger = logging.getLogger("ppexp")

# Stop when more than this share of the loads of an epoch are rejected (after a minimum number of
# loads), even if every single sample still finds a replacement within max_sample_retries.
MAX_REJECT_FRACTION = 0.5
MIN_LOADS_FOR_FRACTION = 200


class DatasetError(UserError, RuntimeError):
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
        self._rng, self._rng_worker = None, None
        # set per sample from the epoch its index carries (sampler.EpochIndex), in whichever process loads it
        self.resolution = ResolutionSchedule.from_dataset(mode, self.dataset_config, self.ops)

    @property
    def rng(self):
        """Replacement / ext-data RNG, one stream per DataLoader worker (forked copies would
        otherwise draw identical replacement indices)."""
        info = get_worker_info()
        worker = info.id if info is not None else -1
        if self._rng is None or self._rng_worker != worker:
            seed = None if self.seed is None else [int(self.seed), worker + 1]
            self._rng, self._rng_worker = np.random.default_rng(seed), worker
        return self._rng

    def label_encoder(self):
        """The text label encoder of the pipeline (CTCLabelEncode; for pre-validation), if any."""
        return next((op for op in self.ops if declares(op, "text_label_encoder")), None)

    def get_ext_data(self):
        """Extra decoded samples for ops such as RecConAug (first ext_op_transform_idx ops).
        Bounded: gives fewer (RecConAug copes) when the dataset keeps failing."""
        out = []
        for _ in range(self.ext_data_num * (self.max_retries + 1)):
            if len(out) >= self.ext_data_num:
                break
            data = self.load(int(self.rng.integers(len(self))))
            if data is None or "_reject" in data:
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
            out = transform(data, self.ops)  # a rejecting op records its reason in ``data``
            return (out, None) if out is not None else (None, data.get("_reject", "transform error"))
        except Exception as err:  # a bad sample must not kill the epoch; it is counted and logged
            logger.warning("%s: sample %s failed: %s: %s", self.mode, self.describe(idx), type(err).__name__, err)
            return None, "transform error"

    def __getitem__(self, idx):
        if self.mode != "train":
            return self.eval_item(idx)
        if self.resolution is not None and getattr(idx, "epoch", None) is not None:
            self.resolution.apply(idx.epoch)
        tried = []
        for _ in range(self.max_retries + 1):
            out, reason = self.try_sample(idx)
            if out is not None:
                self.drops.add_ok()
                return out
            self.drops.add(reason)
            tried.append(f"{self.describe(idx)}: {reason}")
            self.check_reject_fraction(tried)
            idx = int(self.rng.integers(len(self)))  # upstream: a random replacement sample
        self.fail(f"{self.mode}: {len(tried)} consecutive samples were rejected; the dataset is mostly unusable. "
                  f"Last failures: {tried[-3:]}. Run `ppexp check-labels -c <config>` to find the cause.")

    def eval_item(self, idx):
        """Evaluation scores every sample at most once: a failed one is counted by reason and
        skipped (None, dropped by the collate), never replaced by another sample (upstream does)."""
        out, reason = self.try_sample(idx)
        if out is not None:
            self.drops.add_ok()
            return out
        self.drops.add(reason)
        logger.debug("%s: skipping %s: %s", self.mode, self.describe(idx), reason)
        self.check_reject_fraction([f"{self.describe(idx)}: {reason}"])
        return None

    def fail(self, message):
        """Raise DatasetError, keeping the message in shared memory (``drops.fatal()``) for the main process."""
        logger.error("%s", message)
        self.drops.set_fatal(message)
        raise DatasetError(message)

    def check_reject_fraction(self, tried):
        """DatasetError once most loads of this epoch (across workers) were rejected."""
        loads, dropped = self.drops.loads()
        if loads >= MIN_LOADS_FOR_FRACTION and dropped > MAX_REJECT_FRACTION * loads:
            self.fail(f"{self.mode}: {dropped} of the last {loads} sample loads were rejected "
                      f"({self.drops.snapshot()}); the dataset is mostly unusable. Last failures: {tried[-3:]}. "
                      "Run `ppexp check-labels -c <config>` to find the cause.")
