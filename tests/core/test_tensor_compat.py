"""Tensor metadata and protocol methods PyTorch programs use: strides, storage offsets,
memory formats, in-place view changes, resize/set, legacy constructors, Python protocols and
copy.deepcopy."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import needs_torch, torch


@needs_torch
def test_strides_offsets_and_sizes_match_torch() -> None:
    base = np.arange(24.0).reshape(2, 3, 4)
    ours, theirs = sg.tensor(base), torch.tensor(base)
    views = [lambda t: t, lambda t: t.transpose(0, 2), lambda t: t[:, 1:, ::2],
             lambda t: t[1], lambda t: t.permute(2, 0, 1)[1:]]
    for view in views:
        o, t = view(ours), view(theirs)
        assert o.stride() == t.stride() and o.storage_offset() == t.storage_offset()
        assert o.stride(-1) == t.stride(-1)
        assert o.is_contiguous() == t.is_contiguous()
    assert ours.nbytes == theirs.nbytes and ours.itemsize == theirs.itemsize
    assert ours.ndimension() == 3 and ours.data_ptr() == ours[0].data_ptr()
    assert ours[1].data_ptr() - ours.data_ptr() == 12 * 8


def test_memory_formats_are_accepted_as_layout_no_ops() -> None:
    x = sg.randn(2, 3, 4, 5)
    y = x.to(memory_format=sg.channels_last)
    assert y.shape == x.shape and np.array_equal(y.numpy(), x.numpy())
    assert x.contiguous(memory_format=sg.contiguous_format) is x
    assert x.to(sg.float64, non_blocking=True).dtype == sg.float64
    assert x.layout is sg.strided and repr(sg.channels_last) == "softgrad.channels_last"
    with pytest.raises(TypeError, match="memory_format"):
        x.to(memory_format="nchw")


def test_inplace_view_changes() -> None:
    x = sg.arange(6.0).reshape(2, 3)
    assert x.unsqueeze_(0).shape == (1, 2, 3) and x.squeeze_().shape == (2, 3)
    assert x.t_().shape == (3, 2) and x.transpose_(0, 1).shape == (2, 3)
    assert x.tolist() == [[0, 1, 2], [3, 4, 5]]
    leaf = sg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        leaf.unsqueeze_(0)
    h = leaf * 2
    h.unsqueeze_(1)
    assert h.shape == (3, 1)
    (h * sg.tensor([[1.0], [2.0], [3.0]])).sum().backward()
    assert leaf.grad.tolist() == [2.0, 4.0, 6.0]
    used = leaf * 3
    _ = used + 1
    with pytest.raises(RuntimeError, match="already used"):
        used.unsqueeze_(0)


def test_resize_set_and_legacy_constructors() -> None:
    x = sg.arange(6.0)
    x.resize_(2, 3)
    assert x.shape == (2, 3) and x.tolist() == [[0, 1, 2], [3, 4, 5]]
    x.resize_(2, 2)
    assert x.tolist() == [[0, 1], [2, 3]]
    x.resize_as_(sg.zeros(5))
    assert x.shape == (5,) and x.tolist()[:4] == [0, 1, 2, 3]
    with pytest.raises(RuntimeError, match="require grad"):
        sg.zeros(2, requires_grad=True).resize_(3)
    y = sg.zeros(2)
    src = sg.tensor([7.0, 8.0, 9.0])
    y.set_(src)
    assert y.tolist() == [7.0, 8.0, 9.0] and y.data_ptr() == src.data_ptr()
    assert y.set_().numel() == 0
    t = sg.tensor([1, 2], dtype=sg.int32)
    assert t.new(2, 3).shape == (2, 3) and t.new(2, 3).dtype == sg.int32
    assert t.new([5, 6]).tolist() == [5, 6] and t.new().numel() == 0
    assert t.new_empty_strided((2, 2), (2, 1)).shape == (2, 2)


def test_apply_and_map_run_python_callables() -> None:
    x = sg.tensor([1.0, 2.0, 3.0])
    assert x.apply_(lambda v: v * 10).tolist() == [10.0, 20.0, 30.0]
    assert x.map_(sg.tensor([1.0, 0.0, 2.0]), lambda a, b: a + b).tolist() == [11, 20, 32]
    with pytest.raises(RuntimeError, match="leaf"):
        sg.ones(2, requires_grad=True).apply_(abs)


def test_storage_sharing_helpers_and_casts() -> None:
    x = sg.randn(3)
    assert x.share_memory_() is x and not x.is_shared()
    if not sg.accelerator.is_available():  # PyTorch refuses to pin without an accelerator
        with pytest.raises(RuntimeError, match="accelerator"):
            x.pin_memory()
    assert not x.is_pinned() and x.get_device() == -1 and x.dim_order() == (0,)
    assert x.byte().dtype == sg.uint8 and x.char().dtype == sg.int8
    assert x.short().dtype == sg.int16
    assert not (x.is_sparse or x.is_quantized or x.is_meta or x.is_complex())
    assert x.is_signed() and not sg.tensor([1], dtype=sg.uint8).is_signed()
    assert not x.is_inference() and x.names == (None,)
    m = sg.randn(2, 3, 4)
    assert m.mH.shape == (2, 4, 3) and sg.randn(2, 3).H.shape == (3, 2)
    assert x.conj() is x and x.real is x and sg.real(x) is x and x.resolve_conj() is x
    with pytest.raises(RuntimeError, match="non-complex"):
        _ = x.imag


def test_python_protocols() -> None:
    x = sg.tensor([[1.0, 2.5], [3.0, 4.0]])
    assert 2.5 in x and 7 not in x and sg.tensor([3.0, 4.0]) in x
    with pytest.raises(RuntimeError, match="__contains__"):
        "a" in x  # noqa: B015
    assert complex(sg.tensor(2.0)) == 2 + 0j
    assert [r.tolist() for r in reversed(x)] == [[3.0, 4.0], [1.0, 2.5]]
    assert round(sg.tensor([1.26, 2.5])).tolist() == [1.0, 2.0]
    assert round(sg.tensor([1.26]), 1).tolist() == pytest.approx([1.3])


def test_deepcopy_keeps_requires_grad_class_and_grad_and_refuses_non_leaves() -> None:
    p = sg.nn.Parameter(sg.randn(2, 3))
    p.grad = sg.ones(2, 3)
    q = copy.deepcopy(p)
    assert type(q) is sg.nn.Parameter and q.requires_grad and q is not p
    assert q.data_ptr() != p.data_ptr() and np.array_equal(q.detach().numpy(),
                                                            p.detach().numpy())
    assert q.grad.tolist() == p.grad.tolist() and q.grad is not p.grad
    b = sg.nn.Buffer(sg.zeros(2), persistent=False)
    assert copy.deepcopy(b).persistent is False
    shared = {"a": p, "b": p}
    twin = copy.deepcopy(shared)
    assert twin["a"] is twin["b"]
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(p * 2)
    assert copy.deepcopy((p * 2).detach()).requires_grad is False


def test_type_accepts_legacy_tensor_type_names() -> None:
    x = sg.randn(2)
    assert x.type("torch.DoubleTensor").dtype == sg.float64
    assert x.type("torch.LongTensor").dtype == sg.int64
    assert x.type("softgrad.ByteTensor").dtype == sg.uint8
    assert x.type(sg.float16).dtype == sg.float16
    with pytest.raises(ValueError, match="invalid type"):
        x.type("torch.FooTensor")
