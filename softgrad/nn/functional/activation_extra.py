"""More activations: ``softshrink``, ``hardshrink``, ``threshold``, ``rrelu``, ``glu``,
``prelu``, ``gumbel_softmax``, and the in-place ``relu_``, ``elu_``, ... forms."""
from __future__ import annotations

from softgrad import backend
from softgrad.functions import where
from softgrad.nn.functional.activation import (_inplace, celu, elu, hardtanh, leaky_relu, relu,
                                               selu)
from softgrad.tensor import Tensor

__all__ = ["softshrink", "hardshrink", "threshold", "threshold_", "rrelu", "rrelu_", "glu",
           "prelu", "gumbel_softmax", "relu_", "elu_", "leaky_relu_", "hardtanh_", "selu_",
           "celu_"]


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between. See ``nn.Softshrink``."""
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    x = input._float_input()
    return where(x > lambd, x - lambd, where(x < -lambd, x + lambd, 0.0))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0. See ``nn.Hardshrink``."""
    x = input._float_input()
    return where((x > lambd) | (x < -lambd), x, 0.0)


def threshold(input: Tensor, threshold: float, value: float,
              inplace: bool = False) -> Tensor:
    """x where x > threshold, else value. See ``nn.Threshold``."""
    return _inplace(input, lambda x: where(x > threshold, x, value), inplace)


_threshold = threshold  # the parameter of threshold_ shadows the function


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return _threshold(input, threshold, value, inplace=True)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
          training: bool = False, inplace: bool = False) -> Tensor:
    """Randomised leaky ReLU: in training, negative inputs are scaled by a slope drawn
    uniformly from [lower, upper] per element; in eval by (lower + upper) / 2."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    x = input._float_input()
    slope = backend.generator().uniform(lower, upper, x.shape)
    a = Tensor._wrap(backend.to_device(slope.astype(x._data.dtype), x.device))
    return _inplace(input, lambda t: where(t >= 0, t, t * a), inplace)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False) -> Tensor:
    return rrelu(input, lower, upper, training, True)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), with a and b the halves of ``input`` along ``dim``. See ``nn.GLU``."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    if input.shape[dim] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim} is size "
                           f"{input.shape[dim]}")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, else weight * x; ``weight`` has 1 element or one per channel (dim 1)."""
    w = weight
    if weight.numel() > 1:
        c = weight.numel()
        if input.dim() < 2 or input.shape[1] != c:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {c} and channel size = "
                               f"{input.shape[1] if input.dim() > 1 else 1}.")
        w = weight.reshape(c, *([1] * (input.dim() - 2)))
    return where(input > 0, input, w * input)


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """softmax((logits + g) / tau) with Gumbel(0, 1) noise g; with ``hard`` the forward is
    the one-hot of its argmax and the gradient is the soft sample's (straight-through)."""
    x = logits._float_input()
    e = backend.generator().exponential(1.0, x.shape)
    g = Tensor._wrap(backend.to_device(-backend.np.log(e).astype(x._data.dtype), x.device))
    soft = ((x + g) / tau).softmax(dim)
    if not hard:
        return soft
    xp = backend.xp_of(soft._data)
    idx = soft._data.argmax(axis=dim)
    one = xp.zeros_like(soft._data)
    xp.put_along_axis(one, xp.expand_dims(idx, dim), 1.0, axis=dim)
    return soft - soft.detach() + Tensor._wrap(one)


def relu_(input: Tensor) -> Tensor:
    return relu(input, inplace=True)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, inplace=True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, inplace=True)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def selu_(input: Tensor) -> Tensor:
    return selu(input, inplace=True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, inplace=True)
