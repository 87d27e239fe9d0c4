"""The benchmark scripts run end to end (on tiny data) and report sound rows.

Timings themselves are never asserted: the machines are shared and noisy.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _script(name):
    """A script of benchmarks/ imported as a module."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return _script("bench")


def test_bench_runs_and_reports_every_column(bench, capsys):
    rows = bench.run(n=300, d_sparse=400, repeats=1, batch_sizes=(1, 32, "full"))
    # 6 workloads x 2 losses x 3 batch sizes, and PA-I and PA-II on the 3
    # binary workloads
    assert len(rows) == 36 + 6
    pa_rows = [r for r in rows if "passive_aggressive_epoch_s" in r]
    assert len(pa_rows) == 6
    for row in pa_rows:
        assert row["passive_aggressive_epoch_s"] > 0 and row["batch_size"] == 1
        assert 0.0 <= row["passive_aggressive_accuracy"] <= 1.0
    for row in rows:
        assert row["skgd_epoch_s"] > 0 and row["sgdclassifier_epoch_s"] > 0
        assert 0.0 <= row["accuracy"] <= 1.0
        assert row["bound_s"] == max(row["read_once_s"], row["products_s"])
        if "CSR" in row["data"]:
            assert row["products_s"] == row["gemm_s"]
        if row["batch_size"] != 1:
            # Both engines train the same model.
            assert row["numpy_engine_accuracy"] == row["accuracy"]
    softmax_32 = [r for r in rows if r["loss"] == "softmax" and r["batch_size"] == 32]
    assert all("mlp_epoch_s" in r for r in softmax_32 if "CSR" not in r["data"])
    assert all("numpy_loop_epoch_s" in r for r in softmax_32 if "CSR" not in r["data"])
    json.dumps(rows)  # the --json output
    table = bench._rst(rows, "Tiny run")
    assert table.count('\n   "') == len(rows) + 1  # header + one line per row
    assert bench._format_row(rows[0]).count("|") == 14
    assert bench.HEADER.split("\n")[0].count("|") == 14
    capsys.readouterr()


@pytest.fixture(scope="module")
def convergence():
    return _script("convergence")


def test_convergence_benchmark_runs_and_reports_sound_rows(convergence, capsys):
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)[:150]
    rows = convergence.run(
        [("tiny", X, y[:150])],
        batches=(32, "full"),
        optimizers=("saga",),
        cap=0.3,
        depth=3,
    )
    # 4 LogisticRegression solvers, SGDClassifier (two classes), 2 skgd cells
    assert [r["method"] for r in rows[-2:]] == [
        "skgd batch=32 saga",
        "skgd batch=full saga",
    ]
    assert len(rows) == 7
    for row in rows:
        times = [t for t in row["times"] if t is not None]
        assert times == sorted(times)  # a deeper level is never reached sooner
        assert row["final"] >= 0 and row["fit_s"] > 0
    full = rows[-1]
    # The line search (SAGA's full batch under "auto") reaches 1e-6 here.
    assert full["times"][2] is not None and full["schedule"].startswith("LineSearch")
    json.dumps(rows)
    assert convergence._rst(rows, "Tiny").count('\n   "') == len(rows) + 1
    assert convergence._format(rows[0]).count("|") == 10
    accuracy = [("LogisticRegression", 0.97, ""), ("skgd batch=1 saga", 0.96, "yes")]
    assert convergence._accuracy_rst(accuracy, "T").count('\n   "') == 3
    capsys.readouterr()


def test_sgd_suite_swaps_the_class_and_compares_outcomes():
    """scikit-learn's own tests, a few of them: the swap reaches the tests
    (they make skgd's class), and each outcome is recorded with its reason."""
    suite = _script("sgd_suite")
    keyword = "test_provide_coef or test_partial_fit_weight_class_balanced or prefit"
    results = suite.run(
        keyword=keyword,
        components=("sklearn.feature_selection.tests.test_from_model",),
    )
    sgd = results["test_sgd"]
    # Dense and sparse, both tests; test_provide_coef's one-class SVM cases
    # run too but do not make the class.
    assert len(sgd) == 4
    assert all(v["made"] > 0 and v["outcome"] == "passed" for v in sgd.values())
    assert all("::test_" in k for k in sgd)
    components = results["components"]
    assert components  # from_model's prefit tests build SGDClassifier
    for record in components.values():
        assert record["own"]["outcome"] in ("passed", "failed", "skipped")
        assert record["swapped"]["made"] > 0
    text = suite.report(results)
    assert text.startswith("test_sgd.py: 4 tests exercise the class; 4 passed")


def test_sparse_runs_every_rule_beside_its_peers(capsys):
    """The hashed workload on tiny data: a row per rule and batch size, the
    references first, ratios against them, sound accuracies."""
    sparse = _script("sparse")
    X, y = sparse.hashed_sparse(500, seed=1)
    assert X.shape[1] == sparse.N_FEATURES and X.has_canonical_format
    assert np.all(np.diff(X.indptr) == sparse.NNZ_PER_ROW)
    data = (X[:400], y[:400], X[400:], y[400:])
    lines = []
    rows, references = sparse.run(data, repeats=1, max_seconds=60.0, emit=lines.append)
    assert len(lines) == len(rows)
    names = [(r["workload"], r["batch_size"]) for r in rows]
    for optimizer in sparse.OPTIMIZERS:
        for batch_size in sparse.BATCH_SIZES:
            assert (f"skgd {optimizer}", batch_size) in names
    assert {"skgd sgd b1", "SGDClassifier"} <= set(references)
    for row in rows:
        if row.get("epoch_s") is not None:
            assert row["epoch_s"] > 0
        if row.get("accuracy") is not None:
            assert 0.0 <= row["accuracy"] <= 1.0
    json.dumps(rows)
    capsys.readouterr()


def test_spin_times_the_demonstration_and_reads_its_full_batch_rows():
    """benchmarks/spin.py: one short demonstration run, its four full-batch
    rows found, and the table with the ratio of the contended cases."""
    spin = _script("spin")
    seconds, full = spin.time_demo(max_iter=2)
    # the demonstration prints fit times to 0.01 s: two epochs may read 0.00
    assert seconds > 0 and len(full) == 4 and min(full) >= 0
    table, ratio = spin._table(
        {"alone": (1.0, 0.1), "contended": (2.2, 0.2), "contended, passive": (2.0, 0.1)}
    )
    assert ratio == pytest.approx(1.1) and "| 1.00 | 2.20 | 2.00 | 1.10 |" in table
