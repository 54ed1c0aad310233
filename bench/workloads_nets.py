"""LeNet-style CNN and LSTM training workloads of ``run_all.py`` (child side).

The softgrad versions need ``nn.Conv2d``/``nn.MaxPool2d`` and ``nn.LSTM``; without them the
workload reports ``skipped`` with the reason instead of failing.
"""
from __future__ import annotations

from typing import Any

import common
from workloads import timed

BATCH = 128


def softgrad_missing(kind: str) -> str | None:
    """Why the softgrad side of ``kind`` ('lenet' or 'lstm') cannot run, or None."""
    import softgrad.nn as nn

    need = ("Conv2d", "MaxPool2d") if kind == "lenet" else ("LSTM",)
    missing = [n for n in need if not hasattr(nn, n)]
    return f"softgrad has no nn.{', nn.'.join(missing)} yet" if missing else None


def _optional(module: str) -> Any:
    """A sibling benchmark module (bench_layers / bench_rnn) or None when it is absent."""
    try:
        return __import__(module)
    except ImportError:
        return None


# ---------------------------------------------------------------------- LeNet
def _lenet_model(nn: Any, **kw: Any) -> Any:
    """conv 1->6 5x5, relu, pool 2, conv 6->16 5x5, relu, pool 2, 256->120->84->10.

    The caller sets ``model.pool`` and ``model.relu`` to its framework's functions.
    """

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.c2 = nn.Conv2d(1, 6, 5, **kw), nn.Conv2d(6, 16, 5, **kw)
            self.f1, self.f2 = nn.Linear(256, 120, **kw), nn.Linear(120, 84, **kw)
            self.f3 = nn.Linear(84, 10, **kw)

        def forward(self, x):
            x = self.pool(self.relu(self.c1(x)))
            x = self.pool(self.relu(self.c2(x)))
            x = x.reshape(x.shape[0], -1)
            return self.f3(self.relu(self.f2(self.relu(self.f1(x)))))

    return LeNet()


def _lenet_builder(framework: str, threads: int) -> tuple:
    """(wrap, step) for one framework: the conv benchmark's model where it exists."""
    layers = _optional("bench_layers")
    if framework in ("softgrad", "torch") and layers is not None and hasattr(layers,
                                                                             "build_lenet"):
        return layers.build_lenet(framework, threads, "adam")
    if framework == "softgrad":
        import softgrad as lib
        import softgrad.nn as nn
        import softgrad.nn.functional as F

        lib.manual_seed(0)
        model, wrap, loss_fn = _lenet_model(nn), lib.from_numpy, F.cross_entropy
        model.pool, model.relu = (lambda t: F.max_pool2d(t, 2)), F.relu
        opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    elif framework == "torch":
        import torch as lib
        import torch.nn as nn
        import torch.nn.functional as F

        lib.set_num_threads(threads)
        lib.manual_seed(0)
        model, wrap, loss_fn = _lenet_model(nn), lib.from_numpy, F.cross_entropy
        model.pool, model.relu = (lambda t: F.max_pool2d(t, 2)), F.relu
        opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    else:
        import pydynet as pdn
        import pydynet.nn as nn
        import pydynet.nn.functional as F
        import pydynet.optim as optim

        model = _lenet_model(nn, dtype="float32")
        model.pool, model.relu = (lambda t: F.max_pool2d(t, 2, 2)), F.relu
        opt, loss_fn = optim.Adam(model.parameters(), lr=1e-3), nn.CrossEntropyLoss()
        wrap = lambda a: pdn.Tensor(a, dtype=a.dtype)

    def step(xb: Any, yb: Any) -> None:
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()

    return wrap, step


def lenet(framework: str, cfg: dict) -> dict:
    """One epoch of LeNet-style training (Adam, batch 128) on synthetic 28x28 images."""
    import numpy as np

    if framework == "softgrad" and softgrad_missing("lenet"):
        return {"skipped": softgrad_missing("lenet")}
    n = cfg["lenet_samples"]
    layers = _optional("bench_layers")
    if layers is not None and hasattr(layers, "lenet_data"):
        x, y = layers.lenet_data(n)
    else:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
        y = rng.integers(0, 10, size=n).astype(np.int64)
    wrap, step = _lenet_builder(framework, cfg["threads"])
    batches = common.make_batches(wrap, x, y, BATCH)
    faults: list[float] = []
    epoch = common.epoch_runner(batches, step, faults)

    def warm() -> None:
        for xb, yb in batches[:3]:
            step(xb, yb)

    res = common.summarize(timed(epoch, cfg["repeats"], warm, cfg["budget_s"]))
    res["samples"] = len(batches) * BATCH
    res["faults_per_step"] = min(faults)
    return res


# ---------------------------------------------------------------------- LSTM
def _lstm_pydynet() -> tuple:
    import pydynet as pdn
    import pydynet.nn as nn
    import pydynet.optim as optim

    import bench_rnn as R

    rnn = nn.LSTM(R.IN, R.HID, batch_first=True, dtype="float32")
    head = nn.Linear(R.HID, R.OUT, dtype="float32")
    opt = optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step(xb: Any, yb: Any) -> None:
        opt.zero_grad()
        out, _ = rnn(xb)
        loss = loss_fn(head(out[:, -1]), yb)
        loss.backward()
        opt.step()

    return (lambda a: pdn.Tensor(a, dtype=a.dtype)), step


def lstm(framework: str, cfg: dict) -> dict:
    """Time per training step of the recurrent benchmark's model (bench_rnn.py): LSTM(32->128),
    batch_first, sequence 50, batch 64, linear head on the last step, cross-entropy, Adam."""
    if framework == "softgrad" and softgrad_missing("lstm"):
        return {"skipped": softgrad_missing("lstm")}
    R = _optional("bench_rnn")
    if R is None:
        return {"skipped": "bench/bench_rnn.py is not on this branch"}
    x, y = R.make_data()
    if framework in ("softgrad", "torch"):
        wrap, step = R.build(framework, "lstm", 1, False, cfg["threads"])
    else:
        wrap, step = _lstm_pydynet()
    xt, yt, steps = wrap(x), wrap(y), cfg["lstm_steps"]

    def run() -> None:
        for _ in range(steps):
            step(xt, yt)

    times = timed(run, cfg["repeats"], lambda: step(xt, yt), cfg["budget_s"])
    res = common.summarize([t / steps for t in times])
    res["steps"] = steps
    return res
