"""``rms_norm`` and ``local_response_norm`` (differentiable compositions)."""
from __future__ import annotations

from collections.abc import Sequence

from softgrad import backend
from softgrad.functions import cat
from softgrad.tensor import Tensor

__all__ = ["rms_norm", "local_response_norm"]


def rms_norm(input: Tensor, normalized_shape: Sequence[int] | int,
             weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over the last ``len(normalized_shape)`` dims, times
    ``weight``. ``eps`` defaults to the machine epsilon of the input's dtype.

    Shape: input (*, *normalized_shape), weight normalized_shape. See ``nn.RMSNorm``.
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if tuple(input.shape[input.ndim - k:]) != shape or input.ndim < k:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size"
                           f"{list(input.shape)}")
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(f"rms_norm: weight of shape {tuple(weight.shape)} does not match "
                           f"normalized_shape {shape}")
    x = input._float_input()
    if eps is None:
        eps = float(backend.np.finfo(x._data.dtype).eps)
    dims = tuple(range(x.ndim - k, x.ndim))
    out = x * ((x * x).mean(dims, keepdim=True) + eps).rsqrt() if dims else x * (x * x + eps
                                                                                 ).rsqrt()
    return out * weight if weight is not None else out


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4,
                        beta: float = 0.75, k: float = 1.0) -> Tensor:
    """x / (k + alpha * mean of x^2 over ``size`` neighbouring channels)^beta.

    The window over channels (dim 1) is zero-padded by size // 2 before and
    (size - 1) // 2 after. Shape: (N, C, *) -> same. See ``nn.LocalResponseNorm``.
    """
    if input.dim() < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.dim()} "
                         "dimensions)")
    if input.numel() == 0:
        return input
    x = input._float_input()
    sq = x * x
    c = x.shape[1]
    xp = backend.xp_of(x._data)

    def zeros(n: int) -> Tensor:
        shape = (x.shape[0], n) + tuple(x.shape[2:])
        return Tensor._wrap(xp.zeros(shape, dtype=x._data.dtype))

    before, after = size // 2, (size - 1) // 2
    padded = cat([t for t in (zeros(before) if before else None, sq,
                              zeros(after) if after else None) if t is not None], 1)
    total = padded.narrow(1, 0, c)
    for i in range(1, size):
        total = total + padded.narrow(1, i, c)
    return x / (total * (alpha / size) + k) ** beta
