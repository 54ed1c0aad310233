"""Lazy layers: ``LazyLinear`` and ``LazyConv1d/2d/3d`` infer their input size from the first
batch. Until then their parameters are :class:`UninitializedParameter`s; the first call
materialises them in place, initialises them as the eager layer does, and the module
becomes that layer (``cls_to_become``), as in PyTorch.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from softgrad.autograd import grad_mode
from softgrad.nn.modules.conv import Conv1d, Conv2d, Conv3d, IntOr
from softgrad.nn.modules.linear import Linear
from softgrad.nn.modules.module import Module
from softgrad.nn.parameter import UninitializedParameter
from softgrad.tensor import Tensor


class LazyModuleMixin:
    """Materialise uninitialised parameters from the first input, then become
    ``cls_to_become``."""

    cls_to_become: Any = None

    if TYPE_CHECKING:  # the layer's, which this is mixed into
        def reset_parameters(self) -> None: ...

    def has_uninitialized_params(self) -> bool:
        return any(isinstance(p, UninitializedParameter) for p in self.__dict__.values())

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:  # pragma: no cover
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.has_uninitialized_params():
            with grad_mode.no_grad():
                self.initialize_parameters(*args, **kwargs)
            if not self.has_uninitialized_params() and self.cls_to_become is not None:
                self.__class__ = self.cls_to_become
        return Module.__call__(cast(Module, self), *args, **kwargs)


class LazyLinear(LazyModuleMixin, Linear):
    """``Linear`` whose ``in_features`` is the last dim of the first input.

    Example:
        >>> fc = nn.LazyLinear(10)
        >>> fc(sg.randn(4, 7)).shape, type(fc).__name__
        ((4, 10), 'Linear')
    """

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        Module.__init__(self)
        self.in_features, self.out_features = 0, out_features
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor) -> None:
        self.in_features = input.shape[-1]
        self.weight.materialize((self.out_features, self.in_features))
        if self.bias is not None:
            self.bias.materialize((self.out_features,))
        self.reset_parameters()


class _LazyConvMixin(LazyModuleMixin):
    """The constructor and first-input initialisation of ``LazyConv1d/2d/3d``."""

    _nd = 2

    if TYPE_CHECKING:  # the conv layer's, which this is mixed into
        out_channels: int
        groups: int
        kernel_size: tuple[int, ...]
        weight: Any  # an UninitializedParameter until the first call, then a Parameter
        bias: Any

    def __init__(self, out_channels: int, kernel_size: IntOr, stride: IntOr = 1,
                 padding: Any = 0, dilation: IntOr = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        # the eager constructor with the smallest valid in_channels, then no weights yet
        type(self).cls_to_become.__init__(self, groups, out_channels, kernel_size, stride,
                                          padding, dilation, groups, bias, padding_mode,
                                          device, dtype)
        self.in_channels = 0
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args: Any) -> None:
        self.in_channels = input.shape[0 if input.dim() == self._nd + 1 else 1]
        if self.in_channels % self.groups:
            raise ValueError(f"{type(self).__name__}: in_channels ({self.in_channels}) must be "
                             f"divisible by groups ({self.groups})")
        self.weight.materialize((self.out_channels, self.in_channels // self.groups)
                                + tuple(self.kernel_size))
        if self.bias is not None:
            self.bias.materialize((self.out_channels,))
        self.reset_parameters()


class LazyConv1d(_LazyConvMixin, Conv1d):
    """``Conv1d`` whose ``in_channels`` comes from the first input."""

    cls_to_become = Conv1d
    _nd = 1


class LazyConv2d(_LazyConvMixin, Conv2d):
    """``Conv2d`` whose ``in_channels`` comes from the first input."""

    cls_to_become = Conv2d
    _nd = 2


class LazyConv3d(_LazyConvMixin, Conv3d):
    """``Conv3d`` whose ``in_channels`` comes from the first input."""

    cls_to_become = Conv3d
    _nd = 3
