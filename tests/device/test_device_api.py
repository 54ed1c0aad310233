"""Device plumbing PyTorch programs call: ``device``, ``cuda``, ``accelerator``, ``backends``,
``amp`` (``autocast``, ``GradScaler``), ``compile``, the default device, determinism flags.

On a CPU-only machine every answer is compared with PyTorch's own on the same machine; the
CUDA answers run against tests/helpers/fake_cuda.py (a NumPy stand-in for CuPy) and, where there
is one, a real GPU.
"""
from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn as nn
from softgrad import backend

from tests.helpers import fake_cuda
from tests.helpers.checks import needs_torch, torch

cpu_only = pytest.mark.no_gpu  # the CPU answers: skipped where a GPU is present


@pytest.fixture
def fake_gpu():
    """CUDA backed by the NumPy stand-in (current device 0, one GPU)."""
    fake_cuda.install()
    try:
        yield backend._cupy
    finally:
        fake_cuda.uninstall()
        sg.set_default_device(None)


# ---------------------------------------------------------------------- device objects
SPECS = [("cpu",), ("cuda",), ("cuda:0",), ("cuda:1",), ("cuda", 0), ("cuda", 3), ("cpu", 0),
         ("mps",), ("xpu:1",), ("meta",)]
BAD_SPECS = [("foo",), ("cuda:x",), ("cuda:-1",), ("cuda", -1), ("cuda:0", 1), ("CPU",),
             (" cpu",), ("cuda:01",)]


@needs_torch
@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_device_reads_like_torch(spec: tuple) -> None:
    d, t = sg.device(*spec), torch.device(*spec)
    assert (str(d), repr(d), d.type, d.index) == (str(t), repr(t), t.type, t.index)
    assert sg.device(d) is d and sg.device(str(d)) == d


@needs_torch
@pytest.mark.parametrize("spec", BAD_SPECS, ids=str)
def test_bad_device_is_the_same_error_as_torch(spec: tuple) -> None:
    with pytest.raises(RuntimeError) as theirs:
        torch.device(*spec)
    with pytest.raises(RuntimeError) as ours:
        sg.device(*spec)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError, match="device name"):
        sg.device(1.5)


@cpu_only
@needs_torch
def test_bare_ordinal_needs_an_accelerator() -> None:
    with pytest.raises(RuntimeError) as theirs:
        torch.device(0)
    with pytest.raises(RuntimeError) as ours:
        sg.device(0)
    assert str(ours.value) == str(theirs.value)


def test_device_equality_hash_and_pickle() -> None:
    cpu, cuda0 = sg.device("cpu"), sg.device("cuda", 0)
    assert cpu == "cpu" and "cpu" == cpu and cpu == sg.device("cpu") and (cpu != "cpu") is False
    assert cpu != "cuda" and cpu != cuda0 and cpu != 3 and (cpu != sg.device("cpu:0")) is False
    assert cuda0 == "cuda" and cuda0 == "cuda:0" and cuda0 != "cuda:1"
    assert cuda0 != sg.device("cuda:1") and sg.device("cuda") == sg.device("cuda:1")
    assert isinstance(cpu, sg.device) and isinstance(cpu, str)
    table = {cpu: "host", cuda0: "gpu"}
    assert table[sg.device("cpu")] == "host" and table["cpu"] == "host"
    assert table[sg.device("cuda", 0)] == "gpu" and {cpu, sg.device("cpu")} == {cpu}
    for d in (cpu, cuda0, sg.device("xpu:2")):
        for back in (pickle.loads(pickle.dumps(d)), copy.deepcopy(d), copy.copy(d)):
            assert type(back) is sg.device and repr(back) == repr(d)
    assert f"{cuda0}" == "cuda:0" and type(str(cuda0)) is str


@needs_torch
def test_tensor_device_attributes_match_torch() -> None:
    x, tx = sg.zeros(2), torch.zeros(2)
    assert isinstance(x.device, sg.device) and x.device == "cpu" and x.device == sg.device("cpu")
    assert repr(x.device) == repr(tx.device) and str(x.device) == str(tx.device)
    assert (x.device.type, x.device.index, x.get_device()) == (
        tx.device.type, tx.device.index, tx.get_device())
    for flag in ("is_cuda", "is_cpu", "is_xpu", "is_mps", "is_meta"):
        assert getattr(x, flag) is getattr(tx, flag), flag
    assert nn.Parameter(sg.zeros(1)).is_cpu and not nn.Parameter(sg.zeros(1)).is_cuda


def test_device_objects_work_where_names_do() -> None:
    dev = sg.device("cpu")
    x = sg.randn(3, requires_grad=True)
    for made in (sg.zeros(3, device=dev), sg.ones(2, device=dev), sg.randn(2, device=dev),
                 sg.tensor([1.0], device=dev), sg.arange(3, device=dev),
                 sg.zeros_like(x, device=dev), x.new_zeros(2, device=dev)):
        assert made.device == dev and isinstance(made._data, np.ndarray)
    assert x.to(dev) is x and x.to(dev, non_blocking=True) is x and x.cpu() is x
    assert x.to("cpu:0") is x and x.to(sg.device("cpu", 0)) is x
    y = x.to(dev, sg.float64)
    assert y.dtype == sg.float64 and y.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]
    model = nn.Linear(3, 2, device=dev)
    assert model.to(dev) is model and model.to(dev, non_blocking=True) is model
    assert model.weight.device == dev and model(sg.zeros(1, 3, device=dev)).device == "cpu"


@cpu_only
def test_unsupported_devices_are_clear_errors() -> None:
    x = sg.ones(2)
    with pytest.raises(ValueError, match="unknown device 'mps'.*'cpu' and 'cuda'"):
        x.to("mps")
    with pytest.raises(ValueError, match="unknown device 'xpu:0'"):
        nn.Linear(2, 2).to("xpu:0")
    with pytest.raises(ValueError, match="unknown device 'meta'"):
        sg.zeros(2, device=sg.device("meta"))
    with pytest.raises(RuntimeError, match="CuPy"):
        x.to(sg.device("cuda", 0))
    with pytest.raises(RuntimeError, match="CuPy"):
        x.cuda(non_blocking=True)


# ---------------------------------------------------------------------- default device
@needs_torch
def test_default_device_is_the_cpu_like_torch() -> None:
    assert repr(sg.get_default_device()) == repr(torch.get_default_device())
    sg.set_default_device("cpu")
    assert sg.get_default_device() == "cpu" and sg.zeros(1).device == "cpu"
    sg.set_default_device(None)
    assert sg.get_default_device() == sg.device("cpu")


@cpu_only
def test_default_device_cuda_without_gpu_is_refused() -> None:
    with pytest.raises(RuntimeError, match="CuPy"):
        sg.set_default_device("cuda")
    assert sg.get_default_device() == "cpu" and sg.zeros(2).is_cpu


@needs_torch
def test_device_as_context_manager(fake_gpu) -> None:
    with torch.device("cpu") as t, sg.device("cpu") as d:
        assert repr(d) == repr(t) and sg.zeros(1).is_cpu
    with sg.device("cuda"):
        assert sg.zeros(2).is_cuda and nn.Linear(2, 2).weight.is_cuda
        with sg.device("cpu"):
            assert sg.zeros(2).is_cpu
        assert sg.ones(1).is_cuda
    assert sg.zeros(2).is_cpu and sg.get_default_device() == "cpu"
    assert sg.is_autocast_enabled() is False and sg.amp.is_autocast_enabled("cpu") is False


def test_default_device_places_factories_and_layers(fake_gpu) -> None:
    sg.set_default_device("cuda")
    assert repr(sg.get_default_device()) == "device(type='cuda')"
    made = [sg.zeros(2), sg.randn(2, 2), sg.tensor([1.0, 2.0]), sg.arange(3), sg.full((2,), 1.0),
            nn.Linear(3, 2).weight, nn.BatchNorm1d(3).running_mean]
    assert all(t.is_cuda and isinstance(t._data, fake_gpu.ndarray) for t in made)
    assert sg.zeros(2, device="cpu").is_cpu  # an explicit device wins
    out = nn.Linear(3, 2)(sg.ones(4, 3))
    assert out.is_cuda and out.shape == (4, 2)
    sg.set_default_device(None)
    assert sg.zeros(2).is_cpu and nn.Linear(2, 2).weight.is_cpu


# ---------------------------------------------------------------------- torch.cuda
@cpu_only
@needs_torch
def test_cuda_queries_answer_like_torch_without_gpu() -> None:
    for name in ("is_available", "device_count", "memory_allocated", "max_memory_allocated",
                 "memory_reserved", "is_bf16_supported", "is_initialized"):
        assert getattr(sg.cuda, name)() == getattr(torch.cuda, name)(), name
    for name in ("empty_cache", "manual_seed_all", "init"):
        args = (1,) if "seed" in name else ()
        assert getattr(sg.cuda, name)(*args) is None
    sg.cuda.synchronize()  # nothing queued: returns at once
    for name in ("current_device", "get_device_name", "get_device_capability",
                 "get_device_properties"):
        with pytest.raises(RuntimeError, match=f"{name}.*needs a CUDA GPU"):
            getattr(sg.cuda, name)()
    with pytest.raises(RuntimeError, match="set_device"):
        sg.cuda.set_device(0)
    sg.cuda.set_device(-1)  # PyTorch's "no device": ignored


@cpu_only
@needs_torch
def test_cuda_manual_seed_leaves_cpu_stream_alone_like_torch() -> None:
    def draws(lib, reseed_cuda: bool):
        lib.manual_seed(0)
        a = lib.rand(3).tolist()
        if reseed_cuda:
            lib.cuda.manual_seed(123)
            lib.cuda.manual_seed_all(7)
        return a + lib.rand(3).tolist()

    assert draws(sg, True) == draws(sg, False)
    assert draws(torch, True) == draws(torch, False)


def test_cuda_with_gpu(fake_gpu) -> None:
    cuda = sg.cuda
    assert cuda.is_available() and cuda.device_count() == 1 and cuda.current_device() == 0
    assert cuda.is_initialized() and not cuda.is_bf16_supported()
    assert cuda.get_device_name() == cuda.get_device_name(0) == "Fake CUDA Device"
    assert cuda.get_device_capability("cuda:0") == (8, 6)
    props = cuda.get_device_properties(sg.device("cuda", 0))
    assert props.total_memory == 16 * 2**30 and props.multi_processor_count == 4
    with pytest.raises(RuntimeError, match="CUDA device 1 requested but 1 device"):
        cuda.get_device_name(1)
    with pytest.raises(ValueError, match="Expected a cuda device"):
        cuda.get_device_name("cpu")
    before = fake_cuda._Device.synchronized
    cuda.synchronize()
    cuda.synchronize(0)
    assert fake_cuda._Device.synchronized == before + 2
    cuda.set_device(0)
    cuda.set_device("cuda:0")
    with pytest.raises(RuntimeError, match="device 1 requested"):
        cuda.set_device(1)
    with cuda.device(0):
        assert cuda.current_device() == 0
    with cuda.device(None):
        pass


def test_cuda_memory_functions_read_cupys_pool(fake_gpu) -> None:
    pool = fake_gpu.get_default_memory_pool()
    sg.cuda.reset_peak_memory_stats()
    pool.used, pool.total = 1000, 4096
    assert sg.cuda.memory_allocated() == 1000 and sg.cuda.memory_reserved() == 4096
    pool.used = 300
    assert sg.cuda.memory_allocated(0) == 300 and sg.cuda.max_memory_allocated() == 1000
    sg.cuda.empty_cache()  # the pool gives back what no array uses
    assert sg.cuda.memory_reserved() == 300 and sg.cuda.max_memory_reserved() == 4096
    sg.cuda.reset_peak_memory_stats()
    assert sg.cuda.max_memory_allocated() == 300 and sg.cuda.max_memory_reserved() == 300


def test_cuda_manual_seed_makes_gpu_draws_repeat(fake_gpu) -> None:
    sg.cuda.manual_seed(5)
    a = backend.to_numpy(sg.randn(4, device="cuda")._data)
    sg.cuda.manual_seed_all(5)
    b = backend.to_numpy(sg.randn(4, device="cuda")._data)
    np.testing.assert_array_equal(a, b)


def test_cuda_tensor_device_is_cuda_0(fake_gpu) -> None:
    x = sg.ones(2).to(sg.device("cuda", 0))
    assert repr(x.device) == "device(type='cuda', index=0)" and str(x.device) == "cuda:0"
    assert x.device == "cuda" and x.device == sg.device("cuda:0") and x.device != "cpu"
    assert (x.is_cuda, x.is_cpu, x.get_device(), x.device.index) == (True, False, 0, 0)
    assert x.to("cuda:0") is x and x.cuda(0) is x and x.cuda(non_blocking=True) is x
    assert {x.device: 1}[sg.device("cuda")] == 1
    with pytest.raises(RuntimeError, match="'cuda:1' requested but only 1 CUDA device"):
        sg.ones(2).to("cuda:1")
    with pytest.raises(RuntimeError, match="'cuda:1' requested but only 1 CUDA device"):
        sg.zeros(2, device="cuda:1")


def test_cuda_index_other_than_current_names_set_device(fake_gpu, monkeypatch) -> None:
    monkeypatch.setattr(fake_cuda._Runtime, "getDeviceCount", staticmethod(lambda: 2))
    with pytest.raises(RuntimeError, match=r"not the current CUDA device \(cuda:0\).*"
                                           r"set_device\(1\)"):
        sg.ones(2).to("cuda:1")


@cpu_only
@needs_torch
def test_pin_memory_like_torch() -> None:
    x, tx = sg.zeros(2), torch.zeros(2)
    assert x.is_pinned() is tx.is_pinned() is False
    with pytest.raises(RuntimeError) as theirs:
        tx.pin_memory()
    with pytest.raises(RuntimeError) as ours:
        x.pin_memory()
    assert str(ours.value) == str(theirs.value)


def test_pin_memory_with_gpu(fake_gpu) -> None:
    x = sg.ones(2)
    assert x.pin_memory() is x and x.pin_memory().to("cuda", non_blocking=True).is_cuda


def test_cuda_amp_imports_as_in_torch() -> None:
    from softgrad.cuda.amp import GradScaler, autocast, custom_bwd, custom_fwd
    import softgrad.cuda.amp as cuda_amp

    assert cuda_amp.GradScaler is GradScaler and sg.cuda.amp is cuda_amp
    assert issubclass(GradScaler, sg.amp.GradScaler) and issubclass(autocast, sg.amp.autocast)
    assert custom_fwd(len) is len and custom_bwd(len) is len


# ---------------------------------------------------------------------- torch.accelerator
@cpu_only
@needs_torch
def test_accelerator_without_one_matches_torch() -> None:
    acc, tacc = sg.accelerator, torch.accelerator
    assert acc.is_available() is tacc.is_available() is False
    assert acc.current_accelerator() is tacc.current_accelerator() is None
    assert acc.current_accelerator(check_available=True) is None
    assert acc.device_count() == tacc.device_count() == 0
    for name, args in (("current_device_index", ()), ("set_device_index", (0,)),
                       ("synchronize", ()), ("empty_cache", ()), ("memory_allocated", ())):
        with pytest.raises(RuntimeError) as theirs:
            getattr(tacc, name)(*args)
        with pytest.raises(RuntimeError) as ours:
            getattr(acc, name)(*args)
        assert str(ours.value) == str(theirs.value), name


def test_accelerator_with_gpu(fake_gpu) -> None:
    acc = sg.accelerator
    assert acc.is_available() and acc.device_count() == 1
    assert repr(acc.current_accelerator()) == "device(type='cuda')"
    assert acc.current_device_index() == acc.current_device_idx() == 0
    acc.set_device_index(0)
    acc.synchronize()
    acc.empty_cache()
    assert acc.memory_allocated() == 0 and acc.max_memory_allocated() >= 0
    with acc.device_index(0):
        assert acc.current_device_index() == 0
    x = sg.ones(3, device=acc.current_accelerator())
    assert x.is_cuda


# ---------------------------------------------------------------------- torch.backends
@pytest.fixture
def restore_flags():
    import softgrad.backends.cuda as bcuda
    import softgrad.backends.cudnn as cudnn

    saved = ({k: getattr(cudnn, k) for k in cudnn.BOOL_FLAGS}, dict(sg.backends.flags.state),
             dict(bcuda._SDP), bcuda.matmul.allow_fp16_reduced_precision_reduction)
    yield
    for k, v in saved[0].items():
        setattr(cudnn, k, v)
    sg.backends.flags.state.update(saved[1])
    bcuda._SDP.update(saved[2])
    bcuda.matmul.allow_fp16_reduced_precision_reduction = saved[3]


@needs_torch
def test_backend_switches_default_like_torch(restore_flags) -> None:
    import softgrad.backends.cudnn as cudnn  # an import statement, as programs write it

    tb = torch.backends
    for name in ("enabled", "benchmark", "deterministic", "allow_tf32"):
        assert getattr(cudnn, name) is getattr(tb.cudnn, name), name
    assert cudnn.is_available() is tb.cudnn.is_available() is False
    assert cudnn.version() is tb.cudnn.version() is None
    assert sg.backends.mps.is_available() is tb.mps.is_available() is False
    assert sg.backends.mps.is_built() is tb.mps.is_built() is False
    assert sg.backends.cuda.is_built() is (backend._cupy is not None)
    m, tm = sg.backends.cuda.matmul, tb.cuda.matmul
    assert m.allow_tf32 is tm.allow_tf32 is False
    assert m.allow_fp16_reduced_precision_reduction is tm.allow_fp16_reduced_precision_reduction
    assert sg.get_float32_matmul_precision() == torch.get_float32_matmul_precision() == "highest"
    assert sg.backends.cuda.flash_sdp_enabled() is tb.cuda.flash_sdp_enabled()
    assert sg.are_deterministic_algorithms_enabled() is \
        torch.are_deterministic_algorithms_enabled() is False


def test_backend_switches_are_settable_and_checked(restore_flags) -> None:
    import softgrad.backends.cudnn as cudnn

    cudnn.benchmark = True
    cudnn.deterministic = True
    sg.backends.cudnn.enabled = False
    assert sg.backends.cudnn.benchmark and sg.backends.cudnn.deterministic
    assert cudnn.enabled is False
    with pytest.raises(TypeError, match="cudnn.benchmark expects a bool, but got int 1"):
        cudnn.benchmark = 1
    assert cudnn.benchmark is True
    cudnn.benchmark_limit = 3  # not a switch: any value
    with cudnn.flags(enabled=True, benchmark=False, deterministic=False, allow_tf32=False):
        assert (cudnn.enabled, cudnn.benchmark, cudnn.allow_tf32) == (True, False, False)
    assert (cudnn.enabled, cudnn.benchmark, cudnn.allow_tf32) == (False, True, True)

    bcuda = sg.backends.cuda
    bcuda.matmul.allow_tf32 = True
    assert sg.get_float32_matmul_precision() == "high"
    bcuda.matmul.allow_tf32 = False
    assert sg.get_float32_matmul_precision() == "highest"
    with pytest.raises(TypeError, match="allow_tf32 expects a bool"):
        bcuda.matmul.allow_tf32 = "yes"
    bcuda.matmul.allow_fp16_reduced_precision_reduction = False
    assert bcuda.matmul.allow_fp16_reduced_precision_reduction is False
    bcuda.enable_flash_sdp(False)
    assert not bcuda.flash_sdp_enabled()
    with bcuda.sdp_kernel(enable_flash=True, enable_math=False):
        assert bcuda.flash_sdp_enabled() and not bcuda.math_sdp_enabled()
    assert not bcuda.flash_sdp_enabled() and bcuda.math_sdp_enabled()
    for name in ("mem_efficient", "cudnn"):
        getattr(bcuda, f"enable_{name}_sdp")(False)
        assert not getattr(bcuda, f"{name}_sdp_enabled")()


@needs_torch
def test_matmul_precision_ties_to_allow_tf32_like_torch(restore_flags) -> None:
    saved = torch.get_float32_matmul_precision()
    try:
        for p in ("high", "medium", "highest"):
            torch.set_float32_matmul_precision(p)
            sg.set_float32_matmul_precision(p)
            assert sg.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
            assert sg.backends.cuda.matmul.allow_tf32 is torch.backends.cuda.matmul.allow_tf32
    finally:
        torch.set_float32_matmul_precision(saved)
    with pytest.raises(ValueError, match="'highest', 'high', 'medium'.*'low'"):
        sg.set_float32_matmul_precision("low")


def test_float32_results_do_not_depend_on_precision_switches(restore_flags) -> None:
    a, b = sg.randn(64, 32), sg.randn(32, 16)
    exact = (a @ b)._data.copy()
    sg.set_float32_matmul_precision("medium")
    sg.backends.cudnn.allow_tf32 = True
    np.testing.assert_array_equal((a @ b)._data, exact)


@needs_torch
def test_deterministic_algorithms_switch(restore_flags) -> None:
    sg.use_deterministic_algorithms(True)
    assert sg.are_deterministic_algorithms_enabled()
    assert not sg.is_deterministic_algorithms_warn_only_enabled()
    sg.use_deterministic_algorithms(True, warn_only=True)
    assert sg.is_deterministic_algorithms_warn_only_enabled()
    sg.use_deterministic_algorithms(False)
    assert not sg.are_deterministic_algorithms_enabled()
    with pytest.raises(TypeError):
        torch.use_deterministic_algorithms(1)
    with pytest.raises(TypeError, match="expects bools"):
        sg.use_deterministic_algorithms(1)


# ---------------------------------------------------------------------- autocast
def _train_step(model: nn.Module, x: sg.Tensor) -> tuple:
    model.zero_grad()
    out = model(x)
    out.square().mean().backward()
    return out._data.copy(), [p.grad._data.copy() for p in model.parameters()]


@pytest.mark.parametrize("region", [
    lambda: sg.autocast(device_type="cpu", dtype=sg.bfloat16),
    lambda: sg.amp.autocast("cuda", dtype=sg.float16),
    lambda: sg.autocast("cpu", enabled=False),
    lambda: sg.cuda.amp.autocast(),
    lambda: sg.cuda.amp.autocast(enabled=True, dtype=sg.bfloat16, cache_enabled=False),
], ids=["cpu-bf16", "cuda-f16", "disabled", "cuda.amp", "cuda.amp-bf16"])
def test_autocast_region_computes_what_plain_code_does(region) -> None:
    model = nn.Sequential(nn.Linear(5, 8), nn.GELU(), nn.Linear(8, 3))
    x = sg.randn(4, 5)
    plain_out, plain_grads = _train_step(model, x)
    with region() as entered:
        out, grads = _train_step(model, x)
    assert entered is None and out.dtype == np.float32
    np.testing.assert_array_equal(out, plain_out)
    for g, h in zip(grads, plain_grads):
        np.testing.assert_array_equal(g, h)

    @region()
    def step(m, inp):
        return _train_step(m, inp)

    out2, _ = step(model, x)
    np.testing.assert_array_equal(out2, plain_out)
    assert step.__name__ == "step"


@needs_torch
def test_autocast_arguments_checked() -> None:
    assert sg.amp.is_autocast_available("cpu") is torch.amp.is_autocast_available("cpu")
    assert sg.amp.is_autocast_available("cuda") is torch.amp.is_autocast_available("cuda")
    assert not sg.amp.is_autocast_available("tpu")
    with pytest.raises(RuntimeError) as theirs:
        torch.autocast("foo")
    with pytest.raises(RuntimeError) as ours:
        sg.autocast("foo")
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="device_type.*str"):
        sg.autocast(sg.device("cpu").index)
    with pytest.raises(RuntimeError, match="without index"):
        sg.autocast("cuda:0")
    with pytest.raises(TypeError, match="floating dtype"):
        sg.autocast("cpu", dtype=sg.int32)
    assert sg.amp.custom_fwd(len) is len and sg.amp.custom_fwd(cast_inputs=sg.float32)(len) is len
    assert sg.amp.custom_bwd(device_type="cpu")(len) is len


def test_autocast_propagates_exceptions() -> None:
    with pytest.raises(KeyError), sg.autocast("cpu"):
        raise KeyError("inside")


# ---------------------------------------------------------------------- GradScaler
def _pair(seed: int = 0):
    """A softgrad and a PyTorch linear model with the same float32 weights, their SGD
    optimisers and the same batch."""
    rng = np.random.default_rng(seed)
    w, b = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(3).astype(
        np.float32)
    x, y = rng.standard_normal((8, 4)).astype(np.float32), rng.standard_normal((8, 3)).astype(
        np.float32)
    m = nn.Linear(4, 3)
    m.load_state_dict({"weight": sg.tensor(w), "bias": sg.tensor(b)})
    tm = torch.nn.Linear(4, 3).float()
    tm.load_state_dict({"weight": torch.tensor(w), "bias": torch.tensor(b)})
    opt = sg.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)
    return (m, opt, sg.tensor(x), sg.tensor(y)), (tm, topt, torch.tensor(x), torch.tensor(y))


@needs_torch
def test_grad_scaler_matches_torch_including_skipped_steps() -> None:
    """Same scale, growth tracker, skipped steps and weights as PyTorch's CPU GradScaler
    over 9 steps with inf gradients injected at steps 3 and 4 and a clip at step 6."""
    ours, theirs = _pair()
    kw = dict(init_scale=2.0**10, growth_factor=3.0, backoff_factor=0.3, growth_interval=2)
    scalers = sg.amp.GradScaler("cpu", **kw), torch.amp.GradScaler("cpu", **kw)
    for step in range(9):
        results = []
        for (model, opt, x, y), scaler, lib in zip((ours, theirs), scalers, (sg, torch)):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            scaled = scaler.scale(loss)
            assert abs(scaled.item() - loss.item() * scaler.get_scale()) <= 1e-3 * scaled.item()
            scaled.backward()
            if step in (3, 4):
                model.weight.grad.numpy()[0, 1] = np.inf if step == 3 else np.nan
            if step == 6:
                scaler.unscale_(opt)
                lib.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            ret = scaler.step(opt)
            scaler.update()
            results.append((ret, scaler.get_scale(), scaler.state_dict(),
                            model.weight.detach().numpy().copy()))
        (r1, s1, d1, w1), (r2, s2, d2, w2) = results
        assert r1 is None and r2 is None
        assert s1 == s2 and d1 == d2, step
        np.testing.assert_allclose(w1, w2, rtol=1e-5, atol=1e-6, err_msg=f"step {step}")
    assert scalers[0].get_scale() != 2.0**10  # the scale really moved (backed off and grew)


@needs_torch
def test_grad_scaler_state_dict_round_trip_like_torch() -> None:
    kw = dict(init_scale=128.0, growth_interval=3)
    ours, theirs = sg.amp.GradScaler("cpu", **kw), torch.amp.GradScaler("cpu", **kw)
    assert ours.state_dict() == theirs.state_dict()
    saved = {"scale": 8.0, "growth_factor": 4.0, "backoff_factor": 0.25,
             "growth_interval": 7, "_growth_tracker": 2}
    for s in (ours, theirs):
        s.load_state_dict(saved)
    assert ours.state_dict() == theirs.state_dict() == saved
    assert (ours.get_growth_factor(), ours.get_backoff_factor(), ours.get_growth_interval()) \
        == (4.0, 0.25, 7)
    ours.set_growth_factor(5.0)
    ours.set_backoff_factor(0.1)
    ours.set_growth_interval(9)
    assert ours.state_dict()["growth_interval"] == 9 and ours.get_growth_factor() == 5.0
    with pytest.raises(RuntimeError, match="empty.*disabled instance"):
        ours.load_state_dict({})
    with pytest.raises(KeyError, match="_growth_tracker"):
        ours.load_state_dict({k: v for k, v in saved.items() if k != "_growth_tracker"})


@needs_torch
def test_disabled_grad_scaler_passes_through_like_torch() -> None:
    (m, opt, x, y), _ = _pair()
    w0 = m.weight.detach().numpy().copy()
    scaler = sg.cuda.amp.GradScaler(enabled=False)
    tscaler = torch.amp.GradScaler("cpu", enabled=False)
    loss = ((m(x) - y) ** 2).mean()
    assert scaler.scale(loss) is loss
    loss.backward()
    g = m.weight.grad.numpy().copy()
    scaler.unscale_(opt)
    np.testing.assert_array_equal(m.weight.grad.numpy(), g)  # not divided by anything
    assert scaler.step(opt) is None
    scaler.update()
    scaler.update(new_scale=4.0)
    np.testing.assert_allclose(m.weight.detach().numpy(), w0 - 0.1 * g, rtol=1e-6)
    assert (scaler.is_enabled(), scaler.get_scale(), scaler.state_dict()) == (
        tscaler.is_enabled(), tscaler.get_scale(), tscaler.state_dict())
    scaler.load_state_dict({})  # no-op when disabled


@cpu_only
@needs_torch
def test_cuda_grad_scaler_disables_itself_without_gpu_like_torch() -> None:
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        a, b = sg.cuda.amp.GradScaler(), sg.amp.GradScaler()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = torch.amp.GradScaler("cuda")
    assert a.is_enabled() is b.is_enabled() is t.is_enabled() is False
    assert [w.filename for w in ours if "CUDA is not available" in str(w.message)] == \
        [__file__, __file__]  # the warning points at the caller's line
    assert sg.amp.GradScaler("cpu").is_enabled()


def test_cuda_grad_scaler_scales_with_gpu(fake_gpu) -> None:
    scaler = sg.cuda.amp.GradScaler(init_scale=4.0)
    assert scaler.is_enabled()
    w = nn.Parameter(sg.ones(3, device="cuda"))
    opt = sg.optim.SGD([w], lr=0.5)
    loss = (w * 2.0).sum()
    scaled = scaler.scale(loss)
    assert scaled.is_cuda and scaled.item() == 24.0
    scaled.backward()
    assert backend.to_numpy(w.grad._data).tolist() == [8.0, 8.0, 8.0]
    scaler.step(opt)
    scaler.update()
    assert backend.to_numpy(w._data).tolist() == [0.0, 0.0, 0.0]  # 1 - 0.5 * 2


def test_grad_scaler_scales_containers_and_checks_misuse() -> None:
    scaler = sg.amp.GradScaler("cpu", init_scale=2.0)
    a, b = sg.tensor(1.5), sg.tensor([1.0, 2.0])
    lst, tup = scaler.scale([a, b]), scaler.scale((a, [b]))
    assert isinstance(lst, list) and lst[0].item() == 3.0 and lst[1].tolist() == [2.0, 4.0]
    assert isinstance(tup, tuple) and tup[1][0].tolist() == [2.0, 4.0]
    assert [t.item() for t in scaler.scale(iter([a]))] == [3.0]
    with pytest.raises(ValueError, match="Tensor or an iterable of Tensors, got int"):
        scaler.scale(3)
    with pytest.raises(ValueError, match="growth factor must be > 1.0"):
        sg.amp.GradScaler("cpu", growth_factor=1.0)
    with pytest.raises(ValueError, match="backoff factor must be < 1.0"):
        sg.amp.GradScaler("cpu", backoff_factor=1.0)

    w = nn.Parameter(sg.ones(2))
    opt = sg.optim.SGD([w], lr=0.1)
    fresh = sg.amp.GradScaler("cpu")
    with pytest.raises(RuntimeError, match="Attempted update but no scale.*scaler.scale"):
        fresh.update()
    fresh.scale(w.sum()).backward()
    with pytest.raises(RuntimeError, match="No inf checks were recorded prior to update"):
        fresh.update()
    fresh.unscale_(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
        fresh.unscale_(opt)
    with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
        fresh.step(opt, closure=lambda: 0.0)
    fresh.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        fresh.step(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step"):
        fresh.unscale_(opt)
    fresh.update(new_scale=sg.tensor(8.0))
    assert fresh.get_scale() == 8.0
    fresh.update(new_scale=3.0)
    assert fresh.get_scale() == 3.0
    with pytest.raises(ValueError, match="1-element tensor"):
        fresh.update(new_scale=sg.ones(2))
    half = nn.Parameter(sg.ones(2, dtype=sg.float16))
    hopt = sg.optim.SGD([half], lr=0.1)
    fresh.scale(half.sum()).backward()
    with pytest.raises(ValueError, match="unscale FP16 gradients"):
        fresh.unscale_(hopt)


# ---------------------------------------------------------------------- compile
def test_compile_returns_its_argument() -> None:
    model = nn.Linear(2, 2)
    assert sg.compile(model) is model
    assert sg.compile(model, mode="max-autotune", fullgraph=True, dynamic=False) is model
    assert sg.compile(model, backend="eager", options={"x": 1}, disable=True) is model
    assert list(sg.compile(model).state_dict()) == ["weight", "bias"]

    @sg.compile
    def f(x):
        return x * 2

    @sg.compile(mode="reduce-overhead")
    def g(x):
        return x + 1

    assert f(sg.tensor(3.0)).item() == 6.0 and g(sg.tensor(3.0)).item() == 4.0
    assert f.__name__ == "f" and g.__name__ == "g"
    assert sg.compiler.disable(f) is f and sg.compiler.disable()(g) is g
    assert sg.compiler.is_compiling() is False and sg.compiler.reset() is None


@needs_torch
def test_compile_rejects_what_torch_rejects() -> None:
    for kwargs in ({"mode": "bogus"}, {"mode": "default", "options": {}}):
        with pytest.raises(RuntimeError) as theirs:
            torch.compile(lambda x: x, **kwargs)
        with pytest.raises(RuntimeError) as ours:
            sg.compile(lambda x: x, **kwargs)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError, match="Unrecognized mode"):
        sg.compile(mode="fast")
    with pytest.raises(TypeError, match="callable function is expected"):
        sg.compile(3)


# ---------------------------------------------------------------------- signatures
SIGNATURES = (
    "accelerator.is_available accelerator.current_accelerator accelerator.device_count "
    "accelerator.current_device_index accelerator.set_device_index accelerator.synchronize "
    "accelerator.empty_cache accelerator.memory_allocated accelerator.device_index "
    "cuda.is_available cuda.device_count cuda.current_device cuda.set_device cuda.device "
    "cuda.synchronize cuda.empty_cache cuda.get_device_name cuda.get_device_capability "
    "cuda.get_device_properties cuda.memory_allocated cuda.max_memory_allocated "
    "cuda.memory_reserved cuda.max_memory_reserved cuda.reset_peak_memory_stats "
    "cuda.manual_seed cuda.manual_seed_all cuda.is_bf16_supported cuda.is_initialized "
    "cuda.amp.GradScaler cuda.amp.autocast amp.GradScaler amp.autocast "
    "amp.is_autocast_available autocast compile compiler.disable compiler.is_compiling "
    "compiler.reset backends.cudnn.is_available backends.cudnn.version backends.cudnn.flags "
    "backends.mps.is_available backends.mps.is_built backends.cuda.is_built "
    "backends.cuda.enable_flash_sdp backends.cuda.flash_sdp_enabled backends.cuda.sdp_kernel "
    "set_default_dtype get_default_dtype set_default_device get_default_device "
    "set_float32_matmul_precision get_float32_matmul_precision use_deterministic_algorithms "
    "are_deterministic_algorithms_enabled is_deterministic_algorithms_warn_only_enabled "
    "finfo iinfo device").split()

@needs_torch
@pytest.mark.parametrize("path", SIGNATURES)
def test_device_api_signatures_match_torch(path: str) -> None:
    from tests.helpers.signatures import compare, lookup

    ours, theirs = lookup(sg, path), lookup(torch, path)
    assert callable(ours)
    compare(path, ours, theirs)
