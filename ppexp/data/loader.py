"""build_dataloader: dataset + (distributed) batch sampler + paddle DataLoader."""
import logging
import os

import numpy as np
import paddle
from paddle.io import DataLoader

from ppexp.data.datasets import DATASETS
from ppexp.data.datasets.base import DatasetError
from ppexp.data.sampler import ResumableBatchSampler

logger = logging.getLogger("ppexp")


# The batch of an evaluation whose samples were all skipped: one field (real batches have >= 2).
# paddle's DataLoader ends the epoch on an empty list and cannot carry a zero-size array.
EMPTY_BATCH_FIELDS = 1


def is_empty_batch(batch):
    return len(batch) == EMPTY_BATCH_FIELDS


def _collate(batch):
    """Stack each field of KeepKeys' lists into one numpy array; skipped (None) samples are left out.

    Fields whose shapes differ between samples (detection eval: images resized per aspect ratio,
    a different number of polygons per image) do not stack: they stay lists of per-sample arrays.
    The evaluator runs a list of images once per size and pads the outputs (DBPostProcess cuts each
    map back to round(src * ratio) from the ``shape`` field), so a sample scores the same in any
    batch: detection eval runs with batch_size_per_card > 1 (upstream needs 1)."""
    batch = [sample for sample in batch if sample is not None]
    if not batch:
        return [np.full((1,), -1, dtype="int64")]
    fields = []
    for i in range(len(batch[0])):
        items = [np.asarray(sample[i]) for sample in batch]
        if all(x.shape == items[0].shape for x in items):
            fields.append(np.stack(items))
        else:
            fields.append(items)
    return fields


def _to_tensors(fields):
    """Arrays become paddle tensors; per-sample lists (ragged fields) stay lists of numpy arrays."""
    return [paddle.to_tensor(f) if isinstance(f, np.ndarray) else f for f in fields]


def build_dataset(config, mode, seed=None, charset=None):
    """The ``mode`` dataset; ``charset`` (the run's CharacterDict) is shared with its label encoder."""
    section = config.get(mode)
    if not section or "dataset" not in section:
        raise ValueError(f"config has no {mode}.dataset section")
    global_config = dict(config.get("Global") or {})
    if charset is not None:
        global_config["charset"] = charset
    cls = DATASETS.get(section["dataset"].get("name", "SimpleDataSet"))
    return cls(config, mode, global_config, seed=seed)


def effective_workers(requested):
    """Cap num_workers at the machine's cores (upstream configs ask for 4-8)."""
    cores = os.cpu_count() or 1
    n = max(0, int(requested or 0))
    return min(n, cores)


def local_batch_size(batch_size, batch_split=1):
    """Per-process batch. Under ppexp's own CPU workers (``batch_split`` of them, passed by the
    trainer) batch_size_per_card is the global batch, split over the workers (same curves and
    schedule whatever the core count); under paddle.distributed.launch it is per card, as upstream."""
    world = int(batch_split or 1)
    if world > 1:
        if batch_size % world:
            raise ValueError(f"batch_size_per_card={batch_size} does not split over {world} CPU workers; "
                             "change it or set Global.data_parallel: false")
        return batch_size // world
    return batch_size


def build_dataloader(config, mode, seed=None, dataset=None, charset=None, rank=None, world_size=None,
                     batch_split=1):
    """DataLoader for ``mode`` ('Train' or 'Eval'); returns (loader, dataset).

    Train batches are split across ranks; Eval is sharded without padding (each rank
    evaluates its part and the metrics are summed), so every sample counts once.
    ``rank``/``world_size``: this process's place among the data-parallel processes (None: paddle's
    current ones); ``batch_split``: how many CPU workers share one Train batch (see local_batch_size)."""
    dataset = dataset or build_dataset(config, mode, seed, charset)
    loader_cfg = config[mode].get("loader") or {}
    batch_size = int(loader_cfg.get("batch_size_per_card", 1))
    if mode == "Train":
        batch_size = local_batch_size(batch_size, batch_split)
    drop_last = bool(loader_cfg.get("drop_last", mode == "Train"))
    shuffle = bool(loader_cfg.get("shuffle", mode == "Train"))
    sampler = ResumableBatchSampler(len(dataset), batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed,
                                    rank=paddle.distributed.get_rank() if rank is None else rank,
                                    world_size=paddle.distributed.get_world_size() if world_size is None
                                    else world_size, pad=mode == "Train")
    if len(sampler) == 0:
        raise ValueError(
            f"{mode}: {len(dataset)} samples with batch_size_per_card={batch_size} and drop_last={drop_last} "
            f"give no batch; lower {mode}.loader.batch_size_per_card or set drop_last: False")
    workers = effective_workers(loader_cfg.get("num_workers", 0))
    if workers == 0:
        return InProcessLoader(dataset, sampler), dataset
    loader = DataLoader(
        dataset, batch_sampler=sampler, num_workers=workers, return_list=True,
        use_shared_memory=bool(loader_cfg.get("use_shared_memory", True)),
        collate_fn=_collate, persistent_workers=True,
    )
    return GuardedLoader(loader, dataset), dataset


class InProcessLoader:
    """num_workers=0: batches built in the calling thread. (paddle's DataLoader uses a
    background thread even then, and a dataset error kills it while training waits forever.)"""

    def __init__(self, dataset, batch_sampler):
        self.dataset = dataset
        self.batch_sampler = batch_sampler

    def __len__(self):
        return len(self.batch_sampler)

    def __iter__(self):
        for indices in self.batch_sampler:
            yield _to_tensors(_collate([self.dataset[i] for i in indices]))


class GuardedLoader:
    """paddle's DataLoader with worker failures turned back into the dataset's own error."""

    def __init__(self, loader, dataset):
        self.loader = loader
        self.dataset = dataset
        self.batch_sampler = loader.batch_sampler

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        try:
            yield from self.loader
        except (SystemError, RuntimeError) as err:
            message = self.dataset.drops.fatal()
            if message:
                raise DatasetError(message) from err
            raise
