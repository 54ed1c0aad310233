"""Element-wise ops: arithmetic (reflected and in-place), unary functions, comparisons."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import needs_torch, torch
from tests.helpers.op_cases import ELEMENTWISE, op_tests


test_matches_torch, test_gradient_matches_finite_differences = op_tests(ELEMENTWISE)


def test_floor_division_and_rounding_have_zero_gradient() -> None:
    x = sg.tensor([1.3, -2.7, 0.4], dtype=sg.float64, requires_grad=True)
    y = sg.tensor([0.5, 2.0, -0.3], dtype=sg.float64, requires_grad=True)
    ((x // y).sum() + x.floor().sum() + x.round().sum() + x.sign().sum()).backward()
    assert (x.grad.numpy() == 0).all() and (y.grad.numpy() == 0).all()


def test_python_semantics_of_floordiv_and_mod() -> None:
    a = sg.tensor([-7.0, 7.0, -7.0])
    b = sg.tensor([2.0, -2.0, -2.0])
    np.testing.assert_array_equal((a // b).numpy(), [-4.0, -4.0, 3.0])
    np.testing.assert_array_equal((a % b).numpy(), [1.0, -1.0, -1.0])
    ints = sg.tensor([-7, 7])
    assert (ints // 2).dtype == sg.int64 and (ints // 2).tolist() == [-4, 3]
    assert (ints % 3).tolist() == [2, 1]
    assert sg.div(ints, 2, rounding_mode="trunc").tolist() == [-3, 3]


@needs_torch
def test_pow_edge_cases_match_torch() -> None:
    a = np.array([-2.0, 0.0, 0.0, 3.0, 0.0])
    b = np.array([2.0, 0.0, -1.0, 0.5, 2.0])
    grads = []
    for mod in (sg, torch):
        x, y = mod.tensor(a, requires_grad=True), mod.tensor(b, requires_grad=True)
        with np.errstate(all="ignore"):  # 0 ** -1 is inf on purpose
            (x**y).sum().backward()
            z = mod.tensor(a[1:4], requires_grad=True)
            ((z**0).sum() + (2.0**z).sum() + (0.0**z).sum()).backward()
        grads.append([x.grad.numpy(), y.grad.numpy(), z.grad.numpy()])
    for s, t in zip(*grads):
        np.testing.assert_array_equal(s, t)


def test_sigmoid_and_exp_are_stable_at_extremes() -> None:
    x = sg.tensor([-1000.0, -50.0, 0.0, 50.0, 1000.0], requires_grad=True)
    y = x.sigmoid()
    y.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-7)
    assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("op", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparisons_give_bool_tensors(op: str) -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, (3, 4)).astype(np.float32)
    b = rng.integers(0, 3, (4,)).astype(np.float32)
    ref = getattr(np, {"eq": "equal", "ne": "not_equal", "lt": "less", "le": "less_equal",
                       "gt": "greater", "ge": "greater_equal"}[op])(a, b)
    x = sg.tensor(a, requires_grad=True)
    for out in (getattr(x, op)(sg.tensor(b)), getattr(sg, op)(x, sg.tensor(b))):
        assert out.dtype == sg.bool and not out.requires_grad
        np.testing.assert_array_equal(out.numpy(), ref)
    assert getattr(x, op)(1.0).dtype == sg.bool


def test_comparison_operators_and_logical_combination() -> None:
    x = sg.tensor([1.0, 2.0, 3.0])
    mask = (x > 1) & (x <= 2) | (x == 3)
    np.testing.assert_array_equal(mask.numpy(), [False, True, True])
    np.testing.assert_array_equal((~mask).numpy(), [True, False, False])
    assert ((x != 2) ^ (x > 0)).tolist() == [False, True, False]


def test_dtype_promotion_follows_torch() -> None:
    i, f = sg.tensor([1, 2]), sg.tensor([1.0, 2.0])
    assert (i + 1.5).dtype == sg.float32 and (i / 2).dtype == sg.float32
    assert (i * 2).dtype == sg.int64 and (i + f).dtype == sg.float32
    assert (sg.tensor([True]) + 1).dtype == sg.int64
    assert (f + f.double()).dtype == sg.float64
    assert (f * np.float64(2.0)).dtype == sg.float32 and (2 ** i).dtype == sg.int64
    assert i.exp().dtype == sg.float32 and i.abs().dtype == sg.int64


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "maximum", "lt",
                                "where", "remainder"])
def test_mismatched_shapes_name_both_shapes(op: str) -> None:
    a, b = sg.ones(3, 4), sg.ones(2, 4)
    call = {
        "add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b, "div": lambda: a / b,
        "pow": lambda: a**b, "maximum": lambda: sg.maximum(a, b), "lt": lambda: a < b,
        "where": lambda: sg.where(a > 0, a, b), "remainder": lambda: a % b,
    }[op]
    with pytest.raises(RuntimeError, match=r"\(3, 4\).*\(2, 4\)") as info:
        call()
    assert "must match the size" in str(info.value)


def test_inplace_operators_update_data_and_version() -> None:
    x = sg.tensor([1.0, 2.0, 4.0])
    before = x._version
    x += 1
    x -= sg.tensor([1.0, 1.0, 1.0])
    x *= 2
    x /= 4
    x **= 2
    x //= 0.5
    x %= 3
    ref = np.array([1.0, 2.0, 4.0]) * 2 / 4
    ref = (ref**2 // 0.5) % 3
    np.testing.assert_allclose(x.numpy(), ref)
    assert x._version == before + 7
    y = sg.tensor([1.0, 2.0])
    assert y.add_(1, alpha=2) is y and y.tolist() == [3.0, 4.0]
    assert y.sub_(sg.tensor([1.0, 1.0])).mul_(2).div_(4).pow_(2).tolist() == [1.0, 2.25]
    assert y.clamp_(max=2.0).tolist() == [1.0, 2.0] and y.fill_(7).zero_().tolist() == [0, 0]


def test_inplace_keeps_dtype_and_rejects_bad_casts_and_shapes() -> None:
    x = sg.tensor([1.0, 2.0])
    x += sg.tensor([1.0, 1.0], dtype=sg.float64)
    assert x.dtype == sg.float32
    i = sg.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i /= 2
    with pytest.raises(RuntimeError, match=r"\(2,\).*\(3, 2\)"):
        x += sg.ones(3, 2)


@pytest.mark.parametrize("op", ["iadd", "imul", "add_", "mul_", "fill_", "zero_", "setitem",
                                "clamp_", "pow_"])
def test_inplace_on_tensor_requiring_grad_raises_while_recording(op: str) -> None:
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    calls = {
        "iadd": lambda t: t.__iadd__(1), "imul": lambda t: t.__imul__(2),
        "add_": lambda t: t.add_(1), "mul_": lambda t: t.mul_(2), "fill_": lambda t: t.fill_(0),
        "zero_": lambda t: t.zero_(), "setitem": lambda t: t.__setitem__(0, 5.0),
        "clamp_": lambda t: t.clamp_(0, 1), "pow_": lambda t: t.pow_(2),
    }
    with pytest.raises(RuntimeError, match="leaf Variable"):
        calls[op](x)
    fresh = x * 2  # a non-leaf nothing used yet: recorded in place, as in PyTorch
    result = calls[op](fresh)
    assert (result is None or result is fresh) and fresh.grad_fn is not None
    fresh.sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape
    x.grad = None
    used = x * 2
    _ = used * 3  # backward of this product needs the old ``used``
    with pytest.raises(RuntimeError, match="in-place"):
        calls[op](used)
    with sg.no_grad():
        calls[op](x)
    assert x.requires_grad and x._version == 1


def test_reflected_operators_with_numpy_scalars_return_tensors() -> None:
    x = sg.tensor([1.0, 2.0])
    for out in (np.float64(2) * x, 1 - x, 2 / x, 2**x, 3 // x, 3 % x):
        assert isinstance(out, sg.Tensor) and out.dtype == sg.float32
