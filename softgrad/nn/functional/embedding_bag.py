"""``embedding_bag``: sums, means or maxima of bags of embeddings, without materialising
the looked-up rows per bag (rows are gathered once and reduced by index_add)."""
from __future__ import annotations

from typing import Any

from softgrad import backend
from softgrad.nn.functional.sparse import embedding
from softgrad.tensor import Tensor

np = backend.np
__all__ = ["embedding_bag"]


def _bags(input: Tensor, offsets: Any, include_last_offset: bool) -> tuple:
    """(flat indices, bag id per index, number of bags) from 2-D input or 1-D + offsets."""
    idx = input._data
    xp = backend.xp_of(idx)
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated "
                             "is a mini-batch of fixed length sequences. However, found "
                             f"offsets of type {type(offsets).__name__}")
        b, length = idx.shape
        return idx.reshape(-1), xp.repeat(xp.arange(b), length), b
    if input.ndim != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.ndim}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    off = offsets._data if isinstance(offsets, Tensor) else np.asarray(offsets)
    if off.ndim != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    off = backend.to_numpy(off).astype(np.int64)
    if off.size and (off[0] != 0 or (np.diff(off) < 0).any() or off[-1] > idx.shape[0]):
        raise RuntimeError(f"embedding_bag: offsets must start at 0, not decrease and not "
                           f"exceed the {idx.shape[0]} indices, got {off.tolist()}")
    starts = off[:-1] if include_last_offset else off
    bag = np.searchsorted(starts, np.arange(idx.shape[0]), side="right") - 1
    return idx, backend.to_device(bag, backend.device_of(idx)), len(starts)


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Reduce bags of embedding rows by 'sum', 'mean' or 'max'.

    Args:
        input: (B, L) fixed-size bags, or 1-D indices split into bags by ``offsets``.
        weight: (num_embeddings, D).
        offsets: (B,) start of each bag in 1-D input (B + 1 with ``include_last_offset``).
        per_sample_weights: weights of the indices (mode 'sum' only).
        padding_idx: entries equal to it are left out of their bag (and of its mean).
    Returns: (B, D); empty bags give zeros. See ``nn.EmbeddingBag``.
    """
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, got {mode!r}")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. "
                                      f"per_sample_weights is only supported for mode='sum' "
                                      f"(got mode='{mode}'). Please open a feature request on "
                                      "GitHub.")
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            psw = list(per_sample_weights.shape)
            raise ValueError(f"embedding_bag: If per_sample_weights ({psw}) is not None, then "
                             f"it must have the same shape as the input "
                             f"({list(input.shape)})")
    num, dim = weight.shape
    if input.ndim == 2 and offsets is None and padding_idx is None:
        # fixed-size bags: one lookup and a reduction over dim 1 (exportable to ONNX)
        rows = embedding(input, weight, None, max_norm, norm_type, scale_grad_by_freq)
        if per_sample_weights is not None:
            rows = rows * per_sample_weights.unsqueeze(-1)
        if mode == "max":
            return rows.max(1)[0]
        return rows.sum(1) if mode == "sum" else rows.mean(1)
    idx, bag, nbags = _bags(input, offsets, include_last_offset)
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"padding_idx must be within the {num} embeddings")
        padding_idx %= num
    rows = embedding(Tensor._wrap(idx), weight, padding_idx, max_norm, norm_type,
                     scale_grad_by_freq)  # (n, D)
    xp = backend.xp_of(weight._data)
    keep = xp.ones(idx.shape, dtype=bool) if padding_idx is None else idx != padding_idx
    dt = weight._data.dtype
    out0 = Tensor._wrap(xp.zeros((nbags, dim), dtype=dt))
    if mode == "max":
        return _bag_max(rows, keep, bag, nbags, dim)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1, 1)
    if padding_idx is not None:
        rows = rows * Tensor._wrap(keep[:, None].astype(dt))
    total = out0.index_add(0, Tensor._wrap(bag), rows)
    if mode == "sum":
        return total
    counts = xp.zeros(nbags, dtype=dt)
    xp.add.at(counts, bag, keep.astype(dt))
    return total / Tensor._wrap(xp.maximum(counts, 1)[:, None])


def _bag_max(rows: Tensor, keep: Any, bag: Any, nbags: int, dim: int) -> Tensor:
    """Per bag and feature, the row holding the maximum (gradient to it alone)."""
    data = backend.to_numpy(rows._data)
    bag_h, keep_h = backend.to_numpy(bag), backend.to_numpy(keep)
    pick = np.zeros((nbags, dim), dtype=np.int64)
    filled = np.zeros(nbags, dtype=bool)
    for b in range(nbags):
        where_b = np.nonzero((bag_h == b) & keep_h)[0]
        if where_b.size:
            pick[b] = where_b[np.argmax(data[where_b], axis=0)]
            filled[b] = True
    dev = rows.device
    picked = rows.gather(0, Tensor._wrap(backend.to_device(pick, dev)))
    mask = backend.to_device(filled[:, None].astype(rows._data.dtype), dev)
    return picked * Tensor._wrap(mask)
