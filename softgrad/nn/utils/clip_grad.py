"""Gradient clipping: ``clip_grad_norm_``, ``clip_grad_value_`` (in place, PyTorch semantics)."""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from softgrad import backend
from softgrad.tensor import Tensor

np = backend.np


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[Any]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad._data for p in parameters if p.grad is not None]


def _vector_norm(arr: Any, p: float) -> float:
    xp = backend.xp_of(arr)
    if p == 2:
        flat = arr.reshape(-1)
        return math.sqrt(float(xp.dot(flat, flat)))
    if math.isinf(p):
        if arr.size == 0:
            return 0.0
        return float(xp.abs(arr).max() if p > 0 else xp.abs(arr).min())
    if p == 1:
        return float(xp.abs(arr).sum())
    if p == 0:
        return float((arr != 0).sum())
    return float((xp.abs(arr) ** p).sum()) ** (1.0 / p)


def get_total_norm(tensors: Tensor | Iterable[Tensor], norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """The ``norm_type`` norm of all ``tensors`` taken together (as one vector)."""
    arrays = [tensors._data] if isinstance(tensors, Tensor) else \
        [t._data if isinstance(t, Tensor) else t for t in tensors]
    return _total_norm(arrays, float(norm_type), error_if_nonfinite)


def _total_norm(arrays: list[Any], norm_type: float, error_if_nonfinite: bool) -> Tensor:
    dtype = arrays[0].dtype if arrays else backend.DEFAULT_DTYPE
    if not arrays:
        return Tensor._wrap(np.zeros((), dtype=dtype))
    norms = [_vector_norm(a, norm_type) for a in arrays]
    total = _vector_norm(np.asarray(norms), norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the gradients "
            "by the non-finite norm anyway, set `error_if_nonfinite=False`")
    return Tensor._wrap(backend.to_device(np.asarray(total, dtype=dtype),
                                          backend.device_of(arrays[0])))


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                          total_norm: Tensor | float, foreach: bool | None = None) -> None:
    """Scale gradients by ``max_norm / (total_norm + 1e-6)`` when that is below 1."""
    coef = float(max_norm) / (float(total_norm) + 1e-6)
    if coef < 1.0 or math.isnan(coef):
        for g in _grads(parameters):
            g *= coef


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Rescale gradients in place so their total ``norm_type`` norm is at most ``max_norm``.

    Args:
        parameters: tensors (or one tensor) whose ``.grad`` is clipped.
        max_norm: the largest allowed total norm.
        norm_type: p of the p-norm; ``float('inf')`` for the max norm. Default: 2.
        error_if_nonfinite: raise if the total norm is nan or inf. Default: False.
    Returns:
        The total norm before clipping (a 0-d tensor).

    Example:
        >>> loss.backward()
        >>> nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        >>> opt.step()
    """
    if not isinstance(parameters, Tensor):
        parameters = list(parameters)
    grads = _grads(parameters)
    total = _total_norm(grads, float(norm_type), error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        backend.xp_of(g).clip(g, -clip_value, clip_value, out=g)
