"""``Tensor.data`` is PyTorch's: a tensor over the same memory, cut from the graph."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn as nn


def test_data_is_a_detached_tensor_sharing_memory() -> None:
    w = sg.randn(3, 4, requires_grad=True)
    d = w.data
    assert isinstance(d, sg.Tensor) and not d.requires_grad and d.grad_fn is None
    d[0, 0] = 5.0
    assert w[0, 0].item() == 5.0


def test_manual_sgd_update_through_data() -> None:
    w = sg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    (w * w).sum().backward()
    w.data.add_(w.grad, alpha=-0.1)
    np.testing.assert_allclose(w.detach().numpy(), [0.8, -1.6, 2.4], rtol=1e-6)
    w.data -= 0.1 * w.grad.data
    np.testing.assert_allclose(w.detach().numpy(), [0.6, -1.2, 1.8], rtol=1e-6)
    assert w.requires_grad and w.is_leaf


def test_initialisers_through_data() -> None:
    sg.manual_seed(0)
    m = nn.Linear(200, 300)
    m.bias.data.fill_(0.01)
    m.weight.data.normal_(0, 0.02)
    assert np.all(m.bias.detach().numpy() == np.float32(0.01))
    assert abs(float(m.weight.detach().numpy().std()) - 0.02) < 1e-3
    m.weight.data.zero_()
    assert not m.weight.detach().numpy().any()
    m.weight.data.copy_(sg.ones(300, 200))
    assert m.weight.detach().numpy().sum() == 60000
    assert m.weight.requires_grad and isinstance(m.weight, nn.Parameter)


def test_grad_data_zero_() -> None:
    w = sg.randn(5, requires_grad=True)
    (w * 2).sum().backward()
    w.grad.data.zero_()
    assert not w.grad.numpy().any()


def test_data_max_returns_indices() -> None:
    out = sg.tensor([[0.1, 0.9, 0.0], [2.0, 1.0, 3.0]], requires_grad=True) * 1
    pred = out.data.max(1)[1]
    assert pred.tolist() == [1, 2] and pred.dtype == sg.int64
    correct = pred.eq(sg.tensor([1, 0])).sum().item()
    assert correct == 1


def test_assigning_data_replaces_the_contents() -> None:
    p = nn.Parameter(sg.zeros(2, 3))
    p.data = sg.ones(4)
    assert p.shape == (4,) and p.tolist() == [1.0] * 4 and p.requires_grad
    src = sg.arange(4.0)
    p.data = src
    src[0] = 9.0  # p now uses src's memory, as in PyTorch
    assert p[0].item() == 9.0
    with pytest.raises(TypeError, match="data must be a Tensor"):
        p.data = [1.0, 2.0]


def test_writes_through_data_bypass_the_version_check() -> None:
    """Changing a saved tensor through ``.data`` is not an autograd error (PyTorch's rule);
    changing it in place directly is."""
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.data.mul_(2.0)
    y.sum().backward()  # uses the changed output, as PyTorch does
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]), rtol=1e-6)
    z = x.exp()
    with sg.no_grad():
        z.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
        z.sum().backward()


def test_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    for lib in (sg, torch):
        lib.manual_seed(0)
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    results = []
    for lib in (sg, torch):
        w = lib.tensor(a, requires_grad=True)
        (w * w).sum().backward()
        w.data.add_(w.grad, alpha=-0.25)
        w.grad.data.zero_()
        idx = w.data.max(1)[1]
        results.append((w.detach().numpy().copy(), w.grad.numpy().copy(), idx.numpy().copy(),
                        w.data.requires_grad))
    for got, want in zip(*results):
        np.testing.assert_array_equal(got, want)
