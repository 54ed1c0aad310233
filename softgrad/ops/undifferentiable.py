"""``Undifferentiable``: a value computed from an input whose derivative is not implemented.

Any op may hand one out (QR's R with ``mode='r'``; gammainc's grad_a, a central difference,
under ``create_graph``): the value flows on as usual, and a backward that reaches it raises
the op's own message, as PyTorch does, instead of silently returning a wrong gradient.
"""
from __future__ import annotations

from typing import Any

from softgrad.engine.function import Function


class Undifferentiable(Function):
    """y = ``value`` (any array shaped as the op's result; the input ``a`` only links it into
    the graph); backward raises ``why``.

    Inputs: a (the Tensor it derives from). Params: ``value`` (the array), ``why`` (str).
    """

    def forward(self, a: Any, value: Any = None, why: str = "") -> Any:
        self.why = why
        return value

    def backward(self, g: Any) -> Any:
        raise RuntimeError(self.why)
