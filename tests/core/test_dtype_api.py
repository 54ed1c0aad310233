"""dtypes PyTorch programs name: float16/half, bfloat16 (through ml_dtypes), the default
dtype, ``finfo``/``iinfo``, Python types as dtypes; compared with PyTorch."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn as nn
from softgrad import dtypes

from tests.helpers.checks import needs_torch, torch

FLOATS = ["float16", "bfloat16", "float32", "float64"]
INTS = ["uint8", "int8", "int16", "int32", "int64"]


def _name(t_dtype) -> str:
    return str(t_dtype).rpartition(".")[2]


# ---------------------------------------------------------------------- float16
def test_half_is_float16() -> None:
    assert sg.half is sg.float16 and sg.float16 == np.float16 and sg.float16.itemsize == 2
    x = sg.tensor([1.0, 2.0]).half()
    assert x.dtype == sg.float16 and x.is_floating_point() and x.element_size() == 2
    assert sg.zeros(2, dtype=sg.half).dtype == sg.float16
    assert sg.ones(2).to(sg.float16).dtype == sg.float16
    assert nn.Linear(2, 2).half().weight.dtype == sg.float16


@needs_torch
def test_float16_arithmetic_and_gradients_match_torch() -> None:
    rng = np.random.default_rng(0)
    a, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))

    def run(lib, leaf):
        x = leaf(a)
        m = leaf(w)
        y = (x @ m).tanh() * 2 + x.exp().sum(1, keepdim=True) / 3
        loss = (y * y).mean()
        loss.backward()
        return y, loss, x.grad, m.grad

    ours = run(sg, lambda v: sg.tensor(v, dtype=sg.float16, requires_grad=True))
    theirs = run(torch, lambda v: torch.tensor(v, dtype=torch.float16, requires_grad=True))
    for o, t in zip(ours, theirs):
        assert o.dtype == sg.float16 and t.dtype == torch.float16
        np.testing.assert_allclose(o.detach().numpy().astype(np.float32),
                                   t.detach().numpy().astype(np.float32), rtol=2e-2, atol=2e-2)


def test_float16_model_trains() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)).half()
    opt = sg.optim.SGD(model.parameters(), lr=0.05)
    x = sg.randn(32, 4, dtype=sg.float16)
    y = x.sum(1, keepdim=True)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert loss.dtype == sg.float16
    assert all(p.grad.dtype == sg.float16 for p in model.parameters())
    assert losses[-1] < 0.5 * losses[0]


# ---------------------------------------------------------------------- bfloat16
@needs_torch
def test_bfloat16_create_convert_and_round_like_torch() -> None:
    pytest.importorskip("ml_dtypes")
    vals = [1.0, -2.5, 3.14159, 1e-3, 65504.0, 1.0 + 2**-8, 1.0 + 3 * 2**-9]
    b = sg.tensor(vals, dtype=sg.bfloat16)
    tb = torch.tensor(vals, dtype=torch.bfloat16)
    assert b.dtype == sg.bfloat16 and b.dtype is sg.bfloat16
    assert repr(b.dtype) == "softgrad.bfloat16"
    assert b.is_floating_point() and b.element_size() == 2 and b.dtype.is_floating_point
    np.testing.assert_array_equal(b.float().numpy(), tb.float().numpy())  # same rounding
    via_to = sg.tensor(vals).to(sg.bfloat16)
    assert via_to.dtype == sg.bfloat16
    np.testing.assert_array_equal(via_to.float().numpy(), tb.float().numpy())
    np.testing.assert_array_equal(sg.tensor(vals).bfloat16().double().numpy(),
                                  tb.double().numpy())
    assert sg.zeros(2, 3, dtype=sg.bfloat16).dtype == sg.bfloat16
    assert sg.ones(2, dtype="bfloat16").float().tolist() == [1.0, 1.0]
    s = b + b * 2 - 0.5 * b
    np.testing.assert_array_equal(s.float().numpy(), (tb + tb * 2 - 0.5 * tb).float().numpy())
    assert s.dtype == sg.bfloat16 and b.float().dtype == sg.float32
    assert (sg.tensor([1, 2]) * b[:2]).dtype == sg.bfloat16  # ints promote to bfloat16


@needs_torch
def test_bfloat16_round_trip_gradient_matches_torch() -> None:
    pytest.importorskip("ml_dtypes")
    w = [0.1, 3.3, -7.77]

    x = sg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x.to(sg.bfloat16).float() * sg.tensor(w)).sum().backward()
    tx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (tx.to(torch.bfloat16).float() * torch.tensor(w)).sum().backward()
    assert x.grad.dtype == sg.float32
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    leaf = sg.tensor([1.5], dtype=sg.bfloat16, requires_grad=True)
    (leaf.float() * 3).sum().backward()
    assert leaf.grad.dtype == sg.bfloat16 and leaf.grad.float().item() == 3.0


BF16_OPS = {
    "sum": lambda t: t.sum(), "mean": lambda t: t.mean(1), "prod": lambda t: t.prod(0),
    "cumsum": lambda t: t.cumsum(1), "var": lambda t: t.var(), "std": lambda t: t.std(0),
    "max": lambda t: t.max(), "exp": lambda t: t.exp(), "log": lambda t: t.abs().log(),
    "tanh": lambda t: t.tanh(), "sqrt": lambda t: t.abs().sqrt(), "relu": lambda t: t.relu(),
    "softmax": lambda t: t.softmax(1), "log_softmax": lambda t: t.log_softmax(1),
    "logsumexp": lambda t: t.logsumexp(1), "norm": lambda t: t.norm(), "div": lambda t: t / 3,
    "rdiv": lambda t: 1 / (t.abs() + 1), "pow": lambda t: t ** 2, "rpow": lambda t: 2 ** t,
    "mul float": lambda t: t * 2.5, "sub": lambda t: t - t[0],
}


@needs_torch
@pytest.mark.parametrize("op", BF16_OPS)
def test_bfloat16_ops_keep_dtype_and_values_like_torch(op: str) -> None:
    """bfloat16 is a floating type everywhere: reductions stay bfloat16 (they would silently
    truncate if it were taken for an integer), values and gradients agree with PyTorch."""
    pytest.importorskip("ml_dtypes")
    vals = np.random.default_rng(3).standard_normal((3, 4)).astype(np.float32)
    fn = BF16_OPS[op]
    x = sg.tensor(vals, dtype=sg.bfloat16, requires_grad=True)
    tx = torch.tensor(vals, dtype=torch.bfloat16, requires_grad=True)
    y, ty = fn(x), fn(tx)
    assert y.dtype == sg.bfloat16 and ty.dtype == torch.bfloat16
    np.testing.assert_allclose(y.float().detach().numpy(), ty.float().detach().numpy(),
                               rtol=2e-2, atol=2e-2)
    y.float().sum().backward()
    ty.float().sum().backward()
    assert x.grad.dtype == sg.bfloat16
    np.testing.assert_allclose(x.grad.float().numpy(), tx.grad.float().numpy(), rtol=5e-2,
                               atol=5e-2)


def test_bfloat16_names_work_without_ml_dtypes() -> None:
    """Without the package, sg.bfloat16 can be named, compared, hashed and described;
    making a tensor of it is an ImportError that names the package (run in a fresh
    interpreter with ml_dtypes blocked)."""
    script = textwrap.dedent("""
        import sys
        sys.modules["ml_dtypes"] = None  # import ml_dtypes -> ImportError
        import softgrad as sg
        table = {"float16": sg.float16, "bfloat16": sg.bfloat16}
        assert sg.bfloat16 != sg.float16 and sg.bfloat16 == sg.bfloat16
        assert {sg.bfloat16: 1}[sg.bfloat16] == 1 and sg.bfloat16 in (sg.float16, sg.bfloat16)
        assert sg.bfloat16 != "float32" and sg.bfloat16.is_floating_point
        assert repr(sg.bfloat16) == "softgrad.bfloat16" and sg.finfo(sg.bfloat16).bits == 16
        for make in (lambda: sg.zeros(2, dtype=sg.bfloat16),
                     lambda: sg.tensor([1.0]).to(sg.bfloat16),
                     lambda: sg.tensor([1.0]).bfloat16(),
                     lambda: sg.set_default_dtype(sg.bfloat16)):
            try:
                make()
            except ImportError as exc:
                assert "ml_dtypes" in str(exc) and "pip install" in str(exc), exc
            else:
                raise AssertionError("no error")
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_importing_softgrad_does_not_load_ml_dtypes() -> None:
    out = subprocess.run([sys.executable, "-c", "import sys, softgrad; "
                          "print('ml_dtypes' in sys.modules)"], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "False", out.stderr


# ---------------------------------------------------------------------- default dtype
@pytest.fixture
def default_dtypes():
    saved_torch = torch.get_default_dtype() if torch is not None else None
    yield
    sg.set_default_dtype(sg.float32)
    if torch is not None:
        torch.set_default_dtype(saved_torch)


def _made(lib) -> dict:
    """dtype names of tensors made without a dtype= argument."""
    made = {
        "tensor([1.0])": lib.tensor([1.0]), "tensor(1.0)": lib.tensor(1.0),
        "zeros": lib.zeros(2), "ones": lib.ones(2), "empty": lib.empty(2),
        "full float": lib.full((2,), 1.5), "full int": lib.full((2,), 3),
        "arange float": lib.arange(0.0, 1.0, 0.5), "arange int": lib.arange(3),
        "linspace": lib.linspace(0, 1, 3), "eye": lib.eye(2), "rand": lib.rand(2),
        "randn": lib.randn(2), "Tensor(floats)": lib.Tensor([1.0, 2.0]),
        "int / 2": lib.tensor([1, 2]) / 2, "int * 0.5": lib.tensor([1, 2]) * 0.5,
        "tensor([1])": lib.tensor([1]), ".float()": lib.tensor([1]).float(),
        "Linear.weight": lib.nn.Linear(2, 2).weight, "Conv2d.weight": lib.nn.Conv2d(1, 1, 2).weight,
        "LayerNorm.weight": lib.nn.LayerNorm(2).weight,
        "BatchNorm1d.running_var": lib.nn.BatchNorm1d(2).running_var,
        "Embedding.weight": lib.nn.Embedding(3, 2).weight,
    }
    return {k: _name(v.dtype) for k, v in made.items()}


@needs_torch
@pytest.mark.parametrize("name", ["float64", "float16", "bfloat16", "float32"])
def test_set_default_dtype_changes_what_torch_changes(name: str, default_dtypes) -> None:
    if name == "bfloat16":
        pytest.importorskip("ml_dtypes")
    sg.set_default_dtype(getattr(sg, name))
    torch.set_default_dtype(getattr(torch, name))
    assert sg.get_default_dtype() is getattr(sg, name)
    assert _name(sg.get_default_dtype()) == _name(torch.get_default_dtype())
    assert _made(sg) == _made(torch)


@needs_torch
def test_default_float64_model_matches_torch(default_dtypes) -> None:
    sg.set_default_dtype(sg.float64)
    torch.set_default_dtype(torch.float64)
    m, tm = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 3))
    y, ty = m(sg.tensor(x)), tm(torch.tensor(x))
    assert y.dtype == sg.float64 and ty.dtype == torch.float64
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)


@needs_torch
def test_set_default_dtype_rejects_integers_like_torch(default_dtypes) -> None:
    for lib in (sg, torch):
        with pytest.raises(TypeError, match="only floating-point types are supported as the "
                                            "default type"):
            lib.set_default_dtype(lib.int64)
    assert sg.get_default_dtype() == sg.float32
    sg.set_default_dtype("float64")  # names and NumPy dtypes are accepted too
    assert sg.get_default_dtype() == sg.float64
    sg.set_default_dtype(np.float32)
    assert sg.zeros(1).dtype == sg.float32


@needs_torch
def test_python_types_as_dtypes_match_torch() -> None:
    for py in (float, int, bool):
        assert _name(sg.zeros(2, dtype=py).dtype) == _name(torch.zeros(2, dtype=py).dtype)
        assert _name(sg.tensor([1], dtype=py).dtype) == _name(torch.tensor([1], dtype=py).dtype)
    assert sg.ones(2).to(float).dtype == sg.float64


# ---------------------------------------------------------------------- finfo / iinfo
@needs_torch
@pytest.mark.parametrize("name", FLOATS)
def test_finfo_matches_torch(name: str) -> None:
    ours, theirs = sg.finfo(getattr(sg, name)), torch.finfo(getattr(torch, name))
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
        assert type(getattr(ours, attr)) is type(getattr(theirs, attr)), attr
    assert repr(ours) == repr(theirs)
    if name != "bfloat16":  # the same numbers NumPy derives from the format
        info = np.finfo(name)
        assert (ours.eps, ours.max, ours.tiny) == (float(info.eps), float(info.max),
                                                    float(info.tiny))


@needs_torch
def test_finfo_defaults_to_default_dtype(default_dtypes) -> None:
    for name in ("float32", "float64", "float16"):
        sg.set_default_dtype(getattr(sg, name))
        torch.set_default_dtype(getattr(torch, name))
        assert sg.finfo().dtype == torch.finfo().dtype == name
        assert sg.finfo().eps == torch.finfo().eps
    assert sg.finfo(np.float16).bits == 16 and sg.finfo("float32").bits == 32


@needs_torch
@pytest.mark.parametrize("name", INTS)
def test_iinfo_matches_torch(name: str) -> None:
    ours, theirs = sg.iinfo(getattr(sg, name)), torch.iinfo(getattr(torch, name))
    for attr in ("bits", "max", "min", "dtype"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
        assert type(getattr(ours, attr)) is type(getattr(theirs, attr)), attr
    assert repr(ours) == repr(theirs)


def test_finfo_iinfo_reject_the_other_kind() -> None:
    with pytest.raises(TypeError, match="finfo.*floating.*softgrad.int32.*iinfo"):
        sg.finfo(sg.int32)
    with pytest.raises(TypeError, match="iinfo.*integer.*softgrad.float32.*finfo"):
        sg.iinfo(sg.float32)
    with pytest.raises(TypeError, match="iinfo.*softgrad.bool"):
        sg.iinfo(sg.bool)
    with pytest.raises(TypeError, match="iinfo.*softgrad.bfloat16"):
        sg.iinfo(sg.bfloat16)


def test_dtype_equality() -> None:
    assert sg.float32 == sg.float and sg.float32 == np.float32 and sg.float32 == "float32"
    assert sg.float64 != None and sg.float32 != "nonsense" and sg.float16 != sg.bfloat16  # noqa: E711 - DType.__ne__
    assert len({sg.float32, sg.float, dtypes.get("float32")}) == 1


ALL = ["bool", *INTS, *FLOATS]


@needs_torch
def test_promote_types_and_can_cast_match_torch_for_every_pair() -> None:
    for a in ALL:
        for b in ALL:
            theirs = torch.promote_types(getattr(torch, a), getattr(torch, b))
            assert sg.promote_types(getattr(sg, a), getattr(sg, b)).name == _name(theirs), (a, b)
            assert sg.can_cast(getattr(sg, a), getattr(sg, b)) is \
                torch.can_cast(getattr(torch, a), getattr(torch, b)), (a, b)
    assert sg.promote_types("int64", np.float16) is sg.float16


@needs_torch
def test_is_floating_point_and_is_complex_functions() -> None:
    for v, dt in (([1.0], "float32"), ([1], "int64"), ([True], "bool"), ([1.0], "float16")):
        ours = sg.tensor(v, dtype=getattr(sg, dt))
        theirs = torch.tensor(v, dtype=getattr(torch, dt))
        assert sg.is_floating_point(ours) is torch.is_floating_point(theirs)
        assert sg.is_complex(ours) is torch.is_complex(theirs) is False
