"""softgrad.linalg and the matrix methods: values and gradients against PyTorch (float64) and
finite differences, gauge-invariant checks of the decompositions, errors and edge cases."""
from __future__ import annotations

import math

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import gradcheck, needs_torch, torch
from tests.helpers.op_cases import LINALG, op_tests

test_matches_torch, test_gradient_matches_finite_differences = op_tests(LINALG)

rng = np.random.default_rng(0)


def _f64(a) -> sg.Tensor:
    return sg.tensor(np.asarray(a, dtype=np.float64))


def test_det_gradient_of_a_singular_matrix_is_the_cofactor_matrix() -> None:
    a = rng.standard_normal((4, 4))
    a[:, 0] = a[:, 1]  # rank 3: det = 0 but its gradient (the cofactors) is not
    gradcheck(lambda t: sg.linalg.det(t), a)
    b = np.zeros((3, 3))
    b[0, 0] = 1.0  # rank 1: every cofactor is 0
    x = sg.tensor(b, requires_grad=True)
    sg.linalg.det(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), 0, atol=1e-15)


def test_solutions_satisfy_their_equations() -> None:
    a = _f64(rng.standard_normal((2, 4, 4)) + 4 * np.eye(4))
    b = _f64(rng.standard_normal((4, 3)))
    x = sg.linalg.solve(a, b)  # the batch of A broadcasts against B
    assert x.shape == (2, 4, 3)
    np.testing.assert_allclose((a @ x).numpy(), np.broadcast_to(b.numpy(), (2, 4, 3)),
                               atol=1e-12)
    np.testing.assert_allclose((sg.linalg.inv(a) @ a).numpy(), np.broadcast_to(np.eye(4),
                                                                                (2, 4, 4)),
                               atol=1e-12)
    low = sg.linalg.cholesky(a @ a.mT)
    np.testing.assert_allclose((low @ low.mT).numpy(), (a @ a.mT).numpy(), atol=1e-10)
    assert np.allclose(np.triu(low.numpy()[0], 1), 0)
    tall = _f64(rng.standard_normal((6, 3)))
    p = sg.linalg.pinv(tall)
    np.testing.assert_allclose((tall @ p @ tall).numpy(), tall.numpy(), atol=1e-12)
    q, r = sg.linalg.qr(tall)
    np.testing.assert_allclose((q @ r).numpy(), tall.numpy(), atol=1e-12)
    np.testing.assert_allclose((q.mT @ q).numpy(), np.eye(3), atol=1e-12)


@needs_torch
def test_full_svd_and_complete_qr_match_torch_and_their_gradients_ignore_the_extra_vectors():
    a = rng.standard_normal((5, 3))
    for full in (True, False):
        u, _, vh = sg.linalg.svd(_f64(a), full_matrices=full)
        tu, _, tvh = torch.linalg.svd(torch.tensor(a), full_matrices=full)
        assert u.shape == tuple(tu.shape) and vh.shape == tuple(tvh.shape)
        np.testing.assert_allclose(np.abs(u.numpy()[:, :3]), np.abs(tu.numpy()[:, :3]),
                                   atol=1e-12)
    x = sg.tensor(a, requires_grad=True)
    u, _, vh = sg.linalg.svd(x)  # full_matrices=True by default, as in PyTorch
    (u[:, :3] @ vh).sum().backward()
    t = torch.tensor(a, requires_grad=True)
    tu, _, tvh = torch.linalg.svd(t)
    (tu[:, :3] @ tvh).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), atol=1e-10)
    q, r = sg.linalg.qr(_f64(a), mode="complete")
    assert q.shape == (5, 5) and r.shape == (5, 3)
    x = sg.tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError, match="mode='complete' and nrows > ncols"):
        sg.linalg.qr(x, mode="complete").R.sum().backward()
    q, r = sg.linalg.qr(_f64(a), mode="r")
    assert q.numel() == 0 and r.shape == (3, 3)


@needs_torch
def test_torch_svd_and_qr_functions_return_v_and_reduced_factors() -> None:
    a = rng.standard_normal((4, 3))
    u, s, v = sg.svd(_f64(a))
    _, ts, tv = torch.svd(torch.tensor(a))
    np.testing.assert_allclose(np.abs(v.numpy()), np.abs(tv.numpy()), atol=1e-12)
    np.testing.assert_allclose((u * s) @ v.mT, a, atol=1e-12)
    _, s2, v2 = sg.svd(_f64(a), compute_uv=False)
    assert (v2.numpy() == 0).all() and np.allclose(s2.numpy(), ts.numpy())
    q, _ = a_q = sg.qr(_f64(a))
    assert q.shape == (4, 3) and a_q.R.shape == (3, 3)


def test_decomposition_results_are_named_tuples() -> None:
    a = _f64(rng.standard_normal((3, 3)))
    sym = a + a.mT
    assert sg.linalg.eigh(sym).eigenvalues.shape == (3,)
    assert sg.linalg.svd(a).S.shape == (3,) and sg.linalg.qr(a).R.shape == (3, 3)
    sign, logabs = sg.linalg.slogdet(a)
    np.testing.assert_allclose(sign.item() * math.exp(logabs.item()), np.linalg.det(a.numpy()))
    res = sg.linalg.lstsq(_f64(rng.standard_normal((5, 2))), _f64(rng.standard_normal((5,))))
    assert res.solution.shape == (2,) and res.rank.item() == 2


def test_logdet_of_negative_and_zero_determinants() -> None:
    assert math.isnan(sg.logdet(_f64([[0.0, 1.0], [1.0, 0.0]])).item())
    assert sg.logdet(_f64([[1.0, 2.0], [2.0, 4.0]])).item() == -math.inf


def test_bad_inputs_get_pytorch_style_errors() -> None:
    with pytest.raises(RuntimeError, match="square matrices, but they are 2 by 3"):
        sg.linalg.inv(sg.randn(2, 3))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        sg.linalg.det(sg.randn(3))
    with pytest.raises(RuntimeError, match="singular"):
        sg.linalg.inv(sg.zeros(3, 3))
    with pytest.raises(RuntimeError, match="not positive-definite"):
        sg.linalg.cholesky(-sg.eye(3))
    with pytest.raises(RuntimeError, match="floating point"):
        sg.linalg.inv(sg.tensor([[1, 2], [3, 4]]))
    with pytest.raises(RuntimeError, match="Incompatible shapes"):
        sg.linalg.solve(sg.eye(3), sg.randn(4, 2))
    with pytest.raises(RuntimeError, match="length 3"):
        sg.linalg.cross(sg.randn(4), sg.randn(4))
    with pytest.raises(RuntimeError, match="'reduced'"):
        sg.linalg.qr(sg.randn(3, 3), mode="full")
    inverse, info = sg.linalg.inv_ex(sg.zeros(2, 2))
    assert info.item() == 1 and np.isnan(inverse.numpy()).all()
    low, info = sg.linalg.cholesky_ex(sg.eye(2))
    assert info.item() == 0 and np.allclose(low.numpy(), np.eye(2))


def test_second_derivatives_of_decompositions_are_refused_clearly() -> None:
    x = sg.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    (g,) = sg.autograd.grad(sg.linalg.svdvals(x).sum(), [x], create_graph=False)
    assert g.shape == (3, 3)
    with pytest.raises(RuntimeError, match="second derivatives of a matrix decomposition"):
        sg.autograd.grad(sg.linalg.svdvals(x).sum(), [x], create_graph=True)


@needs_torch
def test_matrix_rank_cond_and_norms_match_torch() -> None:
    a = rng.standard_normal((2, 5, 4))
    a[0, :, 3] = a[0, :, 0]
    t = torch.tensor(a)
    assert sg.linalg.matrix_rank(_f64(a)).tolist() == torch.linalg.matrix_rank(t).tolist()
    assert sg.linalg.matrix_rank(_f64(a), atol=1.0).tolist() == \
        torch.linalg.matrix_rank(t, atol=1.0).tolist()
    sq = rng.standard_normal((3, 3))
    for p in (None, "fro", 1, -math.inf):
        np.testing.assert_allclose(sg.linalg.cond(_f64(sq), p).numpy(),
                                   torch.linalg.cond(torch.tensor(sq), p).numpy(), rtol=1e-10)
    for ord_, dim in ((None, None), (2, 1), (math.inf, -1), (0, (0, 1)), (-1, 2)):
        ours = sg.linalg.vector_norm(_f64(a), 2 if ord_ is None else ord_, dim)
        theirs = torch.linalg.vector_norm(t, 2 if ord_ is None else ord_, dim)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    np.testing.assert_allclose(sg.linalg.matrix_norm(_f64(a), "nuc", keepdim=True).numpy(),
                               torch.linalg.matrix_norm(t, "nuc", keepdim=True).numpy())
    np.testing.assert_allclose(sg.linalg.vander(_f64([1, 2, 3]), N=4).numpy(),
                               torch.linalg.vander(torch.tensor([1.0, 2, 3]), N=4).numpy())
    np.testing.assert_allclose(sg.linalg.vecdot(_f64(a), _f64(a)).numpy(),
                               torch.linalg.vecdot(t, t).numpy())


def test_matrix_exp_of_large_and_nilpotent_matrices() -> None:
    a = _f64([[0.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(sg.linalg.matrix_exp(a).numpy(), [[1, 1], [0, 1]], atol=1e-15)
    big = _f64(np.diag([10.0, -20.0]))
    np.testing.assert_allclose(sg.matrix_exp(big).numpy(), np.diag(np.exp([10.0, -20.0])),
                               rtol=1e-12, atol=1e-20)
    gradcheck(lambda t: sg.linalg.matrix_exp(t), rng.standard_normal((3, 3)) * 3)


def test_float32_stays_float32_through_the_decompositions() -> None:
    a = sg.randn(4, 4, requires_grad=True)
    outs = [sg.linalg.inv(a), sg.linalg.det(a), sg.linalg.svdvals(a),
            sg.linalg.eigh(a + a.mT).eigenvectors, sg.linalg.qr(a).Q, sg.linalg.pinv(a)]
    for o in outs:
        assert o.dtype == sg.float32
    sum((o * o).sum() for o in outs).backward()
    assert a.grad.dtype == sg.float32
