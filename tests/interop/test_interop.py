"""Array interop: __array__, DLPack export (__dlpack__) and import (sg.from_dlpack), zero copy."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg

try:
    import torch
except Exception:  # pragma: no cover - depends on the machine
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def test_array_protocol_shares_memory_and_copies_on_request():
    t = sg.arange(6.0).reshape(2, 3)
    view = np.asarray(t)
    assert np.shares_memory(view, t._data)
    view[0, 0] = 9.0
    assert t[0, 0].item() == 9.0
    copied = np.array(t, copy=True)
    assert not np.shares_memory(copied, t._data)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="without a copy"):
        np.asarray(t, dtype=np.float64, copy=False)


def test_numpy_reads_a_tensor_through_dlpack_without_copying():
    t = sg.zeros(3, 4)
    assert t.__dlpack_device__() == (1, 0)
    arr = np.from_dlpack(t)
    assert arr.shape == (3, 4) and arr.dtype == np.float32
    assert np.shares_memory(arr, t._data)
    arr[1, 2] = 5.0
    assert t[1, 2].item() == 5.0
    copied = np.from_dlpack(t, copy=True)
    assert not np.shares_memory(copied, t._data) and copied[1, 2] == 5.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int64, np.int32,
                                   np.int8, np.uint8, np.bool_])
def test_from_dlpack_numpy_round_trip_keeps_dtype_and_memory(dtype):
    a = (np.arange(12) % 3).astype(dtype).reshape(3, 4)
    t = sg.from_dlpack(a)
    assert t.dtype == sg.dtypes.from_np(np.dtype(dtype))
    assert np.shares_memory(t._data, a)
    assert np.from_dlpack(t).tolist() == a.tolist()


def test_from_dlpack_of_a_strided_view_and_a_capsule():
    a = np.arange(20.0).reshape(4, 5)[:, 1::2]
    t = sg.from_dlpack(a)
    assert t.shape == (4, 2) and np.shares_memory(t._data, a)
    assert t.tolist() == a.tolist()
    back = sg.from_dlpack(np.arange(3.0).__dlpack__())
    assert back.tolist() == [0.0, 1.0, 2.0]


def test_errors():
    with pytest.raises(TypeError, match="__dlpack__"):
        sg.from_dlpack([1, 2, 3])
    with pytest.raises(RuntimeError, match="require gradient"):
        np.from_dlpack(sg.ones(2, requires_grad=True))
    assert np.from_dlpack(sg.ones(2, requires_grad=True).detach()).tolist() == [1.0, 1.0]


@needs_torch
def test_torch_reads_a_tensor_through_dlpack_without_copying():
    t = sg.arange(8.0).reshape(2, 4)
    tt = torch.from_dlpack(t)
    assert tt.dtype == torch.float32 and tuple(tt.shape) == (2, 4)
    tt[0, 1] = -7.0
    assert t[0, 1].item() == -7.0
    assert tt.data_ptr() == t._data.ctypes.data


@needs_torch
def test_from_dlpack_of_torch_tensors_shares_memory():
    src = torch.arange(10, dtype=torch.float64).reshape(2, 5)[:, ::2]
    t = sg.from_dlpack(src)
    assert t.dtype == sg.float64 and t.shape == (2, 3)
    src[1, 1] = 100.0
    assert t[1, 1].item() == 100.0
    t._data[0, 0] = -1.0
    assert src[0, 0].item() == -1.0
    assert sg.from_dlpack(torch.tensor([True, False])).dtype == sg.bool
    assert sg.from_dlpack(torch.arange(3)).dtype == sg.int64
    with pytest.raises(TypeError, match="bfloat16"):
        sg.from_dlpack(torch.ones(2, dtype=torch.bfloat16))
    with pytest.raises(TypeError, match="require gradient"):
        sg.from_dlpack(torch.ones(2, requires_grad=True))


@needs_torch
def test_a_tensor_computed_by_softgrad_feeds_torch_and_back():
    x = sg.randn(4, 3)
    y = (x * 2).relu()
    out = torch.from_dlpack(y).sum(dim=1)
    back = sg.from_dlpack(out)
    np.testing.assert_allclose(back.numpy(), y.numpy().sum(axis=1), rtol=1e-6)


@pytest.mark.gpu
def test_cupy_when_present():
    import cupy
    a = cupy.arange(4.0)
    t = sg.from_dlpack(a)
    assert t.device != "cpu"
    a[0] = 5.0
    assert t[0].item() == 5.0
