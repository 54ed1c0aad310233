"""Places where softgrad once differed from PyTorch's documented behaviour."""
from __future__ import annotations

import itertools
import subprocess
import sys
import time

import numpy as np
import pytest

import softgrad as sg
from softgrad.utils.data import DataLoader, RandomSampler, TensorDataset


def test_legacy_tensor_constructor_is_float32() -> None:
    assert sg.Tensor([1, 2]).dtype == sg.float32 and sg.Tensor([1, 2]).tolist() == [1.0, 2.0]
    assert sg.Tensor(np.arange(3)).dtype == sg.float32
    assert sg.Tensor(2, 3).shape == (2, 3) and sg.Tensor(2, 3).dtype == sg.float32
    assert sg.Tensor(sg.Size([4])).shape == (4,) and sg.Tensor().shape == (0,)
    assert sg.Tensor((2, 3)).tolist() == [2.0, 3.0]  # a tuple is data, as in PyTorch
    with pytest.raises(RuntimeError, match="negative dimension"):
        sg.Tensor(2, -1)


def test_legacy_constructor_matches_torch(torch_float32) -> None:
    torch = pytest.importorskip("torch")
    for args in (([1, 2],), ((2, 3),), (2, 3), ([[1.5, 2], [3, 4]],)):
        a, b = sg.Tensor(*args), torch.Tensor(*args)
        assert tuple(a.shape) == tuple(b.shape) and str(a.dtype)[9:] == str(b.dtype)[6:]


@pytest.mark.parametrize("make", [lambda x: x.repeat(2, 1), lambda x: x.tile(2, 1),
                                  lambda x: x.repeat(1, 1), lambda x: x.tile(1)])
def test_repeat_and_tile_give_fresh_writable_memory(make) -> None:
    x = sg.ones(1, 3)
    y = make(x)
    y[0, 0] = 7.0
    assert x.tolist() == [[1.0, 1.0, 1.0]] and y[0, 0].item() == 7.0
    y.add_(1)
    assert y[-1, -1].item() == 2.0


def test_repeat_gradient_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal((2, 3))
    w = np.random.default_rng(1).standard_normal((4, 6, 3))
    grads = []
    for lib in (sg, torch):
        x = lib.tensor(a, requires_grad=True)
        (x.repeat(4, 3, 1) * lib.tensor(w)).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


@pytest.mark.parametrize("write", [lambda e: e.add_(1), lambda e: e.mul_(2),
                                   lambda e: e.__setitem__((0, 0), 5.0), lambda e: e.fill_(2),
                                   lambda e: e.zero_(), lambda e: e.clamp_(0, 1),
                                   lambda e: e.normal_(), lambda e: e.copy_(sg.zeros(3, 4))])
def test_in_place_write_into_an_expanded_tensor_fails_like_torch(write) -> None:
    e = sg.ones(3, 1).expand(3, 4)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor "
                                           "refers to a single memory location"):
        write(e)


def test_no_grad_bare_decorator_and_generators() -> None:
    @sg.no_grad
    def double(a):
        return a * 2

    @sg.no_grad()
    def steps(a):
        assert not sg.is_grad_enabled()
        got = yield a * 2
        assert not sg.is_grad_enabled() and got == "sent"
        yield a * 3

    @sg.enable_grad
    def recorded(a):
        return a * 2

    x = sg.ones(2, requires_grad=True)
    assert not double(x).requires_grad and double.__name__ == "double"
    gen = steps(x)
    first = next(gen)
    assert sg.is_grad_enabled()  # the caller's mode between steps
    second = gen.send("sent")
    assert not first.requires_grad and not second.requires_grad
    with sg.no_grad():
        assert recorded(x).requires_grad
    assert not sg.inference_mode(lambda a: a * 2)(x).requires_grad


_SILENT_SCRIPT = """
import numpy as np
import softgrad as sg
import softgrad.nn.functional as F
assert sg.log(sg.tensor([0.0, 1.0])).tolist()[0] == -np.inf
x = sg.tensor([0.0, 1.0], requires_grad=True)
sg.log(x).sum().backward()
assert x.grad.tolist()[0] == np.inf
assert F.binary_cross_entropy(sg.tensor([0.0, 1.0]), sg.tensor([1.0, 0.0])).item() == 100
assert F.binary_cross_entropy(sg.tensor([0.0, 1.0]), sg.tensor([0.0, 1.0])).item() == 0
assert np.isnan(sg.tensor([-1.0]).sqrt().item()) and np.isnan((sg.tensor([0.0]) / 0).item())
assert sg.exp(sg.tensor([1000.0])).item() == np.inf
print("done")
"""


def test_no_numpy_warnings_for_values_torch_computes_silently() -> None:
    """A script computing log(0), 0/0, BCE at 0 and 1 prints nothing but its own output
    (checked in a fresh interpreter: the test runner installs warning filters of its own)."""
    out = subprocess.run([sys.executable, "-c", _SILENT_SCRIPT], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "done\n" and out.stderr == ""
    loud = subprocess.run([sys.executable, "-c", "import softgrad, numpy as np; "
                           "np.log(np.zeros(1))"], capture_output=True, text=True, timeout=120)
    assert "divide by zero" in loud.stderr  # NumPy's own warnings are left alone


def test_random_sampler_with_replacement_draws_lazily() -> None:
    ds = TensorDataset(sg.arange(10.0))
    sampler = RandomSampler(ds, replacement=True, num_samples=10**10)
    start = time.perf_counter()
    first = list(itertools.islice(iter(sampler), 1000))
    batch = next(iter(DataLoader(ds, batch_size=4, sampler=sampler)))
    assert time.perf_counter() - start < 5
    assert len(sampler) == 10**10 and all(0 <= i < 10 for i in first)
    assert batch[0].shape == (4,)


def test_random_sampler_is_reproducible_and_covers_without_replacement() -> None:
    ds = TensorDataset(sg.arange(10.0))
    sg.manual_seed(3)
    a = list(RandomSampler(ds, num_samples=25))
    sg.manual_seed(3)
    b = list(RandomSampler(ds, num_samples=25))
    assert a == b and len(a) == 25 and sorted(a[:10]) == list(range(10))
    sg.manual_seed(3)
    batches = [x.tolist() for (x,) in DataLoader(ds, batch_size=5,
                                                  sampler=RandomSampler(ds, num_samples=25))]
    assert [int(v) for bt in batches for v in bt] == a  # batched path draws the same


def test_dropout2d_on_2d_input_is_elementwise_with_a_warning() -> None:
    import softgrad.nn.functional as F

    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        out = F.dropout2d(sg.ones(50, 40), 0.5)
    kept = out.numpy() != 0
    assert set(np.unique(out.numpy())) <= {0.0, 2.0}
    assert 0 < kept.sum(axis=1).min() and kept.sum(axis=1).max() < 40  # not whole rows


def test_legacy_tensor_types(torch_float32) -> None:
    torch = pytest.importorskip("torch")
    for name in ("FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor",
                 "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"):
        ours, theirs = getattr(sg, name)([1, 0, 2]), getattr(torch, name)([1, 0, 2])
        assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
        assert ours.tolist() == theirs.tolist()
        assert isinstance(ours, getattr(sg, name)) and isinstance(ours, sg.Tensor)
    assert sg.FloatTensor(2, 3).shape == (2, 3) and sg.LongTensor().shape == (0,)
    x = sg.ones(2)
    assert isinstance(x, sg.FloatTensor) and not isinstance(x, sg.LongTensor)
    assert x.type() == "softgrad.FloatTensor" and torch.ones(2).type() == "torch.FloatTensor"
    assert x.type(sg.LongTensor).dtype == sg.int64
    assert x.type("torch.DoubleTensor").dtype == sg.float64
    assert x.type(sg.float16).dtype == sg.float16
    with pytest.raises(ValueError, match="invalid type"):
        x.type("torch.NopeTensor")


def test_math_constants() -> None:
    torch = pytest.importorskip("torch")
    for name in ("inf", "nan", "pi", "e"):
        a, b = getattr(sg, name), getattr(torch, name)
        assert (a == b) or (np.isnan(a) and np.isnan(b))
    assert sg.ones(3)[sg.newaxis].shape == (1, 3)


def test_out_arguments_like_torch() -> None:
    torch = pytest.importorskip("torch")
    results = []
    for lib in (sg, torch):
        a = lib.arange(6.0).reshape(2, 3)
        o1, o2, o3 = lib.empty(0), lib.zeros(2, 2), lib.zeros(4, 3)
        lib.matmul(a, a.t(), out=o1)
        same = o2
        lib.mm(a, a.t(), out=o2)
        lib.cat([a, a], 0, out=o3)
        vals, idx = lib.zeros(2), lib.zeros(2, dtype=lib.int64)
        lib.max(a, 1, out=(vals, idx))
        lib.add(a, 1, out=a)
        results.append([o1.numpy().copy(), o2.numpy().copy(), o3.numpy().copy(),
                        vals.numpy().copy(), idx.numpy().copy(), a.numpy().copy(),
                        same is o2])
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)
    w = sg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        sg.mul(w, 2, out=w)


def test_deprecated_number_first_add_overload_matches_torch() -> None:
    import warnings

    torch = pytest.importorskip("torch")
    p, g = sg.ones(3), sg.full((3,), 2.0)
    with pytest.warns(UserWarning, match="This overload of add_ is deprecated"):
        p.add_(-0.5, g)
    with pytest.warns(UserWarning, match="This overload of sub_ is deprecated"):
        p.sub_(0.25, g)
    with pytest.warns(UserWarning, match="This overload of add is deprecated"):
        q = p.add(2, g)
    with warnings.catch_warnings():  # PyTorch warns once per process
        warnings.simplefilter("ignore")
        tp, tg = torch.ones(3), torch.full((3,), 2.0)
        tp.add_(-0.5, tg)
        tp.sub_(0.25, tg)
        tq = tp.add(2, tg)
    assert (p.tolist(), q.tolist()) == (tp.tolist(), tq.tolist())
