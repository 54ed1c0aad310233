"""Linear, activation, dropout and loss modules vs PyTorch; clip_grad; a full training loop."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import needs_torch, torch

nn = sg.nn


def _rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def _compare_module(s, t, *arrays: np.ndarray, atol: float = 1e-10) -> None:
    """Same output and same input/parameter gradients for modules with equal state."""
    s.load_state_dict(t.state_dict())
    sx = [sg.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    tx = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    sy, ty = s(*sx), t(*tx)
    np.testing.assert_allclose(sy.detach().numpy(), ty.detach().numpy(), atol=atol)
    w = _rand(*ty.shape, seed=99)
    (sy * sg.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    for a, b in zip(sx, tx):
        if b.requires_grad:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=atol)
    for (name, a), b in zip(s.named_parameters(), t.parameters()):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=atol, err_msg=name)


ACTIVATIONS = [("ReLU", ()), ("ReLU6", ()), ("Sigmoid", ()), ("Tanh", ()), ("LeakyReLU", (0.2,)),
               ("GELU", ()), ("GELU", ("tanh",)), ("ELU", (0.5,)), ("CELU", (0.7,)), ("SELU", ()),
               ("SiLU", ()), ("Mish", ()), ("Softplus", (2.0, 3.0)), ("Softsign", ()),
               ("Hardtanh", (-0.5, 0.8)), ("Hardsigmoid", ()), ("Hardswish", ()),
               ("Tanhshrink", ()), ("LogSigmoid", ()), ("Softmax", (1,)), ("LogSoftmax", (-1,)),
               ("Softmin", (0,)), ("Softmax2d", ()), ("Threshold", (0.1, -2.0)), ("GLU", (1,)),
               ("PReLU", ()), ("PReLU", (4,)), ("Identity", ()), ("Flatten", ()),
               ("Unflatten", (1, (2, 2)))]


@needs_torch
@pytest.mark.parametrize("name,args", ACTIVATIONS)
def test_activation_modules_match_torch(name: str, args: tuple) -> None:
    s, t = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(s) == repr(t)
    _compare_module(s.double(), t, _rand(3, 4, 2, 3) * 3)


@needs_torch
@pytest.mark.parametrize("bias", [True, False])
def test_linear_and_bilinear_match_torch(bias: bool) -> None:
    s, t = nn.Linear(5, 3, bias=bias), torch.nn.Linear(5, 3, bias=bias)
    assert list(s.state_dict()) == list(t.state_dict()) and repr(s) == repr(t)
    assert s.weight.shape == (3, 5) and s.weight.dtype == sg.float32
    _compare_module(s.double(), t, _rand(2, 4, 5))
    s, t = nn.Bilinear(4, 3, 2, bias=bias), torch.nn.Bilinear(4, 3, 2, bias=bias)
    assert list(s.state_dict()) == list(t.state_dict()) and repr(s) == repr(t)
    _compare_module(s.double(), t, _rand(6, 4), _rand(6, 3, seed=1))


def _loss_inputs(name: str) -> tuple:
    x = _rand(6, 4)
    if name in ("CrossEntropyLoss", "NLLLoss"):
        return x, np.array([0, 3, 1, -100, 2, 3])
    if name == "BCELoss":
        return 1 / (1 + np.exp(-x)), np.random.default_rng(1).uniform(size=(6, 4))
    if name == "KLDivLoss":
        return np.log(np.exp(x) / np.exp(x).sum(1, keepdims=True)), \
            np.random.default_rng(1).dirichlet(np.ones(4), size=6)
    return x, _rand(6, 4, seed=1)


LOSSES = [("CrossEntropyLoss", {}), ("CrossEntropyLoss", dict(label_smoothing=0.1)),
          ("CrossEntropyLoss", dict(weight=[1.0, 2.0, 0.5, 1.5], reduction="sum")),
          ("NLLLoss", dict(reduction="none")), ("MSELoss", {}), ("L1Loss", dict(reduction="sum")),
          ("SmoothL1Loss", dict(beta=0.5)), ("HuberLoss", dict(delta=0.7)), ("BCELoss", {}),
          ("BCEWithLogitsLoss", dict(pos_weight=[1.0, 2.0, 3.0, 0.5])), ("KLDivLoss",
                                                                          dict(reduction="batchmean"))]


@needs_torch
@pytest.mark.parametrize("name,kwargs", LOSSES)
def test_loss_modules_match_torch(name: str, kwargs: dict) -> None:
    skw = {k: sg.tensor(np.array(v)) if isinstance(v, list) else v for k, v in kwargs.items()}
    tkw = {k: torch.tensor(np.array(v)) if isinstance(v, list) else v for k, v in kwargs.items()}
    s, t = getattr(nn, name)(**skw), getattr(torch.nn, name)(**tkw)
    assert repr(s) == repr(t) and list(s.state_dict()) == list(t.state_dict())
    x, y = _loss_inputs(name)
    if name == "NLLLoss":
        x = x - np.log(np.exp(x).sum(1, keepdims=True))
    sx, tx = sg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    sl, tl = s(sx, sg.tensor(y)), t(tx, torch.tensor(y))
    np.testing.assert_allclose(sl.detach().numpy(), tl.detach().numpy(), atol=1e-10)
    sl.sum().backward()
    tl.sum().backward()
    np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), atol=1e-10)


def test_legacy_reduction_arguments() -> None:
    assert nn.MSELoss(size_average=False).reduction == "sum"
    assert nn.L1Loss(reduce=False).reduction == "none"
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.MSELoss(reduction="avg")(sg.ones(2), sg.ones(2))


def test_dropout_train_eval_semantics() -> None:
    drop = nn.Dropout(0.25)
    x = sg.ones(200, 100, requires_grad=True)
    y = drop(x)
    kept = y.detach().numpy() != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy() != 0, kept)     # same mask in backward
    drop.eval()
    assert drop(x) is x                                 # identity in eval mode
    assert (drop(x) * 2).requires_grad                  # and recording still on
    with sg.no_grad():
        drop.train()
        z = drop(x)                                     # no_grad alone does not disable dropout
    assert (z.numpy() == 0).any() and not z.requires_grad
    assert repr(drop) == "Dropout(p=0.25, inplace=False)"
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_channel_and_alpha_dropout() -> None:
    y = nn.Dropout2d(0.5)(sg.ones(16, 8, 3, 3)).numpy()
    per_channel = y.reshape(16, 8, -1)
    assert ((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1)).all()
    assert 0.3 < (per_channel[..., 0] == 0).mean() < 0.7
    x = sg.randn(20000)
    a = nn.AlphaDropout(0.2)(x).numpy()
    assert abs(a.mean()) < 0.05 and abs(a.std() - 1) < 0.05
    assert nn.Dropout1d(0.5).eval()(x) is x


@needs_torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 3.0])
def test_clip_grad_norm_matches_torch(norm_type: float) -> None:
    arrays = [_rand(3, 4), _rand(5, seed=1), _rand(2, 2, seed=2)]
    sp = [nn.Parameter(sg.tensor(a)) for a in arrays]
    tp = [torch.nn.Parameter(torch.tensor(a)) for a in arrays]
    for s, t, a in zip(sp, tp, arrays):
        s.grad, t.grad = sg.tensor(a * 3), torch.tensor(a * 3)
    sn = nn.utils.clip_grad_norm_(sp, max_norm=1.5, norm_type=norm_type)
    tn = torch.nn.utils.clip_grad_norm_(tp, max_norm=1.5, norm_type=norm_type)
    assert np.isclose(sn.item(), tn.item(), rtol=1e-12)
    for s, t in zip(sp, tp):
        np.testing.assert_allclose(s.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    nn.utils.clip_grad_value_(sp, 0.1)
    torch.nn.utils.clip_grad_value_(tp, 0.1)
    for s, t in zip(sp, tp):
        np.testing.assert_allclose(s.grad.numpy(), t.grad.numpy(), rtol=1e-12)
        assert np.abs(s.grad.numpy()).max() <= 0.1


def test_clip_grad_edge_cases_and_vector_conversion() -> None:
    p = nn.Parameter(sg.ones(3))
    p.grad = sg.tensor([0.1, 0.2, 0.2])
    norm = nn.utils.clip_grad_norm_(p, max_norm=10.0)
    assert np.isclose(norm.item(), 0.3) and norm.dtype == sg.float32
    np.testing.assert_allclose(p.grad.numpy(), [0.1, 0.2, 0.2])          # under the limit
    p.grad = sg.tensor([float("nan"), 1.0, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert nn.utils.clip_grad_norm_([nn.Parameter(sg.ones(2))], 1.0).item() == 0.0
    model = nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(model.parameters())
    assert vec.shape == (8,)
    nn.utils.vector_to_parameters(vec * 0 + 2, model.parameters())
    assert (model.weight.data == 2).all() and (model.bias.data == 2).all()
    with pytest.raises(ValueError, match="holds 8|hold 8"):
        nn.utils.vector_to_parameters(sg.ones(5), model.parameters())


def _train(lib, model, x, y, steps: int = 6) -> list[float]:
    """A PyTorch-style training loop, written once and run with ``lib`` = torch or softgrad."""
    opt = lib.optim.AdamW([{"params": model[0].parameters(), "lr": 0.02},
                           {"params": list(model.parameters())[2:]}], lr=0.01)
    sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=steps)
    loss_fn = lib.nn.CrossEntropyLoss(label_smoothing=0.05)
    losses = []
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
    model.eval()
    with lib.no_grad():
        losses.append(loss_fn(model(x), y).item())
    return losses


def _mlp(lib):
    m = lib.nn
    return m.Sequential(m.Linear(6, 16), m.BatchNorm1d(16), m.GELU(), m.Dropout(0.0),
                        m.Linear(16, 16), m.LayerNorm(16), m.SiLU(), m.Linear(16, 3))


@needs_torch
def test_training_loop_runs_unchanged_and_matches_torch() -> None:
    t = _mlp(torch)
    s = _mlp(sg).double()
    s.load_state_dict(t.state_dict())
    x, y = _rand(32, 6), np.random.default_rng(3).integers(0, 3, 32)
    tl = _train(torch, t, torch.tensor(x), torch.tensor(y))
    sl = _train(sg, s, sg.tensor(x), sg.tensor(y))
    np.testing.assert_allclose(sl, tl, rtol=1e-9)
    assert sl[-1] < sl[0]
    for (k, a), b in zip(s.state_dict().items(), t.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-9, err_msg=k)


def test_float32_training_stays_float32() -> None:
    model = _mlp(sg)
    opt = sg.optim.Adam(model.parameters(), lr=1e-2)
    x, y = sg.randn(16, 6), sg.randint(0, 3, (16,))
    for _ in range(3):
        opt.zero_grad()
        loss = nn.CrossEntropyLoss()(model(x), y)
        loss.backward()
        opt.step()
    assert loss.dtype == sg.float32
    assert all(p.dtype == sg.float32 and p.grad.dtype == sg.float32 for p in model.parameters())
