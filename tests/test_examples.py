"""The examples run to the end (non-interactive backend)."""

import runpy
from pathlib import Path

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
    # Every example leaves its trained curves or models behind to inspect.
    assert namespace.get("curves") or namespace.get("model") is not None
