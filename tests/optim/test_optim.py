"""Optimizers: trajectories equal PyTorch's, state_dict round trips, in-place updates."""
from __future__ import annotations

import copy
import tracemalloc

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import needs_torch, torch

SHAPES = [(3, 4), (5,), (2, 1, 3)]


def _grad_fn(arr: np.ndarray, k: int) -> np.ndarray:
    """A deterministic, parameter-dependent gradient (same rule for both frameworks)."""
    return np.cos(3 * arr + k) + 0.5 * arr


def _init_arrays(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in SHAPES]


def _groups(params: list, spec: list | None) -> list:
    if spec is None:
        return params
    return [dict(g, params=[params[i] for i in g["params"]]) for g in spec]


def _run_pair(name: str, kwargs: dict, spec: list | None = None, steps: int = 20):
    """Run softgrad and torch side by side; yield both parameter lists after every step."""
    arrays = _init_arrays()
    sp = [sg.nn.Parameter(sg.tensor(a)) for a in arrays]
    tp = [torch.nn.Parameter(torch.tensor(a)) for a in arrays]
    so = getattr(sg.optim, name)(_groups(sp, spec), **kwargs)
    to = getattr(torch.optim, name)(_groups(tp, spec), **kwargs)
    for k in range(steps):
        for i, (s, t) in enumerate(zip(sp, tp)):
            if i == 2 and k % 3 == 1:        # a parameter that sometimes gets no gradient
                s.grad, t.grad = None, None
                continue
            s.grad = sg.tensor(_grad_fn(s._data, k))
            t.grad = torch.tensor(_grad_fn(t.detach().numpy(), k))
        so.step()
        to.step()
        yield sp, tp, so, to


CASES = [
    ("SGD", dict(lr=0.1), None),
    ("SGD", dict(lr=0.1, momentum=0.9), None),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01), None),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.3, maximize=True, weight_decay=0.1), None),
    ("SGD", dict(lr=0.1), [dict(params=[0], lr=0.05, momentum=0.9), dict(params=[1, 2])]),
    ("Adam", dict(), None),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05), None),
    ("Adam", dict(lr=0.02, betas=(0.5, 0.9), eps=1e-6, maximize=True), None),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), None),
    ("Adam", dict(lr=0.01), [dict(params=[0, 2], amsgrad=True), dict(params=[1], lr=0.1)]),
    ("AdamW", dict(lr=0.01), None),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True), None),
    ("RMSprop", dict(), None),
    ("RMSprop", dict(lr=0.01, centered=True), None),
    ("RMSprop", dict(lr=0.01, momentum=0.9, weight_decay=0.01), None),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, alpha=0.9, maximize=True), None),
    ("Adagrad", dict(), None),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1), None),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, maximize=True), None),
    ("Adadelta", dict(), None),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.05), None),
    ("Adadelta", dict(lr=0.5, eps=1e-4, maximize=True), None),
    ("Adamax", dict(), None),
    ("Adamax", dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1), None),
    ("Adamax", dict(lr=0.05, betas=(0.3, 0.9), eps=1e-3, maximize=True), None),
    ("Adamax", dict(lr=0.01), [dict(params=[0], lr=0.1), dict(params=[1, 2], weight_decay=0.5)]),
    ("NAdam", dict(), None),
    ("NAdam", dict(lr=0.02, momentum_decay=0.05, weight_decay=0.1), None),
    ("NAdam", dict(lr=0.02, weight_decay=0.1, decoupled_weight_decay=True, maximize=True), None),
    ("NAdam", dict(lr=0.05, betas=(0.3, 0.9), eps=1e-4), None),
    ("NAdam", dict(lr=0.01), [dict(params=[1], momentum_decay=0.1), dict(params=[0, 2])]),
    ("RAdam", dict(), None),
    ("RAdam", dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.1), None),   # rectified from step 6
    ("RAdam", dict(lr=0.05, betas=(0.5, 0.7), weight_decay=0.1,            # from step 3
                   decoupled_weight_decay=True, maximize=True), None),
    ("RAdam", dict(lr=0.01), [dict(params=[0, 1], betas=(0.9, 0.8)), dict(params=[2])]),
    ("Rprop", dict(), None),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2)), None),
    ("Rprop", dict(lr=0.1, maximize=True), None),
    ("Rprop", dict(lr=0.01), [dict(params=[2], etas=(0.6, 1.1)), dict(params=[0, 1])]),
    ("ASGD", dict(), None),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=5, weight_decay=0.1), None),
    ("ASGD", dict(lr=0.05, lambd=0.1, t0=0, maximize=True), None),
    ("ASGD", dict(lr=0.05), [dict(params=[0], t0=3), dict(params=[1, 2], lambd=0.2)]),
]


@needs_torch
@pytest.mark.parametrize("name,kwargs,spec", CASES)
def test_trajectory_matches_torch(name: str, kwargs: dict, spec: list | None) -> None:
    # so, to: the optimizers after the last step, checked below the loop
    for k, (sp, tp, so, to) in enumerate(_run_pair(name, kwargs, spec)):  # noqa: B007
        for s, t in zip(sp, tp):
            np.testing.assert_allclose(s._data, t.detach().numpy(), atol=1e-6, rtol=0,
                                       err_msg=f"{name} {kwargs} step {k}")
    # the state keeps PyTorch's layout: same keys per parameter, same group keys and ids
    ssd, tsd = so.state_dict(), to.state_dict()
    assert sorted(ssd["state"]) == sorted(tsd["state"])
    for i in tsd["state"]:
        assert sorted(ssd["state"][i]) == sorted(tsd["state"][i])
        for key, tval in tsd["state"][i].items():
            sval = ssd["state"][i][key]
            if tval.ndim == 0:               # step, mu_product, eta, mu: floats in softgrad
                assert isinstance(sval, float), key
                np.testing.assert_allclose(sval, tval.item(), rtol=1e-12, err_msg=key)
            else:
                assert sval.shape == tuple(tval.shape) and sval.dtype == sg.float64, key
                np.testing.assert_allclose(sval._data, tval.numpy(), atol=1e-6, rtol=0)
    for sgp, tgp in zip(ssd["param_groups"], tsd["param_groups"]):
        assert sorted(sgp) == sorted(tgp)
        assert sgp["params"] == tgp["params"]


@pytest.mark.parametrize("name,kwargs,spec", CASES[1::3])
def test_state_dict_round_trip_continues_identically(name: str, kwargs: dict,
                                                     spec: list | None) -> None:
    arrays = _init_arrays(1)
    a = [sg.nn.Parameter(sg.tensor(x)) for x in arrays]
    opt_a = getattr(sg.optim, name)(_groups(a, spec), **kwargs)

    def step(params, opt, k):
        for p in params:
            p.grad = sg.tensor(_grad_fn(p._data, k))
        opt.step()

    for k in range(10):
        step(a, opt_a, k)
    saved = copy.deepcopy(opt_a.state_dict())
    b = [sg.nn.Parameter(sg.tensor(p._data.copy())) for p in a]
    opt_b = getattr(sg.optim, name)(_groups(b, spec), lr=123.0) if "lr" not in kwargs and \
        spec is None else getattr(sg.optim, name)(_groups(b, spec), **kwargs)
    opt_b.load_state_dict(saved)
    assert [g["lr"] for g in opt_b.param_groups] == [g["lr"] for g in opt_a.param_groups]
    for k in range(10, 20):
        step(a, opt_a, k)
        step(b, opt_b, k)
    for pa, pb in zip(a, b):
        np.testing.assert_array_equal(pa._data, pb._data)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta",
                                  "Adamax", "NAdam", "RAdam", "Rprop", "ASGD"])
def test_float32_stays_float32_and_updates_in_place(name: str) -> None:
    kwargs = dict(momentum=0.9) if name in ("SGD", "RMSprop") else {}
    p = sg.nn.Parameter(sg.randn(64, 32))
    data = p._data
    opt = getattr(sg.optim, name)([p], lr=0.01, **kwargs)
    for _ in range(3):
        p.grad = sg.randn(64, 32)
        opt.step()
    assert p._data is data and p.dtype == sg.float32
    for value in opt.state[p].values():
        if isinstance(value, sg.Tensor):
            assert value.dtype == sg.float32
    assert np.isfinite(p._data).all()


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(momentum=0.9, nesterov=True,
                                                      weight_decay=0.1)),
                                         ("Adam", dict(amsgrad=True, weight_decay=0.1)),
                                         ("AdamW", dict()),
                                         ("RMSprop", dict(centered=True, momentum=0.9)),
                                         ("Adagrad", dict(weight_decay=0.1)),
                                         ("Adadelta", dict(weight_decay=0.1)),
                                         ("Adamax", dict(weight_decay=0.1, maximize=True)),
                                         ("NAdam", dict(weight_decay=0.1)),
                                         ("NAdam", dict(weight_decay=0.1,
                                                        decoupled_weight_decay=True)),
                                         ("RAdam", dict(betas=(0.5, 0.7), weight_decay=0.1)),
                                         ("Rprop", dict(maximize=True)),
                                         ("ASGD", dict(t0=1, weight_decay=0.1))])
def test_step_allocates_no_parameter_sized_temporaries(name: str, kwargs: dict) -> None:
    p = sg.nn.Parameter(sg.randn(500, 500))          # 1 MB of float32
    p.grad = sg.randn(500, 500)
    opt = getattr(sg.optim, name)([p], lr=1e-3, **kwargs)
    opt.step()                                        # creates state and scratch buffers
    opt.step()  # SGD's first momentum step runs on one thread: the workers' scratch comes now
    tracemalloc.start()
    try:
        for _ in range(3):
            opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < p._data.nbytes // 4, f"{name} step peaked at {peak} bytes"


@pytest.mark.parametrize("name,kwargs", [("Adamax", dict(weight_decay=0.1)),
                                         ("NAdam", dict(weight_decay=0.1, maximize=True)),
                                         ("RAdam", dict(betas=(0.5, 0.7))),
                                         ("Rprop", dict(lr=0.05)),
                                         ("ASGD", dict(t0=1, weight_decay=0.1))])
def test_threaded_update_is_bitwise_identical(monkeypatch, name: str, kwargs: dict) -> None:
    """Big parameters are split across threads; every element sees the same operations."""
    from softgrad import backend

    def run(threads: int) -> list[np.ndarray]:
        monkeypatch.setitem(backend._threads, "n", threads)
        rng = np.random.default_rng(0)
        ps = [sg.nn.Parameter(sg.tensor(rng.standard_normal(s).astype(np.float32)))
              for s in [(300, 700), (700,), (5, 3)]]
        opt = getattr(sg.optim, name)(ps, **kwargs)
        for _ in range(4):
            for p in ps:
                p.grad = sg.tensor(rng.standard_normal(p.shape).astype(np.float32))
            opt.step()
        return [p._data.copy() for p in ps] + [
            v._data.copy() for p in ps for v in opt.state[p].values() if isinstance(v, sg.Tensor)]

    plain, threaded = run(1), run(3)
    assert len(plain) == len(threaded) > 3
    for a, b in zip(plain, threaded):
        np.testing.assert_array_equal(a, b)


def test_zero_grad_and_param_groups() -> None:
    a, b = sg.nn.Parameter(sg.ones(2)), sg.nn.Parameter(sg.ones(3))
    opt = sg.optim.SGD([a], lr=0.1)
    opt.add_param_group({"params": b, "lr": 0.5, "momentum": 0.9})
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[0]["momentum"] == 0
    a.grad, b.grad = sg.ones(2), sg.ones(3)
    opt.zero_grad(set_to_none=False)
    assert np.all(a.grad._data == 0) and np.all(b.grad._data == 0)
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_named_parameters_are_accepted() -> None:
    model = sg.nn.Linear(3, 2)
    opt = sg.optim.Adam(model.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]


def test_step_with_closure_returns_loss() -> None:
    w = sg.nn.Parameter(sg.tensor([3.0]))
    opt = sg.optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 9.0 and np.isclose(w.item(), 1.5)


def test_bad_arguments_raise_clear_errors() -> None:
    p = sg.nn.Parameter(sg.ones(2))
    with pytest.raises(ValueError, match="empty parameter list"):
        sg.optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        sg.optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        sg.optim.Adam([p], lr=-1)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        sg.optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        sg.optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="non-leaf"):
        sg.optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        sg.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        sg.optim.SGD({p}, lr=0.1)
    opt = sg.optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict({"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]})


BAD_HYPERPARAMETERS = [
    ("SGD", dict(lr=-1.0)), ("Adam", dict(lr=-0.5)), ("Adam", dict(eps=-1e-8)),
    ("Adamax", dict(lr=-1.0)), ("Adamax", dict(betas=(1.0, 0.9))),
    ("Adamax", dict(weight_decay=-0.1)),
    ("NAdam", dict(lr=-1)), ("NAdam", dict(betas=(0.9, -0.1))), ("NAdam", dict(eps=-1.0)),
    ("NAdam", dict(momentum_decay=-0.004)), ("NAdam", dict(weight_decay=-1)),
    ("RAdam", dict(lr=-1e-3)), ("RAdam", dict(betas=(-0.1, 0.9))), ("RAdam", dict(eps=-2.0)),
    ("RAdam", dict(weight_decay=-1e-2)),
    ("Rprop", dict(lr=-0.1)), ("Rprop", dict(etas=(1.5, 1.2))), ("Rprop", dict(etas=(0.5, 0.9))),
    ("ASGD", dict(lr=-0.01)), ("ASGD", dict(weight_decay=-0.5)),
    ("LBFGS", dict(lr=-1.0)),
]


@needs_torch
@pytest.mark.parametrize("name,kwargs", BAD_HYPERPARAMETERS)
def test_invalid_hyperparameters_raise_pytorchs_message(name: str, kwargs: dict) -> None:
    with pytest.raises(ValueError) as expected:
        getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(2))], **kwargs)
    with pytest.raises(ValueError) as got:
        getattr(sg.optim, name)([sg.nn.Parameter(sg.ones(2))], **kwargs)
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("name,defaults", [
    ("Adamax", dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)),
    ("NAdam", dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                   decoupled_weight_decay=False)),
    ("RAdam", dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                   decoupled_weight_decay=False)),
    ("Rprop", dict(lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50))),
    ("ASGD", dict(lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0)),
    ("LBFGS", dict(lr=1, max_iter=20, max_eval=25, tolerance_grad=1e-7, tolerance_change=1e-9,
                   history_size=100, line_search_fn=None)),
])
def test_defaults_are_pytorchs(name: str, defaults: dict) -> None:
    group = getattr(sg.optim, name)([sg.nn.Parameter(sg.ones(2))]).param_groups[0]
    for key, value in defaults.items():
        assert group[key] == value, key
    if torch is not None:
        tgroup = getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(2))]).param_groups[0]
        assert sorted(group) == sorted(tgroup)
        assert all(group[k] == tgroup[k] for k in tgroup if k != "params")


@pytest.mark.parametrize("name", ["Adamax", "NAdam", "RAdam", "Rprop", "ASGD"])
def test_performance_only_keywords_are_accepted(name: str) -> None:
    p = sg.nn.Parameter(sg.ones(2))
    opt = getattr(sg.optim, name)([p], foreach=True, maximize=True, differentiable=False,
                                  capturable=False)
    p.grad = sg.ones(2)
    opt.step()
    assert opt.param_groups[0]["maximize"] is True
    assert np.all(p._data > 1)                    # maximize: moved up the gradient
    with pytest.raises(NotImplementedError, match=r"differentiable=True\) is not supported"):
        getattr(sg.optim, name)([p], differentiable=True)


@needs_torch
@pytest.mark.parametrize("name,kwargs", [("Adam", dict(lr=0.01)), ("NAdam", dict(lr=0.01)),
                                         ("ASGD", dict(t0=2)), ("Rprop", dict()),
                                         ("RAdam", dict()), ("Adamax", dict())])
def test_load_torch_optimizer_state_dict(name: str, kwargs: dict) -> None:
    """A PyTorch state_dict loads (its 0-d tensors: step, mu_product, eta, mu, as floats) and
    the run continues like PyTorch's."""
    arrays = _init_arrays(4)
    tp = [torch.nn.Parameter(torch.tensor(a)) for a in arrays]
    to = getattr(torch.optim, name)(tp, **kwargs)
    for k in range(8):
        for t in tp:
            t.grad = torch.tensor(_grad_fn(t.detach().numpy(), k))
        to.step()
    sp = [sg.nn.Parameter(sg.tensor(t.detach().numpy().copy())) for t in tp]
    so = getattr(sg.optim, name)(sp, **kwargs)
    so.load_state_dict(to.state_dict())
    for key, value in so.state[sp[0]].items():
        assert isinstance(value, float) == (to.state[tp[0]][key].ndim == 0), key
    for k in range(8, 14):
        for s, t in zip(sp, tp):
            s.grad = sg.tensor(_grad_fn(s._data, k))
            t.grad = torch.tensor(_grad_fn(t.detach().numpy(), k))
        so.step()
        to.step()
    for s, t in zip(sp, tp):
        np.testing.assert_allclose(s._data, t.detach().numpy(), atol=1e-12)

