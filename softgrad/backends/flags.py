"""Process-wide settings PyTorch programs make: matmul precision, determinism, and the
bool-only switch modules of ``softgrad.backends``.

softgrad records these settings and reports them back; none changes a result, because
softgrad computes float32 products in full float32 precision (never TF32) and its CPU
kernels are deterministic. (On CUDA, CuPy's scatter-add behind ``index_add``/embedding
gradients sums in a varying order, whatever ``use_deterministic_algorithms`` says.)
"""
from __future__ import annotations

import sys
import types
from typing import Any

_PRECISIONS = ("highest", "high", "medium")
state: dict[str, Any] = {"matmul_precision": "highest", "deterministic": False,
                         "warn_only": False}


def set_float32_matmul_precision(precision: str) -> None:
    """'highest' (default), 'high' or 'medium': PyTorch's permission to use TF32/bfloat16
    inside float32 matrix products. softgrad always computes them in float32."""
    if precision not in _PRECISIONS:
        raise ValueError(f"float32 matmul precision must be one of {_PRECISIONS}, got "
                         f"{precision!r}")
    state["matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    return state["matmul_precision"]


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Record PyTorch's determinism switch (softgrad's CPU kernels are deterministic)."""
    if not isinstance(mode, bool) or not isinstance(warn_only, bool):
        raise TypeError(f"use_deterministic_algorithms expects bools, got mode={mode!r}, "
                        f"warn_only={warn_only!r}")
    state.update(deterministic=mode, warn_only=warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return state["warn_only"]


class BoolFlagModule(types.ModuleType):
    """A module whose names listed in ``BOOL_FLAGS`` accept only True/False, as PyTorch's
    ``torch.backends.cudnn.benchmark`` and friends do."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.__dict__.get("BOOL_FLAGS", ()) and not isinstance(value, bool):
            raise TypeError(f"{self.__name__}.{name} expects a bool, but got "
                            f"{type(value).__name__} {value!r}")
        super().__setattr__(name, value)


def guard_bool_flags(module_name: str) -> None:
    """Make module ``module_name`` check its ``BOOL_FLAGS`` on assignment."""
    sys.modules[module_name].__class__ = BoolFlagModule
