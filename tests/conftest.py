"""Shared test fixtures: seeded RNG, float64 helpers."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg


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
