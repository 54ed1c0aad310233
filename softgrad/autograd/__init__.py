"""Reverse-mode automatic differentiation: engine, grad modes, ``grad`` and helpers."""
from softgrad.autograd import functional
from softgrad.autograd.api import backward, grad
from softgrad.autograd.function import Function, FunctionCtx, once_differentiable
from softgrad.autograd.functional import GradcheckError, gradcheck
from softgrad.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled

__all__ = ["Function", "FunctionCtx", "GradcheckError", "backward", "enable_grad", "functional",
           "grad", "gradcheck", "is_grad_enabled", "no_grad", "once_differentiable",
           "set_grad_enabled"]
