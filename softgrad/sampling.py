"""Sampling functions with PyTorch's names: ``multinomial``, ``bernoulli``, ``normal``,
``poisson``.

Draws come from ``generator`` (an ``sg.Generator``), else from the seeded global generator
(``sg.manual_seed``). Outputs that depend on parameters which require grad require grad too,
with a zero gradient, as in PyTorch (use ``softgrad.distributions`` for reparameterised
samples).
"""
from __future__ import annotations

from typing import Any

from softgrad import backend, dtypes
from softgrad.creation import _finish, _gen, _shape_arg
from softgrad.ops import random as R
from softgrad.tensor.arrays import array_from
from softgrad.tensor.core import Tensor

np = backend.np


def _as_tensor(x: Any, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if like is not None:
        return like._operand(x)
    return Tensor._wrap(array_from(x, None))


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Any = None) -> Tensor:
    """``num_samples`` indices per row of ``input`` (1-D or 2-D non-negative weights), drawn
    with probability proportional to the weights; without replacement unless told.

    Shape: (K,) -> (num_samples,); (B, K) -> (B, num_samples), int64.
    Example:
        >>> next_token = sg.multinomial(probs, num_samples=1)   # probs (B, vocab)
    """
    return _as_tensor(input).multinomial(num_samples, replacement, generator=generator)


def bernoulli(input: Tensor, p: float | None = None, *,
              generator: Any = None) -> Tensor:
    """0/1 draws shaped like ``input``: 1 with probability ``input`` (or ``p`` when given)."""
    return _as_tensor(input).bernoulli(p, generator=generator)


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, generator: Any = None,
           dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Normal draws, with PyTorch's overloads.

    ``normal(mean_tensor, std_tensor)``, ``normal(mean_tensor, std=1.0)`` and
    ``normal(mean=0.0, std_tensor)`` draw one value per element of the broadcast parameters;
    ``normal(mean, std, size)`` with numbers draws a tensor of ``size`` (float32 unless
    ``dtype`` says otherwise).
    Example:
        >>> sg.normal(0.0, 1.0, size=(2, 3))
    """
    rng = _gen(generator)
    if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
        if size is None:
            raise TypeError("normal() with a number mean and std needs size=, e.g. "
                            "normal(0.0, 1.0, size=(2, 3)); or pass mean or std as a tensor")
        if not std >= 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
        shape = _shape_arg((size,) if not isinstance(size, (tuple, list)) else tuple(size))
        arr = rng.normal(float(mean), float(std), shape)
        npd = dtypes.to_np(dtype) if dtype is not None else backend.DEFAULT_DTYPE
        return _finish(arr.astype(npd), None, device, requires_grad)
    if size is not None:
        raise TypeError("normal() takes size= only with a number mean and std")
    like = mean if isinstance(mean, Tensor) else std
    m, s = _as_tensor(mean, like)._float_input(), _as_tensor(std, like)._float_input()
    dt = np.promote_types(m._data.dtype, s._data.dtype)
    m, s = m._cast(dt), s._cast(dt)
    if not bool((backend.to_numpy(s._data) >= 0).all()):
        raise RuntimeError("normal expects all elements of std >= 0.0")
    try:
        shape = np.broadcast_shapes(m.shape, s.shape)
    except ValueError:
        raise RuntimeError(f"normal: the shapes of mean {tuple(m.shape)} and std "
                           f"{tuple(s.shape)} do not broadcast") from None
    xp = backend.xp_of(m._data)
    z = backend.to_device(rng.standard_normal(shape), m.device)
    value = (m._data + s._data * z).astype(dt)
    out = Tensor._apply(R.Sampled, m, s, value=xp.asarray(value))
    if device is not None and str(device) != str(out.device):
        out = out.to(device)
    return out


def poisson(input: Tensor, generator: Any = None) -> Tensor:
    """Poisson draws with the rates in ``input`` (same dtype; gradient zero)."""
    rates = _as_tensor(input)
    if rates._data.dtype.kind != "f":
        raise NotImplementedError(f'"poisson" not implemented for '
                                  f"'{R.torch_dtype_name(rates._data.dtype)}'")
    host = backend.to_numpy(rates._data)
    if not bool((host >= 0).all()):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    draw = _gen(generator).poisson(host).astype(host.dtype)
    return Tensor._apply(R.Sampled, rates, value=backend.to_device(draw, rates.device))
