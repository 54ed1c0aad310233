"""The core depends on NumPy alone: it imports and trains with every optional package blocked."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import softgrad as sg

OPTIONAL = ["torch", "sklearn", "matplotlib", "tqdm", "mnist1d", "onnx", "onnxruntime",
            "mpi4py", "safetensors", "cupy", "numba", "scipy", "pydynet", "graphviz",
            "ml_dtypes", "tensorboard"]

SCRIPT = textwrap.dedent(f"""
    import importlib.abc, sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {OPTIONAL!r}:
                raise ImportError("blocked optional package: " + name)
            return None

    sys.meta_path.insert(0, Block())
    import softgrad as sg
    import softgrad.nn as nn
    import softgrad.nn.functional as F
    from softgrad.utils.data import DataLoader, TensorDataset

    sg.manual_seed(0)
    x = sg.randn(64, 5)
    y = (x[:, 0] > 0).long()
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = sg.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(30):
        for xb, yb in DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True):
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
    sg.save(model.state_dict(), sys.argv[1])
    model.load_state_dict(sg.load(sys.argv[1]))
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in {OPTIONAL!r})
    print("loss", loss.item(), "leaked", leaked)
""")


def test_core_imports_and_trains_with_numpy_only(tmp_path) -> None:
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(sg.__file__)))
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "m.safetensors")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    words = out.stdout.split()
    assert float(words[1]) < 0.3, out.stdout
    assert out.stdout.strip().endswith("leaked []"), out.stdout
