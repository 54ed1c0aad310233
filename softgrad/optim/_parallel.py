"""Run an optimizer's element-wise update kernel over all parameters, split across threads.

An update (Adam's ~13 NumPy passes per parameter) is memory-bound and single-threaded in
NumPy. Large contiguous parameters are cut into one slice per thread; each thread runs the
same kernel on its slices with its own scratch buffers (NumPy ufuncs release the GIL).
Every element goes through exactly the same float operations as in a single call, so the
result is bit-for-bit identical to the plain path. Small or non-contiguous parameters, CuPy
arrays and ``threads == 1`` take the plain path on the calling thread.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Sequence
from typing import Any

from softgrad import backend

np = backend.np

MIN_SPLIT = 1 << 16  # elements; below this a parameter is not worth a thread hand-off
_pool: dict[tuple[int, int], ThreadPoolExecutor] = {}


def _executor(n: int) -> ThreadPoolExecutor:
    """The worker pool for ``n`` threads (n - 1 workers plus the caller); a forked child,
    which inherits the pool object but not its threads, gets a fresh one."""
    key = (n, os.getpid())
    ex = _pool.get(key)
    if ex is None:
        for k, old in list(_pool.items()):
            if k[1] == key[1]:
                old.shutdown(wait=False)
        _pool.clear()
        ex = _pool[key] = ThreadPoolExecutor(n - 1, thread_name_prefix="softgrad-optim")
    return ex


def _splittable(arrays: Sequence[Any]) -> bool:
    return all(type(a) is np.ndarray and a.flags.c_contiguous for a in arrays)


def run_kernel(kernel: Callable[..., None], items: Sequence[tuple[tuple, tuple]],
               scratch: Callable[[Any, int, int], Any], n_scratch: int,
               threads: int | None = None) -> None:
    """Call ``kernel(*arrays, *scratch_buffers, *args)`` for every ``(arrays, args)`` item.

    Args:
        kernel: updates its arrays in place, element by element (no reductions).
        items: per parameter, the same-shaped arrays (param, grad, state...) and extra args.
        scratch: ``scratch(like, slot, thread)`` -> a reusable buffer shaped like ``like``.
        n_scratch: scratch buffers the kernel takes.
        threads: thread count (default: ``backend.effective_threads()``, which is lowered
            while other processes keep the CPUs busy).
    """
    n = backend.effective_threads() if threads is None else threads
    work: list[list[tuple[tuple, tuple]]] = [[] for _ in range(max(n, 1))]
    for arrays, args in items:
        size = arrays[0].size
        if n <= 1 or size < MIN_SPLIT * 2 or not _splittable(arrays):
            work[0].append((arrays, args))
            continue
        flat = [a.reshape(-1) for a in arrays]
        bounds = [size * k // n for k in range(n + 1)]
        for k in range(n):
            lo, hi = bounds[k], bounds[k + 1]
            work[k].append((tuple(f[lo:hi] for f in flat), args))

    def run(k: int) -> None:
        for arrays, args in work[k]:
            bufs = [scratch(arrays[0], s, k) for s in range(n_scratch)]
            kernel(*arrays, *bufs, *args)

    if n <= 1 or all(not w for w in work[1:]):
        run(0)
        return
    futures = [_executor(n).submit(run, k) for k in range(1, n) if work[k]]
    try:
        run(0)
    finally:
        for f in futures:
            f.result()
