"""ONNX converters for the whole-sequence recurrent primitives (one layer, one direction).

softgrad keeps PyTorch's gate order (LSTM ``i, f, g, o``; GRU ``r, z, n``); ONNX wants LSTM
``i, o, f, c`` and GRU ``z, r, h``, so the weight rows are regrouped by a Gather on the
parameter values (ONNX runtimes fold it once). GRU uses ``linear_before_reset=1``, which is
PyTorch's formula. Inputs: ``x (T, B, I), w_ih, w_hh, [b_ih, b_hh], h0, [c0]``.
"""
from __future__ import annotations

from typing import Any

from softgrad.onnx.builder import Builder, converter
from softgrad.onnx.tracer import TraceNode

_ORDER = {"LSTMSeq": [0, 3, 1, 2], "GRUSeq": [1, 0, 2], "RNNTanhSeq": [0]}


def _regroup(b: Builder, w: str, shape: tuple, order: list[int]) -> str:
    """(G*H, K) or (G*H,) weights -> gates reordered, with a leading direction axis of 1."""
    g = len(order)
    rest = [int(n) for n in shape[1:]]
    split = b.op("Reshape", [w, b.ints([g, int(shape[0]) // g] + rest, "gshape")])
    picked = b.op("Gather", [split, b.ints(order, "gates")], axis=0) if order != list(
        range(g)) else split
    return b.op("Reshape", [picked, b.ints([1, int(shape[0])] + rest, "wshape")])


@converter("LSTMSeq", "GRUSeq", "RNNTanhSeq")
def _recurrent(b: Builder, node: TraceNode, ins: list[str]) -> str:
    p = node.params
    if p.get("mask") is not None:
        raise NotImplementedError(f"ONNX export of {node.op} over a PackedSequence (a masked, "
                                  "variable-length batch) is not supported; export the layer "
                                  "on padded tensors")
    if p.get("proj"):
        raise NotImplementedError("ONNX export of an LSTM with proj_size is not supported (ONNX "
                                  "LSTM has no projection)")
    bias = bool(p.get("bias", True))
    order = _ORDER[node.op]
    x, w_ih, w_hh = ins[:3]
    hidden = int(node.in_shapes[2][1])
    w = _regroup(b, w_ih, node.in_shapes[1], order)
    r = _regroup(b, w_hh, node.in_shapes[2], order)
    rest = ins[5:] if bias else ins[3:]
    bvec = ""
    if bias:
        bvec = b.op("Concat", [_regroup(b, ins[3], node.in_shapes[3], order),
                               _regroup(b, ins[4], node.in_shapes[4], order)], axis=1)
    axes0 = b.ints([0], "axes")
    states = [b.op("Unsqueeze", [s, axes0]) for s in rest]
    attrs: dict[str, Any] = {"hidden_size": hidden,
                             "direction": "reverse" if p.get("reverse") else "forward"}
    if node.op == "LSTMSeq":
        y, _, y_c = b.op("LSTM", [x, w, r, bvec, "", states[0], states[1]], n_out=3, **attrs)
        seq = b.op("Squeeze", [y, b.ints([1], "axes")])
        return b.op("Concat", [seq, y_c], axis=0)  # (T + 1, B, H): h_t, then c_n
    if node.op == "GRUSeq":
        y, _ = b.op("GRU", [x, w, r, bvec, "", states[0]], n_out=2, linear_before_reset=1,
                    **attrs)
    else:
        act = "Relu" if p.get("nonlinearity", "tanh") == "relu" else "Tanh"
        y, _ = b.op("RNN", [x, w, r, bvec, "", states[0]], n_out=2, activations=[act],
                    **attrs)
    return b.op("Squeeze", [y, b.ints([1], "axes")])
