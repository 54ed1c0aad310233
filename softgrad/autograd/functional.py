"""Whole-function derivatives: ``jacobian``, ``hessian``, ``vjp``, and ``gradcheck``."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

from softgrad import backend
from softgrad.autograd.api import grad
from softgrad.engine.grad_mode import no_grad
from softgrad.functions import cat, stack
from softgrad.tensor.core import Tensor

np = backend.np


def _as_tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _prepare(inputs: Any, create_graph: bool) -> tuple:
    out = []
    for x in _as_tuple(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"inputs must be Tensors, got {type(x).__name__}")
        out.append(x if (create_graph and x.requires_grad) else x.detach().requires_grad_(True))
    return tuple(out)


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False) -> tuple:
    """``(func(inputs), v^T J)``. ``v`` may be omitted for a one-element output."""
    xs = _prepare(inputs, create_graph)
    out = func(*xs)
    gs = grad(out, xs, v, create_graph=create_graph, allow_unused=True, materialize_grads=True)
    res = gs if isinstance(inputs, (tuple, list)) else gs[0]
    return (out if create_graph else out.detach()), res


def jacobian(func: Callable, inputs: Any, create_graph: bool = False,
             strict: bool = False, vectorize: bool = False) -> Any:
    """The Jacobian of ``func`` at ``inputs``, one reverse pass per output element.

    Shape: for one input of shape ``I`` and one output of shape ``O``, ``O + I``.
    Example:
        >>> J = sg.autograd.functional.jacobian(lambda x: F.softmax(x, dim=0), x)
        >>> # J == diag(f) - f f^T
    """
    xs = _prepare(inputs, create_graph)
    outs = func(*xs)
    multi_out = isinstance(outs, (tuple, list))
    outs_t = _as_tuple(outs)
    rows: list[list[Any]] = []
    for out in outs_t:
        per_input: list[list[Any]] = [[] for _ in xs]
        flat_n = out.numel()
        for k in range(flat_n):
            seed = np.zeros(out.shape, dtype=out._data.dtype)
            seed.reshape(-1)[k] = 1
            if out.requires_grad:
                gs = grad(out, xs, Tensor._wrap(backend.to_device(seed, out.device)),
                          retain_graph=True, create_graph=create_graph, allow_unused=True,
                          materialize_grads=True)
            else:
                gs = tuple(Tensor._wrap(x._data * 0) for x in xs)
            for i, g in enumerate(gs):
                per_input[i].append(g)
        blocks = []
        for i, x in enumerate(xs):
            if flat_n:
                block = stack(per_input[i], 0).reshape(tuple(out.shape) + tuple(x.shape))
            else:
                block = Tensor._wrap(np.zeros(tuple(out.shape) + tuple(x.shape), x._data.dtype))
            blocks.append(block if create_graph else block.detach())
        rows.append(blocks)
    multi_in = isinstance(inputs, (tuple, list))
    result = [tuple(r) if multi_in else r[0] for r in rows]
    return tuple(result) if multi_out else result[0]


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False) -> Any:
    """The Hessian of a scalar ``func``: the Jacobian of its gradient.

    Shape: for one input of shape ``I``, ``I + I``.
    """
    multi_in = isinstance(inputs, (tuple, list))

    def gradient(*xs: Any) -> Any:
        out = func(*xs)
        if out.numel() != 1:
            raise RuntimeError(f"hessian: func must return a single-element tensor, got shape "
                               f"{tuple(out.shape)}")
        gs = grad(out, xs, create_graph=True, allow_unused=True, materialize_grads=True)
        return gs if multi_in else gs[0]

    jac = jacobian(gradient, inputs, create_graph=create_graph)
    return jac


def gradcheck(fn: Callable, inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, seed: int = 0,
              nondet_tol: float = 0.0) -> bool:
    """Compare autograd with float64 central differences along a random projection.

    The output is summed with random weights ``w`` so the full ``J^T w`` is checked, not
    just ``J^T 1``. Inputs are converted to float64 copies; integer inputs pass through.
    Returns True, or raises ``GradcheckError`` naming the input and the worst element.
    """
    args = []
    for x in _as_tuple(inputs):
        if isinstance(x, Tensor) and x.is_floating_point():
            args.append(Tensor._leaf(backend.to_numpy(x._data).astype(np.float64),
                                     x.requires_grad))
        else:
            args.append(x)
    out = _single(fn(*args))
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(out.shape)
    wt = Tensor._wrap(w)
    diff = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
    if not diff:
        raise ValueError("gradcheck: at least one input must be a floating Tensor with "
                         "requires_grad=True")
    analytic = grad((out * wt).sum(), diff, allow_unused=True, materialize_grads=True)

    def projected() -> float:
        return float((backend.to_numpy(_single(fn(*args)).detach()._data) * w).sum())

    for idx, (x, ga) in enumerate(zip(diff, analytic)):
        num = np.zeros(x.shape)
        flat = x._data.reshape(-1)
        with no_grad():
            for i in range(flat.size):
                old = flat[i]
                flat[i] = old + eps
                hi = projected()
                flat[i] = old - eps
                lo = projected()
                flat[i] = old
                num.reshape(-1)[i] = (hi - lo) / (2 * eps)
        ana = backend.to_numpy(cast(Tensor, ga)._data)  # materialize_grads: never None
        if not np.allclose(ana, num, atol=atol, rtol=rtol):
            err = np.abs(ana - num)
            k = tuple(int(i) for i in np.unravel_index(int(np.argmax(err)), err.shape)) \
                if err.ndim else ()
            msg = (f"gradcheck failed for input {idx} (shape {tuple(x.shape)}): at index {k} "
                   f"analytical gradient {float(ana[k]):.6g} vs numerical {float(num[k]):.6g}; "
                   f"max abs error {float(err.max()):.3g}")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def _single(out: Any) -> Any:
    if isinstance(out, (tuple, list)):
        return cat([o.reshape(-1) for o in out])
    return out


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` when analytical and numerical gradients disagree."""


__all__: Sequence[str] = ["GradcheckError", "gradcheck", "hessian", "jacobian", "vjp"]
