"""Sparse COO tensors, stored dense: ``sparse_coo_tensor``, ``Tensor.to_sparse``, ``spmm``.

softgrad has no sparse storage. ``sparse_coo_tensor(indices, values, size)`` builds the dense
tensor those entries describe (repeated indices add up, as ``coalesce`` would), and the
sparse operations (``sparse.mm``, ``spmm``, ``sparse @ dense``) are the dense ones, so
results and gradients equal PyTorch's; memory grows with the full size, which suits the
small graphs of examples (a GCN on a few thousand nodes), not large sparse problems.
"""
from __future__ import annotations

from typing import Any

from softgrad import backend, creation
from softgrad.tensor.arrays import array_from
from softgrad.tensor.core import Tensor

__all__ = ["addmm", "mm", "sparse_coo_tensor", "spmm", "sum"]


def sparse_coo_tensor(indices: Any, values: Any, size: Any = None, *, dtype: Any = None,
                      device: Any = None, pin_memory: bool = False, requires_grad: bool = False,
                      check_invariants: bool | None = None,
                      is_coalesced: bool | None = None) -> Tensor:
    """The (dense) tensor with ``values[k]`` at ``indices[:, k]``.

    Shape: indices (ndim, nnz) integer, values (nnz, *dense) -> ``size`` (default: one past
    the largest index in each dimension, then the dense dimensions of ``values``).
    """
    idx = indices if isinstance(indices, Tensor) else Tensor._wrap(array_from(indices, None))
    vals = values if isinstance(values, Tensor) else Tensor._wrap(array_from(values, dtype))
    if idx.ndim != 2 or idx._data.dtype.kind not in "iu":
        raise RuntimeError(f"sparse_coo_tensor: indices must be an (ndim, nnz) integer tensor, "
                           f"got shape {tuple(idx.shape)} and dtype {idx.dtype}")
    ndim, nnz = idx.shape
    if vals.ndim < 1 or vals.shape[0] != nnz:
        raise RuntimeError(f"sparse_coo_tensor: indices have {nnz} entries but values have "
                           f"shape {tuple(vals.shape)}")
    raw = backend.to_numpy(idx._data)
    if size is None:
        size = tuple(int(raw[d].max()) + 1 if nnz else 0 for d in range(ndim)) \
            + tuple(vals.shape[1:])
    size = tuple(int(s) for s in size)
    if len(size) != ndim + vals.ndim - 1:
        raise RuntimeError(f"sparse_coo_tensor: size {list(size)} has {len(size)} dimensions; "
                           f"indices give {ndim} sparse and values {vals.ndim - 1} dense ones")
    if nnz and ((raw < 0).any() or any(raw[d].max() >= size[d] for d in range(ndim))):
        raise RuntimeError(f"sparse_coo_tensor: an index is out of range for size {list(size)}")
    if dtype is not None:
        vals = vals.to(dtype)
    out = creation.zeros(*size, dtype=vals.dtype, device=device or vals.device)
    key = tuple(Tensor._wrap(backend.to_device(raw[d], out.device)) for d in range(ndim))
    out = out.index_put(key, vals, accumulate=True)
    if requires_grad:
        out = out.detach().requires_grad_()
    return out


def mm(mat1: Tensor, mat2: Tensor) -> Tensor:
    """``mat1 @ mat2`` (either may be a tensor made by ``sparse_coo_tensor``)."""
    return mat1 @ mat2


spmm = mm


def addmm(mat: Tensor, mat1: Tensor, mat2: Tensor, *, beta: float = 1.0,
          alpha: float = 1.0) -> Tensor:
    """``beta * mat + alpha * (mat1 @ mat2)``."""
    return mat * beta + (mat1 @ mat2) * alpha


def sum(input: Tensor, dim: Any = None, dtype: Any = None) -> Tensor:
    """The sum of all entries, or over ``dim``."""
    out = input.sum() if dim is None else input.sum(dim)
    return out if dtype is None else out.to(dtype)
