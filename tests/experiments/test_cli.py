"""The softgrad command, called in-process through softgrad.cli.main."""
from __future__ import annotations

import json
import math
import subprocess
import sys
import types

import pytest

import softgrad as sg
from softgrad.cli import build_parser, main

TINY = ["--dataset", "breast_cancer", "--batch-size", "64", "--no-progress"]


def _train(tmp_path, name, *extra):
    out = tmp_path / name
    assert main(["train", *TINY, "--out", str(out), *extra]) == 0
    return out, sg.load(out / "checkpoint.safetensors")


def test_experiments_command_prints_the_table_and_writes_files(tmp_path, capsys):
    out = tmp_path / "exp"
    rc = main(["experiments", "--quick", "--datasets", "breast_cancer", "--epochs", "1",
               "--experiments", "output_loss", "jacobian", "--no-plots", "--no-progress",
               "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "final train loss" in text and "sigmoid+SE" in text
    assert "diag(f) - f fᵀ" in text and "\n4 runs in" in text
    # a line per finished run, before the table (stdout is not a terminal here)
    lines = text.splitlines()
    done = [i for i, line in enumerate(lines) if line.startswith("[")]
    assert [lines[i].split(":")[0] for i in done] == [
        f"[{k}/4] output_loss breast_cancer {v}"
        for k, v in enumerate(["softmax+CE", "sigmoid+BCE", "sigmoid+SE", "softmax+SE"], 1)]
    assert done[-1] < lines.index(next(x for x in lines if x.startswith("experiment ")))
    assert sorted(p.name for p in out.iterdir()) == ["jacobian.txt", "results.csv",
                                                    "results.json", "summary.md"]
    runs = json.loads((out / "results.json").read_text())["runs"]
    assert [r["variant"] for r in runs] == ["softmax+CE", "sigmoid+BCE", "sigmoid+SE",
                                            "softmax+SE"]


def test_train_writes_a_checkpoint_each_epoch(tmp_path, capsys):
    out, ck = _train(tmp_path, "run", "--epochs", "2", "--optimizer", "sgd", "--lr", "0.1")
    assert ck["epoch"] == 2 and set(ck) >= {"model", "optimizer", "scheduler", "rng_state",
                                            "history", "config"}
    assert ck["config"]["optimizer"] == "sgd" and len(ck["history"]) == 2
    text = capsys.readouterr().out
    assert "epoch 2/2" in text and "test accuracy" in text
    hist = json.loads((out / "history.json").read_text())
    assert [e["epoch"] for e in hist["epochs"]] == [1, 2]


@pytest.mark.parametrize("extra", [["--optimizer", "adam", "--scheduler", "cosine"],
                                   ["--optimizer", "momentum", "--lr", "0.05",
                                    "--scheduler", "step"]])
def test_resume_is_bit_exact(tmp_path, extra):
    _, full = _train(tmp_path, "full", "--epochs", "4", *extra)
    _train(tmp_path, "part", "--epochs", "4", "--stop-after", "2", *extra)
    ck_path = tmp_path / "part" / "checkpoint.safetensors"
    assert sg.load(ck_path)["epoch"] == 2
    assert main(["train", "--resume", str(ck_path), "--out", str(tmp_path / "part"),
                 "--no-progress"]) == 0
    resumed = sg.load(ck_path)
    assert resumed["epoch"] == 4
    assert [e["train_loss"] for e in resumed["history"]] == \
        [e["train_loss"] for e in full["history"]]
    for key, value in full["model"].items():
        assert value.numpy().tobytes() == resumed["model"][key].numpy().tobytes()
    assert resumed["rng_state"].equal(full["rng_state"])


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"softgrad {sg.__version__}\n"
    assert build_parser().parse_args(["experiments"]).out == "runs/experiments"


def test_only_rank_zero_prints_and_saves(tmp_path, capsys, monkeypatch):
    fake = types.ModuleType("softgrad.distributed")
    fake.is_initialized = lambda: True
    fake.get_rank = lambda group=None: 1
    monkeypatch.setitem(sys.modules, "softgrad.distributed", fake)
    assert main(["train", *TINY, "--epochs", "1", "--out", str(tmp_path / "r1")]) == 0
    assert not (tmp_path / "r1").exists() and capsys.readouterr().out == ""
    fake.get_rank = lambda group=None: 0
    assert main(["train", *TINY, "--epochs", "1", "--out", str(tmp_path / "r0")]) == 0
    assert (tmp_path / "r0" / "checkpoint.safetensors").exists()


def test_python_dash_m_softgrad_runs():
    proc = subprocess.run([sys.executable, "-m", "softgrad", "train", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "--resume PATH" in proc.stdout


@pytest.mark.parametrize("model,dataset", [("lenet", "digits"), ("cnn1d", "mnist1d"),
                                           ("gru", "mnist1d"), ("transformer", "sequence")])
def test_train_example_models_on_their_datasets(tmp_path, model, dataset):
    if dataset == "mnist1d":
        pytest.importorskip("mnist1d")
    out = tmp_path / model
    assert main(["train", "--model", model, "--epochs", "1", "--quick", "--no-progress",
                 "--out", str(out)]) == 0
    ck = sg.load(out / "checkpoint.safetensors")
    assert ck["config"]["dataset"] == dataset and ck["epoch"] == 1
    assert math.isfinite(ck["history"][0]["train_loss"])
    assert 0.0 <= ck["history"][0]["test_acc"] <= 1.0


def test_train_refuses_a_model_the_dataset_does_not_fit(tmp_path, capsys):
    assert main(["train", "--model", "lenet", "--dataset", "breast_cancer",
                 "--out", str(tmp_path)]) == 2
    assert "takes images (C, H, W)" in capsys.readouterr().err


def _fake_mnist(root, n_train=96, n_test=32):
    """Tiny MNIST-shaped IDX files (uint8 images, labels 0..9) under root/MNIST/raw."""
    import struct

    import numpy as np

    folder = root / "MNIST" / "raw"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        (folder / f"{prefix}-images-idx3-ubyte").write_bytes(
            bytes([0, 0, 8, 3]) + struct.pack(">3I", n, 28, 28) + images.tobytes())
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(
            bytes([0, 0, 8, 1]) + struct.pack(">I", n) + labels.tobytes())


def test_mnist_joins_when_its_files_are_present(tmp_path, monkeypatch):
    from softgrad.experiments.data import mnist_available
    from softgrad.experiments.example_models import example_runs
    from softgrad.experiments.runner import resolve_datasets

    data = tmp_path / "data"
    assert not mnist_available(data)
    _fake_mnist(data)
    assert mnist_available(data) and "mnist" in resolve_datasets(None, data)
    assert ("lenet", "mnist") in example_runs(resolve_datasets(None, data))
    monkeypatch.setenv("SOFTGRAD_DATA", str(data))
    assert main(["train", "--model", "lenet", "--dataset", "mnist", "--epochs", "1",
                 "--quick", "--no-progress", "--out", str(tmp_path / "run")]) == 0
    assert sg.load(tmp_path / "run" / "checkpoint.safetensors")["config"]["dataset"] == "mnist"


def test_every_recipe_fixes_all_its_settings():
    from softgrad.experiments.train import RECIPES, TrainConfig, recipe

    for model in RECIPES:
        cfg = recipe(model)
        assert cfg.model == model and cfg.optimizer == "adam" and cfg.seed == 0
        # a recipe must not silently inherit TrainConfig's (mlp) defaults
        assert set(RECIPES[model]) >= {"dataset", "epochs", "lr", "batch_size", "scheduler"}
    assert recipe("mlp") == TrainConfig()
    assert recipe("gru", lr=0.5, epochs=None).lr == 0.5
