"""Activations and softmax, PyTorch-named and stateless.

See the matching ``nn`` modules (``nn.ReLU``, ``nn.Softmax``, ...). All are stable for inputs
of any magnitude and keep the input's floating dtype (float32 stays float32).
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from softgrad.autograd import grad_mode
from softgrad.ops import activation as A
from softgrad.tensor import Tensor

__all__ = ["softmax", "log_softmax", "softmin", "sigmoid", "logsigmoid", "tanh", "relu", "relu6",
           "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "softplus", "softsign",
           "hardtanh", "hardsigmoid", "hardswish", "tanhshrink"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    """Softmax along ``dim``: exp(x - max) / sum(exp(x - max)), the max taken per row.

    Args:
        input: any shape.
        dim: the dim that sums to 1 (implicit choice deprecated, as in PyTorch).
        dtype: cast the input to this dtype first.
    Shape: same as ``input``. See ``nn.Softmax``.
    Example:
        >>> F.softmax(sg.tensor([[1.0, 2.0], [3.0, 5.0]]), dim=1)
    """
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim, _stacklevel)
    return input.softmax(dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype: Any = None) -> Tensor:
    """x - logsumexp(x, dim), never log(softmax(x)): finite for rows like [1000, 1001].

    Shape: same as ``input``. See ``nn.LogSoftmax``.
    Example:
        >>> F.log_softmax(sg.tensor([[1000.0, 1001.0]]), dim=1)
    """
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim, _stacklevel)
    return input.log_softmax(dim, dtype=dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    """softmax(-x) along ``dim``. See ``nn.Softmin``."""
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim, _stacklevel)
    x = input if dtype is None else input.to(dtype)
    return (-x).softmax(dim)


def _inplace(input: Tensor, fn: Callable[[Tensor], Tensor], inplace: bool) -> Tensor:
    """``fn(input)``, written into ``input`` when ``inplace=True``, as in PyTorch.

    While recording, a non-leaf ``input`` that nothing else has used yet takes the result's
    place in the graph (``Tensor._rebase``); where that could corrupt a gradient (a leaf, a
    tensor already used or sharing memory) the result is returned out of place instead, so
    use the return value, as with PyTorch.
    """
    if not inplace:
        return fn(input)
    if input.requires_grad and grad_mode.is_grad_enabled():
        if input._ctx is None or input._used or (input._vc is not None and input._vc[1]):
            return fn(input)
        return input._rebase("inplace activation", fn)
    return input.copy_(fn(input))


def _act(input: Tensor, fn: type, **params: Any) -> Tensor:
    return Tensor._apply(fn, input._float_input(), **params)


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), computed with exp(-|x|) only; grad = f(1 - f). See ``nn.Sigmoid``."""
    return input.sigmoid()


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)). See ``nn.LogSigmoid``."""
    return _act(input, A.LogSigmoid)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent; grad = 1 - f^2. See ``nn.Tanh``."""
    return input.tanh()


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); grad 0 at x = 0. See ``nn.ReLU``."""
    return _inplace(input, lambda x: x.relu(), inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6). See ``nn.ReLU6``."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01,
               inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise. See ``nn.LeakyReLU``."""
    return _inplace(input, lambda x: _act(x, A.LeakyRelu, negative_slope=float(negative_slope)),
                    inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise. See ``nn.ELU``."""
    return _inplace(input, lambda x: _act(x, A.Elu, alpha=float(alpha)), inplace)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants. See ``nn.SELU``."""
    return _inplace(input, lambda x: _act(x, A.Elu, alpha=_SELU_ALPHA, scale=_SELU_SCALE),
                    inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)). See ``nn.CELU``."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: celu with alpha=0")
    return _inplace(input, lambda x: _act(x * (1.0 / alpha), A.Elu, alpha=1.0) * alpha, inplace)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) (exact normal CDF), or its tanh approximation. See ``nn.GELU``.

    Args:
        approximate: 'none' (default) or 'tanh'.
    """
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh, got "
                           f"{approximate!r}")
    return _act(input, A.Gelu, approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (swish). See ``nn.SiLU``."""
    return _inplace(input, lambda x: _act(x, A.Silu), inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x)). See ``nn.Mish``."""
    return _inplace(input, lambda x: x * softplus(x).tanh(), inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold. See ``nn.Softplus``."""
    return _act(input, A.Softplus, beta=float(beta), threshold=float(threshold))


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|). See ``nn.Softsign``."""
    return input / (input.abs() + 1)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """clip(x, min_val, max_val); grad 1 strictly inside, 0 elsewhere. See ``nn.Hardtanh``."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    return _inplace(input, lambda x: _act(x, A.Hardtanh, min_val=min_val, max_val=max_val),
                    inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6. See ``nn.Hardsigmoid``."""
    return _inplace(input, lambda x: hardtanh(x + 3, 0.0, 6.0) * (1 / 6), inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6. See ``nn.Hardswish``."""
    return _inplace(input, lambda x: x * hardsigmoid(x), inplace)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x). See ``nn.Tanhshrink``."""
    return input - input.tanh()
