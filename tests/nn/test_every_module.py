"""Every public module: construct, forward, backward, state_dict round trip, save/load, repr.

The modules and their example inputs are ``REGISTRY`` in ``tests/helpers/module_registry.py``.
``test_registry_covers_every_public_module`` discovers every public ``Module`` subclass of
``softgrad.nn`` (and of every file in ``softgrad/nn/modules``), so a new module without an
entry there fails the suite. Entries for modules that do not exist yet are simply unused.
Where PyTorch is installed, state_dict keys/shapes, repr and outputs are compared with it.
"""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
from tests.helpers import module_registry
from tests.helpers.checks import torch
from tests.helpers.module_registry import (NAMES, NOT_LAYERS, PUBLIC, REGISTRY, build_module,
                                           eval_outputs, perturbed_module, run_entry)


def test_registry_covers_every_public_module() -> None:
    missing = sorted(n for n in PUBLIC if n not in REGISTRY and n not in NOT_LAYERS)
    assert not missing, f"add these modules to REGISTRY in {module_registry.__file__}: {missing}"
    assert len(NAMES) >= 55


@pytest.mark.parametrize("name", NAMES)
def test_forward_backward_float32(name: str) -> None:
    entry = REGISTRY[name]
    module = build_module(name, 0)
    arrays = entry.inputs(np.random.default_rng(0))
    xs, outs = run_entry(entry, module, arrays, grad=True)
    assert outs, "forward returned nothing"
    floats = [o for o in outs if o.is_floating_point()]
    for o in floats:
        assert o.dtype == sg.float32, f"output is {o.dtype}"
        assert np.isfinite(o.detach().numpy()).all()
    rng = np.random.default_rng(1)
    loss = sum((o * sg.tensor(rng.standard_normal(o.shape).astype(np.float32))).sum()
               for o in floats if o.requires_grad)
    params = [p for p in module.parameters() if p.requires_grad]
    if isinstance(loss, int):
        assert not params and not xs[0].requires_grad
        return
    loss.backward()
    for pname, p in module.named_parameters():
        assert p.grad is not None, f"{pname} got no gradient"
        assert p.grad.shape == p.shape and p.grad.dtype == sg.float32, pname
    if xs[0].requires_grad:
        assert xs[0].grad is not None and xs[0].grad.shape == xs[0].shape
        assert xs[0].grad.dtype == sg.float32


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_is_bit_exact(name: str, tmp_path) -> None:
    src = perturbed_module(name, 3)
    fresh = build_module(name, 4)
    sd = src.state_dict()
    result = fresh.load_state_dict(sd)
    assert list(result.missing_keys) == [] and list(result.unexpected_keys) == []
    assert list(fresh.state_dict()) == list(sd)
    for a, b in zip(eval_outputs(name, src), eval_outputs(name, fresh)):
        assert a.dtype == b.dtype and np.array_equal(a, b), "outputs differ after loading"
    # through a checkpoint file too
    sg.save(src.state_dict(), tmp_path / "m.sg")
    other = build_module(name, 5)
    other.load_state_dict(sg.load(tmp_path / "m.sg"))
    for a, b in zip(eval_outputs(name, src), eval_outputs(name, other)):
        assert np.array_equal(a, b), "outputs differ after save/load"


@pytest.mark.parametrize("name", NAMES)
def test_repr_names_the_class(name: str) -> None:
    module = build_module(name, 0)
    text = repr(module)
    assert text.startswith(type(module).__name__ + "("), text
    if torch is not None and hasattr(torch.nn, name):
        torch.manual_seed(0)
        theirs = repr(REGISTRY[name].make(torch.nn)).replace("torch.", "softgrad.")
        assert text == theirs


@pytest.mark.parametrize("name", NAMES)
def test_state_and_outputs_match_torch(name: str) -> None:
    if torch is None or not hasattr(torch.nn, name):
        pytest.skip("no PyTorch counterpart to compare with")
    ours = perturbed_module(name, 3)
    torch.manual_seed(0)
    theirs = REGISTRY[name].make(torch.nn).float()
    sd = ours.state_dict()
    tsd = theirs.state_dict()
    assert list(sd) == list(tsd), "state_dict keys differ from PyTorch's"
    for k in sd:
        assert tuple(sd[k].shape) == tuple(tsd[k].shape), k
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in sd.items()})
    for a, b in zip(eval_outputs(name, ours), eval_outputs(name, theirs, torch)):
        np.testing.assert_allclose(a, b, atol=REGISTRY[name].atol, rtol=1e-4)
