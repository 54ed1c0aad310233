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
