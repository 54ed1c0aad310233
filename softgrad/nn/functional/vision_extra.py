"""``bilinear``, ``channel_shuffle``, ``upsample_nearest``/``upsample_bilinear`` and the power
-average pools ``lp_pool1d/2d/3d`` (compositions of existing ops)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from softgrad.nn.functional.pooling import avg_pool1d, avg_pool2d
from softgrad.nn.functional.vision import interpolate
from softgrad.nn.functional.volume import avg_pool3d
from softgrad.ops.windows import as_tuple
from softgrad.tensor import Tensor

IntOr = int | Sequence[int]
__all__ = ["bilinear", "channel_shuffle", "native_channel_shuffle", "upsample_nearest",
           "upsample_bilinear", "lp_pool1d", "lp_pool2d", "lp_pool3d"]


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    """y[..., o] = input1 @ weight[o] @ input2 + bias[o]. See ``nn.Bilinear``.

    Shape: input1 (*, in1), input2 (*, in2), weight (out, in1, in2) -> (*, out).
    """
    if weight.ndim != 3 or input1.shape[-1] != weight.shape[1] or \
            input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): weight {tuple(weight.shape)} does not fit inputs "
                           f"{tuple(input1.shape)} and {tuple(input2.shape)}")
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError(f"bilinear(): input1 and input2 must have the same size except in "
                           f"the last dimension, got {tuple(input1.shape)} and "
                           f"{tuple(input2.shape)}")
    out_f, in1, in2 = weight.shape
    lead = tuple(input1.shape[:-1])
    a = input1.reshape(-1, in1) @ weight.permute(1, 0, 2).reshape(in1, out_f * in2)
    y = (a.reshape(-1, out_f, in2) * input2.reshape(-1, 1, in2)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, out_f)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleave the channels (dim 1) of ``groups`` groups: (N, g*k, *) viewed as
    (N, g, k, *), transposed to (N, k, g, *). See ``nn.ChannelShuffle``."""
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value "
                           f"of groups:{groups}")
    if input.dim() < 3:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {list(input.shape)}")
    n, c = input.shape[:2]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {groups} groups.")
    rest = tuple(input.shape[2:])
    x = input.reshape(n, groups, c // groups, *rest).transpose(1, 2)
    return x.reshape(n, c, *rest)


native_channel_shuffle = channel_shuffle


def upsample_nearest(input: Tensor, size: IntOr | None = None,
                     scale_factor: Any = None) -> Tensor:
    """Deprecated alias of ``interpolate(..., mode='nearest')``."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: IntOr | None = None,
                      scale_factor: Any = None) -> Tensor:
    """Deprecated alias of ``interpolate(..., mode='bilinear', align_corners=True)``."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def _lp_pool(pool: Any, nd: int, input: Tensor, norm_type: float,
             kernel_size: IntOr, stride: IntOr | None, ceil_mode: bool) -> Tensor:
    """(sum over each window of x^p)^(1/p), from the window mean times its size."""
    k = as_tuple(kernel_size, nd, "kernel_size")
    size = 1
    for v in k:
        size *= v
    x = input._float_input()
    p = float(norm_type)
    mean = pool(x ** p if p != 1 else x, k, stride, 0, ceil_mode)
    total = mean.sign() * mean.abs().relu() * size
    return total ** (1.0 / p)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size: IntOr,
              stride: IntOr | None = None, ceil_mode: bool = False) -> Tensor:
    """The p-norm of each window of (N, C, L) input. See ``nn.LPPool1d``."""
    return _lp_pool(avg_pool1d, 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size: IntOr,
              stride: IntOr | None = None, ceil_mode: bool = False) -> Tensor:
    """The p-norm of each window of (N, C, H, W) input. See ``nn.LPPool2d``."""
    return _lp_pool(avg_pool2d, 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size: IntOr,
              stride: IntOr | None = None, ceil_mode: bool = False) -> Tensor:
    """The p-norm of each window of (N, C, D, H, W) input. See ``nn.LPPool3d``."""
    return _lp_pool(avg_pool3d, 3, input, norm_type, kernel_size, stride, ceil_mode)
