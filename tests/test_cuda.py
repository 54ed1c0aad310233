"""The ``cuda`` device: creation, moves, ops, layers, losses and optimizers on a second array
module.

Every test runs twice: on ``fake-cuda`` (tests/fake_cuda.py, a NumPy-backed stand-in that, like
CuPy, refuses to mix device arrays with host ``numpy.ndarray``s), which exercises the device code
paths on any machine, and on a real GPU through CuPy, skipped cleanly where there is none.
"""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn.functional as F
from softgrad import backend, nn

import fake_cuda
from op_cases import ALL
from test_every_module import NAMES as MODULE_NAMES
from test_every_module import REGISTRY, _outputs

REAL_GPU = backend.cuda_available()


@pytest.fixture(params=[pytest.param("fake", id="fake-cuda"),
                        pytest.param("real", id="cuda", marks=pytest.mark.skipif(
                            not REAL_GPU, reason="needs CuPy and an NVIDIA GPU"))])
def device(request: pytest.FixtureRequest):
    """'cuda' backed by the fake module or by CuPy; the array type is ``backend._cupy.ndarray``."""
    if request.param == "fake":
        fake_cuda.install()
        try:
            yield "cuda"
        finally:
            fake_cuda.uninstall()
    else:
        yield "cuda"


def on_cuda(t: sg.Tensor) -> bool:
    return t.device == "cuda" and isinstance(t._data, backend._cupy.ndarray)


def host(t: sg.Tensor) -> np.ndarray:
    return backend.to_numpy(t.detach()._data)


def tol() -> float:
    return 1e-9 if isinstance(backend._cupy, fake_cuda._Namespace) else 1e-5


# ---------------------------------------------------------------------- creation and moves
def test_creation_functions_take_device(device: str) -> None:
    assert sg.cuda.is_available() and sg.cuda.device_count() >= 1
    sg.cuda.synchronize()
    made = [sg.zeros(2, 3, device=device), sg.ones(2, device=device), sg.empty(4, device=device),
            sg.full((2,), 3.0, device=device), sg.eye(3, device=device),
            sg.arange(5, device=device), sg.linspace(0, 1, 4, device=device),
            sg.rand(3, device=device), sg.randn(2, 2, device=device),
            sg.randint(0, 4, (5,), device=device), sg.randperm(5, device=device),
            sg.tensor([1.0, 2.0], device=device), sg.tensor(np.arange(3), device=device)]
    base = sg.randn(2, 3, device=device)
    made += [sg.zeros_like(base), sg.ones_like(base), sg.rand_like(base), sg.randn_like(base),
             sg.full_like(base, 2.0), sg.empty_like(base)]
    for t in made:
        assert on_cuda(t), t
    assert made[0].dtype == sg.float32 and made[5].dtype == sg.int64
    assert host(sg.arange(4, device=device)).tolist() == [0, 1, 2, 3]
    assert sg.zeros_like(base, device="cpu").device == "cpu"
    # a GPU array (or tensor) given to tensor() stays on the GPU unless told otherwise
    assert on_cuda(sg.tensor(base._data)) and on_cuda(sg.tensor(base)) and on_cuda(sg.Tensor(
        base._data))
    assert host(sg.tensor(base._data)).tolist() == host(base).tolist()
    moved = sg.tensor(base._data, device="cpu", dtype=sg.float64)
    assert moved.device == "cpu" and moved.dtype == sg.float64
    assert "device='cuda:0'" in repr(base)  # as PyTorch prints it


def test_to_cuda_cpu_and_gradient_across_devices(device: str) -> None:
    x = sg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x.to(device)
    assert on_cuda(y) and y.requires_grad and x.device == "cpu"
    assert on_cuda(x.cuda()) and on_cuda(x.to("cuda:0")) and on_cuda(x.detach().to(y))
    z = (y * y).sum()
    assert on_cuda(z)
    z.backward()
    assert x.grad.device == "cpu" and host(x.grad).tolist() == [2.0, -4.0, 6.0]
    back = y.cpu()
    assert back.device == "cpu" and isinstance(back._data, np.ndarray)
    assert y.detach().cpu().numpy().tolist() == [1.0, -2.0, 3.0]
    assert y.to(device) is y and y.to(device, sg.float64).dtype == sg.float64
    assert y.tolist() == [1.0, -2.0, 3.0] and y.sum().item() == 2.0


def test_mixing_devices_is_a_clear_error(device: str) -> None:
    a, b = sg.ones(3, device=device), sg.ones(3)
    logits, labels = sg.randn(2, 3, device=device), sg.tensor([0, 2])
    emb = nn.Embedding(4, 2).to(device)
    for fn in (lambda: a + b, lambda: b * a, lambda: sg.cat([a, b]),
               lambda: F.mse_loss(a, b), lambda: nn.Linear(3, 2)(a),
               lambda: F.cross_entropy(logits, labels), lambda: emb(sg.tensor([1, 2]))):
        with pytest.raises(RuntimeError, match="same device.*(cuda:0 and cpu|cpu and cuda:0)"):
            fn()
    with pytest.raises(RuntimeError, match="indices should be either on cpu"):
        b[sg.tensor([0, 1], device=device)]
    # host indices into a GPU tensor are allowed, as in PyTorch
    assert host(a[sg.tensor([0, 2])]).tolist() == [1.0, 1.0] and on_cuda(a[[0, 0]])


# ---------------------------------------------------------------------- every op
def _first_shapes(case):
    return pytest.param(case, case.shapes[0], id=case.name)


class _OnDevice:
    """``softgrad`` as the op cases see it, with factories creating tensors on ``dev``."""

    FACTORIES = ("tensor", "zeros", "ones", "full", "arange", "eye", "randn", "rand")

    def __init__(self, dev: str) -> None:
        self.dev = dev

    def __getattr__(self, name: str):
        fn = getattr(sg, name)
        if name in self.FACTORIES:
            return lambda *a, **k: fn(*a, **{"device": self.dev, **k})
        return fn


@pytest.mark.parametrize("case, shapes", [_first_shapes(c) for c in ALL])
def test_op_on_cuda_matches_cpu(device: str, case, shapes) -> None:
    arrays = case.arrays(shapes)
    rng = np.random.default_rng(1)

    def run(dev: str) -> tuple:
        xs = [sg.tensor(a, device=dev, requires_grad=case.differentiable) for a in arrays]
        out = case.fn(_OnDevice(dev), *xs)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        outs = [o for o in outs if isinstance(o, sg.Tensor)]
        if case.differentiable:
            loss = sum((o * sg.tensor(w, device=dev)).sum() for o, w in zip(
                outs, weights(outs)) if o.requires_grad and o.dtype.is_floating_point)
            if isinstance(loss, sg.Tensor):
                loss.backward()
        return outs, [x.grad for x in xs]

    cache: dict = {}

    def weights(outs: list) -> list:
        if "w" not in cache:
            cache["w"] = [rng.standard_normal(o.shape) for o in outs]
        return cache["w"]

    cpu_outs, cpu_grads = run("cpu")
    dev_outs, dev_grads = run(device)
    for c, d in zip(cpu_outs, dev_outs):
        assert on_cuda(d), f"{case.name}: result left the device ({type(d._data).__name__})"
        assert c.dtype == d.dtype and c.shape == d.shape
        np.testing.assert_allclose(host(d), host(c), atol=tol(), rtol=tol())
    for c, d in zip(cpu_grads, dev_grads):
        if c is None:
            assert d is None
            continue
        assert on_cuda(d), f"{case.name}: gradient left the device"
        np.testing.assert_allclose(host(d), host(c), atol=tol(), rtol=tol())


# ---------------------------------------------------------------------- layers, losses, optim
def _module_inputs(arrays: list, dev: str) -> list:
    out = []
    for i, a in enumerate(arrays):
        if a.dtype.kind == "f":
            out.append(sg.tensor(a.astype(np.float64), device=dev, requires_grad=i == 0))
        else:
            out.append(sg.tensor(a.astype(np.int64), device=dev))
    return out


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_every_module_on_cuda_matches_cpu(device: str, name: str) -> None:
    """Each public module (tests/test_every_module.py's registry): float64, forward+backward."""
    entry = REGISTRY[name]
    results = []
    for dev in ("cpu", device):
        sg.manual_seed(0)
        module = entry.make(nn).double().to(dev)
        for t in list(module.parameters()) + list(module.buffers()):
            assert t.device == dev
        xs = _module_inputs(entry.inputs(np.random.default_rng(0)), dev)
        sg.manual_seed(1)  # the same dropout masks on both devices
        outs = _outputs(entry.call(module, *xs))
        floats = [o for o in outs if o.is_floating_point() and o.requires_grad]
        if floats:
            rng = np.random.default_rng(2)
            sum((o * sg.tensor(rng.standard_normal(o.shape), device=dev)).sum()
                for o in floats).backward()
        grads = [p.grad for p in module.parameters()] + [x.grad for x in xs[:1]]
        results.append((outs, grads, list(module.buffers())))
    (c_outs, c_grads, c_bufs), (d_outs, d_grads, d_bufs) = results
    for c, d in zip(c_outs + c_grads + c_bufs, d_outs + d_grads + d_bufs):
        if c is None:
            assert d is None
            continue
        assert on_cuda(d), f"{name}: a result is on {d.device} ({type(d._data).__name__})"
        np.testing.assert_allclose(host(d), host(c), atol=tol(), rtol=tol())


def _loss_inputs(dev: str) -> dict:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 4))
    return {"x": sg.tensor(x, device=dev, requires_grad=True),
            "t": sg.tensor(rng.standard_normal((6, 4)), device=dev),
            "p": sg.tensor(rng.uniform(0.05, 0.95, (6, 4)), device=dev, requires_grad=True),
            "b": sg.tensor(rng.integers(0, 2, (6, 4)).astype(np.float64), device=dev),
            "idx": sg.tensor(np.array([0, 3, 1, 2, 2, -100]), device=dev),
            "w": sg.tensor(rng.uniform(0.5, 2.0, 4), device=dev)}


LOSSES = {
    "mse": lambda d: F.mse_loss(d["x"], d["t"]),
    "l1": lambda d: F.l1_loss(d["x"], d["t"], reduction="sum"),
    "smooth_l1": lambda d: F.smooth_l1_loss(d["x"], d["t"], beta=0.5),
    "huber": lambda d: F.huber_loss(d["x"], d["t"], reduction="none"),
    "cross_entropy": lambda d: F.cross_entropy(d["x"], d["idx"], weight=d["w"],
                                               label_smoothing=0.1),
    "cross_entropy_probs": lambda d: F.cross_entropy(d["x"], d["t"].softmax(dim=1)),
    "nll": lambda d: F.nll_loss(F.log_softmax(d["x"], dim=1), d["idx"]),
    "bce": lambda d: F.binary_cross_entropy(d["p"], d["b"]),
    "bce_logits": lambda d: F.binary_cross_entropy_with_logits(d["x"], d["b"],
                                                               pos_weight=d["w"]),
    "kl_div": lambda d: F.kl_div(F.log_softmax(d["x"], dim=1), d["p"].detach(),
                                 reduction="batchmean"),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_on_cuda_matches_cpu(device: str, name: str) -> None:
    res = []
    for dev in ("cpu", device):
        d = _loss_inputs(dev)
        loss = LOSSES[name](d)
        loss.sum().backward()
        res.append((loss, d["x"].grad if d["x"].grad is not None else d["p"].grad))
    (cl, cg), (dl, dg) = res
    assert on_cuda(dl) and on_cuda(dg)
    np.testing.assert_allclose(host(dl), host(cl), atol=tol(), rtol=tol())
    np.testing.assert_allclose(host(dg), host(cg), atol=tol(), rtol=tol())


OPTIMIZERS = {
    "SGD": lambda ps: sg.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "Adam": lambda ps: sg.optim.Adam(ps, lr=0.01, amsgrad=True, weight_decay=0.01),
    "AdamW": lambda ps: sg.optim.AdamW(ps, lr=0.01),
    "RMSprop": lambda ps: sg.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    "Adagrad": lambda ps: sg.optim.Adagrad(ps, lr=0.1),
    "Adadelta": lambda ps: sg.optim.Adadelta(ps),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_training_on_cuda_matches_cpu(device: str, name: str) -> None:
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((16, 5)), rng.integers(0, 3, 16)
    finals = []
    for dev in ("cpu", device):
        sg.manual_seed(0)
        model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double().to(dev)
        opt = OPTIMIZERS[name](model.parameters())
        sched = sg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        xb, yb = sg.tensor(x, device=dev), sg.tensor(y, device=dev)
        for _ in range(4):
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            norm = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            assert norm.device == dev
            opt.step()
            sched.step()
        finals.append(list(model.parameters()))
        state = [v for s in opt.state_dict()["state"].values() for v in s.values()
                 if isinstance(v, sg.Tensor) and v.ndim > 0]
        assert all(t.device == dev for t in state)
    for c, d in zip(*finals):
        assert on_cuda(d)
        np.testing.assert_allclose(host(d), host(c), atol=tol(), rtol=tol())


def test_module_moves_and_state_dict_round_trip(device: str, tmp_path) -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    ref = {k: host(v).copy() for k, v in model.state_dict().items()}
    assert model.cuda() is model
    assert all(on_cuda(v) for v in model.state_dict().values())
    model(sg.randn(5, 3, device=device)).sum().backward()
    assert all(on_cuda(p.grad) for p in model.parameters())
    sg.save(model.state_dict(), tmp_path / "m.sgt")
    assert all(on_cuda(v) for v in sg.load(tmp_path / "m.sgt").values())  # as torch.load
    loaded = sg.load(tmp_path / "m.sgt", map_location="cpu")
    assert all(v.device == "cpu" for v in loaded.values())
    fresh = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)).to(device)
    fresh.load_state_dict(loaded)
    for k, v in fresh.state_dict().items():
        assert on_cuda(v), k
        np.testing.assert_array_equal(host(v), host(model.state_dict()[k]))
    model.cpu()
    assert all(v.device == "cpu" for v in model.state_dict().values())
    assert ref["0.weight"].shape == (4, 3)


# ---------------------------------------------------------------------- no GPU at all
@pytest.mark.skipif(REAL_GPU, reason="a GPU is present")
def test_cuda_without_gpu_is_a_clear_error() -> None:
    assert not sg.cuda.is_available() and sg.cuda.device_count() == 0
    sg.cuda.synchronize()  # nothing to wait for
    with pytest.raises(RuntimeError, match="cuda.*(CuPy|extra)"):
        sg.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="CuPy"):
        sg.ones(2).cuda()
    with pytest.raises(RuntimeError, match="CuPy"):
        nn.Linear(2, 2).to("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        sg.zeros(2, device="tpu")
