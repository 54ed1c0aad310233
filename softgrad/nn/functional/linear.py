"""Affine maps and dropout, PyTorch-named and stateless."""
from __future__ import annotations

from softgrad import backend
from softgrad.autograd import grad_mode
from softgrad.ops.linear import Dropout, Linear
from softgrad.tensor import Tensor

np = backend.np
__all__ = ["linear", "dropout"]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x @ weight.T + bias, one fused node (three GEMM-shaped gradients in backward).

    Args:
        input: ``(*, in_features)``.
        weight: ``(out_features, in_features)`` (PyTorch's layout), or ``(in_features,)``.
        bias: ``(out_features,)`` or None.
    Shape: ``(*, out_features)`` (``(*)`` for a 1-D weight). See ``nn.Linear``.
    Example:
        >>> F.linear(sg.randn(8, 3), sg.randn(5, 3), sg.zeros(5)).shape
        (8, 5)
    """
    if weight.ndim == 1:
        b = None if bias is None else bias.reshape(1)
        return linear(input, weight.reshape(1, -1), b).squeeze(-1)
    if weight.ndim != 2 or input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        lead = 1 if input.ndim <= 1 else int(np.prod(input.shape[:-1]))
        width = input.shape[-1] if input.ndim else 1
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({lead}x{width} and "
            f"{'x'.join(str(s) for s in reversed(weight.shape))}): linear() expects input "
            f"(*, in_features) and weight (out_features, in_features), got input "
            f"{tuple(input.shape)} and weight {tuple(weight.shape)}")
    if input._data.dtype != weight._data.dtype:
        raise RuntimeError(f"linear(): input dtype {input.dtype} and weight dtype "
                           f"{weight.dtype} must be the same")
    if bias is None:
        return Tensor._apply(Linear, input, weight)
    if bias._data.dtype != weight._data.dtype:
        raise RuntimeError(f"linear(): bias dtype {bias.dtype} and weight dtype "
                           f"{weight.dtype} must be the same")
    if bias.ndim > 1 or bias.numel() not in (1, weight.shape[0]):
        raise RuntimeError(f"linear(): bias of shape {tuple(bias.shape)} does not match "
                           f"out_features={weight.shape[0]}")
    return Tensor._apply(Linear, input, weight, bias)


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p).

    The mask comes from softgrad's seeded generator (``sg.manual_seed``) and is reused by
    backward. Identity when ``training`` is False. See ``nn.Dropout``.

    Args:
        p: drop probability in [0, 1].
        training: apply dropout (True) or return the input (False).
        inplace: overwrite ``input`` where it takes no part in autograd.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    x = input._float_input()
    u = backend.generator().random(x.shape, dtype=np.float64 if x._data.dtype == np.float64
                                   else np.float32)
    if p == 1.0:
        u[...] = 0
    else:
        np.greater_equal(u, p, out=u)  # 1 = keep, 0 = drop
        u *= 1.0 / (1.0 - p)
    keep = backend.to_device(u.astype(x._data.dtype, copy=False), x.device)
    if inplace and x is input and not (input.requires_grad and grad_mode.is_grad_enabled()):
        return input.mul_(Tensor._wrap(keep))
    return Tensor._apply(Dropout, x, keep=keep)
