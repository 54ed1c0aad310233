"""ONNX converters for the less common primitives: rounding, integer division, cumulative
sums, flips, rolls, gather/scatter, products and norms, device moves."""
from __future__ import annotations

from softgrad import backend
from softgrad.onnx.builder import Builder, axes_of, converter
from softgrad.onnx.tracer import TraceNode

np = backend.np

_INT64_MAX, _INT64_MIN = 2 ** 63 - 1, -2 ** 63
_ROUNDING = {"sign": "Sign", "floor": "Floor", "ceil": "Ceil", "round": "Round"}


@converter("ZeroGrad")
def _rounding(b: Builder, node: TraceNode, ins: list[str]) -> str:
    fn, decimals = node.params.get("fn", "sign"), int(node.params.get("decimals", 0))
    if fn not in _ROUNDING:
        raise b.unsupported(node, f"rounding function {fn!r}")
    if fn == "round" and decimals:  # round half to even at 10^-decimals, as NumPy
        scale = b.scalar(10.0 ** decimals, node.in_dtypes[0])
        return b.op("Div", [b.op("Round", [b.op("Mul", [ins[0], scale])]), scale])
    return b.op(_ROUNDING[fn], ins)


def _float_operands(b: Builder, node: TraceNode, what: str) -> None:
    if any(np.dtype(d).kind != "f" for d in node.in_dtypes):
        raise b.unsupported(node, f"integer {what} (ONNX rounds toward zero)")


@converter("FloorDiv")
def _floor_div(b: Builder, node: TraceNode, ins: list[str]) -> str:
    _float_operands(b, node, "floor division")
    return b.op("Floor", [b.op("Div", ins)])


@converter("Remainder")
def _remainder(b: Builder, node: TraceNode, ins: list[str]) -> str:
    if all(np.dtype(d).kind in "iu" for d in node.in_dtypes):
        return b.op("Mod", ins, fmod=0)  # integer: sign of the divisor, as Python
    _float_operands(b, node, "remainder")
    q = b.op("Floor", [b.op("Div", ins)])
    return b.op("Sub", [ins[0], b.op("Mul", [q, ins[1]])])


@converter("Cumsum")
def _cumsum(b: Builder, node: TraceNode, ins: list[str]) -> str:
    axis = b.const(np.asarray(int(node.params.get("axis", 0)), dtype=np.int64), "axis")
    return b.op("CumSum", [ins[0], axis])


@converter("Flip")
def _flip(b: Builder, node: TraceNode, ins: list[str]) -> str:
    axes = [int(a) for a in node.params.get("axes", ())]
    if not axes:
        return b.op("Identity", ins)
    n = len(axes)
    return b.op("Slice", [ins[0], b.ints([-1] * n, "starts"), b.ints([_INT64_MIN] * n, "ends"),
                          b.ints(axes, "axes"), b.ints([-1] * n, "steps")])


@converter("Roll")
def _roll(b: Builder, node: TraceNode, ins: list[str]) -> str:
    shifts, axes = node.params.get("shifts", 0), node.params.get("axes")
    shape, alt = node.in_shapes[0], node.alt_in_shapes[0]
    x = ins[0]
    moved = range(len(shape)) if axes is None else (
        axes if isinstance(axes, tuple) else (axes,))
    if any(shape[int(a)] != alt[int(a)] for a in moved):
        raise b.unsupported(node, "rolling along a dynamic axis")
    if axes is None:  # roll the flattened tensor, then restore the shape
        flat = b.op("Reshape", [x, b.ints([-1], "shape")])
        rolled = _roll_axis(b, flat, int(shifts), int(np.prod(shape)), 0)
        return b.op("Reshape", [rolled, b.ints(list(shape), "shape")])
    shifts = shifts if isinstance(shifts, tuple) else (shifts,)
    axes = axes if isinstance(axes, tuple) else (axes,)
    for s, a in zip(shifts, axes):
        x = _roll_axis(b, x, int(s), int(shape[int(a)]), int(a))
    return x


def _roll_axis(b: Builder, x: str, shift: int, n: int, axis: int) -> str:
    k = shift % n if n else 0
    if k == 0:
        return x
    tail = b.op("Slice", [x, b.ints([n - k], "starts"), b.ints([n], "ends"),
                          b.ints([axis], "axes")])
    head = b.op("Slice", [x, b.ints([0], "starts"), b.ints([n - k], "ends"),
                          b.ints([axis], "axes")])
    return b.op("Concat", [tail, head], axis=axis)


def _index_value(b: Builder, node: TraceNode) -> str:
    idx = node.links.get("index")
    if idx is None:
        return b.const(np.asarray(backend.to_numpy(node.params["index"]), dtype=np.int64),
                       "index")
    return idx


@converter("Gather")
def _gather(b: Builder, node: TraceNode, ins: list[str]) -> str:
    return b.op("GatherElements", [ins[0], _index_value(b, node)],
                axis=int(node.params.get("axis", 0)))


@converter("ScatterAdd")
def _scatter_add(b: Builder, node: TraceNode, ins: list[str]) -> str:
    idx_shape = tuple(np.shape(node.params["index"]))
    src = ins[1]
    if idx_shape != tuple(node.in_shapes[1]):  # only the index's extent of src is used
        src = b.op("Slice", [src, b.ints([0] * len(idx_shape), "starts"),
                             b.ints(list(idx_shape), "ends")])
    return b.op("ScatterElements", [ins[0], _index_value(b, node), src],
                axis=int(node.params.get("axis", 0)), reduction="add")


@converter("Prod", "Norm2")
def _prod_norm(b: Builder, node: TraceNode, ins: list[str]) -> str:
    axes = axes_of(node.params.get("axis"), len(node.in_shapes[0]))
    op = "ReduceProd" if node.op == "Prod" else "ReduceL2"
    return b.reduce(op, ins[0], axes, node.params.get("keepdims", False))


@converter("ToDevice")
def _to_device(b: Builder, node: TraceNode, ins: list[str]) -> str:
    return b.op("Identity", ins)
