"""Float32 is the default everywhere and stays float32: factories, mixed int/bool/Python
operands, reductions, losses, init functions, optimizer state, schedulers, data and datasets.
(Per-op forward and backward dtypes are in test_ops_float32.py.)
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn as nn
import softgrad.nn.functional as F
from softgrad.utils.data import DataLoader, TensorDataset

F32 = sg.float32

FACTORIES = {
    "tensor_floats": lambda: sg.tensor([1.0, 2.0]), "tensor_nested": lambda: sg.tensor([[1.5]]),
    "zeros": lambda: sg.zeros(2), "ones": lambda: sg.ones(2, 3), "empty": lambda: sg.empty(2),
    "full_float": lambda: sg.full((2,), 1.5), "eye": lambda: sg.eye(3),
    "arange_float": lambda: sg.arange(0.0, 1.0, 0.25), "linspace": lambda: sg.linspace(0, 1, 5),
    "rand": lambda: sg.rand(3), "randn": lambda: sg.randn(3),
    "zeros_like_int": lambda: sg.zeros_like(sg.ones(2)), "randn_like": lambda: sg.randn_like(
        sg.ones(2)), "rand_like": lambda: sg.rand_like(sg.ones(2)),
    "int_to_float": lambda: sg.tensor([1, 2]).float(), "Parameter": lambda: nn.Parameter(
        sg.randn(2)), "Linear_weight": lambda: nn.Linear(3, 2).weight,
    "scalar_tensor": lambda: sg.tensor(3.5),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_floating_factories_default_to_float32(name: str) -> None:
    assert FACTORIES[name]().dtype == F32


def _i():
    return sg.tensor([1, 2, 3])


def _b():
    return sg.tensor([True, False, True])


MIXED: dict[str, Callable] = {
    "int_plus_float_scalar": lambda x: _i() + 0.5 + x,
    "int_times_float": lambda x: _i() * x, "float_times_int": lambda x: x * _i(),
    "bool_times_float": lambda x: _b() * x, "float_plus_bool": lambda x: x + _b(),
    "int_div_int": lambda x: _i() / _i() + x, "float_pow_int_tensor": lambda x: x ** _i(),
    "where_float_int": lambda x: sg.where(_b(), x, _i()),
    "maximum_float_int": lambda x: sg.maximum(x, _i()),
    "clamp_int_bounds": lambda x: x.clamp(0, 2), "masked_fill_int": lambda x: x.masked_fill(
        _b(), 1), "add_true": lambda x: x + True, "times_int": lambda x: x * 2,
    "np_float64_scalar": lambda x: x * np.float64(2.5), "np_int_scalar": lambda x: np.int64(3) * x,
    "python_float_pow": lambda x: 2.0 ** x, "rsub": lambda x: 1 - x, "rdiv": lambda x: 1.0 / x,
    "cat_with_int": lambda x: sg.cat([x, _i().float()]),
    "mean": lambda x: x.mean(), "var": lambda x: x.var(), "std": lambda x: x.std(),
    "norm": lambda x: x.norm(), "norm_p3": lambda x: x.norm(p=3), "prod": lambda x: x.prod(),
    "logsumexp": lambda x: x.logsumexp(0), "cumsum": lambda x: x.cumsum(0),
    "softmax": lambda x: F.softmax(x, 0), "log_softmax": lambda x: F.log_softmax(x, 0),
    "sum_keepdim": lambda x: x.reshape(1, 3).sum(1, keepdim=True),
    "matmul": lambda x: x @ x, "einsum": lambda x: sg.einsum("i,i->", x, x),
}


@pytest.mark.parametrize("name", sorted(MIXED))
def test_mixed_operands_keep_float32_value_and_gradient(name: str) -> None:
    x = sg.tensor([0.5, 1.5, 2.5], requires_grad=True)
    out = MIXED[name](x)
    assert out.dtype == F32, f"value is {out.dtype}"
    out.sum().backward()
    assert x.grad.dtype == F32, f"gradient is {x.grad.dtype}"


def _logits():
    return sg.randn(4, 3, requires_grad=True)


LOSSES: dict[str, Callable] = {
    "cross_entropy": lambda z: F.cross_entropy(z, sg.tensor([0, 1, 2, 1])),
    "cross_entropy_smooth_weight": lambda z: F.cross_entropy(
        z, sg.tensor([0, 1, 2, 1]), weight=sg.tensor([1.0, 2.0, 0.5]), label_smoothing=0.1),
    "cross_entropy_probs": lambda z: F.cross_entropy(z, sg.rand(4, 3).softmax(1)),
    "nll_loss": lambda z: F.nll_loss(F.log_softmax(z, 1), sg.tensor([0, 1, 2, 1])),
    "mse_loss": lambda z: F.mse_loss(z, sg.randn(4, 3)),
    "l1_loss": lambda z: F.l1_loss(z, sg.randn(4, 3), reduction="sum"),
    "smooth_l1_loss": lambda z: F.smooth_l1_loss(z, sg.randn(4, 3), beta=0.5),
    "huber_loss": lambda z: F.huber_loss(z, sg.randn(4, 3), delta=0.3),
    "binary_cross_entropy": lambda z: F.binary_cross_entropy(z.sigmoid(), sg.rand(4, 3)),
    "bce_with_logits": lambda z: F.binary_cross_entropy_with_logits(
        z, sg.rand(4, 3), pos_weight=sg.tensor([1.0, 2.0, 3.0])),
    "kl_div": lambda z: F.kl_div(F.log_softmax(z, 1), sg.rand(4, 3).softmax(1),
                                 reduction="batchmean"),
    "mse_int_target": lambda z: F.mse_loss(z, sg.ones(4, 3, dtype=sg.int64)),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_keep_float32(name: str) -> None:
    z = _logits()
    loss = LOSSES[name](z)
    assert loss.dtype == F32
    loss.backward()
    assert z.grad.dtype == F32


INIT = {
    "uniform_": lambda t: nn.init.uniform_(t, -0.1, 0.1),
    "normal_": lambda t: nn.init.normal_(t, 0.0, 0.02), "zeros_": nn.init.zeros_,
    "ones_": nn.init.ones_, "constant_": lambda t: nn.init.constant_(t, 0.3),
    "xavier_uniform_": nn.init.xavier_uniform_, "xavier_normal_": nn.init.xavier_normal_,
    "kaiming_uniform_": lambda t: nn.init.kaiming_uniform_(t, a=5 ** 0.5),
    "kaiming_normal_": nn.init.kaiming_normal_, "orthogonal_": nn.init.orthogonal_,
    "Tensor.uniform_": lambda t: t.uniform_(-1, 1), "Tensor.normal_": lambda t: t.normal_(),
}


@pytest.mark.parametrize("name", sorted(INIT))
def test_init_functions_keep_float32(name: str) -> None:
    t = sg.empty(4, 3)
    with sg.no_grad():
        out = INIT[name](t)
    assert out is t and t.dtype == F32 and np.isfinite(t.numpy()).all()


OPTIMIZERS = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.5, dampening=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, amsgrad=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1)),
    ("Adadelta", dict(lr=1.0, weight_decay=0.1)),
]


@pytest.mark.parametrize("name,kw", OPTIMIZERS, ids=[f"{n}-{i}" for i, (n, _) in
                                                     enumerate(OPTIMIZERS)])
def test_optimizer_updates_and_state_stay_float32(name: str, kw: dict) -> None:
    model = nn.Linear(3, 2)
    opt = getattr(sg.optim, name)(model.parameters(), **kw)
    sched = sg.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
    x = sg.randn(5, 3)
    for _ in range(3):
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
        sched.step()
    nn.utils.clip_grad_norm_(model.parameters(), 0.5)
    nn.utils.clip_grad_value_(model.parameters(), 0.1)
    for p in model.parameters():
        assert p.dtype == F32 and p.grad.dtype == F32 and isinstance(p, nn.Parameter)
    for state in opt.state.values():
        for key, v in state.items():
            if key == "step":
                continue
            arr = v.data if isinstance(v, sg.Tensor) else np.asarray(v)
            if arr.ndim:
                assert arr.dtype == np.float32, f"{name} state {key} is {arr.dtype}"


def test_data_pipeline_keeps_float32() -> None:
    ds = TensorDataset(sg.randn(10, 3), sg.randint(0, 2, (10,)))
    xb, yb = next(iter(DataLoader(ds, batch_size=4, shuffle=True)))
    assert xb.dtype == F32 and yb.dtype == sg.int64
    arrays = [np.zeros(3, np.float32)] * 4
    assert next(iter(DataLoader(arrays, batch_size=2))).dtype == F32
    pairs = [(1.5, 2)] * 4  # Python floats collate to float32 (softgrad's default)
    xb, yb = next(iter(DataLoader(pairs, batch_size=2)))
    assert xb.dtype == F32 and yb.dtype == sg.int64
    tensors = [sg.ones(2)] * 4
    assert next(iter(DataLoader(tensors, batch_size=3))).dtype == F32


def test_bundled_datasets_are_float32_features_and_int64_labels() -> None:
    split = sg.datasets.load_iris()
    parts = [getattr(split, k) for k in ("x_train", "y_train", "x_test", "y_test")]
    assert parts[0].dtype == np.float32 and parts[2].dtype == np.float32
    assert parts[1].dtype == np.int64 and parts[3].dtype == np.int64


def test_module_to_double_and_back() -> None:
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    m.double()
    assert all(t.dtype == sg.float64 for t in m.state_dict().values()
               if t.is_floating_point())
    m.float()
    assert all(t.dtype == F32 for t in m.state_dict().values() if t.is_floating_point())
    assert m(sg.randn(2, 3)).dtype == F32
