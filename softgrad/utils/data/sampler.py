"""Samplers: which indices a ``DataLoader`` reads, and in what order.

Samplers with a whole-epoch index array (``SequentialSampler``, ``RandomSampler``,
``SubsetRandomSampler``) expose it as ``_indices()``; ``BatchSampler`` then cuts batches from
that array without a per-index Python loop. Any other ``Sampler`` works through ``__iter__``.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from softgrad import backend
from softgrad.creation import _gen

np = backend.np
_CHUNK = 1 << 16  # indices drawn at a time by RandomSampler
_WHOLE_EPOCH_MAX = 1 << 24  # above this, an epoch's indices are never held at once


class Sampler:
    """Base class: ``__iter__`` yields dataset indices; ``__len__`` counts them."""

    def __init__(self, data_source: Any = None) -> None:
        pass

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def _indices(self) -> Any:
        """A 1-D int64 array of one epoch's indices, or None when the sampler cannot."""
        return None


class SequentialSampler(Sampler):
    """Indices ``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def _indices(self) -> Any:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A fresh random permutation every epoch (or draws with replacement).

    Args:
        data_source: the dataset.
        replacement: draw ``num_samples`` indices with replacement. Default: False.
        num_samples: how many indices per epoch. Default: ``len(data_source)``.
        generator: ``sg.Generator`` or NumPy Generator; default softgrad's global generator,
            read at each epoch, so runs repeat under ``sg.manual_seed``.
    """

    def __init__(self, data_source: Any, replacement: bool = False,
                 num_samples: int | None = None, generator: Any = None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got {replacement!r}")
        if num_samples is not None and (not isinstance(num_samples, int) or num_samples <= 0):
            raise ValueError(
                f"num_samples should be a positive integer value, but got {num_samples!r}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _chunks(self) -> Iterator[Any]:
        """The epoch's indices, drawn a block at a time (so ``num_samples`` may be huge)."""
        rng, n, k = _gen(self.generator), len(self.data_source), self.num_samples
        if n == 0:
            return
        if self.replacement:
            for start in range(0, k, _CHUNK):
                yield rng.integers(0, n, size=min(_CHUNK, k - start), dtype=np.int64)
            return
        while k > 0:
            block = rng.permutation(n)[:k].astype(np.int64, copy=False)
            k -= len(block)
            yield block

    def _indices(self) -> Any:
        if self.num_samples > _WHOLE_EPOCH_MAX:
            return None  # too many to hold: BatchSampler iterates instead
        blocks = list(self._chunks())
        return np.concatenate(blocks) if blocks else np.arange(0, dtype=np.int64)

    def __iter__(self) -> Iterator[int]:
        for block in self._chunks():
            yield from block.tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a fresh random order every epoch."""

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        self.indices = indices
        self.generator = generator

    def _indices(self) -> Any:
        idx = np.asarray(self.indices, dtype=np.int64)
        return idx[_gen(self.generator).permutation(len(idx))]

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices().tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probability proportional to ``weights``."""

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: Any = None) -> None:
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1 or w.size == 0 or (w < 0).any() or not np.isfinite(w).all() \
                or w.sum() <= 0:
            raise ValueError("weights must be a non-empty 1-D sequence of non-negative finite "
                             "numbers with a positive sum")
        if not isinstance(num_samples, int) or num_samples <= 0:
            raise ValueError(
                f"num_samples should be a positive integer value, but got {num_samples!r}")
        if not replacement and num_samples > int((w > 0).sum()):
            raise ValueError("cannot draw more samples than non-zero weights without replacement")
        self.weights, self.num_samples = w, num_samples
        self.replacement, self.generator = replacement, generator

    def _indices(self) -> Any:
        p = self.weights / self.weights.sum()
        return _gen(self.generator).choice(len(p), size=self.num_samples,
                                           replace=self.replacement, p=p).astype(np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices().tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size``.

    Args:
        sampler: any sampler or iterable of indices.
        batch_size: indices per batch.
        drop_last: drop the final batch when it is smaller than ``batch_size``.
    Example:
        >>> list(BatchSampler(SequentialSampler(range(5)), 2, drop_last=False))
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler: Any, batch_size: int, drop_last: bool) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(
                f"drop_last should be a boolean value, but got drop_last={drop_last!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def _epoch_indices(self) -> Any:
        get = getattr(self.sampler, "_indices", None)
        return get() if get is not None else None

    def _cut(self, idx: Any) -> Iterator[Any]:
        bs, n = self.batch_size, len(idx)
        stop = n - n % bs if self.drop_last else n
        for start in range(0, stop, bs):
            yield idx[start:start + bs]

    def _loop(self) -> Iterator[list]:
        batch: list = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def _array_batches(self) -> Iterator[Any]:
        """Batches as int64 arrays, cut from the sampler's epoch array when it has one."""
        idx = self._epoch_indices()
        if idx is not None:
            return self._cut(idx)
        return (np.asarray(b, dtype=np.int64) for b in self._loop())

    def __iter__(self) -> Iterator[list]:  # type: ignore[override]  # batches of indices
        idx = self._epoch_indices()
        if idx is not None:
            return (b.tolist() for b in self._cut(idx))
        return self._loop()

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
