"""Spatial transformers: ``affine_grid`` and ``grid_sample`` (bilinear/trilinear or nearest,
'zeros'/'border'/'reflection' padding, ``align_corners``), for 4-D and 5-D input.

``grid_sample`` is a composition: the grid is mapped to pixel coordinates, the 2^d
neighbouring pixels are gathered (gradient to the input by scatter-add) and weighted by the
fractional parts (gradient to the grid).
"""
from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from typing import Any

from softgrad import backend
from softgrad.functions import where
from softgrad.tensor import Tensor

__all__ = ["affine_grid", "grid_sample"]


def _warn_align_corners(name: str) -> None:
    warnings.warn(f"Default {name} behavior has changed to align_corners=False since 1.3.0. "
                  "Please specify align_corners=True if the old behavior is desired. See the "
                  "documentation of grid_sample for details.", UserWarning, stacklevel=3)


def _base_coords(n: int, align_corners: bool) -> Any:
    xp = backend.np
    if n <= 1:
        return xp.zeros(max(n, 0))
    lin = xp.linspace(-1.0, 1.0, n)
    return lin if align_corners else lin * (n - 1) / n


def affine_grid(theta: Tensor, size: Sequence[int], align_corners: bool | None = None) -> Tensor:
    """Sampling grid (N, H, W, 2) (or (N, D, H, W, 3)) of the affine maps ``theta``
    (N, 2, 3) (or (N, 3, 4)) applied to the normalised output coordinates in [-1, 1].

    The last grid axis holds (x, y[, z]): x runs along W. Use with :func:`grid_sample`.
    """
    if align_corners is None:
        _warn_align_corners("affine_grid")
        align_corners = False
    size = list(size)
    d = len(size) - 2
    if d not in (2, 3):
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    if theta._data.dtype.kind != "f":
        raise ValueError(f"Expected theta to have floating point type, but got "
                         f"{theta.dtype}")
    if tuple(theta.shape) != (size[0], d, d + 1):
        raise ValueError(f"Expected a batch of {d}D affine matrices of shape Nx{d}x{d + 1} for "
                         f"size {size}. Got {list(theta.shape)}.")
    if min(size[2:]) <= 0 or size[0] <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    np = backend.np
    axes = [_base_coords(n, align_corners) for n in reversed(size[2:])]  # x (W), y (H), z
    mesh = np.meshgrid(*axes[::-1], indexing="ij")  # over (D,) H, W
    base = np.stack(list(mesh[::-1]) + [np.ones_like(mesh[0])], axis=-1)  # (..., d + 1)
    base = backend.to_device(base.reshape(-1, d + 1).astype(theta._data.dtype), theta.device)
    grid = Tensor._wrap(base) @ theta.mT  # (N, P, d)
    return grid.reshape(size[0], *size[2:], d)


def _unnormalize(g: Tensor, n: int, align_corners: bool) -> Tensor:
    if align_corners:
        return (g + 1) * ((n - 1) / 2)
    return ((g + 1) * n - 1) * 0.5


def _reflect(c: Tensor, twice_low: int, twice_high: int) -> Tensor:
    if twice_low == twice_high:
        return c * 0
    low = twice_low / 2
    span = (twice_high - twice_low) / 2
    c = (c - low).abs()
    extra = c.fmod(span)
    flips = (c / span).floor()
    even = (flips.fmod(2) == 0)
    return where(even, extra + low, -extra + (span + low))


def _source_coords(g: Tensor, n: int, padding_mode: str, align_corners: bool) -> Tensor:
    c = _unnormalize(g, n, align_corners)
    if padding_mode == "border":
        return c.clamp(0, n - 1)
    if padding_mode == "reflection":
        c = _reflect(c, 0, 2 * (n - 1)) if align_corners else _reflect(c, -1, 2 * n - 1)
        return c.clamp(0, n - 1)
    return c


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear",
                padding_mode: str = "zeros", align_corners: bool | None = None) -> Tensor:
    """Sample ``input`` at the normalised locations of ``grid``.

    Args:
        input: (N, C, H, W) or (N, C, D, H, W).
        grid: (N, Ho, Wo, 2) or (N, Do, Ho, Wo, 3); (-1, -1) is the top-left corner, x runs
            along W. Locations outside [-1, 1] follow ``padding_mode``.
        mode: 'bilinear' (trilinear for 5-D) or 'nearest'.
        padding_mode: 'zeros', 'border' or 'reflection'.
        align_corners: -1 and 1 are the centres (True) or the outer edges (False, default)
            of the corner pixels.
    Returns: (N, C, Ho, Wo) or (N, C, Do, Ho, Wo).
    """
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if mode == "bicubic":
        raise NotImplementedError("grid_sample(): mode='bicubic' is not supported; use "
                                  "'bilinear' or 'nearest'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        _warn_align_corners("grid_sample")
        align_corners = False
    d = input.dim() - 2
    if d not in (2, 3) or grid.dim() != d + 2 or grid.shape[-1] != d:
        raise RuntimeError(f"grid_sample(): expected 4D or 5D input and a grid of the same "
                           f"dimensionality with {max(d, 0)} coordinates in its last dim, "
                           f"got input {list(input.shape)} and grid {list(grid.shape)}")
    if grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"grid_sample(): expected grid and input to have same batch size, "
                           f"but got input with sizes {list(input.shape)} and grid with sizes "
                           f"{list(grid.shape)}")
    x = input._float_input()
    g = grid if grid._data.dtype == x._data.dtype else grid.to(x.dtype)
    n, c = x.shape[:2]
    sizes = tuple(x.shape[2:])  # (D,) H, W
    out_shape = tuple(g.shape[1:-1])
    pts = 1
    for s in out_shape:
        pts *= s
    flat = x.reshape(n, c, -1)
    coords = [_source_coords(g[..., d - 1 - a].reshape(n, 1, pts), sizes[a], padding_mode,
                             align_corners) for a in range(d)]  # per axis (D,) H, W
    xp = backend.xp_of(x._data)
    strides = [1] * d
    for a in range(d - 2, -1, -1):
        strides[a] = strides[a + 1] * sizes[a + 1]

    def gather(idx: list) -> tuple:
        """Values at integer positions ``idx`` (arrays per axis) and their in-range mask."""
        inside = xp.ones(idx[0].shape, dtype=bool)
        lin = xp.zeros(idx[0].shape, dtype=xp.int64)
        for a in range(d):
            inside &= (idx[a] >= 0) & (idx[a] < sizes[a])
            lin += xp.clip(idx[a], 0, sizes[a] - 1).astype(xp.int64) * strides[a]
        vals = flat.gather(2, Tensor._wrap(xp.broadcast_to(lin, (n, c, pts))))
        return vals, inside

    if mode == "nearest":
        idx = [xp.round(cd._data).astype(xp.int64) for cd in coords]  # half to even
        vals, inside = gather(idx)
        out = vals * Tensor._wrap(inside.astype(x._data.dtype))
        return out.reshape(n, c, *out_shape)
    lows = [cd.floor() for cd in coords]
    fracs = [cd - lo for cd, lo in zip(coords, lows)]
    out = None
    for corner in itertools.product((0, 1), repeat=d):
        idx = [lo._data.astype(xp.int64) + k for lo, k in zip(lows, corner)]
        vals, inside = gather(idx)
        w = Tensor._wrap(inside.astype(x._data.dtype))
        for f, k in zip(fracs, corner):
            w = w * (f if k else 1 - f)
        term = vals * w
        out = term if out is None else out + term
    return out.reshape(n, c, *out_shape)

