"""The margin, ranking, embedding, triplet, Poisson/Gaussian NLL and CTC losses: values and
gradients against PyTorch (float64) for every reduction, finite differences, and errors."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn.functional as F
from tests.helpers.checks import gradcheck, needs_torch, torch, torch_parity

TF = torch.nn.functional if torch is not None else None
rng = np.random.default_rng(0)
N, C = 5, 4
SIGNS = rng.choice([-1.0, 1.0], N)
LABELS = rng.integers(0, C, N)
COUNTS = rng.poisson(2.0, (N, C)).astype(float)
SM_T = np.where(rng.standard_normal((N, C)) > 0, 1.0, -1.0)
MULTI = np.array([[3, 0, -1, 1], [1, 2, 3, -1], [0, -1, 2, 2], [2, 1, 0, 3], [-1, 0, 0, 0]])


def _t(lib, a):
    return lib.tensor(a)


LOSSES = [
    ("poisson_nll", lambda f, m, x, y: f.poisson_nll_loss(x, y, reduction=R),
     lambda: [rng.standard_normal((N, C)), COUNTS]),
    # counts as constants: PyTorch's gradient to a 0 count is nan with full=True
    ("poisson_nll_full", lambda f, m, x: f.poisson_nll_loss(x, _t(m, COUNTS), log_input=False,
                                                             full=True, reduction=R),
     lambda: [rng.uniform(0.5, 3, (N, C))]),
    ("gaussian_nll", lambda f, m, x, y, v: f.gaussian_nll_loss(x, y, v, reduction=R),
     lambda: [rng.standard_normal((N, C)), rng.standard_normal((N, C)),
              rng.uniform(0.1, 2, (N, C))]),
    ("gaussian_nll_per_sample_full", lambda f, m, x, y, v: f.gaussian_nll_loss(
        x, y, v, full=True, reduction=R),
     lambda: [rng.standard_normal((N, C)), rng.standard_normal((N, C)), rng.uniform(0.1, 2, N)]),
    ("margin_ranking", lambda f, m, a, b: f.margin_ranking_loss(a, b, _t(m, SIGNS), margin=0.3,
                                                                 reduction=R),
     lambda: [rng.standard_normal(N), rng.standard_normal(N)]),
    ("hinge_embedding", lambda f, m, x: f.hinge_embedding_loss(x, _t(m, SIGNS[:, None] *
                                                                      np.ones(C)), 1.5,
                                                               reduction=R),
     lambda: [rng.uniform(0, 3, (N, C))]),
    ("soft_margin", lambda f, m, x: f.soft_margin_loss(x, _t(m, SM_T), reduction=R),
     lambda: [rng.standard_normal((N, C))]),
    ("multilabel_soft_margin", lambda f, m, x, y: f.multilabel_soft_margin_loss(
        x, y, weight=_t(m, np.arange(1.0, C + 1)), reduction=R),
     lambda: [rng.standard_normal((N, C)), rng.integers(0, 2, (N, C)).astype(float)]),
    ("cosine_embedding", lambda f, m, a, b: f.cosine_embedding_loss(a, b, _t(m, SIGNS), 0.2,
                                                                     reduction=R),
     lambda: [rng.standard_normal((N, C)), rng.standard_normal((N, C))]),
    ("multi_margin", lambda f, m, x: f.multi_margin_loss(x, _t(m, LABELS), reduction=R),
     lambda: [rng.standard_normal((N, C))]),
    ("multi_margin_p2_weight", lambda f, m, x: f.multi_margin_loss(
        x, _t(m, LABELS), p=2, margin=0.7, weight=_t(m, np.arange(1.0, C + 1)), reduction=R),
     lambda: [rng.standard_normal((N, C))]),
    ("multilabel_margin", lambda f, m, x: f.multilabel_margin_loss(x, _t(m, MULTI), reduction=R),
     lambda: [rng.standard_normal((N, C))]),
    ("triplet_margin", lambda f, m, a, p, n: f.triplet_margin_loss(a, p, n, reduction=R),
     lambda: [rng.standard_normal((N, C)) for _ in range(3)]),
    ("triplet_margin_swap_p1", lambda f, m, a, p, n: f.triplet_margin_loss(
        a, p, n, margin=2.0, p=1, swap=True, reduction=R),
     lambda: [rng.standard_normal((N, C)) for _ in range(3)]),
    ("triplet_with_distance", lambda f, m, a, p, n: f.triplet_margin_with_distance_loss(
        a, p, n, distance_function=lambda x, y: 1 - f.cosine_similarity(x, y), margin=0.5,
        swap=True, reduction=R),
     lambda: [rng.standard_normal((N, C)) for _ in range(3)]),
]
R = "mean"


@needs_torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name, fn, make", LOSSES, ids=[c[0] for c in LOSSES])
def test_loss_matches_torch(name, fn, make, reduction) -> None:
    global R
    R = reduction
    try:
        arrays = make()
        torch_parity(lambda *xs: fn(F, sg, *xs), lambda *xs: fn(TF, torch, *xs), *arrays)
    finally:
        R = "mean"


@pytest.mark.parametrize("name, fn, make", LOSSES, ids=[c[0] for c in LOSSES])
def test_loss_gradient_matches_finite_differences(name, fn, make) -> None:
    gradcheck(lambda *xs: fn(F, sg, *xs), *make())


@needs_torch
def test_unbatched_inputs_match_torch() -> None:
    x = rng.standard_normal(C)
    torch_parity(lambda a: F.multi_margin_loss(a, sg.tensor(2)),
                 lambda a: TF.multi_margin_loss(a, torch.tensor(2)), x)
    torch_parity(lambda a: F.multilabel_margin_loss(a, sg.tensor([1, -1, 0, 0])),
                 lambda a: TF.multilabel_margin_loss(a, torch.tensor([1, -1, 0, 0])), x)
    torch_parity(lambda a, b: F.cosine_embedding_loss(a, b, sg.tensor(-1.0)),
                 lambda a, b: TF.cosine_embedding_loss(a, b, torch.tensor(-1.0)), x, -x)
    torch_parity(lambda a, p, n: F.triplet_margin_loss(a, p, n),
                 lambda a, p, n: TF.triplet_margin_loss(a, p, n), x, x + 0.1, x - 0.5)


def test_loss_errors() -> None:
    with pytest.raises(ValueError, match="var has negative"):
        F.gaussian_nll_loss(sg.randn(3), sg.randn(3), -sg.ones(3))
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(sg.randn(3, 2), sg.randn(3, 2), sg.ones(2, 3))
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        F.multi_margin_loss(sg.randn(3, 2), sg.tensor([0, 1, 1]), p=3)
    with pytest.raises(IndexError, match="out of range"):
        F.multi_margin_loss(sg.randn(3, 2), sg.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="reduction"):
        F.margin_ranking_loss(sg.randn(3), sg.randn(3), sg.ones(3), reduction="avg")
    with pytest.raises(ValueError, match="margin to be greater than 0"):
        F.triplet_margin_with_distance_loss(sg.randn(2, 3), sg.randn(2, 3), sg.randn(2, 3),
                                            margin=0)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        F.triplet_margin_loss(sg.randn(2, 3), sg.randn(3), sg.randn(2, 3))


# ---------------------------------------------------------------------- CTC
def _ctc_case(seed: int = 0, concat: bool = False):
    r = np.random.default_rng(seed)
    t, n, c, s = 12, 4, 5, 4
    logits = r.standard_normal((t, n, c))
    tgt_len = np.array([4, 2, 3, 1])
    targets = r.integers(1, c, (n, s))
    targets[0, 1] = targets[0, 2]  # a repeated label needs a blank between
    in_len = np.array([12, 9, 7, 3])
    if concat:
        targets = np.concatenate([targets[i, :k] for i, k in enumerate(tgt_len)])
    return logits, targets, in_len, tgt_len


@needs_torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("concat", [False, True])
def test_ctc_loss_matches_torch(reduction, concat) -> None:
    logits, targets, in_len, tgt_len = _ctc_case(1, concat)

    def ours(x):
        return F.ctc_loss(F.log_softmax(x, 2), sg.tensor(targets), sg.tensor(in_len),
                          sg.tensor(tgt_len), reduction=reduction)

    def theirs(x):
        return TF.ctc_loss(TF.log_softmax(x, 2), torch.tensor(targets), torch.tensor(in_len),
                           torch.tensor(tgt_len), reduction=reduction)

    torch_parity(ours, theirs, logits, atol=1e-9, rtol=1e-9)
    # on log_probs directly, too (PyTorch's gradient includes an exp(log_probs) term)
    lp = torch.log_softmax(torch.tensor(logits), 2).numpy()
    torch_parity(lambda a: F.ctc_loss(a, sg.tensor(targets), in_len.tolist(),
                                      tuple(tgt_len), reduction=reduction),
                 lambda a: TF.ctc_loss(a, torch.tensor(targets), in_len.tolist(),
                                       tuple(tgt_len), reduction=reduction), lp)


def test_ctc_loss_gradient_matches_finite_differences_through_log_softmax() -> None:
    logits, targets, in_len, tgt_len = _ctc_case(2)
    gradcheck(lambda x: F.ctc_loss(F.log_softmax(x, 2), sg.tensor(targets), sg.tensor(in_len),
                                   sg.tensor(tgt_len), reduction="sum"), logits)


def test_ctc_loss_of_a_single_path_is_its_log_probability() -> None:
    # T = 2, target [1]: alignments (1, 1), (0, 1), (1, 0)
    p = np.array([[0.6, 0.4], [0.3, 0.7]])  # p[t, c], c = 0 is the blank
    lp = sg.tensor(np.log(p)[:, None, :])
    loss = F.ctc_loss(lp, sg.tensor([[1]]), [2], [1], reduction="sum")
    want = -np.log(p[0, 1] * p[1, 1] + p[0, 0] * p[1, 1] + p[0, 1] * p[1, 0])
    assert loss.item() == pytest.approx(want, rel=1e-6)


@needs_torch
def test_ctc_impossible_alignment_and_zero_infinity() -> None:
    lp = torch.log_softmax(torch.tensor(rng.standard_normal((2, 1, 4))), 2).numpy()
    tgt, il, tl = np.array([[1, 1]]), [2], [2]  # 1, blank, 1 needs 3 frames
    ours = F.ctc_loss(sg.tensor(lp), sg.tensor(tgt), il, tl, reduction="sum")
    assert ours.item() == np.inf
    torch_parity(lambda a: F.ctc_loss(a, sg.tensor(tgt), il, tl, zero_infinity=True),
                 lambda a: TF.ctc_loss(a, torch.tensor(tgt), il, tl, zero_infinity=True), lp)


def test_ctc_unbatched_and_errors() -> None:
    lp = F.log_softmax(sg.randn(6, 4), 1)
    assert F.ctc_loss(lp, sg.tensor([1, 2]), 6, 2).shape == ()
    lp3 = F.log_softmax(sg.randn(6, 1, 4), 2)
    with pytest.raises(RuntimeError, match="other than blank"):
        F.ctc_loss(lp3, sg.tensor([[0, 2]]), [6], [2])
    with pytest.raises(RuntimeError, match="input_lengths must be in"):
        F.ctc_loss(lp3, sg.tensor([[1, 2]]), [7], [2])
    with pytest.raises(RuntimeError, match="sum to"):
        F.ctc_loss(lp3, sg.tensor([1, 2, 3]), [6], [2])
