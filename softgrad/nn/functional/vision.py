"""Image helpers: ``pad``, ``interpolate``, ``unfold``, ``fold`` (PyTorch-named)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from softgrad import backend
from softgrad.nn.functional.pooling import adaptive_avg_pool1d, adaptive_avg_pool2d
from softgrad.ops.fold import Fold, Unfold
from softgrad.ops.pad import ConstantPad, IndexPad, border_index
from softgrad.ops.resize import Resample
from softgrad.ops.windows import as_tuple, out_size
from softgrad.tensor import Tensor

np = backend.np
__all__ = ["pad", "interpolate", "upsample", "unfold", "fold", "pixel_shuffle",
           "pixel_unshuffle"]

IntOr = int | Sequence[int]


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant",
        value: float | None = None) -> Tensor:
    """Pad the trailing dims: ``pad = (left_last, right_last, left_2nd_last, ...)``.

    Args:
        mode: ``'constant'`` (fill ``value``, default 0; negative widths crop),
            ``'reflect'`` (mirror without repeating the edge), ``'replicate'`` (repeat the
            edge) or ``'circular'`` (wrap around).
    Example:
        >>> F.pad(sg.ones(1, 2, 3), (1, 2)).shape
        (1, 2, 6)
    """
    widths = [int(v) for v in pad]
    if len(widths) % 2:
        raise ValueError(f"pad(): padding length must be divisible by 2, got {tuple(pad)}")
    k = len(widths) // 2
    if k > input.dim():
        raise ValueError(f"pad(): padding {tuple(pad)} covers {k} dims but the input has only "
                         f"{input.dim()} (size {list(input.shape)})")
    pairs = [(0, 0)] * (input.dim() - k) + [(widths[2 * i], widths[2 * i + 1])
                                            for i in reversed(range(k))]
    if mode == "constant":
        for n, (lo, hi) in zip(input.shape, pairs):
            if n + lo + hi < 0:
                raise RuntimeError(f"pad(): padding {tuple(pad)} gives a negative size for "
                                   f"input of size {list(input.shape)}")
        return Tensor._apply(ConstantPad, input, pads=tuple(pairs),
                             value=0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad(): unknown padding mode {mode!r}; expected 'constant', "
                                  f"'reflect', 'replicate' or 'circular'")
    if value not in (None, 0, 0.0):
        raise ValueError(f"pad(): padding mode {mode!r} doesn't take in value argument")
    if input.dim() not in (k + 1, k + 2) or k > 3:
        raise NotImplementedError(f"pad(): {mode} padding of the last {k} dims needs a "
                                  f"{k + 1}D or {k + 2}D input, got size {list(input.shape)}")
    xp = backend.xp_of(input._data)
    index = {}
    for axis, (n, (lo, hi)) in enumerate(zip(input.shape, pairs)):
        if not (lo or hi):
            continue
        if lo < 0 or hi < 0:
            raise ValueError(f"pad(): negative padding {tuple(pad)} is only allowed in "
                             f"constant mode")
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(f"pad(): padding size should be less than the corresponding "
                               f"input dimension, but got padding {tuple(pad)} and input of "
                               f"size {list(input.shape)}")
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError(f"pad(): padding {tuple(pad)} is larger than the input size "
                               f"{list(input.shape)} for circular padding")
        if n == 0:
            raise RuntimeError(f"pad(): cannot {mode}-pad an empty dim of input "
                               f"{list(input.shape)}")
        index[axis] = (border_index(xp, n, lo, hi, mode), lo, hi)
    return Tensor._apply(IndexPad, input, index=index)


# ---------------------------------------------------------------------- interpolate
_LINEAR = {"linear": 1, "bilinear": 2}
_NEAREST = ("nearest", "nearest-exact")


def _nearest_matrix(n_in: int, n_out: int, scale: float | None, exact: bool) -> Any:
    dst = np.arange(n_out)
    if not exact and n_out == n_in:
        src = dst
    elif not exact and n_out == 2 * n_in:
        src = dst >> 1
    else:
        s = np.float32(1.0 / scale if scale else np.float32(n_in) / np.float32(n_out))
        pos = (dst.astype(np.float32) + np.float32(0.5 if exact else 0.0)) * s
        src = np.minimum(np.floor(pos).astype(np.int64), n_in - 1)
    m = np.zeros((n_out, n_in))
    m[dst, src] = 1.0
    return m


def _linear_matrix(n_in: int, n_out: int, scale: float | None, align_corners: bool) -> Any:
    dst = np.arange(n_out, dtype=np.float64)
    if align_corners:
        src = dst * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    else:
        s = 1.0 / scale if scale else n_in / n_out
        src = np.maximum(s * (dst + 0.5) - 0.5, 0.0)
    i0 = np.minimum(src.astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    l1 = src - i0
    m = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    m[rows, i0] = 1.0 - l1
    m[rows, i1] += l1
    return m


def interpolate(input: Tensor, size: IntOr | None = None,
                scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims of (N, C, L) or (N, C, H, W) input.

    Args:
        size: output spatial size, or ``scale_factor``: multiplier(s) (output size floored).
        mode: ``'nearest'``, ``'nearest-exact'``, ``'linear'`` (3-D), ``'bilinear'`` (4-D)
            or ``'area'`` (adaptive average pooling).
        align_corners: (linear modes) map corner pixel centres onto each other.
        recompute_scale_factor: derive the scale from the sizes even when given a factor.
    Computed as y = A_h @ x @ A_w^T with small interpolation matrices (two GEMMs).
    See ``nn.Upsample``.
    """
    if antialias:
        raise NotImplementedError("interpolate(): antialias=True is not supported")
    nd = input.dim() - 2
    if nd not in (1, 2):
        raise NotImplementedError(f"interpolate(): expected 3D (N, C, L) or 4D (N, C, H, W) "
                                  f"input, got size {list(input.shape)}")
    if mode in _LINEAR and _LINEAR[mode] != nd:
        raise NotImplementedError(f"interpolate(): mode {mode!r} expects "
                                  f"{_LINEAR[mode] + 2}D input, got {nd + 2}D input")
    if mode not in _LINEAR and mode not in _NEAREST and mode != "area":
        raise NotImplementedError(f"interpolate(): unsupported mode {mode!r}")
    if align_corners is not None and mode not in _LINEAR:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate(): exactly one of size or scale_factor should be defined")
    spatial = tuple(input.shape[2:])
    if size is not None:
        out = as_tuple(size, nd, "size")
        scales: tuple = (None,) * nd
    else:
        sf: tuple[Any, ...] = tuple(scale_factor) if isinstance(scale_factor, (list, tuple)) \
            else (scale_factor,) * nd
        if len(sf) != nd:
            raise ValueError(f"interpolate(): scale_factor must have {nd} elements, got {sf}")
        out = tuple(math.floor(n * float(f)) for n, f in zip(spatial, sf))
        scales = (None,) * nd if recompute_scale_factor else tuple(float(f) for f in sf)
    if any(o <= 0 for o in out):
        raise ValueError(f"interpolate(): output size {out} must be positive (input size "
                         f"{list(input.shape)})")
    if mode == "area":
        return (adaptive_avg_pool1d if nd == 1 else adaptive_avg_pool2d)(input, out)
    mats = []
    for n, o, sc in zip(spatial, out, scales):
        if mode in _NEAREST:
            m = None if (o == n and mode == "nearest") else \
                _nearest_matrix(n, o, sc, mode == "nearest-exact")
        else:
            m = _linear_matrix(n, o, sc, bool(align_corners))
        mats.append(None if m is None else
                    backend.to_device(m.astype(input._data.dtype), input.device))
    if nd == 1:
        return Tensor._apply(Resample, input, aw=mats[0])
    return Tensor._apply(Resample, input, ah=mats[0], aw=mats[1])


def upsample(input: Tensor, size: IntOr | None = None,
             scale_factor: float | None = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Alias of :func:`interpolate` (kept for PyTorch compatibility)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


# ---------------------------------------------------------------------- unfold / fold
def _window_args(name: str, kernel_size: IntOr, dilation: IntOr, padding: IntOr,
                 stride: IntOr) -> tuple:
    k = as_tuple(kernel_size, 2, "kernel_size")
    d = as_tuple(dilation, 2, "dilation")
    p = as_tuple(padding, 2, "padding")
    s = as_tuple(stride, 2, "stride")
    if min(k) < 1 or min(d) < 1 or min(s) < 1 or min(p) < 0:
        raise ValueError(f"{name}(): kernel_size, dilation and stride must be positive and "
                         f"padding non-negative, got kernel_size={k}, dilation={d}, "
                         f"padding={p}, stride={s}")
    return k, d, ((p[0], p[0]), (p[1], p[1])), s


def unfold(input: Tensor, kernel_size: IntOr, dilation: IntOr = 1,
           padding: IntOr = 0, stride: IntOr = 1) -> Tensor:
    """Extract sliding blocks: (N, C, H, W) -> (N, C * KH * KW, L), L = number of blocks.

    See ``nn.Unfold``; :func:`fold` is its adjoint.
    """
    if input.dim() not in (3, 4):
        raise RuntimeError(f"unfold(): expected 3D or 4D input (N, C, H, W), got size "
                           f"{list(input.shape)}")
    x = input.unsqueeze(0) if input.dim() == 3 else input
    k, d, pads, s = _window_args("unfold", kernel_size, dilation, padding, stride)
    out_hw = tuple(out_size(n, kk, ss, lo, hi, dd)
                   for n, kk, ss, (lo, hi), dd in zip(x.shape[2:], k, s, pads, d))
    if min(out_hw) < 1:
        raise RuntimeError(f"unfold(): kernel {k} with dilation {d} does not fit the padded "
                           f"input of size {list(input.shape)} (padding {pads[0][0]}, "
                           f"{pads[1][0]})")
    out = Tensor._apply(Unfold, x, kernel=k, stride=s, pads=pads, dilation=d, out_hw=out_hw)
    return out.squeeze(0) if input.dim() == 3 else out


def fold(input: Tensor, output_size: IntOr, kernel_size: IntOr,
         dilation: IntOr = 1, padding: IntOr = 0, stride: IntOr = 1) -> Tensor:
    """Sum sliding blocks back into an image: (N, C * KH * KW, L) -> (N, C, H, W).

    Overlapping values are added. See ``nn.Fold``; :func:`unfold` is its adjoint.
    """
    if input.dim() not in (2, 3):
        raise RuntimeError(f"fold(): expected 2D or 3D input (N, C * KH * KW, L), got size "
                           f"{list(input.shape)}")
    x = input.unsqueeze(0) if input.dim() == 2 else input
    k, d, pads, s = _window_args("fold", kernel_size, dilation, padding, stride)
    hw = as_tuple(output_size, 2, "output_size")
    out_hw = tuple(out_size(n, kk, ss, lo, hi, dd)
                   for n, kk, ss, (lo, hi), dd in zip(hw, k, s, pads, d))
    if x.shape[1] % (k[0] * k[1]):
        raise RuntimeError(f"fold(): expected size of input's dimension 1 to be divisible by "
                           f"the product of kernel_size {k}, but got input of size "
                           f"{list(input.shape)}")
    if min(out_hw) < 1 or out_hw[0] * out_hw[1] != x.shape[2]:
        raise RuntimeError(f"fold(): given output_size={hw}, kernel_size={k}, dilation={d}, "
                           f"padding={pads[0][0], pads[1][0]}, stride={s}, expected size of "
                           f"input's dimension 2 to match the calculated number of sliding "
                           f"blocks {out_hw[0]} * {out_hw[1]} = {out_hw[0] * out_hw[1]}, but "
                           f"got input of size {list(input.shape)}")
    x_shape = (x.shape[0], x.shape[1] // (k[0] * k[1])) + hw
    out = Tensor._apply(Fold, x, x_shape=x_shape, kernel=k, stride=s, pads=pads, dilation=d,
                        out_hw=out_hw)
    return out.squeeze(0) if input.dim() == 2 else out


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C * r^2, H, W) -> (*, C, H * r, W * r): channel blocks become r x r pixel tiles.
    See ``nn.PixelShuffle``."""
    r = int(upscale_factor)
    if input.dim() < 3 or r < 1 or input.shape[-3] % (r * r):
        raise RuntimeError(f"pixel_shuffle(): expected input (*, C * {r}^2, H, W) with C * "
                           f"{r}^2 channels, got size {list(input.shape)}")
    *lead, c, h, w = input.shape
    nl = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    perm = tuple(range(nl)) + (nl, nl + 3, nl + 1, nl + 4, nl + 2)
    return x.permute(*perm).reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H * r, W * r) -> (*, C * r^2, H, W), the inverse of :func:`pixel_shuffle`."""
    r = int(downscale_factor)
    if input.dim() < 3 or r < 1 or input.shape[-1] % r or input.shape[-2] % r:
        raise RuntimeError(f"pixel_unshuffle(): expected input (*, C, H * {r}, W * {r}), got "
                           f"size {list(input.shape)}")
    *lead, c, h, w = input.shape
    nl = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    perm = tuple(range(nl)) + (nl, nl + 2, nl + 4, nl + 1, nl + 3)
    return x.permute(*perm).reshape(*lead, c * r * r, h // r, w // r)
