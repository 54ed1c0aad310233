"""Comparisons and bitwise/logical ufuncs as a primitive, so export tracing can record them.

Tensors normally compute these directly (bool results carry no gradient); while a trace
hook is installed (``softgrad.onnx``) they run through ``Tensor._apply`` with this Function.
"""
from __future__ import annotations

from typing import Any

from softgrad.engine.function import Function


class Compare(Function):
    """y = op(a, b) or op(a) for a comparison/bitwise ufunc ``op``: no gradient (bool output)."""

    def forward(self, a: Any, b: Any = None, op: Any = None) -> Any:
        return op(a) if b is None else op(a, b)

    def backward(self, g: Any) -> tuple:
        return (None,) * len(self.parents)
