"""Statistics and scans of Tensor (a mixin): nan-aware reductions, quantiles, mode,
cumulative max/min, differences, histograms and renormalisation. Differentiable results are
gathered from the input (sort, gather), so their gradients go where PyTorch's go."""
from __future__ import annotations

import builtins
import math
from typing import Any, NamedTuple

from softgrad import backend
from softgrad.tensor_linalg import _inplace_form
from softgrad.tensor_math import norm_dim
from softgrad.tensor_select import ValuesIndices

np = backend.np
_MODES = ("linear", "lower", "higher", "midpoint", "nearest")


class MinMax(NamedTuple):
    min: Any
    max: Any


def _nan_to_zero(t: Any) -> Any:
    from softgrad.functions import where

    return where(t.isnan(), 0.0, t) if t._data.dtype.kind == "f" else t


class StatsMixin:
    """Statistical reductions and scans of Tensor."""

    __slots__ = ()

    # ------------------------------------------------------------------ nan-aware reductions
    def nansum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:
        """The sum, treating nan as zero."""
        x = self if dtype is None else self.to(dtype)
        return _nan_to_zero(x).sum(dim, keepdim)

    def nanmean(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:
        """The mean of the non-nan elements (nan where all are nan)."""
        x = self if dtype is None else self.to(dtype)
        if x._data.dtype.kind != "f":
            raise RuntimeError(f"nanmean(): expected input to have floating point or complex "
                               f"dtype but got {x.dtype.name.capitalize()}")
        count = (~x.isnan()).sum(dim, keepdim)
        return _nan_to_zero(x).sum(dim, keepdim) / count

    def aminmax(self, *, dim: Any = None, keepdim: bool = False) -> Any:
        """(min, max) over ``dim`` (all elements when None)."""
        if dim is None:
            return MinMax(self.amin(), self.amax()) if not keepdim else \
                MinMax(self.amin(tuple(range(self.ndim)), True),
                       self.amax(tuple(range(self.ndim)), True))
        return MinMax(self.amin(dim, keepdim), self.amax(dim, keepdim))

    # ------------------------------------------------------------------ quantiles
    def quantile(self, q: Any, dim: Any = None, keepdim: bool = False, *,
                 interpolation: str = "linear") -> Any:
        """The ``q``-quantiles (a float or 1-D tensor in [0, 1]) along ``dim`` (all elements
        when None); nan if a slice holds nan. A 1-D ``q`` adds a leading dim."""
        return self._quantile("quantile", q, dim, keepdim, interpolation, False)

    def nanquantile(self, q: Any, dim: Any = None, keepdim: bool = False, *,
                    interpolation: str = "linear") -> Any:
        """``quantile`` ignoring nan (nan only for all-nan slices)."""
        return self._quantile("nanquantile", q, dim, keepdim, interpolation, True)

    def _quantile(self, name: str, q: Any, dim: Any, keepdim: bool, interpolation: str,
                  skip_nan: bool) -> Any:
        from softgrad.functions import where

        if interpolation not in _MODES:
            raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, "
                               f"midpoint or nearest. Got {interpolation}")
        if self._data.dtype.kind != "f":
            raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
        scalar_q = not hasattr(q, "shape") and not isinstance(q, (list, tuple))
        qs = np.asarray(backend.to_numpy(q._data) if hasattr(q, "_data") else q,
                        dtype=np.float64).reshape(-1)
        if qs.ndim > 1 or (hasattr(q, "ndim") and q.ndim > 1):
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
        if ((qs < 0) | (qs > 1)).any():
            raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
        if hasattr(q, "ndim") and q.ndim == 0:
            scalar_q = True
        x = self.reshape(-1) if dim is None else self
        d = -1 if dim is None else norm_dim(dim, self.ndim)
        x = x.movedim(d, -1) if x.ndim else x.reshape(1)
        n = x.shape[-1]
        if n == 0:
            raise IndexError(f"{name}() input tensor must be non-empty")
        xp = backend.xp_of(x._data)
        srt = x.sort(-1).values  # nan sorts last
        nan = xp.isnan(x._data)
        valid = (n - nan.sum(axis=-1, keepdims=True)) if skip_nan else \
            xp.full(x.shape[:-1] + (1,), n)
        qa = backend.to_device(qs.astype(x._data.dtype), x.device)
        rank = qa * (xp.maximum(valid, 1) - 1)  # (..., k)
        if interpolation == "nearest":
            rank = xp.round(rank)
        lo = xp.floor(rank).astype(np.int64)
        hi = xp.minimum(xp.ceil(rank), xp.maximum(valid - 1, 0)).astype(np.int64)
        t_cls = type(self)
        v_lo = srt.gather(-1, t_cls._wrap(lo))
        v_hi = srt.gather(-1, t_cls._wrap(hi))
        if interpolation in ("lower", "nearest"):
            out = v_lo
        elif interpolation == "higher":
            out = v_hi
        elif interpolation == "midpoint":
            out = (v_lo + v_hi) * 0.5
        else:
            out = v_lo.lerp(v_hi, t_cls._wrap((rank - lo).astype(x._data.dtype)))
        bad = (valid == 0) if skip_nan else nan.any(axis=-1, keepdims=True)
        if bad.any():
            out = where(t_cls._wrap(xp.broadcast_to(bad, out.shape)), math.nan, out)
        out = out.movedim(-1, 0)  # (k, ...)
        if keepdim:
            if dim is None:
                out = out.reshape((out.shape[0],) + (1,) * self.ndim)
            else:
                out = out.unsqueeze(d + 1)
        return out.squeeze(0) if scalar_q else out

    # ------------------------------------------------------------------ mode, cummax/cummin
    def mode(self, dim: int = -1, keepdim: bool = False) -> Any:
        """The most frequent value along ``dim`` (the smallest on ties) and the index of its
        last occurrence."""
        if self.ndim == 0:
            return ValuesIndices(self.clone(), self._zeros_index(()))
        d = norm_dim(dim, self.ndim)
        data = np.moveaxis(backend.to_numpy(self._data), d, -1)
        rows = data.reshape(-1, data.shape[-1])
        idx = np.empty(rows.shape[0], dtype=np.int64)
        for i, row in enumerate(rows):
            values, counts = np.unique(row, return_counts=True)
            best = values[np.argmax(counts)]  # unique sorts: the first maximum is the smallest
            idx[i] = np.nonzero(row == best)[0][-1] if best == best else \
                np.nonzero(np.isnan(row))[0][-1]
        idx = idx.reshape(data.shape[:-1])
        idx_dev = backend.to_device(np.expand_dims(idx, d), self.device)
        values = self.gather(d, type(self)._wrap(idx_dev))
        if not keepdim:
            values, idx_dev = values.squeeze(d), backend.xp_of(idx_dev).squeeze(idx_dev, d)
        return ValuesIndices(values, type(self)._wrap(idx_dev))

    def cummax(self, dim: int) -> Any:
        """Running maximum along ``dim`` and the index where each was reached (the latest on
        ties; nan propagates)."""
        return self._cum_extreme(dim, True)

    def cummin(self, dim: int) -> Any:
        """Running minimum along ``dim`` and the index where each was reached."""
        return self._cum_extreme(dim, False)

    def _cum_extreme(self, dim: int, largest: bool) -> Any:
        if self.ndim == 0:
            return ValuesIndices(self.clone(), self._zeros_index(()))
        d = norm_dim(dim, self.ndim)
        xp = backend.xp_of(self._data)
        data = self._data
        ufunc = xp.maximum if largest else xp.minimum
        running = ufunc.accumulate(data, axis=d) if data.dtype != np.bool_ else \
            ufunc.accumulate(data.astype(np.uint8), axis=d)
        hit = (data >= running) if largest else (data <= running)
        if data.dtype.kind == "f":
            hit = hit | xp.isnan(data)
        shape = [1] * self.ndim
        shape[d] = self.shape[d]
        pos = xp.arange(self.shape[d]).reshape(shape)
        idx = xp.maximum.accumulate(xp.where(hit, pos, 0), axis=d).astype(np.int64)
        if data.dtype.kind == "f":  # after a nan, keep pointing at the first nan
            seen = xp.logical_or.accumulate(xp.isnan(data), axis=d)
            first = xp.argmax(xp.isnan(data), axis=d)
            idx = xp.where(seen, xp.expand_dims(first, d), idx)
        values = self.gather(d, type(self)._wrap(idx))
        return ValuesIndices(values, type(self)._wrap(idx))

    # ------------------------------------------------------------------ differences
    def diff(self, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> Any:
        """The n-th forward difference along ``dim`` (xor for bool tensors), after
        concatenating ``prepend`` and ``append``."""
        from softgrad.functions import cat

        if self.ndim == 0:
            raise RuntimeError("diff expects input to be at least one-dimensional")
        d = norm_dim(dim, self.ndim)
        parts = [t for t in (prepend, self, append) if t is not None]
        x = cat([self._operand(t) for t in parts], d) if len(parts) > 1 else self
        for _ in range(n):
            length = x.shape[d]
            if length == 0:
                break
            a, b = x.narrow(d, 1, length - 1), x.narrow(d, 0, length - 1)
            x = a.logical_xor(b) if x._data.dtype == np.bool_ else a - b
        return x

    # ------------------------------------------------------------------ histograms
    def histc(self, bins: int = 100, min: Any = 0, max: Any = 0) -> Any:  # noqa: A002
        """Counts of the elements in ``bins`` equal bins over [min, max] (the data's range
        when min == max); elements outside are ignored. Same dtype as the input."""
        if self._data.dtype.kind != "f":
            raise RuntimeError(f"\"histogram_cpu\" not implemented for "
                               f"'{self.dtype.name.capitalize()}'")
        if bins <= 0:
            raise RuntimeError("torch.histc(): bins must be > 0")
        data = backend.to_numpy(self._data).reshape(-1)
        lo, hi = builtins.float(min), builtins.float(max)
        if lo == hi and data.size:
            lo, hi = builtins.float(data.min()), builtins.float(data.max())
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        if lo > hi:
            raise RuntimeError("torch.histc(): max must be larger than min")
        counts, _ = np.histogram(data, bins=bins, range=(lo, hi))
        out = counts.astype(self._data.dtype)
        return type(self)._wrap(backend.to_device(out, self.device))

    # ------------------------------------------------------------------ renorm
    def renorm(self, p: float, dim: int, maxnorm: float) -> Any:
        """Scale each slice along ``dim`` whose p-norm exceeds ``maxnorm`` down to it."""
        from softgrad.functions import where

        if p <= 0:
            raise RuntimeError(f"renorm: non-positive-norm not supported, got p={p}")
        d = norm_dim(dim, self.ndim)
        others = tuple(i for i in range(self.ndim) if i != d)
        norms = self.norm(p, others, keepdim=True) if others else self.abs()
        scale = where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
        return self * scale


StatsMixin.renorm_ = _inplace_form("renorm")
