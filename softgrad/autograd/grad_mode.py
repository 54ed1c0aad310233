"""``torch.autograd.grad_mode``: the switches for graph recording, defined with the engine
(``softgrad/engine/grad_mode.py``)."""
from softgrad.engine.grad_mode import (
                                       enable_grad,
                                       inference_mode,
                                       is_grad_enabled,
                                       no_grad,
                                       set_grad_enabled,
)

__all__ = ["enable_grad", "inference_mode", "is_grad_enabled", "no_grad", "set_grad_enabled"]
