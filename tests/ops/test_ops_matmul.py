"""Matrix products: matmul with vectors and batch broadcasting, mm/bmm/dot, and einsum."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import needs_torch, torch
from tests.helpers.op_cases import EINSUM, MATMUL, op_tests


test_matches_torch, test_gradient_matches_finite_differences = op_tests(MATMUL + EINSUM)


@needs_torch
@pytest.mark.parametrize("equation, shapes", [
    ("ij,jk->ik", [(3, 4), (4, 2)]),
    ("bij,bjk", [(2, 3, 4), (2, 4, 2)]),
    ("ii,ij->j", [(3, 3), (3, 2)]),
    ("i,j,ij->", [(3,), (2,), (3, 2)]),
    ("...i,...i->...", [(2, 3), (1, 3)]),
])
def test_einsum_second_derivatives_match_torch(equation: str, shapes: list) -> None:
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    w = rng.standard_normal(np.einsum(equation, *arrays).shape)
    results = []
    for mod in (sg, torch):
        xs = [mod.tensor(a, requires_grad=True) for a in arrays]
        out = (mod.einsum(equation, *xs) * mod.tensor(w)).sum()
        gs = mod.autograd.grad(out, xs, create_graph=True)
        total = sum((g * g).sum() for g in gs)
        results.append([g.detach().numpy() for g in mod.autograd.grad(total, xs)])
    for s, t in zip(*results):
        np.testing.assert_allclose(s, t, atol=1e-6)


def test_einsum_matches_matmul_on_large_operands_and_takes_a_list() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((64, 300)), rng.standard_normal((300, 80))
    x, y = sg.tensor(a, requires_grad=True), sg.tensor(b, requires_grad=True)
    out = sg.einsum("ij,jk->ik", [x, y])
    np.testing.assert_allclose(out.detach().numpy(), a @ b, rtol=1e-5, atol=1e-4)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.ones((64, 80)) @ b.T, rtol=1e-5, atol=1e-4)


def test_einsum_promotes_dtypes_like_torch() -> None:
    f32, f64, i64 = sg.ones(2, 2), sg.ones(2, 2, dtype=sg.float64), sg.ones(2, 2, dtype=sg.int64)
    assert sg.einsum("ij,jk", f32, f32).dtype == sg.float32
    assert sg.einsum("ij,jk", f32, f64).dtype == sg.float64
    assert sg.einsum("ij,jk", f32, i64).dtype == sg.float32
    assert sg.einsum("ij->", i64).dtype == sg.int64 and sg.einsum("ij->", i64).item() == 4


@pytest.mark.parametrize("equation, shapes, message", [
    ("ij,jk", [(2, 3)], r"has 2 operand\(s\) but 1 were given"),
    ("ijk", [(2, 3)], r"subscripts in the equation \(3\) does not match the number of "
                      r"dimensions \(2\) for operand 0"),
    ("ij,jk", [(2, 3), (4, 4)], "subscript j has size 4 for operand 1"),
    ("ii", [(2, 3)], "subscript i is repeated for operand 0 but the sizes don't match, 2 != 3"),
    ("ij->k", [(2, 3)], "output subscript k does not appear"),
    ("ij->ii", [(2, 3)], "output subscript i appears more than once"),
    ("i1", [(2, 3)], "invalid subscript '1'"),
    ("i..j", [(2, 3)], "not part of any ellipsis"),
    ("i->j->k", [(2,)], "more than one '->'"),
    ("ijk...", [(2, 3)], "fewer than the 3 subscripts"),
])
def test_einsum_errors_name_the_problem(equation: str, shapes: list, message: str) -> None:
    with pytest.raises(RuntimeError, match=message):
        sg.einsum(equation, *[sg.ones(*s) for s in shapes])


def test_einsum_rejects_sublist_form_and_no_operands() -> None:
    with pytest.raises(NotImplementedError, match="sublist"):
        sg.einsum(sg.ones(2), [0])
    with pytest.raises(RuntimeError, match="at least one operand"):
        sg.einsum("ij")


@pytest.mark.parametrize("call, message", [
    (lambda: sg.ones(3, 4) @ sg.ones(3, 4), r"\(3x4 and 3x4\).*inner dimensions 4 and 3"),
    (lambda: sg.ones(3) @ sg.ones(4), r"\(3 and 4\)"),
    (lambda: sg.ones(2, 3, 4) @ sg.ones(3, 4, 5), r"batch dimensions of \(2, 3, 4\) and "
                                                  r"\(3, 4, 5\).*\(2,\) vs \(3,\)"),
    (lambda: sg.tensor(2.0) @ sg.ones(2), "at least 1D"),
    (lambda: sg.mm(sg.ones(2), sg.ones(2, 2)), "2-D"),
    (lambda: sg.bmm(sg.ones(2, 2, 2), sg.ones(3, 2, 2)), "same batch size"),
    (lambda: sg.dot(sg.ones(2, 2), sg.ones(2)), "1D tensors expected"),
])
def test_matmul_errors_name_both_shapes(call, message: str) -> None:
    with pytest.raises(RuntimeError, match=message):
        call()


def test_matmul_gradients_of_vector_operands_keep_their_shapes() -> None:
    v = sg.randn(4, requires_grad=True)
    m = sg.randn(2, 4, 3, requires_grad=True)
    (v @ m).sum().backward()
    assert v.grad.shape == (4,) and m.grad.shape == (2, 4, 3)
    np.testing.assert_allclose(v.grad.numpy(), m.detach().numpy().sum((0, 2)), rtol=1e-5)
