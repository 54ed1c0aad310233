"""nn.Module, Parameter and containers: discovery, state_dict, modes, conversion, repr."""
from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import needs_torch, torch

nn = sg.nn


def _nested(lib):
    m = lib.nn
    return m.Sequential(m.Linear(4, 6), m.BatchNorm1d(6), m.Sequential(m.LayerNorm(6),
                                                                         m.Linear(6, 3)),
                        m.Embedding(5, 3, padding_idx=0), m.Flatten())


def _with_buffers(lib):
    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = lib.nn.Parameter(lib.ones(3))
            self.register_buffer("mask", lib.zeros(3))
            self.register_buffer("cache", lib.zeros(2), persistent=False)
            self.head = lib.nn.Linear(3, 2, bias=False)
            self.blocks = lib.nn.ModuleList([lib.nn.Linear(2, 2), lib.nn.LayerNorm(2)])
            self.heads = lib.nn.ModuleDict({"a": lib.nn.Linear(2, 1), "b": lib.nn.Identity()})
            self.extra = lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2))])

        def forward(self, x):
            return x

    return Net()


def test_parameter_is_a_leaf_tensor() -> None:
    p = nn.Parameter(sg.randn(2, 3))
    assert isinstance(p, sg.Tensor) and p.is_leaf and p.requires_grad
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(sg.zeros(2), requires_grad=False).requires_grad
    y = (p * 2).sum()
    assert type(p * 2) is sg.Tensor
    y.backward()
    np.testing.assert_array_equal(p.grad.numpy(), np.full((2, 3), 2.0, np.float32))
    x = sg.ones(2, 3, requires_grad=True)            # a Tensor operand of a Parameter
    (p * x + x).sum().backward()                     # stays in the graph
    np.testing.assert_allclose(x.grad.numpy(), p._data + 1)


def test_parameters_found_by_walking_attributes() -> None:
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(sg.ones(2))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = Block()
            self.layers = [Block(), Block()]        # a plain list of modules is walked too

    net = Net()
    net.a.late = nn.Parameter(sg.zeros(1))        # added to a child after construction
    names = [n for n, _ in net.named_parameters()]
    assert names == ["a.w", "a.late", "layers.0.w", "layers.1.w"]
    assert [n for n, _ in net.named_modules()] == ["", "a", "layers.0", "layers.1"]
    assert len(list(net.children())) == 3


@needs_torch
def test_shared_parameters_deduplicated_like_torch() -> None:
    def tied(lib):
        seq = lib.nn.Sequential(lib.nn.Embedding(5, 4), lib.nn.Linear(4, 5, bias=False))
        seq[1].weight = seq[0].weight
        return seq

    s, t = tied(sg), tied(torch)
    assert [n for n, _ in s.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert list(s.state_dict()) == list(t.state_dict())     # both keys, like torch
    assert len(list(s.parameters())) == 1


@needs_torch
@pytest.mark.parametrize("build", [_nested, _with_buffers])
def test_state_dict_keys_and_repr_equal_torch(build) -> None:
    s, t = build(sg), build(torch)
    assert list(s.state_dict()) == list(t.state_dict())
    assert [n for n, _ in s.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in s.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in s.named_modules()] == [n for n, _ in t.named_modules()]
    for (k, sv), tv in zip(s.state_dict().items(), t.state_dict().values()):
        assert tuple(sv.shape) == tuple(tv.shape), k
    if build is _nested:
        assert repr(s) == repr(t)


@needs_torch
def test_load_torch_state_dict_then_round_trip() -> None:
    t = _nested(torch)
    with torch.no_grad():
        for p in t.parameters():
            p.uniform_(-1, 1)
        t[1].running_mean.uniform_(-1, 1)
        t[1].num_batches_tracked.fill_(7)
    s = _nested(sg)
    result = s.load_state_dict(t.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for (k, sv), tv in zip(s.state_dict().items(), t.state_dict().values()):
        np.testing.assert_allclose(sv.numpy(), tv.numpy(), err_msg=k)
        assert sv.dtype == (sg.int64 if k.endswith("num_batches_tracked") else sg.float32)
    s2 = _nested(sg)
    s2.load_state_dict(s.state_dict())
    for a, b in zip(s.state_dict().values(), s2.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_state_dict_shares_memory_and_is_detached() -> None:
    m = nn.Linear(3, 2)
    sd = m.state_dict()
    assert not sd["weight"].requires_grad
    assert np.shares_memory(sd["weight"]._data, m.weight._data)
    assert isinstance(sd, OrderedDict)
    assert m.state_dict(keep_vars=True)["weight"] is m.weight


def test_load_state_dict_errors_are_clear_and_atomic() -> None:
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    before = m[0].weight._data.copy()
    sd = {k: v.numpy() + 1 for k, v in m.state_dict().items()}
    bad = dict(sd)
    del bad["1.running_var"]
    bad["2.weight"] = np.zeros(3)
    bad["0.bias"] = np.zeros(5)
    with pytest.raises(RuntimeError) as err:
        m.load_state_dict(bad)
    msg = str(err.value)
    assert "Error(s) in loading state_dict for Sequential" in msg
    assert 'Missing key(s) in state_dict: "1.running_var"' in msg
    assert 'Unexpected key(s) in state_dict: "2.weight"' in msg
    assert "size mismatch for 0.bias: copying a param with shape (5,) from checkpoint, the " \
           "shape in current model is (2,)" in msg
    np.testing.assert_array_equal(m[0].weight._data, before)      # nothing was copied
    del bad["0.bias"]
    res = m.load_state_dict(bad, strict=False)
    assert res.missing_keys == ["0.bias", "1.running_var"] and res.unexpected_keys == ["2.weight"]
    np.testing.assert_array_equal(m[0].weight._data, before + 1)
    with pytest.raises(RuntimeError, match="size mismatch"):
        m.load_state_dict({"0.weight": np.zeros((3, 3))}, strict=False)


def test_buffers_persistent_and_not() -> None:
    m = _with_buffers(sg)
    assert [n for n, _ in m.named_buffers()] == ["mask", "cache"]
    assert "cache" not in m.state_dict() and "mask" in m.state_dict()
    m.mask = sg.ones(3)                              # reassigning keeps it a buffer
    assert m.state_dict()["mask"].numpy().sum() == 3
    m.register_buffer("nothing", None)
    assert "nothing" not in m.state_dict()
    with pytest.raises(TypeError, match="cannot assign 'list' object to buffer 'bad'"):
        m.register_buffer("bad", [1, 2])
    with pytest.raises(KeyError, match="attribute 'scale' already exists"):
        m.register_buffer("scale", sg.zeros(1))
    with pytest.raises(KeyError, match="empty or contain"):
        m.register_buffer("a.b", sg.zeros(1))
    with pytest.raises(TypeError, match="Parameter or None required"):
        m.register_parameter("p", sg.zeros(1))


def test_train_eval_is_recursive_and_independent_of_grad_mode() -> None:
    m = _nested(sg)
    assert all(x.training for x in m.modules())
    assert m.eval() is m and not any(x.training for x in m.modules())
    x = nn.Parameter(sg.ones(2))
    assert (x * 2).requires_grad                 # eval() does not switch off recording
    m.train()
    assert all(x.training for x in m.modules())
    with pytest.raises(ValueError, match="boolean"):
        m.train("yes")


def test_zero_grad_apply_requires_grad() -> None:
    m = _with_buffers(sg)
    for p in m.parameters():
        p.grad = sg.ones(*p.shape)
    m.zero_grad(set_to_none=False)
    assert all((p.grad.numpy() == 0).all() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen[-1] == "Net" and "LayerNorm" in seen
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_to_dtype_converts_floats_in_place() -> None:
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    w = m[0].weight
    w.grad = sg.ones(2, 3)
    assert m.double() is m
    assert m[0].weight is w and w.dtype == sg.float64 and w.grad.dtype == sg.float64
    assert m[1].running_mean.dtype == sg.float64
    assert m[1].num_batches_tracked.dtype == sg.int64
    m.to(dtype=sg.float32)
    assert w.dtype == sg.float32
    m.to("cpu")
    with pytest.raises(TypeError, match="floating point"):
        m.to(sg.int32)


def test_sequential_container_api() -> None:
    a, b, c = nn.Identity(), nn.Flatten(), nn.Identity()
    seq = nn.Sequential(a, b)
    assert len(seq) == 2 and seq[0] is a and seq[-1] is b
    assert isinstance(seq[1:], nn.Sequential) and seq[1:][0] is b
    seq.append(c)
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2"]
    del seq[0]
    assert [n for n, _ in seq.named_children()] == ["0", "1"] and seq[0] is b
    seq.insert(0, a)
    assert list(seq) == [a, b, c]
    named = nn.Sequential(OrderedDict([("first", a), ("second", b)]))
    assert named.first is a and [n for n, _ in named.named_children()] == ["first", "second"]
    assert named(sg.ones(2, 3, 4)).shape == (2, 12)
    with pytest.raises(IndexError, match="out of range"):
        seq[5]
    with pytest.raises(TypeError, match="is not a Module subclass"):
        nn.Sequential(a, 3)


def test_module_list_dict_and_parameter_containers() -> None:
    ml = nn.ModuleList([nn.Identity()])
    ml.append(nn.Flatten())
    ml += [nn.Identity()]
    assert len(ml) == 3 and isinstance(ml[1], nn.Flatten) and len(ml[1:]) == 2
    md = nn.ModuleDict({"x": nn.Identity()})
    md["y"] = nn.Flatten()
    assert list(md.keys()) == ["x", "y"] and "y" in md and isinstance(md["y"], nn.Flatten)
    pl = nn.ParameterList([sg.ones(2), nn.Parameter(sg.zeros(3))])
    assert all(isinstance(p, nn.Parameter) for p in pl)
    pd = nn.ParameterDict({"a": sg.ones(1)})
    assert [n for n, _ in pd.named_parameters()] == ["a"]
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"]


def test_forward_hooks_and_missing_forward() -> None:
    m = nn.Identity()
    handle = m.register_forward_hook(lambda mod, args, out: out * 3)
    pre = m.register_forward_pre_hook(lambda mod, args: (args[0] + 1,))
    assert m(sg.ones(2)).numpy().tolist() == [6.0, 6.0]
    handle.remove()
    pre.remove()
    assert m(sg.ones(2)).numpy().tolist() == [1.0, 1.0]

    class NoForward(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        NoForward()(1)


def test_deepcopy_get_submodule_and_extra_repr() -> None:
    m = _nested(sg)
    c = copy.deepcopy(m)
    c[0].weight._data[...] = 0
    assert m[0].weight._data.any()
    assert isinstance(c[0].weight, nn.Parameter)
    assert m.get_submodule("2.1") is m[2][1]
    assert m.get_parameter("2.1.bias") is m[2][1].bias
    with pytest.raises(AttributeError, match="no submodule"):
        m.get_submodule("9")
    assert repr(nn.Unflatten(1, (2, 5))) == "Unflatten(dim=1, unflattened_size=(2, 5))"
