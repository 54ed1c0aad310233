"""Instance normalisation layers: ``InstanceNorm1d``, ``InstanceNorm2d``."""
from __future__ import annotations

import warnings
from typing import Any

from softgrad.nn.functional import normalization as FN
from softgrad.nn.modules.normalization import _NormBase
from softgrad.tensor import Tensor


class _InstanceNorm(_NormBase):
    """Normalise each channel of each sample over its spatial dims (PyTorch's defaults:
    ``affine=False``, ``track_running_stats=False``)."""

    _nd = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device: Any = None,
                 dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)

    def forward(self, input: Tensor) -> Tensor:
        nd, name = self._nd, type(self).__name__
        if input.dim() not in (nd + 1, nd + 2):
            raise ValueError(f"{name}: expected {nd + 1}D or {nd + 2}D input (got "
                             f"{input.dim()}D input of size {list(input.shape)})")
        c = input.shape[-nd - 1]
        if c != self.num_features:
            msg = (f"{name}: expected input's size at dim={input.dim() - nd - 1} to match "
                   f"num_features ({self.num_features}), but got: {c}.")
            if self.affine:
                raise ValueError(msg)
            warnings.warn(msg + " The input is normalised per channel anyway.", stacklevel=2)
        x = input.unsqueeze(0) if input.dim() == nd + 1 else input
        use_input = self.training or not self.track_running_stats
        out = FN.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                               use_input, 0.0 if self.momentum is None else self.momentum,
                               self.eps)
        return out.squeeze(0) if input.dim() == nd + 1 else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or (C, L) input (see ``F.instance_norm``)."""

    _nd = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or (C, H, W) input.

    Example:
        >>> nn.InstanceNorm2d(3, affine=True)(sg.randn(2, 3, 8, 8)).shape
        (2, 3, 8, 8)
    """

    _nd = 2
