"""``softgrad.testing.assert_close``: PyTorch's closeness check for tensors and containers.

Defaults follow PyTorch: ``rtol``/``atol`` by dtype (float32 1.3e-6/1e-5, float64 1e-7/1e-7,
float16 1e-3/1e-5, bfloat16 1.6e-2/1e-5, exact for integers and bools), dtypes must match
unless ``check_dtype=False``, and nested sequences and mappings are compared item by item.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Callable
from typing import Any

from softgrad import backend, dtypes
from softgrad.tensor import Tensor

np = backend.np
__all__ = ["assert_close"]

_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
               "float64": (1e-7, 1e-7)}


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True,
                 rtol: float | None = None, atol: float | None = None,
                 equal_nan: bool = False, check_device: bool = True, check_dtype: bool = True,
                 check_layout: bool = True, check_stride: bool = False,
                 msg: str | Callable[[str], str] | None = None) -> None:
    """Raise ``AssertionError`` unless ``|actual - expected| <= atol + rtol * |expected|``
    everywhere (and shapes, dtypes and devices agree); see the module docstring."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but "
                         f"got no {'rtol' if rtol is None else 'atol'}.")
    _compare(actual, expected, (), rtol, atol, equal_nan, check_device, check_dtype, msg)


def _compare(actual: Any, expected: Any, path: tuple, rtol: Any, atol: Any, equal_nan: bool,
             check_device: bool, check_dtype: bool, msg: Any) -> None:
    where = "".join(f"[{p!r}]" for p in path)
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        if set(actual) != set(expected):
            _fail(f"The keys of the mappings{where} do not match: {sorted(map(str, actual))} "
                  f"!= {sorted(map(str, expected))}", msg)
        for k in expected:
            _compare(actual[k], expected[k], path + (k,), rtol, atol, equal_nan, check_device,
                     check_dtype, msg)
        return
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            _fail(f"The length of the sequences{where} mismatch: {len(actual)} != "
                  f"{len(expected)}", msg)
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, path + (i,), rtol, atol, equal_nan, check_device, check_dtype, msg)
        return
    a, a_dtype, a_dev = _unpack(actual)
    e, e_dtype, e_dev = _unpack(expected)
    if a.shape != e.shape:
        _fail(f"The values for attribute 'shape' do not match{where}: {a.shape} != {e.shape}.",
              msg)
    if check_dtype and a_dtype != e_dtype:
        _fail(f"The values for attribute 'dtype' do not match{where}: {a_dtype} != {e_dtype}.",
              msg)
    if check_device and a_dev != e_dev:
        _fail(f"The values for attribute 'device' do not match{where}: {a_dev} != {e_dev}.",
              msg)
    name = str(e_dtype).rsplit(".", 1)[-1]
    default_rtol, default_atol = _TOLERANCES.get(name, (0.0, 0.0))
    rt = default_rtol if rtol is None else rtol
    at = default_atol if atol is None else atol
    a64 = a.astype(np.float64) if a.dtype.kind not in "b" else a
    e64 = e.astype(np.float64) if e.dtype.kind not in "b" else e
    ok = np.isclose(a64, e64, rtol=rt, atol=at, equal_nan=equal_nan)
    if not ok.all():
        bad = int((~ok).sum())
        diff = np.abs(a64.astype(np.float64) - e64.astype(np.float64))
        worst = tuple(int(i) for i in np.unravel_index(
            int(np.nanargmax(np.where(ok, -1, diff))), diff.shape)) if diff.ndim else ()
        _fail(f"Tensor-likes are not close!{where}\n\nMismatched elements: {bad} / {ok.size} "
              f"({100 * bad / max(ok.size, 1):.1f}%)\nGreatest absolute difference: "
              f"{float(np.nanmax(np.where(ok, 0, diff)))} at index {worst} (up to {at} "
              f"allowed)", msg)


def _is_sequence(x: Any) -> bool:
    return isinstance(x, Sequence) and not isinstance(x, (str, bytes))


def _unpack(x: Any) -> tuple:
    if isinstance(x, Tensor):
        return backend.to_numpy(x._data), x.dtype, str(x.device)
    arr = np.asarray(x)
    if not isinstance(x, np.ndarray):  # Python numbers compare by value, as in PyTorch
        arr = arr.astype(np.float64) if arr.dtype.kind == "f" else arr
    return arr, dtypes.from_np(arr.dtype), "cpu"


def _fail(text: str, msg: Any) -> None:
    if callable(msg):
        text = msg(text)
    elif msg is not None:
        text = msg
    raise AssertionError(text)
