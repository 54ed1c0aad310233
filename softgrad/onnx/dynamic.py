"""A second, probing trace: which sizes follow the dynamic axes, and what would be frozen.

Traced shapes and values are concrete. The forward is traced again on a probe input: the
example's values in reverse order, with every dynamic axis longer. Dims that changed follow
the dynamic axes, so ``Reshape``/``Expand`` targets are built from the inputs' runtime
shapes. Anything else that changed (a parameter such as a slice bound or an index array, a
constant computed outside the traced primitives, a branch) depends on the input and would be
frozen into the file, so it is refused with an error naming the layer.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from softgrad import backend
from softgrad.onnx.tracer import ExportError, TracedGraph
from softgrad.tensor import Tensor

np = backend.np

# parameters whose change with the input size the converters handle (runtime shapes)
_SIZE_PARAMS = {("Reshape", "shape"), ("Expand", "shape"), ("MaxPool2d", "out_hw"),
                ("AvgPool2d", "out_hw"), ("ConvTranspose2d", "out_hw"), ("Getitem", "index"),
                # lists the primitive fills with its own results (return_indices)
                ("MaxPool2d", "indices"), ("AdaptiveMaxPool2d", "indices")}


def normalize(dynamic_axes: Mapping[str, Any], shapes: Mapping[str, tuple]) -> dict:
    """``{name: {axis: label}}`` with non-negative axes, from dicts or lists of axes."""
    out: dict[str, dict[int, str]] = {}
    for name, spec in dynamic_axes.items():
        if name not in shapes:
            raise ValueError(f"dynamic_axes names {name!r}, which is not among the inputs or "
                             f"outputs {sorted(shapes)}")
        nd = len(shapes[name])
        items = spec.items() if isinstance(spec, Mapping) else ((a, None) for a in spec)
        axes: dict[int, str] = {}
        for a, label in items:
            if not -nd <= int(a) < max(nd, 1) or nd == 0:
                raise ValueError(f"dynamic axis {a} is out of range for {name!r} of shape "
                                 f"{shapes[name]}")
            a = int(a) % nd
            axes[a] = str(label) if label is not None else f"{name}_dim{a}"
        out[name] = axes
    return out


def probe_inputs(args: Sequence[Tensor], names: Sequence[str],
                 axes: Mapping[str, Mapping[int, str]]) -> tuple[tuple, dict]:
    """Copies of ``args`` with their values in reverse order (floats also scaled by -1.375 and
    shifted by 0.3125) and every dynamic axis longer
    (by 1 for the first label, 2 for the second, ...; values are repeated cyclically, so
    indices stay valid), and a map from ``(size, probe size)`` to the ``(input name, axis)``
    it comes from."""
    labels: dict[str, int] = {}
    sources: dict[tuple[int, int], tuple[str, int]] = {}
    out = []
    for name, t in zip(names, args):
        arr = backend.to_numpy(t._data)
        for a, label in sorted(axes.get(name, {}).items()):
            inc = labels.setdefault(label, len(labels) + 1)
            n1 = arr.shape[a]
            if n1 == 0:
                raise ValueError(f"dynamic axis {a} of {name!r} has size 0 in example_input")
            n2 = n1 + inc
            arr = np.take(arr, np.arange(n2) % n1, axis=a)
            sources.setdefault((n1, n2), (name, a))
        arr = arr.reshape(-1)[::-1].reshape(arr.shape)
        if arr.dtype.kind == "f":  # also move the values: signs and order both change
            arr = (arr * -1.375 + 0.3125).astype(arr.dtype)
        out.append(Tensor._wrap(backend.to_device(np.ascontiguousarray(arr), t.device)))
    return tuple(out), sources


def _same(a: Any, b: Any, arrays: bool) -> bool:
    """Equal parameters; arrays are compared only when ``arrays`` (same input shapes)."""
    if hasattr(a, "shape") or hasattr(b, "shape"):
        if not arrays:
            return True  # size-derived arrays (resampling matrices) are the converters' job
        try:
            return a.shape == b.shape and bool(np.array_equal(backend.to_numpy(a),
                                                              backend.to_numpy(b)))
        except (AttributeError, TypeError, ValueError):
            return True
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y, arrays) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], arrays) for k in a)
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):  # objects without a plain equality: not sizes
        return True


def merge(first: TracedGraph, second: TracedGraph) -> None:
    """Record the probe trace's shapes on ``first``'s nodes; raise where it shows that the
    file would freeze something that depends on the input."""
    for a, b in zip(first.nodes, second.nodes):
        if a.op != b.op or len(a.inputs) != len(b.inputs):
            raise ExportError(f"cannot export: the forward runs different ops for another "
                              f"input ({a.where()} became {b.where()}); it branches on the "
                              "input's values or size")
        static = a.in_shapes == b.in_shapes
        for k, v in a.params.items():
            if (a.op, k) in _SIZE_PARAMS or k in a.links:
                continue
            if not _same(v, b.params.get(k), static):  # raised after conversion, as below
                first.frozen.append(f"cannot export {a.where()}: its parameter {k}="
                                    f"{_short(v)} becomes {_short(b.params.get(k))} for another "
                                    "input (computed outside softgrad's traced ops), and would "
                                    "be frozen into the file")
        a.alt_in_shapes, a.alt_out_shape, a.alt_params = list(b.in_shapes), b.out_shape, \
            b.params
    if len(first.nodes) != len(second.nodes):
        raise ExportError("cannot export: the forward runs a different number of ops for "
                          "another input; it branches on the input's values or size")
    for name, arr in first.constants.items():
        other: Any = second.constants.get(name)
        if other is not None and other.shape != arr.shape and _uniform(arr, other):
            first.fills[name] = (other.shape, None)  # e.g. zero initial states
            continue
        tri = _triangular(arr, other) if other is not None and other.shape != arr.shape \
            else None
        if tri is not None:
            first.fills[name] = (other.shape, tri)  # e.g. a causal mask sized by the sequence
            continue
        if other is None or other.shape != arr.shape or not np.array_equal(
                arr, other, equal_nan=arr.dtype.kind == "f"):
            first.frozen.append(  # raised after conversion, whose errors are more specific
                f"cannot export: a constant of shape {list(arr.shape)} used by "
                f"{first.const_where.get(name, 'the model')} depends on the input's size or "
                "values (or on random numbers); it was computed outside softgrad's traced ops "
                "(e.g. from .numpy(), .shape arithmetic or a comparison) and would be frozen "
                "into the file")


def _triangular(a: Any, b: Any) -> tuple | None:
    """``(k, low, high)`` when both 2-D arrays are ``where(tril(ones, k), low, high)``."""
    if a.ndim != 2 or b.ndim != 2 or a.dtype != b.dtype or 0 in a.shape or 0 in b.shape:
        return None
    low, high = a[-1, 0], a[0, -1]
    if low == high or not (low == low and high == high):  # uniform, or NaN
        return None
    k = int((a[0] == low).sum()) - 1
    for arr in (a, b):
        rows, cols = arr.shape
        want = np.where(np.tri(rows, cols, k, dtype=bool), low, high).astype(arr.dtype)
        if not np.array_equal(arr, want):
            return None
    return k, low, high


def _short(v: Any) -> str:
    if hasattr(v, "shape"):
        return f"<array of shape {tuple(v.shape)}>"
    text = repr(v)
    return text if len(text) < 80 else text[:77] + "..."


def _uniform(a: Any, b: Any) -> bool:
    """Both arrays hold one and the same value everywhere (and are not empty)."""
    if a.size == 0 or b.size == 0 or a.dtype != b.dtype or a.ndim != b.ndim:
        return False
    v = a.reshape(-1)[0]
    return bool((a == v).all() and (b == v).all())


def output_axes(first: TracedGraph, second: TracedGraph, out_names: Sequence[str],
                axes: dict) -> None:
    """Label output dims whose size changed but that the caller did not list."""
    for name, (_, s1, _), (_, s2, _) in zip(out_names, first.outputs, second.outputs):
        for i, (n1, n2) in enumerate(zip(s1, s2)):
            if n1 != n2:
                axes.setdefault(name, {}).setdefault(i, f"{name}_dim{i}")
