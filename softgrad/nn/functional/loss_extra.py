"""More losses with PyTorch's names, defaults and reductions: Poisson and Gaussian NLL, the
margin/ranking/embedding losses and the triplet losses (differentiable compositions)."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from softgrad import backend
from softgrad.functions import where
from softgrad.nn.functional.activation import logsigmoid, softplus
from softgrad.nn.functional.distance import pairwise_distance
from softgrad.nn.functional.loss import _pair, _reduction, _tensor
from softgrad.tensor import Tensor

np = backend.np
__all__ = ["poisson_nll_loss", "gaussian_nll_loss", "margin_ranking_loss",
           "hinge_embedding_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
           "cosine_embedding_loss", "multi_margin_loss", "multilabel_margin_loss",
           "triplet_margin_loss", "triplet_margin_with_distance_loss"]


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _float(x: Any) -> Tensor:
    return _tensor(x)._float_input()


def _signs(name: str, target: Any, like: Tensor) -> Tensor:
    """A +-1 target as a tensor of ``like``'s dtype."""
    t = _tensor(target)
    return t._cast(like._data.dtype) if t._data.dtype != like._data.dtype else t


# ---------------------------------------------------------------------- likelihoods
def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True,
                     full: bool = False, size_average: Any = None, eps: float = 1e-8,
                     reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Poisson negative log-likelihood: exp(x) - y x (``log_input``) or x - y log(x + eps);
    ``full`` adds Stirling's approximation of log(y!) where y > 1. See ``nn.PoissonNLLLoss``."""
    reduction = _reduction(reduction, size_average, reduce)
    x, t = _pair("poisson_nll_loss", input, target)
    loss = x.exp() - t * x if log_input else x - t * (x + eps).log()
    if full:
        safe = where(t > 1, t, 1.0)
        stirling = safe * safe.log() - safe + (safe * (2 * math.pi)).log() * 0.5
        loss = loss + where(t > 1, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Any, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """Gaussian negative log-likelihood 0.5 (log(var) + (x - y)^2 / var) (+ 0.5 log(2 pi)
    with ``full``). ``var`` has the input's shape, or one dim fewer (or a last dim of 1)
    for one variance per sample, or is a number; it is clamped to >= eps (the gradient
    passes through the clamp). See ``nn.GaussianNLLLoss``."""
    reduction = _reduction(reduction)
    x, t = _float(input), _float(target)
    v = _float(var) if isinstance(var, Tensor) else x._operand(float(var))
    if tuple(v.shape) != tuple(x.shape) and v.ndim:
        if tuple(x.shape[:-1]) == tuple(v.shape):
            v = v.unsqueeze(-1)
        elif not (tuple(x.shape[:-1]) == tuple(v.shape[:-1]) and v.shape[-1] == 1):
            raise ValueError("var is of incorrect size")
    if bool((v._data < 0).any()):
        raise ValueError("var has negative entry/entries")
    shift = backend.xp_of(v._data).maximum(v._data, eps) - v._data
    v = v + Tensor._wrap(shift.astype(v._data.dtype, copy=False))
    loss = (v.log() + (x - t) ** 2 / v) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# ---------------------------------------------------------------------- margins
def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average: Any = None, reduce: Any = None,
                        reduction: str = "mean") -> Tensor:
    """max(0, -y (x1 - x2) + margin) with y = +-1 (1: x1 should rank higher)."""
    reduction = _reduction(reduction, size_average, reduce)
    a, b = _float(input1), _float(input2)
    if not (a.ndim == b.ndim == _tensor(target).ndim):
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same "
                           f"dimension but got sizes: input1: {list(a.shape)}, input2: "
                           f"{list(b.shape)}, target: {list(_tensor(target).shape)} ")
    y = _signs("margin_ranking_loss", target, a)
    return _reduce((-y * (a - b) + margin).clamp_min(0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    """x where y == 1, max(0, margin - x) where y == -1 (x is a distance)."""
    reduction = _reduction(reduction, size_average, reduce)
    x = _float(input)
    y = _tensor(target)
    pos = where(y != -1, x, 0.0)
    neg = where(y != 1, (margin - x).clamp_min(0), 0.0)
    return _reduce(pos + neg, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average: Any = None,
                     reduce: Any = None, reduction: str = "mean") -> Tensor:
    """log(1 + exp(-y x)) for y = +-1 (two-class logistic loss)."""
    reduction = _reduction(reduction, size_average, reduce)
    x, y = _pair("soft_margin_loss", input, target)
    return _reduce(softplus(-y * x), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor,
                                weight: Tensor | None = None, size_average: Any = None,
                                reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Per-class binary cross-entropy with logits, averaged over the C classes:
    input (N, C), target (N, C) of 0/1 -> (N,) before the reduction."""
    reduction = _reduction(reduction, size_average, reduce)
    x, y = _pair("multilabel_soft_margin_loss", input, target)
    loss = -(y * logsigmoid(x) + (1 - y) * logsigmoid(-x))
    if weight is not None:
        loss = loss * weight
    c = x.shape[-1] if x.ndim else 1
    loss = loss.sum(-1) / c if x.ndim else loss
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average: Any = None, reduce: Any = None,
                          reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) where y == 1, max(0, cos(x1, x2) - margin) where y == -1.

    Shape: (N, D), (N, D), (N,) or (D,), (D,), ().
    """
    reduction = _reduction(reduction, size_average, reduce)
    a, b = _float(input1), _float(input2)
    if a.ndim not in (1, 2) or tuple(a.shape) != tuple(b.shape):
        raise RuntimeError(f"cosine_embedding_loss: expected 1D or 2D inputs of equal shape, "
                           f"got {list(a.shape)} and {list(b.shape)}")
    dim = a.ndim - 1
    eps = 1e-12
    cos = (a * b).sum(dim) / (((a * a).sum(dim) + eps) * ((b * b).sum(dim) + eps)).sqrt()
    y = _tensor(target)
    loss = where(y == 1, 1 - cos, 0.0) + where(y == -1, (cos - margin).clamp_min(0), 0.0)
    return _reduce(loss, reduction)


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1,
                      margin: float = 1.0, weight: Tensor | None = None,
                      size_average: Any = None, reduce: Any = None,
                      reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss: sum over i != y of max(0, margin - x[y] + x[i])^p / C
    (times weight[y]). input (N, C) or (C,), target (N,) or () class indices."""
    reduction = _reduction(reduction, size_average, reduce)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    x = _float(input)
    t = _tensor(target)
    squeeze = x.ndim == 1
    if squeeze:
        x, t = x.unsqueeze(0), t.reshape(1)
    n, c = x.shape
    idx = t._data
    if idx.dtype.kind not in "iu" or tuple(idx.shape) != (n,):
        raise RuntimeError(f"multi_margin_loss: expected target of shape ({n},) holding class "
                           f"indices, got {list(t.shape)} of dtype {t.dtype}")
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= c):
        raise IndexError(f"multi_margin_loss: target out of range: class labels must be in "
                         f"[0, {c - 1}]")
    xy = x.gather(1, t.reshape(n, 1).long())
    z = (x - xy + margin).clamp_min(0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * _float(weight)[t.long()].reshape(n, 1)
    xp = backend.xp_of(x._data)
    other = Tensor._wrap((xp.arange(c)[None, :] != idx[:, None]).astype(x._data.dtype))
    loss = (z * other).sum(1) / c
    return _reduce(loss.reshape(()) if squeeze else loss, reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor,
                           size_average: Any = None, reduce: Any = None,
                           reduction: str = "mean") -> Tensor:
    """Multi-label hinge loss: sum over target classes j and non-target classes i of
    max(0, 1 - (x[j] - x[i])) / C. ``target`` (N, C) lists each sample's classes first,
    ended by -1."""
    reduction = _reduction(reduction, size_average, reduce)
    x = _float(input)
    t = _tensor(target)
    squeeze = x.ndim == 1
    if squeeze:
        x, t = x.unsqueeze(0), t.unsqueeze(0)
    if tuple(t.shape) != tuple(x.shape) or t._data.dtype.kind not in "iu":
        raise RuntimeError(f"multilabel_margin_loss: expected an integer target of the input's "
                           f"shape {list(x.shape)}, got {list(t.shape)} of dtype {t.dtype}")
    n, c = x.shape
    tgt = backend.to_numpy(t._data)
    is_target = np.zeros((n, c), dtype=bool)
    for row in range(n):
        for k in range(c):
            label = int(tgt[row, k])
            if label < 0:
                break
            if label >= c:
                raise IndexError(f"multilabel_margin_loss: target {label} out of range for "
                                 f"{c} classes")
            is_target[row, label] = True
    mask = (is_target[:, :, None] & ~is_target[:, None, :]).astype(x._data.dtype)
    pairs = Tensor._wrap(backend.to_device(mask, x.device))
    hinge = (1 - x.unsqueeze(2) + x.unsqueeze(1)).clamp_min(0)  # [n, j, i]
    loss = (hinge * pairs).sum((1, 2)) / c
    return _reduce(loss.reshape(()) if squeeze else loss, reduction)


# ---------------------------------------------------------------------- triplets
def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor,
                        margin: float = 1.0, p: float = 2, eps: float = 1e-6,
                        swap: bool = False, size_average: Any = None, reduce: Any = None,
                        reduction: str = "mean") -> Tensor:
    """max(0, d(a, p) - d(a, n) + margin) with d the p-norm pairwise distance; with
    ``swap``, d(a, n) is replaced by min(d(a, n), d(p, n))."""
    reduction = _reduction(reduction, size_average, reduce)
    dims = {anchor.ndim, positive.ndim, negative.ndim}
    if len(dims) != 1 or dims.pop() not in (1, 2):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have "
                           f"the same number of dimensions (1 or 2), but got: anchor "
                           f"{anchor.ndim}D, positive {positive.ndim}D, and negative "
                           f"{negative.ndim}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((d_pos - d_neg + margin).clamp_min(0), reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function: Callable | None = None,
                                      margin: float = 1.0, swap: bool = False,
                                      reduction: str = "mean") -> Tensor:
    """``triplet_margin_loss`` with any ``distance_function(x1, x2)`` (default: the
    Euclidean ``pairwise_distance``)."""
    reduction = _reduction(reduction)
    if margin <= 0:
        raise ValueError(f"TripletMarginWithDistanceLoss: expected margin to be greater than 0, "
                         f"got {margin} instead")
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(dist(positive, negative))
    return _reduce((d_pos - d_neg + margin).clamp_min(0), reduction)

