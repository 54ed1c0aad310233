"""Float32 stays float32 through every op, and through every gradient each primitive returns."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.op_cases import ALL
from softgrad.engine.backward import toposort
from softgrad.backend import unbroadcast

FLOAT_CASES = [pytest.param(c, c.shapes[0], id=c.name) for c in ALL if c.differentiable]


def _outputs(out) -> list:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _walk_backward(roots: list) -> list:
    """Run every Function's backward by hand; return ``(name, dtype)`` of each gradient."""
    seen = []
    grads = {id(r): np.ones(r.shape, np.float32) for r in roots}
    for node in reversed(toposort(roots)):
        g = grads.pop(id(node), None)
        if g is None or node._ctx is None:
            continue
        ctx = node._ctx
        pgs = ctx.backward(g)
        pgs = pgs if isinstance(pgs, tuple) else (pgs,)
        for parent, need, pg in zip(ctx.parents, ctx.needs_input_grad, pgs):
            if pg is None or not need:
                continue
            seen.append((type(ctx).__name__, np.asarray(pg).dtype))
            pg = unbroadcast(np.asarray(pg), parent.shape)
            grads[id(parent)] = grads[id(parent)] + pg if id(parent) in grads else pg
    return seen


@pytest.mark.parametrize("case, shapes", FLOAT_CASES)
def test_float32_stays_float32(case, shapes) -> None:
    xs = [sg.tensor(a, requires_grad=True) for a in case.arrays(shapes, dtype=np.float32)]
    outs = [o for o in _outputs(case.fn(sg, *xs)) if o.is_floating_point()]
    assert outs, "every case has a floating output"
    for o in outs:
        assert o.dtype == sg.float32, f"{case.name} output is {o.dtype}"
    roots = [o for o in outs if o.requires_grad]
    if not roots:
        return
    for fn_name, dtype in _walk_backward(roots):
        assert dtype == np.float32, f"{case.name}: {fn_name}.backward returned {dtype}"
    total = sum((o * 1.5).sum() for o in roots)
    total.backward()
    for x in xs:
        assert x.grad is None or x.grad.dtype == sg.float32


def test_python_and_numpy_scalars_do_not_promote_float32() -> None:
    x = sg.rand(3, requires_grad=True)
    outs = [x * 0.1, x + np.float64(2.0), 1e-3 / (x + 1), x**0.5, 2.0**x, x.clamp(0.1, 0.9),
            sg.where(x > 0, x, 0.5), x.masked_fill(x > 2, 3.5), x.norm(3.0), x.var(), x.std()]
    for out in outs:
        assert out.dtype == sg.float32
    sum(o.sum() for o in outs).backward()
    assert x.grad.dtype == sg.float32
