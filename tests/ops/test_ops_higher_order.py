"""Second derivatives of every op equal PyTorch's (backward run with create_graph=True)."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import needs_torch, torch
from tests.helpers.op_cases import ALL

CASES = [pytest.param(c, c.shapes[0], id=c.name) for c in ALL
         if c.grad and c.differentiable and c.second_order]


def _second_derivatives(mod, fn, arrays: list) -> list:
    """d/dx of sum(w2 * (dL/dx)^2) where L = sum(w1 * fn(x)), as NumPy arrays (or None)."""
    rng = np.random.default_rng(0)
    xs = [mod.tensor(a, requires_grad=True) for a in arrays]
    out = fn(mod, *xs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    loss = sum((o * mod.tensor(rng.standard_normal(tuple(o.shape)))).sum()
               for o in outs if o.is_floating_point())
    firsts = mod.autograd.grad(loss, xs, create_graph=True, allow_unused=True)
    total = sum((g * g * mod.tensor(rng.standard_normal(tuple(g.shape)))).sum()
                for g in firsts if g is not None and g.requires_grad)
    if isinstance(total, int):  # linear op: the gradient is constant
        return [None] * len(xs)
    seconds = mod.autograd.grad(total, xs, allow_unused=True)
    return [None if s is None else (s + 0).detach().numpy() for s in seconds]


@needs_torch
@pytest.mark.parametrize("case, shapes", CASES)
def test_second_derivative_matches_torch(case, shapes) -> None:
    arrays = case.arrays(shapes)
    with np.errstate(all="ignore"):
        ours = _second_derivatives(sg, case.fn, arrays)
        theirs = _second_derivatives(torch, case.fn, arrays)
    for i, (s, t) in enumerate(zip(ours, theirs)):
        if s is None or t is None:  # one side saw no dependence: the other must be zero
            assert np.allclose(s if t is None else t, 0) if (s is not None or t is not None) \
                else True, f"input {i}"
            continue
        np.testing.assert_allclose(s, t, atol=1e-6, rtol=1e-6, err_msg=f"input {i}")
