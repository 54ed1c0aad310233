"""Dropout layers: active in ``train()`` mode only."""
from __future__ import annotations

from softgrad import backend
from softgrad.nn import functional as F
from softgrad.nn.modules.module import Module
from softgrad.tensor import Tensor


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` in training, scaling the rest by 1/(1-p).

    Identity in eval mode. The mask comes from softgrad's seeded generator.

    Example:
        >>> drop = nn.Dropout(0.2)
        >>> drop.eval(); drop(x) is x
        True
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)


class _ChannelDropout(_DropoutNd):
    """Zero whole channels (dim 1) of (N, C, *spatial) input with probability ``p``."""

    _spatial = 1

    def forward(self, input: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return input
        want = self._spatial + 2
        if input.dim() not in (want - 1, want):
            raise ValueError(f"{type(self).__name__} expects {want - 1}D or {want}D input, got "
                             f"shape {tuple(input.shape)}")
        batched = input.dim() == want
        lead = input.shape[:2] if batched else input.shape[:1]
        shape = tuple(lead) + (1,) * (input.dim() - len(lead))
        keep = backend.generator().random(shape) >= self.p
        scale = 0.0 if self.p == 1.0 else 1.0 / (1.0 - self.p)
        mask = backend.to_device((keep * scale).astype(input._data.dtype), input.device)
        return input * Tensor._wrap(mask)


class Dropout1d(_ChannelDropout):
    """Channel dropout for (N, C, L) or (C, L) input (see ``F.dropout1d``)."""

    _spatial = 1

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_ChannelDropout):
    """Channel dropout for (N, C, H, W) input; a 3-D input is read as (N, C, L) with a
    warning, as PyTorch does (see ``F.dropout2d``)."""

    _spatial = 2

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_ChannelDropout):
    """Channel dropout for (N, C, D, H, W) or (C, D, H, W) input."""

    _spatial = 3


class AlphaDropout(_DropoutNd):
    """Dropout that keeps zero mean and unit variance of SELU activations (training only)."""

    def forward(self, input: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return input
        alpha = -1.7580993408473766                # -scale * alpha of SELU
        p = self.p
        a = ((1 - p) * (1 + p * alpha * alpha)) ** -0.5
        b = -a * alpha * p
        keep = backend.generator().random(input.shape) >= p
        dtype = input._data.dtype
        mul = backend.to_device((keep * a).astype(dtype), input.device)
        add = backend.to_device(((~keep) * (a * alpha) + b).astype(dtype), input.device)
        return input * Tensor._wrap(mul) + Tensor._wrap(add)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels (dim 1), for SELU networks (training only)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.feature_alpha_dropout(input, self.p, self.training)
