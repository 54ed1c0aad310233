"""Shape ops: reshape/view, squeeze, permute, expand/repeat, flip/roll, narrow/split, cat/stack."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.op_cases import SHAPE, op_tests


test_matches_torch, test_gradient_matches_finite_differences = op_tests(SHAPE)


def test_shape_arguments_accept_varargs_tuples_and_lists() -> None:
    x = sg.arange(24.0)
    assert x.reshape(2, 3, 4).shape == x.reshape((2, 3, 4)).shape == x.view([2, -1, 4]).shape
    y = x.reshape(2, 3, 4)
    assert y.permute(2, 0, 1).shape == y.permute((2, 0, 1)).shape == (4, 2, 3)
    assert y.size() == (2, 3, 4) and y.size(-1) == 4 and y.numel() == 24


def test_split_chunk_cover_the_tensor_exactly() -> None:
    x = sg.arange(10.0)
    assert [t.shape[0] for t in x.split(3)] == [3, 3, 3, 1]
    assert [t.shape[0] for t in x.chunk(4)] == [3, 3, 3, 1]
    assert [t.shape[0] for t in x.chunk(3)] == [4, 4, 2]
    np.testing.assert_array_equal(sg.cat(x.split([2, 0, 8])).numpy(), x.numpy())


def test_cat_promotes_dtypes_and_skips_empty_vectors() -> None:
    out = sg.cat([sg.tensor([1, 2]), sg.tensor([0.5]), sg.tensor([])])
    assert out.dtype == sg.float32 and out.tolist() == [1.0, 2.0, 0.5]
    assert sg.stack([sg.tensor(1.0), sg.tensor(2.0)]).shape == (2,)


def test_gradient_flows_through_cat_only_to_inputs_that_need_it() -> None:
    a = sg.ones(2, 2, requires_grad=True)
    b = sg.zeros(2, 1)
    out = sg.cat([a, b], 1)
    (out * sg.tensor([[1.0, 2.0, 3.0]])).sum().backward()
    assert a.grad.tolist() == [[1.0, 2.0], [1.0, 2.0]] and b.grad is None


@pytest.mark.parametrize("call, message", [
    (lambda x: x.reshape(5, 5), r"shape '\[5, 5\]' is invalid for input of size 24"),
    (lambda x: x.view(-1, -1), "only one dimension can be inferred"),
    (lambda x: x.permute(0, 1), "not a permutation"),
    (lambda x: x.permute(0, 1, 1), "not a permutation"),
    (lambda x: x.transpose(0, 3), "Dimension out of range"),
    (lambda x: x.unsqueeze(4), "Dimension out of range"),
    (lambda x: x.squeeze(3), "Dimension out of range"),
    (lambda x: x.expand(3, 3, 4), r"expanded size of the tensor \(3\) must match the existing "
                                  r"size \(2\)"),
    (lambda x: x.expand(3, 4), "must be greater or equal"),
    (lambda x: x.repeat(2), "can not be smaller"),
    (lambda x: x.flatten(2, 0), "start_dim cannot come after end_dim"),
    (lambda x: x.unflatten(1, (2, 2)), "don't multiply up"),
    (lambda x: x.narrow(2, 3, 2), r"start \(3\) \+ length \(2\) exceeds dimension size \(4\)"),
    (lambda x: x.split([1, 1], 1), "sum exactly to 3"),
    (lambda x: x.chunk(0), "greater than 0"),
    (lambda x: x.split(0, 1), "split_size can only be 0"),
    (lambda x: sg.cat([x, sg.ones(2, 4, 4)], 2), r"\(2, 3, 4\) but got \(2, 4, 4\)"),
    (lambda x: sg.cat([x, sg.ones(3, 4)]), r"\(2, 3, 4\) but got \(3, 4\)"),
    (lambda x: sg.cat([]), "non-empty"),
    (lambda x: sg.cat([sg.tensor(1.0), sg.tensor(2.0)]), "zero-dimensional"),
    (lambda x: sg.stack([x, x[:1]]), r"\(2, 3, 4\) at entry 0 and \(1, 3, 4\) at entry 1"),
])
def test_bad_shape_arguments_raise_clear_errors(call, message) -> None:
    x = sg.ones(2, 3, 4)
    with pytest.raises((RuntimeError, IndexError), match=message):
        call(x)


def test_views_share_no_state_with_the_graph_of_the_input() -> None:
    x = sg.arange(6.0).reshape(2, 3).requires_grad_()
    y = x.T.reshape(-1)
    (y * sg.arange(6.0)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(6.0).reshape(3, 2).T)
