"""Optimizers: trajectories equal PyTorch's, state_dict round trips, in-place updates."""
from __future__ import annotations

import copy
import tracemalloc

import numpy as np
import pytest

import softgrad as sg
from checks import needs_torch, torch

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
]


@needs_torch
@pytest.mark.parametrize("name,kwargs,spec", CASES)
def test_trajectory_matches_torch(name: str, kwargs: dict, spec: list | None) -> None:
    for k, (sp, tp, so, to) in enumerate(_run_pair(name, kwargs, spec)):
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
            if key == "step":
                assert float(sval) == float(tval)
            else:
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


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta"])
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
                                         ("Adadelta", dict(weight_decay=0.1))])
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


@needs_torch
def test_load_torch_optimizer_state_dict() -> None:
    """A PyTorch Adam state_dict (tensor values) loads and continues like PyTorch."""
    arrays = _init_arrays(2)
    tp = [torch.nn.Parameter(torch.tensor(a)) for a in arrays]
    to = torch.optim.Adam(tp, lr=0.01)
    for k in range(5):
        for t in tp:
            t.grad = torch.tensor(_grad_fn(t.detach().numpy(), k))
        to.step()
    sp = [sg.nn.Parameter(sg.tensor(t.detach().numpy().copy())) for t in tp]
    so = sg.optim.Adam(sp, lr=0.01)
    so.load_state_dict(to.state_dict())
    for k in range(5, 10):
        for s, t in zip(sp, tp):
            s.grad = sg.tensor(_grad_fn(s._data, k))
            t.grad = torch.tensor(_grad_fn(t.detach().numpy(), k))
        so.step()
        to.step()
    for s, t in zip(sp, tp):
        np.testing.assert_allclose(s._data, t.detach().numpy(), atol=1e-9)
