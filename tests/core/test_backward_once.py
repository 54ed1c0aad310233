"""A primitive's backward is written once for arrays and Tensors (``engine/function.py``):
``Function.call`` reuses another primitive (its forward on arrays, recorded on Tensors),
``_backward_graph`` is the only place a recorded backward may differ, and no op branches on
the record-or-not flag in its math."""
from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest

import softgrad as sg
from softgrad.engine.function import Function
from softgrad.ops.linalg import Inv, LogAbsDet
from softgrad.tensor.core import GRAPH_XP
from tests.helpers.checks import needs_torch, torch

OPS = pathlib.Path(sg.__file__).parent / "ops"


def test_no_op_branches_on_the_record_flag() -> None:
    offenders = []
    paths = sorted(OPS.rglob("*.py"))
    assert len(paths) > 30  # the scan sees every op module
    for path in paths:
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\b_graph\b", line):
                offenders.append(f"{path.name}:{i}: {line.strip()}")
    assert offenders == []


def test_call_runs_the_forward_on_arrays() -> None:
    a = np.random.default_rng(0).standard_normal((3, 3)) + 3 * np.eye(3)
    fn = LogAbsDet()
    fn.forward(a)
    fn.needs_input_grad = (True,)
    np.testing.assert_allclose(fn.call(Inv, a), np.linalg.inv(a))
    np.testing.assert_allclose(fn.backward(np.float64(2.0)), 2 * np.linalg.inv(a).T)


def test_call_records_on_tensors() -> None:
    a = sg.tensor(np.tril(np.random.default_rng(1).standard_normal((3, 3))) + 3 * np.eye(3),
                  requires_grad=True)
    b = sg.tensor(np.ones((3, 2)))
    x = sg.linalg.solve_triangular(a, b, upper=False)
    (g,) = sg.autograd.grad(x.sum(), a, create_graph=True)
    assert g.grad_fn is not None
    names = set()
    stack = [g.grad_fn]
    while stack:
        node = stack.pop()
        names.add(node.name())
        stack.extend(n for n, _ in node.next_functions if n is not None)
    assert any("SolveTriangular" in n for n in names), names


def test_tensor_namespace_spells_numpy_names() -> None:
    v = np.array([[0.5, -1.5], [2.0, 0.25]])
    x = sg.tensor(v, requires_grad=True)
    for name in ("cosh", "sinh", "trunc"):
        np.testing.assert_allclose(getattr(GRAPH_XP, name)(x).detach().numpy(),
                                   getattr(np, name)(v))
    np.testing.assert_allclose(GRAPH_XP.tril(x, -1).detach().numpy(), np.tril(v, -1))
    np.testing.assert_allclose(GRAPH_XP.triu(x).detach().numpy(), np.triu(v))
    inv = GRAPH_XP.linalg.inv(x)
    assert inv.grad_fn is not None
    np.testing.assert_allclose(inv.detach().numpy(), np.linalg.inv(v), rtol=1e-6)


def test_double_backward_error_names_the_primitive() -> None:
    class Fused(Function):
        double_backward_error = "{name} has no second derivative"

        def forward(self, a):
            return a * 2

        def backward(self, g):
            return g * 2

    x = sg.tensor([1.0, 2.0], requires_grad=True)
    y = Fused.apply(x)
    (g,) = sg.autograd.grad(y.sum(), x)  # first order: fine
    np.testing.assert_allclose(g.numpy(), [2.0, 2.0])
    with pytest.raises(RuntimeError, match="Fused has no second derivative"):
        sg.autograd.grad(Fused.apply(x).sum(), x, create_graph=True)


@needs_torch
def test_cropping_pad_is_differentiable_twice() -> None:
    v = np.random.default_rng(2).standard_normal((2, 5))
    out = []
    for lib in (sg, torch):
        x = lib.tensor(v, requires_grad=True)
        y = lib.nn.functional.pad(x, (-1, 2))
        w = lib.tensor(np.arange(1.0, 1.0 + y.numel()).reshape(tuple(y.shape)))
        (g,) = lib.autograd.grad((y * y * w).sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), x)
        out.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(out[0][0], out[1][0])
    np.testing.assert_allclose(out[0][1], out[1][1])


@needs_torch
def test_gammainc_grad_x_is_differentiable_in_a_and_x() -> None:
    av, xv = np.array([0.5, 1.5, 3.0]), np.array([0.3, 2.0, 4.5])
    got = []
    for lib in (sg, torch):
        a, x = lib.tensor(av, requires_grad=True), lib.tensor(xv, requires_grad=True)
        (gx,) = lib.autograd.grad(lib.special.gammainc(a, x).sum(), x, create_graph=True)
        gga, ggx = lib.autograd.grad((gx * gx).sum(), (a, x))
        got.append((gx.detach().numpy(), gga.numpy(), ggx.numpy()))
    for s, t in zip(*got):
        np.testing.assert_allclose(s, t, rtol=1e-10)


def test_gammainc_second_derivative_in_a_raises() -> None:
    a = sg.tensor([0.5, 1.5], requires_grad=True)
    x = sg.tensor([0.3, 2.0])
    (ga,) = sg.autograd.grad(sg.special.gammainc(a, x).sum(), a, create_graph=True)
    assert np.all(np.isfinite(ga.detach().numpy()))
    with pytest.raises(RuntimeError, match="gammainc: second derivatives .* respect to a"):
        sg.autograd.grad(ga.sum(), a)


def test_call_on_arrays_skips_init_unless_the_primitive_has_its_own() -> None:
    inits = []

    class Twice(Function):
        def forward(self, a):
            return a * 2

    class Counted(Function):
        def __init__(self) -> None:
            super().__init__()
            inits.append(1)

        def forward(self, a):
            self.save_for_backward(a)
            return a + self.xp.ones_like(a)

    caller = LogAbsDet()
    a = np.arange(3.0)
    np.testing.assert_allclose(caller.call(Twice, a), [0.0, 2.0, 4.0])
    np.testing.assert_allclose(caller.call(Counted, a), [1.0, 2.0, 3.0])
    assert inits == [1]


@pytest.mark.parametrize("kind", ["adaptive_max_pool2d", "max_unpool2d"])
def test_pooling_without_second_derivative_says_so(kind: str) -> None:
    F = sg.nn.functional
    v = np.random.default_rng(3).standard_normal((1, 2, 5, 5))
    _, idx = F.max_pool2d(sg.tensor(v), 2, return_indices=True)

    def run(create_graph: bool) -> None:
        if kind == "adaptive_max_pool2d":  # 5 -> 3: overlapping windows, the bincount path
            x = sg.tensor(v, requires_grad=True)
            y = F.adaptive_max_pool2d(x, 3)
        else:
            x = sg.tensor(v[:, :, :2, :2], requires_grad=True)
            y = F.max_unpool2d(x, idx, 2, output_size=(5, 5))
        w = sg.tensor(np.arange(1.0, 1.0 + y.numel()).reshape(tuple(y.shape)))
        (g,) = sg.autograd.grad((y * w).sum(), x, create_graph=create_graph)
        assert np.isfinite(g.detach().numpy()).all() and np.abs(g.detach().numpy()).sum() > 0

    run(False)  # first order: fine
    with pytest.raises(RuntimeError, match="adaptive max pooling" if kind.startswith(
            "adaptive") else "max_unpool"):
        run(True)
