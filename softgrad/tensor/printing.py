"""How a Tensor prints: PyTorch's layout and number formatting, and ``set_printoptions``.

A float tensor prints all its elements with one format chosen from the nonzero finite values:
whole numbers as ``1.``, values spanning more than three decades (or above 1e8, or below 1e-4)
in scientific notation, others with ``precision`` decimals; every element is padded to the
widest. Tensors with more than ``threshold`` elements show ``edgeitems`` rows and columns at
each end around ``...``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator
from typing import Any

from softgrad import backend

np = backend.np


@dataclasses.dataclass
class PrintOptions:
    """The options ``set_printoptions`` changes (PyTorch's defaults)."""

    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


OPTIONS = PrintOptions()
_PROFILES: dict[str, dict[str, Any]] = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80}}


def set_printoptions(precision: int | None = None, threshold: float | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Set how tensors print.

    Args:
        precision: digits after the decimal point (default 4).
        threshold: more elements than this are summarised with ``...`` (default 1000).
        edgeitems: items kept at each end of a summarised dimension (default 3).
        linewidth: characters per line before wrapping (default 80).
        profile: ``'default'``, ``'short'`` or ``'full'``, applied before the other options.
        sci_mode: force (True) or forbid (False) scientific notation; None chooses.
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, "
                             f"got {profile!r}")
        for key, value in _PROFILES[profile].items():
            setattr(OPTIONS, key, value)
    for key, value in (("precision", precision), ("threshold", threshold),
                       ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            setattr(OPTIONS, key, value)
    OPTIONS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """The current print options, as keyword arguments for ``set_printoptions``."""
    return dataclasses.asdict(OPTIONS)


@contextlib.contextmanager
def printoptions(**kwargs: Any) -> Iterator[None]:
    """Change the print options inside a ``with`` block."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Formatter:
    """One number format for every element of an array, padded to a common width."""

    def __init__(self, values: Any) -> None:
        self.floating = values.dtype.kind in "fc"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        flat = values.reshape(-1)
        if not self.floating:
            self.width = max([len(_plain(v)) for v in flat.tolist()] + [1])
            return
        wide = flat.astype(np.float64)
        finite = wide[np.isfinite(wide) & (wide != 0)]
        if finite.size == 0:
            return
        mags = np.abs(finite)
        lo, hi = float(mags.min()), float(mags.max())
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        self.sci_mode = (hi / lo > 1000.0 or hi > 1e8 or lo < 1e-4
                         if OPTIONS.sci_mode is None else OPTIONS.sci_mode)
        p = OPTIONS.precision
        if self.sci_mode:
            texts = [f"{v:.{p}e}" for v in finite.tolist()]
        elif self.int_mode:
            texts = [f"{v:.0f}." for v in finite.tolist()]
        else:
            texts = [f"{v:.{p}f}" for v in finite.tolist()]
        self.width = max(len(t) for t in texts)

    def format(self, value: Any) -> str:
        if not self.floating:
            text = _plain(value)
        elif self.sci_mode:
            text = f"{value:{self.width}.{OPTIONS.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{OPTIONS.precision}f}"
        return text.rjust(self.width)


def _plain(value: Any) -> str:
    return str(value)


def _summarised(arr: Any) -> Any:
    """The elements that a summarised print shows (edge items of every dimension)."""
    k = OPTIONS.edgeitems
    for axis in range(arr.ndim):
        if arr.shape[axis] > 2 * k:
            index = list(range(k)) + list(range(arr.shape[axis] - k, arr.shape[axis]))
            arr = np.take(arr, index, axis=axis)
    return arr


def _vector(arr: Any, indent: int, summarise: bool, fmt: _Formatter) -> str:
    per_line = max(1, (OPTIONS.linewidth - indent) // (fmt.width + 2))
    k = OPTIONS.edgeitems
    if summarise and arr.shape[0] > 2 * k:
        items = ([fmt.format(v) for v in arr[:k].tolist()] + [" ..."]
                 + [fmt.format(v) for v in arr[-k:].tolist()])
    else:
        items = [fmt.format(v) for v in arr.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(arr: Any, indent: int, summarise: bool, fmt: _Formatter) -> str:
    if arr.ndim == 0:
        return fmt.format(arr.item())
    if arr.ndim == 1:
        return _vector(arr, indent, summarise, fmt)
    k, n = OPTIONS.edgeitems, arr.shape[0]
    if summarise and n > 2 * k:
        parts = ([_nested(arr[i], indent + 1, summarise, fmt) for i in range(k)] + ["..."]
                 + [_nested(arr[i], indent + 1, summarise, fmt) for i in range(n - k, n)])
    else:
        parts = [_nested(arr[i], indent + 1, summarise, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def array_str(arr: Any, indent: int) -> str:
    """The bracketed body of a tensor's repr, for a NumPy array ``arr``."""
    if arr.size == 0:
        return "[]"
    if arr.dtype.kind not in "biuf" or (arr.dtype.kind == "f" and arr.dtype.itemsize < 4):
        arr = arr.astype(np.float32)  # float16 / bfloat16 values print as their float32
    summarise = arr.size > OPTIONS.threshold
    fmt = _Formatter(_summarised(arr) if summarise else arr)
    return _nested(arr, indent, summarise, fmt)


def _add_suffixes(body: str, suffixes: list[str], indent: int) -> str:
    parts = [body]
    last = len(body) - body.rfind("\n") + 1
    for suffix in suffixes:
        if last + len(suffix) + 2 > OPTIONS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last += len(suffix) + 2
    return "".join(parts) + ")"


def tensor_repr(t: Any, prefix: str = "tensor(") -> str:
    """``repr(t)`` in PyTorch's layout: values, then dtype/device/grad_fn where they are not
    the defaults."""
    arr = backend.to_numpy(t._data)
    indent = len(prefix)
    suffixes = []
    if backend.device_of(t._data) != "cpu":
        suffixes.append(f"device='{t.device}'")
    default = arr.dtype in (backend.DEFAULT_DTYPE, np.int64, np.bool_)
    if arr.size == 0:
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        if arr.dtype != backend.DEFAULT_DTYPE:
            suffixes.append(f"dtype={t.dtype!r}")
    elif not default:
        suffixes.append(f"dtype={t.dtype!r}")
    if t._ctx is not None:
        suffixes.append(f"grad_fn={t._ctx!r}")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + array_str(arr, indent), suffixes, indent)
