"""ONNX converters for the extra element-wise primitives (trigonometric, hyperbolic, erf,
log2/log10, fmod, hypot, logaddexp, sinc, fmax/fmin), determinants and ``contiguous``.
Primitives with no converter are listed, with the reason, in ``onnx/unsupported.py``."""
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


@converter("Sinc")
def _sinc(b: Builder, node: TraceNode, ins: list[str]) -> str:
    dt = node.in_dtypes[0]
    zero = b.op("Equal", [ins[0], b.scalar(0, dt)])
    px = b.op("Mul", [ins[0], b.scalar(math.pi, dt)])
    safe = b.op("Where", [zero, b.scalar(1, dt), px])
    return b.op("Where", [zero, b.scalar(1, dt), b.op("Div", [b.op("Sin", [safe]), safe])])


@converter("Fmax", "Fmin")
def _fmax_fmin(b: Builder, node: TraceNode, ins: list[str]) -> str:
    """max/min where both are numbers, the other operand where one is nan."""
    a, c = ins
    both = b.op("Max" if node.op == "Fmax" else "Min", ins)
    return b.op("Where", [b.op("IsNaN", [c]), a, b.op("Where", [b.op("IsNaN", [a]), c, both])])


@converter("Det")
def _det(b: Builder, node: TraceNode, ins: list[str]) -> str:
    return b.op("Det", ins)


@converter("LogAbsDet")
def _logabsdet(b: Builder, node: TraceNode, ins: list[str]) -> str:
    return b.op("Log", [b.op("Abs", [b.op("Det", ins)])])


@converter("Contiguous")
def _contiguous(b: Builder, node: TraceNode, ins: list[str]) -> str:
    return b.op("Identity", ins)
