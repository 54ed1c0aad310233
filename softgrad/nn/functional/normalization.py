"""Normalisation functions: ``batch_norm``, ``layer_norm``, ``group_norm``, ``instance_norm``.

Each is one fused primitive (``ops.normalization.AffineNorm``); running statistics are
updated in place outside the graph, as in PyTorch.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from softgrad import backend
from softgrad.ops.normalization import AffineNorm, moments
from softgrad.tensor import Tensor

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm"]


def _affine(weight: Tensor | None, bias: Tensor | None, like: Tensor, shape: tuple) -> tuple:
    """(w, b) as Tensors (ones/zeros filled in), or () when both are None."""
    if weight is None and bias is None:
        return ()
    xp = backend.xp_of(like._data)
    if weight is None:
        weight = Tensor._wrap(xp.ones(shape, dtype=like._data.dtype))
    if bias is None:
        bias = Tensor._wrap(xp.zeros(shape, dtype=like._data.dtype))
    return weight, bias


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dim 1) over the batch and spatial dims, then scale and shift.

    In training (or without running statistics) the batch statistics are used and the
    running ones, if given, are updated in place:
    ``running = (1 - momentum) * running + momentum * batch`` (unbiased variance).
    Otherwise the running statistics are used. See ``nn.BatchNorm1d``.

    Shape: input (N, C, *), running stats / weight / bias (C,) -> (N, C, *).
    """
    if input.dim() < 2:
        raise ValueError(f"batch_norm expected 2D or more input (N, C, *), got shape "
                         f"{tuple(input.shape)}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"batch_norm: {name} should have shape ({c},) for input of shape "
                             f"{tuple(input.shape)}, got {tuple(t.shape)}")
    axes = (0,) + tuple(range(2, input.dim()))
    pshape = (1, c) + (1,) * (input.dim() - 2)
    x = input._data
    if training or running_mean is None or running_var is None:
        count = x.size // c if c else 0
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {tuple(input.shape)}")
        mean, var = moments(backend.xp_of(x), x, axes)
        if training and running_mean is not None and running_var is not None:
            _update_running(running_mean, running_var, mean, var, count, momentum)
        stats, fixed = (mean, var), False
    else:
        stats = (running_mean._data.reshape(pshape).astype(x.dtype, copy=False),
                 running_var._data.reshape(pshape).astype(x.dtype, copy=False))
        fixed = True
    wb = _affine(weight, bias, input, (c,))
    return Tensor._apply(AffineNorm, input, *wb, axes=axes, pshape=pshape, eps=eps, stats=stats,
                         fixed=fixed)


def _update_running(rmean: Tensor, rvar: Tensor, mean: Any, var: Any, count: int,
                    momentum: float) -> None:
    m = rmean._data
    unbiased = var.reshape(-1) * (count / (count - 1))
    m *= 1 - momentum
    m += momentum * mean.reshape(-1)
    v = rvar._data
    v *= 1 - momentum
    v += momentum * unbiased
    rmean._version += 1
    rvar._version += 1


def layer_norm(input: Tensor, normalized_shape: Sequence[int] | int,
               weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims, then scale and shift.

    Shape: input (*, *normalized_shape), weight/bias normalized_shape -> same as input.
    See ``nn.LayerNorm``.
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or tuple(input.shape[input.dim() - k:]) != shape or input.dim() < k:
        raise ValueError(f"layer_norm: input of shape {tuple(input.shape)} does not end with "
                         f"normalized_shape {shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"layer_norm: {name} should have shape {shape}, got "
                             f"{tuple(t.shape)}")
    axes = tuple(range(input.dim() - k, input.dim()))
    wb = _affine(weight, bias, input, shape)
    return Tensor._apply(AffineNorm, input, *wb, axes=axes, pshape=shape, eps=eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise each group of ``C / num_groups`` channels per sample, then scale and shift.

    Shape: input (N, C, *), weight/bias (C,) -> (N, C, *). See ``nn.GroupNorm``.
    """
    if input.dim() < 2 or input.shape[1] % num_groups != 0:
        raise ValueError(f"group_norm: input of shape {tuple(input.shape)} needs a channel dim "
                         f"divisible by num_groups={num_groups}")
    n, c = input.shape[0], input.shape[1]
    grouped = input.reshape(n, num_groups, -1)
    out = Tensor._apply(AffineNorm, grouped, axes=(2,), pshape=(), eps=eps)
    out = out.reshape(input.shape)
    pshape = (1, c) + (1,) * (input.dim() - 2)
    if weight is not None:
        out = out * weight.reshape(pshape)
    if bias is not None:
        out = out + bias.reshape(pshape)
    return out


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel of each sample over its spatial dims (no running statistics
    tracking beyond ``batch_norm``'s when ``use_input_stats`` is False).

    Shape: input (N, C, *) -> (N, C, *).
    """
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    if input.dim() < 3:
        raise ValueError(f"instance_norm expects input (N, C, *) with spatial dims, got "
                         f"{tuple(input.shape)}")
    c = input.shape[1]
    axes = tuple(range(2, input.dim()))
    if running_mean is not None and running_var is not None:
        _update_instance_running(input._data, running_mean, running_var, axes, momentum)
    pshape = (1, c) + (1,) * (input.dim() - 2)
    wb = _affine(weight, bias, input, (c,))
    return Tensor._apply(AffineNorm, input, *wb, axes=axes, pshape=pshape, eps=eps)


def _update_instance_running(x: Any, rmean: Tensor, rvar: Tensor, axes: tuple,
                             momentum: float) -> None:
    """Running statistics of instance norm: the batch average of each sample's update."""
    count = x[0, 0].size
    if count <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{tuple(x.shape)}")
    mean, var = moments(backend.xp_of(x), x, axes)
    _update_running(rmean, rvar, mean.mean(axis=0), var.mean(axis=0), count, momentum)
