"""``DataLoader`` and ``default_collate``: iterate a dataset in (shuffled) mini-batches.

A ``TensorDataset`` (or a ``Subset`` of one) is read a whole batch at a time by fancy-indexing
its arrays, so an epoch costs one index operation per batch instead of one Python call per
sample. Other datasets go through ``dataset[i]`` and ``collate_fn``, as in PyTorch.
"""
from __future__ import annotations

import collections.abc as cabc
from collections.abc import Callable, Iterator
from typing import Any, cast

from softgrad import backend
from softgrad.functions import stack
from softgrad.tensor.arrays import array_from
from softgrad.tensor.core import Tensor
from softgrad.utils.data.dataset import IterableDataset, Subset, TensorDataset
from softgrad.utils.data.sampler import BatchSampler, RandomSampler, SequentialSampler

np = backend.np

_COLLATE_TYPES = "tensors, numpy arrays, numbers, dicts or lists"


def _collate_error(found: Any) -> TypeError:
    return TypeError(f"default_collate: batch must contain {_COLLATE_TYPES}; found {found}")


def _stack_tensors(batch: list) -> Tensor:
    first = batch[0].shape
    for i, t in enumerate(batch):
        if t.shape != first:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(first)} at entry 0 "
                f"and {list(t.shape)} at entry {i}")
    if any(t.requires_grad for t in batch):
        return stack(batch, 0)
    return Tensor._wrap(backend.xp_of(batch[0]._data).stack([t._data for t in batch]))


def _tensor_from_array(arr: Any) -> Tensor:
    if arr.dtype.kind not in "fiub":
        raise _collate_error(arr.dtype)
    return Tensor._wrap(array_from(arr, arr.dtype))


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch, recursing into tuples, lists and dicts.

    Tensors and NumPy arrays are stacked along a new first dimension (dtype kept, so float64
    arrays stay float64); NumPy scalars keep their dtype; Python floats become float32, ints
    int64, bools bool; strings are returned as a list. A tuple sample gives a list of
    batches, a dict sample a dict of batches.
    Example:
        >>> default_collate([(np.zeros(3), 1), (np.ones(3), 0)])   # [Tensor (2, 3), Tensor (2,)]
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack_tensors(batch)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, np.ndarray):
        shapes = {a.shape for a in batch}
        if len(shapes) != 1:
            raise RuntimeError(f"stack expects each array to be equal size, got shapes {shapes}")
        return _tensor_from_array(np.stack(batch))
    if isinstance(elem, np.generic):
        return _tensor_from_array(np.asarray(batch))
    if isinstance(elem, (bool, int, float)):
        return Tensor._wrap(array_from(list(batch), None))
    if isinstance(elem, cabc.Mapping):
        out = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return cast(Any, type(elem))(out)  # the batch's own mapping class
        except TypeError:
            return out
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, cabc.Sequence):
        if len({len(s) for s in batch}) != 1:
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(s)) for s in zip(*batch)]
    raise _collate_error(type(elem))


def default_convert(data: Any) -> Any:
    """Turn NumPy arrays (also inside tuples, lists, dicts) into tensors; keep the rest."""
    if isinstance(data, np.ndarray) and data.dtype.kind in "fiub":
        return _tensor_from_array(data)
    if isinstance(data, cabc.Mapping):
        return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (list, tuple)):
        return [default_convert(d) for d in data]
    return data


def _tensor_source(dataset: Any) -> tuple | None:
    """(arrays, index map or None) when batches can be read by fancy indexing, else None."""
    index_map = None
    while isinstance(dataset, Subset) and type(dataset).__getitem__ is Subset.__getitem__:
        idx = np.asarray(dataset.indices, dtype=np.int64)
        index_map = idx if index_map is None else idx[index_map]
        dataset = dataset.dataset
    if not (isinstance(dataset, TensorDataset)
            and type(dataset).__getitem__ is TensorDataset.__getitem__):
        return None
    if any(t.requires_grad for t in dataset.tensors):
        return None
    return [t._data for t in dataset.tensors], index_map


class DataLoader:
    """Iterate over a dataset in mini-batches.

    Args:
        dataset: a map-style dataset (``__getitem__``/``__len__``) or an ``IterableDataset``.
        batch_size: samples per batch; None yields single samples unbatched. Default: 1.
        shuffle: reshuffle every epoch (a ``RandomSampler``). Default: False.
        sampler: a ``Sampler`` (or iterable of indices) choosing the order; excludes shuffle.
        batch_sampler: yields lists of indices; excludes batch_size, shuffle, sampler and
            drop_last.
        num_workers, pin_memory, timeout, worker_init_fn, multiprocessing_context,
            prefetch_factor, persistent_workers, pin_memory_device, in_order: accepted for
            PyTorch compatibility; loading always runs in the calling process, in order.
        collate_fn: merges a list of samples into a batch. Default: ``default_collate``.
        drop_last: drop the last incomplete batch. Default: False.
        generator: ``sg.Generator`` or NumPy Generator for shuffling; default softgrad's global
            generator, so epochs repeat under ``sg.manual_seed``.
    Example:
        >>> loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
        >>> for xb, yb in loader:
        ...     loss = F.cross_entropy(model(xb), yb)
    """

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Any = None, batch_sampler: Any = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn: Any = None,
                 multiprocessing_context: Any = None, generator: Any = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        self.dataset, self.num_workers, self.generator = dataset, num_workers, generator
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle:
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler "
                                 "and batch_sampler options")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None and not self._iterable:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self._auto_collation = batch_sampler is not None or (
            self._iterable and batch_size is not None)
        self._user_collate = collate_fn is not None
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    def __iter__(self) -> Iterator[Any]:
        if self._iterable:
            return self._iter_stream()
        if not self._auto_collation:
            return (self.collate_fn(self.dataset[i]) for i in self.sampler)
        source = None if self._user_collate else _tensor_source(self.dataset)
        if source is not None:
            return self._iter_fast(*source)
        return (self.collate_fn([self.dataset[i] for i in batch]) for batch in self.batch_sampler)

    def _iter_fast(self, arrays: list, index_map: Any) -> Iterator[list]:
        batches = (self.batch_sampler._array_batches()
                   if isinstance(self.batch_sampler, BatchSampler)
                   else (np.asarray(b, dtype=np.int64) for b in self.batch_sampler))
        for idx in batches:
            if index_map is not None:
                idx = index_map[idx]
            yield [Tensor._wrap(a[idx]) for a in arrays]

    def _iter_stream(self) -> Iterator[Any]:
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        batch: list = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)  # TypeError for streams without a length, as in PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)


def get_worker_info() -> None:
    """None: softgrad's DataLoader loads in the calling process, which PyTorch reports the
    same way."""
    return None
