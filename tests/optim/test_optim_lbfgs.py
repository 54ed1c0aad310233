"""LBFGS: trajectories equal PyTorch's (fixed step and strong-Wolfe), state layout, errors."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import needs_torch, torch

STEPS = 20


def _rosenbrock(lib, x):
    """Extended, mildly scaled Rosenbrock (curved valleys) on a (4, 2) parameter, coupled."""
    a, b = x[:, 0], x[:, 1]
    return (10 * (b - a * a) ** 2 + (1 - a) ** 2).sum() + 0.5 * (x.sum() - 3) ** 2


ROSEN_X0 = np.array([[-1.2, 1.0], [-0.5, 0.8], [0.3, -0.4], [1.4, 2.1]])


class _Rosen:
    """Parameters and a closure for one framework."""

    def __init__(self, lib, opt_kwargs: dict) -> None:
        self.params = [lib.nn.Parameter(lib.tensor(ROSEN_X0.copy()))]
        self.opt = lib.optim.LBFGS(self.params, **opt_kwargs)

        def closure():
            self.opt.zero_grad()
            loss = _rosenbrock(lib, self.params[0])
            loss.backward()
            return loss

        self.closure = closure


class _MLP:
    """A 3-16-1 tanh network on a fixed regression problem (same weights in both libs)."""

    def __init__(self, lib, opt_kwargs: dict, weights: list[np.ndarray], x: np.ndarray,
                 y: np.ndarray) -> None:
        f64 = lib.float64
        self.model = lib.nn.Sequential(lib.nn.Linear(3, 16, dtype=f64), lib.nn.Tanh(),
                                       lib.nn.Linear(16, 1, dtype=f64))
        self.params = list(self.model.parameters())
        for p, w in zip(self.params, weights):
            p.data.copy_(lib.tensor(w))
        self.x, self.y = lib.tensor(x), lib.tensor(y)
        self.opt = lib.optim.LBFGS(self.params, **opt_kwargs)

        def closure():
            self.opt.zero_grad()
            loss = lib.nn.functional.mse_loss(self.model(self.x), self.y)
            loss = loss + 1e-2 * sum((p * p).sum() for p in self.params)   # well posed
            loss.backward()
            return loss

        self.closure = closure


def _mlp_pair(opt_kwargs: dict) -> tuple[_MLP, _MLP]:
    rng = np.random.default_rng(0)
    shapes = [(16, 3), (16,), (1, 16), (1,)]
    weights = [rng.standard_normal(s) * 0.7 for s in shapes]
    x = rng.standard_normal((64, 3))
    y = np.sin(x @ np.array([[1.0], [-2.0], [0.5]])) + 0.1 * x[:, :1] ** 2
    return _MLP(sg, opt_kwargs, weights, x, y), _MLP(torch, opt_kwargs, weights, x, y)


def _pair(problem: str, opt_kwargs: dict):
    if problem == "rosenbrock":
        return _Rosen(sg, opt_kwargs), _Rosen(torch, opt_kwargs)
    return _mlp_pair(opt_kwargs)


CASES = [
    ("rosenbrock", dict(lr=0.1, max_iter=4)),
    ("rosenbrock", dict(lr=0.5, max_iter=3, history_size=3)),
    ("rosenbrock", dict(line_search_fn="strong_wolfe", max_iter=3)),
    ("rosenbrock", dict(line_search_fn="strong_wolfe", max_iter=5, history_size=2)),
    ("rosenbrock", dict(line_search_fn="strong_wolfe", max_iter=6, max_eval=7)),
    ("rosenbrock", dict(line_search_fn="strong_wolfe", tolerance_change=1e-4,
                        tolerance_grad=1e-3)),
    # few iterations per step keep 20 steps of the network inside the well-conditioned range,
    # where PyTorch against itself with a 1e-15 perturbation stays within 1e-11
    ("mlp", dict(lr=0.5, max_iter=2, history_size=4)),
    ("mlp", dict(max_iter=2)),
    ("mlp", dict(line_search_fn="strong_wolfe", max_iter=2, history_size=5)),
    ("mlp", dict(line_search_fn="strong_wolfe", max_iter=3, history_size=3)),
]


def _close(s: sg.Tensor, t, tol: float = 1e-9) -> None:
    np.testing.assert_allclose(s._data, t.detach().numpy(), atol=tol, rtol=tol)


@needs_torch
@pytest.mark.parametrize("problem,kwargs", CASES)
def test_lbfgs_trajectory_matches_torch(problem: str, kwargs: dict) -> None:
    s, t = _pair(problem, kwargs)
    losses = []
    for k in range(STEPS):
        ls, lt = s.opt.step(s.closure), t.opt.step(t.closure)
        np.testing.assert_allclose(float(ls), float(lt), rtol=1e-9, err_msg=f"step {k}")
        losses.append(float(ls))
        for ps, pt in zip(s.params, t.params):
            _close(ps, pt)
        ss, ts = s.opt.state[s.params[0]], t.opt.state[t.params[0]]
        assert (ss["func_evals"], ss["n_iter"]) == (ts["func_evals"], ts["n_iter"]), k
    assert losses[-1] < 0.5 * losses[0]           # the problem was actually being solved
    # state_dict: PyTorch's keys, all under the first parameter, same history lengths
    ssd, tsd = s.opt.state_dict(), t.opt.state_dict()
    assert list(ssd["state"]) == list(tsd["state"]) == [0]
    sst, tst = ssd["state"][0], tsd["state"][0]
    assert sorted(sst) == sorted(tst)
    for key in ("old_dirs", "old_stps", "ro"):
        assert len(sst[key]) == len(tst[key]) <= kwargs.get("history_size", 100)
    for key in ("d", "prev_flat_grad"):
        assert sst[key].shape == tuple(tst[key].shape)
        _close(sst[key], tst[key], 1e-7)
    for a, b in zip(sst["old_stps"], tst["old_stps"]):
        _close(a, b, 1e-7)
    np.testing.assert_allclose(sst["ro"], [float(r) for r in tst["ro"]], rtol=1e-6)
    np.testing.assert_allclose(float(sst["H_diag"]), float(tst["H_diag"]), rtol=1e-6)
    assert sorted(ssd["param_groups"][0]) == sorted(tsd["param_groups"][0])


@needs_torch
def test_lbfgs_loads_torch_state_and_continues_like_torch() -> None:
    kwargs = dict(line_search_fn="strong_wolfe", max_iter=3, history_size=4)
    s, t = _pair("rosenbrock", kwargs)
    for _ in range(4):
        t.opt.step(t.closure)
    s.params[0].data.copy_(sg.tensor(t.params[0].detach().numpy().copy()))
    s.opt.load_state_dict(t.opt.state_dict())
    for _ in range(6):
        s.opt.step(s.closure)
        t.opt.step(t.closure)
        _close(s.params[0], t.params[0])


def test_lbfgs_state_dict_round_trip_continues_identically() -> None:
    a = _Rosen(sg, dict(line_search_fn="strong_wolfe", max_iter=3, history_size=3))
    for _ in range(5):
        a.opt.step(a.closure)
    saved = copy.deepcopy(a.opt.state_dict())
    b = _Rosen(sg, dict(line_search_fn="strong_wolfe", max_iter=3, history_size=3))
    b.params[0].data.copy_(a.params[0].data)
    b.opt.load_state_dict(saved)
    for _ in range(5):
        a.opt.step(a.closure)
        b.opt.step(b.closure)
    np.testing.assert_array_equal(a.params[0]._data, b.params[0]._data)


def test_lbfgs_solves_a_quadratic_in_one_step() -> None:
    """On a convex quadratic, L-BFGS with line search reaches the minimum x = A^-1 b."""
    rng = np.random.default_rng(3)
    m = rng.standard_normal((6, 6))
    a_mat, b_vec = m @ m.T + 6 * np.eye(6), rng.standard_normal(6)
    x = sg.nn.Parameter(sg.zeros(6, dtype=sg.float64))
    opt = sg.optim.LBFGS([x], line_search_fn="strong_wolfe", max_iter=50,
                         tolerance_grad=1e-12, tolerance_change=1e-14)
    A, b = sg.tensor(a_mat), sg.tensor(b_vec)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (x * (A @ x)).sum() - (b * x).sum()
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(x._data, np.linalg.solve(a_mat, b_vec), atol=1e-8)


def test_lbfgs_float32_stays_float32_in_place() -> None:
    w = sg.nn.Parameter(sg.randn(5, 3))
    data = w._data
    opt = sg.optim.LBFGS([w], history_size=2, max_iter=5)
    target = sg.randn(5, 3)

    def closure():
        opt.zero_grad()
        loss = ((w - target) ** 2).sum()
        loss.backward()
        return loss

    first = float(opt.step(closure))
    for _ in range(4):
        last = float(opt.step(closure))
    assert w._data is data and w.dtype == sg.float32
    assert opt.state[w]["d"].dtype == sg.float32 and last < 1e-3 * first


def test_lbfgs_errors_are_clear() -> None:
    p, q = sg.nn.Parameter(sg.ones(2)), sg.nn.Parameter(sg.ones(3))
    with pytest.raises(ValueError, match="Invalid learning rate: -1.0"):
        sg.optim.LBFGS([p], lr=-1.0)
    with pytest.raises(ValueError, match="per-parameter options"):
        sg.optim.LBFGS([{"params": [p]}, {"params": [q]}])
    with pytest.raises(ValueError, match="only 'strong_wolfe' is supported"):
        sg.optim.LBFGS([p], line_search_fn="armijo")
    with pytest.raises(ValueError, match="history_size"):
        sg.optim.LBFGS([p], history_size=0)
    opt = sg.optim.LBFGS([p])
    with pytest.raises(TypeError, match="needs a closure"):
        opt.step(None)
    assert opt.defaults["max_eval"] == 25
