"""Sorting, selection, scatter, matrix-helper and element-wise extras vs PyTorch and finite
differences: sort, topk, kthvalue, median, nonzero, unique, take_along_dim, index_add,
scatter, scatter_reduce, masked_select, repeat_interleave, mm/mv/addmm, diag, triu, cumprod..."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import gradcheck, needs_torch, torch, torch_parity

rng = np.random.default_rng(0)
X = rng.standard_normal((3, 5))  # distinct values: no ties
X3 = rng.standard_normal((2, 3, 4))


def _ix(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.int64)


# (name, softgrad fn, torch fn, inputs) -- value and gradient parity, and finite differences
CASES = [
    ("sort", lambda x: sg.sort(x, 1), lambda x: torch.sort(x, 1), (X,)),
    ("sort_desc", lambda x: x.sort(0, descending=True), lambda x: x.sort(0, descending=True),
     (X,)),
    ("argsort", lambda x: x.argsort(-1) * 1.0 + x, lambda x: x.argsort(-1) * 1.0 + x, (X,)),
    ("topk", lambda x: sg.topk(x, 2), lambda x: torch.topk(x, 2), (X,)),
    ("topk_small_dim0", lambda x: x.topk(2, 0, largest=False),
     lambda x: x.topk(2, 0, largest=False), (X,)),
    ("kthvalue", lambda x: sg.kthvalue(x, 3, 1), lambda x: torch.kthvalue(x, 3, 1), (X,)),
    ("kthvalue_keep", lambda x: x.kthvalue(2, 0, keepdim=True),
     lambda x: x.kthvalue(2, 0, keepdim=True), (X,)),
    ("median_dim", lambda x: sg.median(x, 1), lambda x: torch.median(x, 1), (X,)),
    ("median_even", lambda x: x.median(2), lambda x: x.median(2), (X3,)),
    ("median_all", lambda x: x.median(), lambda x: x.median(), (X,)),
    ("take_along_dim", lambda x: sg.take_along_dim(x, sg.tensor(_ix([[0, 4, 4], [1, 1, 2],
                                                                    [3, 0, 0]])), 1),
     lambda x: torch.take_along_dim(x, torch.tensor(_ix([[0, 4, 4], [1, 1, 2], [3, 0, 0]])), 1),
     (X,)),
    ("take_along_dim_bcast", lambda x: x.take_along_dim(sg.tensor(_ix([[2], [0]])).reshape(
        1, 2, 1), 1), lambda x: x.take_along_dim(torch.tensor(_ix([[2], [0]])).reshape(
            1, 2, 1), 1), (X3,)),
    ("take_along_dim_flat", lambda x: sg.take_along_dim(x, sg.tensor(_ix([14, 0, 0]))),
     lambda x: torch.take_along_dim(x, torch.tensor(_ix([14, 0, 0]))), (X,)),
    ("index_add", lambda x, s: x.index_add(1, sg.tensor(_ix([4, 0, 4])), s, alpha=2.0),
     lambda x, s: x.index_add(1, torch.tensor(_ix([4, 0, 4])), s, alpha=2.0),
     (X, rng.standard_normal((3, 3)))),
    ("index_add_unique", lambda x, s: sg.index_add(x, 0, sg.tensor(_ix([2, 0])), s),
     lambda x, s: torch.index_add(x, 0, torch.tensor(_ix([2, 0])), s),
     (X, rng.standard_normal((2, 5)))),
    ("scatter", lambda x, s: x.scatter(1, sg.tensor(_ix([[0, 3], [4, 1], [2, 0]])), s),
     lambda x, s: x.scatter(1, torch.tensor(_ix([[0, 3], [4, 1], [2, 0]])), s),
     (X, rng.standard_normal((3, 2)))),
    ("scatter_value", lambda x: x.scatter(0, sg.tensor(_ix([[0, 1, 2]])), value=0.5),
     lambda x: x.scatter(0, torch.tensor(_ix([[0, 1, 2]])), value=0.5), (X,)),
    ("masked_select", lambda x: sg.masked_select(x, sg.tensor(X[0] > 0)),
     lambda x: torch.masked_select(x, torch.tensor(X[0] > 0)), (X,)),
    ("repeat_interleave", lambda x: x.repeat_interleave(3, 1),
     lambda x: x.repeat_interleave(3, 1), (X,)),
    ("repeat_interleave_t", lambda x: x.repeat_interleave(sg.tensor(_ix([2, 0, 1])), dim=0),
     lambda x: x.repeat_interleave(torch.tensor(_ix([2, 0, 1])), dim=0), (X,)),
    ("repeat_interleave_flat", lambda x: sg.repeat_interleave(x, 2),
     lambda x: torch.repeat_interleave(x, 2), (X,)),
    ("mm", lambda a, b: sg.mm(a, b), lambda a, b: torch.mm(a, b), (X, X.T)),
    ("bmm", lambda a, b: a.bmm(b), lambda a, b: a.bmm(b), (X3, X3.transpose(0, 2, 1))),
    ("mv", lambda a, b: sg.mv(a, b), lambda a, b: torch.mv(a, b), (X, X[0])),
    ("outer", lambda a, b: a.outer(b), lambda a, b: a.outer(b), (X[0], X[1, :3])),
    ("addmm", lambda c, a, b: sg.addmm(c, a, b, beta=0.5, alpha=2.0),
     lambda c, a, b: torch.addmm(c, a, b, beta=0.5, alpha=2.0),
     (X[:, :3], X, rng.standard_normal((5, 3)))),
    ("addmm_bcast", lambda c, a, b: c.addmm(a, b), lambda c, a, b: c.addmm(a, b),
     (X[0, :3], X, rng.standard_normal((5, 3)))),
    ("diagonal", lambda x: sg.diagonal(x, 1), lambda x: torch.diagonal(x, 1), (X,)),
    ("diagonal_neg", lambda x: x.diagonal(-1, 2, 0), lambda x: x.diagonal(-1, 2, 0), (X3,)),
    ("diag_2d", lambda x: sg.diag(x, -1), lambda x: torch.diag(x, -1), (X,)),
    ("diag_1d", lambda x: x.diag(2), lambda x: x.diag(2), (X[0],)),
    ("triu", lambda x: sg.triu(x, 1), lambda x: torch.triu(x, 1), (X3,)),
    ("tril", lambda x: x.tril(-1), lambda x: x.tril(-1), (X,)),
    ("trace", lambda x: sg.trace(x), lambda x: torch.trace(x), (X,)),
    ("cumprod", lambda x: sg.cumprod(x, 1), lambda x: torch.cumprod(x, 1), (X,)),
    ("cumprod_zeros", lambda x: x.cumprod(-1), lambda x: x.cumprod(-1),
     (np.array([[1.5, 0.0, 2.0, 0.0, 3.0], [0.5, -2.0, 0.0, 1.0, 1.5]]),)),
    ("logcumsumexp", lambda x: sg.logcumsumexp(x, 0), lambda x: torch.logcumsumexp(x, 0),
     (X * 30,)),
    ("lerp", lambda a, b, w: sg.lerp(a, b, w), lambda a, b, w: torch.lerp(a, b, w),
     (X, X[::-1].copy(), rng.random((1, 5)))),
    ("lerp_scalar", lambda a, b: a.lerp(b, 0.3), lambda a, b: a.lerp(b, 0.3), (X, X * 2)),
    ("clamp_min", lambda x: sg.clamp_min(x, 0.1), lambda x: torch.clamp_min(x, 0.1), (X,)),
    ("clamp_max", lambda x: x.clamp_max(-0.1), lambda x: x.clamp_max(-0.1), (X,)),
    ("movedim_seq", lambda x: sg.movedim(x, (0, 2), (2, 0)),
     lambda x: torch.movedim(x, (0, 2), (2, 0)), (X3,)),
    ("meshgrid_ij", lambda a, b: sg.meshgrid(a, b, indexing="ij"),
     lambda a, b: torch.meshgrid(a, b, indexing="ij"), (X[0], X[1, :3])),
    ("meshgrid_xy", lambda a, b: sg.meshgrid(a, b, indexing="xy"),
     lambda a, b: torch.meshgrid(a, b, indexing="xy"), (X[0], X[1, :3])),
]
SCATTER_REDUCE = [
    (red, inc) for red in ("sum", "prod", "mean", "amax", "amin") for inc in (True, False)]
SR_INDEX = _ix([[0, 1, 2, 2], [2, 1, 0, 0]])


@needs_torch
@pytest.mark.parametrize("name,sgf,tf,arrays", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(name: str, sgf, tf, arrays) -> None:
    torch_parity(sgf, tf, *arrays, atol=1e-9, rtol=1e-7)


@pytest.mark.parametrize("name,sgf,tf,arrays", CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_finite_differences(name: str, sgf, tf, arrays) -> None:
    def fn(*xs):
        out = sgf(*xs)
        return out[0] if isinstance(out, tuple) else out

    gradcheck(fn, *arrays)


@needs_torch
@pytest.mark.parametrize("reduce,include_self", SCATTER_REDUCE)
def test_scatter_reduce_matches_torch(reduce: str, include_self: bool) -> None:
    x = rng.standard_normal((3, 4))
    src = rng.standard_normal((2, 4))  # PyTorch's backward needs src shaped like index
    src[1, 1] = src[0, 1]  # a tie inside one target position (amax/amin share the gradient)

    def fn(lib):
        return lambda a, s: a.scatter_reduce(0, lib.tensor(SR_INDEX), s, reduce,
                                             include_self=include_self)
    torch_parity(fn(sg), fn(torch), x, src, atol=1e-9, rtol=1e-7)
    wide = np.concatenate([src, rng.standard_normal((2, 1))], 1)  # extra src stays unused
    gradcheck(fn(sg), x, wide)


@needs_torch
def test_scatter_reduce_prod_with_zeros_matches_torch() -> None:
    x = np.array([[0.0, 2.0, 3.0, 1.5]])
    src = np.array([[1.5, 0.0, 2.0, 0.0, 4.0, -1.0]])
    idx = _ix([[0, 1, 2, 2, 3, 3]])
    for inc in (True, False):
        torch_parity(lambda a, s: a.scatter_reduce(1, sg.tensor(idx), s, "prod",
                                                   include_self=inc),
                     lambda a, s: a.scatter_reduce(1, torch.tensor(idx), s, "prod",
                                                   include_self=inc), x, src)


@needs_torch
def test_sort_stable_keeps_the_order_of_ties() -> None:
    a = np.array([[2.0, 1.0, 2.0, 1.0, 2.0, np.nan, 0.0]])
    for desc in (False, True):
        s = sg.tensor(a).sort(dim=-1, descending=desc, stable=True)
        t = torch.tensor(a).sort(dim=-1, descending=desc, stable=True)
        np.testing.assert_array_equal(s.indices.numpy(), t.indices.numpy())
        np.testing.assert_array_equal(s.values.numpy(), t.values.numpy())
        np.testing.assert_array_equal(sg.argsort(sg.tensor(a), descending=desc,
                                                 stable=True).numpy(), t.indices.numpy())
    ints = np.array([3, 1, 3, 2, 1], dtype=np.int64)
    b = sg.sort(sg.tensor(ints), descending=True, stable=True)
    assert b.indices.tolist() == torch.sort(torch.tensor(ints), descending=True,
                                            stable=True).indices.tolist()


@needs_torch
def test_median_of_a_line_with_nan_is_nan() -> None:
    a = np.array([[1.0, np.nan, 3.0], [2.0, 1.0, 5.0]])
    s, t = sg.tensor(a).median(1), torch.tensor(a).median(1)
    np.testing.assert_array_equal(s.values.numpy(), t.values.numpy())
    np.testing.assert_array_equal(s.indices.numpy(), t.indices.numpy())
    assert np.isnan(sg.tensor(a).median().item())


def test_sort_values_route_the_gradient_through_the_indices() -> None:
    x = sg.tensor([3.0, 1.0, 2.0], requires_grad=True)
    v, i = x.sort()
    (v * sg.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert i.tolist() == [1, 2, 0]
    assert x.grad.tolist() == [100.0, 1.0, 10.0]
    assert isinstance(v, sg.Tensor) and v.dtype == sg.float32


def test_topk_and_kthvalue_report_bad_k_and_dims() -> None:
    x = sg.randn(3, 4)
    with pytest.raises(RuntimeError, match="k=5"):
        x.topk(5)
    with pytest.raises(RuntimeError, match="k=0"):
        x.kthvalue(0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.sort(2)
    with pytest.raises(IndexError, match="Dimension out of range"):
        sg.median(x, -3)
    assert x.topk(0)[0].shape == (3, 0)


def test_float32_stays_float32() -> None:
    x = sg.randn(4, 5, requires_grad=True)
    outs = [x.sort(1)[0], x.topk(2)[0], x.kthvalue(2)[0], x.median(0)[0], x.cumprod(1),
            x.logcumsumexp(1), x.lerp(x * 2, 0.5), x.nan_to_num(), x.diagonal(), x.diag(),
            x.triu(), x.trace(), x.mm(x.t()), x.addmm(x, sg.eye(5)),
            x.index_add(0, sg.tensor([1, 1]), sg.ones(2, 5)),
            x.scatter_reduce(0, sg.tensor([[0, 0, 1, 1, 2]]), sg.ones(1, 5), "mean"),
            x.scatter_reduce(1, sg.tensor([[0, 0, 1]] * 4), sg.ones(4, 3), "amax"),
            x.masked_select(x > 0), x.repeat_interleave(2, 0),
            x.take_along_dim(sg.tensor([[0], [1], [0], [2]]), 1)]
    for o in outs:
        assert o.dtype == sg.float32, o
    sum(o.sum() for o in outs).backward()
    assert x.grad.dtype == sg.float32
    assert sg.tensor([1, 2]).bincount(sg.tensor([0.5, 1.0])).dtype == sg.float32


@needs_torch
def test_non_differentiable_ops_match_torch() -> None:
    a = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    ta, sa = torch.tensor(a), sg.tensor(a)
    assert sa.nonzero().tolist() == ta.nonzero().tolist()
    assert sg.argwhere(sa).tolist() == torch.argwhere(ta).tolist()
    for s, t in zip(sa.nonzero(as_tuple=True), ta.nonzero(as_tuple=True)):
        assert s.tolist() == t.tolist() and s.dtype == sg.int64
    assert sa.count_nonzero().item() == 3
    assert sg.count_nonzero(sa, dim=1).tolist() == torch.count_nonzero(ta, dim=1).tolist()
    v = np.array([3, 1, 1, 2, 3, 3], dtype=np.int64)
    for kw in ({}, {"return_inverse": True}, {"return_counts": True},
               {"return_inverse": True, "return_counts": True}):
        s, t = sg.unique(sg.tensor(v), **kw), torch.unique(torch.tensor(v), **kw)
        s, t = (s if isinstance(s, tuple) else (s,)), (t if isinstance(t, tuple) else (t,))
        assert [x.tolist() for x in s] == [x.tolist() for x in t]
    m = np.array([[1, 2], [1, 2], [0, 5]], dtype=np.int64)
    s = sg.tensor(m).unique(dim=0, return_inverse=True, return_counts=True)
    t = torch.tensor(m).unique(dim=0, return_inverse=True, return_counts=True)
    assert [x.tolist() for x in s] == [x.tolist() for x in t]
    assert sg.bincount(sg.tensor(v), minlength=6).tolist() == torch.bincount(
        torch.tensor(v), minlength=6).tolist()
    w = np.linspace(0, 1, 6)
    np.testing.assert_allclose(sg.tensor(v).bincount(sg.tensor(w)).numpy(),
                               torch.tensor(v).bincount(torch.tensor(w)).numpy())
    seq = np.array([[1.0, 3.0, 5.0, 7.0], [2.0, 4.0, 6.0, 8.0]])
    q = np.array([[3.0, 6.0, 9.0], [1.0, 4.0, 5.0]])
    for right in (False, True):
        assert sg.searchsorted(sg.tensor(seq), sg.tensor(q), right=right).tolist() == \
            torch.searchsorted(torch.tensor(seq), torch.tensor(q), right=right).tolist()
        assert sg.searchsorted(sg.tensor(seq[0]), sg.tensor(q), right=right).tolist() == \
            torch.searchsorted(torch.tensor(seq[0]), torch.tensor(q), right=right).tolist()
    assert sg.searchsorted(sg.tensor(seq[0]), sg.tensor(q), out_int32=True).dtype == sg.int32
    b = np.array([1.0, np.nan, np.inf, -np.inf, 1.0 + 1e-9])
    for kw in ({}, {"equal_nan": True}, {"rtol": 0.0, "atol": 0.0}):
        assert sg.isclose(sg.tensor(b), sg.tensor(np.ones(5)), **kw).tolist() == \
            torch.isclose(torch.tensor(b), torch.tensor(np.ones(5)), **kw).tolist()
    for kw in ({}, {"nan": 1.0, "posinf": 2.0, "neginf": -3.0}):
        np.testing.assert_array_equal(sg.nan_to_num(sg.tensor(b), **kw).numpy(),
                                      torch.nan_to_num(torch.tensor(b), **kw).numpy())


def test_nan_to_num_gradient_is_zero_where_replaced() -> None:
    x = sg.tensor([1.0, float("nan"), float("inf"), 2.0], requires_grad=True)
    x.nan_to_num().sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 0.0, 1.0]


def test_type_as_contiguous_size_and_errors() -> None:
    x = sg.randn(3, 4)
    assert x.type_as(sg.tensor([1])).dtype == sg.int64
    assert x.is_contiguous() and not x.t().is_contiguous()
    c = x.t().contiguous()
    assert c.is_contiguous() and c.tolist() == x.t().tolist()
    assert sg.Size([3, 4]) == x.shape and sg.Size([3, 4]).numel() == 12
    assert sg.broadcast_to(sg.ones(3, 1), (3, 4)).shape == (3, 4)
    assert sg.numel(x) == 12
    with pytest.raises(RuntimeError, match="2-D"):
        sg.mm(x, sg.ones(4))
    with pytest.raises(RuntimeError, match="1-D vector"):
        x.mv(sg.ones(4, 1))
    with pytest.raises(RuntimeError, match="source"):
        x.index_add(0, sg.tensor([0]), sg.ones(2, 4))
    with pytest.raises(RuntimeError, match="reduce"):
        x.scatter_reduce(0, sg.tensor([[0]]), x, "max")
    with pytest.raises(RuntimeError, match="BoolTensor"):
        x.masked_select(sg.ones(3, 4))
    with pytest.raises(RuntimeError, match="repeats"):
        x.repeat_interleave(sg.tensor([1, 2]), 0)
    with pytest.raises(RuntimeError, match="non-negative"):
        sg.bincount(sg.tensor([1, -1]))
    with pytest.raises(RuntimeError, match="identical"):
        x.diagonal(0, 1, 1)
    with pytest.raises(RuntimeError, match="at least 2"):
        sg.ones(3).triu()
    with pytest.raises(IndexError, match="out of"):
        x.scatter(1, sg.tensor([[4]]), value=1.0)


def test_all_any_with_dim_and_function_forms() -> None:
    m = sg.tensor([[True, False], [True, True]])
    assert sg.all(m, dim=1).tolist() == [False, True]
    assert sg.any(m, 0).tolist() == [True, True]


def test_double_backward_through_sort_and_diagonal() -> None:
    x = sg.randn(4, dtype=sg.float64, requires_grad=True)
    v = (x ** 3).sort(descending=True).values
    (g,) = sg.autograd.grad(v[0], x, create_graph=True)
    g.sum().backward()
    i = int(np.argmax(x.detach().numpy() ** 3))
    expect = np.zeros(4)
    expect[i] = 6 * x.detach().numpy()[i]
    np.testing.assert_allclose(x.grad.numpy(), expect)


@needs_torch
@pytest.mark.parametrize("call", [
    lambda lib, t: t.scatter_(1, lib.tensor([[0], [2], [1]]),
                              lib.tensor([[5.0], [6.0], [7.0]], dtype=lib.float64)),
    lambda lib, t: t.index_add_(0, lib.tensor([2, 2]), lib.ones(2, 5, dtype=lib.float64)),
    lambda lib, t: t.scatter_reduce_(0, lib.tensor([[1, 1, 0, 2, 2]]),
                                     lib.ones(1, 5, dtype=lib.float64), "amax"),
    lambda lib, t: t.clamp_min_(0.0), lambda lib, t: t.clamp_max_(0.0),
    lambda lib, t: t.tril_(1), lambda lib, t: t.triu_(-1), lambda lib, t: t.cumprod_(1),
    lambda lib, t: t.lerp_(lib.ones(3, 5, dtype=lib.float64), 0.25),
    lambda lib, t: t.nan_to_num_(1.0)])
def test_inplace_forms_match_torch(call) -> None:
    a = X.copy()
    a[0, 0] = np.nan
    s, t = sg.tensor(a), torch.tensor(a)
    assert call(sg, s) is s
    call(torch, t)
    np.testing.assert_allclose(s.numpy(), t.numpy())
    assert s._version == 1
    leaf = sg.tensor(X, requires_grad=True)  # recorded when the tensor is in a graph
    y = leaf * 1.0
    call(sg, y)
    y.sum().backward()
    tl = torch.tensor(X, requires_grad=True)
    ty = tl * 1.0
    call(torch, ty)
    ty.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), tl.grad.numpy())


SECOND_ORDER = [
    lambda lib, x: x.cumprod(1),
    lambda lib, x: x.masked_select(lib.tensor(X[0] > 0)),
    lambda lib, x: x.repeat_interleave(lib.tensor([1, 0, 2]), dim=0),
    lambda lib, x: x.repeat_interleave(2, dim=1),
    lambda lib, x: x.topk(2, 1).values,
    lambda lib, x: x.diagonal(1),
    lambda lib, x: x.index_add(1, lib.tensor([0, 0]), x[:, :2] * 2.0),
    lambda lib, x: x.scatter(1, lib.tensor([[1], [0], [3]]), x[:, 2:3] ** 2),
    lambda lib, x: x.take_along_dim(lib.tensor([[0, 0], [1, 2], [4, 4]]), 1),
]


@needs_torch
@pytest.mark.parametrize("k", range(len(SECOND_ORDER)))
def test_second_order_gradients_match_torch(k: int) -> None:
    f = SECOND_ORDER[k]
    out = []
    for lib in (sg, torch):
        x = lib.tensor(X, requires_grad=True)
        y = f(lib, x ** 3)
        (g,) = lib.autograd.grad((y * y).sum(), x, create_graph=True)
        (g * g).sum().backward()
        out.append((g.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-9, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("largest", [True, False])
def test_topk_of_long_lines_matches_torch(largest: bool) -> None:
    a = rng.standard_normal((3, 200))
    a[1, 7] = np.nan  # NaN counts as the largest value
    torch_parity(lambda x: x.topk(5, 1, largest=largest),
                 lambda x: x.topk(5, 1, largest=largest), a)
    torch_parity(lambda x: x.topk(4, 0, largest=largest),
                 lambda x: x.topk(4, 0, largest=largest), rng.standard_normal((100, 3)))


@needs_torch
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
def test_scatter_reduce_on_integers_matches_torch(reduce: str) -> None:
    a = np.arange(12, dtype=np.int64).reshape(3, 4) - 5
    src = np.array([[3, -7, 2, 9], [4, 4, -1, 0]], dtype=np.int64)
    for inc in (True, False):
        s = sg.tensor(a).scatter_reduce(0, sg.tensor(SR_INDEX), sg.tensor(src), reduce,
                                        include_self=inc)
        t = torch.tensor(a).scatter_reduce(0, torch.tensor(SR_INDEX), torch.tensor(src), reduce,
                                           include_self=inc)
        assert s.tolist() == t.tolist() and s.dtype == sg.int64


DEVICE_CASES = {
    "sort": lambda sg_, x, d: x.sort(1, descending=True).values,
    "topk": lambda sg_, x, d: x.topk(2, 0).values,
    "median": lambda sg_, x, d: x.median(1).values + x.kthvalue(2, 0).values.sum(),
    "take_along_dim": lambda sg_, x, d: x.take_along_dim(
        sg_.tensor([[0, 4], [1, 1], [2, 0]], device=d), 1),
    "index_add": lambda sg_, x, d: x.index_add(1, sg_.tensor([4, 0, 4], device=d), x[:, :3]),
    "scatter": lambda sg_, x, d: x.scatter(1, sg_.tensor([[0], [3], [1]], device=d),
                                           x[:, 4:] * 2),
    "scatter_reduce": lambda sg_, x, d: x.scatter_reduce(
        1, sg_.tensor([[0, 0, 2]] * 3, device=d), x[:, 2:] ** 2, "amax"),
    "masked_select": lambda sg_, x, d: x.masked_select(x > 0),
    "repeat_interleave": lambda sg_, x, d: x.repeat_interleave(
        sg_.tensor([2, 0, 1], device=d), dim=0),
    "diag_triu": lambda sg_, x, d: x.diagonal(1).diag() .sum() + x.triu(1),
    "cumprod": lambda sg_, x, d: x.cumprod(1) + x.logcumsumexp(0),
    "nan_to_num": lambda sg_, x, d: (x / (x > 0)).nan_to_num(posinf=3.0),
}


@pytest.mark.parametrize("name", sorted(DEVICE_CASES))
def test_ops_on_the_fake_gpu_module_match_cpu(name: str) -> None:
    """The device code paths (a second array module that refuses host arrays)."""
    from tests.helpers import fake_cuda
    from softgrad import backend

    fn = DEVICE_CASES[name]
    x = sg.tensor(X, requires_grad=True)
    ref = fn(sg, x, "cpu")
    ref.sum().backward()
    fake_cuda.install()
    try:
        xc = sg.tensor(X, device="cuda", requires_grad=True)
        out = fn(sg, xc, "cuda")
        out.sum().backward()
        assert isinstance(out._data, backend._cupy.ndarray)
        np.testing.assert_allclose(backend.to_numpy(out._data), ref.detach().numpy())
        np.testing.assert_allclose(backend.to_numpy(xc.grad._data), x.grad.numpy())
    finally:
        fake_cuda.uninstall()


def test_non_differentiable_ops_on_the_fake_gpu_module() -> None:
    from tests.helpers import fake_cuda
    from softgrad import backend

    fake_cuda.install()
    try:
        a = sg.tensor([[0.0, 2.0, 0.0], [1.0, 1.0, -1.0]], device="cuda")
        assert a.nonzero().device == "cuda" and a.nonzero().tolist() == [[0, 1], [1, 0], [1, 1],
                                                                         [1, 2]]
        assert a.unique().tolist() == [-1.0, 0.0, 1.0, 2.0] and a.unique().device == "cuda"
        assert a.count_nonzero(1).tolist() == [1, 3]
        assert a.isclose(a).all().item()
        v = sg.tensor([1, 1, 3], device="cuda")
        assert v.bincount().tolist() == [0, 2, 0, 1]
        seq = sg.tensor([1.0, 3.0, 5.0], device="cuda")
        assert sg.searchsorted(seq, sg.tensor([2.0, 5.0], device="cuda")).tolist() == [1, 2]
        assert isinstance(a.argsort()._data, backend._cupy.ndarray)
    finally:
        fake_cuda.uninstall()


@needs_torch
def test_searchsorted_rows_with_ties_match_torch() -> None:
    seq = np.sort(rng.integers(0, 6, (4, 7)), axis=1).astype(np.float64)
    q = rng.integers(-1, 8, (4, 9)).astype(np.float64)
    for right in (False, True):
        assert sg.searchsorted(sg.tensor(seq), sg.tensor(q), right=right).tolist() == \
            torch.searchsorted(torch.tensor(seq), torch.tensor(q), right=right).tolist()
    shuffled = rng.permuted(seq, axis=1)  # unsorted: sorter gives the order
    srt = np.argsort(shuffled, axis=1, kind="stable")
    assert sg.searchsorted(sg.tensor(shuffled), sg.tensor(q), sorter=sg.tensor(srt),
                           side="right").tolist() == torch.searchsorted(
        torch.tensor(shuffled), torch.tensor(q), sorter=torch.tensor(srt), side="right").tolist()
