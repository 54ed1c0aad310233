"""Copy the example models' table from this folder's results.json into the README.

Run after regenerating this folder (``python -m softgrad experiments --out docs/experiments``):

    python docs/experiments/sync_readme.py

``tests/docs/test_readme.py`` fails while the README's table and results.json disagree.
"""
from __future__ import annotations

import json
import pathlib
import re
import sys

HERE = pathlib.Path(__file__).resolve().parent
README = HERE.parents[1] / "README.md"
START = "<!-- models table: from docs/experiments/results.json (docs/experiments/sync_readme.py) -->"
END = "<!-- end of models table -->"


def load_runs(path: pathlib.Path = HERE / "results.json") -> list:
    """The runs of a results.json as :class:`~softgrad.experiments.results.RunResult`s."""
    from softgrad.experiments.results import EpochLog, RunResult

    runs = []
    for r in json.loads(path.read_text())["runs"]:
        epochs = [EpochLog(**{k: float("nan") if v is None else v for k, v in e.items()})
                  for e in r["epochs"]]
        runs.append(RunResult(r["experiment"], r["dataset"], r["variant"], r["config"], epochs,
                              r["wall_time"], r.get("same_as", "")))
    return runs


def models_block() -> str:
    """The README block: markers around the table made from results.json."""
    from softgrad.experiments.report import models_markdown

    return f"{START}\n{models_markdown(load_runs())}\n{END}"


def readme_block(text: str) -> str:
    """The block as it stands in the README text."""
    match = re.search(re.escape(START) + ".*?" + re.escape(END), text, flags=re.S)
    if match is None:
        raise SystemExit(f"README.md has no models table between {START!r} and {END!r}")
    return match.group(0)


def main() -> int:
    text = README.read_text()
    README.write_text(text.replace(readme_block(text), models_block()))
    print(f"updated the models table in {README}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1]))
    sys.exit(main())
