"""PyTorch training scripts run unchanged on softgrad.

The scripts below are plain PyTorch code (``import torch``, ``import torch.nn as nn``,
``from torch.utils.data import DataLoader`` ...). They are executed once with the real
``torch`` and once with ``torch`` (and its submodules) resolving to softgrad. The first
script uses the whole training toolkit and checks that the loss falls, the model learns and a
checkpoint reloads exactly; the second is seed-free, so both libraries must give the same
numbers.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import needs_torch, torch

ALIASES = {
    "torch": sg, "torch.nn": sg.nn, "torch.nn.functional": sg.nn.functional,
    "torch.nn.init": sg.nn.init, "torch.nn.utils": sg.nn.utils, "torch.optim": sg.optim,
    "torch.optim.lr_scheduler": sg.optim.lr_scheduler, "torch.utils": sg.utils,
    "torch.utils.data": sg.utils.data, "torch.autograd": sg.autograd,
}


@contextmanager
def _torch_is_softgrad():
    """``import torch...`` gives softgrad inside the block (sys.modules restored after)."""
    saved = {k: sys.modules.get(k) for k in ALIASES}
    try:
        sys.modules.update(ALIASES)
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def _run(script: str, on_softgrad: bool, **env) -> dict:
    ns = dict(env, __name__="__script__")
    code = compile(script, "<pytorch script>", "exec")
    if on_softgrad:
        with _torch_is_softgrad():
            exec(code, ns)
    else:  # tests run torch in float64 by default; a script sees PyTorch's own default
        old = torch.get_default_dtype()
        torch.set_default_dtype(torch.float32)
        try:
            exec(code, ns)
        finally:
            torch.set_default_dtype(old)
    return ns


TRAINING_SCRIPT = '''
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset, random_split
from torch.optim.lr_scheduler import StepLR

device = torch.device("cuda" if torch.cuda.is_available() and USE_CUDA else "cpu")
torch.manual_seed(0)
X = torch.randn(480, 10)
w_true = torch.randn(10, 3)
y = (X @ w_true).argmax(dim=1)
dataset = TensorDataset(X, y)
train_ds, val_ds = random_split(dataset, [384, 96], generator=torch.Generator().manual_seed(0))
train_loader = DataLoader(train_ds, batch_size=32, shuffle=True, drop_last=False)
val_loader = DataLoader(val_ds, batch_size=64)


class MLP(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.fc1 = nn.Linear(10, hidden)
        self.bn = nn.BatchNorm1d(hidden)
        self.drop = nn.Dropout(p=0.1)
        self.fc2 = nn.Linear(hidden, 3)

    def forward(self, x):
        x = F.relu(self.bn(self.fc1(x)))
        return self.fc2(self.drop(x))


model = MLP().to(device)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
scheduler = StepLR(optimizer, step_size=4, gamma=0.5)


def evaluate(net):
    net.eval()
    total_loss, correct, total = 0.0, 0, 0
    with torch.inference_mode():
        for xb, yb in val_loader:
            xb, yb = xb.to(device), yb.to(device)
            out = net(xb)
            total_loss += criterion(out, yb).item() * xb.size(0)
            correct += (out.argmax(dim=1) == yb).sum().item()
            total += yb.size(0)
    return total_loss / total, correct / total


epoch_losses = []
for epoch in range(8):
    model.train()
    running = 0.0
    for xb, yb in train_loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
        optimizer.step()
        running += loss.item() * xb.shape[0]
    scheduler.step()
    epoch_losses.append(running / len(train_ds))

val_loss, val_acc = evaluate(model)
lr_now = scheduler.get_last_lr()[0]
torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "epoch": 8}, CHECKPOINT)
checkpoint = torch.load(CHECKPOINT)
restored = MLP().to(device)
restored.load_state_dict(checkpoint["model"])
optimizer2 = torch.optim.Adam(restored.parameters(), lr=1e-2, weight_decay=1e-4)
optimizer2.load_state_dict(checkpoint["optimizer"])
val_loss2, val_acc2 = evaluate(restored)
with torch.no_grad():
    probe = restored(X[:4].to(device)).new_zeros(4, 3).sum().item()
grad_free = all(p.grad is None for p in restored.parameters())
param_dtype = str(next(model.parameters()).dtype)
'''


@pytest.mark.parametrize("lib", ["softgrad", "torch"])
def test_training_script_runs_unchanged(lib: str, tmp_path) -> None:
    if lib == "torch" and torch is None:
        pytest.skip("torch is not installed")
    ns = _run(TRAINING_SCRIPT, lib == "softgrad", CHECKPOINT=str(tmp_path / "ckpt.pt"),
              USE_CUDA=False)
    losses = ns["epoch_losses"]
    assert len(losses) == 8 and all(np.isfinite(losses))
    assert losses[-1] < 0.5 * losses[0], losses
    assert ns["val_acc"] >= 0.85, ns["val_acc"]
    assert ns["val_loss2"] == ns["val_loss"] and ns["val_acc2"] == ns["val_acc"]
    assert ns["lr_now"] == pytest.approx(1e-2 * 0.25)
    assert ns["grad_free"] and ns["param_dtype"].endswith("float32") and ns["probe"] == 0
    assert str(ns["device"]) == "cpu"
    if lib == "softgrad":
        assert isinstance(ns["model"].fc1.weight, sg.nn.Parameter)


SEED_FREE_SCRIPT = '''
import torch
import torch.nn as nn
from torch.optim.lr_scheduler import CosineAnnealingLR

model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
with torch.no_grad():
    for p, w in zip(model.parameters(), WEIGHTS):
        p.copy_(torch.tensor(w))
x, y = torch.tensor(X), torch.tensor(Y)
loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9, nesterov=True,
                      weight_decay=1e-3)
sched = CosineAnnealingLR(opt, T_max=15)
history = []
for step in range(15):
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    sched.step()
    history.append(loss.item())
model.eval()
with torch.no_grad():
    final = model(x).softmax(dim=1).numpy()
'''


@needs_torch
def test_seed_free_script_gives_torchs_numbers() -> None:
    rng = np.random.default_rng(0)
    shapes = [(8, 4), (8,), (3, 8), (3,)]
    env = {"WEIGHTS": [rng.standard_normal(s).astype(np.float32) * 0.5 for s in shapes],
           "X": rng.standard_normal((32, 4)).astype(np.float32),
           "Y": rng.integers(0, 3, 32)}
    ours = _run(SEED_FREE_SCRIPT, True, **env)
    theirs = _run(SEED_FREE_SCRIPT, False, **env)
    np.testing.assert_allclose(ours["history"], theirs["history"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours["final"], theirs["final"], atol=1e-4)
    assert ours["history"][-1] < 0.7 * ours["history"][0]
    assert ours["final"].dtype == np.float32
