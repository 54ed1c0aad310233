"""Recurrent, attention and Transformer names exist with PyTorch's parameter names, order and
defaults (where PyTorch exposes a Python signature; see ``tests/helpers/signatures.py``)."""
from __future__ import annotations

import pytest

import softgrad as sg
from tests.helpers.checks import needs_torch, torch
from tests.helpers.signatures import compare, lookup

NAMES = [f"nn.{n}" for n in (
    "RNN LSTM GRU RNNCell LSTMCell GRUCell MultiheadAttention TransformerEncoderLayer "
    "TransformerEncoder TransformerDecoderLayer TransformerDecoder Transformer").split()]
NAMES += [f"{n}.forward" for n in NAMES]
NAMES += ["nn.Transformer.generate_square_subsequent_mask"]
NAMES += [f"nn.functional.{n}" for n in
          "scaled_dot_product_attention multi_head_attention_forward one_hot".split()]
NAMES += [f"nn.utils.rnn.{n}" for n in
          ("PackedSequence pack_padded_sequence pad_packed_sequence pad_sequence pack_sequence "
           "unpad_sequence unpack_sequence").split()]


@pytest.mark.parametrize("path", NAMES)
def test_name_exists(path: str) -> None:
    assert callable(lookup(sg, path))


@needs_torch
@pytest.mark.parametrize("path", NAMES)
def test_signature_matches_torch(path: str) -> None:
    compare(path, lookup(sg, path), lookup(torch, path))
