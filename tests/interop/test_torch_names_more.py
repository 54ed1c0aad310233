"""PyTorch's Tensor names that ported programs use: longer aliases (``multiply``, ``greater``),
their in-place forms, ``retains_grad``, integer math (``gcd``, ``lcm``), ``frexp``,
``unique_consecutive``, ``is_nonzero`` and a sparse tensor's ``indices()``/``values()``.

The differentiable ones also have cases in tests/helpers/op_cases.py (values, gradients and
second derivatives against PyTorch); here are results without gradients, errors and in-place
forms, each against PyTorch where it is installed.
"""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import needs_torch, torch

_A = np.array([[1.0, -2.0, 3.0], [0.5, 2.0, -1.0]])
_B = np.array([1.0, 2.0, -1.0])


def _both(data: np.ndarray) -> tuple:
    return sg.tensor(data), torch.tensor(data)


@needs_torch
@pytest.mark.parametrize("name", ["greater", "greater_equal", "less", "less_equal", "not_equal"])
def test_comparison_names_match_torch(name: str) -> None:
    (sa, ta), (sb, tb) = _both(_A), _both(_B)
    want = getattr(torch, name)(ta, tb).numpy()
    for got in (getattr(sg, name)(sa, sb), getattr(sa, name)(sb), getattr(sa, name)(2.0)):
        assert got.dtype == sg.bool
    np.testing.assert_array_equal(getattr(sg, name)(sa, sb).numpy(), want)
    np.testing.assert_array_equal(getattr(sa, name)(sb).numpy(), want)
    np.testing.assert_array_equal(getattr(sa, name)(2.0).numpy(),
                                  getattr(ta, name)(2.0).numpy())


@needs_torch
@pytest.mark.parametrize("name, args", [
    ("multiply_", (_B,)), ("subtract_", (_B,)), ("divide_", (_B,)), ("absolute_", ()),
    ("greater_", (_B,)), ("greater_equal_", (1.0,)), ("less_", (_B,)), ("less_equal_", (0.5,)),
    ("not_equal_", (_B,)), ("eq_", (2.0,)), ("ne_", (_B,)), ("gt_", (0.0,)), ("ge_", (_B,)),
    ("lt_", (_B,)), ("le_", (_B,))])
def test_inplace_forms_match_torch(name: str, args: tuple) -> None:
    sa, ta = _both(_A.copy())
    s_args = [sg.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    t_args = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    assert getattr(sa, name)(*s_args) is sa
    getattr(ta, name)(*t_args)
    assert sa.dtype == sg.float64
    np.testing.assert_array_equal(sa.numpy(), ta.numpy())


@needs_torch
def test_divide_and_subtract_keywords_match_torch() -> None:
    (sa, ta), (sb, tb) = _both(_A), _both(_B)
    for mode in (None, "trunc", "floor"):
        np.testing.assert_array_equal(sa.divide(sb, rounding_mode=mode).numpy(),
                                      ta.divide(tb, rounding_mode=mode).numpy())
        got = sa.clone().divide_(sb, rounding_mode=mode)
        np.testing.assert_array_equal(got.numpy(), ta.clone().divide_(tb, rounding_mode=mode))
    np.testing.assert_array_equal(sg.subtract(sa, sb, alpha=3).numpy(),
                                  torch.subtract(ta, tb, alpha=3).numpy())
    np.testing.assert_array_equal(sa.subtract(sb, alpha=0.5).numpy(),
                                  ta.subtract(tb, alpha=0.5).numpy())


@needs_torch
def test_inplace_comparison_in_a_graph_gives_zero_gradient_like_torch() -> None:
    outs = []
    for m in (sg, torch):
        x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        y.greater_(3.0)
        (y * m.tensor([1.0, 2.0, 3.0])).sum().backward()
        outs.append((y.detach().numpy(), x.grad.numpy(), y.requires_grad))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    assert outs[0][2] == outs[1][2]


def test_retains_grad_follows_retain_grad() -> None:
    x = sg.ones(3, requires_grad=True)
    y = x * 2
    assert not y.retains_grad and not x.retains_grad
    y.retain_grad()
    assert y.retains_grad
    x.retain_grad()  # a leaf keeps its grad anyway: the flag stays off, as in PyTorch
    assert not x.retains_grad
    y.sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), np.ones(3))
    assert not y.detach().retains_grad


def test_ravel_is_reshape_minus_one() -> None:
    t = sg.arange(6.0).reshape(2, 3)
    assert t.ravel().shape == (6,) and sg.ravel(t).shape == (6,)
    np.testing.assert_array_equal(t.T.ravel().numpy(), np.arange(6.0).reshape(2, 3).T.ravel())
    assert sg.tensor(5.0).ravel().shape == (1,)


@needs_torch
@pytest.mark.parametrize("name", ["gcd", "lcm"])
def test_gcd_lcm_match_torch(name: str) -> None:
    a = np.array([[12, -18, 0, 7], [5, 0, 21, -9]], dtype=np.int64)
    b = np.array([8, 12, 0, -14], dtype=np.int64)
    want = getattr(torch, name)(torch.tensor(a), torch.tensor(b))
    got = getattr(sg, name)(sg.tensor(a), sg.tensor(b))
    assert got.dtype == sg.int64
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    s = sg.tensor(a)
    assert getattr(s, name + "_")(sg.tensor(b)) is s
    np.testing.assert_array_equal(s.numpy(), want.numpy())
    with pytest.raises(RuntimeError, match=name):
        getattr(sg, name)(sg.tensor([1.0]), sg.tensor([2.0]))


@needs_torch
def test_frexp_matches_torch() -> None:
    data = np.array([0.0, 1.0, -3.5, 1e-3, 7e5, np.inf, -np.inf, 0.75], dtype=np.float32)
    m, e = sg.frexp(sg.tensor(data))
    tm, te = torch.frexp(torch.tensor(data))
    assert m.dtype == sg.float32 and e.dtype == sg.int32
    np.testing.assert_array_equal(m.numpy(), tm.numpy())
    np.testing.assert_array_equal(e.numpy(), te.numpy())
    res = sg.tensor(data).frexp()
    assert res.mantissa is not None and res.exponent.dtype == sg.int32
    with pytest.raises(RuntimeError, match="floating"):
        sg.frexp(sg.tensor([1, 2]))


@needs_torch
@pytest.mark.parametrize("kw", [{}, {"return_inverse": True}, {"return_counts": True},
                                {"return_inverse": True, "return_counts": True}])
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_unique_consecutive_matches_torch(kw: dict, dim: int | None) -> None:
    data = np.array([[1, 1, 2], [1, 1, 2], [3, 1, 1], [3, 1, 1], [1, 1, 2]], dtype=np.int64)
    want = torch.unique_consecutive(torch.tensor(data), dim=dim, **kw)
    got = sg.unique_consecutive(sg.tensor(data), dim=dim, **kw)
    method = sg.tensor(data).unique_consecutive(dim=dim, **kw)
    want_l = list(want) if isinstance(want, tuple) else [want]
    got_l = list(got) if isinstance(got, tuple) else [got]
    method_l = list(method) if isinstance(method, tuple) else [method]
    assert len(got_l) == len(want_l) == len(method_l)
    for g, mth, w in zip(got_l, method_l, want_l):
        assert g.dtype == sg.int64
        np.testing.assert_array_equal(g.numpy(), w.numpy())
        np.testing.assert_array_equal(mth.numpy(), w.numpy())


def test_unique_consecutive_of_floats_and_empty() -> None:
    out, counts = sg.tensor([1.0, 1.0, 2.0, 1.0]).unique_consecutive(return_counts=True)
    np.testing.assert_array_equal(out.numpy(), [1.0, 2.0, 1.0])
    np.testing.assert_array_equal(counts.numpy(), [2, 1, 1])
    assert sg.tensor([]).unique_consecutive().shape == (0,)


@needs_torch
def test_is_nonzero_matches_torch() -> None:
    for data in ([0.0], [2.0], 0, [[True]], 3):
        assert sg.tensor(data).is_nonzero() == torch.tensor(data).is_nonzero()
        assert sg.is_nonzero(sg.tensor(data)) == torch.is_nonzero(torch.tensor(data))
    for bad in ([], [1.0, 2.0]):
        with pytest.raises(RuntimeError, match="ambiguous"):
            sg.tensor(bad).is_nonzero()


@needs_torch
def test_split_with_sizes_and_narrow_copy_match_torch() -> None:
    data = np.arange(24.0).reshape(4, 6)
    sa, ta = _both(data)
    for got, want in zip(sa.split_with_sizes([1, 2, 3], dim=1), ta.split_with_sizes([1, 2, 3], 1)):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.raises(RuntimeError, match="sum exactly"):
        sa.split_with_sizes([1, 2], dim=1)
    copy = sa.narrow_copy(0, 1, 2)
    np.testing.assert_array_equal(copy.numpy(), ta.narrow_copy(0, 1, 2).numpy())
    copy[0, 0] = -1.0  # a copy, not a view
    assert sa[1, 0].item() == 6.0
    for got, want in zip(sg.unsafe_chunk(sa, 3, 1), torch.unsafe_chunk(ta, 3, 1)):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    for got, want in zip(sa.unsafe_split(4), ta.unsafe_split(4)):
        np.testing.assert_array_equal(got.numpy(), want.numpy())


@needs_torch
def test_vdot_and_inner_errors_match_torch() -> None:
    for args in ((np.ones((2, 2)), np.ones(4)), (np.ones(3), np.ones(4))):
        with pytest.raises(RuntimeError):
            torch.vdot(*(torch.tensor(a) for a in args))
        with pytest.raises(RuntimeError):
            sg.vdot(*(sg.tensor(a) for a in args))
    with pytest.raises(RuntimeError, match="same dtype"):
        sg.vdot(sg.ones(3), sg.ones(3, dtype=sg.float64))
    with pytest.raises(RuntimeError, match="last dimension"):
        sg.inner(sg.ones(2, 3), sg.ones(4))


@needs_torch
def test_cov_errors_and_corrcoef_of_constant_row() -> None:
    with pytest.raises(RuntimeError, match="two or fewer"):
        sg.cov(sg.ones(2, 2, 2))
    with pytest.raises(RuntimeError, match="integral"):
        sg.cov(sg.ones(2, 3), fweights=sg.ones(3))
    with pytest.raises(RuntimeError, match="floating"):
        sg.cov(sg.ones(2, 3), aweights=sg.tensor([1, 2, 3]))
    data = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]])
    np.testing.assert_array_equal(np.isnan(sg.corrcoef(sg.tensor(data)).numpy()),
                                  np.isnan(torch.corrcoef(torch.tensor(data)).numpy()))


@needs_torch
def test_sparse_indices_and_values_match_torch() -> None:
    i = np.array([[0, 1, 1, 2], [2, 0, 2, 1]])
    v = np.array([3.0, 4.0, 5.0, -1.0])
    s = sg.sparse_coo_tensor(sg.tensor(i), sg.tensor(v), (3, 3))
    t = torch.sparse_coo_tensor(torch.tensor(i), torch.tensor(v), (3, 3)).coalesce()
    assert s.indices().dtype == sg.int64
    np.testing.assert_array_equal(s.indices().numpy(), t.indices().numpy())
    np.testing.assert_array_equal(s.values().numpy(), t.values().numpy())
    assert s._nnz() == t._nnz() and s.sparse_dim() == t.sparse_dim()
    assert s.dense_dim() == t.dense_dim()
    dense = sg.tensor([[0.0, 1.5], [2.0, 0.0]], requires_grad=True)
    sp, tp = dense.to_sparse(), torch.tensor([[0.0, 1.5], [2.0, 0.0]]).to_sparse()
    np.testing.assert_array_equal(sp.indices().numpy(), tp.indices().numpy())
    (sp.values() * sg.tensor([2.0, 3.0])).sum().backward()  # values() carry the gradient
    np.testing.assert_array_equal(dense.grad.numpy(), [[0.0, 2.0], [3.0, 0.0]])


@needs_torch
@pytest.mark.parametrize("size", [0, 2, 5])
def test_nonzero_static_matches_torch(size: int) -> None:
    data = np.array([[0, 1, 3], [2, 0, 0]])
    want = torch.tensor(data).nonzero_static(size=size, fill_value=-7)
    got = sg.nonzero_static(sg.tensor(data), size=size, fill_value=-7)
    assert got.dtype == sg.int64
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@needs_torch
def test_smm_matches_torch() -> None:
    a = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, -3.0]])
    b = np.arange(12.0).reshape(3, 4)
    want = torch.smm(torch.tensor(a).to_sparse(), torch.tensor(b)).to_dense()
    got = sg.smm(sg.tensor(a).to_sparse(), sg.tensor(b))
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    np.testing.assert_array_equal(sg.tensor(a).smm(sg.tensor(b)).to_dense().numpy(), want)


def test_is_same_size() -> None:
    assert sg.ones(2, 3).is_same_size(sg.zeros(2, 3))
    assert not sg.is_same_size(sg.ones(2, 3), sg.zeros(3, 2))


@needs_torch
def test_fewer_public_tensor_names_missing_than_before() -> None:
    """Of torch.Tensor's public names that are not in-place forms, at most 67 (from 112) are
    missing on sg.Tensor: quantization, storages, other sparse layouts, deprecated solvers."""
    theirs = {n for n in dir(torch.Tensor) if not n.startswith("_") and not n.endswith("_")}
    missing = theirs - set(dir(sg.Tensor))
    for name in ("ravel", "retains_grad", "multiply", "greater", "inner", "cov", "values"):
        assert name not in missing
    assert len(missing) <= 67, sorted(missing)
