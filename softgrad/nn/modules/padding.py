"""Padding layers: ``ZeroPad1d/2d, ConstantPad1d/2d, ReflectionPad1d/2d, ReplicationPad1d/2d,
CircularPad1d/2d``; each is one ``F.pad`` call with PyTorch's argument order."""
from __future__ import annotations

from collections.abc import Sequence

from softgrad.nn.functional.vision import pad as _pad
from softgrad.nn.modules.module import Module
from softgrad.tensor import Tensor

IntOr = int | Sequence[int]


class _PadNd(Module):
    _nd = 2
    _mode = "constant"

    def __init__(self, padding: IntOr, value: float = 0.0) -> None:
        super().__init__()
        if isinstance(padding, int):
            padding = (padding,) * (2 * self._nd)
        padding = tuple(int(p) for p in padding)
        if len(padding) != 2 * self._nd:
            raise ValueError(f"{type(self).__name__}: padding must be an int or a "
                             f"{2 * self._nd}-tuple, got {padding}")
        self.padding, self.value = padding, value

    def forward(self, input: Tensor) -> Tensor:
        if self._mode == "constant":
            return _pad(input, self.padding, "constant", self.value)
        return _pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        if self._mode == "constant" and type(self).__name__.startswith("Constant"):
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


class ConstantPad1d(_PadNd):
    """Pad the last dim with ``value``: ``padding`` int or (left, right)."""

    _nd = 1

    def __init__(self, padding: IntOr, value: float) -> None:
        super().__init__(padding, value)


class ConstantPad2d(_PadNd):
    """Pad the last two dims with ``value``: ``padding`` int or (left, right, top, bottom)."""

    def __init__(self, padding: IntOr, value: float) -> None:
        super().__init__(padding, value)


class ZeroPad1d(_PadNd):
    """Pad the last dim with zeros."""

    _nd = 1

    def __init__(self, padding: IntOr) -> None:
        super().__init__(padding, 0.0)


class ZeroPad2d(_PadNd):
    """Pad the last two dims with zeros: ``padding`` int or (left, right, top, bottom)."""

    def __init__(self, padding: IntOr) -> None:
        super().__init__(padding, 0.0)


class _EdgePad(_PadNd):
    """Padding modes that take no fill value (reflect, replicate, circular)."""

    def __init__(self, padding: IntOr) -> None:
        super().__init__(padding, 0.0)


class ReflectionPad1d(_EdgePad):
    """Mirror-pad the last dim (edge not repeated); pads must be smaller than the input."""

    _nd, _mode = 1, "reflect"

    def __init__(self, padding: IntOr) -> None:
        super().__init__(padding)


class ReflectionPad2d(_EdgePad):
    """Mirror-pad the last two dims (edge not repeated)."""

    _mode = "reflect"

    def __init__(self, padding: IntOr) -> None:
        super().__init__(padding)


class ReplicationPad1d(_EdgePad):
    """Pad the last dim by repeating the edge value."""

    _nd, _mode = 1, "replicate"

    def __init__(self, padding: IntOr) -> None:
        super().__init__(padding)


class ReplicationPad2d(_EdgePad):
    """Pad the last two dims by repeating the edge values."""

    _mode = "replicate"

    def __init__(self, padding: IntOr) -> None:
        super().__init__(padding)


class CircularPad1d(_EdgePad):
    """Pad the last dim by wrapping around."""

    _nd, _mode = 1, "circular"

    def __init__(self, padding: IntOr) -> None:
        super().__init__(padding)


class CircularPad2d(_EdgePad):
    """Pad the last two dims by wrapping around."""

    _mode = "circular"

    def __init__(self, padding: IntOr) -> None:
        super().__init__(padding)
