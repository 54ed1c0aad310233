"""Checking helpers: finite differences (``gradcheck``), parity with PyTorch, and editing
saved files (``edit_pickle``).

``torch`` is a test-only reference; parity checks skip cleanly where it is absent.
"""
from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

import softgrad as sg

try:
    import torch

    torch.set_default_dtype(torch.float64)
except Exception:  # pragma: no cover - depends on the machine
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def gradcheck(fn: Callable, *arrays: np.ndarray, atol: float = 1e-5, rtol: float = 1e-3,
              eps: float = 1e-6, **kw: Any) -> None:
    """Assert fn's autograd gradient matches float64 central differences."""
    xs = [sg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    assert sg.autograd.gradcheck(fn, xs, atol=atol, rtol=rtol, eps=eps, **kw)


def torch_parity(sg_fn: Callable, torch_fn: Callable, *arrays: np.ndarray,
                 atol: float = 1e-6, rtol: float = 1e-6, grad: bool = True,
                 seed: int = 0) -> None:
    """Assert value and input gradients of ``sg_fn`` equal ``torch_fn``'s (float64).

    The output is weighted by a random tensor before summing, so the full VJP is compared.
    Non-float arrays (indices) are passed through without gradients.
    """
    if torch is None:
        pytest.skip("torch is not installed")
    arrays = [np.asarray(a) for a in arrays]
    diff = [a.dtype.kind == "f" for a in arrays]
    sx = [sg.tensor(a.astype(np.float64) if d else a, requires_grad=d and grad)
          for a, d in zip(arrays, diff)]
    tx = [torch.tensor(a.astype(np.float64) if d else a, requires_grad=d and grad)
          for a, d in zip(arrays, diff)]
    so, to = sg_fn(*sx), torch_fn(*tx)
    so_l = list(so) if isinstance(so, (tuple, list)) else [so]
    to_l = list(to) if isinstance(to, (tuple, list)) else [to]
    assert len(so_l) == len(to_l)
    for s, t in zip(so_l, to_l):
        assert tuple(s.shape) == tuple(t.shape), f"shape {tuple(s.shape)} vs {tuple(t.shape)}"
        np.testing.assert_allclose(s.detach().numpy(), t.detach().numpy(), atol=atol, rtol=rtol)
    if not grad or not any(diff):
        return
    rng = np.random.default_rng(seed)
    s_total, t_total = 0, 0
    for s, t in zip(so_l, to_l):
        if not t.requires_grad or t.dtype not in (torch.float64, torch.float32):
            continue
        w = rng.standard_normal(tuple(t.shape))
        s_total = s_total + (s * sg.tensor(w)).sum()
        t_total = t_total + (t * torch.tensor(w)).sum()
    if isinstance(t_total, int):
        return
    s_total.backward()
    t_total.backward()
    for i, (s, t) in enumerate(zip(sx, tx)):
        if t.grad is None:
            assert s.grad is None or np.allclose(s.grad.numpy(), 0), f"input {i}"
            continue
        assert s.grad is not None, f"input {i} got no gradient"
        np.testing.assert_allclose(s.grad.numpy(), t.grad.numpy(), atol=atol, rtol=rtol,
                                   err_msg=f"gradient of input {i}")


def broadcast_shapes() -> Sequence[tuple]:
    """Pairs of shapes that exercise broadcasting."""
    return [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((), (2, 3)), ((2, 3, 4), (4,)),
            ((5, 1, 3), (1, 2, 1))]


def edit_pickle(blob: bytes, old: bytes, new: bytes) -> bytes:
    """The same torch.save zip with ``old`` (which must occur) replaced by ``new`` in its
    data.pkl."""
    src = zipfile.ZipFile(io.BytesIO(blob))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("/data.pkl"):
                assert old in data
                data = data.replace(old, new)
            dst.writestr(info.filename, data)
    return out.getvalue()
