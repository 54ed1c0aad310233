"""ONNX converters for the extra element-wise primitives (trigonometric, hyperbolic, erf,
log2/log10, fmod, hypot, logaddexp). atan2, copysign, fmax/fmin, sinc, xlogy and the gamma
family have no converter: exporting them raises ExportError naming the op."""
from __future__ import annotations

import math

from softgrad import backend
from softgrad.onnx.builder import Builder, converter
from softgrad.onnx.tracer import TraceNode

np = backend.np

_SAME = {"Tan": "Tan", "Asin": "Asin", "Acos": "Acos", "Atan": "Atan", "Sinh": "Sinh",
         "Cosh": "Cosh", "Asinh": "Asinh", "Acosh": "Acosh", "Atanh": "Atanh", "Erf": "Erf"}


@converter(*_SAME)
def _same(b: Builder, node: TraceNode, ins: list[str]) -> str:
    return b.op(_SAME[node.op], ins)


@converter("Erfc")
def _erfc(b: Builder, node: TraceNode, ins: list[str]) -> str:
    return b.op("Sub", [b.scalar(1, node.in_dtypes[0]), b.op("Erf", ins)])


@converter("Log2", "Log10")
def _log_base(b: Builder, node: TraceNode, ins: list[str]) -> str:
    base = 2.0 if node.op == "Log2" else 10.0
    return b.op("Div", [b.op("Log", ins), b.scalar(math.log(base), node.in_dtypes[0])])


@converter("Fmod")
def _fmod(b: Builder, node: TraceNode, ins: list[str]) -> str:
    return b.op("Mod", ins, fmod=1)


@converter("Hypot")
def _hypot(b: Builder, node: TraceNode, ins: list[str]) -> str:
    a, c = ins
    return b.op("Sqrt", [b.op("Add", [b.op("Mul", [a, a]), b.op("Mul", [c, c])])])


@converter("LogAddExp")
def _logaddexp(b: Builder, node: TraceNode, ins: list[str]) -> str:
    """max(a, b) + log(1 + exp(-|a - b|))."""
    big = b.op("Max", ins)
    gap = b.op("Neg", [b.op("Abs", [b.op("Sub", ins)])])
    one = b.scalar(1, node.in_dtypes[0])
    return b.op("Add", [big, b.op("Log", [b.op("Add", [one, b.op("Exp", [gap])])])])
