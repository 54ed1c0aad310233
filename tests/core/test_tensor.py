"""The Tensor API: factories, dtypes, attributes, conversions, repr and seeding."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import needs_torch, torch


def test_tensor_infers_torch_dtypes_and_copies() -> None:
    assert sg.tensor([1.0, 2.0]).dtype == sg.float32
    assert sg.tensor([1, 2]).dtype == sg.int64 and sg.tensor([True]).dtype == sg.bool
    assert sg.tensor(np.ones(2)).dtype == sg.float64
    assert sg.tensor([1, 2], dtype=sg.float64).dtype == sg.float64
    assert sg.tensor(3.5).shape == () and sg.tensor([]).shape == (0,)
    a = np.ones(3)
    t = sg.tensor(a)
    a[0] = 5
    assert t.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(TypeError, match="dtype"):
        sg.tensor(np.array(["a"]))


def test_from_numpy_shares_memory_and_keeps_dtype() -> None:
    a = np.zeros(3, dtype=np.float64)
    t = sg.from_numpy(a)
    a[1] = 2.0
    assert t.dtype == sg.float64 and t.tolist() == [0.0, 2.0, 0.0]
    assert sg.from_numpy(np.arange(3)).dtype == sg.int64
    with pytest.raises(TypeError, match="np.ndarray"):
        sg.from_numpy([1, 2])


@pytest.mark.parametrize("make, shape, dtype", [
    (lambda: sg.zeros(2, 3), (2, 3), sg.float32),
    (lambda: sg.ones((2, 3), dtype=sg.float64), (2, 3), sg.float64),
    (lambda: sg.full((2,), 7), (2,), sg.int64),
    (lambda: sg.full((2, 2), 0.5), (2, 2), sg.float32),
    (lambda: sg.full((1,), True), (1,), sg.bool),
    (lambda: sg.empty(4), (4,), sg.float32),
    (lambda: sg.eye(3), (3, 3), sg.float32),
    (lambda: sg.eye(2, 4, dtype=sg.int64), (2, 4), sg.int64),
    (lambda: sg.arange(5), (5,), sg.int64),
    (lambda: sg.arange(1, 2, 0.25), (4,), sg.float32),
    (lambda: sg.linspace(0, 1, 5), (5,), sg.float32),
    (lambda: sg.rand(2, 3), (2, 3), sg.float32),
    (lambda: sg.randn(4, dtype=sg.float64), (4,), sg.float64),
    (lambda: sg.randint(0, 10, (3, 2)), (3, 2), sg.int64),
    (lambda: sg.randint(5, (2,)), (2,), sg.int64),
    (lambda: sg.zeros_like(sg.ones(2, 2, dtype=sg.float64)), (2, 2), sg.float64),
    (lambda: sg.ones_like(sg.tensor([1, 2])), (2,), sg.int64),
    (lambda: sg.randn_like(sg.ones(3)), (3,), sg.float32),
])
def test_factories_give_shape_and_dtype(make, shape, dtype) -> None:
    t = make()
    assert t.shape == shape and t.dtype == dtype and not t.requires_grad


def test_factory_values() -> None:
    np.testing.assert_allclose(sg.linspace(0, 1, 5).numpy(), [0, 0.25, 0.5, 0.75, 1])
    assert sg.arange(2, 8, 2).tolist() == [2, 4, 6] and sg.eye(2).tolist() == [[1, 0], [0, 1]]
    assert (sg.randint(3, 5, (50,)).numpy() >= 3).all() and (sg.rand(50).numpy() < 1).all()
    assert sg.zeros(2, requires_grad=True).requires_grad


def test_manual_seed_drives_every_random_factory() -> None:
    def draw() -> list:
        return [sg.rand(3).tolist(), sg.randn(2).tolist(), sg.randint(0, 100, (4,)).tolist(),
                sg.randn_like(sg.ones(2)).tolist()]

    sg.manual_seed(7)
    first = draw()
    sg.manual_seed(7)
    assert draw() == first
    sg.manual_seed(8)
    assert draw() != first


def test_attributes() -> None:
    x = sg.ones(2, 3, requires_grad=True)
    y = x * 2
    assert x.shape == (2, 3) and x.ndim == 2 and x.size() == (2, 3) and x.size(1) == 3
    assert x.size(-1) == 3 and x.numel() == 6 and x.device == "cpu" and len(x) == 2
    assert x.is_leaf and not y.is_leaf and y.grad_fn is not None and x.grad is None
    assert sg.ones(2).is_leaf and (sg.ones(2) * 2).is_leaf  # no grad: no graph
    assert x.T.shape == (3, 2) and x.dtype == sg.float32 and x.dtype == np.float32
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.size(2)


def test_conversions() -> None:
    x = sg.tensor([[1.5, 2.5]], requires_grad=True)
    assert sg.tensor(3).item() == 3 and isinstance(sg.tensor(3).item(), int)
    assert isinstance(sg.tensor(2.5).item(), float) and float(sg.tensor([4.0])) == 4.0
    assert x.tolist() == [[1.5, 2.5]] and x.detach().numpy().dtype == np.float32
    a = np.asarray(x)
    assert isinstance(a, np.ndarray) and a.shape == (1, 2)
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    with pytest.raises(ValueError, match="2 elements"):
        x.item()


def test_dtype_casts_and_to() -> None:
    x = sg.tensor([1.7, -2.2], requires_grad=True)
    assert x.float() is x and x.double().dtype == sg.float64 and x.long().tolist() == [1, -2]
    assert x.to(sg.float64).dtype == sg.float64 and x.to("float64").dtype == sg.float64
    assert x.to(dtype=sg.int64).dtype == sg.int64 and x.to(sg.ones(1).double()).dtype == sg.float64
    assert x.to(sg.float32) is x and x.to(sg.float32, copy=True) is not x
    d = x.double()
    assert d.requires_grad and not x.long().requires_grad
    (d * 2).sum().backward()  # the gradient flows back through the cast, in float32
    assert x.grad.dtype == sg.float32 and x.grad.tolist() == [2.0, 2.0]


def test_detach_and_requires_grad_() -> None:
    x = sg.ones(2, requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and np.shares_memory(d._data, x._data)
    t = sg.zeros(2)
    assert t.requires_grad_() is t and t.requires_grad
    assert not t.requires_grad_(False).requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        sg.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        sg.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        (x * 2).requires_grad_(False)


def test_grad_accumulates_into_leaves_and_matches_values() -> None:
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [5.0, 7.0] and x.grad.dtype == sg.float32


def test_zero_dim_tensors_hold_arrays_and_support_inplace() -> None:
    s = sg.tensor(2.0, requires_grad=True)
    y = s * s
    assert isinstance(y._data, np.ndarray) and y.shape == ()
    y.backward()
    assert s.grad.item() == 4.0
    s.grad.zero_()
    assert s.grad.item() == 0.0
    total = sg.ones(3).sum()
    total += 1
    total[...] = total * 2
    assert total.item() == 8.0 and (sg.tensor(1.0) > 0)._data.shape == ()


def test_repr_is_readable() -> None:
    assert repr(sg.tensor([1.5, 2.0])) == "tensor([1.5000, 2.0000])"
    assert repr(sg.tensor([[1, 2], [3, 4]])) == "tensor([[1, 2],\n        [3, 4]])"
    assert repr(sg.tensor([1.0], dtype=sg.float64)) == "tensor([1.], dtype=softgrad.float64)"
    assert repr(sg.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert "grad_fn=<MulBackward0>" in repr(sg.tensor([1.0], requires_grad=True) * 2)
    assert repr(sg.zeros(2, 0)) == "tensor([], size=(2, 0))"
    assert str(sg.tensor(True)) == "tensor(True)"


@needs_torch
def test_method_and_function_forms_exist_as_in_torch() -> None:
    names = ("add sub mul div pow matmul neg abs exp log log1p expm1 sqrt rsqrt sin cos tanh "
             "sigmoid relu sign clamp clip floor ceil round trunc maximum minimum where sum mean "
             "var std prod max min amax amin argmax argmin logsumexp norm cumsum reshape flatten "
             "unflatten squeeze unsqueeze transpose permute swapaxes flip roll narrow chunk split "
             "tile gather scatter_add index_select masked_fill remainder floor_divide eq ne lt le "
             "gt ge").split()
    for name in names:
        assert hasattr(sg.Tensor, name), f"Tensor.{name}"
        if hasattr(torch, name):
            assert hasattr(sg, name), f"sg.{name}"
    for name in ("view expand repeat reshape_as view_as expand_as float double long to "
                 "detach requires_grad_ item numpy tolist size numel").split():
        assert hasattr(sg.Tensor, name), f"Tensor.{name}"
    for name in ("tensor from_numpy zeros ones full empty eye arange linspace rand randn "
                 "randint zeros_like ones_like randn_like cat stack einsum manual_seed").split():
        assert hasattr(sg, name), f"sg.{name}"
