"""swa_utils: AveragedModel (SWA/EMA), update_bn and SWALR equal PyTorch's."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import needs_torch, torch


def _model(lib):
    f64 = lib.float64
    return lib.nn.Sequential(lib.nn.Linear(3, 4, dtype=f64), lib.nn.BatchNorm1d(4, dtype=f64),
                             lib.nn.ReLU(), lib.nn.Linear(4, 2, dtype=f64))


def _state_arrays(model) -> dict[str, np.ndarray]:
    return {k: (v._data if isinstance(v, sg.Tensor) else v.detach().numpy())
            for k, v in model.state_dict().items()}


def _set_state(lib, model, rng: np.random.Generator, k: int) -> dict[str, np.ndarray]:
    """Give the model new weights and buffers (the same arrays are returned for the twin)."""
    values = {}
    for name, t in model.state_dict().items():
        shape = tuple(t.shape)
        values[name] = (np.asarray(3 * k + 1, dtype=np.int64) if name.endswith("tracked")
                        else rng.standard_normal(shape) + (2.0 if name.endswith("var") else 0))
    return values


def _load(lib, model, values: dict[str, np.ndarray]) -> None:
    for name, t in model.state_dict().items():
        t.data.copy_(lib.tensor(values[name]))


AVERAGERS = {
    "swa": lambda W: dict(),
    "swa_buffers": lambda W: dict(use_buffers=True),
    "ema_multi": lambda W: dict(multi_avg_fn=W.get_ema_multi_avg_fn(0.9), use_buffers=True),
    "ema_multi_params": lambda W: dict(multi_avg_fn=W.get_ema_multi_avg_fn(0.75)),
    "swa_multi": lambda W: dict(multi_avg_fn=W.get_swa_multi_avg_fn()),
    "ema_fn": lambda W: dict(avg_fn=W.get_ema_avg_fn(0.8)),
    "swa_fn": lambda W: dict(avg_fn=W.get_swa_avg_fn(), use_buffers=True),
}


@needs_torch
@pytest.mark.parametrize("kind", list(AVERAGERS))
def test_averaged_model_matches_torch(kind: str) -> None:
    sm, tm = _model(sg), _model(torch)
    rng = np.random.default_rng(0)
    first = _set_state(sg, sm, rng, 0)
    _load(sg, sm, first)
    _load(torch, tm, first)
    sa = sg.optim.swa_utils.AveragedModel(sm, **AVERAGERS[kind](sg.optim.swa_utils))
    ta = torch.optim.swa_utils.AveragedModel(tm, **AVERAGERS[kind](torch.optim.swa_utils))
    assert list(sa.state_dict()) == list(ta.state_dict())
    for k in range(6):
        values = _set_state(sg, sm, rng, k)
        _load(sg, sm, values)
        _load(torch, tm, values)
        sa.update_parameters(sm)
        ta.update_parameters(tm)
        ss, ts = _state_arrays(sa), _state_arrays(ta)
        for name in ts:
            assert ss[name].dtype == ts[name].dtype, name
            np.testing.assert_allclose(ss[name], ts[name], rtol=1e-13, atol=1e-15,
                                       err_msg=f"{kind} update {k}: {name}")
    assert int(sa.n_averaged.item()) == 6
    x = np.random.default_rng(1).standard_normal((5, 3))
    sa.eval()
    ta.eval()
    np.testing.assert_allclose(sa(sg.tensor(x))._data, ta(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12)


def test_averaged_model_is_the_running_mean_and_a_separate_copy() -> None:
    model = sg.nn.Linear(2, 2, dtype=sg.float64)
    swa = sg.optim.swa_utils.AveragedModel(model)
    seen = []
    for k in range(4):
        model.weight.data.fill_(float(k * k))
        seen.append(k * k)
        swa.update_parameters(model)
    np.testing.assert_allclose(swa.module.weight._data, np.mean(seen))
    assert swa.module.weight is not model.weight and model.weight._data[0, 0] == 9.0


def test_averaged_model_errors() -> None:
    W = sg.optim.swa_utils
    with pytest.raises(ValueError, match="Only one of avg_fn and multi_avg_fn"):
        W.AveragedModel(sg.nn.Linear(1, 1), avg_fn=W.get_swa_avg_fn(),
                        multi_avg_fn=W.get_swa_multi_avg_fn())
    with pytest.raises(ValueError, match=r"Invalid decay value 1.5 provided"):
        W.get_ema_multi_avg_fn(1.5)
    with pytest.raises(ValueError, match=r"Invalid decay value -0.1 provided"):
        W.get_ema_avg_fn(-0.1)


@needs_torch
def test_update_bn_matches_torch() -> None:
    sm, tm = _model(sg), _model(torch)
    values = _set_state(sg, sm, np.random.default_rng(2), 1)
    _load(sg, sm, values)
    _load(torch, tm, values)
    sm.eval()
    tm.eval()
    rng = np.random.default_rng(3)
    batches = [rng.standard_normal((n, 3)) * 2 + 1 for n in (8, 5, 11)]
    s_loader = [sg.tensor(batches[0]), (sg.tensor(batches[1]), sg.zeros(5)),
                [sg.tensor(batches[2])]]
    t_loader = [torch.tensor(batches[0]), (torch.tensor(batches[1]), torch.zeros(5)),
                [torch.tensor(batches[2])]]
    sg.optim.swa_utils.update_bn(s_loader, sm)
    torch.optim.swa_utils.update_bn(t_loader, tm)
    ss, ts = _state_arrays(sm), _state_arrays(tm)
    for name in ("1.running_mean", "1.running_var", "1.num_batches_tracked"):
        np.testing.assert_allclose(ss[name], ts[name], rtol=1e-12, err_msg=name)
    assert int(ss["1.num_batches_tracked"]) == 3
    assert not sm.training and sm[1].momentum == 0.1      # mode and momentum restored


@needs_torch
def test_swa_training_loop_matches_torch() -> None:
    """The documented recipe: SGD + CosineAnnealingLR, then SWALR + AveragedModel."""
    rng = np.random.default_rng(4)
    x, w_true = rng.standard_normal((32, 3)), np.array([[1.0], [-2.0], [0.5]])
    y = x @ w_true + 0.1 * rng.standard_normal((32, 1))
    runs = []
    for lib in (sg, torch):
        model = lib.nn.Linear(3, 1, dtype=lib.float64)
        model.weight.data.copy_(lib.tensor(np.array([[0.3, 0.2, -0.1]])))
        model.bias.data.fill_(0.0)
        opt = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
        swa_model = lib.optim.swa_utils.AveragedModel(model)
        swa_sched = lib.optim.swa_utils.SWALR(opt, swa_lr=0.02, anneal_epochs=3)
        xt, yt = lib.tensor(x), lib.tensor(y)
        lrs = []
        for epoch in range(12):
            for i in range(0, 32, 8):
                opt.zero_grad()
                loss = ((model(xt[i:i + 8]) - yt[i:i + 8]) ** 2).mean()
                loss.backward()
                opt.step()
            if epoch >= 6:
                swa_model.update_parameters(model)
                swa_sched.step()
            else:
                sched.step()
            lrs.append(opt.param_groups[0]["lr"])
        runs.append((lrs, _state_arrays(swa_model), _state_arrays(model)))
    (slr, s_avg, s_last), (tlr, t_avg, t_last) = runs
    np.testing.assert_allclose(slr, tlr, rtol=1e-12)
    for name in t_avg:
        np.testing.assert_allclose(s_avg[name], t_avg[name], rtol=1e-10, err_msg=name)
    for name in t_last:
        np.testing.assert_allclose(s_last[name], t_last[name], rtol=1e-10, err_msg=name)
