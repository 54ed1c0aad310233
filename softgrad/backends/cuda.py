"""``softgrad.backends.cuda``: PyTorch's CUDA switches (``matmul.allow_tf32``, the
scaled-dot-product-attention kernels). They are recorded and read back; softgrad's CUDA
path (CuPy) computes float32 products in float32 and attention with plain matrix
products whatever they say."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from softgrad import backend
from softgrad.backends import flags

_SDP = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def is_built() -> bool:
    """True when CuPy (softgrad's CUDA backend) is installed."""
    return backend._cupy is not None


class _Matmul:
    """``matmul.allow_tf32`` (tied to ``set_float32_matmul_precision``, as in PyTorch) and
    the reduced-precision-reduction switches."""

    __slots__ = ("_fp16_reduction", "_bf16_reduction")

    def __init__(self) -> None:
        self._fp16_reduction = self._bf16_reduction = True

    @property
    def allow_tf32(self) -> bool:
        return flags.state["matmul_precision"] != "highest"

    @allow_tf32.setter
    def allow_tf32(self, value: bool) -> None:
        flags.set_float32_matmul_precision("high" if _bool(value, "allow_tf32") else "highest")

    @property
    def allow_fp16_reduced_precision_reduction(self) -> bool:
        return self._fp16_reduction

    @allow_fp16_reduced_precision_reduction.setter
    def allow_fp16_reduced_precision_reduction(self, value: bool) -> None:
        self._fp16_reduction = _bool(value, "allow_fp16_reduced_precision_reduction")

    @property
    def allow_bf16_reduced_precision_reduction(self) -> bool:
        return self._bf16_reduction

    @allow_bf16_reduced_precision_reduction.setter
    def allow_bf16_reduced_precision_reduction(self, value: bool) -> None:
        self._bf16_reduction = _bool(value, "allow_bf16_reduced_precision_reduction")


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"softgrad.backends.cuda.matmul.{name} expects a bool, but got "
                        f"{type(value).__name__} {value!r}")
    return value


matmul = _Matmul()


def enable_flash_sdp(enabled: bool) -> None:
    _SDP["flash"] = bool(enabled)


def flash_sdp_enabled() -> bool:
    return _SDP["flash"]


def enable_mem_efficient_sdp(enabled: bool) -> None:
    _SDP["mem_efficient"] = bool(enabled)


def mem_efficient_sdp_enabled() -> bool:
    return _SDP["mem_efficient"]


def enable_math_sdp(enabled: bool) -> None:
    _SDP["math"] = bool(enabled)


def math_sdp_enabled() -> bool:
    return _SDP["math"]


def enable_cudnn_sdp(enabled: bool) -> None:
    _SDP["cudnn"] = bool(enabled)


def cudnn_sdp_enabled() -> bool:
    return _SDP["cudnn"]


@contextlib.contextmanager
def sdp_kernel(enable_flash: bool = True, enable_math: bool = True,
               enable_mem_efficient: bool = True, enable_cudnn: bool = True) -> Iterator[None]:
    """Set the attention-kernel switches inside a ``with`` block, restoring them after."""
    saved = dict(_SDP)
    _SDP.update(flash=bool(enable_flash), math=bool(enable_math),
                mem_efficient=bool(enable_mem_efficient), cudnn=bool(enable_cudnn))
    try:
        yield
    finally:
        _SDP.update(saved)
