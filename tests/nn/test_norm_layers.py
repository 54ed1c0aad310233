"""Image normalisation layers (BatchNorm2d, GroupNorm, InstanceNorm1d/2d) and channel
dropout, against PyTorch with weights copied through state_dict."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn.functional as F
from tests.helpers.checks import gradcheck, needs_torch, torch

nn = sg.nn


def _rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def _step(s_mod, t_mod, x: np.ndarray, seed: int) -> None:
    """One forward/backward on both modules; outputs, input and parameter grads agree."""
    sx, tx = sg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    sy, ty = s_mod(sx), t_mod(tx)
    np.testing.assert_allclose(sy.detach().numpy(), ty.detach().numpy(), atol=1e-10)
    w = _rand(*ty.shape, seed=seed)
    (sy * sg.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), atol=1e-10)
    for (name, a), b in zip(s_mod.named_parameters(), t_mod.parameters()):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-10, err_msg=name)
        a.grad, b.grad = None, None


def _same_state(s_mod, t_mod) -> None:
    ts = t_mod.state_dict()
    ss = s_mod.state_dict()
    assert list(ss) == list(ts)
    for k in ts:
        np.testing.assert_allclose(ss[k].numpy(), ts[k].numpy(), atol=1e-12, err_msg=k)


def _perturbed(t_mod) -> None:
    with torch.no_grad():
        for p in t_mod.parameters():
            p.add_(torch.tensor(_rand(*p.shape, seed=5)) * 0.3)


@needs_torch
@pytest.mark.parametrize("kw", [dict(), dict(momentum=None), dict(affine=False),
                                dict(track_running_stats=False), dict(momentum=0.3, eps=1e-3)])
def test_batchnorm2d_train_and_eval_match_torch(kw: dict) -> None:
    t = torch.nn.BatchNorm2d(3, **kw)
    _perturbed(t)
    s = nn.BatchNorm2d(3, dtype=sg.float64, **kw)
    s.load_state_dict(t.state_dict())
    for i in range(3):
        _step(s, t, _rand(4, 3, 5, 6, seed=i) * 2 + 1, seed=10 + i)
        _same_state(s, t)
    s.eval(), t.eval()
    _step(s, t, _rand(2, 3, 4, 4, seed=9), seed=20)


@needs_torch
@pytest.mark.parametrize("groups,affine", [(1, True), (2, True), (6, False), (3, True)])
def test_groupnorm_matches_torch(groups: int, affine: bool) -> None:
    t = torch.nn.GroupNorm(groups, 6, affine=affine)
    _perturbed(t)
    s = nn.GroupNorm(groups, 6, affine=affine, dtype=sg.float64)
    s.load_state_dict(t.state_dict())
    _step(s, t, _rand(2, 6, 5, 4), seed=1)
    _step(s, t, _rand(3, 6, 7), seed=2)


@needs_torch
@pytest.mark.parametrize("cls,shape", [("InstanceNorm1d", (3, 4, 7)),
                                       ("InstanceNorm2d", (3, 4, 5, 6)),
                                       ("InstanceNorm2d", (4, 5, 6))])
@pytest.mark.parametrize("kw", [dict(), dict(affine=True),
                                dict(affine=True, track_running_stats=True, momentum=0.2),
                                dict(track_running_stats=True, momentum=None)])
def test_instancenorm_matches_torch(cls: str, shape: tuple, kw: dict) -> None:
    t = getattr(torch.nn, cls)(4, **kw)
    _perturbed(t)
    s = getattr(nn, cls)(4, dtype=sg.float64, **kw)
    s.load_state_dict(t.state_dict())
    assert repr(s) == repr(t)
    for i in range(2):
        _step(s, t, _rand(*shape, seed=i) * 3 - 1, seed=10 + i)
        _same_state(s, t)
    s.eval(), t.eval()
    _step(s, t, _rand(*shape, seed=7), seed=30)


def test_norm_layers_gradcheck_and_float32() -> None:
    rm, rv = sg.zeros(3, dtype=sg.float64), sg.ones(3, dtype=sg.float64)
    gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=True),
              _rand(2, 3, 3, 2), _rand(3, seed=1), _rand(3, seed=2))
    gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), _rand(2, 4, 3, 2), _rand(4, seed=1),
              _rand(4, seed=2))
    gradcheck(lambda x: F.instance_norm(x), _rand(2, 3, 4, 2))
    for layer in (nn.BatchNorm2d(3), nn.GroupNorm(3, 3), nn.InstanceNorm2d(3, affine=True)):
        x = sg.randn(2, 3, 4, 4, requires_grad=True)
        y = layer(x)
        y.sum().backward()
        assert y.dtype == sg.float32 and x.grad.dtype == sg.float32


def test_norm_layer_errors() -> None:
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(sg.randn(2, 3, 4))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\) got input with 4 channels"):
        nn.BatchNorm2d(3)(sg.randn(2, 4, 5, 5))
    with pytest.raises(ValueError, match="divisible by num_groups"):
        F.group_norm(sg.randn(2, 6, 3, 3), 4)
    with pytest.raises(ValueError, match="match num_features"):
        nn.InstanceNorm2d(3, affine=True)(sg.randn(2, 4, 5, 5))
    with pytest.raises(ValueError, match="expected 3D or 4D input"):
        nn.InstanceNorm2d(3)(sg.randn(2, 3))


def test_dropout2d_zeroes_whole_channels() -> None:
    x = sg.ones(8, 16, 5, 5)
    y = F.dropout2d(x, 0.5).numpy()
    per_channel = y.reshape(8, 16, -1)
    assert ((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1)).all()
    assert 0.2 < (per_channel[..., 0] == 0).mean() < 0.8
    assert F.dropout2d(x, 0.5, training=False) is x
    y1 = F.dropout1d(sg.ones(4, 6, 9), 0.3).numpy()
    assert ((y1 == 0).all(-1) | np.isclose(y1, 1 / 0.7).all(-1)).all()
    xg = sg.randn(2, 3, 4, 4, requires_grad=True)
    out = F.dropout2d(xg, 0.4)
    out.sum().backward()
    np.testing.assert_allclose(xg.grad.numpy(), (out.detach().numpy() / xg.detach().numpy()),
                               rtol=1e-5)
    with pytest.raises(RuntimeError, match="Expected 3D or 4D input"):
        F.dropout2d(sg.ones(2, 3, 4, 5, 6), 0.5)


def test_dropout2d_module_reads_3d_input_as_channels_like_torch() -> None:
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        y = nn.Dropout2d(0.5)(sg.ones(6, 40, 7)).numpy()
    assert ((y == 0).all(-1) | (y == 2.0).all(-1)).all()
    assert not ((y == 0).all(1)).any()  # the mask varies along C, not only along N


@needs_torch
@pytest.mark.parametrize("offset", [0.0, 3.0, 1000.0])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_channel_path_float32_matches_float64_torch(offset: float,
                                                              training: bool) -> None:
    """The per-channel BLAS-sum path in float32, including channels whose mean dwarfs their
    spread (centred before summing), against PyTorch in float64."""
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((8, 5, 6, 7)) * np.array([1, 2, 0.5, 1, 3])[:, None, None]
         + offset * np.array([1, -1, 0.3, 0, 2])[:, None, None]).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    t = torch.nn.BatchNorm2d(5).double()
    _perturbed(t)
    with torch.no_grad():
        t.running_mean.copy_(torch.tensor(x.mean(axis=(0, 2, 3)), dtype=torch.float64) + 0.1)
        t.running_var.copy_(torch.tensor(x.var(axis=(0, 2, 3)), dtype=torch.float64) * 1.1)
    s = nn.BatchNorm2d(5)
    s.load_state_dict({k: v.float() for k, v in t.state_dict().items()})
    t.train(training), s.train(training)
    sx, tx = sg.tensor(x, requires_grad=True), torch.tensor(x.astype(np.float64),
                                                            requires_grad=True)
    sy, ty = s(sx), t(tx)
    assert sy.grad_fn.channels
    (sy * sg.tensor(g)).sum().backward()
    (ty * torch.tensor(g.astype(np.float64))).sum().backward()
    np.testing.assert_allclose(sy.detach().numpy(), ty.detach().numpy(), rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=2e-5)
    for (name, a), b in zip(s.named_parameters(), t.parameters()):
        scale = np.abs(b.grad.numpy()).max()
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=2e-5 * scale,
                                   err_msg=name)
    for k in ("running_mean", "running_var"):
        np.testing.assert_allclose(s.state_dict()[k].numpy(), t.state_dict()[k].numpy(),
                                   rtol=1e-5, err_msg=k)


def test_batchnorm1d_on_2d_input_uses_the_channel_path() -> None:
    x = sg.tensor(np.random.default_rng(1).standard_normal((16, 3)), requires_grad=True)
    y = nn.BatchNorm1d(3, dtype=sg.float64)(x)
    assert y.grad_fn.channels
    gradcheck(lambda a: F.batch_norm(a, None, None, training=True), x.detach().numpy())
