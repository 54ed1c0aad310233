"""nn.functional additions: distances, activations, normalisation, dropout variants, pooling,
grid_sample/affine_grid, embedding_bag, channel_shuffle: values and gradients against
PyTorch (float64) and finite differences, plus errors and edge cases."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn.functional as F
from tests.helpers.checks import gradcheck, needs_torch, torch, torch_parity

TF = torch.nn.functional if torch is not None else None
rng = np.random.default_rng(0)


def _r(*shape, lo=None, hi=None):
    if lo is not None:
        return rng.uniform(lo, hi, shape)
    return rng.standard_normal(shape)


def _both(fn):
    """Run ``fn(F_module, *xs)`` for softgrad and torch, comparing values and gradients."""
    return (lambda *xs: fn(F, sg, *xs)), (lambda *xs: fn(TF, torch, *xs))


CASES = [
    ("normalize", lambda f, m, x: f.normalize(x), [_r(4, 5)]),
    ("normalize_p1_dim0", lambda f, m, x: f.normalize(x, p=1, dim=0), [_r(4, 5)]),
    ("normalize_zero_row", lambda f, m, x: f.normalize(x * m.tensor([[1.0], [0.0]]), dim=1),
     [_r(2, 3)]),
    ("cosine_similarity", lambda f, m, a, b: f.cosine_similarity(a, b), [_r(4, 5), _r(4, 5)]),
    ("cosine_similarity_bcast", lambda f, m, a, b: f.cosine_similarity(a, b, dim=-1),
     [_r(3, 1, 5), _r(4, 5)]),
    ("cosine_similarity_tiny", lambda f, m, a, b: f.cosine_similarity(a * 1e-10, b, eps=1e-8),
     [_r(3, 4), _r(3, 4)]),
    ("pairwise_distance", lambda f, m, a, b: f.pairwise_distance(a, b), [_r(4, 5), _r(4, 5)]),
    ("pairwise_distance_p1", lambda f, m, a, b: f.pairwise_distance(a, b, p=1.0, keepdim=True),
     [_r(4, 5), _r(1, 5)]),
    ("pdist", lambda f, m, x: f.pdist(x), [_r(5, 3)]),
    ("softshrink", lambda f, m, x: f.softshrink(x, 0.3), [_r(3, 4)]),
    ("hardshrink", lambda f, m, x: f.hardshrink(x), [_r(3, 4)]),
    ("threshold", lambda f, m, x: f.threshold(x, 0.1, -2.0), [_r(3, 4)]),
    ("rrelu_eval", lambda f, m, x: f.rrelu(x), [_r(3, 4)]),
    ("glu", lambda f, m, x: f.glu(x, 1), [_r(3, 4)]),
    ("prelu_one", lambda f, m, x, w: f.prelu(x, w), [_r(2, 3, 4), _r(1)]),
    ("prelu_channels", lambda f, m, x, w: f.prelu(x, w), [_r(2, 3, 4), _r(3)]),
    ("rms_norm", lambda f, m, x, w: f.rms_norm(x, (4,), w), [_r(2, 3, 4), _r(4)]),
    ("rms_norm_2d_eps", lambda f, m, x: f.rms_norm(x, [3, 4], eps=1e-3), [_r(2, 3, 4)]),
    ("local_response_norm", lambda f, m, x: f.local_response_norm(x, 3, 0.1, 0.5, 2.0),
     [_r(2, 5, 4)]),
    ("local_response_norm_4d", lambda f, m, x: f.local_response_norm(x, 2), [_r(2, 4, 3, 3)]),
    ("bilinear", lambda f, m, a, b, w, c: f.bilinear(a, b, w, c),
     [_r(5, 3), _r(5, 2), _r(4, 3, 2), _r(4)]),
    ("channel_shuffle", lambda f, m, x: f.channel_shuffle(x, 3), [_r(2, 6, 2, 2)]),
    ("lp_pool1d", lambda f, m, x: f.lp_pool1d(x, 2, 3, 2), [_r(2, 3, 8)]),
    ("lp_pool2d", lambda f, m, x: f.lp_pool2d(x, 3, (2, 2)), [_r(2, 3, 4, 6, lo=0.1, hi=2)]),
    ("lp_pool2d_p1", lambda f, m, x: f.lp_pool2d(x, 1, 2, ceil_mode=True), [_r(1, 2, 5, 5)]),
    ("upsample_nearest", lambda f, m, x: f.upsample_nearest(x, scale_factor=2),
     [_r(1, 2, 3, 3)]),
    ("upsample_bilinear", lambda f, m, x: f.upsample_bilinear(x, size=(5, 4)), [_r(1, 2, 3, 3)]),
]


@needs_torch
@pytest.mark.parametrize("name, fn, arrays", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(name, fn, arrays) -> None:
    ours, theirs = _both(fn)
    torch_parity(ours, theirs, *arrays)


@pytest.mark.parametrize("name, fn, arrays", [c for c in CASES if "tiny" not in c[0]],
                         ids=[c[0] for c in CASES if "tiny" not in c[0]])
def test_gradient_matches_finite_differences(name, fn, arrays) -> None:
    gradcheck(lambda *xs: fn(F, sg, *xs), *arrays)


# ---------------------------------------------------------------------- grid_sample
GRID_CASES = [(mode, pad, ac) for mode in ("bilinear", "nearest")
              for pad in ("zeros", "border", "reflection") for ac in (False, True)]


@needs_torch
@pytest.mark.parametrize("mode, padding, align", GRID_CASES)
def test_grid_sample_matches_torch(mode, padding, align) -> None:
    x = _r(2, 3, 4, 5)
    grid = _r(2, 3, 6, 2, lo=-1.4, hi=1.4)  # some points outside [-1, 1]
    if mode == "nearest":  # no gradient to the grid (PyTorch gives zeros, softgrad none)
        torch_parity(lambda a: F.grid_sample(a, sg.tensor(grid), mode, padding, align),
                     lambda a: TF.grid_sample(a, torch.tensor(grid), mode, padding, align), x)
        return
    torch_parity(lambda a, g: F.grid_sample(a, g, mode, padding, align),
                 lambda a, g: TF.grid_sample(a, g, mode, padding, align), x, grid)


@needs_torch
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
def test_grid_sample_3d_matches_torch(padding) -> None:
    x = _r(1, 2, 3, 4, 5)
    grid = _r(1, 2, 3, 2, 3, lo=-1.3, hi=1.3)
    torch_parity(lambda a, g: F.grid_sample(a, g, "bilinear", padding, False),
                 lambda a, g: TF.grid_sample(a, g, "bilinear", padding, False), x, grid)


def test_grid_sample_gradient_matches_finite_differences() -> None:
    x = _r(1, 2, 3, 4)
    grid = _r(1, 2, 3, 2, lo=-1.2, hi=1.2)
    for pad in ("zeros", "border", "reflection"):
        gradcheck(lambda a, g: F.grid_sample(a, g, "bilinear", pad, True), x, grid)


@needs_torch
@pytest.mark.parametrize("align", [False, True])
def test_affine_grid_matches_torch_and_identity_samples_the_input(align) -> None:
    theta = _r(2, 2, 3)
    torch_parity(lambda t: F.affine_grid(t, [2, 3, 4, 5], align),
                 lambda t: TF.affine_grid(t, [2, 3, 4, 5], align), theta)
    torch_parity(lambda t: F.affine_grid(t, [1, 1, 2, 3, 4], align),
                 lambda t: TF.affine_grid(t, [1, 1, 2, 3, 4], align), _r(1, 3, 4))
    x = sg.tensor(_r(2, 3, 4, 5))
    eye = sg.tensor(np.broadcast_to(np.eye(2, 3), (2, 2, 3)).copy())
    out = F.grid_sample(x, F.affine_grid(eye, list(x.shape), align), align_corners=align)
    np.testing.assert_allclose(out.numpy(), x.numpy(), atol=1e-6)


def test_grid_sample_errors_and_default_warning() -> None:
    x, g = sg.randn(1, 2, 3, 3), sg.zeros(1, 2, 2, 2)
    with pytest.warns(UserWarning, match="align_corners"):
        F.grid_sample(x, g)
    with pytest.raises(ValueError, match="padding_mode"):
        F.grid_sample(x, g, padding_mode="circular", align_corners=False)
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.grid_sample(x, g, mode="bicubic", align_corners=False)
    with pytest.raises(RuntimeError, match="same batch size"):
        F.grid_sample(x, sg.zeros(2, 2, 2, 2), align_corners=False)
    with pytest.raises(ValueError, match="Nx2x3"):
        F.affine_grid(sg.zeros(1, 3, 3), [1, 1, 2, 2], align_corners=False)


# ---------------------------------------------------------------------- embedding_bag
@needs_torch
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("layout", ["2d", "offsets", "last_offset", "padding"])
def test_embedding_bag_matches_torch(mode, layout) -> None:
    w = _r(10, 4)
    if layout == "2d":
        idx, off, kw = np.array([[1, 2, 4], [4, 3, 9]]), None, {}
    else:
        idx, off, kw = np.array([1, 2, 4, 5, 4, 3, 2, 9, 0]), np.array([0, 4, 4, 7]), {}
        if layout == "last_offset":
            off, kw = np.array([0, 2, 4, 4, 9]), {"include_last_offset": True}
        if layout == "padding":
            kw = {"padding_idx": 4}

    def run(f, lib, weight):
        o = None if off is None else lib.tensor(off)
        return f.embedding_bag(lib.tensor(idx), weight, o, mode=mode, **kw)

    torch_parity(lambda wt: run(F, sg, wt), lambda wt: run(TF, torch, wt), w)


@needs_torch
def test_embedding_bag_per_sample_weights_match_torch() -> None:
    idx, off, psw = np.array([1, 2, 4, 5, 4]), np.array([0, 2]), _r(5)
    torch_parity(lambda w, p: F.embedding_bag(sg.tensor(idx), w, sg.tensor(off), mode="sum",
                                              per_sample_weights=p),
                 lambda w, p: TF.embedding_bag(torch.tensor(idx), w, torch.tensor(off),
                                               mode="sum", per_sample_weights=p), _r(6, 3), psw)
    with pytest.raises(NotImplementedError, match="only supported for mode='sum'"):
        F.embedding_bag(sg.tensor(idx), sg.randn(6, 3), sg.tensor(off),
                        per_sample_weights=sg.randn(5))
    with pytest.raises(ValueError, match="offsets has to be None"):
        F.embedding_bag(sg.tensor([[1, 2]]), sg.randn(6, 3), sg.tensor([0]))


# ---------------------------------------------------------------------- random ones
def test_rrelu_training_draws_slopes_in_range_and_gradient_uses_them() -> None:
    sg.manual_seed(0)
    x = sg.tensor(-np.ones(1000), dtype=sg.float64, requires_grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = -y.detach().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slopes)


def test_gumbel_softmax_soft_and_hard() -> None:
    sg.manual_seed(0)
    logits = sg.tensor(np.log([[0.7, 0.2, 0.1]] * 4000), requires_grad=True)
    soft = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.sum(-1).detach().numpy(), 1, atol=1e-6)
    hard = F.gumbel_softmax(logits, hard=True)
    h = hard.detach().numpy()
    assert set(np.unique(h)) == {0.0, 1.0} and (h.sum(-1) == 1).all()
    assert abs(h[:, 0].mean() - 0.7) < 0.03  # Gumbel-max samples the categorical
    (hard * sg.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert logits.grad is not None and np.abs(logits.grad.numpy()).sum() > 0


def test_alpha_dropouts_keep_selu_statistics() -> None:
    sg.manual_seed(0)
    x = sg.randn(200, 50)
    y = F.alpha_dropout(x, 0.2, training=True)
    assert abs(float(y.mean())) < 0.05 and abs(float(y.std()) - 1) < 0.05
    assert F.alpha_dropout(x, 0.2, training=False) is x
    z = F.feature_alpha_dropout(sg.randn(50, 40, 6), 0.5, training=True).numpy()
    per_channel = z.std(axis=2)
    assert (per_channel < 1e-6).mean() > 0.3  # whole channels set to one value
    d = F.dropout3d(sg.ones(4, 8, 2, 2, 2), 0.5, training=True).numpy()
    assert set(np.unique(d)) <= {0.0, 2.0} and (d.reshape(4, 8, -1).std(-1) == 0).all()


def test_inplace_functional_forms_modify_their_input() -> None:
    for fn, args in ((F.relu_, ()), (F.elu_, (0.5,)), (F.leaky_relu_, (0.2,)),
                     (F.hardtanh_, (-0.1, 0.1)), (F.selu_, ()), (F.celu_, ()),
                     (F.threshold_, (0.0, 5.0)), (F.rrelu_, ())):
        x = sg.tensor([-1.0, 0.5, 2.0])
        out = fn(x, *args)
        assert out is x, fn.__name__
    x = sg.tensor([-1.0, 0.5])
    F.threshold_(x, 0.0, 5.0)
    assert x.tolist() == [5.0, 0.5]


def test_shape_errors_name_the_problem() -> None:
    with pytest.raises(RuntimeError, match="Halving dimension must be even"):
        F.glu(sg.randn(3, 5))
    with pytest.raises(RuntimeError, match="divisible by groups"):
        F.channel_shuffle(sg.randn(1, 5, 2, 2), 2)
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.rms_norm(sg.randn(2, 3), (4,))
    with pytest.raises(RuntimeError, match="parameter numbers"):
        F.prelu(sg.randn(2, 3, 4), sg.randn(4))
    with pytest.raises(RuntimeError, match="lambda must be greater or equal to 0"):
        F.softshrink(sg.randn(3), -1.0)
