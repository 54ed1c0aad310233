"""Fast paths give the plain path's results; malloc opt-out; float32 stays float32; graph freed.

The fast paths compared here are the multi-threaded optimizer update (parameters split
across threads) and the optional numba-fused Adam kernel: both must be bit-for-bit equal
to the single-threaded NumPy update (same float operations per element).
"""
from __future__ import annotations

import gc
import os
import subprocess
import sys
import weakref

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn as nn
import softgrad.nn.functional as F
from softgrad import backend
from softgrad.engine import backward as engine
from softgrad.optim import _fused, _parallel

SHAPES = [(300, 700), (700,), (5, 3, 4), (1,)]  # one big enough to be split across threads


def _adam_run(monkeypatch, threads: int, fused: bool, dtype=np.float32, steps: int = 3,
              opt_cls=None, **kw) -> list[np.ndarray]:
    monkeypatch.setitem(backend._threads, "n", threads)
    monkeypatch.setenv("SOFTGRAD_NUMBA", "1" if fused else "0")
    rng = np.random.default_rng(0)
    ps = [sg.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in SHAPES]
    opt = (opt_cls or sg.optim.Adam)(ps, lr=1e-2, **kw)
    for _ in range(steps):
        for p in ps:
            p.grad = sg.tensor(rng.standard_normal(p.shape).astype(dtype))
        opt.step()
    out = [p._data.copy() for p in ps]
    for p in ps:
        out += [v._data.copy() for k, v in sorted(opt.state[p].items()) if k != "step"]
    return out


ADAM_VARIANTS = [{}, {"amsgrad": True}, {"weight_decay": 0.1}, {"maximize": True},
                 {"weight_decay": 0.1, "decoupled_weight_decay": True},
                 {"weight_decay": 0.05, "maximize": True, "amsgrad": True}]


@pytest.mark.parametrize("kw", ADAM_VARIANTS)
def test_adam_threaded_update_is_bitwise_identical(monkeypatch, kw) -> None:
    plain = _adam_run(monkeypatch, 1, False, **kw)
    threaded = _adam_run(monkeypatch, 3, False, **kw)
    assert all(np.array_equal(a, b) for a, b in zip(plain, threaded))
    assert plain[0].dtype == np.float32


SGD_VARIANTS = [{}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True},
                {"momentum": 0.5, "dampening": 0.3, "weight_decay": 0.1},
                {"momentum": 0.9, "maximize": True, "weight_decay": 0.01}]


@pytest.mark.parametrize("kw", SGD_VARIANTS)
def test_sgd_threaded_update_is_bitwise_identical(monkeypatch, kw) -> None:
    plain = _adam_run(monkeypatch, 1, False, opt_cls=sg.optim.SGD, **kw)
    threaded = _adam_run(monkeypatch, 3, False, opt_cls=sg.optim.SGD, **kw)
    assert len(plain) == len(SHAPES) * (2 if kw.get("momentum") else 1)
    for a, b in zip(plain, threaded):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", ADAM_VARIANTS)
def test_adam_fused_kernel_is_bitwise_identical(monkeypatch, kw, dtype) -> None:
    pytest.importorskip("numba")  # the fused path is optional; without numba it is never used
    monkeypatch.setenv("SOFTGRAD_NUMBA", "1")
    assert _fused.adam_kernel() is not None
    plain = _adam_run(monkeypatch, 1, False, dtype, **kw)
    fused = _adam_run(monkeypatch, 2, True, dtype, **kw)
    for a, b in zip(plain, fused):
        np.testing.assert_array_equal(a, b)


def test_fused_switch_off(monkeypatch) -> None:
    monkeypatch.setenv("SOFTGRAD_NUMBA", "0")
    assert _fused.adam_kernel() is None


def test_non_contiguous_parameter_takes_plain_path(monkeypatch) -> None:
    base = np.arange(400 * 300, dtype=np.float32).reshape(400, 300) / 1e4
    results = []
    for fused in (False, True):
        monkeypatch.setenv("SOFTGRAD_NUMBA", "1" if fused else "0")
        monkeypatch.setitem(backend._threads, "n", 2)
        p = sg.tensor(base.copy(), requires_grad=True)
        p._data = p._data.T  # a non-contiguous view must still be updated in place
        p.grad = sg.tensor(np.ones(p.shape, np.float32))
        sg.optim.Adam([p], lr=0.1).step()
        results.append(p._data.copy())
        assert not np.array_equal(p._data, base.T)
    np.testing.assert_array_equal(*results)


def test_run_kernel_split_covers_every_element() -> None:
    def kernel(a, b, s, k):
        np.multiply(b, k, out=s)
        a += s

    a, b = np.zeros(2 * _parallel.MIN_SPLIT + 7, np.float32), np.arange(
        2 * _parallel.MIN_SPLIT + 7, dtype=np.float32)
    bufs: dict = {}

    def scratch(like, slot, thread):
        buf = bufs.setdefault((slot, thread), np.empty(like.size * 2, like.dtype))
        return buf[: like.size].reshape(like.shape)

    _parallel.run_kernel(kernel, [((a, b), (2.0,))], scratch, 1, threads=3)
    np.testing.assert_array_equal(a, b * 2)
    assert {t for _, t in bufs} == {0, 1, 2}  # the parameter was split over three threads


def test_sgd_and_adam_state_match_torch_formula_single_step() -> None:
    p = sg.tensor(np.array([1.0, -2.0], np.float32), requires_grad=True)
    p.grad = sg.tensor(np.array([0.5, 0.25], np.float32))
    sg.optim.Adam([p], lr=0.1).step()  # first Adam step moves each weight by lr * sign(g)
    np.testing.assert_allclose(p._data, [0.9, -2.1], rtol=1e-6)


# ---------------------------------------------------------------- threads
def test_set_num_threads_round_trip() -> None:
    old = sg.get_num_threads()
    try:
        sg.set_num_threads(1)
        assert sg.get_num_threads() == 1
        if backend.blas_threads_settable():
            assert backend._blas_thread_funcs()[1]() == 1
    finally:
        sg.set_num_threads(old)
    assert sg.get_num_threads() == old
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="positive int"):
            sg.set_num_threads(bad)


# ---------------------------------------------------------------- malloc
def test_malloc_tuning_and_opt_out() -> None:
    code = "import softgrad.backend as b; print(b.malloc_tuned)"
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(sg.__file__)))
    env.pop("SOFTGRAD_MALLOC", None)
    tuned = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, timeout=60).stdout.strip()
    env["SOFTGRAD_MALLOC"] = "default"
    default = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, timeout=60).stdout.strip()
    assert default == "False"
    try:
        glibc = sys.platform.startswith("linux") and bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError):
        glibc = False
    assert tuned == ("True" if glibc else "False")
    assert backend.tune_malloc({"SOFTGRAD_MALLOC": "default"}) is False


# ---------------------------------------------------------------- float32 and graph freeing
class _MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(12, 16), nn.Linear(16, 16), nn.Linear(16, 3)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        return self.fc3(F.relu(self.fc2(h)) + h)


def _batch():
    rng = np.random.default_rng(0)
    return (sg.from_numpy(rng.standard_normal((8, 12)).astype(np.float32)),
            sg.from_numpy(rng.integers(0, 3, 8)))


def test_mlp_step_never_promotes_to_float64() -> None:
    sg.manual_seed(0)
    model, (x, y) = _MLP(), _batch()
    opt = sg.optim.Adam(model.parameters(), lr=1e-3)
    out = model(x)
    loss = F.cross_entropy(out, y)
    seen = []
    for node in engine.toposort([loss]):
        seen.append(node._data.dtype)
        ctx = node._ctx
        if ctx is not None:  # record the dtype of every gradient backward produces
            orig = ctx.backward

            def spy(g, orig=orig):
                res = orig(g)
                res_t = res if isinstance(res, tuple) else (res,)
                seen.extend(np.asarray(r).dtype for r in res_t if r is not None)
                return res

            ctx.backward = spy
    loss.backward()
    opt.step()
    floats = [d for d in seen if d.kind == "f"]
    assert floats and all(d == np.float32 for d in floats), set(floats)
    for p in model.parameters():
        assert p._data.dtype == np.float32 and p.grad._data.dtype == np.float32
        assert all(v._data.dtype == np.float32 for k, v in opt.state[p].items() if k != "step")


def test_graph_is_freed_right_after_backward() -> None:
    sg.manual_seed(0)
    model, (x, y) = _MLP(), _batch()
    gc.disable()  # freeing must not depend on the cycle collector
    try:
        out = model(x)
        loss = F.cross_entropy(out, y)
        nodes = [n for n in engine.toposort([loss]) if n._ctx is not None]
        refs = [weakref.ref(n) for n in nodes]
        fn_refs = [weakref.ref(n._ctx) for n in nodes]
        del nodes
        loss.backward()
        # saved activations are released even while the output is still referenced
        # (nodes whose output is no longer referenced may already be gone entirely)
        live = [f for f in (r() for r in fn_refs) if f is not None]
        # (what forward kept in a node's __dict__ is gone; only the freed mark is left)
        assert all(f._freed and f._saved == () and f.__dict__ == {"_freed": True}
                   for f in live)
        del live
        del out, loss
        assert all(r() is None for r in refs)
        assert all(r() is None for r in fn_refs)
    finally:
        gc.enable()


def test_half_precision_parameter_takes_plain_path(monkeypatch) -> None:
    results = []
    for fused in ("0", "1"):
        monkeypatch.setenv("SOFTGRAD_NUMBA", fused)
        p = sg.tensor(np.linspace(-1, 1, 12, dtype=np.float16), requires_grad=True)
        p.grad = sg.tensor(np.full(12, 0.5, np.float16))
        sg.optim.Adam([p], lr=0.01).step()
        assert p._data.dtype == np.float16
        results.append(p._data.copy())
    np.testing.assert_array_equal(*results)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_threaded_update_works_in_a_forked_child(monkeypatch) -> None:
    monkeypatch.setitem(backend._threads, "n", 2)
    monkeypatch.setenv("SOFTGRAD_NUMBA", "0")
    p = sg.tensor(np.ones(4 * _parallel.MIN_SPLIT, np.float32), requires_grad=True)
    opt = sg.optim.Adam([p], lr=0.1)
    p.grad = sg.tensor(np.ones(p.shape, np.float32))
    opt.step()  # the parent's pool now exists
    pid = os.fork()
    if pid == 0:  # child: the inherited pool has no threads; a step must not hang
        try:
            opt.step()
            os._exit(0 if np.allclose(p._data, 0.8, atol=1e-3) else 1)
        finally:
            os._exit(2)
    import time

    deadline = time.monotonic() + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("optimizer step hung in a forked child")
        time.sleep(0.05)
    assert os.WEXITSTATUS(status) == 0
