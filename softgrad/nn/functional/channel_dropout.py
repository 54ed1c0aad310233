"""Channel dropout: ``dropout1d``, ``dropout2d`` (whole channels zeroed, PyTorch-named)."""
from __future__ import annotations

import warnings

from softgrad import backend
from softgrad.ops.linear import Dropout
from softgrad.tensor import Tensor

__all__ = ["dropout1d", "dropout2d"]


def _channel_dropout(name: str, input: Tensor, p: float, training: bool,  # noqa: A002
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


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,  # noqa: A002
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) input with probability ``p`` and scale
    the kept ones by 1 / (1 - p). See ``nn.Dropout1d``."""
    return _channel_dropout("dropout1d", input, p, training, 3)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,  # noqa: A002
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) or (C, H, W) input with probability ``p`` and
    scale the kept ones by 1 / (1 - p). See ``nn.Dropout2d``.

    A 3-D input is read as (N, C, L), with a warning, as PyTorch does.
    """
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
