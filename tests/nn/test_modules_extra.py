"""The added layers beyond the registry checks: lazy layers (materialisation, optimizers,
state_dict), EmbeddingBag.from_pretrained, loss layers against their functional forms."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn as nn
import softgrad.nn.functional as F
from tests.helpers.checks import needs_torch, torch


def test_lazy_linear_materialises_on_first_call_and_becomes_linear() -> None:
    sg.manual_seed(0)
    fc = nn.LazyLinear(3)
    assert isinstance(fc.weight, nn.UninitializedParameter) and fc.has_uninitialized_params()
    assert repr(fc) == "LazyLinear(in_features=0, out_features=3, bias=True)"
    opt = sg.optim.SGD(fc.parameters(), lr=0.5)  # built before the shapes are known
    weight = fc.weight
    y = fc(sg.randn(4, 7))
    assert type(fc) is nn.Linear and fc.in_features == 7 and y.shape == (4, 3)
    assert fc.weight is weight and type(weight) is nn.Parameter and weight.shape == (3, 7)
    bound = 1 / np.sqrt(7)  # Linear's initialisation
    assert np.abs(weight.detach().numpy()).max() <= bound
    before = weight.detach().numpy().copy()
    y.sum().backward()
    opt.step()
    assert not np.allclose(weight.detach().numpy(), before)


def test_lazy_conv_infers_channels_batched_and_unbatched() -> None:
    conv = nn.LazyConv2d(4, 3, padding=1, groups=2)
    assert repr(conv).startswith("LazyConv2d(0, 4, kernel_size=(3, 3)")
    assert conv(sg.randn(6, 5, 5)).shape == (4, 5, 5)  # unbatched: channels in dim 0
    assert type(conv) is nn.Conv2d and conv.weight.shape == (4, 3, 3, 3)
    c1 = nn.LazyConv1d(2, 2, bias=False)
    assert c1(sg.randn(1, 3, 5)).shape == (1, 2, 4) and c1.bias is None
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.LazyConv2d(4, 3, groups=2)(sg.randn(1, 3, 5, 5))


def test_lazy_module_loads_a_state_dict_before_its_first_call() -> None:
    src = nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2))
    lazy = nn.Sequential(nn.LazyLinear(3), nn.ReLU(), nn.LazyLinear(2))
    lazy.load_state_dict(src.state_dict())
    x = sg.randn(4, 5)
    np.testing.assert_array_equal(lazy(x).detach().numpy(), src(x).detach().numpy())


@needs_torch
def test_lazy_layers_match_torch_after_loading_the_same_weights() -> None:
    ours = nn.LazyLinear(3)
    theirs = torch.nn.LazyLinear(3, dtype=torch.float32)
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    ours(sg.tensor(x))
    theirs(torch.tensor(x))
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    np.testing.assert_allclose(ours(sg.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), atol=1e-6)


def test_embedding_bag_from_pretrained_and_padding() -> None:
    table = sg.tensor(np.arange(12.0).reshape(4, 3))
    bag = nn.EmbeddingBag.from_pretrained(table, mode="max")
    assert not bag.weight.requires_grad
    out = bag(sg.tensor([0, 3, 1, 2]), sg.tensor([0, 2]))
    np.testing.assert_array_equal(out.detach().numpy(), [[9, 10, 11], [6, 7, 8]])
    bag = nn.EmbeddingBag(5, 2, mode="mean", padding_idx=0)
    assert (bag.weight.detach().numpy()[0] == 0).all()
    out = bag(sg.tensor([[0, 1, 1], [0, 0, 0]]))  # padding is left out of the mean
    np.testing.assert_allclose(out.detach().numpy()[0], bag.weight.detach().numpy()[1],
                               rtol=1e-6)
    np.testing.assert_array_equal(out.detach().numpy()[1], 0)
    assert repr(bag) == "EmbeddingBag(5, 2, mode='mean', padding_idx=0)"


@needs_torch
def test_triplet_with_distance_loss_defaults_to_a_pairwise_distance_module() -> None:
    loss = nn.TripletMarginWithDistanceLoss()
    assert isinstance(loss.distance_function, nn.PairwiseDistance)
    assert repr(loss) == repr(torch.nn.TripletMarginWithDistanceLoss())
    a, p, n = (sg.randn(4, 3) for _ in range(3))
    assert loss(a, p, n).item() == pytest.approx(F.triplet_margin_loss(a, p, n).item(),
                                                 rel=1e-5)


def test_loss_layers_forward_their_options() -> None:
    x, y = sg.randn(5, 4), sg.randn(5, 4)
    sign = sg.tensor([1.0, -1.0, 1.0, 1.0, -1.0])
    assert nn.MarginRankingLoss(0.3, reduction="sum")(x[:, 0], y[:, 0], sign).item() == \
        pytest.approx(F.margin_ranking_loss(x[:, 0], y[:, 0], sign, 0.3,
                                            reduction="sum").item())
    assert nn.PoissonNLLLoss(log_input=False, full=True)(x.abs() + 1, y.abs()).item() == \
        pytest.approx(F.poisson_nll_loss(x.abs() + 1, y.abs(), False, True).item())
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="margin to be greater than 0"):
        nn.TripletMarginLoss(margin=0)


def test_deepcopy_of_modules_keeps_parameters_and_lazy_state() -> None:
    model = nn.Sequential(nn.Linear(3, 2), nn.RMSNorm(2))
    model[0].weight.grad = sg.ones(2, 3)
    twin = copy.deepcopy(model)
    assert type(twin[0].weight) is nn.Parameter and twin[0].weight.requires_grad
    assert twin[0].weight is not model[0].weight
    w, w2 = model[0].weight.detach().numpy(), twin[0].weight.detach().numpy()
    np.testing.assert_array_equal(w2, w)
    np.testing.assert_array_equal(twin[0].weight.grad.numpy(), 1)
    with sg.no_grad():
        twin[0].weight.add_(1)
    assert not np.allclose(twin[0].weight.detach().numpy(), w)
    lazy = copy.deepcopy(nn.LazyLinear(2))
    assert lazy(sg.randn(1, 4)).shape == (1, 2)
