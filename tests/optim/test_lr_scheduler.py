"""Learning-rate schedulers: lr sequences equal PyTorch's; state_dict round trips."""
from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import needs_torch, torch

STEPS = 30
METRICS = [1.0, 0.9, 0.95, 0.94, 0.96, 0.97, 0.8, 0.81, 0.82, 0.83, 0.84, 0.85, 0.7, 0.71,
           0.72, 0.73, 0.74, 0.75, 0.76, 0.77, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]


def _decay(epoch: int) -> float:
    return 0.95**epoch


def _inverse(x: float) -> float:
    return 1 / (x + 1)


def _make(lib, name: str, opt_name: str = "SGD"):
    """An optimizer with two groups and the named scheduler, built with ``lib``."""
    p1 = lib.nn.Parameter(lib.zeros(2))
    p2 = lib.nn.Parameter(lib.zeros(3))
    kw = dict(momentum=0.9) if opt_name == "SGD" else {}
    opt = getattr(lib.optim, opt_name)([{"params": [p1]}, {"params": [p2], "lr": 0.01}],
                                       lr=0.1, **kw)
    S, W = lib.optim.lr_scheduler, lib.optim.swa_utils
    makers = {
        "StepLR": lambda: S.StepLR(opt, step_size=3, gamma=0.5),
        "MultiStepLR": lambda: S.MultiStepLR(opt, milestones=[2, 5, 5, 9], gamma=0.3),
        "ExponentialLR": lambda: S.ExponentialLR(opt, gamma=0.9),
        "CosineAnnealingLR": lambda: S.CosineAnnealingLR(opt, T_max=7, eta_min=0.001),
        "LambdaLR": lambda: S.LambdaLR(opt, lr_lambda=[_decay, lambda e: 1 / (e + 1)]),
        "MultiplicativeLR": lambda: S.MultiplicativeLR(opt, lr_lambda=lambda e: 0.9),
        "LinearLR": lambda: S.LinearLR(opt, start_factor=0.25, total_iters=8),
        "ConstantLR": lambda: S.ConstantLR(opt, factor=0.5, total_iters=4),
        "PolynomialLR": lambda: S.PolynomialLR(opt, total_iters=10, power=2.0),
        "WarmRestarts": lambda: S.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=2,
                                                              eta_min=0.0005),
        "OneCycleLR": lambda: S.OneCycleLR(opt, max_lr=[1.0, 0.1], total_steps=STEPS + 1),
        "OneCycle3": lambda: S.OneCycleLR(opt, max_lr=0.5, epochs=4, steps_per_epoch=8,
                                          three_phase=True, anneal_strategy="linear"),
        "SequentialLR": lambda: S.SequentialLR(
            opt, [S.LinearLR(opt, start_factor=0.1, total_iters=5),
                  S.CosineAnnealingLR(opt, T_max=20)], milestones=[5]),
        "ChainedScheduler": lambda: S.ChainedScheduler(
            [S.ExponentialLR(opt, gamma=0.95), S.StepLR(opt, step_size=4, gamma=0.5)]),
        "ReduceLROnPlateau": lambda: S.ReduceLROnPlateau(opt, factor=0.5, patience=2,
                                                         cooldown=1, min_lr=[0.02, 0.001]),
        "PlateauMaxAbs": lambda: S.ReduceLROnPlateau(opt, mode="max", factor=0.3, patience=1,
                                                     threshold=0.05, threshold_mode="abs"),
        "CyclicLR": lambda: S.CyclicLR(opt, base_lr=[0.01, 0.001], max_lr=[0.1, 0.02],
                                       step_size_up=4, step_size_down=6),
        "CyclicTri2": lambda: S.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=3,
                                         mode="triangular2", base_momentum=0.7,
                                         max_momentum=0.95),
        "CyclicExp": lambda: S.CyclicLR(opt, base_lr=0.01, max_lr=[0.2, 0.05], step_size_up=5,
                                        mode="exp_range", gamma=0.9, cycle_momentum=False),
        "CyclicCustom": lambda: S.CyclicLR(opt, base_lr=0.001, max_lr=0.01, step_size_up=2,
                                           step_size_down=5, scale_fn=_inverse,
                                           scale_mode="iterations"),
        "SWALR": lambda: W.SWALR(opt, swa_lr=0.05, anneal_epochs=5),
        "SWALRLinear": lambda: W.SWALR(opt, swa_lr=[0.02, 0.005], anneal_epochs=3,
                                       anneal_strategy="linear"),
        "SWALRNow": lambda: W.SWALR(opt, swa_lr=0.03, anneal_epochs=0),
    }
    return opt, makers[name]()


def _step(opt, sched, k: int) -> None:
    opt.step()
    if "Plateau" in type(sched).__name__:
        metric = METRICS[k]
        sched.step(-metric if sched.mode == "max" else metric)
    else:
        sched.step()


def _momenta(opt) -> list[float]:
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


NAMES = ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LambdaLR",
         "MultiplicativeLR", "LinearLR", "ConstantLR", "PolynomialLR", "WarmRestarts",
         "OneCycleLR", "OneCycle3", "SequentialLR", "ChainedScheduler", "ReduceLROnPlateau",
         "PlateauMaxAbs", "CyclicLR", "CyclicTri2", "CyclicExp", "CyclicCustom", "SWALR",
         "SWALRLinear", "SWALRNow"]


@needs_torch
@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
@pytest.mark.parametrize("name", NAMES)
def test_lr_sequence_matches_torch(name: str, opt_name: str) -> None:
    so, ss = _make(sg, name, opt_name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        to, ts = _make(torch, name, opt_name)
        assert np.allclose(ss.get_last_lr(), ts.get_last_lr(), rtol=1e-12, atol=0)
        for k in range(STEPS):
            _step(so, ss, k)
            _step(to, ts, k)
            np.testing.assert_allclose(ss.get_last_lr(), ts.get_last_lr(), rtol=1e-12, atol=0,
                                       err_msg=f"{name} step {k}")
            np.testing.assert_allclose([g["lr"] for g in so.param_groups],
                                       [g["lr"] for g in to.param_groups], rtol=1e-12, atol=0)
            np.testing.assert_allclose(_momenta(so), _momenta(to), rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_continues_identically(name: str) -> None:
    opt, sched = _make(sg, name)
    for k in range(10):
        _step(opt, sched, k)
    opt_state, sched_state = copy.deepcopy(opt.state_dict()), copy.deepcopy(sched.state_dict())
    assert "optimizer" not in sched_state
    opt2, sched2 = _make(sg, name)
    opt2.load_state_dict(opt_state)
    sched2.load_state_dict(sched_state)
    for k in range(10, 20):
        _step(opt, sched, k)
        _step(opt2, sched2, k)
        assert sched.get_last_lr() == sched2.get_last_lr()
        assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in opt2.param_groups]


def test_step_lr_closed_form_and_values() -> None:
    opt = sg.optim.SGD([sg.nn.Parameter(sg.zeros(1))], lr=1.0)
    sched = sg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(5):
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    assert np.allclose(lrs, [1, 1, 0.1, 0.1, 0.01, 0.01])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched.step(7)                        # closed form jump
    assert math.isclose(opt.param_groups[0]["lr"], 1e-3)


def test_cosine_reaches_eta_min_at_t_max() -> None:
    opt = sg.optim.Adam([sg.nn.Parameter(sg.zeros(1))], lr=0.2)
    sched = sg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.02)
    for _ in range(10):
        sched.step()
    assert math.isclose(sched.get_last_lr()[0], 0.02, rel_tol=1e-12)


def test_scheduler_errors_are_clear() -> None:
    opt = sg.optim.SGD([sg.nn.Parameter(sg.zeros(1))], lr=0.1)
    S = sg.optim.lr_scheduler
    with pytest.raises(TypeError, match="is not an Optimizer"):
        S.StepLR("not an optimizer", step_size=1)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        S.ReduceLROnPlateau(opt, factor=2.0)
    with pytest.raises(ValueError, match="total_steps OR"):
        S.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        S.SequentialLR(opt, [S.StepLR(opt, 1)], milestones=[3])
    one = S.OneCycleLR(opt, max_lr=1.0, total_steps=2)
    one.step()
    one.step()
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        one.step()
    with pytest.raises(ValueError, match="mode is invalid and scale_fn is None"):
        S.CyclicLR(opt, 0.01, 0.1, mode="sawtooth")
    adagrad = sg.optim.Adagrad([sg.nn.Parameter(sg.zeros(1))])
    with pytest.raises(ValueError, match="must support momentum or beta1"):
        S.CyclicLR(adagrad, 0.01, 0.1)
    W = sg.optim.swa_utils
    with pytest.raises(ValueError, match="anneal_strategy must be one of"):
        W.SWALR(opt, swa_lr=0.1, anneal_strategy="step")
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
        W.SWALR(opt, swa_lr=0.1, anneal_epochs=-1)
    fresh = sg.optim.SGD([sg.nn.Parameter(sg.zeros(1))], lr=0.1)
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(fresh, step_size=1, last_epoch=3)
