"""Channel dropout: ``dropout1d``, ``dropout2d`` (whole channels zeroed, PyTorch-named)."""
from __future__ import annotations

import warnings

from softgrad import backend
from softgrad.nn.functional.linear import dropout
from softgrad.ops.linear import Dropout
from softgrad.tensor import Tensor

__all__ = ["dropout1d", "dropout2d"]


def _channel_dropout(name: str, input: Tensor, p: float, training: bool,
                     batched_dim: int) -> Tensor:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if input.dim() not in (batched_dim - 1, batched_dim):
        raise RuntimeError(f"{name}: Expected {batched_dim - 1}D or {batched_dim}D input, but "
                           f"received a {input.dim()}D input of size {list(input.shape)}")
    lead = 2 if input.dim() == batched_dim else 1
    shape = tuple(input.shape[:lead]) + (1,) * (input.dim() - lead)
    keep = backend.generator().random(shape) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    mask = backend.to_device((keep * scale).astype(input._data.dtype), input.device)
    return Tensor._apply(Dropout, input, keep=mask)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) input with probability ``p`` and scale
    the kept ones by 1 / (1 - p). See ``nn.Dropout1d``."""
    return _channel_dropout("dropout1d", input, p, training, 3)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) or (C, H, W) input with probability ``p`` and
    scale the kept ones by 1 / (1 - p). See ``nn.Dropout2d``.

    A 3-D input is read as (N, C, L), and a 2-D input gets element-wise dropout, each with a
    warning, as PyTorch does.
    """
    if input.dim() == 2:
        warnings.warn("dropout2d: Received a 2-D input to dropout2d, which is deprecated and "
                      "will result in an error in a future release. To retain the behavior "
                      "and silence this warning, please use dropout instead. Note that "
                      "dropout2d exists to provide channel-wise dropout on inputs with 2 "
                      "spatial dimensions, a channel dimension, and an optional batch "
                      "dimension (i.e. 3D or 4D inputs).", stacklevel=2)
        return dropout(input, p, training)
    if input.dim() == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim. This behavior will change "
                      "in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise "
                      "dropout behavior, please switch to using dropout1d instead.",
                      stacklevel=2)
        return _channel_dropout("dropout2d", input, p, training, 3)
    return _channel_dropout("dropout2d", input, p, training, 4)
