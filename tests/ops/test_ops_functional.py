"""The nn.functional primitives (activations, convolutions, pooling, padding, resampling,
normalisation, embedding, attention, losses): values and gradients against PyTorch and
central differences, as for every op in tests/helpers/op_cases.py."""
from __future__ import annotations

from tests.helpers.op_cases import FUNCTIONAL, op_tests

test_matches_torch, test_gradient_matches_finite_differences = op_tests(FUNCTIONAL)
