"""The fast paths of topk (k argmax passes), index_add (rounds of distinct indices) and
scatter_reduce (flat targets, ufunc.at) agree with the general paths and with PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import needs_torch, torch
from softgrad.ops import select as sel


def _lines(dtype, seed: int = 0) -> np.ndarray:
    """Rows of 100 values with ties, signed zeros and infinities."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-20, 20, (6, 100)).astype(dtype)  # many ties
    x[0, :5] = [0.0, -0.0, 0.0, -0.0, 0.0]
    x[1, 3], x[1, 50], x[2, 7], x[2, 8] = np.inf, np.inf, -np.inf, -np.inf
    x[3] = -np.inf  # a whole line of -inf
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("dim", [0, 1])
def test_topk_argmax_path_matches_a_stable_sort(monkeypatch, dtype, largest, dim) -> None:
    """Values as every path gives them; ties in index order, as a stable sort puts them."""
    x = _lines(dtype)
    k = 7 if dim == 1 else 4
    fast = sg.tensor(x).topk(k, dim, largest=largest)
    order = np.argsort(-x if largest else x, axis=dim, kind="stable")
    ref = np.take(order, np.arange(k), axis=dim)
    np.testing.assert_array_equal(fast.indices.numpy(), ref)
    np.testing.assert_array_equal(fast.values.numpy(), np.take_along_axis(x, ref, dim))
    monkeypatch.setattr(sel, "TOPK_ARGMAX_MAX_K", 0)  # the partition path: same values
    slow = sg.tensor(x).topk(k, dim, largest=largest)
    np.testing.assert_array_equal(fast.values.numpy(), slow.values.numpy())


def test_topk_argmax_path_declines_nan_and_integers() -> None:
    x = _lines(np.float32)
    x[4, 9] = np.nan
    assert sel.topk_by_argmax(np, x, 3, 1, True) is None
    assert sel.topk_by_argmax(np, x.astype(np.int64), 3, 1, True) is None
    vals = sg.tensor(x).topk(3, 1).values.numpy()
    assert np.isnan(vals[4, 0])  # NaN is the largest, as in PyTorch


@needs_torch
def test_topk_values_indices_and_gradient_match_torch() -> None:
    x = np.random.default_rng(1).standard_normal((5, 300)).astype(np.float32)
    for largest in (True, False):
        s, t = sg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        so, to = s.topk(9, 1, largest=largest), t.topk(9, 1, largest=largest)
        np.testing.assert_array_equal(so.values.detach().numpy(), to.values.detach().numpy())
        np.testing.assert_array_equal(so.indices.numpy(), to.indices.numpy())
        w = np.arange(45, dtype=np.float32).reshape(5, 9)
        (so.values * sg.tensor(w)).sum().backward()
        (to.values * torch.tensor(w)).sum().backward()
        np.testing.assert_array_equal(s.grad.numpy(), t.grad.numpy())


def test_distinct_rounds_split_repeats_in_order() -> None:
    idx = np.array([3, 1, 3, 3, 0, 1], dtype=np.int64)
    rounds = sel.distinct_rounds(np, idx)
    assert [r.tolist() for r, _ in rounds] == [[0, 1, 4], [2, 5], [3]]
    assert [v.tolist() for _, v in rounds] == [[3, 1, 0], [3, 1], [3]]
    assert sel.distinct_rounds(np, np.array([2, 0, 1]))[0][0] is None


@needs_torch
@pytest.mark.parametrize("dim", [0, 1])
def test_index_add_with_many_repeats_matches_torch(dim) -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 7)).astype(np.float32)
    idx = np.array([2, 2, 0, 2, 5, 0, 2, 1], dtype=np.int64)
    src = rng.standard_normal((8, 7) if dim == 0 else (6, 8)).astype(np.float32)
    s, t = [lib.tensor(x, requires_grad=True) for lib in (sg, torch)]
    ss, ts = [lib.tensor(src, requires_grad=True) for lib in (sg, torch)]
    so = s.index_add(dim, sg.tensor(idx), ss, alpha=0.5)
    to = t.index_add(dim, torch.tensor(idx), ts, alpha=0.5)
    np.testing.assert_allclose(so.detach().numpy(), to.detach().numpy(), rtol=1e-6, atol=1e-6)
    w = rng.standard_normal(x.shape).astype(np.float32)
    (so * sg.tensor(w)).sum().backward()
    (to * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ss.grad.numpy(), ts.grad.numpy(), rtol=1e-6)


@needs_torch
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_integers_match_torch(reduce, include_self) -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(-5, 6, (4, 6))
    src = rng.integers(-5, 6, (5, 6))
    idx = rng.integers(0, 4, (5, 6))
    out = sg.tensor(x).scatter_reduce(0, sg.tensor(idx), sg.tensor(src), reduce,
                                      include_self=include_self)
    ref = torch.tensor(x).scatter_reduce(0, torch.tensor(idx), torch.tensor(src), reduce,
                                         include_self=include_self)
    np.testing.assert_array_equal(out.numpy(), ref.numpy())


@needs_torch
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_amax_broadcast_index_gradient_matches_torch(include_self) -> None:
    """The benchmark's shape of use: an expanded row index, many ties through duplicates."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((40, 16)).astype(np.float32)
    idx = rng.integers(0, 40, 30)
    src = np.round(rng.standard_normal((30, 16)), 1).astype(np.float32)
    src[5] = src[6]  # equal rows: the gradient is shared
    idx[6] = idx[5]
    outs = []
    for lib in (sg, torch):
        a, s = lib.tensor(x, requires_grad=True), lib.tensor(src, requires_grad=True)
        i = lib.tensor(idx)[:, None].expand(-1, 16)
        o = a.scatter_reduce(0, i, s, "amax", include_self=include_self)
        (o * lib.tensor(np.arange(640, dtype=np.float32).reshape(40, 16))).sum().backward()
        outs.append([o.detach().numpy(), a.grad.numpy(), s.grad.numpy()])
    for mine, ref in zip(*outs):
        np.testing.assert_allclose(mine, ref, rtol=1e-6)
