"""softgrad.distributed, DistributedDataParallel and DistributedSampler.

The multi-process tests launch ``mpiexec -n N`` on loopback with the worker scripts in
``tests/scale/distributed_workers/`` and skip cleanly when mpi4py or mpiexec is missing.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import softgrad as sg
import softgrad.distributed as dist
from softgrad import nn
from softgrad.engine import backward as engine
from softgrad.utils.data import DataLoader, DistributedSampler, TensorDataset

ROOT = Path(__file__).resolve().parents[2]
WORKERS = Path(__file__).resolve().parent / "distributed_workers"


def _mpiexec() -> str | None:
    local = Path(sys.executable).parent / "mpiexec"
    return str(local) if local.exists() else shutil.which("mpiexec")


MPIEXEC = _mpiexec()
needs_mpi = pytest.mark.skipif(not dist.is_available() or MPIEXEC is None,
                               reason="needs mpi4py and mpiexec (the 'mpi' extra)")


def _launch(n: int, script: str, *args: str, timeout: float = 60.0) -> tuple[int, str, float]:
    """Run ``mpiexec -n n python script args`` (script ``-m`` runs a module); (return code,
    stdout+stderr, seconds)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    target = [script] if script == "-m" else [str(WORKERS / script)]
    cmd = [MPIEXEC, "-n", str(n), sys.executable, *target, *args]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the job we started, and only it
        out, _ = proc.communicate()
        pytest.fail(f"mpiexec -n {n} {script} hung for {timeout} s:\n{out[-3000:]}")
    return proc.returncode, out, time.monotonic() - t0


def _results(tmp_path: Path, n: int) -> list[dict]:
    return [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(n)]


# ---------------------------------------------------------------------- multi-process
@needs_mpi
@pytest.mark.parametrize("n", [2, 4])
@pytest.mark.parametrize("variant", [[], ["--accum", "--small-buckets"],
                                     ["--small-buckets", "--fake-cuda"]],
                         ids=["plain", "accum-small-buckets", "fake-cuda"])
def test_ddp_epoch_equals_single_process(tmp_path: Path, n: int, variant: list) -> None:
    rc, out, _ = _launch(n, "ddp_equivalence.py", str(tmp_path), *variant)
    assert rc == 0, out[-3000:]
    for res in _results(tmp_path, n):
        assert res["world"] == n
        assert res["max_error"] < 1e-5, res     # float64: the same parameters as one process
        assert res["moved"] > 1e-2, res         # ... and training did change them
        assert res["rank_spread"] == 0.0, res   # every replica holds identical parameters
        assert res["on_device"]  # parameters and gradients stay on the model's device
        assert res["buckets"] == (5 if variant else 1)
        # every bucket's allreduce started from a gradient hook, during backward
        assert res["overlapped"] == res["buckets"]


@needs_mpi
@pytest.mark.parametrize("n", [2, 4])
def test_collective_values(tmp_path: Path, n: int) -> None:
    rc, out, _ = _launch(n, "collectives.py", str(tmp_path))
    assert rc == 0, out[-3000:]
    results = _results(tmp_path, n)
    total = sum(range(n))
    prod = [float(np.prod(np.arange(1, n + 1))), 0]
    shares = []
    for r, res in enumerate(results):
        assert (res["rank"], res["world"], res["backend"]) == (r, n, "mpi")
        assert not res["initialized_before"] and res["initialized"]
        assert not res["initialized_after"]
        assert res["sum"] == [total, n] and res["sum_dtype"] == "softgrad.float32"
        assert res["avg"] == [total / n, 2.0]
        assert res["prod"] == prod
        assert res["max"] == [n - 1, 0] and res["min"] == [0, -(n - 1)]
        expect = (np.arange(6.0).reshape(2, 3) * sum(range(1, n + 1))).T
        assert res["transposed"] == expect.tolist() and res["base_after"] == expect.T.tolist()
        assert res["async"] == [total] * 3 and res["async_done"]
        assert res["broadcast"] == [i * (n - 1 + 10) for i in range(4)]
        assert res["all_gather"] == [(np.full((2, 2), q) + np.eye(2)).tolist()
                                     for q in range(n)]
        assert (res["sampler_rank"], res["sampler_replicas"]) == (r, n)
        assert res["weight_sum_True"] == results[0]["weight_sum_True"]  # rank 0's init
        assert res["weight_sum_False"] == results[0]["weight_sum_False"]
        assert res["bn_mean_True"] == [1.0] * 4          # rank 0's buffers before forward
        assert res["bn_mean_False"] == [float(r + 1)] * 4  # each rank keeps its own
        assert res["ddp_state_keys"] == ["module.0.bias", "module.0.weight"]
        shares.append(res["sampler"])
    epoch0 = [list(DistributedSampler(range(11), n, r, seed=3)) for r in range(n)]
    samplers = [DistributedSampler(range(11), n, r, seed=3) for r in range(n)]
    for s in samplers:
        s.set_epoch(2)
    assert shares == [list(s) for s in samplers]
    assert shares != epoch0  # set_epoch changed the permutation


@needs_mpi
@pytest.mark.parametrize("mode", ["hang", "leave", "kill"])
def test_dead_rank_stops_the_job_with_a_clear_error(mode: str) -> None:
    rc, out, seconds = _launch(2, "dead_rank.py", mode, timeout=60)
    assert f"rank 1: dying ({mode})" in out
    assert "finished all steps" not in out
    assert rc != 0, out[-3000:]
    assert seconds < 30, f"took {seconds:.1f} s"  # start-up included; the deadline is 2 s
    if mode == "kill":  # the launcher notices the killed process and ends the job
        assert "Killed" in out or "timed out" in out, out[-3000:]
    elif mode == "hang" or "[rank 0/2]" in out:  # the deadline (2 s) fires on rank 0
        assert "[rank 0/2] softgrad.distributed: all_reduce(SUM)" in out, out[-3000:]
        # the message above is the clear error; the traceback after it may be cut short when
        # the job is aborted while it is still being printed
        assert "timed out after 2 s" in out
    # else: a peer that exits normally mid-run is sometimes reported by the launcher first,
    # which then ends the job (rc != 0, within the time limit) before rank 0's deadline fires


@needs_mpi
def test_cli_train_under_mpiexec_rank0_prints_and_saves(tmp_path: Path) -> None:
    out = tmp_path / "run"
    rc, text, _ = _launch(2, "-m", "softgrad", "train", "--quick", "--epochs", "2",
                          "--no-progress", "--out", str(out), timeout=120)
    assert rc == 0, text[-3000:]
    assert text.count("epoch 1/2") == 1 and text.count("epoch 2/2") == 1, text
    assert text.count("test accuracy") == 1
    assert (out / "checkpoint.safetensors").exists() and (out / "history.json").exists()
    hist = json.loads((out / "history.json").read_text())
    losses = [e["train_loss"] for e in hist["epochs"]]
    assert len(losses) == 2 and losses[1] < losses[0]
    # resuming under mpiexec continues the run from rank 0's checkpoint
    rc, text, _ = _launch(2, "-m", "softgrad", "train", "--epochs", "3", "--no-progress",
                          "--out", str(out), "--resume", str(out / "checkpoint.safetensors"),
                          timeout=120)
    assert rc == 0, text[-3000:]
    assert text.count("epoch 3/3") == 1 and "epoch 1/3" not in text


@needs_mpi
def test_single_process_without_mpiexec() -> None:
    code = ("import softgrad as sg, softgrad.distributed as d, softgrad.nn as nn\n"
            "assert d.launched_world_size() == 1 and not d.init_from_launcher()\n"
            "d.init_process_group(timeout=30)\n"
            "m = nn.parallel.DistributedDataParallel(nn.Linear(3, 2))\n"
            "x = sg.randn(4, 3)\n"
            "m(x).sum().backward()\n"
            "ref = x.sum(0).expand(2, 3)\n"
            "assert (m.module.weight.grad - ref).abs().max().item() < 1e-6\n"
            "t = sg.ones(2)\n"
            "d.all_reduce(t, op=d.ReduceOp.AVG)\n"
            "print(d.get_rank(), d.get_world_size(), t.tolist())\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE",
                                                           "PMIX_SIZE")}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[0] == "0 1 [1.0, 1.0]"


# ---------------------------------------------------------------------- in-process
def test_uninitialized_group_errors() -> None:
    assert not dist.is_initialized()
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.get_rank()
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.all_reduce(sg.ones(2))
    with pytest.raises(RuntimeError, match="init_process_group"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="backend"):
        dist.init_process_group("nccl")
    with pytest.raises(RuntimeError, match="num_replicas and rank"):
        DistributedSampler(range(4))


@pytest.mark.parametrize("n", [0, 1, 7, 10, 11])
@pytest.mark.parametrize("replicas", [1, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
def test_distributed_sampler_partition(n: int, replicas: int, drop_last: bool,
                                       shuffle: bool) -> None:
    shares = [list(DistributedSampler(range(n), replicas, r, shuffle=shuffle, seed=5,
                                      drop_last=drop_last)) for r in range(replicas)]
    lengths = {len(s) for s in shares}
    assert len(lengths) == 1  # equal shares
    each = lengths.pop()
    assert each == len(DistributedSampler(range(n), replicas, 0, drop_last=drop_last))
    flat = [i for s in shares for i in s]
    if drop_last:
        assert each == n // replicas and len(set(flat)) == len(flat)
    else:
        assert each == -(-n // replicas) and set(flat) == set(range(n))
    # batch k of all processes together is a contiguous run of the epoch's permutation
    perm = list(DistributedSampler(range(n), 1, 0, shuffle=shuffle, seed=5))
    interleaved = [shares[r][i] for i in range(each) for r in range(replicas)]
    if n:
        assert interleaved[:min(n, len(interleaved))] == perm[:min(n, len(interleaved))]
    assert shuffle or perm == list(range(n))


def test_distributed_sampler_matches_torch_without_shuffle() -> None:
    torch_data = pytest.importorskip("torch.utils.data")
    for n in (5, 10, 13):
        for replicas in (2, 3, 4):
            for drop_last in (False, True):
                for r in range(replicas):
                    ours = DistributedSampler(range(n), replicas, r, shuffle=False,
                                              drop_last=drop_last)
                    ref = torch_data.DistributedSampler(range(n), replicas, r, shuffle=False,
                                                        drop_last=drop_last)
                    assert list(ours) == list(ref) and len(ours) == len(ref)


def test_distributed_sampler_epochs_and_errors() -> None:
    s = DistributedSampler(range(20), 2, 1, seed=1)
    e0 = list(s)
    assert list(s) == e0
    s.set_epoch(1)
    e1 = list(s)
    assert e1 != e0
    other = DistributedSampler(range(20), 2, 0, seed=1)
    other.set_epoch(1)
    assert sorted(e1 + list(other)) == list(range(20))
    assert list(DistributedSampler(range(20), 2, 1, seed=2)) != e0  # the seed matters
    with pytest.raises(ValueError, match="Invalid rank 2"):
        DistributedSampler(range(4), 2, 2)
    with pytest.raises(ValueError, match="num_replicas"):
        DistributedSampler(range(4), 0, 0)
    ds = TensorDataset(sg.arange(10))
    loader = DataLoader(ds, batch_size=2, sampler=DistributedSampler(ds, 2, 0, shuffle=False))
    assert [b[0].tolist() for b in loader] == [[0, 2], [4, 6], [8]]


def test_post_accumulate_grad_hook_semantics() -> None:
    w = sg.tensor([1.0, 2.0], requires_grad=True)
    seen: list = []
    handle = w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
    (w * w).sum().backward()
    (w * 3).sum().backward()
    assert seen == [[2.0, 4.0], [5.0, 7.0]]  # each call sees the accumulated .grad
    (w * w + w).sum().backward(inputs=[w])
    assert seen[-1] == [8.0, 12.0]
    handle.remove()
    w.sum().backward()
    assert len(seen) == 3
    y = w * 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        y.register_post_accumulate_grad_hook(lambda p: None)
    with pytest.raises(RuntimeError, match="doesn't require"):
        sg.ones(2).register_post_accumulate_grad_hook(lambda p: None)
    # autograd.grad does not accumulate, so the hook does not run
    h2 = w.register_post_accumulate_grad_hook(lambda p: seen.append("grad"))
    sg.autograd.grad((w * w).sum(), [w])
    assert seen[-1] != "grad"
    h2.remove()


def test_queued_callback_runs_after_backward() -> None:
    a = sg.tensor([1.0], requires_grad=True)
    b = sg.tensor([2.0], requires_grad=True)
    log: list = []

    def hook(p: sg.Tensor) -> None:
        log.append(("hook", p.grad.item()))
        if len(log) == 1:
            engine.queue_callback(lambda: log.append(("done", a.grad.item(), b.grad.item())))

    a.register_post_accumulate_grad_hook(hook)
    b.register_post_accumulate_grad_hook(hook)
    (a * b * 5).sum().backward()
    assert sorted(log[:2]) == [("hook", 5.0), ("hook", 10.0)]
    assert log[2] == ("done", 10.0, 5.0) and len(log) == 3
    log.clear()
    with pytest.raises(RuntimeError):  # a failed backward drops the queued callbacks
        (a * b).sum().backward(gradient=sg.ones(3))
    assert engine._final_callbacks == []


def test_ddp_buckets_group_by_dtype_within_the_cap() -> None:
    from softgrad.nn.parallel.distributed import _make_buckets

    params = [nn.Parameter(sg.zeros(n, dtype=dt)) for n, dt in
              [(100, sg.float32), (300, sg.float32), (50, sg.float64), (200, sg.float32),
               (10, sg.float64)]]
    buckets = _make_buckets(params, cap_bytes=1600)  # 400 float32 per bucket
    # reverse registration order (the order backward tends to produce gradients); full
    # buckets first, then the open one of each dtype
    assert [[p.numel() for p in b.params] for b in buckets] == [[200], [10, 50], [300, 100]]
    assert [b.flat.dtype for b in buckets] == [np.float32, np.float64, np.float32]
    assert [b.flat.size for b in buckets] == [201, 62, 402]  # values + one use count each
