"""sg.utils.summary: layers, output shapes and parameter counts of one forward pass."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn as nn


def _model():
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(),
                         nn.Sequential(nn.LayerNorm(16), nn.Linear(16, 4)), nn.BatchNorm1d(4))


def test_rows_shapes_and_counts():
    model = _model()
    lines = []
    s = sg.utils.summary(model, (2, 8), print_fn=lines.append)
    assert [(r.name, r.type, r.depth) for r in s.layers] == [
        ("0", "Linear", 1), ("1", "ReLU", 1), ("2", "Sequential", 1), ("2.0", "LayerNorm", 2),
        ("2.1", "Linear", 2), ("3", "BatchNorm1d", 1)]
    assert [r.output_shape for r in s.layers] == [[2, 16], [2, 16], [2, 4], [2, 16], [2, 4],
                                                   [2, 4]]
    assert [r.num_params for r in s.layers] == [8 * 16 + 16, 0, 32 + 68, 32, 16 * 4 + 4, 8]
    assert s.total_params == sum(p.numel() for p in model.parameters()) == 252
    assert s.trainable_params == 252 and s.non_trainable_params == 0
    assert lines == [str(s)]
    text = str(s)
    assert "Total params: 252" in text and "BatchNorm1d" in text and "[2, 16]" in text


def test_depth_frozen_params_and_no_side_effects():
    model = _model()
    model[0].weight.requires_grad_(False)
    bn = model[3]
    before = bn.running_mean.numpy().copy()
    state = sg.get_rng_state()
    model.train()
    s = sg.utils.summary(model, [(3, 8)], depth=1, verbose=False)
    assert [r.name for r in s.layers] == ["0", "1", "2", "3"]
    assert s.trainable_params == 252 - 128 and s.non_trainable_params == 128
    assert model.training and np.array_equal(bn.running_mean.numpy(), before)
    assert sg.get_rng_state().equal(state)


def test_input_data_several_inputs_and_tuple_outputs():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4)
            self.fc = nn.Linear(4, 2)

        def forward(self, ids, scale):
            h = self.emb(ids) * scale
            return self.fc(h), h

    s = sg.utils.summary(Two(), input_data=(sg.tensor([[1, 2, 3]]), sg.ones(1, 3, 1)),
                         verbose=False)
    assert [r.output_shape for r in s.layers] == [[1, 3, 4], [1, 3, 2]]
    assert s.total_params == 40 + 10


def test_bad_input_size():
    with pytest.raises(ValueError, match="input_size"):
        sg.utils.summary(_model(), None, verbose=False)
    with pytest.raises(ValueError, match="shape"):
        sg.utils.summary(_model(), (2, "8"), verbose=False)


def test_each_layer_keeps_its_own_mode():
    model = _model()
    model.train()
    model[3].eval()
    sg.utils.summary(model, (2, 8), verbose=False)
    assert model.training and model[0].training and not model[3].training
