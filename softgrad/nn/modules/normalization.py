"""Normalisation layers: ``BatchNorm1d/2d/3d``, ``LayerNorm``, ``GroupNorm``."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from softgrad import backend, devices, dtypes
from softgrad.creation import _shape_arg
from softgrad.nn import init
from softgrad.nn.functional import normalization as FN
from softgrad.nn.modules.module import Module
from softgrad.nn.parameter import Parameter
from softgrad.tensor import Tensor


def _empty(shape: tuple, device: Any = None, dtype: Any = None, kind: Any = None) -> Tensor:
    """An uninitialised tensor for a parameter or buffer (float32 unless told)."""
    np_dtype = dtypes.to_np(kind if kind is not None else dtype) or backend.DEFAULT_DTYPE
    arr = backend.np.empty(_shape_arg((shape,)), dtype=np_dtype)  # sizes checked
    device = devices.default_for(device)
    if device is not None and str(device) != "cpu":
        arr = backend.to_device(arr, str(device))
    return Tensor._wrap(arr)


class _NormBase(Module):
    """What batch and instance normalisation share: per-channel ``weight``/``bias`` (when
    ``affine``), the running-statistics buffers (when ``track_running_stats``), their
    reset and the repr."""

    weight: Parameter | None
    bias: Parameter | None
    running_mean: Tensor | None  # buffers, None without track_running_stats
    running_var: Tensor | None
    num_batches_tracked: Tensor | None

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device: Any = None,
                 dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(_empty((num_features,), device, dtype))
            self.bias = Parameter(_empty((num_features,), device, dtype)) if bias else None
        else:
            self.weight = self.bias = None
        if track_running_stats:
            self.register_buffer("running_mean", _empty((num_features,), device, dtype))
            self.register_buffer("running_var", _empty((num_features,), device, dtype))
            self.register_buffer("num_batches_tracked", _empty((), device, kind=dtypes.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:  # the buffers exist
            init.zeros_(cast(Tensor, self.running_mean))
            init.ones_(cast(Tensor, self.running_var))
            init.zeros_(cast(Tensor, self.num_batches_tracked))

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    """Shared body of BatchNorm1d/2d/3d (PyTorch's semantics, including ``momentum=None``
    for a cumulative average and ``track_running_stats=False``)."""

    _dims: tuple[int, ...] = ()

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() not in self._dims:
            want = " or ".join(f"{d}D" for d in self._dims)
            raise ValueError(f"expected {want} input (got {input.dim()}D input)")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        if input.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}) got input with "
                             f"{input.shape[1]} channels (shape {tuple(input.shape)})")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked._data += 1
            self.num_batches_tracked._version += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked._data)
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        keep = not self.training or self.track_running_stats
        return FN.batch_norm(input, self.running_mean if keep else None,
                             self.running_var if keep else None, self.weight, self.bias,
                             use_batch, factor, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L) input.

    Training uses batch statistics and updates ``running_mean``/``running_var`` with
    ``momentum`` (unbiased variance); eval uses the running statistics.

    Args:
        num_features: C.
        eps: added to the variance. Default: 1e-5.
        momentum: running-average factor; None for a cumulative average. Default: 0.1.
        affine: learnable ``weight`` (ones) and ``bias`` (zeros). Default: True.
        track_running_stats: keep running statistics. Default: True.
        bias: learn the bias too (when affine). Default: True.

    Example:
        >>> bn = nn.BatchNorm1d(16)
        >>> y = bn(sg.randn(8, 16))
    """

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W) input (see ``BatchNorm1d``)."""

    _dims = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalisation over (N, C, D, H, W) input (see ``BatchNorm1d``)."""

    _dims = (5,)


class LayerNorm(Module):
    """Layer normalisation over the trailing ``normalized_shape`` dims.

    Args:
        normalized_shape: an int or the trailing shape to normalise over.
        eps: added to the variance. Default: 1e-5.
        elementwise_affine: learnable ``weight`` (ones) and ``bias`` (zeros). Default: True.
        bias: learn the bias too (when elementwise_affine). Default: True.

    Example:
        >>> ln = nn.LayerNorm(64)
        >>> y = ln(sg.randn(8, 10, 64))
    """

    weight: Parameter | None
    bias: Parameter | None

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(_empty(self.normalized_shape, device, dtype))
            self.bias = Parameter(_empty(self.normalized_shape, device, dtype)) if bias \
                else None
        else:
            self.weight = self.bias = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return FN.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Group normalisation: statistics per sample over groups of channels.

    Args:
        num_groups: number of channel groups (divides ``num_channels``).
        num_channels: C.
        eps: added to the variance. Default: 1e-5.
        affine: learnable per-channel ``weight`` and ``bias``. Default: True.
        bias: learn the bias too (when affine). Default: True.
    """

    weight: Parameter | None
    bias: Parameter | None

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device: Any = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups, self.num_channels, self.eps, self.affine = \
            num_groups, num_channels, eps, affine
        if affine:
            self.weight = Parameter(_empty((num_channels,), device, dtype))
            self.bias = Parameter(_empty((num_channels,), device, dtype)) if bias else None
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)
        else:
            self.weight = self.bias = None

    def forward(self, input: Tensor) -> Tensor:
        return FN.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
