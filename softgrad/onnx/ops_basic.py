"""ONNX converters for arithmetic, activations, softmax, reductions and matrix products."""
from __future__ import annotations

import math

from softgrad import backend
from softgrad.onnx.builder import Builder, axes_of, converter
from softgrad.onnx.tracer import TraceNode

np = backend.np

_SAME = {"Add": "Add", "Sub": "Sub", "Mul": "Mul", "Div": "Div", "Pow": "Pow", "Neg": "Neg",
         "Exp": "Exp", "Log": "Log", "Sqrt": "Sqrt", "Sin": "Sin", "Cos": "Cos", "Tanh": "Tanh",
         "Sigmoid": "Sigmoid", "Relu": "Relu", "Abs": "Abs", "Maximum": "Max",
         "Minimum": "Min", "Where": "Where", "MatMul": "MatMul"}


@converter(*_SAME)
def _same(b: Builder, node: TraceNode, ins: list[str]) -> str:
    return b.op(_SAME[node.op], ins)


def _dt(node: TraceNode) -> object:
    return node.in_dtypes[0]


@converter("Rsqrt")
def _rsqrt(b: Builder, node: TraceNode, ins: list[str]) -> str:
    return b.op("Reciprocal", [b.op("Sqrt", ins)])


@converter("Log1p")
def _log1p(b: Builder, node: TraceNode, ins: list[str]) -> str:
    return b.op("Log", [b.op("Add", [ins[0], b.scalar(1, _dt(node))])])


@converter("Expm1")
def _expm1(b: Builder, node: TraceNode, ins: list[str]) -> str:
    return b.op("Sub", [b.op("Exp", ins), b.scalar(1, _dt(node))])


@converter("PowScalar")
def _pow_scalar(b: Builder, node: TraceNode, ins: list[str]) -> str:
    p = node.params["p"]
    if p == 2:
        return b.op("Mul", [ins[0], ins[0]])
    if p == 0.5:
        return b.op("Sqrt", ins)
    return b.op("Pow", [ins[0], b.scalar(p, _dt(node))])


@converter("RPowScalar")
def _rpow_scalar(b: Builder, node: TraceNode, ins: list[str]) -> str:
    return b.op("Pow", [b.scalar(node.params["c"], _dt(node)), ins[0]])


@converter("Clamp")
def _clamp(b: Builder, node: TraceNode, ins: list[str]) -> str:
    lo, hi = node.params.get("lo"), node.params.get("hi")
    args = [ins[0], b.scalar(lo, _dt(node)) if lo is not None else "",
            b.scalar(hi, _dt(node)) if hi is not None else ""]
    while args[-1] == "":
        args.pop()
    return b.op("Clip", args)


@converter("Hardtanh")
def _hardtanh(b: Builder, node: TraceNode, ins: list[str]) -> str:
    p = node.params
    return b.op("Clip", [ins[0], b.scalar(p.get("min_val", -1.0), _dt(node)),
                         b.scalar(p.get("max_val", 1.0), _dt(node))])


@converter("Cast")
def _cast(b: Builder, node: TraceNode, ins: list[str]) -> str:
    to = b.helper.np_dtype_to_tensor_dtype(np.dtype(node.out_dtype))
    return b.op("Cast", ins, to=to)


@converter("LeakyRelu")
def _leaky_relu(b: Builder, node: TraceNode, ins: list[str]) -> str:
    return b.op("LeakyRelu", ins, alpha=float(node.params.get("negative_slope", 0.01)))


@converter("Elu")
def _elu(b: Builder, node: TraceNode, ins: list[str]) -> str:
    alpha, scale = float(node.params.get("alpha", 1.0)), float(node.params.get("scale", 1.0))
    if scale == 1.0:
        return b.op("Elu", ins, alpha=alpha)
    return b.op("Selu", ins, alpha=alpha, gamma=scale)


@converter("Gelu")
def _gelu(b: Builder, node: TraceNode, ins: list[str]) -> str:
    x, dt = ins[0], _dt(node)
    if node.params.get("approximate", "none") == "tanh":
        x3 = b.op("Mul", [b.op("Mul", [x, x]), x])
        inner = b.op("Add", [x, b.op("Mul", [x3, b.scalar(0.044715, dt)])])
        th = b.op("Tanh", [b.op("Mul", [inner, b.scalar(math.sqrt(2 / math.pi), dt)])])
    else:
        th = b.op("Erf", [b.op("Mul", [x, b.scalar(math.sqrt(0.5), dt)])])
    half_x = b.op("Mul", [x, b.scalar(0.5, dt)])
    return b.op("Mul", [half_x, b.op("Add", [th, b.scalar(1, dt)])])


@converter("Silu")
def _silu(b: Builder, node: TraceNode, ins: list[str]) -> str:
    return b.op("Mul", [ins[0], b.op("Sigmoid", ins)])


@converter("Softplus")
def _softplus(b: Builder, node: TraceNode, ins: list[str]) -> str:
    beta, thr = float(node.params.get("beta", 1.0)), float(node.params.get("threshold", 20.0))
    x, dt = ins[0], _dt(node)
    bx = x if beta == 1 else b.op("Mul", [x, b.scalar(beta, dt)])
    # stable log(1 + e^bx) = max(bx, 0) + log(1 + e^-|bx|)
    tail = b.op("Log", [b.op("Add", [b.op("Exp", [b.op("Neg", [b.op("Abs", [bx])])]),
                                     b.scalar(1, dt)])])
    sp = b.op("Add", [b.op("Relu", [bx]), tail])
    if beta != 1:
        sp = b.op("Div", [sp, b.scalar(beta, dt)])
    return b.op("Where", [b.op("Greater", [bx, b.scalar(thr, dt)]), x, sp])


@converter("LogSigmoid")
def _log_sigmoid(b: Builder, node: TraceNode, ins: list[str]) -> str:
    x, dt = ins[0], _dt(node)
    tail = b.op("Log", [b.op("Add", [b.op("Exp", [b.op("Neg", [b.op("Abs", [x])])]),
                                     b.scalar(1, dt)])])
    return b.op("Sub", [b.op("Min", [x, b.scalar(0, dt)]), tail])


@converter("Softmax", "LogSoftmax")
def _softmax(b: Builder, node: TraceNode, ins: list[str]) -> str:
    return b.op(node.op, ins, axis=int(node.params.get("axis", -1)))


@converter("Sum", "Mean", "Amax", "LogSumExp")
def _reduce(b: Builder, node: TraceNode, ins: list[str]) -> str:
    op = {"Sum": "ReduceSum", "Mean": "ReduceMean", "LogSumExp": "ReduceLogSumExp",
          "Amax": "ReduceMax" if node.params.get("mode", "max") == "max" else "ReduceMin"}
    axes = axes_of(node.params.get("axis"), len(node.in_shapes[0]))
    return b.reduce(op[node.op], ins[0], axes, node.params.get("keepdims", False))


@converter("MaxDim")
def _max_dim(b: Builder, node: TraceNode, ins: list[str]) -> str:
    axes = axes_of(node.params.get("axis", 0), len(node.in_shapes[0]))
    return b.reduce("ReduceMax", ins[0], axes, node.params.get("keepdims", False))


@converter("Linear")
def _linear(b: Builder, node: TraceNode, ins: list[str]) -> str:
    if len(node.in_shapes[0]) == 2:
        return b.op("Gemm", ins, transB=1)
    wt = b.op("Transpose", [ins[1]], perm=[1, 0])
    y = b.op("MatMul", [ins[0], wt])
    return b.op("Add", [y, ins[2]]) if len(ins) > 2 else y


@converter("Einsum")
def _einsum(b: Builder, node: TraceNode, ins: list[str]) -> str:
    eq = ",".join(node.params["subscripts"]) + "->" + node.params.get("output", "")
    return b.op("Einsum", ins, equation=eq)


@converter("Dropout")
def _dropout(b: Builder, node: TraceNode, ins: list[str]) -> str:
    raise b.unsupported(node, "dropout in training mode; export calls model.eval(), so a "
                        "Dropout here was called with training=True explicitly")


_COMPARE = {"greater": "Greater", "less": "Less", "equal": "Equal", "not_equal": "Equal",
            "greater_equal": "GreaterOrEqual", "less_equal": "LessOrEqual"}
_BITWISE = {"bitwise_and": ("And", "BitwiseAnd"), "bitwise_or": ("Or", "BitwiseOr"),
            "bitwise_xor": ("Xor", "BitwiseXor"), "invert": ("Not", "BitwiseNot")}


@converter("Compare")
def _compare(b: Builder, node: TraceNode, ins: list[str]) -> str:
    name = getattr(node.params.get("op"), "__name__", "")
    dts = [np.dtype(d) for d in node.in_dtypes]
    if len(ins) == 2 and dts[0] != dts[1]:  # ONNX wants one type: cast to the common one
        common = np.result_type(*dts)
        to = b.helper.np_dtype_to_tensor_dtype(common)
        ins = [x if d == common else b.op("Cast", [x], to=to) for x, d in zip(ins, dts)]
    if name in _COMPARE:
        y = b.op(_COMPARE[name], ins)
        return b.op("Not", [y]) if name == "not_equal" else y
    if name in _BITWISE:
        logical, bitwise = _BITWISE[name]
        if all(d == np.bool_ for d in dts):
            return b.op(logical, ins)
        if b.opset < 18:
            raise b.unsupported(node, f"integer {name} needs opset_version >= 18")
        return b.op(bitwise, ins)
    raise b.unsupported(node, f"comparison {name or '?'}")
