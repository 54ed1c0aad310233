"""pad, interpolate, unfold and fold (functional and modules) vs PyTorch; finite
differences; float32; errors."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn.functional as F
from tests.helpers.checks import gradcheck, needs_torch, torch, torch_parity

nn = sg.nn
TF = torch.nn.functional if torch is not None else None


def _rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


@needs_torch
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_matches_torch(mode: str) -> None:
    x = _rand(2, 3, 5, 6)
    for p in [(2, 1, 3, 0), (0, 0, 1, 1), (1, 1, 0, 2)]:
        torch_parity(lambda x: F.pad(x, p, mode), lambda x: TF.pad(x, p, mode), x)
    torch_parity(lambda x: F.pad(x, (1, 2), mode), lambda x: TF.pad(x, (1, 2), mode), x[:, :, 0])


@needs_torch
def test_constant_pad_value_and_crop() -> None:
    x = _rand(2, 3, 5, 6)
    torch_parity(lambda x: F.pad(x, (-1, 2, 1, -2), value=3.0),
                 lambda x: TF.pad(x, (-1, 2, 1, -2), value=3.0), x)
    torch_parity(lambda x: F.pad(x, (1, 1, 0, 0, 2, 1)), lambda x: TF.pad(x, (1, 1, 0, 0, 2, 1)),
                 x)


@needs_torch
@pytest.mark.parametrize("kw", [dict(size=(7, 9)), dict(scale_factor=2), dict(size=(3, 4)),
                                dict(scale_factor=(1.5, 0.7)), dict(size=(10, 5)),
                                dict(scale_factor=1.7, recompute_scale_factor=True)])
def test_interpolate_matches_torch(kw: dict) -> None:
    x = _rand(2, 3, 5, 6)
    for mode, ac in [("nearest", None), ("bilinear", False), ("bilinear", True),
                     ("nearest-exact", None), ("area", None)]:
        torch_parity(lambda x: F.interpolate(x, mode=mode, align_corners=ac, **kw),
                     lambda x: TF.interpolate(x, mode=mode, align_corners=ac, **kw), x)
    kw1 = {k: (v[1] if isinstance(v, tuple) else v) for k, v in kw.items()}
    for mode, ac in [("nearest", None), ("linear", False), ("linear", True)]:
        torch_parity(lambda x: F.interpolate(x, mode=mode, align_corners=ac, **kw1),
                     lambda x: TF.interpolate(x, mode=mode, align_corners=ac, **kw1), x[:, :, 0])


@needs_torch
def test_interpolate_float32_matches_torch() -> None:
    x = _rand(1, 2, 13, 7).astype(np.float32)
    for size in [(29, 5), (6, 15)]:
        for mode in ["nearest", "bilinear"]:
            y = F.interpolate(sg.tensor(x), size=size, mode=mode)
            t = TF.interpolate(torch.tensor(x), size=size, mode=mode)
            assert y.dtype == sg.float32
            np.testing.assert_allclose(y.numpy(), t.numpy(), atol=1e-5)


@needs_torch
@pytest.mark.parametrize("k,d,p,s", [(2, 1, 0, 1), ((2, 3), (1, 2), (1, 0), (2, 1)),
                                     (3, 1, 1, 2), (2, 1, 0, 2)])
def test_unfold_fold_match_torch(k, d, p, s) -> None:
    x = _rand(2, 3, 5, 6)
    torch_parity(lambda x: F.unfold(x, k, d, p, s), lambda x: TF.unfold(x, k, d, p, s), x)
    cols = TF.unfold(torch.tensor(x), k, d, p, s).numpy()
    torch_parity(lambda c: F.fold(c, (5, 6), k, d, p, s), lambda c: TF.fold(c, (5, 6), k, d, p, s),
                 cols)
    torch_parity(lambda x: nn.Unfold(k, d, p, s)(x), lambda x: torch.nn.Unfold(k, d, p, s)(x), x)


def test_unfold_matmul_equals_conv() -> None:
    x, w = sg.randn(2, 3, 6, 6), sg.randn(4, 3, 3, 3)
    cols = F.unfold(x, 3, padding=1)
    y = (w.reshape(4, -1) @ cols).reshape(2, 4, 6, 6)
    np.testing.assert_allclose(y.numpy(), F.conv2d(x, w, padding=1).numpy(), atol=1e-4)


def test_vision_gradcheck() -> None:
    gradcheck(lambda x: F.pad(x, (1, 2, 2, 1), mode="reflect"), _rand(1, 2, 4, 4))
    gradcheck(lambda x: F.pad(x, (1, 3), mode="replicate"), _rand(2, 2, 3))
    gradcheck(lambda x: F.interpolate(x, size=(5, 7), mode="bilinear"), _rand(1, 2, 3, 4))
    gradcheck(lambda x: F.fold(x, (4, 5), 2, stride=1), _rand(1, 8, 12))


@needs_torch
def test_padding_and_upsample_modules_match_torch() -> None:
    x = _rand(2, 3, 5, 6)
    pairs = [(nn.ZeroPad2d((1, 2, 0, 1)), torch.nn.ZeroPad2d((1, 2, 0, 1))),
             (nn.ConstantPad2d(2, 1.5), torch.nn.ConstantPad2d(2, 1.5)),
             (nn.ReflectionPad2d(2), torch.nn.ReflectionPad2d(2)),
             (nn.ReplicationPad2d((1, 0, 2, 3)), torch.nn.ReplicationPad2d((1, 0, 2, 3))),
             (nn.CircularPad2d(1), torch.nn.CircularPad2d(1)),
             (nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
             (nn.Upsample(size=(8, 9), mode="bilinear", align_corners=True),
              torch.nn.Upsample(size=(8, 9), mode="bilinear", align_corners=True)),
             (nn.UpsamplingBilinear2d(scale_factor=2),
              torch.nn.UpsamplingBilinear2d(scale_factor=2)),
             (nn.UpsamplingNearest2d(size=(3, 3)), torch.nn.UpsamplingNearest2d(size=(3, 3)))]
    for s, t in pairs:
        torch_parity(s, t, x)
    x1 = x[:, :, 0]
    for s, t in [(nn.ReflectionPad1d(2), torch.nn.ReflectionPad1d(2)),
                 (nn.ReplicationPad1d((0, 3)), torch.nn.ReplicationPad1d((0, 3))),
                 (nn.ConstantPad1d(1, -1.0), torch.nn.ConstantPad1d(1, -1.0)),
                 (nn.ZeroPad1d(2), torch.nn.ZeroPad1d(2)),
                 (nn.CircularPad1d(2), torch.nn.CircularPad1d(2))]:
        torch_parity(s, t, x1)
    cols = TF.unfold(torch.tensor(x), 2).numpy()
    torch_parity(nn.Fold((5, 6), 2), torch.nn.Fold((5, 6), 2), cols)


def test_vision_errors() -> None:
    x = sg.randn(1, 2, 4, 4)
    with pytest.raises(RuntimeError, match="padding size should be less"):
        F.pad(x, (4, 4, 0, 0), mode="reflect")
    with pytest.raises(ValueError, match="divisible by 2"):
        F.pad(x, (1, 2, 3))
    with pytest.raises(NotImplementedError, match="unknown padding mode"):
        F.pad(x, (1, 1), mode="mirror")
    with pytest.raises(ValueError, match="exactly one of size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners option"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(NotImplementedError, match="expects 3D input"):
        F.interpolate(x, scale_factor=2, mode="linear")
    with pytest.raises(RuntimeError, match="calculated number of sliding blocks"):
        F.fold(sg.randn(1, 8, 5), (4, 5), 2)


@needs_torch
def test_pixel_shuffle_matches_torch() -> None:
    torch_parity(lambda x: F.pixel_shuffle(x, 2), lambda x: TF.pixel_shuffle(x, 2),
                 _rand(2, 8, 3, 4))
    torch_parity(lambda x: F.pixel_unshuffle(x, 3), lambda x: TF.pixel_unshuffle(x, 3),
                 _rand(1, 2, 6, 9))
    torch_parity(nn.PixelShuffle(3), torch.nn.PixelShuffle(3), _rand(2, 5, 9, 2, 2))
    x = sg.randn(2, 4, 6, 6)
    np.testing.assert_array_equal(F.pixel_shuffle(F.pixel_unshuffle(x, 2), 2).numpy(),
                                  x.numpy())
    with pytest.raises(RuntimeError, match="pixel_shuffle"):
        F.pixel_shuffle(sg.randn(1, 3, 2, 2), 2)
