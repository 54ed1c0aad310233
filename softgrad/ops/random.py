"""Random draws recorded in the graph, and the array-level samplers behind them.

A draw such as ``normal(mean, std)`` or ``bernoulli(p)`` is not differentiable in its
parameters (the reparameterised forms live in ``softgrad.distributions``); as in PyTorch its
output still requires grad when a parameter does, and the gradient it passes back is zero.
"""
from __future__ import annotations

from typing import Any

from softgrad import backend
from softgrad.engine.function import Function

np = backend.np


class Sampled(Function):
    """A draw ``value`` computed from the inputs' values: grad = 0 for every input."""

    def forward(self, *params: Any, value: Any = None) -> Any:
        return value

    def backward(self, g: Any) -> tuple:
        zero = g * 0
        return tuple(zero for _ in self.parents)


_TORCH_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                "uint8": "Byte", "bool": "Bool"}


def torch_dtype_name(dtype: Any) -> str:
    """PyTorch's scalar-type name of a NumPy dtype (``Long``, ``Float``, ...) for messages."""
    name = np.dtype(dtype).name
    return _TORCH_NAMES.get(name, {"float32": "Float", "float64": "Double",
                                   "float16": "Half"}.get(name, name))


def multinomial(probs: Any, num_samples: int, replacement: bool, rng: Any) -> Any:
    """Indices drawn from the rows of a host float64 ``(B, K)`` weight array -> int64 (B, n).

    With replacement: inverse CDF. Without: the ``n`` smallest ``E / p`` with ``E ~ Exp(1)``,
    in increasing order, which is the order of sequential draws (categories of weight 0
    come last).
    """
    rows, k = probs.shape
    if replacement:
        cdf = np.cumsum(probs, axis=1)
        u = rng.random((rows, num_samples)) * cdf[:, -1:]
        if rows * num_samples * k <= 1 << 22:
            idx = (cdf[:, None, :] <= u[:, :, None]).sum(axis=-1)
        else:
            idx = np.stack([np.searchsorted(c, v, side="right") for c, v in zip(cdf, u)])
        last = k - 1 - np.argmax(probs[:, ::-1] > 0, axis=1)  # last category with weight > 0
        return np.minimum(idx, last[:, None]).astype(np.int64)
    with np.errstate(divide="ignore"):
        keys = rng.standard_exponential((rows, k)) / probs
    if num_samples < k:
        part = np.argpartition(keys, num_samples - 1, axis=1)[:, :num_samples]
        order = np.argsort(np.take_along_axis(keys, part, axis=1), axis=1, kind="stable")
        return np.take_along_axis(part, order, axis=1).astype(np.int64)
    return np.argsort(keys, axis=1, kind="stable").astype(np.int64)


def check_multinomial(probs: Any, num_samples: int, replacement: bool, dtype: Any) -> None:
    """PyTorch's checks of ``multinomial``'s arguments (host array of shape (B, K))."""
    if dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{torch_dtype_name(dtype)}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > probs.shape[-1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if probs.size and not (np.isfinite(probs).all() and (probs >= 0).all()):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if probs.shape[-1] == 0 or (probs.sum(axis=-1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
