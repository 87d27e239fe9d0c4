"""Epoch times of skgd against its peers, measured side by side in one run.

    python benchmarks/bench.py [--quick] [--repeats N] [--json PATH]

For each workload (data, loss, batch size) it times one training epoch, as
the difference between a fit of four epochs and a fit of one, divided by
three (so the epoch excludes what a fit does once: input validation, label
encoding, set-up; that part is reported separately as "fit overhead"), of

* skgd's GDClassifier with the compiled engine, and with the NumPy engine
  for mini-batches (the engine a user-defined component would run);
* scikit-learn's SGDClassifier (batch 1, its only mode; one-vs-rest with
  ``n_jobs=1`` for 10 classes);
* MLPClassifier(hidden_layer_sizes=()), a linear softmax/logistic model
  trained by mini-batch SGD, for batches of 32 and more;
* scikit-learn's PassiveAggressiveClassifier (PA-I and PA-II, deprecated
  since scikit-learn 1.8; SGDClassifier's ``learning_rate="pa1"``/``"pa2"``
  where it is gone) against skgd's passive-aggressive steps, on the binary
  workloads;
* a plain NumPy mini-batch softmax loop (shuffle, slice, two matrix
  products, step), the baseline any Python implementation starts from;

and the bounds of the machine in the same run: the time to read X once
with every core (memory bandwidth), and the time of the two products an
epoch needs (scores and gradient over all rows) at the square-GEMM peak of
every core (for CSR data, the sparse products' own time). Every model
trains by plain SGD with a constant step (the passive-aggressive rows by
their own steps, C = 1, no penalty), so that the peers do the same work. It
prints a markdown table of medians and ratios, with test accuracy and the
peak extra memory of ``fit`` (traced allocations; X itself is allocated
before), and writes the same as JSON.
"""

import argparse
import json
import os
import platform
import statistics
import time
import tracemalloc
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import numpy as np
import scipy.sparse as sp
from scipy.special import softmax
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.neural_network import MLPClassifier

try:  # deprecated in scikit-learn 1.8, removed in 1.10
    from sklearn.linear_model import PassiveAggressiveClassifier
except ImportError:  # pragma: no cover
    PassiveAggressiveClassifier = None

from skgd import GDClassifier, _compiled

ETA0 = 0.01
ALPHA = 1e-4
PA_C = 1.0  # the aggressiveness of the passive-aggressive rows


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
    """CSR rows with ``nnz_per_row`` normal entries; labels from a linear model."""
    rng = np.random.default_rng(seed)
    indptr = np.arange(0, n * nnz_per_row + 1, nnz_per_row)
    indices = rng.integers(0, d, size=n * nnz_per_row)
    data = rng.normal(size=n * nnz_per_row)
    X = sp.csr_matrix((data, indices, indptr), shape=(n, d))
    X.sum_duplicates()
    scores = np.asarray(X @ rng.normal(size=(d, n_classes)))
    y = scores.argmax(axis=1) if n_classes > 2 else (scores[:, 0] > 0).astype(int)
    return X, y


def numpy_softmax_epoch(X, y, n_classes, batch_size, lr=ETA0, alpha=ALPHA):
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


def _epoch_time(make, X, y, repeats, extra=3):
    """(epoch, overhead): the cost of one more epoch, and the rest of a fit.

    ``make(max_iter)`` builds the estimator; fits of 1 and ``1 + extra``
    epochs are timed ``repeats`` times each, and the epoch is the difference
    of their medians divided by ``extra``.
    """
    one = _median_time(lambda: _fit(make(1), X, y), repeats)
    more = _median_time(lambda: _fit(make(1 + extra), X, y), repeats)
    epoch = max((more - one) / extra, 1e-9)
    return epoch, max(one - epoch, 0.0)


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", FutureWarning)  # the deprecated PA class
        return est.fit(X, y)


def _skgd(loss, batch_size, max_iter=1):
    return GDClassifier(
        loss=loss,
        batch_size=batch_size,
        optimizer="sgd",
        learning_rate="constant",
        eta0=ETA0,
        alpha=ALPHA,
        max_iter=max_iter,
        tol=None,
        random_state=0,
    )


def _numpy_engine(loss, batch_size, data, repeats, extra):
    """Epoch time and test accuracy of the NumPy engine at the same settings."""
    X_train, y_train, X_test, y_test, _ = data
    _compiled.ENABLED = False
    try:
        epoch, _ = _epoch_time(
            lambda m: _skgd(loss, batch_size, m), X_train, y_train, repeats, extra
        )
        accuracy = _fit(_skgd(loss, batch_size), X_train, y_train).score(X_test, y_test)
        return epoch, accuracy
    finally:
        _compiled.ENABLED = True


def _workloads(n, d_sparse):
    return [
        ("dense f64 binary", *_dense(n, 100, 2, np.float64)),
        ("dense f32 binary", *_dense(n, 100, 2, np.float32)),
        ("dense f64 10-class", *_dense(n, 100, 10, np.float64)),
        ("dense f32 10-class", *_dense(n, 100, 10, np.float32)),
        ("CSR binary", *_sparse(n, d_sparse, 50, 2)),
        ("CSR 10-class", *_sparse(n, d_sparse, 50, 10)),
    ]


def _read_once(X, repeats):
    """Reading X once with every core: its rows summed in one slice per core
    (NumPy releases the GIL in the sums), or in one call if that is faster."""
    cores = os.cpu_count() or 1
    if sp.issparse(X) or cores == 1:
        return _median_time(X.sum, repeats)
    edges = np.linspace(0, X.shape[0], cores + 1).astype(int)
    slices = [X[a:b] for a, b in zip(edges[:-1], edges[1:])]
    with ThreadPoolExecutor(cores) as pool:
        threaded = _median_time(lambda: list(pool.map(np.sum, slices)), repeats)
    return min(threaded, _median_time(X.sum, repeats))


def _square_gemm_peak(dtype, repeats, size=2000):
    """FLOP/s of a square GEMM of X's type with every core (BLAS's best case)."""
    A = np.random.default_rng(0).standard_normal((size, size)).astype(dtype)
    A @ A  # BLAS's threads started
    return 2 * size**3 / _median_time(lambda: A @ A, repeats)


def _bounds(X, n_classes, repeats):
    """Lower bounds of an epoch's time on this machine: reading X once, and
    its two products (scores and gradient over all rows).

    For dense X the products are counted at the square-GEMM peak of all the
    cores (4 n d k flops for k outputs), a speed that no product with a few
    outputs reaches; ``gemm_s`` also keeps the time BLAS takes for these
    very products. For CSR X, the time of the sparse products.
    """
    read_once = _read_once(X, repeats)
    W = np.zeros((n_classes if n_classes > 2 else 1, X.shape[1]), dtype=X.dtype)
    gemm = _median_time(lambda: (X @ W.T).T @ X, repeats)
    if sp.issparse(X):
        return read_once, gemm, gemm
    flops = 4 * X.shape[0] * X.shape[1] * W.shape[0]
    return read_once, gemm, flops / _square_gemm_peak(X.dtype, repeats)


def _bench_batch(name, loss, batch_size, data, peers, repeats):
    X_train, y_train, X_test, y_test, n_classes = data
    sparse = sp.issparse(X_train)
    epoch, overhead = _epoch_time(
        lambda m: _skgd(loss, batch_size, m), X_train, y_train, repeats
    )
    est = _fit(_skgd(loss, batch_size), X_train, y_train)
    row = {
        "data": name,
        "loss": loss,
        "batch_size": batch_size,
        "skgd_epoch_s": epoch,
        "skgd_fit_overhead_s": overhead,
        "accuracy": est.score(X_test, y_test),
        "peak_fit_mb": _peak_memory(lambda: _fit(est, X_train, y_train)) / 2**20,
        **peers,
    }
    if batch_size != 1:
        # Small sparse batches take the NumPy engine tens of seconds an epoch.
        slow = sparse and batch_size in (32, 256)
        row["numpy_engine_epoch_s"], row["numpy_engine_accuracy"] = _numpy_engine(
            loss, batch_size, data, 1 if slow else repeats, 1 if slow else 3
        )
    if loss == "softmax" and batch_size not in (1, "full") and not sparse:
        row["numpy_loop_epoch_s"] = _median_time(
            lambda: numpy_softmax_epoch(X_train, y_train, n_classes, batch_size),
            repeats,
        )
    if batch_size not in (1, "full") and not sparse and loss in ("softmax", "log_loss"):
        row["mlp_epoch_s"], _ = _epoch_time(
            lambda m: _mlp(batch_size, m), X_train, y_train, repeats
        )
    return row


def _passive_aggressive(variant, max_iter):
    """skgd's PA-I or PA-II, and scikit-learn's, at the same settings."""
    common = dict(max_iter=max_iter, tol=None, random_state=0)
    ours = GDClassifier(
        loss="hinge", penalty=None, learning_rate=f"pa{variant}", eta0=PA_C, **common
    )
    if PassiveAggressiveClassifier is not None:
        loss = "hinge" if variant == 1 else "squared_hinge"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # deprecated class
            theirs = PassiveAggressiveClassifier(C=PA_C, loss=loss, n_jobs=1, **common)
    else:
        theirs = SGDClassifier(
            loss="hinge",
            penalty=None,
            learning_rate=f"pa{variant}",
            eta0=PA_C,
            n_jobs=1,
            **common,
        )
    return ours, theirs


def _bench_passive_aggressive(name, variant, data, peers, repeats):
    X_train, y_train, X_test, y_test, _ = data
    epoch, overhead = _epoch_time(
        lambda m: _passive_aggressive(variant, m)[0], X_train, y_train, repeats
    )
    pa_epoch, _ = _epoch_time(
        lambda m: _passive_aggressive(variant, m)[1], X_train, y_train, repeats
    )
    est, ref = (_fit(e, X_train, y_train) for e in _passive_aggressive(variant, 1))
    return {
        "data": name,
        "loss": f"hinge, pa{variant}",
        "batch_size": 1,
        "skgd_epoch_s": epoch,
        "skgd_fit_overhead_s": overhead,
        "accuracy": est.score(X_test, y_test),
        "passive_aggressive_epoch_s": pa_epoch,
        "passive_aggressive_accuracy": ref.score(X_test, y_test),
        "peak_fit_mb": _peak_memory(lambda: _fit(est, X_train, y_train)) / 2**20,
        **peers,
    }


def _mlp(batch_size, max_iter):
    return MLPClassifier(
        hidden_layer_sizes=(),
        solver="sgd",
        batch_size=batch_size,
        learning_rate_init=ETA0,
        momentum=0.0,
        alpha=ALPHA,
        max_iter=max_iter,
        shuffle=True,
        random_state=0,
    )


def _sgdclassifier(loss, max_iter):
    return SGDClassifier(
        loss="log_loss" if loss == "softmax" else loss,
        learning_rate="constant",
        eta0=ETA0,
        alpha=ALPHA,
        max_iter=max_iter,
        tol=None,
        n_jobs=1,
        random_state=0,
    )


def run(n=200_000, d_sparse=100_000, repeats=3, batch_sizes=(1, 32, 256, 4096, "full")):
    """Every workload at every batch size: a list of result rows (dicts).

    ``n`` rows (80 % for training), ``d_sparse`` columns in the CSR workloads.
    """
    results = []
    for name, X, y in _workloads(n, d_sparse):
        n_train = int(0.8 * X.shape[0])
        n_classes = len(np.unique(y))
        data = (X[:n_train], y[:n_train], X[n_train:], y[n_train:], n_classes)
        read_once, gemm, products = _bounds(data[0], n_classes, repeats)
        losses = ["hinge", "log_loss"] if n_classes == 2 else ["softmax", "log_loss"]
        for loss in losses:
            peers = {
                "read_once_s": read_once,
                "gemm_s": gemm,
                "products_s": products,
                "bound_s": max(read_once, products),
                "x_mb": _nbytes(data[0]) / 2**20,
            }
            # SGDClassifier's batch-1 epoch; for softmax, its OvR log_loss.
            peers["sgdclassifier_epoch_s"], _ = _epoch_time(
                lambda m, loss=loss: _sgdclassifier(loss, m), data[0], data[1], repeats
            )
            for batch_size in batch_sizes:
                row = _bench_batch(name, loss, batch_size, data, peers, repeats)
                results.append(row)
                print(_format_row(row), flush=True)
        if n_classes == 2:
            for variant in (1, 2):
                row = _bench_passive_aggressive(name, variant, data, peers, repeats)
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
    "| data | loss | batch | skgd epoch (s) | / SGDClassifier | / PA classifier "
    "| / NumPy engine | / NumPy loop | / MLP | / bound | fit overhead (s) "
    "| accuracy (peer) | fit peak MB (X MB) |"
    "\n|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def _cells(r):
    ours = r["skgd_epoch_s"]
    accuracy = f"{r['accuracy']:.3f}"
    peer = r.get("numpy_engine_accuracy", r.get("passive_aggressive_accuracy"))
    if peer is not None:
        accuracy += f" ({peer:.3f})"
    pa = "passive_aggressive_epoch_s" in r
    return [
        r["data"],
        r["loss"],
        str(r["batch_size"]),
        f"{ours:.3f}",
        "-" if pa else _ratio(ours, r["sgdclassifier_epoch_s"]),
        _ratio(ours, r.get("passive_aggressive_epoch_s")),
        _ratio(ours, r.get("numpy_engine_epoch_s")),
        _ratio(ours, r.get("numpy_loop_epoch_s")),
        _ratio(ours, r.get("mlp_epoch_s")),
        _ratio(ours, r["bound_s"]),
        f"{r['skgd_fit_overhead_s']:.3f}",
        accuracy,
        f"{r['peak_fit_mb']:.1f} ({r['x_mb']:.0f})",
    ]


def _format_row(r):
    return "| " + " | ".join(_cells(r)) + " |"


def _rst(results, title):
    """The table as reStructuredText, for the documentation."""
    names = [h.strip() for h in HEADER.split("\n")[0].strip("|").split("|")]
    quote = '", "'.join
    lines = [title, "-" * len(title), "", ".. csv-table::", "   :header-rows: 1", ""]
    lines.append(f'   "{quote(names)}"')
    lines += [f'   "{quote(_cells(r))}"' for r in results]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20k rows, not 200k")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default="benchmarks/results.json")
    parser.add_argument("--rst", help="also write the table as reStructuredText")
    parser.add_argument(
        "--from-json", help="print (and --rst) the table of an earlier run"
    )
    args = parser.parse_args()
    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        results, when = saved["results"], saved["date"]
        machine = f"{saved['machine']}, {saved['cores']} cores"
        print(HEADER)
        for row in results:
            print(_format_row(row))
    else:
        when = str(date.today())
        machine = f"{platform.platform()}, {os.cpu_count()} cores"
        print(f"{machine}, {when}; ratios below 1: skgd is faster\n")
        print(HEADER)
        sizes = (20_000, 10_000) if args.quick else (200_000, 100_000)
        results = run(*sizes, repeats=args.repeats)
        with open(args.json, "w") as f:
            meta = {"date": when, "machine": platform.platform()}
            json.dump(
                {**meta, "cores": os.cpu_count(), "results": results}, f, indent=1
            )
    if args.rst:
        with open(args.rst, "w") as f:
            f.write(_rst(results, f"Measured on {machine}, {when}"))


if __name__ == "__main__":
    main()
