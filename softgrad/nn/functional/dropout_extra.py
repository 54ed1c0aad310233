"""``alpha_dropout``, ``feature_alpha_dropout`` and ``dropout3d`` (PyTorch-named)."""
from __future__ import annotations

from softgrad import backend
from softgrad.nn.functional.channel_dropout import _channel_dropout
from softgrad.tensor import Tensor

__all__ = ["alpha_dropout", "feature_alpha_dropout", "dropout3d"]

_SELU_NEG = -1.7580993408473766  # -scale * alpha of SELU: where SELU saturates


def _alpha(name: str, input: Tensor, p: float, training: bool,
           shape: tuple) -> Tensor:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    x = input._float_input()
    if p == 1.0:
        return x * 0
    a = ((1 - p) * (1 + p * _SELU_NEG * _SELU_NEG)) ** -0.5
    b = -a * _SELU_NEG * p
    keep = backend.generator().random(shape) >= p
    dt = x._data.dtype
    mul = backend.to_device((keep * a).astype(dt), x.device)
    add = backend.to_device(((~keep) * (a * _SELU_NEG) + b).astype(dt), x.device)
    return x * Tensor._wrap(mul) + Tensor._wrap(add)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: dropped values are set to SELU's negative saturation and
    an affine map keeps zero mean and unit variance. See ``nn.AlphaDropout``."""
    return _alpha("alpha_dropout", input, p, training, tuple(input.shape))


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels (dim 1) of (N, C, *) input. See
    ``nn.FeatureAlphaDropout``."""
    if input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    shape = tuple(input.shape[:2]) + (1,) * (input.dim() - 2)
    return _alpha("feature_alpha_dropout", input, p, training, shape)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input with probability ``p``
    and scale the kept ones by 1 / (1 - p). See ``nn.Dropout3d``."""
    return _channel_dropout("dropout3d", input, p, training, 5)
