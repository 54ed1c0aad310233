"""``torch.autograd``: gradients of chosen outputs (``grad``, ``backward``), user-defined
differentiable functions (``Function``), grad modes, and ``functional`` (jacobian, hessian,
gradcheck). The engine underneath is ``softgrad/engine/``."""
from softgrad.autograd import functional
from softgrad.autograd.api import backward, grad
from softgrad.autograd.function import Function, FunctionCtx, once_differentiable
from softgrad.autograd.functional import GradcheckError, gradcheck
from softgrad.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled

__all__ = ["Function", "FunctionCtx", "GradcheckError", "backward", "enable_grad", "functional",
           "grad", "gradcheck", "is_grad_enabled", "no_grad", "once_differentiable",
           "set_grad_enabled"]
