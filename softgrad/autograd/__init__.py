"""Reverse-mode automatic differentiation: engine, grad modes, ``grad`` and helpers."""
from softgrad.autograd import functional
from softgrad.autograd.api import grad
from softgrad.autograd.function import Function
from softgrad.autograd.functional import GradcheckError, gradcheck
from softgrad.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled

__all__ = ["Function", "GradcheckError", "enable_grad", "functional", "grad", "gradcheck",
           "is_grad_enabled", "no_grad", "set_grad_enabled"]
