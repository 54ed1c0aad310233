"""Data parallelism for ``softgrad train`` under ``mpiexec -n N``.

When ``softgrad.distributed`` is initialised with more than one process, the model is wrapped
in ``DistributedDataParallel`` and each process reads its share of every batch through a
``DistributedSampler``; ``batch_size`` stays the global batch, so N processes take the same
optimisation steps as one process (up to float rounding), only faster.
"""
from __future__ import annotations

from typing import Any

import softgrad as sg
from softgrad.utils.data import DataLoader, DistributedSampler


def world_size() -> int:
    """Processes in the default group (1 when ``softgrad.distributed`` is not initialised)."""
    from softgrad import distributed as dist

    size = getattr(dist, "get_world_size", None)  # absent where distributed is stubbed out
    return int(size()) if size is not None and dist.is_initialized() else 1


def data_parallel(model: Any, dataset: Any, batch_size: int, seed: int) -> tuple:
    """``(net, loader, sampler)``: ``net`` to call in training, ``sampler`` to ``set_epoch``.

    One process: ``(model, shuffled DataLoader, None)``. N processes: DDP around ``model`` and a
    loader of ``batch_size // N`` samples per process from a ``DistributedSampler`` seeded with
    ``seed``; ``batch_size`` must be a multiple of N.
    """
    n = world_size()
    if n == 1:
        return model, DataLoader(dataset, batch_size=batch_size, shuffle=True), None
    if batch_size % n:
        raise ValueError(f"--batch-size {batch_size} must be a multiple of the {n} processes "
                         "(it is the global batch, split evenly between them)")
    sampler = DistributedSampler(dataset, shuffle=True, seed=seed)
    loader = DataLoader(dataset, batch_size=batch_size // n, sampler=sampler)
    return sg.nn.parallel.DistributedDataParallel(model), loader, sampler


def sum_over_processes(*values: float) -> list:
    """``values`` summed over all processes (unchanged with one process)."""
    if world_size() == 1:
        return list(values)
    from softgrad import distributed as dist

    t = sg.tensor([float(v) for v in values], dtype=sg.float64)
    dist.all_reduce(t)
    return t.tolist()
