"""nn.init: fan rules and gains equal PyTorch's; distributions have the right moments/bounds."""
from __future__ import annotations

import math

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import needs_torch, torch

init = sg.nn.init


def _empty(*shape: int) -> sg.Tensor:
    return sg.empty(*shape)


def _check_moments(values: np.ndarray, mean: float, std: float) -> None:
    """Sample mean and std within 6 standard errors of the expected ones."""
    n = values.size
    assert abs(values.mean() - mean) < 6 * std / math.sqrt(n)
    assert abs(values.std() - std) < 6 * std / math.sqrt(2 * n)


@needs_torch
@pytest.mark.parametrize("shape", [(3, 4), (8, 3, 5, 5), (6, 2, 3), (7, 1)])
def test_fan_in_fan_out_equals_torch(shape: tuple) -> None:
    ours = init._calculate_fan_in_and_fan_out(_empty(*shape))
    theirs = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert ours == theirs


@needs_torch
@pytest.mark.parametrize("name,param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                        ("tanh", None), ("relu", None), ("leaky_relu", None),
                                        ("leaky_relu", 0.2), ("selu", None)])
def test_calculate_gain_equals_torch(name: str, param: float | None) -> None:
    assert init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)


def test_gain_and_fan_errors() -> None:
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swishy")
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(_empty(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(_empty(3, 3), mode="fan_avg")


def test_uniform_and_normal_moments() -> None:
    t = init.uniform_(_empty(300, 200), -2.0, 3.0)
    v = t.numpy()
    assert v.min() >= -2.0 and v.max() < 3.0
    _check_moments(v, 0.5, 5 / math.sqrt(12))
    v = init.normal_(_empty(300, 200), mean=1.5, std=0.3).numpy()
    _check_moments(v, 1.5, 0.3)


def test_xavier_bounds_and_std() -> None:
    fan_in, fan_out = 200, 300
    v = init.xavier_uniform_(_empty(fan_out, fan_in), gain=2.0).numpy()
    bound = 2.0 * math.sqrt(6.0 / (fan_in + fan_out))
    assert np.abs(v).max() <= bound and np.abs(v).max() > 0.99 * bound
    _check_moments(v, 0.0, bound / math.sqrt(3))
    v = init.xavier_normal_(_empty(fan_out, fan_in)).numpy()
    _check_moments(v, 0.0, math.sqrt(2.0 / (fan_in + fan_out)))


@pytest.mark.parametrize("mode,nonlinearity,a", [("fan_in", "leaky_relu", 0),
                                                 ("fan_out", "relu", 0),
                                                 ("fan_in", "leaky_relu", math.sqrt(5))])
def test_kaiming_bounds_and_std(mode: str, nonlinearity: str, a: float) -> None:
    shape = (60, 40, 3, 3)
    fan = 40 * 9 if mode == "fan_in" else 60 * 9
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    v = init.kaiming_uniform_(_empty(*shape), a=a, mode=mode, nonlinearity=nonlinearity).numpy()
    assert np.abs(v).max() <= math.sqrt(3) * std
    _check_moments(v, 0.0, std)
    v = init.kaiming_normal_(_empty(*shape), a=a, mode=mode, nonlinearity=nonlinearity).numpy()
    _check_moments(v, 0.0, std)


def test_trunc_normal_bounds_and_std() -> None:
    v = init.trunc_normal_(_empty(300, 200), mean=0.5, std=1.0, a=-0.5, b=1.5).numpy()
    assert v.min() >= -0.5 and v.max() <= 1.5
    # symmetric truncation at +-1 std: variance 1 - 2*phi(1)/(Phi(1)-Phi(-1))
    phi = math.exp(-0.5) / math.sqrt(2 * math.pi)
    mass = math.erf(1 / math.sqrt(2))
    _check_moments(v, 0.5, math.sqrt(1 - 2 * phi / mass))
    with pytest.raises(ValueError, match="a < b"):
        init.trunc_normal_(_empty(3), a=1.0, b=0.0)


@pytest.mark.parametrize("shape", [(20, 50), (50, 20), (6, 4, 3)])
def test_orthogonal(shape: tuple) -> None:
    v = init.orthogonal_(_empty(*shape), gain=2.0).numpy().reshape(shape[0], -1)
    rows, cols = v.shape
    gram = v @ v.T if rows <= cols else v.T @ v
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(rows, cols)), atol=1e-4)


@needs_torch
def test_deterministic_initialisers_equal_torch() -> None:
    np.testing.assert_array_equal(init.eye_(_empty(3, 5)).numpy(),
                                  torch.nn.init.eye_(torch.empty(3, 5)).numpy())
    for shape, groups in [((4, 2, 3), 2), ((3, 3, 3, 3), 1), ((2, 2, 1, 3, 3), 1)]:
        np.testing.assert_array_equal(init.dirac_(_empty(*shape), groups).numpy(),
                                      torch.nn.init.dirac_(torch.empty(shape), groups).numpy())
    assert (init.constant_(_empty(2, 3), 0.25).numpy() == 0.25).all()
    assert (init.ones_(_empty(4)).numpy() == 1).all()
    assert (init.zeros_(_empty(4)).numpy() == 0).all()


def test_seeded_and_dtype_preserving() -> None:
    sg.manual_seed(7)
    a = init.kaiming_uniform_(_empty(4, 5)).numpy().copy()
    sg.manual_seed(7)
    b = init.kaiming_uniform_(_empty(4, 5)).numpy()
    np.testing.assert_array_equal(a, b)
    gen = sg.Generator().manual_seed(3)
    c = init.normal_(_empty(3), generator=gen).numpy().copy()
    d = init.normal_(_empty(3), generator=sg.Generator().manual_seed(3)).numpy()
    np.testing.assert_array_equal(c, d)
    t = sg.empty(3, 3, dtype=sg.float64)
    assert init.xavier_normal_(t).dtype == sg.float64
    assert init.uniform_(_empty(3, 3)).dtype == sg.float32


def test_init_on_parameter_keeps_identity_and_bumps_version() -> None:
    p = sg.nn.Parameter(sg.zeros(3, 4))
    data, version = p._data, p._version
    out = init.normal_(p)
    assert out is p and p._data is data and p._version == version + 1 and p.requires_grad


def test_sparse_zero_fraction() -> None:
    v = init.sparse_(_empty(10, 40), sparsity=0.3).numpy()
    assert ((v == 0).sum(axis=0) >= 3).all()


def test_linear_default_init_matches_torch_distribution() -> None:
    layer = sg.nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    _check_moments(w, 0.0, bound / math.sqrt(3))
