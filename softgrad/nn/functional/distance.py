"""Distances and similarities between vectors: ``normalize``, ``cosine_similarity``,
``pairwise_distance``, ``pdist`` (PyTorch-named, differentiable compositions)."""
from __future__ import annotations

from softgrad import backend
from softgrad.tensor import Tensor

__all__ = ["normalize", "cosine_similarity", "pairwise_distance", "pdist"]


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``: unit vectors (zero vectors stay zero).

    Example:
        >>> F.normalize(sg.tensor([[3.0, 4.0]]), dim=1)   # [[0.6, 0.8]]
    """
    if out is not None:
        raise TypeError("normalize: out= is not supported; use the returned tensor")
    x = input._float_input()
    return x / x.norm(p, dim, keepdim=True).clamp_min(eps)


def _clamped_norm(x: Tensor, dim: int, eps: float) -> Tensor:
    """||x||_2 along ``dim`` (kept) with its value clamped to >= eps but its gradient the
    norm's own (PyTorch clamps in place outside autograd)."""
    n = x.norm(2, dim, keepdim=True)
    xp = backend.xp_of(n._data)
    shift = xp.maximum(n._data, eps) - n._data
    return n + Tensor._wrap(shift.astype(n._data.dtype, copy=False))


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) along ``dim`` (broadcasting).

    Shape: x1 and x2 broadcast to (*, D, *) -> the broadcast shape without ``dim``.
    """
    a, b = x1._float_input(), x1._operand(x2)._float_input()
    shape = backend.np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    if tuple(a.shape) != shape:
        a = a.expand(*shape)
    if tuple(b.shape) != shape:
        b = b.expand(*shape)
    return ((a / _clamped_norm(a, dim, eps)) * (b / _clamped_norm(b, dim, eps))).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim (broadcasting): (N, D), (N, D) -> (N,)."""
    diff = x1._float_input() - x2 + eps
    if diff.ndim == 0:
        diff = diff.reshape(1)
    return diff.norm(p, -1, keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distances between the rows of (N, M) input, for i < j: shape N(N-1)/2."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    n = input.shape[0]
    rows, cols = backend.np.triu_indices(n, 1)
    x = input._float_input()
    return (x[Tensor._wrap(rows)] - x[Tensor._wrap(cols)]).norm(p, -1)
