"""NumPy ufuncs meeting Tensors: in-place ufuncs write into their output (so the PyTorch idiom
``p._data -= lr * p.grad`` updates the parameter), operators with an array on the left give
Tensors, and plain ufunc calls return arrays."""
from __future__ import annotations

import numpy as np

import softgrad as sg


def test_data_minus_equals_grad_updates_the_parameter_in_place() -> None:
    w = sg.nn.Parameter(sg.tensor([1.0, -2.0, 3.0]))
    (w * w).sum().backward()
    before = w.detach().numpy().copy()
    data = w._data
    w._data -= 0.1 * w.grad
    assert w._data is data and isinstance(w._data, np.ndarray)
    np.testing.assert_allclose(w.detach().numpy(), before * 0.8, rtol=1e-6)
    w._data *= sg.tensor(2.0)
    np.testing.assert_allclose(w.detach().numpy(), before * 1.6, rtol=1e-6)


def test_array_on_the_left_of_an_operator_gives_a_tensor() -> None:
    t, a = sg.tensor([1.0, 2.0]), np.array([3.0, 4.0], dtype=np.float32)
    for out, ref in [(a + t, [4, 6]), (a - t, [2, 2]), (a * t, [3, 8]), (a / t, [3, 2]),
                     (a ** t, [3, 16]), (a // t, [3, 2]), (a % t, [0, 0])]:
        assert isinstance(out, sg.Tensor) and out.dtype == sg.float32
        np.testing.assert_allclose(out.numpy(), ref)
    assert (a < t).dtype == sg.bool and (a == t).tolist() == [False, False]
    assert isinstance(a @ t, sg.Tensor) and (a @ t).item() == 11
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    (a * x).sum().backward()  # stays in the graph
    np.testing.assert_allclose(x.grad.numpy(), a)


def test_plain_ufunc_calls_and_out_arguments() -> None:
    t = sg.tensor([0.0, 1.0])
    e = np.exp(t)
    assert isinstance(e, np.ndarray) and e.dtype == np.float32
    assert np.isfinite(t).all() and np.allclose(t, [0.0, 1.0])
    a = np.zeros(2, dtype=np.float32)
    a += t
    np.testing.assert_allclose(a, [0, 1])
    target = sg.zeros(2)
    v = target._version
    np.add(t, 1.0, out=target)
    assert target.tolist() == [1.0, 2.0] and target._version == v + 1


def test_numpy_reduction_functions_accept_tensors() -> None:
    t = sg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert np.sum(t).item() == 10.0 and np.mean(t, axis=0).tolist() == [2.0, 3.0]
    assert np.max(t).item() == 4.0 and np.prod(t).item() == 24.0
