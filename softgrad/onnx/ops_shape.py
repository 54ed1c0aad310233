"""ONNX converters for shape primitives: reshape, permute, expand, indexing, concatenation.

Shapes recorded by the trace are concrete. So that dynamic axes (a variable batch) keep
working, a reshape copies leading dims that equal the input's (ONNX ``0``) and infers the
first remaining one (``-1``); an expand keeps the input's own dims (``1`` in the target).
"""
from __future__ import annotations

from softgrad import backend
from softgrad.onnx.builder import Builder, converter
from softgrad.onnx.tracer import TraceNode

np = backend.np

_INT64_MAX, _INT64_MIN = 2 ** 63 - 1, -2 ** 63


def reshape_spec(in_shape: tuple, out_shape: tuple) -> list[int]:
    """The ONNX Reshape target: ``0`` for copied leading dims, one ``-1``, the rest fixed."""
    spec: list[int] = []
    prefix = True
    for i, n in enumerate(out_shape):
        if prefix and i < len(in_shape) and in_shape[i] == n and n != 0:
            spec.append(0)
            continue
        prefix = False
        spec.append(int(n))
    if 0 not in out_shape:  # with an empty dim, -1 is ambiguous: keep the sizes
        for i, n in enumerate(spec):
            if n != 0:
                spec[i] = -1
                break
    return spec


@converter("Reshape")
def _reshape(b: Builder, node: TraceNode, ins: list[str]) -> str:
    if node.in_shapes[0] == node.out_shape:
        return ins[0]
    return b.op("Reshape", [ins[0], b.ints(reshape_spec(node.in_shapes[0], node.out_shape),
                                           "shape")])


@converter("Permute")
def _permute(b: Builder, node: TraceNode, ins: list[str]) -> str:
    return b.op("Transpose", ins, perm=[int(a) for a in node.params["axes"]])


@converter("Expand")
def _expand(b: Builder, node: TraceNode, ins: list[str]) -> str:
    in_shape, out = node.in_shapes[0], node.out_shape
    if in_shape == out:
        return ins[0]
    pad = (1,) * (len(out) - len(in_shape)) + tuple(in_shape)
    target = [1 if p == n else int(n) for p, n in zip(pad, out)]
    return b.op("Expand", [ins[0], b.ints(target, "shape")])


@converter("Cat")
def _cat(b: Builder, node: TraceNode, ins: list[str]) -> str:
    return b.op("Concat", ins, axis=int(node.params.get("axis", 0)))


def _index_items(index: object, ndim: int) -> list:
    items = list(index) if type(index) is tuple else [index]
    n_real = sum(1 for it in items if it is not None and it is not Ellipsis)
    out: list = []
    for it in items:
        if it is Ellipsis:
            out.extend([slice(None)] * (ndim - n_real))
        else:
            out.append(it)
    if Ellipsis not in items:
        out.extend([slice(None)] * (ndim - n_real))
    return out


@converter("Getitem")
def _getitem(b: Builder, node: TraceNode, ins: list[str]) -> str:
    items = _index_items(node.params.get("index"), len(node.in_shapes[0]))
    starts, ends, axes, steps, gathers, news = [], [], [], [], [], []
    axis = out_axis = 0
    for it in items:
        if it is None:
            news.append(out_axis)
            out_axis += 1
        elif isinstance(it, slice):
            if it != slice(None):
                step = 1 if it.step is None else int(it.step)
                starts.append((0 if step > 0 else -1) if it.start is None else int(it.start))
                ends.append((_INT64_MAX if step > 0 else _INT64_MIN) if it.stop is None
                            else int(it.stop))
                axes.append(axis)
                steps.append(step)
            axis += 1
            out_axis += 1
        elif isinstance(it, (int, np.integer)) and not isinstance(it, bool):
            gathers.append((axis, int(it)))
            axis += 1
        elif hasattr(it, "shape") and getattr(it, "dtype", None) is not None and \
                it.dtype.kind in "iu" and it.ndim == 1 and len(gathers) == 0 and \
                sum(1 for j in items if hasattr(j, "shape")) == 1:
            gathers.append((axis, np.asarray(backend.to_numpy(it), dtype=np.int64)))
            axis += 1
            out_axis += 1
        else:
            raise b.unsupported(node, f"indexing with {type(it).__name__} (only ints, slices, "
                                "None, ... and one 1-D integer index array are exported)")
    if len(gathers) > 1 and any(not isinstance(g[1], int) for g in gathers):
        raise b.unsupported(node, "indexing that mixes an index array with integers")
    x = ins[0]
    if axes:
        x = b.op("Slice", [x, b.ints(starts, "starts"), b.ints(ends, "ends"),
                           b.ints(axes, "axes"), b.ints(steps, "steps")])
    for ax, idx in sorted(gathers, key=lambda g: -g[0]):
        x = b.op("Gather", [x, b.const(np.asarray(idx, dtype=np.int64), "index")], axis=ax)
    if news:
        x = b.op("Unsqueeze", [x, b.ints(news, "axes")])
    if x is ins[0]:
        x = b.op("Identity", [x])
    return x
