"""Pooling layers: ``MaxPool1d/2d/3d, AvgPool1d/2d/3d, AdaptiveAvgPool1d/2d/3d,
AdaptiveMaxPool1d/2d``.

Each forwards to one ``F.*`` call with PyTorch's arguments and defaults (``stride`` defaults
to ``kernel_size``).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from softgrad.nn.functional import pooling as FP
from softgrad.nn.functional import volume as FV
from softgrad.nn.modules.module import Module
from softgrad.ops.windows import as_tuple
from softgrad.tensor import Tensor

IntOr = int | Sequence[int]


class _MaxPoolNd(Module):
    _fn = staticmethod(FP.max_pool2d)

    def __init__(self, kernel_size: IntOr, stride: IntOr | None = None, padding: IntOr = 0,
                 dilation: IntOr = 1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor) -> Any:
        return type(self)._fn(input, self.kernel_size, self.stride, self.padding,
                              self.dilation, self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max over sliding windows of (N, C, L) input (see ``F.max_pool1d``).

    Args: kernel_size; stride (default kernel_size); padding (implicit -inf); dilation;
    return_indices; ceil_mode.
    """

    _fn = staticmethod(FP.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """Max over sliding windows of (N, C, H, W) input (see ``F.max_pool2d``).

    Example:
        >>> nn.MaxPool2d(2)(sg.randn(8, 6, 24, 24)).shape
        (8, 6, 12, 12)
    """

    _fn = staticmethod(FP.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    """Max over sliding windows of (N, C, D, H, W) input (see ``F.max_pool3d``).

    Example:
        >>> nn.MaxPool3d(2)(sg.randn(2, 4, 8, 8, 8)).shape
        (2, 4, 4, 4, 4)
    """

    _fn = staticmethod(FV.max_pool3d)


class AvgPool1d(Module):
    """Mean over sliding windows of (N, C, L) input (see ``F.avg_pool1d``).

    Args: kernel_size; stride (default kernel_size); padding (zeros); ceil_mode;
    count_include_pad (default True).
    """

    def __init__(self, kernel_size: IntOr, stride: IntOr | None = None, padding: IntOr = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__()
        one = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v,)
        self.kernel_size = one(kernel_size)  # stored as 1-tuples, as PyTorch does
        self.stride = one(stride if stride is not None else kernel_size)
        self.padding, self.ceil_mode = one(padding), ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return FP.avg_pool1d(input, self.kernel_size, self.stride, self.padding,
                             self.ceil_mode, self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Mean over sliding windows of (N, C, H, W) input (see ``F.avg_pool2d``).

    Args: as ``AvgPool1d`` plus ``divisor_override``.
    """

    def __init__(self, kernel_size: IntOr, stride: IntOr | None = None, padding: IntOr = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return FP.avg_pool2d(input, self.kernel_size, self.stride, self.padding,
                             self.ceil_mode, self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool3d(AvgPool2d):
    """Mean over sliding windows of (N, C, D, H, W) input (see ``F.avg_pool3d``).

    Args: as ``AvgPool2d`` (triples allowed).
    """

    def forward(self, input: Tensor) -> Tensor:
        return FV.avg_pool3d(input, self.kernel_size, self.stride, self.padding,
                             self.ceil_mode, self.count_include_pad, self.divisor_override)


class _Adaptive(Module):
    _fn: Callable[..., Any] = staticmethod(FP.adaptive_avg_pool2d)

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Any:
        return type(self)._fn(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_Adaptive):
    """Average (N, C, L) input down to ``output_size`` adaptive windows."""

    _fn = staticmethod(FP.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_Adaptive):
    """Average (N, C, H, W) input down to ``output_size`` (an int, pair, or None entries to
    keep that size).

    Example:
        >>> nn.AdaptiveAvgPool2d((1, 1))(sg.randn(2, 64, 7, 7)).shape
        (2, 64, 1, 1)
    """

    _fn = staticmethod(FP.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_Adaptive):
    """Average (N, C, D, H, W) input down to ``output_size`` (an int, triple, or None
    entries to keep that size)."""

    _fn = staticmethod(FV.adaptive_avg_pool3d)


class _AdaptiveMax(_Adaptive):
    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input: Tensor) -> Any:
        return type(self)._fn(input, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(_AdaptiveMax):
    """Max of (N, C, L) input over ``output_size`` adaptive windows."""

    _fn = staticmethod(FP.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMax):
    """Max of (N, C, H, W) input over ``output_size`` adaptive windows."""

    _fn = staticmethod(FP.adaptive_max_pool2d)


class _MaxUnpoolNd(Module):
    _fn = staticmethod(FP.max_unpool2d)
    _nd = 2

    def __init__(self, kernel_size: IntOr, stride: IntOr | None = None,
                 padding: IntOr = 0) -> None:
        super().__init__()
        nd = self._nd  # stored as tuples, as PyTorch does
        self.kernel_size = as_tuple(kernel_size, nd, "kernel_size")
        self.stride = as_tuple(stride if stride is not None else kernel_size, nd, "stride")
        self.padding = as_tuple(padding, nd, "padding")

    def forward(self, input: Tensor, indices: Tensor,
                output_size: Sequence[int] | None = None) -> Tensor:
        return type(self)._fn(input, indices, self.kernel_size, self.stride, self.padding,
                              output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Partial inverse of ``MaxPool1d``: ``forward(input, indices, output_size=None)``."""

    _fn = staticmethod(FP.max_unpool1d)
    _nd = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """Partial inverse of ``MaxPool2d``: ``forward(input, indices, output_size=None)``
    puts each value back at its index, zeros elsewhere."""

    _fn = staticmethod(FP.max_unpool2d)
