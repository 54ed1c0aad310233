"""Convolution layers: ``Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d``.

PyTorch's constructor arguments, attribute names, weight layouts
(conv: (out, in / groups, *kernel); transposed: (in, out / groups, *kernel)) and default
initialisation: ``kaiming_uniform_(a=sqrt(5))`` for the weight and U(-1/sqrt(fan_in),
1/sqrt(fan_in)) for the bias.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from softgrad.nn import init
from softgrad.nn.functional import conv as FC
from softgrad.nn.functional.volume import conv3d as _conv3d
from softgrad.nn.functional.vision import pad as _pad
from softgrad.nn.modules.module import Module
from softgrad.nn.modules.normalization import _empty
from softgrad.nn.parameter import Parameter
from softgrad.ops.windows import as_tuple
from softgrad.tensor import Tensor

IntOr = int | Sequence[int]
_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared constructor, initialisation and repr of the convolution layers."""

    _nd = 2
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOr,
                 stride: IntOr = 1, padding: IntOr | str = 0, dilation: IntOr = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None, output_padding: IntOr = 0) -> None:
        super().__init__()
        nd, name = self._nd, type(self).__name__
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by "
                             f"groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by "
                             f"groups ({groups})")
        if padding_mode not in _MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_MODES}, got "
                             f"{padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = as_tuple(kernel_size, nd, "kernel_size")
        self.stride = as_tuple(stride, nd, "stride")
        self.dilation = as_tuple(dilation, nd, "dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one "
                                 f"of {{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions")
            self.padding: Any = padding
        else:
            self.padding = as_tuple(padding, nd, "padding")
        self.output_padding = as_tuple(output_padding, nd, "output_padding")
        self.padding_mode, self.transposed = padding_mode, self._transposed
        self._reversed_padding_repeated_twice = self._repeat_padding()
        if self._transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(_empty(shape, device, dtype))
        if bias:
            self.bias = Parameter(_empty((out_channels,), device, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _repeat_padding(self) -> list[int]:
        """F.pad widths (last dim first) matching ``padding``, for non-zero padding modes."""
        out: list[int] = []
        for i in reversed(range(self._nd)):
            if self.padding == "valid":
                lo = hi = 0
            elif self.padding == "same":
                total = self.dilation[i] * (self.kernel_size[i] - 1)
                lo, hi = total // 2, total - total // 2
            else:
                lo = hi = self.padding[i]
            out += [lo, hi]
        return out

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _check_input(self, input: Tensor) -> None:
        nd = self._nd
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: input must be a Tensor, got "
                            f"{type(input).__name__}")
        if input.dim() not in (nd + 1, nd + 2):
            raise RuntimeError(f"{type(self).__name__}: expected {nd + 1}D (unbatched) or "
                               f"{nd + 2}D (batched) input, got input of size "
                               f"{list(input.shape)}")
        c = input.shape[-nd - 1]
        if c != self.in_channels:
            raise RuntimeError(f"{type(self).__name__}({self.in_channels}, "
                               f"{self.out_channels}) expected input with {self.in_channels} "
                               f"channels, got {c} channels (input of size "
                               f"{list(input.shape)})")

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOr,
                 stride: IntOr = 1, padding: IntOr | str = 0, dilation: IntOr = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        fn = {1: FC.conv1d, 2: FC.conv2d, 3: _conv3d}[self._nd]
        if self.padding_mode != "zeros":
            x = _pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return fn(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return fn(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                  self.groups)


class Conv1d(_Conv):
    """1-D convolution over (N, C_in, L) input.

    Args:
        in_channels, out_channels: channel counts (both divisible by ``groups``).
        kernel_size: int or 1-tuple.  stride: Default 1.  dilation: Default 1.
        padding: int, ``'valid'`` or ``'same'`` (stride 1 only). Default 0.
        groups: independent channel groups. Default 1.  bias: Default True.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
    Shape: (N, C_in, L) -> (N, C_out, L_out); weight (C_out, C_in / groups, K).
    Example:
        >>> nn.Conv1d(16, 33, 3, stride=2)(sg.randn(20, 16, 50)).shape
        (20, 33, 24)
    """

    _nd = 1


class Conv2d(_Conv):
    """2-D convolution over (N, C_in, H, W) input (arguments as ``Conv1d``, pairs allowed).

    Shape: (N, C_in, H, W) -> (N, C_out, H_out, W_out); weight (C_out, C_in / groups, KH, KW).
    Example:
        >>> conv = nn.Conv2d(1, 6, 5)
        >>> conv(sg.randn(8, 1, 28, 28)).shape
        (8, 6, 24, 24)
    """

    _nd = 2


class Conv3d(_Conv):
    """3-D convolution over (N, C_in, D, H, W) input (arguments as ``Conv1d``, triples
    allowed).

    Shape: (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out);
    weight (C_out, C_in / groups, kD, kH, kW).
    Example:
        >>> nn.Conv3d(3, 8, 3, padding=1)(sg.randn(2, 3, 8, 8, 8)).shape
        (2, 8, 8, 8, 8)
    """

    _nd = 3


class _ConvTranspose(_ConvNd):
    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOr,
                 stride: IntOr = 1, padding: IntOr = 0, output_padding: IntOr = 0,
                 groups: int = 1, bias: bool = True, dilation: IntOr = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f"Only 'zeros' padding mode is supported for "
                             f"{type(self).__name__}")
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype, output_padding)

    def forward(self, input: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        self._check_input(input)
        name = "conv_transpose1d" if self._nd == 1 else "conv_transpose2d"
        return FC._conv_transpose(name, self._nd, input, self.weight, self.bias, self.stride,
                                  self.padding, self.output_padding, self.groups,
                                  self.dilation, output_size)


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution (the gradient of ``Conv1d`` w.r.t. its input).

    Args as ``Conv1d`` plus ``output_padding`` (extra size on one side of the output).
    ``forward(input, output_size=None)`` may ask for a specific output length.
    Shape: (N, C_in, L) -> (N, C_out, L_out),
    L_out = (L - 1) * stride - 2 * padding + dilation * (K - 1) + output_padding + 1;
    weight (C_in, C_out / groups, K).
    """

    _nd = 1


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution (see ``ConvTranspose1d``); weight (C_in, C_out / groups,
    KH, KW).

    Example:
        >>> up = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)
        >>> up(sg.randn(1, 16, 12, 12)).shape
        (1, 8, 24, 24)
    """

    _nd = 2
