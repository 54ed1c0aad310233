"""softgrad.utils.tensorboard.SummaryWriter: event files read back with TensorBoard's own
EventAccumulator (tags, steps, values), and the ImportError without the package."""
from __future__ import annotations

import glob
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import softgrad as sg

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import (
    EventAccumulator,
)

from softgrad.utils.tensorboard import SummaryWriter


def _load(path: str) -> EventAccumulator:
    acc = EventAccumulator(path, size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_scalars_round_trip(tmp_path) -> None:
    log = str(tmp_path / "run")
    with SummaryWriter(log_dir=log) as w:
        assert w.get_logdir() == log and os.path.isdir(log)
        for step in range(5):
            w.add_scalar("Loss/train", 1.0 / (step + 1), step)
            w.add_scalar("Loss/test", sg.tensor(2.0 * step), step)  # a 0-d Tensor
        w.add_scalar("lr", sg.tensor([0.125]), global_step=sg.tensor(7))
        w.flush()
    acc = _load(log)
    assert sorted(acc.Tags()["scalars"]) == ["Loss/test", "Loss/train", "lr"]
    train = acc.Scalars("Loss/train")
    assert [e.step for e in train] == [0, 1, 2, 3, 4]
    np.testing.assert_allclose([e.value for e in train], [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5],
                               rtol=1e-6)
    assert [e.value for e in acc.Scalars("Loss/test")] == [0.0, 2.0, 4.0, 6.0, 8.0]
    (lr,) = acc.Scalars("lr")
    assert (lr.step, lr.value) == (7, 0.125)
    assert len(glob.glob(os.path.join(log, "events.out.tfevents.*"))) == 1


def test_scalars_group_and_walltime(tmp_path) -> None:
    log = str(tmp_path / "run")
    w = SummaryWriter(log)
    for step in range(3):
        w.add_scalars("run/loss", {"train": step * 1.5, "valid": -step}, step, walltime=100.0)
    w.close()
    for tag, want in (("train", [0.0, 1.5, 3.0]), ("valid", [0.0, -1.0, -2.0])):
        acc = _load(os.path.join(log, "run_loss_" + tag))  # PyTorch's layout
        assert acc.Tags()["scalars"] == ["run/loss"]
        events = acc.Scalars("run/loss")
        assert [e.value for e in events] == want and [e.step for e in events] == [0, 1, 2]
        assert {e.wall_time for e in events} == {100.0}


def test_histogram_and_text(tmp_path) -> None:
    log = str(tmp_path / "run")
    values = np.random.default_rng(0).standard_normal(1000)
    with SummaryWriter(log) as w:
        w.add_histogram("weights", sg.tensor(values, requires_grad=True), 3)
        w.add_histogram("counts", np.arange(10.0), 4, bins=5)
        w.add_histogram("merged", values, 5, bins=40, max_bins=8)
        w.add_text("notes", "hello **world**", 2)
    acc = _load(log)
    assert sorted(acc.Tags()["histograms"]) == ["counts", "merged", "weights"]
    (h,) = acc.Histograms("weights")
    assert h.step == 3
    v = h.histogram_value
    assert v.num == 1000 and sum(v.bucket) == 1000
    np.testing.assert_allclose([v.min, v.max, v.sum, v.sum_squares],
                               [values.min(), values.max(), values.sum(), (values**2).sum()])
    assert all(a < b for a, b in zip(v.bucket_limit, v.bucket_limit[1:]))
    (c,) = acc.Histograms("counts")
    assert list(c.histogram_value.bucket) == [2.0] * 5
    np.testing.assert_allclose(c.histogram_value.bucket_limit, [1.8, 3.6, 5.4, 7.2, 9.0])
    (m,) = acc.Histograms("merged")
    assert len(m.histogram_value.bucket) <= 8 and sum(m.histogram_value.bucket) == 1000
    (t,) = acc.Tensors("notes/text_summary")
    assert t.step == 2 and t.tensor_proto.string_val == [b"hello **world**"]
    assert acc.SummaryMetadata("notes/text_summary").plugin_data.plugin_name == "text"


def test_default_log_dir_comment_and_purge_step(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_lr0.1", purge_step=4)
    w.add_scalar("x", 1.0, 4)
    w.close()
    (run,) = glob.glob(os.path.join("runs", "*"))
    assert run.endswith("_lr0.1") and w.get_logdir() == run
    assert [e.step for e in _load(run).Scalars("x")] == [4]
    with pytest.raises(ValueError, match="0D"):
        SummaryWriter(str(tmp_path / "r2")).add_scalar("x", sg.ones(3), 0)


@pytest.mark.parametrize("name", ["softgrad", "torch"])
def test_without_the_package_the_import_error_names_it(name: str) -> None:
    if name == "torch":
        pytest.importorskip("torch")
    script = textwrap.dedent(f"""
        import sys
        sys.modules["tensorboard"] = None  # as if it were not installed
        try:
            from {name}.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            print("ImportError:", exc)
    """)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(sg.__file__)))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=120)
    assert "ImportError:" in out.stdout and "tensorboard" in out.stdout.lower(), out
    if name == "softgrad":
        assert "softgrad[tensorboard]" in out.stdout
