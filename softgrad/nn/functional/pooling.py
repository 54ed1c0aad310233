"""Pooling: ``max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool1d/2d, adaptive_max_pool1d/2d``.

Output sizes, padding limits, ``ceil_mode`` and ``count_include_pad`` follow PyTorch.
Unbatched input (no N axis) is accepted.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from softgrad import backend
from softgrad.nn.functional._spatial import batched
from softgrad.ops.pool import AdaptiveMaxPool2d, AvgPool2d, MaxPool2d, flat_indices
from softgrad.ops.resize import Resample
from softgrad.ops.unpool import MaxUnpool
from softgrad.ops.windows import as_tuple
from softgrad.tensor import Tensor

np = backend.np
__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "max_unpool1d",
           "max_unpool2d"]

IntOr = int | Sequence[int]


def _pool_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size along one axis."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _geometry(name: str, x: Tensor, nd: int, kernel_size: IntOr, stride: IntOr | None,
              padding: IntOr, dilation: IntOr, ceil_mode: bool, avg: bool) -> tuple:
    """(kernel, stride, pads, dilation, out_hw, spatial) as 2-D tuples, validated."""
    k = as_tuple(kernel_size, nd, "kernel_size")
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) \
        else as_tuple(stride, nd, "stride")
    p = as_tuple(padding, nd, "padding")
    d = as_tuple(dilation, nd, "dilation")
    if any(v <= 0 for v in k) or any(v <= 0 for v in s) or any(v <= 0 for v in d):
        raise ValueError(f"{name}(): kernel_size, stride and dilation must be positive, got "
                         f"kernel_size={k}, stride={s}, dilation={d}")
    for kk, pp, dd in zip(k, p, d):
        limit = kk // 2 if avg else (dd * (kk - 1) + 1) // 2
        if pp < 0 or pp > limit:
            raise RuntimeError(f"{name}(): pad should be at most half of effective kernel "
                               f"size, but got pad={p}, kernel_size={k} and dilation={d}")
    lift = (1,) * (2 - nd)
    k, s, p, d = lift + k, lift + s, (0,) * (2 - nd) + p, lift + d
    spatial = lift + tuple(x.shape[2:])
    out = tuple(_pool_size(n, kk, ss, pp, dd, ceil_mode)
                for n, kk, ss, pp, dd in zip(spatial, k, s, p, d))
    if any(o < 1 for o in out):
        raise RuntimeError(f"{name}(): Given input size: ({x.shape[1]}x"
                           f"{'x'.join(map(str, spatial[-nd:]))}). Calculated output size: "
                           f"({x.shape[1]}x{'x'.join(map(str, out[-nd:]))}). Output size is "
                           f"too small (kernel_size={k[-nd:]}, padding={p[-nd:]})")
    pads = tuple((pp, max(0, (o - 1) * ss + dd * (kk - 1) + 1 - n - pp))
                 for n, kk, ss, pp, dd, o in zip(spatial, k, s, p, d, out))
    return k, s, pads, d, out, spatial


def _max_pool(name: str, nd: int, input: Tensor, kernel_size: IntOr,
              stride: IntOr | None, padding: IntOr, dilation: IntOr, ceil_mode: bool,
              return_indices: bool) -> Any:
    x, added = batched(name, input, nd, floating=True)
    k, s, pads, d, out_hw, spatial = _geometry(name, x, nd, kernel_size, stride, padding,
                                               dilation, ceil_mode, avg=False)
    holder: list | None = [] if return_indices else None
    out = Tensor._apply(MaxPool2d, x, kernel=k, stride=s, pads=pads, dilation=d,
                        out_hw=out_hw, indices=holder)
    if added:
        out = out.squeeze(0)
    if not return_indices:
        return out
    xp = backend.xp_of(x._data)
    idx = flat_indices(xp, cast(list, holder)[0], k, s, pads, d, spatial[1])
    idx = idx.reshape(out.shape)
    return out, Tensor._wrap(idx)


def max_pool1d(input: Tensor, kernel_size: IntOr, stride: IntOr | None = None,
               padding: IntOr = 0, dilation: IntOr = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Any:
    """Max over sliding windows of (N, C, L) input. See ``nn.MaxPool1d``.

    Args: kernel_size; stride (default kernel_size); padding (implicit -inf, at most half
    the effective kernel); dilation; ceil_mode (let the last window start inside the
    padded input); return_indices (also return flat argmax indices into L).
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool2d(input: Tensor, kernel_size: IntOr, stride: IntOr | None = None,
               padding: IntOr = 0, dilation: IntOr = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Any:
    """Max over sliding windows of (N, C, H, W) input. See ``nn.MaxPool2d``.

    Shape: (N, C, H, W) -> (N, C, H_out, W_out), H_out = floor or ceil of
    (H + 2 * padding - dilation * (kernel - 1) - 1) / stride, plus 1.
    With ``return_indices`` also returns int64 indices into each flattened (H, W) plane.
    Example:
        >>> F.max_pool2d(sg.randn(2, 6, 24, 24), 2).shape
        (2, 6, 12, 12)
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def _avg_divisor(spatial: tuple, k: tuple, s: tuple, pad: tuple, out_hw: tuple,
                 count_include_pad: bool, divisor_override: Any, dtype: Any) -> Any:
    """PyTorch's divisor per output position: a float, or an (OH, OW) array."""
    if divisor_override is not None:
        if divisor_override == 0:
            raise ValueError("avg_pool2d(): divisor_override must be non-zero")
        return float(divisor_override)
    counts = []
    for n, kk, ss, pp, o in zip(spatial, k, s, pad, out_hw):
        start = np.arange(o) * ss - pp
        end = np.minimum(start + kk, n + pp)
        if count_include_pad:
            counts.append(end - start)
        else:
            counts.append(np.minimum(end, n) - np.maximum(start, 0))
    div = np.outer(counts[0], counts[1])
    if (div == k[0] * k[1]).all():
        return float(k[0] * k[1])
    return div.astype(dtype)


def _avg_pool(name: str, nd: int, input: Tensor, kernel_size: IntOr,
              stride: IntOr | None, padding: IntOr, ceil_mode: bool, count_include_pad: bool,
              divisor_override: Any) -> Tensor:
    x, added = batched(name, input, nd, floating=True)
    k, s, pads, _, out_hw, spatial = _geometry(name, x, nd, kernel_size, stride, padding, 1,
                                               ceil_mode, avg=True)
    div = _avg_divisor(spatial, k, s, tuple(p[0] for p in pads), out_hw, count_include_pad,
                       divisor_override, x._data.dtype)
    if not isinstance(div, float):
        div = backend.to_device(div, x.device)
    out = Tensor._apply(AvgPool2d, x, kernel=k, stride=s, pads=pads, out_hw=out_hw,
                        divisor=div)
    return out.squeeze(0) if added else out


def avg_pool1d(input: Tensor, kernel_size: IntOr, stride: IntOr | None = None,
               padding: IntOr = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over sliding windows of (N, C, L) input. See ``nn.AvgPool1d``."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def avg_pool2d(input: Tensor, kernel_size: IntOr, stride: IntOr | None = None,
               padding: IntOr = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """Mean over sliding windows of (N, C, H, W) input. See ``nn.AvgPool2d``.

    Args: kernel_size; stride (default kernel_size); padding (zeros, at most half the
    kernel); ceil_mode; count_include_pad (count padded zeros in the divisor);
    divisor_override (divide every window sum by this instead).
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def _adaptive_sizes(name: str, x: Tensor, nd: int, output_size: Any) -> tuple:
    if isinstance(output_size, (list, tuple)):
        size = tuple(output_size)
        if len(size) == 1 and nd > 1:
            size = size * nd
    else:
        size = (output_size,) * nd
    if len(size) != nd:
        raise ValueError(f"{name}(): output_size must have {nd} elements, got {output_size}")
    spatial = tuple(x.shape[2:])
    size = tuple(n if o is None else int(o) for o, n in zip(size, spatial))
    if any(o < 1 for o in size):
        raise ValueError(f"{name}(): output_size must be positive, got {size}")
    if any(n < 1 for n in spatial):
        raise RuntimeError(f"{name}(): input of size {list(x.shape)} has an empty spatial dim")
    return size, spatial


def _mean_matrix(n_in: int, n_out: int, dtype: Any) -> Any:
    """(n_out, n_in) matrix averaging rows [floor(i*n/o), ceil((i+1)*n/o)) into row i."""
    i = np.arange(n_out)
    lo, hi = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
    cols = np.arange(n_in)
    inside = (cols >= lo[:, None]) & (cols < hi[:, None])
    return (inside / (hi - lo)[:, None]).astype(dtype)


def _adaptive_avg(name: str, nd: int, input: Tensor, output_size: Any) -> Tensor:
    x, added = batched(name, input, nd, floating=True)
    size, spatial = _adaptive_sizes(name, x, nd, output_size)
    dtype = x._data.dtype
    mats = [None if o == n else backend.to_device(_mean_matrix(n, o, dtype), x.device)
            for n, o in zip(spatial, size)]
    if nd == 1:
        out = Tensor._apply(Resample, x, aw=mats[0])
    else:
        out = Tensor._apply(Resample, x, ah=mats[0], aw=mats[1])
    return out.squeeze(0) if added else out


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """Mean over L_out adaptive windows of (N, C, L) input. See ``nn.AdaptiveAvgPool1d``."""
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Mean over (H_out, W_out) adaptive windows: window i covers rows
    [floor(i * H / H_out), ceil((i + 1) * H / H_out)). ``None`` keeps that input size.

    Computed as two small GEMMs (y = A_h @ x @ A_w^T). See ``nn.AdaptiveAvgPool2d``.
    Example:
        >>> F.adaptive_avg_pool2d(sg.randn(2, 8, 7, 9), (1, 1)).shape
        (2, 8, 1, 1)
    """
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def _adaptive_max(name: str, nd: int, input: Tensor, output_size: Any,
                  return_indices: bool) -> Any:
    x, added = batched(name, input, nd, floating=True)
    size, _ = _adaptive_sizes(name, x, nd, output_size)
    holder: list | None = [] if return_indices else None
    out = Tensor._apply(AdaptiveMaxPool2d, x, out_hw=(1,) * (2 - nd) + size, indices=holder)
    if added:
        out = out.squeeze(0)
    if not return_indices:
        return out
    return out, Tensor._wrap(cast(list, holder)[0].reshape(out.shape))


def adaptive_max_pool1d(input: Tensor, output_size: Any,
                        return_indices: bool = False) -> Any:
    """Max over L_out adaptive windows of (N, C, L) input. See ``nn.AdaptiveMaxPool1d``."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size: Any,
                        return_indices: bool = False) -> Any:
    """Max over (H_out, W_out) adaptive windows (as ``adaptive_avg_pool2d``); with
    ``return_indices`` also the flat argmax indices into each (H, W) plane.
    See ``nn.AdaptiveMaxPool2d``.
    """
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def _max_unpool(name: str, nd: int, input: Tensor, indices: Tensor,
                kernel_size: IntOr, stride: IntOr | None, padding: IntOr,
                output_size: Sequence[int] | None) -> Tensor:
    x, added = batched(name, input, nd, floating=True)
    idx = indices.unsqueeze(0) if added else indices
    if tuple(idx.shape) != tuple(x.shape) or idx._data.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): expected integer indices of the input's size "
                           f"{list(input.shape)}, got {list(indices.shape)} ({indices.dtype})")
    k = as_tuple(kernel_size, nd, "kernel_size")
    s = k if stride is None else as_tuple(stride, nd, "stride")
    p = as_tuple(padding, nd, "padding")
    spatial = tuple(x.shape[2:])
    size = tuple((n - 1) * ss - 2 * pp + kk for n, kk, ss, pp in zip(spatial, k, s, p))
    if output_size is not None:
        size = tuple(int(v) for v in tuple(output_size)[-nd:])
    plane = 1
    for v in size:
        plane *= v
    n, c = x.shape[:2]
    flat = idx.reshape(n, c, -1)
    if flat.numel() and (int(flat._data.min()) < 0 or int(flat._data.max()) >= plane):
        raise RuntimeError(f"{name}(): found an invalid max index {int(flat._data.max())} for "
                           f"an output of size {size} ({plane} elements per plane)")
    out = Tensor._apply(MaxUnpool, x.reshape(n, c, -1), flat, plane=plane)
    out = out.reshape((n, c) + size)
    return out.squeeze(0) if added else out


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size: IntOr,
                 stride: IntOr | None = None, padding: IntOr = 0,
                 output_size: Sequence[int] | None = None) -> Tensor:
    """Inverse of ``max_pool1d(return_indices=True)``: zeros except at the indices.
    See ``nn.MaxUnpool1d``."""
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: IntOr,
                 stride: IntOr | None = None, padding: IntOr = 0,
                 output_size: Sequence[int] | None = None) -> Tensor:
    """Inverse of ``max_pool2d(return_indices=True)``: each value goes back to its argmax
    position, zeros elsewhere. Output (H_in - 1) * stride - 2 * padding + kernel_size per
    dim unless ``output_size`` is given. See ``nn.MaxUnpool2d``."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding,
                       output_size)
