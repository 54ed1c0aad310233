"""The Jacobian heatmaps: what they draw, and that `softgrad experiments` writes them."""
from __future__ import annotations

import numpy as np
import pytest

from softgrad.cli import main
from softgrad.experiments.data import load_dataset
from softgrad.experiments.jacobian import run_jacobian

pytest.importorskip("matplotlib")

PNG = b"\x89PNG\r\n\x1a\n"


def test_the_three_panels_show_autograds_matrices_on_symmetric_scales():
    from softgrad.experiments.jacobian_plots import jacobian_figure

    view = run_jacobian(load_dataset("digits"))
    fig = jacobian_figure(view)
    panels = [ax for ax in fig.axes if ax.images and ax.get_title()]
    assert len(panels) == 3
    wanted = [view.jacobian_autograd, view.sigmoid_jacobian_autograd, view.grad_autograd]
    for ax, m in zip(panels, wanted):
        np.testing.assert_array_equal(np.asarray(ax.images[0].get_array()), np.asarray(m))
        lo, hi = ax.images[0].get_clim()
        assert lo == -hi and hi >= np.abs(m).max()
    assert panels[0].images[0].get_clim() == panels[1].images[0].get_clim()  # one scale
    assert "\\mathrm{diag}(f) - f f^{\\top}" in panels[0].get_title()
    assert "\\mathrm{diag}(s\\,(1-s))" in panels[1].get_title()
    assert "(p - y)/l" in panels[2].get_title()
    # each sample's true class is outlined in the gradient panel
    outlined = sorted((int(r.get_y() + 0.5), int(r.get_x() + 0.5)) for r in panels[2].patches)
    assert outlined == sorted(enumerate(view.labels)) and len(view.labels) == 8
    # and every cell's value is written in it
    assert sum(t.get_text() != "" for t in panels[0].texts) == 100


def test_softgrad_experiments_writes_the_heatmaps_next_to_jacobian_txt(tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "exp"
    assert main(["experiments", "--quick", "--datasets", "breast_cancer", "digits",
                 "--experiments", "jacobian", "--no-progress", "--out", str(out)]) == 0
    assert "wrote 4 files" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "jacobian.txt", "jacobian_breast_cancer.png", "jacobian_digits.png", "results.json"]
    for name in ("jacobian_breast_cancer.png", "jacobian_digits.png"):
        assert (out / name).read_bytes()[:8] == PNG
        with Image.open(out / name) as im:
            assert min(im.info["dpi"]) >= 150 and im.size[0] >= 2000
            assert len(im.convert("RGB").getcolors(1 << 20)) > 100  # a picture, not a blank


def test_no_plots_means_no_heatmaps(tmp_path):
    out = tmp_path / "exp"
    assert main(["experiments", "--quick", "--datasets", "breast_cancer", "--experiments",
                 "jacobian", "--no-plots", "--no-progress", "--out", str(out)]) == 0
    assert not list(out.glob("*.png")) and (out / "jacobian.txt").exists()
