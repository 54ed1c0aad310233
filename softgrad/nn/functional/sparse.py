"""Lookup tables: ``embedding`` (and ``one_hot``)."""
from __future__ import annotations

from typing import Any

from softgrad import backend
from softgrad.autograd import grad_mode
from softgrad.ops.embedding import Embedding
from softgrad.tensor import Tensor

__all__ = ["embedding", "one_hot"]


def _indices(input: Any, num: int) -> Any:
    idx = input._data if isinstance(input, Tensor) else backend.np.asarray(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding indices must be integers (int64 or int32), got dtype "
                        f"{idx.dtype}")
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= num):
        bad = int(idx.min()) if int(idx.min()) < 0 else int(idx.max())
        raise IndexError(f"index {bad} is out of range for an embedding with {num} rows")
    return idx


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Look up rows of ``weight`` by integer ``input``.

    Args:
        input: integer indices of any shape.
        weight: the table, shape (num_embeddings, embedding_dim).
        padding_idx: a row that receives no gradient.
        max_norm: rows looked up are renormalised in place to at most this norm.
        norm_type: p of the norm used with ``max_norm``. Default: 2.
        scale_grad_by_freq: divide each row's gradient by its count in ``input``.
        sparse: sparse gradients are not supported (dense gradients are returned).
    Shape: input (*) -> (*, embedding_dim). See ``nn.Embedding``.
    """
    if weight.dim() != 2:
        raise ValueError(f"embedding weight must be 2-D, got shape {tuple(weight.shape)}")
    if sparse:
        raise NotImplementedError("sparse embedding gradients are not supported; use "
                                  "sparse=False (gradients are dense)")
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"padding_idx {padding_idx} must be within the {num} embeddings")
        padding_idx %= num
    idx = _indices(input, num)
    if backend._cupy is not None and backend.device_of(idx) != weight.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                           f"two devices, {weight.device} and {backend.device_of(idx)}! "
                           f"(embedding: weight and indices)")
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    return Tensor._apply(Embedding, weight, indices=idx, padding_idx=padding_idx,
                         scale_grad_by_freq=scale_grad_by_freq)


def _renorm_rows(weight: Tensor, idx: Any, max_norm: float, norm_type: float) -> None:
    xp = backend.xp_of(weight._data)
    rows = xp.unique(idx.reshape(-1))
    w = weight._data[rows]
    norms = (xp.abs(w) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    with grad_mode.no_grad():
        weight._data[rows] = w * scale[:, None]
        weight._version += 1


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding along a new last dim (``num_classes = max + 1`` when -1)."""
    idx = tensor._data if isinstance(tensor, Tensor) else backend.np.asarray(tensor)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot is only applicable to index tensors, got dtype {idx.dtype}")
    xp = backend.xp_of(idx)
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= num_classes):
        raise RuntimeError(f"one_hot: class values must be in [0, {num_classes}), got "
                           f"[{int(idx.min())}, {int(idx.max())}]")
    out = (idx[..., None] == xp.arange(num_classes)).astype(xp.int64)
    return Tensor._wrap(out)
