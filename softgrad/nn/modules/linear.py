"""``Identity``, ``Linear`` and ``Bilinear``."""
from __future__ import annotations

import math
from typing import Any

from softgrad.nn import functional as F
from softgrad.nn import init
from softgrad.nn.modules.module import Module
from softgrad.nn.modules.normalization import _empty
from softgrad.nn.parameter import Parameter
from softgrad.tensor import Tensor


class Identity(Module):
    """Return the input unchanged (arguments are accepted and ignored)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """``y = x @ weight.T + bias``.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn an additive bias. Default: True.

    Shape: (*, in_features) -> (*, out_features). ``weight`` is (out_features, in_features),
    initialised like PyTorch: ``kaiming_uniform_(a=sqrt(5))``, i.e. U(-1/sqrt(in), 1/sqrt(in)),
    and ``bias`` U(-1/sqrt(in), 1/sqrt(in)).

    Example:
        >>> fc = nn.Linear(20, 30)
        >>> fc(sg.randn(128, 20)).shape
        (128, 30)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(_empty((out_features, in_features), device, dtype))
        if bias:
            self.bias = Parameter(_empty((out_features,), device, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


def _bilinear(x1: Tensor, x2: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """``y[..., o] = x1 @ weight[o] @ x2 + bias[o]`` from matmul, reshape and sum."""
    out_f, in1, in2 = weight.shape
    lead = x1.shape[:-1]
    a = x1.reshape(-1, in1) @ weight.permute(1, 0, 2).reshape(in1, out_f * in2)
    y = (a.reshape(-1, out_f, in2) * x2.reshape(-1, 1, in2)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, out_f)


class NonDynamicallyQuantizableLinear(Linear):
    """A ``Linear`` under PyTorch's name for ``MultiheadAttention.out_proj``'s class, so code
    that names it (``torch.nn.modules.linear.NonDynamicallyQuantizableLinear``) runs."""


class Bilinear(Module):
    """``y = x1^T A x2 + b`` for each output feature.

    Args:
        in1_features, in2_features: sizes of the two inputs.
        out_features: size of the output.
        bias: learn an additive bias. Default: True.

    Shape: (*, in1), (*, in2) -> (*, out). ``weight`` (out, in1, in2) and ``bias`` are
    U(-1/sqrt(in1), 1/sqrt(in1)).
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        self.weight = Parameter(_empty((out_features, in1_features, in2_features), device,
                                       dtype))
        if bias:
            self.bias = Parameter(_empty((out_features,), device, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        if input1.shape[:-1] != input2.shape[:-1]:
            raise ValueError(f"Bilinear: inputs must share leading dims, got "
                             f"{tuple(input1.shape)} and {tuple(input2.shape)}")
        return _bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
