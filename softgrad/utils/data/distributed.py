"""``DistributedSampler``: each process of a data-parallel job reads its own share of a dataset."""
from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from softgrad import backend
from softgrad import distributed as dist
from softgrad.utils.data.sampler import Sampler

np = backend.np


class DistributedSampler(Sampler):
    """Indices of the share of ``dataset`` that process ``rank`` of ``num_replicas`` reads.

    Every process draws the same permutation (seeded by ``seed + epoch``), pads it by
    repeating its head until its length divides evenly (or, with ``drop_last``, cuts the
    tail), and takes every ``num_replicas``-th index starting at ``rank``. So the processes'
    shares are disjoint, equally long, and batch ``k`` of all processes together is a
    contiguous run of the permutation. Call :meth:`set_epoch` before each epoch to reshuffle.

    Args:
        dataset: anything with ``len()``.
        num_replicas: number of processes. Default: ``distributed.get_world_size()``.
        rank: this process's rank. Default: ``distributed.get_rank()``.
        shuffle: permute the indices each epoch. Default: True.
        seed: seed of the permutation; must be the same on every process. Default: 0.
        drop_last: drop the tail instead of padding. Default: False.
    Example:
        >>> sampler = DistributedSampler(ds)
        >>> loader = DataLoader(ds, batch_size=32, sampler=sampler)
        >>> for epoch in range(3):
        ...     sampler.set_epoch(epoch)
    """

    def __init__(self, dataset: Any, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            if not dist.is_initialized():
                raise RuntimeError("DistributedSampler needs num_replicas and rank, or an "
                                   "initialized process group (distributed.init_process_group)")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"num_replicas should be a positive integer, got {num_replicas!r}")
        if not isinstance(rank, int) or rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, int(seed), drop_last, 0
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Use a different permutation for ``epoch`` (the same on every process)."""
        self.epoch = int(epoch)

    def _indices(self) -> Any:
        n = len(self.dataset)
        if self.shuffle:
            idx = np.random.default_rng(self.seed + self.epoch).permutation(n).astype(np.int64)
        else:
            idx = np.arange(n, dtype=np.int64)
        if self.drop_last:
            idx = idx[:self.total_size]
        elif self.total_size > n:
            pad = self.total_size - n
            idx = np.concatenate([idx, np.resize(idx, pad)]) if n else idx
        return idx[self.rank:self.total_size:self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices().tolist())

    def __len__(self) -> int:
        return self.num_samples
