"""Epoch times of skgd against its peers, measured side by side in one run.

    python benchmarks/bench.py [--quick] [--repeats N] [--json PATH]

For each workload (data, loss, batch size) it times one training epoch of

* skgd's GDClassifier (``max_iter=1, tol=None``),
* scikit-learn's SGDClassifier (batch 1, its only mode),
* MLPClassifier(hidden_layer_sizes=()) — a linear softmax model — for
  mini-batches,
* a plain NumPy mini-batch softmax loop, the baseline any Python
  implementation starts from,

and the bounds of the machine: the time to read X once (memory bandwidth)
and the time of the two GEMMs an epoch needs at least (forward and backward
over all rows). It prints a markdown table of medians and ratios, with test
accuracy and peak traced memory, and writes the same as JSON.
"""

import argparse
import json
import platform
import statistics
import time
import tracemalloc
import warnings
from datetime import date

import numpy as np
import scipy.sparse as sp
from scipy.special import softmax
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.neural_network import MLPClassifier

from skgd import GDClassifier


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _peak_memory(fn):
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def _dense(n, d, n_classes, dtype, seed=0):
    X, y = make_classification(
        n_samples=n,
        n_features=d,
        n_informative=min(d, 20),
        n_classes=n_classes,
        random_state=seed,
    )
    return X.astype(dtype), y


def _sparse(n, d, nnz_per_row, n_classes, seed=0):
    rng = np.random.default_rng(seed)
    indptr = np.arange(0, n * nnz_per_row + 1, nnz_per_row)
    indices = rng.integers(0, d, size=n * nnz_per_row)
    data = rng.normal(size=n * nnz_per_row)
    X = sp.csr_matrix((data, indices, indptr), shape=(n, d))
    X.sum_duplicates()
    w = rng.normal(size=(d, n_classes))
    y = np.asarray(X @ w).argmax(axis=1)
    return X, y


def _numpy_softmax_epoch(X, y, n_classes, batch_size, lr=0.01, alpha=1e-4):
    """The plain NumPy mini-batch loop: shuffle, slice, forward, backward, step."""
    rng = np.random.default_rng(0)
    W = np.zeros((n_classes, X.shape[1]), dtype=X.dtype)
    b = np.zeros(n_classes, dtype=X.dtype)
    order = rng.permutation(X.shape[0])
    for start in range(0, X.shape[0], batch_size):
        rows = order[start : start + batch_size]
        Xb = X[rows]
        P = softmax(Xb @ W.T + b, axis=1)
        P[np.arange(len(rows)), y[rows]] -= 1.0
        P /= len(rows)
        W -= lr * (P.T @ Xb + alpha * W)
        b -= lr * P.sum(axis=0)
    return W


def _fit_quietly(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def run(quick=False, repeats=3):
    n = 20_000 if quick else 200_000
    d_sparse = 10_000 if quick else 100_000
    batch_sizes = [1, 32, 256, 4096, "full"]
    results = []
    datasets = [
        ("dense f64 binary", *_dense(n, 100, 2, np.float64)),
        ("dense f32 binary", *_dense(n, 100, 2, np.float32)),
        ("dense f64 10-class", *_dense(n, 100, 10, np.float64)),
        ("dense f32 10-class", *_dense(n, 100, 10, np.float32)),
        ("CSR 50 nnz/row 10-class", *_sparse(n, d_sparse, 50, 10)),
    ]
    for name, X, y in datasets:
        n_train = int(0.8 * X.shape[0])
        X_train, X_test = X[:n_train], X[n_train:]
        y_train, y_test = y[:n_train], y[n_train:]
        n_classes = len(np.unique(y))
        read_once = _median_time(lambda: X_train.sum(), repeats)
        W = np.zeros((n_classes, X.shape[1]), dtype=X.dtype)
        gemm = _median_time(lambda: (X_train @ W.T).T @ X_train, repeats)
        bound = max(read_once, gemm)
        losses = ["hinge", "log_loss"] if n_classes == 2 else ["softmax", "log_loss"]
        for loss in losses:
            sgd = None
            if loss in ("hinge", "log_loss"):
                peer = SGDClassifier(loss=loss, max_iter=1, tol=None, random_state=0)
                sgd = _median_time(lambda: _fit_quietly(peer, X_train, y_train), repeats)
            for batch_size in batch_sizes:
                if batch_size == 1 and X_train.shape[0] > 50_000 and loss == "softmax":
                    reps = 1
                else:
                    reps = repeats
                est = GDClassifier(
                    loss=loss,
                    batch_size=batch_size,
                    optimizer="sgd" if batch_size == 1 else "adam",
                    learning_rate="optimal" if batch_size == 1 else "constant",
                    eta0=0.001,
                    max_iter=1,
                    tol=None,
                    random_state=0,
                )
                ours = _median_time(lambda: _fit_quietly(est, X_train, y_train), reps)
                accuracy = est.score(X_test, y_test)
                peak = _peak_memory(lambda: _fit_quietly(est, X_train, y_train))
                row = {
                    "data": name,
                    "loss": loss,
                    "batch_size": batch_size,
                    "skgd_epoch_s": ours,
                    "sgdclassifier_epoch_s": sgd,
                    "bound_s": bound,
                    "read_once_s": read_once,
                    "gemm_s": gemm,
                    "accuracy": accuracy,
                    "peak_traced_mb": peak / 2**20,
                    "x_mb": _nbytes(X_train) / 2**20,
                }
                if loss == "softmax" and batch_size not in (1, "full") and not sp.issparse(X):
                    row["numpy_loop_epoch_s"] = _median_time(
                        lambda: _numpy_softmax_epoch(X_train, y_train, n_classes, batch_size),
                        repeats,
                    )
                    mlp = MLPClassifier(
                        hidden_layer_sizes=(),
                        batch_size=batch_size,
                        max_iter=1,
                        solver="adam",
                        random_state=0,
                    )
                    row["mlp_epoch_s"] = _median_time(
                        lambda: _fit_quietly(mlp, X_train, y_train), repeats
                    )
                results.append(row)
                print(_format_row(row), flush=True)
    return results


def _nbytes(X):
    if sp.issparse(X):
        return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    return X.nbytes


def _ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"


HEADER = (
    "| data | loss | batch | skgd epoch (s) | / SGDClassifier | / NumPy loop | / MLP | "
    "/ bound | accuracy | peak MB (X MB) |\n|---|---|---|---|---|---|---|---|---|---|"
)


def _format_row(r):
    return (
        f"| {r['data']} | {r['loss']} | {r['batch_size']} | {r['skgd_epoch_s']:.3f} | "
        f"{_ratio(r['skgd_epoch_s'], r['sgdclassifier_epoch_s'])} | "
        f"{_ratio(r['skgd_epoch_s'], r.get('numpy_loop_epoch_s'))} | "
        f"{_ratio(r['skgd_epoch_s'], r.get('mlp_epoch_s'))} | "
        f"{_ratio(r['skgd_epoch_s'], r['bound_s'])} | {r['accuracy']:.3f} | "
        f"{r['peak_traced_mb']:.0f} ({r['x_mb']:.0f}) |"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20k rows instead of 200k")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default="benchmarks/results.json")
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {date.today()}, ratios < 1: skgd faster\n")
    print(HEADER)
    results = run(quick=args.quick, repeats=args.repeats)
    with open(args.json, "w") as f:
        json.dump(
            {"date": str(date.today()), "machine": platform.platform(), "results": results},
            f,
            indent=1,
        )


if __name__ == "__main__":
    main()
