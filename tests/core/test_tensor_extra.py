"""Statistics, scans, index writes, splits, stacking and the other Tensor/sg.* additions:
values and gradients against PyTorch (float64) and finite differences, plus edge cases."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import needs_torch, torch
from tests.helpers.op_cases import STATS_INDEX, op_tests

test_matches_torch, test_gradient_matches_finite_differences = op_tests(STATS_INDEX)


def _f64(a) -> sg.Tensor:
    return sg.tensor(np.asarray(a, dtype=np.float64))


# ---------------------------------------------------------------------- nan handling
@needs_torch
def test_nan_aware_reductions_and_quantiles_match_torch() -> None:
    x = np.array([[1.0, np.nan, 3.0, 0.5], [np.nan, np.nan, np.nan, np.nan],
                  [2.0, 4.0, -1.0, 0.0]])
    t = torch.tensor(x)
    np.testing.assert_allclose(sg.nansum(_f64(x), 1).numpy(), torch.nansum(t, 1).numpy())
    np.testing.assert_allclose(sg.nanmean(_f64(x), 1).numpy(), torch.nanmean(t, 1).numpy())
    for q in (0.0, 0.25, 1.0):
        np.testing.assert_allclose(sg.nanquantile(_f64(x), q, 1).numpy(),
                                   torch.nanquantile(t, q, 1).numpy())
        np.testing.assert_allclose(sg.quantile(_f64(x), q, 1).numpy(),
                                   torch.quantile(t, q, 1).numpy())
    assert np.isnan(sg.quantile(_f64(x), 0.5).item())
    assert sg.nanquantile(_f64(x), 0.5).item() == torch.nanquantile(t, 0.5).item()
    v, i = sg.cummax(_f64([1.0, np.nan, 3.0, 0.0]), 0)
    tv, ti = torch.cummax(torch.tensor([1.0, np.nan, 3.0, 0.0]), 0)
    np.testing.assert_array_equal(v.numpy(), tv.numpy())
    assert i.tolist() == ti.tolist()


@needs_torch
def test_mode_and_cummax_indices_follow_torch_on_ties() -> None:
    x = np.array([[1.0, 2, 2, 1, 3, 1, 2], [5, 5, 4, 4, 4, 5, 6]])
    v, i = sg.mode(_f64(x), 1)
    tv, ti = torch.mode(torch.tensor(x), 1)
    assert v.tolist() == tv.tolist() and i.tolist() == ti.tolist()
    for fn in ("cummax", "cummin"):
        ours, theirs = getattr(sg, fn)(_f64(x), 1), getattr(torch, fn)(torch.tensor(x), 1)
        assert ours.indices.tolist() == theirs.indices.tolist()
    ints = sg.tensor([[3, 1, 3, 3]])
    assert sg.mode(ints).values.tolist() == [3] and sg.cummax(ints, 1).values.tolist() == \
        [[3, 3, 3, 3]]


def test_quantile_errors() -> None:
    with pytest.raises(RuntimeError, match=r"range \[0, 1\]"):
        sg.quantile(sg.randn(4), 1.5)
    with pytest.raises(RuntimeError, match="interpolation"):
        sg.quantile(sg.randn(4), 0.5, interpolation="cubic")
    with pytest.raises(RuntimeError, match="float or double"):
        sg.quantile(sg.tensor([1, 2]), 0.5)


# ---------------------------------------------------------------------- histograms, buckets
@needs_torch
def test_histc_histogram_bucketize_and_indices_match_torch() -> None:
    x = np.random.default_rng(0).standard_normal(200)
    t = torch.tensor(x)
    np.testing.assert_array_equal(sg.histc(_f64(x), 10).numpy(), torch.histc(t, 10).numpy())
    np.testing.assert_array_equal(sg.histc(_f64(x), 7, -1, 1).numpy(),
                                  torch.histc(t, 7, -1, 1).numpy())
    h, e = sg.histogram(_f64(x), 5, range=(-2.0, 2.0), density=True)
    th, te = torch.histogram(t, 5, range=(-2.0, 2.0), density=True)
    np.testing.assert_allclose(h.numpy(), th.numpy())
    np.testing.assert_allclose(e.numpy(), te.numpy())
    b = np.array([-1.0, 0.0, 0.5, 2.0])
    for right in (False, True):
        assert sg.bucketize(_f64(x), _f64(b), right=right).tolist() == \
            torch.bucketize(t, torch.tensor(b), right=right).tolist()
    assert sg.tril_indices(4, 3, -1).tolist() == torch.tril_indices(4, 3, -1).tolist()
    assert sg.triu_indices(3, 5, 1).tolist() == torch.triu_indices(3, 5, 1).tolist()
    flat = sg.tensor([0, 5, 11, -1])
    ours = sg.unravel_index(flat, (3, 4))
    theirs = torch.unravel_index(torch.tensor([0, 5, 11, -1]), (3, 4))
    assert [o.tolist() for o in ours] == [t_.tolist() for t_ in theirs]


# ---------------------------------------------------------------------- dtype helpers
@needs_torch
def test_dtype_queries_match_torch() -> None:
    pairs = [(sg.float32, sg.int64), (sg.int8, sg.uint8), (sg.bool, sg.int32),
             (sg.float64, sg.float32)]
    for a, b in pairs:
        assert sg.promote_types(a, b).name == str(torch.promote_types(
            getattr(torch, a.name), getattr(torch, b.name))).split(".")[1]
        assert sg.can_cast(a, b) == torch.can_cast(getattr(torch, a.name),
                                                   getattr(torch, b.name))
    assert sg.result_type(sg.tensor([1, 2]), 1.0) == sg.float32
    assert sg.result_type(sg.tensor([1.0], dtype=sg.float64), 1) == sg.float64
    assert sg.result_type(sg.tensor([1], dtype=sg.int32), sg.tensor([1])) == sg.int64
    assert sg.finfo(sg.float64).eps == torch.finfo(torch.float64).eps
    assert sg.finfo().tiny == torch.finfo(torch.float32).tiny
    assert sg.iinfo(sg.int16).min == torch.iinfo(torch.int16).min
    assert sg.is_nonzero(sg.tensor([2.0])) and not sg.is_floating_point(sg.tensor([1]))
    with pytest.raises(RuntimeError, match="ambiguous"):
        sg.is_nonzero(sg.tensor([1.0, 2.0]))


def test_set_default_dtype_changes_new_floating_tensors() -> None:
    try:
        sg.set_default_dtype(sg.float64)
        assert sg.get_default_dtype() == sg.float64
        assert sg.tensor([1.5]).dtype == sg.float64 and sg.zeros(2).dtype == sg.float64
        assert sg.nn.Linear(2, 2).weight.dtype == sg.float64
        with pytest.raises(TypeError, match="floating-point"):
            sg.set_default_dtype(sg.int64)
    finally:
        sg.set_default_dtype(sg.float32)
    assert sg.tensor([1.5]).dtype == sg.float32


def test_random_like_and_strided_factories_and_torch_dropout() -> None:
    sg.manual_seed(0)
    x = sg.zeros(3, 4, dtype=sg.int32)
    r = sg.randint_like(x, 2, 5)
    assert r.shape == (3, 4) and r.dtype == sg.int32 and 2 <= r.min().item() <= r.max().item() < 5
    assert sg.randint_like(x, 3).max().item() < 3
    assert sg.empty_strided((2, 3), (3, 1)).shape == (2, 3)
    y = sg.ones(1000)
    kept = sg.dropout(y, 0.5, True).numpy()
    assert set(np.unique(kept)) <= {0.0, 2.0} and sg.dropout(y, 0.5, False) is y


def test_stacking_helpers_shapes() -> None:
    assert sg.atleast_1d(sg.tensor(1.0)).shape == (1,)
    assert sg.atleast_2d(sg.ones(3)).shape == (1, 3)
    assert [t.shape for t in sg.atleast_3d(sg.ones(3), sg.ones(2, 3))] == [(1, 3, 1), (2, 3, 1)]
    assert sg.hstack([sg.ones(2, 1), sg.zeros(2, 3)]).shape == (2, 4)
    assert sg.column_stack([sg.ones(3), sg.zeros(3)]).tolist() == [[1, 0]] * 3
    assert sg.block_diag(sg.ones(1, 2), sg.tensor(3.0)).tolist() == [[1, 1, 0], [0, 0, 3]]
    assert sg.combinations(sg.tensor([1, 2, 3])).tolist() == [[1, 2], [1, 3], [2, 3]]
    assert sg.cartesian_prod(sg.tensor([1, 2]), sg.tensor([3, 4])).tolist() == \
        [[1, 3], [1, 4], [2, 3], [2, 4]]
    with pytest.raises(RuntimeError, match="2 or fewer"):
        sg.block_diag(sg.ones(1, 1, 1))


# ---------------------------------------------------------------------- in-place index writes
def test_inplace_index_writes_and_version_counter() -> None:
    x = sg.zeros(3, 4)
    x.index_fill_(1, sg.tensor([0, 3]), 2.0)
    x.index_copy_(0, sg.tensor([1]), sg.ones(1, 4))
    x.index_put_((sg.tensor([2]), sg.tensor([2])), sg.tensor(7.0))
    x.masked_scatter_(sg.tensor([[False] * 4, [False] * 4, [True, False, False, False]]),
                      sg.tensor([5.0]))
    x.put_(sg.tensor([1]), sg.tensor([9.0]))
    x.scatter_add_(1, sg.tensor([[0], [0], [0]]), sg.ones(3, 1))
    assert x.tolist() == [[3, 9, 0, 2], [2, 1, 1, 1], [6, 0, 7, 2]]
    assert x._version == 6
    y = sg.zeros(3, 3)
    y.fill_diagonal_(4.0)
    assert y.tolist() == [[4, 0, 0], [0, 4, 0], [0, 0, 4]]
    leaf = sg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        leaf.index_fill_(0, sg.tensor([0]), 1.0)
    h = leaf * 2
    h.index_fill_(0, sg.tensor([1]), 5.0)
    h.sum().backward()
    assert leaf.grad.tolist() == [2.0, 0.0, 2.0]


def test_index_write_errors() -> None:
    with pytest.raises(IndexError, match="out of range"):
        sg.zeros(3).index_fill(0, sg.tensor([3]), 1.0)
    with pytest.raises(RuntimeError, match="at least 3 elements"):
        sg.zeros(3).masked_scatter(sg.tensor([True, True, True]), sg.ones(2))
    with pytest.raises(RuntimeError, match="boolean masks"):
        sg.zeros(3).masked_scatter(sg.tensor([1, 0, 1]), sg.ones(2))
    with pytest.raises(RuntimeError, match="is 3 but size is 4"):
        sg.zeros(3).unfold(0, 4, 1)
    with pytest.raises(RuntimeError, match="not divisible"):
        sg.zeros(2, 3).hsplit(2)
    with pytest.raises(RuntimeError, match="not expandable"):
        sg.zeros(2, 3).sum_to_size(4, 3)
