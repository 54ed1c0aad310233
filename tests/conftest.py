"""Shared test fixtures (seeded RNG, float64 helpers) and the GPU markers' skips."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
from softgrad import backend


@pytest.fixture(autouse=True)
def _seed() -> None:
    sg.manual_seed(0)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def torch_float32():
    """PyTorch with its own default dtype (float32) for the test: ``tests/helpers/checks.py``
    switches torch's default to float64 when imported, which would change what torch prints
    and builds in tests that compare defaults."""
    try:
        import torch
    except ImportError:
        yield None  # tests that need torch skip themselves
        return
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    yield torch
    torch.set_default_dtype(old)


# ---------------------------------------------------------------------- GPU-only tests
# ``@pytest.mark.gpu`` tests need CuPy and an NVIDIA GPU; ``@pytest.mark.no_gpu`` tests check
# the answers of a machine without one. Each group is skipped here with one reason, so the
# skip summary shows it as one line and any other skip stands out.
GPU_PRESENT = backend.cuda_available()
NO_GPU_REASON = "GPU test: needs CuPy and an NVIDIA GPU (mark: gpu)"
GPU_PRESENT_REASON = "CPU-only answer: a GPU is present (mark: no_gpu)"


def pytest_runtest_setup(item: pytest.Item) -> None:
    if not GPU_PRESENT and item.get_closest_marker("gpu") is not None:
        pytest.skip(NO_GPU_REASON)
    if GPU_PRESENT and item.get_closest_marker("no_gpu") is not None:
        pytest.skip(GPU_PRESENT_REASON)


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """One line for the skips the machine explains (GPU present or not), then every other skip
    grouped by reason: those are the ones to look at."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if r.when != "teardown"]
    if not skipped:
        return
    expected = {NO_GPU_REASON: "no CUDA device", GPU_PRESENT_REASON: "a GPU is present"}
    by_reason: dict[str, int] = {}
    for report in skipped:
        reason = _skip_reason(report)
        by_reason[reason] = by_reason.get(reason, 0) + 1
    for reason, why in expected.items():
        if reason in by_reason:
            n = by_reason.pop(reason)
            what = "GPU" if reason == NO_GPU_REASON else "CPU-only"
            terminalreporter.write_line(f"{n} {what} test{'s' * (n != 1)} skipped ({why})")
    if by_reason:
        n = sum(by_reason.values())
        terminalreporter.write_line(f"{n} other test{'s' * (n != 1)} skipped:")
        if not set(config.option.reportchars) & set("saA"):  # else -rs lists them below
            for reason, k in sorted(by_reason.items(), key=lambda kv: -kv[1]):
                terminalreporter.write_line(f"  {k} x {reason}")
