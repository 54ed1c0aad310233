"""Indexing: ints, slices, ellipsis, None, integer and boolean arrays; gather, scatter_add,
index_select, masked_fill, and assignment."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import gradcheck
from tests.helpers.op_cases import INDEX, op_tests


test_matches_torch, test_gradient_matches_finite_differences = op_tests(INDEX)


def test_repeated_indices_accumulate_gradient() -> None:
    x = sg.zeros(4, requires_grad=True)
    x[[0, 0, 3, 0]].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 0.0, 1.0]
    y = sg.zeros(2, 3, requires_grad=True)
    (y[sg.tensor([1, 1]), sg.tensor([2, 2])] * sg.tensor([2.0, 5.0])).sum().backward()
    assert y.grad.tolist() == [[0, 0, 0], [0, 0, 7.0]]
    z = sg.zeros(3, requires_grad=True)
    z.gather(0, sg.tensor([2, 2, 2, 0])).sum().backward()
    assert z.grad.tolist() == [1.0, 0.0, 3.0]
    w = sg.zeros(3, requires_grad=True)
    w.index_select(0, sg.tensor([1, 1])).sum().backward()
    assert w.grad.tolist() == [0.0, 2.0, 0.0]


def test_scatter_add_accumulates_and_uses_the_index_shaped_part_of_src() -> None:
    base = sg.zeros(2, 3)
    src = sg.tensor([[1.0, 2.0, 9.0], [3.0, 4.0, 9.0]], requires_grad=True)
    out = base.scatter_add(1, sg.tensor([[0, 0], [2, 1]]), src)
    assert out.tolist() == [[3.0, 0.0, 0.0], [0.0, 4.0, 3.0]]
    (out * sg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
    assert src.grad.tolist() == [[1.0, 1.0, 0.0], [6.0, 5.0, 0.0]]
    idx = sg.tensor([[0, 0], [2, 1]])
    gradcheck(lambda a, s: a.scatter_add(1, idx, s), np.zeros((2, 3)), np.ones((2, 3)))


def test_masked_fill_with_tensor_value_gets_gradient() -> None:
    x = sg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = sg.tensor(5.0, requires_grad=True)
    out = x.masked_fill(sg.tensor([True, False, True]), v)
    assert out.tolist() == [5.0, 2.0, 5.0]
    out.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0] and v.grad.item() == 2.0


def test_setitem_writes_values_under_no_grad_and_bumps_the_version() -> None:
    x = sg.zeros(2, 3)
    x[0] = 1.0
    x[:, 2] = sg.tensor([5.0, 6.0])
    x[x == 0] = -1.0
    assert x.tolist() == [[1.0, 1.0, 5.0], [-1.0, -1.0, 6.0]] and x._version == 3
    y = x.masked_fill_(x > 2, 0.0)
    assert y is x and x.tolist() == [[1.0, 1.0, 0.0], [-1.0, -1.0, 0.0]]


def test_integer_and_bool_indices_as_python_lists_and_tensors_agree() -> None:
    a = np.arange(12.0).reshape(3, 4)
    x = sg.tensor(a)
    for index in ([2, 0], sg.tensor([2, 0]), (slice(None), [True, False, True, False]),
                  (sg.tensor([0, 2]), sg.tensor([1, 3])), (Ellipsis, None, 1)):
        np_index = tuple(i.numpy() if isinstance(i, sg.Tensor) else i for i in index) \
            if isinstance(index, tuple) else (index.numpy() if isinstance(index, sg.Tensor)
                                              else index)
        np.testing.assert_array_equal(x[index].numpy(), a[np_index])


@pytest.mark.parametrize("call, error, message", [
    (lambda x: x[3], IndexError, r"index 3 is out of bounds .*size 3.*shape \(3, 4\)"),
    (lambda x: x[:, -5], IndexError, r"out of bounds.*shape \(3, 4\)"),
    (lambda x: x[[0, 7]], IndexError, "index 7 is out of bounds"),
    (lambda x: x[0, 0, 0], IndexError, "too many indices"),
    (lambda x: x[sg.tensor([True, False])], IndexError, "boolean index did not match"),
    (lambda x: x.gather(1, sg.tensor([[4]])), IndexError,
     r"gather\(\): index 4 is out of bounds for dimension 1 with size 4"),
    (lambda x: x.gather(1, sg.tensor([0, 1])), RuntimeError, "same number of dimensions"),
    (lambda x: x.gather(1, sg.tensor([[0.5]])), RuntimeError, "int64"),
    (lambda x: x.scatter_add(0, sg.tensor([[3]]), sg.ones(1, 1)), IndexError,
     "out of bounds for dimension 0 with size 3"),
    (lambda x: x.scatter_add(0, sg.tensor([[0, 1, 2]]), sg.ones(1, 2)), RuntimeError,
     r"index \(1, 3\) to be no larger than src \(1, 2\)"),
    (lambda x: x.scatter_add(1, sg.tensor([[0]] * 4), sg.ones(4, 1)), RuntimeError,
     r"than self \(3, 4\) apart from dimension 1"),
    (lambda x: x.index_select(0, sg.tensor([[0]])), IndexError, "vector"),
    (lambda x: x.index_select(1, sg.tensor([-5])), IndexError, "out of bounds"),
    (lambda x: x.masked_fill(sg.tensor([1, 0, 1, 0]), 0.0), RuntimeError, "boolean masks"),
    (lambda x: x.masked_fill(sg.ones(2, 3, 4) > 0, 0.0), RuntimeError,
     r"mask of shape \(2, 3, 4\) must be broadcastable to the input of shape \(3, 4\)"),
    (lambda x: x.masked_fill(x > 0, sg.ones(2)), RuntimeError, "0-dimensional value"),
])
def test_bad_indices_raise_clear_errors(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call(sg.ones(3, 4))
