"""The seed experiments (softgrad.experiments) and PyTorch-style training loops' accuracies."""
from __future__ import annotations

import csv
import itertools
import json
import math

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn as nn
import softgrad.nn.functional as F
from softgrad.experiments import (FitConfig, epochs_to_fraction, fit, gradient_ratio, mlp,
                                  run_depth, run_experiments, run_jacobian, run_output_loss)
from softgrad.experiments.data import load_dataset
from softgrad.experiments.output_loss import VARIANTS
from softgrad.experiments.report import format_markdown, format_table, summary_rows
from softgrad.utils.data import DataLoader



def _train_torch_style(model, split, opt, epochs, batch_size):
    """The loop a PyTorch user writes, unchanged but for the import."""
    train, test = split.datasets()
    loader = DataLoader(train, batch_size=batch_size, shuffle=True)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        model.train()
        for x, y in loader:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
    model.eval()
    with sg.no_grad():
        x_test, y_test = test.tensors
        return (model(x_test).argmax(dim=1) == y_test).float().mean().item()


def test_digits_mlp_reaches_97_percent():
    split = sg.datasets.load_digits()
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    acc = _train_torch_style(model, split, sg.optim.Adam(model.parameters(), lr=1e-2), 15, 32)
    assert acc >= 0.97


def test_breast_cancer_30_50_2_reaches_95_percent():
    split = sg.datasets.load_breast_cancer()
    model = nn.Sequential(nn.Linear(30, 50), nn.Sigmoid(), nn.Linear(50, 2))
    acc = _train_torch_style(model, split, sg.optim.SGD(model.parameters(), lr=0.1), 20, 32)
    assert acc >= 0.95


def test_mnist1d_mlp_reaches_60_percent():
    pytest.importorskip("mnist1d")
    split = sg.datasets.load_mnist1d().standardized(per_feature=False)
    model = nn.Sequential(nn.Linear(40, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 10))
    acc = _train_torch_style(model, split, sg.optim.Adam(model.parameters(), lr=1e-2), 15, 64)
    assert acc >= 0.60


@pytest.mark.parametrize("name", list(VARIANTS))
def test_output_loss_gradient_at_logits_matches_its_formula(name):
    rng = np.random.default_rng(0)
    l, c = 6, 4
    z_np = rng.standard_normal((l, c)) * 3
    y_np = rng.integers(0, c, l)
    z = sg.tensor(z_np, requires_grad=True)
    VARIANTS[name](z, sg.tensor(y_np)).backward()
    y = np.eye(c)[y_np]
    s = 1 / (1 + np.exp(-z_np))
    p = np.exp(z_np - z_np.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected = {
        "softmax+CE": p - y,
        "sigmoid+BCE": s - y,
        "sigmoid+SE": (s - y) * s * (1 - s),
        "softmax+SE": np.einsum("nij,nj->ni", np.einsum("ni,ij->nij", p, np.eye(c))
                                - np.einsum("ni,nj->nij", p, p), p - y),
    }[name] / l
    np.testing.assert_allclose(z.grad.numpy(), expected, atol=1e-12)


def test_cross_entropy_learns_faster_than_squared_error_on_digits():
    split = load_dataset("digits")
    res = {r.variant: r for r in run_output_loss(split, FitConfig(lr=0.1, epochs=4),
                                                 show_progress=False)}
    # same init and batches: the gradient at the logits alone differs
    for ce in ("softmax+CE", "sigmoid+BCE"):
        for se in ("sigmoid+SE", "softmax+SE"):
            assert res[ce].epochs[0].logit_grad_norm > 3 * res[se].epochs[0].logit_grad_norm
            assert res[ce].final_test_acc > res[se].final_test_acc + 0.1


def test_fit_is_reproducible_to_the_bit():
    split = load_dataset("breast_cancer")
    logs = []
    for _ in range(2):
        sg.manual_seed(5)
        model = mlp(30, [8], 2, "tanh")
        r = fit(model, split, F.cross_entropy, FitConfig(epochs=2, seed=3), show_progress=False)
        logs.append([(e.train_loss, e.test_acc) for e in r.epochs])
    assert logs[0] == logs[1]


def test_sigmoid_gradients_vanish_with_depth():
    split = load_dataset("breast_cancer")
    res = {r.variant: r for r in run_depth(split, FitConfig(lr=0.1, epochs=1), depths=(3, 6),
                                           activations=("sigmoid", "relu"),
                                           show_progress=False)}
    assert len(res["sigmoid/depth=6"].epochs[0].grad_norms) == 7
    sig3, sig6 = gradient_ratio(res["sigmoid/depth=3"]), gradient_ratio(res["sigmoid/depth=6"])
    assert sig6 < sig3 < 0.1
    assert gradient_ratio(res["relu/depth=6"]) > 100 * sig6
    norms = res["sigmoid/depth=6"].epochs[0].grad_norms
    assert all(a < b for a, b in itertools.pairwise(norms))  # shrinking towards the input


@pytest.mark.parametrize("dataset", ["breast_cancer", "digits"])
def test_jacobian_view_matches_the_closed_forms(dataset):
    view = run_jacobian(load_dataset(dataset))
    c = 2 if dataset == "breast_cancer" else 10
    jac = np.array(view.jacobian_autograd)
    assert jac.shape == (c, c)
    f = np.array(view.softmax)
    np.testing.assert_allclose(jac, np.diag(f) - np.outer(f, f), atol=1e-14)
    assert view.max_diff_jacobian < 1e-12 and view.max_diff_sigmoid < 1e-12
    assert view.max_diff_grad < 1e-12
    np.testing.assert_allclose(np.array(view.grad_autograd).sum(1), 0, atol=1e-12)
    text = view.format()
    assert "diag(f) - f fᵀ" in text and "(p - y)/l" in text


def test_epochs_to_fraction():
    assert epochs_to_fraction([0.1, 0.5, 0.95, 1.0]) == 3
    assert epochs_to_fraction([0.9, 0.2]) == 1
    assert epochs_to_fraction([]) is None
    assert epochs_to_fraction([0.6, 0.6], best=0.99) is None  # never reaches 90% of 0.99


def _run(experiment, variant, accs, same_as=""):
    from softgrad.experiments.results import EpochLog, RunResult

    epochs = [EpochLog(i + 1, 1.0 / (i + 1), a, a, 0.1) for i, a in enumerate(accs)]
    return RunResult(experiment, "d", variant, {}, epochs, 0.5, same_as)


def test_table_measures_against_the_best_run_and_says_never():
    runs = [_run("depth", "relu", [0.63, 0.95, 0.99]), _run("depth", "sigmoid", [0.63, 0.63, 0.63]),
            _run("models", "gru", [0.5, 0.6]),
            _run("activation", "sigmoid", [0.63, 0.95, 0.99], same_as="depth/relu")]
    rows = {(r[0], r[2]): r for r in summary_rows(runs)}
    assert rows[("depth", "relu")][5] == "2"
    assert rows[("depth", "sigmoid")][5] == "never"  # its own best would say 1
    assert rows[("models", "gru")][5] == "2"  # alone in its group: its own best
    shared = rows[("activation", "sigmoid (= depth relu)")]
    assert shared[7] == "shared" and shared[4] == "0.990"
    md = format_markdown(runs)
    notes = md.split("\n\n", 1)[1].splitlines()
    assert len(notes) == 5 and all(n.startswith("- ") for n in notes)
    columns = md.splitlines()[0].strip("| ").split(" | ")
    assert [n[2:].split(":")[0] for n in notes] == columns[3:]  # one line per numeric column


def test_run_experiments_writes_table_logs_and_plots(tmp_path):
    rep = run_experiments(out=str(tmp_path), quick=True, datasets=["breast_cancer"], epochs=2,
                          show_progress=False)
    n_runs = 4 + 4 + 2 * 4  # output/loss variants, activations, two depths x activations
    assert len(rep.results) == n_runs and len(rep.jacobians) == 1
    assert rep.planned == rep.trained == n_runs - 1  # activation/sigmoid = softmax+CE
    assert all(len(r.epochs) == 2 for r in rep.results)
    table = format_table(rep.results)
    assert "epochs to 90%" in table and "softmax+CE" in table
    md = (tmp_path / "summary.md").read_text()
    assert md == format_markdown(rep.results) + "\n" and md.count("\n|") == n_runs + 1
    with open(tmp_path / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * n_runs
    depth_row = next(r for r in rows if r["variant"] == "sigmoid/depth=6")
    assert float(depth_row["grad_norm_layer7"]) > float(depth_row["grad_norm_layer1"])
    data = json.loads((tmp_path / "results.json").read_text())
    assert len(data["runs"]) == n_runs and data["jacobian"][0]["max_diff_jacobian"] < 1e-12
    assert math.isclose(data["runs"][0]["epochs"][1]["test_acc"],
                        rep.results[0].epochs[1].test_acc, rel_tol=1e-5)
    shared = next(r for r in rep.results if r.experiment == "activation" and
                  r.variant == "sigmoid")
    first = next(r for r in rep.results if r.variant == "softmax+CE")
    assert shared.same_as == "output_loss/softmax+CE" and shared.epochs == first.epochs
    assert shared.epochs[0].grad_norms and not math.isnan(first.epochs[0].logit_grad_norm)
    pytest.importorskip("matplotlib")
    from softgrad.experiments.plots import DPI, PANEL

    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs == ["activation_breast_cancer.png", "depth_breast_cancer.png",
                    "grad_norms_breast_cancer.png", "jacobian_breast_cancer.png",
                    "output_loss_breast_cancer.png"]
    for name in pngs:
        if name.startswith("jacobian"):
            continue  # tests/experiments/test_jacobian_plots.py checks the heatmaps
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        panels = 3 if name.startswith("output_loss") else 2  # depth: 3 and 6 hidden layers
        assert width == round(panels * PANEL[0] * DPI) and height >= 500, (name, width)



def test_run_experiments_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown experiments"):
        run_experiments(out=None, experiments=["nope"])
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("cifar")


def test_example_models_map_their_inputs_to_logits():
    from softgrad.experiments import zoo
    from softgrad.experiments.data import make_sequence_task

    cases = [(zoo.LeNet(1, 8, 10), (2, 1, 8, 8)), (zoo.LeNet(1, 28, 10), (2, 1, 28, 28)),
             (zoo.CNN1d(1, 40, 10), (2, 1, 40)), (zoo.GRUClassifier(1, 10), (2, 1, 40))]
    for model, shape in cases:
        out = model(sg.randn(*shape))
        assert out.shape == (2, 10)
        out.sum().backward()
        assert all(p.grad is not None for p in model.parameters())
    seq = make_sequence_task(50, 10, seed=1)
    counts = (seq.x_train[:, :, None] == np.arange(8)).sum(1)
    assert (counts.argmax(1) == seq.y_train).all()
    assert (np.sort(counts, 1)[:, -1] > np.sort(counts, 1)[:, -2]).all()
    tr = zoo.TransformerClassifier(8, 16, 8)
    assert tr(sg.tensor(seq.x_test)).shape == (10, 8)


def test_run_experiments_without_matplotlib_skips_the_plots(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    said = []
    rep = run_experiments(out=str(tmp_path), quick=True, datasets=["breast_cancer"], epochs=1,
                          experiments=["output_loss"], show_progress=False, log=said.append)
    assert len(rep.results) == 4 and not list(tmp_path.glob("*.png"))
    assert (tmp_path / "summary.md").exists() and any("skipping the plots" in m for m in said)
