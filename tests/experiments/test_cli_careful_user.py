"""The softgrad command as a careful user meets it: no run lost or overwritten, one clear line
per bad input, honest messages on Ctrl-C and on unexpected failures, log lines as runs finish."""
from __future__ import annotations

import importlib
import io
import shlex
import sys

import pytest

import softgrad as sg
from softgrad.cli import main

train_module = importlib.import_module("softgrad.experiments.train")  # not the train function

FAST = ["--dataset", "breast_cancer", "--batch-size", "128", "--no-progress"]


@pytest.fixture()
def in_tmp(tmp_path, monkeypatch):
    """Run in an empty folder, so the default runs/train is fresh."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _epoch(ck):
    return int(sg.load(ck)["epoch"])


def test_resume_writes_beside_its_checkpoint_and_leaves_other_runs_alone(in_tmp, capsys):
    # a run in the default folder, and a stopped run elsewhere
    assert main(["train", *FAST, "--epochs", "1", "--model", "mlp"]) == 0
    other = (in_tmp / "runs/train/checkpoint.safetensors").read_bytes()
    assert main(["train", *FAST, "--epochs", "3", "--stop-after", "1", "--out", "runs/r2"]) == 0
    # resumed as the README shows it: no --out
    assert main(["train", "--resume", "runs/r2/checkpoint.safetensors", "--no-progress"]) == 0
    assert _epoch("runs/r2/checkpoint.safetensors") == 3
    assert [e["epoch"] for e in sg.load("runs/r2/checkpoint.safetensors")["history"]] == [1, 2, 3]
    assert (in_tmp / "runs/train/checkpoint.safetensors").read_bytes() == other
    assert "checkpoint runs/r2/checkpoint.safetensors" in capsys.readouterr().out


def test_resume_takes_a_folder_and_a_custom_checkpoint_name(in_tmp):
    assert main(["train", *FAST, "--epochs", "2", "--stop-after", "1",
                 "--checkpoint", "keep/ck1.safetensors", "--out", "keep"]) == 0
    assert main(["train", "--resume", "keep/ck1.safetensors", "--no-progress"]) == 0
    assert _epoch("keep/ck1.safetensors") == 2 and not (in_tmp / "keep/checkpoint.safetensors"
                                                         ).exists()
    assert main(["train", *FAST, "--epochs", "2", "--stop-after", "1", "--out", "f"]) == 0
    assert main(["train", "--resume", "f", "--no-progress"]) == 0
    assert _epoch("f/checkpoint.safetensors") == 2


def test_no_run_replaces_another_without_overwrite(in_tmp, capsys):
    assert main(["train", *FAST, "--epochs", "1"]) == 0
    before = (in_tmp / "runs/train/checkpoint.safetensors").read_bytes()
    capsys.readouterr()
    assert main(["train", *FAST, "--epochs", "1", "--seed", "3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out: runs/train/checkpoint.safetensors already holds " \
        "another run (mlp on breast_cancer, 1 of 1 epochs)" in err and "--overwrite" in err
    assert (in_tmp / "runs/train/checkpoint.safetensors").read_bytes() == before
    # resuming into a folder that holds a different run is refused too
    assert main(["train", *FAST, "--epochs", "2", "--stop-after", "1", "--out", "b"]) == 0
    assert main(["train", "--resume", "b", "--out", "runs/train", "--no-progress"]) == 2
    assert (in_tmp / "runs/train/checkpoint.safetensors").read_bytes() == before
    assert main(["train", *FAST, "--epochs", "1", "--seed", "3", "--overwrite"]) == 0
    assert sg.load("runs/train/checkpoint.safetensors")["config"]["seed"] == 3


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """A finished 3-epoch run and one stopped after epoch 1 (of 3)."""
    root = tmp_path_factory.mktemp("cks")
    assert main(["train", *FAST, "--epochs", "3", "--stop-after", "1",
                 "--out", str(root / "stopped")]) == 0
    sg.save(sg.load(root / "stopped/checkpoint.safetensors") | {"epoch": 3},
            root / "done.safetensors")
    (root / "empty").mkdir()
    (root / "a_file").write_text("x")
    (root / "junk.safetensors").write_bytes(b"junk")
    return root


BAD = [  # (argv, the line's start after "softgrad CMD: error: ", words it must contain)
    (["train", "--resume", "{r}/empty"], "--resume: ", ["folder without a checkpoint"]),
    (["train", "--resume", "{r}/nope"], "--resume: ", ["does not exist"]),
    (["train", "--resume", "{r}/junk.safetensors"], "--resume: ", ["not a readable checkpoint"]),
    (["train", "--resume", "{r}/done.safetensors"], "--resume: ",
     ["finished run (3 of 3 epochs)", "--epochs"]),
    (["train", "--resume", "{r}/done.safetensors", "--epochs", "2"], "--epochs: ",
     ["already at epoch 3", "nothing to train"]),
    (["train", "--resume", "{r}/stopped", "--stop-after", "1", "--out", "{r}/x"],
     "--stop-after: ", ["nothing to train"]),
    (["train", "--resume", "{r}/stopped", "--lr", "0.5"], "--lr: ", ["0.5 differs"]),
    (["train", "--out", "{r}/a_file/sub"], "--out: ", ["cannot write", "{r}/a_file/sub"]),
    (["train", "--checkpoint", "{r}/empty"], "--checkpoint: ", ["is a folder"]),
    (["train", "--seed", "-1"], "argument --seed: ", ["expected a whole number", "'-1'"]),
    (["train", "--epochs", "2.5"], "argument --epochs: ", ["expected a whole number", "'2.5'"]),
    (["train", "--lr", "0"], "argument --lr: ", ["expected a positive number"]),
    (["train", "--dataset", "cifar"], "argument --dataset: ", ["invalid choice"]),
    (["train", "--model", "lenet", "--dataset", "breast_cancer", "--out", "{r}/y"], "--model: ",
     ["takes images"]),
    (["train", "--dataset", "mnist", "--data-dir", "{r}/empty"], "--dataset: ",
     ["mnist needs MNIST's four IDX files", "--data-dir", "--download"]),
    (["experiments", "--datasets", "mnist", "--data-dir", "{r}/empty"], "--datasets: ",
     ["--download"]),
    (["experiments", "--out", "{r}/a_file/sub"], "--out: ", ["cannot write"]),
    (["experiments", "--seed", "-1"], "argument --seed: ", ["expected"]),
    (["experiments", "--epochs", "0"], "argument --epochs: ", ["expected"]),
    (["nope"], "argument COMMAND: ", ["invalid choice"]),
]


@pytest.mark.parametrize("argv,start,words", BAD, ids=[" ".join(b[0]) for b in BAD])
def test_every_bad_input_is_one_line_naming_the_option(checkpoints, in_tmp, capsys, argv, start,
                                                       words):
    argv = [a.format(r=checkpoints) for a in argv]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    command = "softgrad" if argv[0] == "nope" else f"softgrad {argv[0]}"
    assert out == "" and err.count("\n") == 1, err  # one line, and no work started
    assert err.startswith(f"{command}: error: {start}"), err
    for word in words:
        assert word.format(r=checkpoints) in err, err
    assert "Traceback" not in err and "_positive_int" not in err and "download=True" not in err


def test_missing_package_names_the_option_and_the_extra(capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mnist1d" else real(name, *a))
    assert main(["train", "--model", "gru"]) == 2
    err = capsys.readouterr().err
    assert err == ("softgrad train: error: --dataset: mnist1d needs the mnist1d package, which "
                   "is not installed (pip install 'softgrad[experiments]')\n")


def _fail_in_epoch(monkeypatch, n, exc):
    real, calls = train_module._train_epoch, []

    def epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            raise exc
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "_train_epoch", epoch)


def test_ctrl_c_says_where_the_checkpoint_is_and_how_to_resume(in_tmp, capsys, monkeypatch):
    real = train_module._train_epoch
    _fail_in_epoch(monkeypatch, 2, KeyboardInterrupt())
    assert main(["train", *FAST, "--epochs", "3", "--out", "r"]) == 130
    err = capsys.readouterr().err.strip()
    ck = "r/checkpoint.safetensors"
    assert err == (f"interrupted while training epoch 2 of 3; the last checkpoint is {ck} "
                   f"(after epoch 1); resume with: softgrad train --resume {ck}")
    monkeypatch.setattr(train_module, "_train_epoch", real)
    assert main(shlex.split(err.split("resume with: ")[1])[1:] + ["--no-progress"]) == 0
    assert _epoch(ck) == 3


def test_ctrl_c_before_the_first_checkpoint_says_nothing_was_saved(in_tmp, capsys, monkeypatch):
    _fail_in_epoch(monkeypatch, 1, KeyboardInterrupt())
    assert main(["train", *FAST, "--epochs", "3"]) == 130
    err = capsys.readouterr().err
    assert "interrupted while training epoch 1 of 3; no checkpoint had been written yet" in err
    assert not (in_tmp / "runs/train/checkpoint.safetensors").exists()


def test_an_unexpected_failure_says_what_it_was_doing_and_where_the_files_are(
        in_tmp, capsys, monkeypatch):
    _fail_in_epoch(monkeypatch, 3, RuntimeError("boom"))
    assert main(["train", *FAST, "--epochs", "3", "--out", "r"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: boom" in err
    assert err.splitlines()[-1] == (
        "softgrad train: unexpected error while training epoch 3 of 3; the last checkpoint is "
        "r/checkpoint.safetensors (after epoch 2); resume with: softgrad train --resume "
        "r/checkpoint.safetensors")


@pytest.mark.parametrize("exc,rc", [(KeyboardInterrupt, 130), (RuntimeError("boom"), 1)])
def test_experiments_interrupted_or_failing_say_how_far_they_got(in_tmp, capsys, monkeypatch,
                                                                  exc, rc):
    import softgrad.experiments.output_loss as output_loss

    real, calls = output_loss.fit, []

    def fit(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise exc
        return real(*args, **kwargs)

    monkeypatch.setattr(output_loss, "fit", fit)
    argv = ["experiments", "--datasets", "breast_cancer", "--epochs", "1", "--experiments",
            "output_loss", "--no-plots", "--no-progress", "--out", "e"]
    assert main(argv) == rc
    err = capsys.readouterr().err
    doing = "training run 2 of 4 (output_loss breast_cancer sigmoid+BCE)"
    if rc == 130:
        assert f"interrupted while {doing}; 1 of 4 runs had finished" in err
    else:
        assert "RuntimeError: boom" in err and err.splitlines()[-1] == (
            f"softgrad experiments: unexpected error while {doing} (after 1 of 4 runs); "
            "nothing was written to e")
    assert "nothing was written to e" in err and not (in_tmp / "e" / "summary.md").exists()


def test_log_lines_are_flushed_and_never_glue_onto_a_bar(monkeypatch):
    from softgrad.experiments.progress import emit

    class Pipe(io.StringIO):
        flushed = ""

        def flush(self):
            Pipe.flushed = self.getvalue()

    pipe = Pipe()
    monkeypatch.setattr(sys, "stdout", pipe)
    emit("run 1 done")
    assert Pipe.flushed == "run 1 done\n"  # a pipe sees each line at once
    tqdm = pytest.importorskip("tqdm")
    written = []
    monkeypatch.setattr(tqdm.tqdm, "write", classmethod(
        lambda cls, s, file=None, end="\n", nolock=False: written.append((s, file))))
    bar = tqdm.tqdm(total=3, file=io.StringIO())
    try:
        emit("run 2 done")
    finally:
        bar.close()
    assert written == [("run 2 done", pipe)]  # tqdm lifts the bar off, prints, redraws it
    emit("run 3 done")
    assert pipe.getvalue().endswith("run 3 done\n") and len(written) == 1
