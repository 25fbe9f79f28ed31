"""A batch sampler whose order is a pure function of (seed, epoch), so a run can resume mid-epoch.

Each epoch's permutation comes from ``default_rng([seed, epoch])``; under data
parallelism each rank takes every world_size-th index of the (padded)
permutation, like paddle's DistributedBatchSampler. ``skip_batches`` makes the
next iteration start later in the epoch without loading the skipped samples.
Indices are :class:`EpochIndex` ints carrying the epoch (the dataset's resolution schedule reads it).
"""
import math

import numpy as np


class EpochIndex(int):
    """A sample index that carries the epoch it is drawn for (pickles to DataLoader workers)."""

    def __new__(cls, value, epoch):
        obj = super().__new__(cls, value)
        obj.epoch = int(epoch)
        return obj

    def __reduce__(self):
        return EpochIndex, (int(self), self.epoch)


class ResumableBatchSampler:
    """Drop-in batch sampler for paddle.io.DataLoader(batch_sampler=...)."""

    def __init__(self, num_samples, batch_size, shuffle=True, drop_last=False, seed=0, rank=0, world_size=1,
                 pad=True):
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.num_samples = int(num_samples)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = int(seed or 0)
        self.rank, self.world_size = int(rank), int(world_size)
        self.pad = pad  # False: ranks get unequal shares, no sample repeated (evaluation)
        self.epoch = 1
        self._skip = 0

    def set_epoch(self, epoch, skip_batches=0):
        """Select the epoch whose order the next iteration yields, optionally skipping batches."""
        self.epoch = int(epoch)
        self._skip = int(skip_batches)

    def _rank_indices(self):
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(self.num_samples)
        else:
            order = np.arange(self.num_samples)
        if self.world_size > 1 and not self.pad:
            return order[self.rank::self.world_size]
        if self.world_size > 1:
            per_rank = math.ceil(self.num_samples / self.world_size)
            total = per_rank * self.world_size
            order = np.concatenate([order, order[: total - self.num_samples]])
            order = order[self.rank:total:self.world_size]
        return order

    def __iter__(self):
        order = self._rank_indices()
        n_batches = len(self)
        skip, self._skip = self._skip, 0
        for b in range(skip, n_batches):
            batch = order[b * self.batch_size:(b + 1) * self.batch_size]
            yield [EpochIndex(i, self.epoch) for i in batch]

    def __len__(self):
        if self.pad:
            per_rank = math.ceil(self.num_samples / self.world_size)
        else:
            per_rank = len(range(self.rank, self.num_samples, self.world_size))
        if self.drop_last:
            return per_rank // self.batch_size
        return math.ceil(per_rank / self.batch_size)
