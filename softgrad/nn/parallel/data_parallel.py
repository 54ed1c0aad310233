"""``DataParallel`` and ``data_parallel``: PyTorch's single-process multi-GPU wrappers.

softgrad runs a model on one device per process, so these wrap the module and run it where
it is (PyTorch does the same when it sees one device or none); ``state_dict`` keys carry the
``module.`` prefix as in PyTorch. For several processes or machines use
``DistributedDataParallel``.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from softgrad.nn.modules.module import Module

__all__ = ["DataParallel", "data_parallel"]


class DataParallel(Module):
    """Run ``module`` on the one device softgrad uses; see the module docstring.

    Args:
        module: the model to wrap (available as ``.module``).
        device_ids, output_device, dim: accepted for compatibility.
    """

    def __init__(self, module: Module, device_ids: Sequence[Any] | None = None,
                 output_device: Any = None, dim: int = 0) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel expects an nn.Module, got {type(module).__name__}")
        self.module = module
        self.device_ids = list(device_ids) if device_ids is not None else []
        self.output_device, self.dim = output_device, dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)


def data_parallel(module: Module, inputs: Any, device_ids: Sequence[Any] | None = None,
                  output_device: Any = None, dim: int = 0,
                  module_kwargs: dict | None = None) -> Any:
    """``module(*inputs, **module_kwargs)``, PyTorch's functional ``data_parallel`` on one
    device."""
    if not isinstance(inputs, tuple):
        inputs = (inputs,)
    return module(*inputs, **(module_kwargs or {}))
