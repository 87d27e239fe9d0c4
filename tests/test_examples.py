"""The examples run to the end (non-interactive backend)."""

import runpy
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("plot_*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "show", lambda *a, **k: None)
    namespace = runpy.run_path(str(path), run_name="__main__")
    plt.close("all")
    # Every example leaves the curves it plotted behind, with finite values.
    curves = namespace["curves"]
    assert curves and all(np.isfinite(c).all() for c in curves.values())
