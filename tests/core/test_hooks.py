"""Tensor and Module hooks behave as PyTorch's."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg


def _net(lib):
    nn = lib.nn
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    rng = np.random.default_rng(0)
    with lib.no_grad():
        for p in m.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)), dtype=lib.float32))
    return m


def _module_hook_run(lib):
    m = _net(lib)
    log = []
    m[1].register_full_backward_pre_hook(
        lambda mod, go: log.append(("pre", [round(g.sum().item(), 4) for g in go])))
    m[1].register_full_backward_hook(
        lambda mod, gi, go: log.append(("bw", [round(g.sum().item(), 4) for g in gi],
                                        [round(g.sum().item(), 4) for g in go])))
    m[2].register_full_backward_hook(lambda mod, gi, go: (gi[0] * 2,))
    m[0].register_full_backward_hook(lambda mod, gi, go: log.append(("first", gi)))
    m[0].register_forward_pre_hook(lambda mod, args: (args[0] * 0.5,))
    m[2].register_forward_hook(lambda mod, args, out: out + 1)
    m[1].register_forward_hook(lambda mod, args, kwargs, out: log.append(("kw", kwargs)),
                               with_kwargs=True)
    x = lib.ones(5, 3)
    out = m(x)
    out.sum().backward()
    return log, out.detach().numpy(), [p.grad.numpy() for p in m.parameters()]


def test_module_hooks_match_torch() -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = _module_hook_run(sg), _module_hook_run(torch)
    assert ours[0] == theirs[0]
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5)
    for a, b in zip(ours[2], theirs[2]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_backward_hook_sees_input_grads_and_handles_remove() -> None:
    torch = pytest.importorskip("torch")
    results = []
    for lib in (sg, torch):
        m = _net(lib)[0]
        seen = []
        h = m.register_full_backward_hook(
            lambda mod, gi, go: seen.append((gi[0].numpy().copy(), go[0].numpy().copy())))
        x = lib.ones(2, 3, requires_grad=True)
        m(x).pow(2).sum().backward()
        h.remove()
        m(x).sum().backward()
        results.append((seen, x.grad.numpy().copy()))
    (s_seen, s_grad), (t_seen, t_grad) = results
    assert len(s_seen) == len(t_seen) == 1
    for a, b in zip(s_seen[0], t_seen[0]):
        np.testing.assert_allclose(a, b, rtol=1e-5)
    np.testing.assert_allclose(s_grad, t_grad, rtol=1e-5)


def test_tensor_register_hook_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    results = []
    for lib in (sg, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        seen = []
        h = x.register_hook(lambda g: seen.append(g.clone()) or g * 10)
        y = x * 3
        y.register_hook(lambda g: g + 1)
        (y * y).sum().backward()
        first = x.grad.clone()
        h.remove()
        x.grad = None
        (x * 2).sum().backward()
        results.append((first.numpy(), seen[0].numpy(), x.grad.numpy()))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        sg.ones(2).register_hook(lambda g: g)


def test_tensor_hook_in_autograd_grad_and_create_graph() -> None:
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.register_hook(lambda g: g * 3)
    (gx,) = sg.autograd.grad(y.sum(), x, create_graph=True)
    assert gx.tolist() == [6.0, 12.0] and gx.requires_grad
    (gxx,) = sg.autograd.grad(gx.sum(), x)
    assert gxx.tolist() == [6.0, 6.0]
