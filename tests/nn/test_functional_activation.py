"""nn.functional activations and softmax: PyTorch parity, gradients, stability, dtypes."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import softgrad as sg
import softgrad.nn.functional as F
from tests.helpers.checks import gradcheck, needs_torch, torch, torch_parity

TF = torch.nn.functional if torch is not None else None

# (name, keyword arguments): every activation, some with non-default parameters
ACTIVATIONS = [
    ("sigmoid", {}), ("logsigmoid", {}), ("tanh", {}), ("relu", {}), ("relu6", {}),
    ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.2}), ("elu", {}),
    ("elu", {"alpha": 0.5}), ("selu", {}), ("celu", {"alpha": 1.5}), ("gelu", {}),
    ("gelu", {"approximate": "tanh"}), ("silu", {}), ("mish", {}), ("softplus", {}),
    ("softplus", {"beta": 2.0, "threshold": 3.0}), ("softsign", {}), ("hardtanh", {}),
    ("hardtanh", {"min_val": -0.5, "max_val": 2.0}), ("hardsigmoid", {}), ("hardswish", {}),
    ("tanhshrink", {}),
]
IDS = [n + "".join(f"-{k}={v}" for k, v in kw.items()) for n, kw in ACTIVATIONS]
SMOOTH = ["sigmoid", "logsigmoid", "tanh", "elu", "selu", "celu", "gelu", "silu", "mish",
          "softplus", "softsign", "tanhshrink"]


def _shapes() -> st.SearchStrategy:
    return st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple)  # 0-d included


@needs_torch
@pytest.mark.parametrize("name,kw", ACTIVATIONS, ids=IDS)
@settings(max_examples=8, deadline=None)
@given(shape=_shapes(), seed=st.integers(0, 2**16))
def test_activation_matches_torch(name: str, kw: dict, shape: tuple, seed: int) -> None:
    x = np.random.default_rng(seed).standard_normal(shape) * 4
    torch_parity(lambda a: getattr(F, name)(a, **kw), lambda a: getattr(TF, name)(a, **kw), x)


@pytest.mark.parametrize("name,kw", ACTIVATIONS, ids=IDS)
def test_activation_gradcheck(name: str, kw: dict, rng: np.random.Generator) -> None:
    x = rng.standard_normal((3, 4)) * 3
    x[np.abs(x) < 0.05] = 0.5  # keep finite differences away from kinks at 0
    for kink in (-3.0, -1.0, -0.5, 2.0, 3.0, 6.0):
        x[np.abs(x - kink) < 0.05] += 0.2
    gradcheck(lambda a: getattr(F, name)(a, **kw), x)


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kw", ACTIVATIONS, ids=IDS)
def test_activation_extreme_inputs_are_finite_and_exact(name: str, kw: dict, dtype: type) -> None:
    x = np.array([-1e4, -88.0, -30.0, -1e-3, 0.0, 1e-3, 30.0, 88.0, 1e4], dtype=dtype)
    xs = sg.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow / invalid-value warnings from NumPy
        out = getattr(F, name)(xs, **kw)
        out.sum().backward()
    assert np.isfinite(out.detach().numpy()).all() and np.isfinite(xs.grad.numpy()).all()
    xt = torch.tensor(x, requires_grad=True)
    ref = getattr(TF, name)(xt, **kw)
    ref.sum().backward()
    tol = 1e-5 if dtype == np.float32 else 1e-8  # torch rounds hardsigmoid's 1/6 to float32
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name,kw", ACTIVATIONS, ids=IDS)
def test_activation_keeps_float32(name: str, kw: dict, rng: np.random.Generator) -> None:
    x = sg.tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    out = getattr(F, name)(x, **kw)
    (out * 1.5).sum().backward()
    assert out.dtype == sg.float32 and x.grad.dtype == sg.float32


@needs_torch
@pytest.mark.parametrize("name", SMOOTH)
def test_activation_double_backward_matches_torch(name: str, rng: np.random.Generator) -> None:
    _double_backward(lambda a: getattr(F, name)(a), lambda a: getattr(TF, name)(a),
                     rng.standard_normal((3, 5)) * 2, rng)


@needs_torch
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_double_backward_matches_torch(fn: str, dim: int,
                                               rng: np.random.Generator) -> None:
    _double_backward(lambda a: getattr(F, fn)(a, dim=dim), lambda a: getattr(TF, fn)(a, dim=dim),
                     rng.standard_normal((3, 4)), rng)


def _double_backward(sg_fn, torch_fn, x: np.ndarray, rng: np.random.Generator) -> None:
    """Compare grad and grad-of-(grad . v) with PyTorch."""
    w = rng.standard_normal(x.shape)
    v = rng.standard_normal(x.shape)
    xs = sg.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    (gs,) = sg.autograd.grad((sg_fn(xs) * sg.tensor(w)).sum(), [xs], create_graph=True)
    (gt,) = torch.autograd.grad((torch_fn(xt) * torch.tensor(w)).sum(), [xt], create_graph=True)
    (hs,) = sg.autograd.grad((gs * sg.tensor(v)).sum(), [xs])
    (ht,) = torch.autograd.grad((gt * torch.tensor(v)).sum(), [xt])
    np.testing.assert_allclose(gs.detach().numpy(), gt.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(hs.numpy(), ht.numpy(), atol=1e-10)


@needs_torch
@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "softmin"])
@settings(max_examples=15, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple),
       seed=st.integers(0, 2**16), data=st.data())
def test_softmax_family_matches_torch(fn: str, shape: tuple, seed: int, data) -> None:
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = np.random.default_rng(seed).standard_normal(shape) * 5
    torch_parity(lambda a: getattr(F, fn)(a, dim=dim), lambda a: getattr(TF, fn)(a, dim=dim), x)


def test_softmax_uses_per_row_max_not_global_max() -> None:
    # a global max shift would underflow the second row to 0/0
    x = np.array([[1000.0, 1001.0], [-1000.0, -999.0]], dtype=np.float32)
    sm = F.softmax(sg.tensor(x), dim=1).numpy()
    lsm = F.log_softmax(sg.tensor(x), dim=1).numpy()
    assert np.isfinite(sm).all() and np.isfinite(lsm).all()
    np.testing.assert_allclose(sm[0], sm[1], rtol=1e-6)
    np.testing.assert_allclose(lsm[0], lsm[1], rtol=1e-6)
    np.testing.assert_allclose(lsm[0], [-np.log1p(np.e), -np.log1p(np.exp(-1))], rtol=1e-6)


def test_log_softmax_is_not_log_of_softmax() -> None:
    # softmax underflows to 0 here; log_softmax must still give the exact -1e4
    x = sg.tensor([[0.0, -1e4]], dtype=sg.float64, requires_grad=True)
    out = F.log_softmax(x, dim=1)
    assert out[0, 1].item() == pytest.approx(-1e4)
    out.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_softmax_rows_sum_to_one_and_dtype_argument(rng: np.random.Generator) -> None:
    x = sg.tensor(rng.standard_normal((3, 4, 5)).astype(np.float32))
    y = F.softmax(x, dim=1)
    assert y.dtype == sg.float32
    np.testing.assert_allclose(y.sum(dim=1).numpy(), 1, rtol=1e-6)
    assert F.softmax(x, dim=1, dtype=sg.float64).dtype == sg.float64
    assert F.log_softmax(x, dim=-1, dtype=sg.float64).dtype == sg.float64
    assert sg.tensor(2.0).softmax(0).item() == 1.0
    assert x.log_softmax(2).shape == (3, 4, 5)


def test_softmax_implicit_dim_warns_and_follows_torch_rule() -> None:
    x = sg.tensor(np.arange(6.0).reshape(2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = F.softmax(x)
    np.testing.assert_allclose(y.sum(dim=1).numpy(), 1, rtol=1e-6)  # dim 1 for 2-D input


def test_gelu_rejects_unknown_approximation() -> None:
    with pytest.raises(RuntimeError, match="none or tanh"):
        F.gelu(sg.tensor([1.0]), approximate="fast")


def test_hardtanh_rejects_inverted_bounds() -> None:
    with pytest.raises(ValueError, match="min_val"):
        F.hardtanh(sg.tensor([1.0]), 2.0, 1.0)


def test_inplace_writes_into_input_without_graph() -> None:
    x = sg.tensor([-1.0, 2.0, -3.0])
    out = F.relu(x, inplace=True)
    assert out is x and x.tolist() == [0.0, 2.0, 0.0]
    y = sg.tensor([-1.0, 0.5, 4.0])
    F.leaky_relu(y, 0.5, inplace=True)
    assert y.tolist() == [-0.5, 0.5, 4.0]


def test_inplace_on_graph_input_returns_correct_result_and_gradient() -> None:
    x = sg.tensor([-1.0, 2.0], requires_grad=True)
    out = F.elu(x * 1.0, inplace=True)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [np.exp(-1.0), 1.0], rtol=1e-6)
