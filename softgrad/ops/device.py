"""Moving data between devices (CPU <-> CUDA) inside the graph."""
from __future__ import annotations

from typing import Any

from softgrad import backend
from softgrad.engine.function import Function


class ToDevice(Function):
    """Copy to another device: grad = g copied back to the input's device."""

    def forward(self, a: Any, device: str = "cpu") -> Any:
        self.src = backend.device_of(a)
        return backend.to_device(a, device)

    def backward(self, g: Any) -> Any:
        return self.call(ToDevice, g, device=self.src)
