"""3-D (volumetric) layers: ``conv3d, max_pool3d, avg_pool3d, adaptive_avg_pool3d``.

Input (N, C, D, H, W). ``conv3d`` is one primitive (``ops.conv.Conv3d``): the N-d lowering
of ``ops.conv_lowering``, with kD * kH * kW taps per channel in its columns (or one GEMM per
tap where that is cheaper). Pooling is composed from the 2-D primitives: it first pools
(H, W) on an (N, C * D, H, W) view, then reduces the ``kD`` strided depth slices of the
smaller result; autograd composes the VJPs.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from softgrad import backend
from softgrad.functions import stack
from softgrad.nn.functional._spatial import batched
from softgrad.nn.functional.conv import (
    _check_channels,
    _check_common,
    _check_fits,
    _conv_pads,
    _params,
)
from softgrad.nn.functional.pooling import (
    _adaptive_sizes,
    _geometry,
    _mean_matrix,
    adaptive_avg_pool2d,
    avg_pool2d,
    max_pool2d,
)
from softgrad.nn.functional.vision import pad as _pad
from softgrad.ops.conv import Conv3d
from softgrad.tensor import Tensor

np = backend.np
__all__ = ["conv3d", "max_pool3d", "avg_pool3d", "adaptive_avg_pool3d"]

IntOr = int | Sequence[int]


def _depth_windows(x: Tensor, k: int, s: int, d: int, out: int) -> Tensor:
    """(N, C, D, ...) -> (N, C, out, k, ...): the ``k`` strided depth slices of ``x``."""
    span = s * (out - 1) + 1
    return stack([x[:, :, i * d:i * d + span:s] for i in range(k)], dim=3)


def _pad_depth(x: Tensor, lo: int, hi: int, value: float) -> Tensor:
    if not (lo or hi):
        return x
    return _pad(x, [0, 0, 0, 0, lo, hi], value=value)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
           stride: IntOr = 1, padding: IntOr | str = 0, dilation: IntOr = 1,
           groups: int = 1) -> Tensor:
    """3-D cross-correlation over (N, C_in, D, H, W) input. See ``nn.Conv3d``.

    Args:
        weight: (C_out, C_in / groups, kD, kH, kW).  bias: (C_out,) or None.
        stride, dilation: int or 3-tuple.  padding: int, 3-tuple, ``'valid'`` or ``'same'``.
        groups: split the channels into this many independent groups.
    Shape: (N, C_in, D, H, W) or (C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out),
    D_out = floor((D + 2 * padding - dilation * (kD - 1) - 1) / stride) + 1 (same for H, W).
    Example:
        >>> F.conv3d(sg.randn(2, 3, 8, 8, 8), sg.randn(4, 3, 3, 3, 3)).shape
        (2, 4, 6, 6, 6)
    """
    name = "conv3d"
    x, added = batched(name, input, 3)
    _check_common(name, x, weight, bias, 3, groups)
    s, d = _params(name, 3, stride, dilation)
    kernel = tuple(weight.shape[2:])
    _check_channels(name, x, weight, bias, groups)
    pads = _conv_pads(name, padding, kernel, d, s, 3)
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads))
    eff = tuple(dd * (k - 1) + 1 for k, dd in zip(kernel, d))
    _check_fits(name, input, weight, padded, eff)
    args = (x, weight) if bias is None else (x, weight, bias)
    y = Tensor._apply(Conv3d, *args, stride=s, pads=pads, dilation=d, groups=groups)
    return y.squeeze(0) if added else y


def max_pool3d(input: Tensor, kernel_size: IntOr, stride: IntOr | None = None,
               padding: IntOr = 0, dilation: IntOr = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Any:
    """Max over sliding (kD, kH, kW) windows of (N, C, D, H, W) input. See ``nn.MaxPool3d``.

    Args as ``max_pool2d`` (3-tuples allowed); with ``return_indices`` also returns int64
    indices into each flattened (D, H, W) volume.
    """
    name = "max_pool3d"
    x, added = batched(name, input, 3, floating=True)
    k, s, pads, d, out, _ = _geometry(name, x, 3, kernel_size, stride, padding, dilation,
                                      ceil_mode, avg=False)
    n, c, depth, h, w = x.shape
    y = max_pool2d(x.reshape(n, c * depth, h, w), k[1:], s[1:], (pads[1][0], pads[2][0]),
                   d[1:], ceil_mode, return_indices)
    if return_indices:
        y, hw_idx = y
    y = y.reshape(n, c, depth, out[1], out[2])
    y = _depth_windows(_pad_depth(y, pads[0][0], pads[0][1], -float("inf")), k[0], s[0], d[0],
                       out[0])
    y, arg = y.max(dim=3)  # the first maximum wins, as in PyTorch
    if return_indices:
        xp = backend.xp_of(x._data)
        start = (xp.arange(out[0]) * s[0] - pads[0][0]).reshape(out[0], 1, 1)
        dep = xp.clip(start + arg._data * d[0], 0, depth - 1)  # (N, C, OD, OH, OW)
        hw = xp.take_along_axis(hw_idx._data.reshape(n, c, depth, out[1], out[2]), dep, axis=2)
        idx = Tensor._wrap((dep * (h * w) + hw).astype(np.int64))
        return (y.squeeze(0), idx.squeeze(0)) if added else (y, idx)
    return y.squeeze(0) if added else y


def _avg_divisor3(spatial: tuple, k: tuple, s: tuple, pad: tuple, out: tuple,
                  count_include_pad: bool) -> Any:
    """Window element counts (OD, OH, OW) as PyTorch divides by them."""
    div = np.ones((1, 1, 1))
    for axis, (n, kk, ss, pp, o) in enumerate(zip(spatial, k, s, pad, out)):
        start = np.arange(o) * ss - pp
        end = np.minimum(start + kk, n + pp)
        cnt = end - start if count_include_pad else np.minimum(end, n) - np.maximum(start, 0)
        shape = [1, 1, 1]
        shape[axis] = o
        div = div * cnt.reshape(shape)
    return div


def avg_pool3d(input: Tensor, kernel_size: IntOr, stride: IntOr | None = None,
               padding: IntOr = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """Mean over sliding (kD, kH, kW) windows of (N, C, D, H, W) input. See ``nn.AvgPool3d``.

    Args as ``avg_pool2d`` (3-tuples allowed).
    """
    name = "avg_pool3d"
    x, added = batched(name, input, 3, floating=True)
    k, s, pads, _, out, spatial = _geometry(name, x, 3, kernel_size, stride, padding, 1,
                                            ceil_mode, avg=True)
    if divisor_override is not None and divisor_override == 0:
        raise ValueError(f"{name}(): divisor_override must be non-zero")
    n, c, depth, h, w = x.shape
    y = avg_pool2d(x.reshape(n, c * depth, h, w), k[1:], s[1:], (pads[1][0], pads[2][0]),
                   ceil_mode, True, 1)  # window sums over (H, W)
    y = y.reshape(n, c, depth, out[1], out[2])
    y = _depth_windows(_pad_depth(y, pads[0][0], pads[0][1], 0.0), k[0], s[0], 1, out[0]).sum(dim=3)
    if divisor_override is not None:
        y = y / float(divisor_override)
    else:
        div = _avg_divisor3(spatial, k, s, tuple(p[0] for p in pads), out, count_include_pad)
        if (div == k[0] * k[1] * k[2]).all():
            y = y / float(k[0] * k[1] * k[2])
        else:
            y = y * Tensor._wrap(backend.to_device((1.0 / div).astype(x._data.dtype), x.device))
    return y.squeeze(0) if added else y


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    """Mean over (D_out, H_out, W_out) adaptive windows of (N, C, D, H, W) input
    (``None`` keeps that size). See ``nn.AdaptiveAvgPool3d``."""
    name = "adaptive_avg_pool3d"
    x, added = batched(name, input, 3, floating=True)
    size, _ = _adaptive_sizes(name, x, 3, output_size)
    n, c, depth, h, w = x.shape
    y = adaptive_avg_pool2d(x.reshape(n, c * depth, h, w), size[1:])
    y = y.reshape(n, c, depth, size[1] * size[2])
    if size[0] != depth:
        mat = backend.to_device(_mean_matrix(depth, size[0], x._data.dtype), x.device)
        y = Tensor._wrap(mat) @ y  # (OD, D) @ (N, C, D, OH*OW)
    y = y.reshape(n, c, size[0], size[1], size[2])
    return y.squeeze(0) if added else y
