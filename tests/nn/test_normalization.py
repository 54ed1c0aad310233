"""Batch/layer/group norm and embedding: functional parity, gradients, module semantics."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import softgrad as sg
import softgrad.nn.functional as F
from tests.helpers.checks import gradcheck, needs_torch, torch, torch_parity

nn = sg.nn
TF = torch.nn.functional if torch is not None else None


def _rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


# ---------------------------------------------------------------------------- functional
@needs_torch
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_torch(shape: tuple, training: bool) -> None:
    c = shape[1]
    rm, rv = _rand(c, seed=1), np.abs(_rand(c, seed=2)) + 0.5
    s_stats = [sg.tensor(rm.copy()), sg.tensor(rv.copy())]
    t_stats = [torch.tensor(rm.copy()), torch.tensor(rv.copy())]
    torch_parity(lambda x, w, b: F.batch_norm(x, *s_stats, w, b, training, 0.2, 1e-3),
                 lambda x, w, b: TF.batch_norm(x, *t_stats, w, b, training, 0.2, 1e-3),
                 _rand(*shape), _rand(c, seed=3), _rand(c, seed=4))
    for s, t in zip(s_stats, t_stats):
        np.testing.assert_allclose(s.numpy(), t.numpy(), atol=1e-12)


@needs_torch
@pytest.mark.parametrize("shape,norm", [((4, 6), (6,)), ((2, 3, 4, 5), (4, 5)),
                                        ((3, 7), 7)])
def test_layer_norm_matches_torch(shape: tuple, norm) -> None:
    nshape = (norm,) if isinstance(norm, int) else norm
    torch_parity(lambda x, w, b: F.layer_norm(x, norm, w, b, eps=1e-4),
                 lambda x, w, b: TF.layer_norm(x, nshape, w, b, eps=1e-4),
                 _rand(*shape), _rand(*nshape, seed=1), _rand(*nshape, seed=2))
    torch_parity(lambda x: F.layer_norm(x, norm), lambda x: TF.layer_norm(x, nshape),
                 _rand(*shape, seed=5))
    torch_parity(lambda x, w: F.layer_norm(x, norm, w), lambda x, w: TF.layer_norm(x, nshape, w),
                 _rand(*shape, seed=6), _rand(*nshape, seed=7))


@needs_torch
def test_group_and_instance_norm_match_torch() -> None:
    torch_parity(lambda x, w, b: F.group_norm(x, 2, w, b),
                 lambda x, w, b: TF.group_norm(x, 2, w, b),
                 _rand(3, 4, 5), _rand(4, seed=1), _rand(4, seed=2))
    torch_parity(lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
                 lambda x, w, b: TF.instance_norm(x, weight=w, bias=b),
                 _rand(3, 4, 5), _rand(4, seed=1), _rand(4, seed=2))


@needs_torch
@pytest.mark.parametrize("which", ["layer", "batch"])
def test_norm_double_backward_matches_torch(which: str) -> None:
    """Second derivatives (create_graph through the fused op) equal PyTorch's."""
    def make(lib, fn):
        def f(x, w, b):
            y = fn(x, w, b)
            gx, gw = lib.autograd.grad((y * y * y).sum(), (x, w), create_graph=True)
            return gx, gw
        return f

    if which == "layer":
        sfn, tfn = (lambda x, w, b: F.layer_norm(x, (5,), w, b)), \
            (lambda x, w, b: TF.layer_norm(x, (5,), w, b))
    else:
        sfn = lambda x, w, b: F.batch_norm(x, None, None, w, b, True)
        tfn = lambda x, w, b: TF.batch_norm(x, None, None, w, b, True)
    torch_parity(make(sg, sfn), make(torch, tfn), _rand(4, 5), _rand(5, seed=1),
                 _rand(5, seed=2), atol=1e-8)


@needs_torch
@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=2, max_size=4), k=st.integers(1, 2),
       seed=st.integers(0, 1000))
def test_norms_match_torch_over_shapes(shape: list, k: int, seed: int) -> None:
    shape[0] = max(shape[0], 2)                          # batch norm needs >1 value/channel
    x = _rand(*shape, seed=seed) * 3 + 1
    nshape = tuple(shape[-min(k, len(shape)):])
    torch_parity(lambda a: F.layer_norm(a, nshape), lambda a: TF.layer_norm(a, nshape), x)
    torch_parity(lambda a: F.batch_norm(a, None, None, training=True),
                 lambda a: TF.batch_norm(a, None, None, training=True), x)


def test_norm_gradcheck() -> None:
    gradcheck(lambda x, w, b: F.layer_norm(x, (4,), w, b), _rand(3, 4), _rand(4, seed=1),
              _rand(4, seed=2))
    gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, True), _rand(5, 3, 2),
              _rand(3, seed=1), _rand(3, seed=2))


def test_norm_extreme_and_constant_inputs() -> None:
    x = np.array([[1e4, 1e4 + 1, 1e4 + 2], [-5.0, -5.0, -5.0]], dtype=np.float32)
    y = F.layer_norm(sg.tensor(x), (3,)).numpy()
    assert np.isfinite(y).all() and y.dtype == np.float32
    np.testing.assert_allclose(y[0], [-1.2247, 0.0, 1.2247], atol=1e-3)
    np.testing.assert_array_equal(y[1], 0)


def test_norm_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="does not end with normalized_shape"):
        F.layer_norm(sg.randn(3, 4), (5,))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        F.batch_norm(sg.randn(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match=r"weight should have shape \(3,\)"):
        F.batch_norm(sg.randn(4, 3), None, None, sg.ones(4), training=True)
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.BatchNorm1d(3)(sg.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match="got input with 4 channels"):
        nn.BatchNorm1d(3)(sg.randn(2, 4))


# ---------------------------------------------------------------------------- modules
@needs_torch
@pytest.mark.parametrize("kwargs", [dict(), dict(momentum=None), dict(affine=False),
                                    dict(track_running_stats=False), dict(momentum=0.3, eps=1e-3)])
def test_batchnorm1d_module_train_eval_matches_torch(kwargs: dict) -> None:
    s, t = nn.BatchNorm1d(4, **kwargs).double(), torch.nn.BatchNorm1d(4, **kwargs)
    if kwargs.get("affine", True):
        with torch.no_grad():
            t.weight.uniform_(0.5, 1.5)
            t.bias.uniform_(-1, 1)
    s.load_state_dict(t.state_dict())
    for i in range(4):                               # running statistics over several batches
        x = _rand(8, 4, 3, seed=i) * (i + 1) + i
        sx, tx = sg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        sy, ty = s(sx), t(tx)
        np.testing.assert_allclose(sy.detach().numpy(), ty.detach().numpy(), atol=1e-10)
        (sy * sy).sum().backward()
        (ty * ty).sum().backward()
        np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), atol=1e-9)
    for (k, sv), tv in zip(s.state_dict().items(), t.state_dict().values()):
        np.testing.assert_allclose(sv.numpy(), tv.detach().numpy(), atol=1e-10, err_msg=k)
    if s.weight is not None:
        np.testing.assert_allclose(s.weight.grad.numpy(), t.weight.grad.numpy(), atol=1e-9)
    s.eval()
    t.eval()
    x = _rand(5, 4, 3, seed=9)
    before = {k: v.numpy().copy() for k, v in s.state_dict().items()}
    np.testing.assert_allclose(s(sg.tensor(x)).detach().numpy(),
                               t(torch.tensor(x)).detach().numpy(), atol=1e-10)
    for k, v in s.state_dict().items():                # eval does not touch running stats
        np.testing.assert_array_equal(v.numpy(), before[k])


@needs_torch
def test_batchnorm2d_layernorm_groupnorm_modules_match_torch() -> None:
    pairs = [(nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3), (4, 3, 2, 2)),
             (nn.LayerNorm((3, 4)), torch.nn.LayerNorm((3, 4)), (2, 5, 3, 4)),
             (nn.LayerNorm(4, bias=False), torch.nn.LayerNorm(4, bias=False), (3, 4)),
             (nn.LayerNorm(4, elementwise_affine=False),
              torch.nn.LayerNorm(4, elementwise_affine=False), (3, 4)),
             (nn.GroupNorm(2, 4), torch.nn.GroupNorm(2, 4), (3, 4, 5))]
    for s, t, shape in pairs:
        with torch.no_grad():
            for p in t.parameters():
                p.uniform_(-1, 1)
        s.double().load_state_dict(t.state_dict())
        assert list(s.state_dict()) == list(t.state_dict())
        assert repr(s) == repr(t)
        x = _rand(*shape)
        sx, tx = sg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        sy, ty = s(sx), t(tx)
        np.testing.assert_allclose(sy.detach().numpy(), ty.detach().numpy(), atol=1e-10)
        (sy.sin()).sum().backward()
        (ty.sin()).sum().backward()
        np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), atol=1e-9)
        for sp, tp in zip(s.parameters(), t.parameters()):
            np.testing.assert_allclose(sp.grad.numpy(), tp.grad.numpy(), atol=1e-9)


def test_batchnorm_float32_and_buffers() -> None:
    bn = nn.BatchNorm1d(3)
    y = bn(sg.randn(6, 3) * 4 + 2)
    assert y.dtype == sg.float32 and bn.running_mean.dtype == sg.float32
    assert int(bn.num_batches_tracked.item()) == 1
    np.testing.assert_allclose(y.detach().numpy().mean(0), 0, atol=1e-5)
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var",
                                                  "num_batches_tracked"]


# ---------------------------------------------------------------------------- embedding
@needs_torch
@pytest.mark.parametrize("kwargs", [dict(), dict(padding_idx=1), dict(padding_idx=-1),
                                    dict(scale_grad_by_freq=True, padding_idx=0)])
def test_embedding_matches_torch(kwargs: dict) -> None:
    idx = np.array([[0, 2, 1, 2], [3, 3, 1, 0]])
    torch_parity(lambda w, i: F.embedding(i, w, **kwargs),
                 lambda w, i: TF.embedding(i, w, **kwargs), _rand(5, 3), idx)


@needs_torch
def test_embedding_module_and_max_norm_match_torch() -> None:
    t = torch.nn.Embedding(6, 4, padding_idx=2, max_norm=1.0)
    s = nn.Embedding(6, 4, padding_idx=2, max_norm=1.0).double()
    s.load_state_dict(t.state_dict())
    assert repr(s) == repr(t)
    idx = np.array([1, 2, 5, 5])
    sy, ty = s(sg.tensor(idx)), t(torch.tensor(idx))
    np.testing.assert_allclose(sy.detach().numpy(), ty.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(s.weight.detach().numpy(), t.weight.detach().numpy(), atol=1e-6)
    sy.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(s.weight.grad.numpy(), t.weight.grad.numpy())


def test_embedding_padding_row_and_errors() -> None:
    emb = nn.Embedding(10, 3, padding_idx=0)
    assert (emb.weight.data[0] == 0).all() and emb.weight.dtype == sg.float32
    out = emb(sg.tensor([[0, 1, 1]]))
    assert out.shape == (1, 3, 3)
    out.sum().backward()
    g = emb.weight.grad.numpy()
    assert (g[0] == 0).all() and (g[1] == 2).all() and (g[2:] == 0).all()
    with pytest.raises(IndexError, match="index 10 is out of range for an embedding with 10"):
        emb(sg.tensor([10]))
    with pytest.raises(TypeError, match="must be integers"):
        emb(sg.tensor([1.0]))
    frozen = nn.Embedding.from_pretrained(sg.ones(4, 2))
    assert not frozen.weight.requires_grad and next(iter(frozen.parameters())).shape == (4, 2)
    assert F.one_hot(sg.tensor([0, 2]), 3).numpy().tolist() == [[1, 0, 0], [0, 0, 1]]


def test_embedding_double_backward_through_graph() -> None:
    w = sg.tensor(_rand(4, 2), requires_grad=True)
    idx = sg.tensor([0, 3, 3])
    (gw,) = sg.autograd.grad((F.embedding(idx, w, padding_idx=0) ** 2).sum(), w,
                             create_graph=True)
    (gww,) = sg.autograd.grad(gw.sum(), w)
    expected = np.zeros((4, 2))
    expected[3] = 4.0                                  # d/dw of 2 * 2 * w[3] summed
    np.testing.assert_allclose(gww.numpy(), expected)
