"""The README's example runs and trains (so the front page cannot rot)."""
from __future__ import annotations

import contextlib
import io
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def test_readme_example_runs_and_loss_falls() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python example"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(blocks[0], "README.md", "exec"), {})
    assert float(buf.getvalue().split()[-1]) < 0.1


DOCS = README.parent / "docs" / "experiments"


def _runs():
    import importlib.util

    spec = importlib.util.spec_from_file_location("sync_readme", DOCS / "sync_readme.py")
    sync = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync)
    return sync


def test_readme_models_table_is_the_commands_output() -> None:
    sync = _runs()
    assert sync.readme_block(README.read_text()) == sync.models_block(), (
        "README's models table differs from docs/experiments/results.json: run "
        "python docs/experiments/sync_readme.py")


def test_docs_summary_is_the_commands_table() -> None:
    from softgrad.experiments.report import format_markdown

    runs = _runs().load_runs()
    assert (DOCS / "summary.md").read_text() == format_markdown(runs) + "\n"


def _section(text: str, title: str) -> str:
    return text.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def test_readme_numbers_come_from_the_example_run() -> None:
    runs = _runs().load_runs()
    accs = {f"{100 * a:.1f}%" for r in runs for a in (r.final_test_acc, r.best_test_acc)}
    firsts = [r.epochs[0] for r in runs if r.epochs]
    values = [g.grad_norms[0] / g.grad_norms[-1] for g in firsts if g.grad_norms]
    values += [v for g in firsts for v in g.grad_norms]  # ratios and the norms themselves
    ratios = {re.sub(r"e([+-])0", r"e\1", f"{v:.1e}") for v in values}
    logits = {f"{g.logit_grad_norm:.2g}" for g in firsts}
    for text in (_section(README.read_text(), "The seed experiments"),
                 (DOCS / "README.md").read_text()):
        for pct in re.findall(r"\d+\.\d%", text):
            assert pct in accs, f"{pct} is no test accuracy of docs/experiments/results.json"
        for ratio in re.findall(r"\b\d\.\de-\d\b", text):
            assert ratio in ratios, f"{ratio} is no gradient norm or ratio of the run"
        for grad in re.findall(r"gradient at the logits[^.]*?((?:0\.\d+(?:, | and )?)+)", text):
            for value in re.findall(r"0\.\d+", grad):
                assert value in logits, f"{value} is no logit gradient of the run"
