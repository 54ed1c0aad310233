"""LeNet-style CNN and LSTM training workloads of ``run_all.py`` (child side).

The softgrad versions need ``nn.Conv2d``/``nn.MaxPool2d`` and ``nn.LSTM``; without them the
workload reports ``skipped`` with the reason instead of failing.
"""
from __future__ import annotations

from typing import Any

import common
from workloads import timed

BATCH = 128
LSTM_T, LSTM_B, LSTM_IN, LSTM_H, LSTM_CLASSES = 35, 64, 32, 128, 10


def softgrad_missing(kind: str) -> str | None:
    """Why the softgrad side of ``kind`` ('lenet' or 'lstm') cannot run, or None."""
    import softgrad.nn as nn

    need = ("Conv2d", "MaxPool2d") if kind == "lenet" else ("LSTM",)
    missing = [n for n in need if not hasattr(nn, n)]
    return f"softgrad has no nn.{', nn.'.join(missing)} yet" if missing else None


# ---------------------------------------------------------------------- LeNet
def _lenet_torch(nn: Any, F: Any, pool: Any, conv_kw: dict, lin_kw: dict) -> Any:
    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(1, 6, 5, padding=2, **conv_kw)
            self.c2 = nn.Conv2d(6, 16, 5, **conv_kw)
            self.f1 = nn.Linear(16 * 5 * 5, 120, **lin_kw)
            self.f2 = nn.Linear(120, 84, **lin_kw)
            self.f3 = nn.Linear(84, 10, **lin_kw)

        def forward(self, x):
            x = pool(F.relu(self.c1(x)))
            x = pool(F.relu(self.c2(x)))
            x = x.reshape(x.shape[0], -1)
            return self.f3(F.relu(self.f2(F.relu(self.f1(x)))))

    return LeNet()


def lenet(framework: str, cfg: dict) -> dict:
    """One epoch of LeNet-style training (Adam, batch 128) on synthetic 28x28 images."""
    import numpy as np

    if framework == "softgrad" and softgrad_missing("lenet"):
        return {"skipped": softgrad_missing("lenet")}
    rng = np.random.default_rng(0)
    n = cfg["lenet_samples"]
    x = rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=n).astype(np.int64)
    if framework == "softgrad":
        import softgrad as sg
        import softgrad.nn as nn
        import softgrad.nn.functional as F

        sg.manual_seed(0)
        model = _lenet_torch(nn, F, lambda t: F.max_pool2d(t, 2), {}, {})
        opt, loss_fn, wrap = sg.optim.Adam(model.parameters(), 1e-3), F.cross_entropy, sg.from_numpy
    elif framework == "torch":
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        torch.set_num_threads(cfg["threads"])
        torch.manual_seed(0)
        model = _lenet_torch(nn, F, lambda t: F.max_pool2d(t, 2), {}, {})
        opt, loss_fn = torch.optim.Adam(model.parameters(), 1e-3), F.cross_entropy
        wrap = torch.from_numpy
    else:
        import pydynet as pdn
        import pydynet.nn as nn
        import pydynet.nn.functional as F
        import pydynet.optim as optim

        kw = {"dtype": "float32"}
        model = _lenet_torch(nn, F, lambda t: F.max_pool2d(t, 2, 2), kw, kw)
        opt, loss_fn = optim.Adam(model.parameters(), 1e-3), nn.CrossEntropyLoss()
        wrap = lambda a: pdn.Tensor(a, dtype=a.dtype)  # noqa: E731
    batches = [(wrap(x[i:i + BATCH]), wrap(y[i:i + BATCH]))
               for i in range(0, n - BATCH + 1, BATCH)]

    def step(xb: Any, yb: Any) -> None:
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()

    def epoch() -> None:
        for xb, yb in batches:
            step(xb, yb)

    def warm() -> None:
        for xb, yb in batches[:3]:
            step(xb, yb)

    res = common.summarize(timed(epoch, cfg["repeats"], warm, cfg["budget_s"]))
    res["samples"] = len(batches) * BATCH
    return res


# ---------------------------------------------------------------------- LSTM
def lstm(framework: str, cfg: dict) -> dict:
    """Time per training step: LSTM(32->128) over 35 steps, batch 64, linear head, Adam."""
    import numpy as np

    if framework == "softgrad" and softgrad_missing("lstm"):
        return {"skipped": softgrad_missing("lstm")}
    rng = np.random.default_rng(0)
    x = rng.standard_normal((LSTM_T, LSTM_B, LSTM_IN)).astype(np.float32)
    y = rng.integers(0, LSTM_CLASSES, size=LSTM_B).astype(np.int64)
    if framework == "softgrad":
        import softgrad as sg
        import softgrad.nn as nn
        import softgrad.nn.functional as F

        sg.manual_seed(0)
        rnn, head = nn.LSTM(LSTM_IN, LSTM_H), nn.Linear(LSTM_H, LSTM_CLASSES)
        params = list(rnn.parameters()) + list(head.parameters())
        opt, loss_fn, wrap = sg.optim.Adam(params, 1e-3), F.cross_entropy, sg.from_numpy
    elif framework == "torch":
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        torch.set_num_threads(cfg["threads"])
        torch.manual_seed(0)
        rnn, head = nn.LSTM(LSTM_IN, LSTM_H), nn.Linear(LSTM_H, LSTM_CLASSES)
        params = list(rnn.parameters()) + list(head.parameters())
        opt, loss_fn, wrap = torch.optim.Adam(params, 1e-3), F.cross_entropy, torch.from_numpy
    else:
        import pydynet as pdn
        import pydynet.nn as nn
        import pydynet.optim as optim

        rnn = nn.LSTM(LSTM_IN, LSTM_H, dtype="float32")
        head = nn.Linear(LSTM_H, LSTM_CLASSES, dtype="float32")
        params = list(rnn.parameters()) + list(head.parameters())
        opt, loss_fn = optim.Adam(params, 1e-3), nn.CrossEntropyLoss()
        wrap = lambda a: pdn.Tensor(a, dtype=a.dtype)  # noqa: E731
    xt, yt, steps = wrap(x), wrap(y), cfg["lstm_steps"]

    def step() -> None:
        opt.zero_grad()
        out, _ = rnn(xt)
        loss = loss_fn(head(out[-1]), yt)
        loss.backward()
        opt.step()

    def run() -> None:
        for _ in range(steps):
            step()

    times = timed(run, cfg["repeats"], step, cfg["budget_s"])
    res = common.summarize([t / steps for t in times])
    res["steps"] = steps
    return res
