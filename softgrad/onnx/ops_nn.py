"""ONNX converters for layer primitives: normalisation and embedding lookup."""
from __future__ import annotations

from softgrad import backend
from softgrad.onnx.builder import Builder, converter
from softgrad.onnx.tracer import TraceNode

np = backend.np


def _pos(axes: tuple, ndim: int) -> tuple:
    return tuple(sorted(int(a) % ndim for a in axes))


@converter("AffineNorm")
def _affine_norm(b: Builder, node: TraceNode, ins: list[str]) -> str:
    p = node.params
    shape = node.in_shapes[0]
    nd, dt = len(shape), node.in_dtypes[0]
    axes, pshape, eps = _pos(p.get("axes", (-1,)), nd), tuple(p.get("pshape", ())), \
        float(p.get("eps", 1e-5))
    affine = len(ins) == 3
    channel_axes = (0,) + tuple(range(2, nd))
    if p.get("fixed") and nd >= 2 and axes == channel_axes:  # batch norm, eval mode
        c = shape[1]
        names = [b.state_name(s, d) for s, d in zip(p["stats"], ("running_mean", "running_var"))]
        mean, var = (np.asarray(backend.to_numpy(s), dtype=dt).reshape(c) for s in p["stats"])
        scale, bias = (ins[1], ins[2]) if affine else (b.const(np.ones(c, dt), "bn_scale"),
                                                       b.const(np.zeros(c, dt), "bn_bias"))
        return b.op("BatchNormalization", [ins[0], scale, bias, b.const(mean, names[0]),
                                           b.const(var, names[1])], epsilon=eps)
    k = len(pshape)
    trailing = tuple(range(nd - k, nd)) if k else ()
    if (not p.get("fixed") and b.opset >= 17 and k and axes == trailing
            and tuple(shape[nd - k:]) == pshape):  # layer norm
        scale = ins[1] if affine else b.const(np.ones(pshape, dt), "ln_scale")
        args = [ins[0], scale] + ([ins[2]] if affine else [])
        return b.op("LayerNormalization", args, axis=nd - k, epsilon=eps)
    return _decomposed(b, node, ins, axes, pshape, eps, affine)


def _decomposed(b: Builder, node: TraceNode, ins: list[str], axes: tuple, pshape: tuple,
                eps: float, affine: bool) -> str:
    """(x - mean) / sqrt(var + eps) [* w + b] with ONNX reductions (group/instance norm)."""
    dt = node.in_dtypes[0]
    x = ins[0]
    if node.params.get("fixed"):
        mean, var = (b.const(np.asarray(backend.to_numpy(s), dtype=dt), n)
                     for s, n in zip(node.params["stats"], ("mean", "var")))
        d = b.op("Sub", [x, mean])
    else:
        d = b.op("Sub", [x, b.reduce("ReduceMean", x, list(axes), True)])
        var = b.reduce("ReduceMean", b.op("Mul", [d, d]), list(axes), True)
    y = b.op("Div", [d, b.op("Sqrt", [b.op("Add", [var, b.scalar(eps, dt)])])])
    if not affine:
        return y
    shape = b.ints(pshape, "pshape")
    w = b.op("Reshape", [ins[1], shape])
    return b.op("Add", [b.op("Mul", [y, w]), b.op("Reshape", [ins[2], shape])])


@converter("Embedding")
def _embedding(b: Builder, node: TraceNode, ins: list[str]) -> str:
    idx = node.links.get("indices")
    if idx is None:
        idx = b.const(np.asarray(backend.to_numpy(node.params["indices"]), dtype=np.int64),
                      "indices")
    return b.op("Gather", [ins[0], idx], axis=0)
