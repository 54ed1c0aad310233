"""Activation layers; each forward is one ``F.*`` call with the stored hyperparameters."""
from __future__ import annotations

import warnings
from typing import Any

from softgrad.functions import where
from softgrad.nn import functional as F
from softgrad.nn import init
from softgrad.nn.modules.module import Module
from softgrad.nn.modules.normalization import _empty
from softgrad.nn.parameter import Parameter
from softgrad.tensor import Tensor


class _Stateless(Module):
    """An activation without hyperparameters: ``forward = fn``."""

    fn: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return type(self).fn(input)


class _Inplace(Module):
    """An activation whose only option is ``inplace``."""

    fn: Any = None

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self).fn(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_Inplace):
    """max(0, x)."""

    fn = staticmethod(F.relu)


class ReLU6(_Inplace):
    """min(max(0, x), 6)."""

    fn = staticmethod(F.relu6)


class SELU(_Inplace):
    """scale * (max(0, x) + min(0, alpha * (exp(x) - 1)))."""

    fn = staticmethod(F.selu)


class SiLU(_Inplace):
    """x * sigmoid(x)."""

    fn = staticmethod(F.silu)


class Mish(_Inplace):
    """x * tanh(softplus(x))."""

    fn = staticmethod(F.mish)


class Hardsigmoid(_Inplace):
    """relu6(x + 3) / 6."""

    fn = staticmethod(F.hardsigmoid)


class Hardswish(_Inplace):
    """x * relu6(x + 3) / 6."""

    fn = staticmethod(F.hardswish)


class Sigmoid(_Stateless):
    """1 / (1 + exp(-x))."""

    fn = staticmethod(F.sigmoid)


class Tanh(_Stateless):
    """tanh(x)."""

    fn = staticmethod(F.tanh)


class LogSigmoid(_Stateless):
    """log(sigmoid(x)), stable."""

    fn = staticmethod(F.logsigmoid)


class Softsign(_Stateless):
    """x / (1 + |x|)."""

    fn = staticmethod(F.softsign)


class Tanhshrink(_Stateless):
    """x - tanh(x)."""

    fn = staticmethod(F.tanhshrink)


class LeakyReLU(Module):
    """x if x >= 0 else negative_slope * x. Default slope: 0.01."""

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class _Alpha(Module):
    fn: Any = None

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self).fn(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class ELU(_Alpha):
    """x if x > 0 else alpha * (exp(x) - 1)."""

    fn = staticmethod(F.elu)


class CELU(_Alpha):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""

    fn = staticmethod(F.celu)


class GELU(Module):
    """x * Phi(x); ``approximate='tanh'`` uses the tanh formula."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """log(1 + exp(beta * x)) / beta, linear above ``threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """clip(x, min_val, max_val)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value: float | None = None, max_value: float | None = None) -> None:
        super().__init__()
        if min_value is not None or max_value is not None:
            warnings.warn("keyword arguments `min_value`/`max_value` are deprecated; use "
                          "`min_val`/`max_val`", FutureWarning, stacklevel=2)
            min_val = min_val if min_value is None else min_value
            max_val = max_val if max_value is None else max_value
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) cannot be greater than max_val "
                             f"({max_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + \
            (", inplace=True" if self.inplace else "")


class _DimSoftmax(Module):
    fn: Any = None

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return type(self).fn(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_DimSoftmax):
    """exp(x) / sum(exp(x)) along ``dim``."""

    fn = staticmethod(F.softmax)


class LogSoftmax(_DimSoftmax):
    """log(softmax(x)) along ``dim``, stable."""

    fn = staticmethod(F.log_softmax)


class Softmin(_DimSoftmax):
    """softmax(-x) along ``dim``."""

    fn = staticmethod(F.softmin)


class Softmax2d(Module):
    """Softmax over the channel dim of (N, C, H, W) or (C, H, W) input."""

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() not in (3, 4):
            raise ValueError(f"Softmax2d: expected input with 3 or 4 dims, got "
                             f"{tuple(input.shape)}")
        return F.softmax(input, -3)


class Threshold(Module):
    """x if x > threshold else value."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + \
            (", inplace=True" if self.inplace else "")


class GLU(Module):
    """a * sigmoid(b) where a, b are the halves of the input along ``dim``."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class PReLU(Module):
    """x if x > 0 else a * x, with a learnable slope ``a`` (one, or one per channel, dim 1).

    Args:
        num_parameters: 1 or the number of channels. Default: 1.
        init: initial slope. Default: 0.25.
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(_empty((num_parameters,), device, dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        w: Tensor = self.weight
        if self.num_parameters > 1:
            if input.dim() < 2 or input.shape[1] != self.num_parameters:
                raise ValueError(f"PReLU({self.num_parameters}) expects {self.num_parameters} "
                                 f"channels in dim 1, got input {tuple(input.shape)}")
            w = w.reshape(self.num_parameters, *([1] * (input.dim() - 2)))
        return where(input > 0, input, w * input)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


# PyTorch defines MultiheadAttention in torch.nn.modules.activation; code names it there
from softgrad.nn.modules.attention import MultiheadAttention  # noqa: E402,F401
