"""Smaller PyTorch APIs that real programs use: sparse COO tensors (stored dense),
DataParallel on one device, and PyTorch's module paths for attention classes."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg


def _sparse_run(lib):
    i = lib.tensor([[0, 1, 1, 2], [2, 0, 0, 1]])
    v = lib.tensor([3.0, 4.0, 5.0, 6.0], requires_grad=True)
    s = lib.sparse_coo_tensor(i, v, (3, 3))
    d = lib.tensor(np.arange(6.0).reshape(3, 2), dtype=lib.float32, requires_grad=True)
    out = lib.spmm(s, d) * 2 + lib.sparse.mm(s, d) + s.to_sparse() @ d
    (out * lib.tensor([[1.0, -1.0]])).sum().backward()
    return [out.detach().numpy(), v.grad.numpy(), d.grad.numpy(), s.to_dense().detach().numpy()]


def test_sparse_coo_tensor_values_and_gradients_match_torch(torch_float32) -> None:
    torch = pytest.importorskip("torch")
    for a, b in zip(_sparse_run(sg), _sparse_run(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_sparse_coo_tensor_size_inference_and_errors() -> None:
    s = sg.sparse_coo_tensor([[0, 2], [1, 0]], [1.0, 2.0])
    assert s.shape == (3, 2) and s.tolist() == [[0.0, 1.0], [0.0, 0.0], [2.0, 0.0]]
    with pytest.raises(RuntimeError, match="out of range"):
        sg.sparse_coo_tensor([[0, 5]], [1.0, 2.0], (3,))
    with pytest.raises(RuntimeError, match="indices have 2 entries but values have shape"):
        sg.sparse_coo_tensor([[0, 1]], [1.0, 2.0, 3.0], (3,))
    leaf = sg.sparse_coo_tensor([[0]], [1.0], (2,), requires_grad=True)
    assert leaf.is_leaf and leaf.requires_grad


def test_data_parallel_on_one_device_matches_torch(torch_float32) -> None:
    torch = pytest.importorskip("torch")
    results = []
    for lib in (sg, torch):
        inner = lib.nn.Linear(2, 3)
        with lib.no_grad():
            inner.weight.copy_(lib.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
            inner.bias.fill_(0.5)
        wrapped = lib.nn.DataParallel(inner)
        x = lib.ones(4, 2)
        out = wrapped(x)
        results.append((list(wrapped.state_dict()), out.detach().numpy(), repr(wrapped)))
    (ks, vs, rs), (kt, vt, rt) = results
    assert ks == kt == ["module.weight", "module.bias"] and rs == rt
    np.testing.assert_allclose(vs, vt)
    inner = sg.nn.Linear(2, 3)  # (PyTorch's functional form needs a GPU)
    x = sg.ones(4, 2)
    np.testing.assert_allclose(sg.nn.parallel.data_parallel(inner, x).detach().numpy(),
                               inner(x).detach().numpy())


def test_attention_classes_at_pytorchs_module_paths() -> None:
    torch = pytest.importorskip("torch")
    assert sg.nn.modules.activation.MultiheadAttention is sg.nn.MultiheadAttention
    linear = sg.nn.modules.linear.NonDynamicallyQuantizableLinear
    assert isinstance(sg.nn.MultiheadAttention(4, 2).out_proj, linear)
    assert repr(sg.nn.MultiheadAttention(4, 2)) == repr(torch.nn.MultiheadAttention(4, 2))


def test_assert_close_agrees_with_torch(torch_float32) -> None:
    torch = pytest.importorskip("torch")
    cases = [
        (lambda L: L.ones(3), lambda L: L.ones(3) + 1e-7, {}),
        (lambda L: L.ones(3), lambda L: L.ones(3) * 1.01, {}),
        (lambda L: L.ones(3), lambda L: L.ones(3) * 1.01, {"rtol": 0.05, "atol": 0.0}),
        (lambda L: L.ones(3), lambda L: L.ones(3, dtype=L.float64), {}),
        (lambda L: L.ones(3), lambda L: L.ones(3, dtype=L.float64), {"check_dtype": False}),
        (lambda L: L.tensor([1, 2]), lambda L: L.tensor([1, 3]), {}),
        (lambda L: L.ones(2, 3), lambda L: L.ones(3, 2), {}),
        (lambda L: {"a": [L.ones(2), 1.0]}, lambda L: {"a": [L.ones(2), 1.0]}, {}),
        (lambda L: [L.tensor(float("nan"))], lambda L: [L.tensor(float("nan"))], {}),
        (lambda L: [L.tensor(float("nan"))], lambda L: [L.tensor(float("nan"))],
         {"equal_nan": True}),
    ]
    for make_a, make_b, kw in cases:
        outcomes = []
        for lib in (sg, torch):
            try:
                lib.testing.assert_close(make_a(lib), make_b(lib), **kw)
                outcomes.append(True)
            except AssertionError:
                outcomes.append(False)
        assert outcomes[0] == outcomes[1], (kw, outcomes)
    with pytest.raises(AssertionError, match="Mismatched elements: 1 / 3"):
        sg.testing.assert_close(sg.tensor([1.0, 2.0, 3.0]), sg.tensor([1.0, 2.5, 3.0]))
    with pytest.raises(ValueError, match="Both 'rtol' and 'atol'"):
        sg.testing.assert_close(sg.ones(1), sg.ones(1), rtol=0.1)


def test_jit_entry_points_pass_through() -> None:
    @sg.jit.script
    def double(x):
        return x * 2

    model = sg.nn.Linear(2, 3)
    assert sg.jit.script(model) is model and sg.jit.trace(model, sg.ones(1, 2)) is model
    assert double(sg.ones(2)).tolist() == [2.0, 2.0]
    assert sg.jit.ignore(double) is double and sg.jit.unused(double) is double
    assert not sg.jit.is_scripting() and not sg.jit.is_tracing()
    with pytest.raises(NotImplementedError, match="state_dict"):
        sg.jit.save(model, "m.pt")


def test_chain_and_stack_datasets_and_worker_info_match_torch() -> None:
    torch = pytest.importorskip("torch")
    results = []
    for lib in (sg, torch):
        data = lib.utils.data

        class Count(data.IterableDataset):
            def __init__(self, n):
                self.n = n

            def __iter__(self):
                return iter(range(self.n))

        chained = list(data.ChainDataset([Count(2), Count(3)]))
        a, b = data.TensorDataset(lib.arange(3)), data.TensorDataset(lib.arange(3) * 10)
        stacked = data.StackDataset(a, b)[1]
        named = data.StackDataset(x=a, y=b)[2]
        results.append((chained, int(stacked[1][0]), int(named["y"][0]),
                        len(data.StackDataset(a, b)), data.get_worker_info()))
    assert results[0] == results[1]
    with pytest.raises(ValueError, match="Size mismatch"):
        sg.utils.data.StackDataset(sg.ones(2), sg.ones(3))
