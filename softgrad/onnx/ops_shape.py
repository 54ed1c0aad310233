"""ONNX converters for shape primitives: reshape, permute, expand, indexing, concatenation.

Shapes recorded by the trace are concrete. A dim that follows a dynamic axis (it differs in
the second trace, see ``dynamic.py``) is copied from the input (ONNX ``0``), read from a graph
input's runtime shape, or inferred (``-1``, once per reshape).
"""
from __future__ import annotations

from typing import Any

from softgrad import backend
from softgrad.onnx.builder import Builder, converter
from softgrad.onnx.tracer import TraceNode

np = backend.np

_INT64_MAX, _INT64_MIN = 2 ** 63 - 1, -2 ** 63


@converter("Reshape")
def _reshape(b: Builder, node: TraceNode, ins: list[str]) -> str:
    (s1,), (s2,), o1, o2 = node.in_shapes, node.alt_in_shapes, node.out_shape, node.alt_out_shape
    if s1 == o1 and s2 == o2:
        return ins[0]
    pieces: list = []
    inferred = False
    prefix = True
    for i, (n1, n2) in enumerate(zip(o1, o2)):
        same_as_input = i < len(s1) and s1[i] == n1 and s2[i] == n2
        prefix = prefix and same_as_input
        if n1 == n2 and n1 != 0:
            pieces.append(int(n1))
        elif prefix:
            pieces.append(0)
        elif b.dim(n1, n2) is not None:
            pieces.append(b.dim(n1, n2))
        elif not inferred:
            pieces.append(-1)
            inferred = True
        else:
            raise b.unsupported(node, f"reshape {s1} -> {o1} has more than one size that "
                                "follows the dynamic axes in a way softgrad cannot express")
    return b.op("Reshape", [ins[0], b.shape_value(pieces)])


@converter("Permute")
def _permute(b: Builder, node: TraceNode, ins: list[str]) -> str:
    return b.op("Transpose", ins, perm=[int(a) for a in node.params["axes"]])


@converter("Expand")
def _expand(b: Builder, node: TraceNode, ins: list[str]) -> str:
    (s1,), (s2,), o1, o2 = node.in_shapes, node.alt_in_shapes, node.out_shape, node.alt_out_shape
    if s1 == o1 and s2 == o2:
        return ins[0]
    pad1 = (1,) * (len(o1) - len(s1)) + tuple(s1)
    pad2 = (1,) * (len(o2) - len(s2)) + tuple(s2)
    pieces: list = []
    for p1, p2, n1, n2 in zip(pad1, pad2, o1, o2):
        if p1 == n1 and p2 == n2:
            pieces.append(1)  # the input's own size, whatever it is at run time
        elif n1 == n2:
            pieces.append(int(n1))
        elif b.dim(n1, n2) is not None:
            pieces.append(b.dim(n1, n2))
        else:
            raise b.unsupported(node, f"expand {s1} -> {o1} to a size that follows the "
                                "dynamic axes but matches no input dim")
    return b.op("Expand", [ins[0], b.shape_value(pieces)])


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


def _from_end(b: Builder, node: TraceNode, v1: int | None, v2: int | None, n1: int,
              n2: int) -> int | str | None:
    """An index/bound that follows a dynamic size: an offset from the end (ONNX negative
    index), the end itself, or an input's dim read at run time (e.g. ``pe[:, :x.size(1)]``);
    unchanged when both traces agree."""
    if v1 == v2:
        return v1
    if v1 is not None and v2 is not None and v1 >= 0 and v2 >= 0:
        if n1 - v1 == n2 - v2:
            k = n1 - v1
            return -k if k > 0 else _INT64_MAX  # k == 0: the end itself
        dim = b.dim(v1, v2)
        if dim is not None:
            return dim
    raise b.unsupported(node, f"index {v1!r} becomes {v2!r} when the dynamic axes change, "
                        "which is neither a fixed offset from an end nor an input's size")


def _resolved(b: Builder, node: TraceNode) -> list:
    """Index items of the first trace, with sizes that follow dynamic axes made relative."""
    nd = len(node.in_shapes[0])
    items = _index_items(node.params.get("index"), nd)
    alt = _index_items(node.alt_params.get("index"), nd)
    if len(items) != len(alt):
        raise b.unsupported(node, "the index changes structure with the input size")
    out: list[Any] = []
    axis = 0
    for it, it2 in zip(items, alt):
        if it is None:
            out.append(it)
            continue
        n1, n2 = node.in_shapes[0][axis], node.alt_in_shapes[0][axis]
        if isinstance(it, slice) and isinstance(it2, slice):
            if it.step != it2.step:
                raise b.unsupported(node, "a slice step that follows the input size")
            it = slice(_from_end(b, node, it.start, it2.start, n1, n2),
                       _from_end(b, node, it.stop, it2.stop, n1, n2), it.step)
        elif isinstance(it, (int, np.integer)) and isinstance(it2, (int, np.integer)) and \
                not isinstance(it, bool):
            it = _from_end(b, node, int(it), int(it2), n1, n2)
            if isinstance(it, str):
                raise b.unsupported(node, "an integer index that equals an input's size")
        out.append(it)
        axis += 1
    return out


def _bound(v: Any) -> int | str:
    return v if isinstance(v, str) else int(v)  # a str names a runtime (1,) value


@converter("Getitem")
def _getitem(b: Builder, node: TraceNode, ins: list[str]) -> str:
    index: Any = node.params.get("index")
    if "index" in node.links and getattr(index, "dtype", None) is not None:
        if index.dtype.kind not in "iu":  # x[t] with a traced integer tensor t: rows of x
            raise b.unsupported(node, "indexing with a boolean mask tensor")
        return b.op("Gather", [ins[0], node.links["index"]], axis=0)
    items = _resolved(b, node)
    starts, ends, axes, steps, news = [], [], [], [], []
    gathers: list[tuple[int, Any]] = []
    axis = out_axis = 0
    for it in items:
        if it is None:
            news.append(out_axis)
            out_axis += 1
        elif isinstance(it, slice):
            if it != slice(None):
                step = 1 if it.step is None else int(it.step)
                starts.append((0 if step > 0 else -1) if it.start is None else _bound(it.start))
                ends.append((_INT64_MAX if step > 0 else _INT64_MIN) if it.stop is None
                            else _bound(it.stop))
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
        x = b.op("Slice", [x, b.shape_value(starts), b.shape_value(ends),
                           b.ints(axes, "axes"), b.ints(steps, "steps")])
    for ax, idx in sorted(gathers, key=lambda g: -g[0]):
        x = b.op("Gather", [x, b.const(np.asarray(idx, dtype=np.int64), "index")], axis=ax)
    if news:
        x = b.op("Unsqueeze", [x, b.ints(news, "axes")])
    if x is ins[0]:
        x = b.op("Identity", [x])
    return x
