"""docs/derivation.ipynb runs top to bottom in a real Jupyter kernel, every check holding.

The kernel is this test's own Python (``sys.executable``) importing softgrad from this
checkout. The notebook is committed with its outputs; they must come from one clean run of the
current cells. To refresh them after editing the notebook:

    python tests/docs/test_derivation_notebook.py
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "docs" / "derivation.ipynb"
KERNEL = "softgrad-test-python"
# run first, not saved: the kernel must be this Python and softgrad must come from ROOT
PROBE = (f"import sys, softgrad\n"
         f"assert sys.executable == {sys.executable!r}, sys.executable\n"
         f"assert softgrad.__file__.startswith({str(ROOT / 'softgrad')!r}), softgrad.__file__")


def _kernel_dir(tmp: pathlib.Path) -> pathlib.Path:
    """A kernelspec that starts ``sys.executable`` with this checkout first on the path."""
    spec = tmp / "kernels" / KERNEL
    spec.mkdir(parents=True)
    path = os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "softgrad test", "language": "python",
        "env": {"PYTHONPATH": path, "MPLBACKEND": "module://matplotlib_inline.backend_inline"},
    }))
    return tmp / "kernels"


def execute(tmp: pathlib.Path, timeout: int = 120):
    """Run the notebook in a fresh kernel; returns the executed notebook (probe removed)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(PROBE))
    km = KernelManager(kernel_name=KERNEL,
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(_kernel_dir(tmp))]))
    client = nbclient.NotebookClient(nb, km=km, timeout=timeout, allow_errors=False,
                                     record_timing=False,
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    nb.cells.pop(0)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count -= 1
            for out in cell.outputs:
                if "execution_count" in out:
                    out["execution_count"] -= 1
    return nb


def _texts(nb) -> list[list[str]]:
    """Per code cell, its printed text; rounding-level numbers (below 1e-9) read as 0."""
    tiny = re.compile(r"\d\.\de-(1\d|[2-9]\d)")
    return [[tiny.sub("0", "".join(o.get("text", ""))) for o in c.outputs
             if o.output_type == "stream"] for c in nb.cells if c.cell_type == "code"]


def test_the_derivation_notebook_executes_and_its_checks_hold(tmp_path):
    nb = execute(tmp_path)  # raises CellExecutionError if a cell fails or an assert is false
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 7 and sum("assert " in c.source for c in code) >= 6
    assert not any(o.output_type == "error" for c in code for o in c.outputs)
    pictures = sum("image/png" in o.get("data", {}) for c in code for o in c.outputs)
    assert pictures >= 4  # heatmaps of steps 1 to 4
    # the committed outputs are those of one clean run of the committed cells
    import nbformat

    saved = nbformat.read(NOTEBOOK, as_version=4)
    saved_code = [c for c in saved.cells if c.cell_type == "code"]
    assert [c.execution_count for c in saved_code] == list(range(1, len(saved_code) + 1)), \
        "docs/derivation.ipynb was not saved from a clean run: python " \
        "tests/docs/test_derivation_notebook.py"
    assert _texts(saved) == _texts(nb), "the notebook's saved outputs are stale: python " \
        "tests/docs/test_derivation_notebook.py"


if __name__ == "__main__":  # refresh the committed outputs
    import tempfile

    import nbformat

    with tempfile.TemporaryDirectory() as tmp:
        executed = execute(pathlib.Path(tmp))
    nbformat.write(executed, NOTEBOOK)
    print(f"wrote {NOTEBOOK}")
