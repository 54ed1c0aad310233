"""nn.functional losses: PyTorch parity (values and gradients), gradchecks, errors, dtypes."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import softgrad as sg
import softgrad.nn.functional as F
from tests.helpers.checks import gradcheck, needs_torch, torch, torch_parity

TF = torch.nn.functional if torch is not None else None
REDUCTIONS = ["none", "mean", "sum"]


@st.composite
def _class_problem(draw) -> dict:
    """Logits of shape (C,), (N, C) or (N, C, d1[, d2]) with matching targets and options."""
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    c = draw(st.integers(1, 5))
    unbatched = draw(st.booleans()) and draw(st.booleans())
    spatial = () if unbatched else tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    n = draw(st.integers(1, 4))
    shape = (c,) if unbatched else (n, c) + spatial
    t_shape = () if unbatched else (n,) + spatial
    target = rng.integers(0, c, size=t_shape)
    ignore = draw(st.sampled_from([-100, 0]))
    probs = rng.random(shape) + 0.05
    probs /= probs.sum(axis=0 if unbatched else 1, keepdims=True)
    return {
        "x": rng.standard_normal(shape) * 3, "target": target, "probs": probs,
        "weight": rng.random(c) + 0.5 if draw(st.booleans()) else None,
        "ignore_index": ignore, "reduction": draw(st.sampled_from(REDUCTIONS)),
        "label_smoothing": draw(st.sampled_from([0.0, 0.1, 0.35])),
    }


def _opts(p: dict, lib, with_ignore: bool = True) -> dict:
    kw = {"reduction": p["reduction"]}
    if p["weight"] is not None:
        kw["weight"] = (sg.tensor if lib is sg else torch.tensor)(p["weight"])
    if with_ignore:
        kw["ignore_index"] = p["ignore_index"]
    return kw


@needs_torch
@settings(max_examples=60, deadline=None)
@given(p=_class_problem())
def test_cross_entropy_index_targets_match_torch(p: dict) -> None:
    ls = p["label_smoothing"]
    torch_parity(
        lambda x, t: F.cross_entropy(x, t, label_smoothing=ls, **_opts(p, sg)),
        lambda x, t: TF.cross_entropy(x, t, label_smoothing=ls, **_opts(p, torch)),
        p["x"], p["target"])


@needs_torch
@settings(max_examples=40, deadline=None)
@given(p=_class_problem())
def test_cross_entropy_probability_targets_match_torch(p: dict) -> None:
    # the target is a float array here, so its gradient is compared too
    ls = p["label_smoothing"]
    torch_parity(
        lambda x, t: F.cross_entropy(x, t, label_smoothing=ls, **_opts(p, sg, False)),
        lambda x, t: TF.cross_entropy(x, t, label_smoothing=ls, **_opts(p, torch, False)),
        p["x"], p["probs"])


@needs_torch
@settings(max_examples=40, deadline=None)
@given(p=_class_problem())
def test_nll_loss_matches_torch(p: dict) -> None:
    torch_parity(lambda x, t: F.nll_loss(x, t, **_opts(p, sg)),
                 lambda x, t: TF.nll_loss(x, t, **_opts(p, torch)), p["x"], p["target"])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_cross_entropy_gradcheck(reduction: str, label_smoothing: float,
                                 rng: np.random.Generator) -> None:
    target = sg.tensor(np.array([[0, 2], [1, -100]]))
    weight = sg.tensor(np.array([0.5, 2.0, 1.0]))
    probs = rng.random((2, 3, 2))
    probs /= probs.sum(1, keepdims=True)

    def index_ce(x):
        return F.cross_entropy(x, target, weight=weight, reduction=reduction,
                               label_smoothing=label_smoothing)

    def prob_ce(x, t):
        return F.cross_entropy(x, t, weight=weight, reduction=reduction,
                               label_smoothing=label_smoothing)

    gradcheck(index_ce, rng.standard_normal((2, 3, 2)))
    gradcheck(prob_ce, rng.standard_normal((2, 3, 2)), probs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_gradcheck(reduction: str, rng: np.random.Generator) -> None:
    target = sg.tensor(np.array([2, 0, -100, 1]))
    gradcheck(lambda x: F.nll_loss(x, target, weight=sg.tensor([1.0, 2.0, 3.0]),
                                   reduction=reduction), rng.standard_normal((4, 3)))


def test_cross_entropy_mean_divides_by_valid_target_weight() -> None:
    x = np.zeros((4, 3))  # uniform softmax: each nll is log 3
    w = sg.tensor([1.0, 2.0, 4.0], dtype=sg.float64)
    t = sg.tensor([0, 1, 2, -100])
    loss = F.cross_entropy(sg.tensor(x), t, weight=w)
    assert loss.item() == pytest.approx(np.log(3))  # (1+2+4) log 3 / (1+2+4); not / N or N*C
    loss_sum = F.cross_entropy(sg.tensor(x), t, weight=w, reduction="sum")
    assert loss_sum.item() == pytest.approx(7 * np.log(3))


def test_cross_entropy_all_targets_ignored_is_nan_with_zero_gradient() -> None:
    x = sg.tensor(np.ones((2, 3)), requires_grad=True)
    loss = F.cross_entropy(x, sg.tensor([-100, -100]))
    assert np.isnan(loss.item())
    loss.backward()
    assert (x.grad.numpy() == 0).all()


def test_cross_entropy_rejects_bad_targets() -> None:
    x = sg.randn(3, 4)
    with pytest.raises(IndexError, match=r"Target 7 is out of bounds.*4 classes"):
        F.cross_entropy(x, sg.tensor([0, 7, 1]))
    with pytest.raises(IndexError, match=r"Target -2 is out of bounds"):
        F.nll_loss(x, sg.tensor([0, -2, 1]))
    with pytest.raises(RuntimeError, match=r"integer.*float32.*target\.long\(\)"):
        F.cross_entropy(x, sg.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(RuntimeError, match="integer"):
        F.nll_loss(x, sg.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"batch_size \(3\).*batch_size \(2\).*\(3, 4\).*\(2,\)"):
        F.cross_entropy(x, sg.tensor([0, 1]))
    with pytest.raises(RuntimeError, match=r"probability targets must have the input's shape "
                                           r"\(3, 4\), got .*\(3, 5\)"):
        F.cross_entropy(x, sg.rand(3, 5))
    with pytest.raises(RuntimeError, match=r"expected target of shape \(2, 4\)"):
        F.cross_entropy(sg.randn(2, 5, 4), sg.tensor([[0, 1, 2], [0, 1, 1]]))
    with pytest.raises(RuntimeError, match="ignore_index is not supported"):
        F.cross_entropy(x, sg.rand(3, 4), ignore_index=1)
    with pytest.raises(RuntimeError, match="weight tensor should be defined"):
        F.cross_entropy(x, sg.tensor([0, 1, 2]), weight=sg.ones(3))
    with pytest.raises(RuntimeError, match="label_smoothing must be between"):
        F.cross_entropy(x, sg.tensor([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="class dimension"):
        F.cross_entropy(sg.tensor(1.0), sg.tensor(0))


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss", "mse_loss", "l1_loss",
                                "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
                                "binary_cross_entropy_with_logits", "kl_div"])
def test_invalid_reduction_is_rejected(fn: str) -> None:
    x = sg.rand(3, 2)
    t = sg.tensor([0, 1, 1]) if fn in ("cross_entropy", "nll_loss") else sg.rand(3, 2)
    with pytest.raises(ValueError, match="'avg' is not a valid value for reduction"):
        getattr(F, fn)(x, t, reduction="avg")


def test_legacy_size_average_and_reduce_select_the_reduction() -> None:
    x, t = sg.tensor([1.0, 3.0]), sg.tensor([0.0, 0.0])
    assert F.mse_loss(x, t, size_average=False).item() == 10.0
    assert F.mse_loss(x, t, reduce=False).tolist() == [1.0, 9.0]
    assert F.mse_loss(x, t, size_average=True, reduce=True).item() == 5.0


# ---------------------------------------------------------------------- point-wise losses
def _pointwise_cases(rng: np.random.Generator) -> list:
    """(name, keyword arguments with arrays, input, target) for every point-wise loss."""
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    p, q = rng.uniform(0.02, 0.98, (4, 3)), rng.uniform(0.0, 1.0, (4, 3))
    w, pw = rng.random((4, 3)) + 0.2, rng.random(3) * 3
    lp = np.log(rng.dirichlet(np.ones(3), 4))
    return [
        ("mse_loss", {}, a, b), ("mse_loss", {"weight": w}, a, b),
        ("l1_loss", {}, a, b), ("l1_loss", {"weight": w}, a, b),
        ("smooth_l1_loss", {}, a, b), ("smooth_l1_loss", {"beta": 0.4}, a, b),
        ("smooth_l1_loss", {"beta": 0.0}, a, b), ("huber_loss", {"delta": 0.6}, a, b),
        ("huber_loss", {"weight": w}, a, b),
        ("binary_cross_entropy", {}, p, q), ("binary_cross_entropy", {"weight": w[0]}, p, q),
        ("binary_cross_entropy_with_logits", {}, a * 3, q),
        ("binary_cross_entropy_with_logits", {"weight": w, "pos_weight": pw}, a * 3, q),
        ("kl_div", {}, lp, p), ("kl_div", {"log_target": True}, lp, lp[::-1].copy()),
    ]


def _kw(kw: dict, make) -> dict:
    return {k: make(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}


POINTWISE = [(i, r) for i in range(15) for r in REDUCTIONS] + [(13, "batchmean"),
                                                                (14, "batchmean")]


@needs_torch
@pytest.mark.parametrize("case,reduction", POINTWISE)
def test_pointwise_loss_matches_torch(case: int, reduction: str,
                                      rng: np.random.Generator) -> None:
    name, kw, x, t = _pointwise_cases(rng)[case]
    torch_parity(lambda u, v: getattr(F, name)(u, v, reduction=reduction, **_kw(kw, sg.tensor)),
                 lambda u, v: getattr(TF, name)(u, v, reduction=reduction,
                                                **_kw(kw, torch.tensor)), x, t)


@pytest.mark.parametrize("case", range(15))
def test_pointwise_loss_gradcheck_and_float32(case: int, rng: np.random.Generator) -> None:
    name, kw, x, t = _pointwise_cases(rng)[case]
    for r in ("mean", "none"):
        gradcheck(lambda u, v: getattr(F, name)(u, v, reduction=r, **_kw(kw, sg.tensor)), x, t)
    xs = sg.tensor(x.astype(np.float32), requires_grad=True)
    ts = sg.tensor(t.astype(np.float32), requires_grad=True)
    out = getattr(F, name)(xs, ts, **_kw(kw, lambda v: sg.tensor(v, dtype=sg.float32)))
    out.backward()
    assert out.dtype == xs.grad.dtype == ts.grad.dtype == sg.float32


def test_binary_cross_entropy_clamps_log_like_torch() -> None:
    x = sg.tensor([0.0, 1.0, 0.5], dtype=sg.float64, requires_grad=True)
    t = sg.tensor([1.0, 0.0, 1.0], dtype=sg.float64)
    loss = F.binary_cross_entropy(x, t, reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [100.0, 100.0, np.log(2)])
    loss.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_bce_with_logits_is_stable_for_huge_logits() -> None:
    x = sg.tensor([-1e4, 1e4, -1e4, 1e4], requires_grad=True)
    t = sg.tensor([0.0, 1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [0.0, 0.0, 1e4, 1e4])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0, -1.0, 1.0])


def test_pointwise_losses_reject_bad_input() -> None:
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(sg.tensor([1.5]), sg.tensor([1.0]))
    with pytest.raises(ValueError, match=r"target size \(\(3,\)\).*input size \(\(3, 1\)\)"):
        F.binary_cross_entropy(sg.rand(3, 1), sg.rand(3))
    with pytest.raises(ValueError, match=r"target size"):
        F.binary_cross_entropy_with_logits(sg.rand(3, 1), sg.rand(3))
    with pytest.raises(ValueError, match="Weights and input must have the same size"):
        F.mse_loss(sg.rand(3), sg.rand(3), weight=sg.rand(2))
    with pytest.raises(RuntimeError, match="non-positive values for delta"):
        F.huber_loss(sg.rand(3), sg.rand(3), delta=0.0)
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(sg.rand(3, 1), sg.rand(3))


# ---------------------------------------------------------------------- class losses: more
@needs_torch
@pytest.mark.parametrize("targets", ["index", "probs"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_double_backward_matches_torch(targets: str, reduction: str,
                                                     rng: np.random.Generator) -> None:
    x = rng.standard_normal((4, 5))
    w = rng.random(5) + 0.5
    if targets == "index":
        t_sg, t_torch = sg.tensor([0, 3, -100, 4]), torch.tensor([0, 3, -100, 4])
    else:
        p = rng.dirichlet(np.ones(5), 4)
        t_sg, t_torch = sg.tensor(p), torch.tensor(p)
    v = rng.standard_normal(x.shape)
    xs, xt = sg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ls = F.cross_entropy(xs, t_sg, weight=sg.tensor(w), reduction=reduction,
                         label_smoothing=0.1)
    lt = TF.cross_entropy(xt, t_torch, weight=torch.tensor(w), reduction=reduction,
                          label_smoothing=0.1)
    u = rng.standard_normal(tuple(lt.shape))
    (gs,) = sg.autograd.grad((ls * sg.tensor(u)).sum(), [xs], create_graph=True)
    (gt,) = torch.autograd.grad((lt * torch.tensor(u)).sum(), [xt], create_graph=True)
    (hs,) = sg.autograd.grad((gs * sg.tensor(v)).sum(), [xs])
    (ht,) = torch.autograd.grad((gt * torch.tensor(v)).sum(), [xt])
    np.testing.assert_allclose(gs.detach().numpy(), gt.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(hs.numpy(), ht.numpy(), atol=1e-12)


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_class_losses_keep_float32(fn: str, reduction: str, rng: np.random.Generator) -> None:
    x = sg.tensor(rng.standard_normal((3, 4, 2)).astype(np.float32), requires_grad=True)
    out = getattr(F, fn)(x, sg.tensor([[0, 1], [3, -100], [2, 2]]),
                         weight=sg.tensor([1.0, 2.0, 1.0, 0.5], dtype=sg.float64),
                         reduction=reduction)
    out.sum().backward()
    assert out.dtype == x.grad.dtype == sg.float32
    p = sg.tensor(rng.dirichlet(np.ones(4), 3).astype(np.float32), requires_grad=True)
    y = sg.tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    ce = F.cross_entropy(y, p, reduction=reduction, label_smoothing=0.1)
    ce.sum().backward()
    assert ce.dtype == y.grad.dtype == p.grad.dtype == sg.float32


def test_cross_entropy_is_one_node_with_no_gradient_for_index_targets() -> None:
    x = sg.randn(4, 3, requires_grad=True)
    loss = F.cross_entropy(x, sg.tensor([0, 1, 2, 0]))
    assert type(loss.grad_fn).__name__ == "CrossEntropy" and loss.grad_fn.parents == (x,)


def test_unbatched_cross_entropy_and_nll(rng: np.random.Generator) -> None:
    x = rng.standard_normal(5)
    loss = F.cross_entropy(sg.tensor(x), sg.tensor(3), reduction="none")
    assert loss.shape == () and loss.item() == pytest.approx(np.log(np.exp(x).sum()) - x[3])
    assert F.nll_loss(sg.tensor(x), sg.tensor(1)).item() == pytest.approx(-x[1])
