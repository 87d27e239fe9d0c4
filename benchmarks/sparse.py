"""Epoch times of every skgd optimizer on a hashed sparse workload, with peers.

    python benchmarks/sparse.py [--quick] [--repeats N] [--max-seconds S]
                                [--json PATH] [--seed SEED]

The workload is the one of click-through and text models after the hashing
trick: 100,000 training rows (20,000 with ``--quick``) of 2**20 columns in
CSR (float64 values, int32 sorted indices), exactly 50 non-zeros a row.
Tokens are drawn from a Zipf-like law and hashed to columns by a fixed
random permutation, so that a few columns are frequent and most are rare;
values are tf-idf-like (rarer token, larger weight) and every row has unit
L2 norm. Binary labels come from a hidden linear model on the 1,000 most
frequent tokens, thresholded at its median, with 5 % of them flipped, so
test accuracy (on 20,000 held-out rows, 5,000 with ``--quick``, from the
same generator) lies between chance and 0.95. Everything is generated from
``--seed``; nothing is downloaded.

It times one training epoch as the difference between a fit of four epochs
and a fit of one, divided by three (so that the set-up a fit does once
is left out), with the median of ``--repeats`` fits of each, of

* skgd's GDClassifier, ``loss="log_loss"``, ``alpha=1e-4``, a constant
  step (``eta0`` per optimizer, see ``ETA0``), ``shuffle=True``,
  ``tol=None``, for every optimizer of ``OPTIMIZERS`` that this skgd has
  (``skgd.optimizers.OPTIMIZER_NAMES``; a missing one gets a row saying
  so) at batch sizes 1 and 32;
* scikit-learn's SGDClassifier at the settings of skgd's plain SGD;
* Vowpal Wabbit, if the ``vowpalwabbit`` package is installed, with
  ``--sgd`` (plain SGD, constant step: ``--power_t 0``) and with
  ``--adaptive`` alone (per-feature AdaGrad steps, without VW's default
  normalized and invariant updates), same loss, L2 and step. The training
  set is written once as a VW text file and cached; a pass is (time of 4
  passes - time of 1 pass) / 3, both reading the cache, each run being the
  construction of a ``vowpalwabbit.Workspace`` (which trains) and its
  ``finish`` (which writes the model). VW differs in ways that the
  ratios carry: float32 weights, a parser thread beside the learner, and
  its intercept (the "constant" feature) stepped at the full rate, where
  SGDClassifier and skgd damp the intercept's step by 0.01 on sparse X
  (at a constant step of 0.1 this costs ``--sgd`` test accuracy).

Guard: some optimizers may take O(n_features) per step on sparse data, and
then an epoch at batch 1 takes many minutes. Before timing an skgd
workload, a one-epoch fit of ``GUARD_ROWS`` rows is timed (less a fit of
``TINY_ROWS`` rows, to leave out the set-up) and scaled to the full
training set; if that estimate exceeds ``--max-seconds``, the row reports
the estimate, marked "(extrapolated)", without accuracy.

Test accuracy is that of the four-epoch (four-pass) model. At batch 32
the rules without per-coordinate scaling (sgd, momentum, nesterov) take
32 times the batch-1 step (the linear scaling rule), so that a row moves
the weights about as much as at batch 1. The script
prints a markdown table of medians and ratios (below 1: the row is faster
than the reference) and writes the same as JSON.

Goals (the hashed sparse workload issue):

* every optimizer's epoch, at batch 1 and at batch 32, within 2x skgd's
  plain SGD epoch at batch 1, and at most 0.5x VW's ``--adaptive`` pass;
* skgd's plain SGD epoch at batch 1 at most 0.8x SGDClassifier's.
"""

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
import warnings
from datetime import date

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier

from skgd import GDClassifier
from skgd.optimizers import OPTIMIZER_NAMES

try:
    import vowpalwabbit
except ImportError:  # an optional peer: its rows then say it is missing
    vowpalwabbit = None

N_FEATURES = 2**20
NNZ_PER_ROW = 50
N_INFORMATIVE = 1_000  # tokens (by frequency rank) the hidden model uses
LABEL_FLIP = 0.05
ALPHA = 1e-4
BATCH_SIZES = (1, 32)
EXTRA_EPOCHS = 3  # an epoch is (fit of 1 + EXTRA_EPOCHS - fit of 1) / EXTRA_EPOCHS
GUARD_ROWS = 2_000
TINY_ROWS = 64  # enough for both classes; its fit stands for the set-up cost

# A constant step for each rule on unit-norm rows at batch 1: the
# momentum rules take about 1 / (1 - momentum) = 10 times the plain step,
# the RMS-normalized ones move each coordinate by about eta0 a step.
ETA0 = {
    "sgd": 0.1,
    "momentum": 0.01,
    "nesterov": 0.01,
    "adagrad": 0.1,
    "rmsprop": 0.001,
    "adam": 0.001,
    "ftrl": 0.1,
}
OPTIMIZERS = tuple(ETA0)
# Rules whose step is the gradient's size take the batch's mean gradient:
# at batch B their step is scaled by B (the linear scaling rule) so that a
# row moves the weights as much as at batch 1 and the accuracy column says
# something. The per-coordinate rules (and FTRL) normalise their steps.
SCALED_WITH_BATCH = ("sgd", "momentum", "nesterov")

# Vowpal Wabbit's flags for each update rule; "-l" is always given, as VW's
# default step is 10 for a non-default rule. -b 20 gives 2**20 weights: a
# numeric feature name in the default namespace hashes to the number itself,
# so VW's columns are the CSR columns.
VW_COMMON = f"--quiet --holdout_off -b 20 --loss_function logistic --l2 {ALPHA}"
VW_RULES = {
    "--sgd": f"--sgd -l {ETA0['sgd']} --power_t 0",
    "--adaptive": f"--adaptive -l {ETA0['adagrad']} --power_t 0.5",
}


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def hashed_sparse(n, seed=0):
    """``n`` rows of the hashed sparse workload and their binary labels.

    Parameters
    ----------
    n : int
        Number of rows.
    seed : int, default=0
        Seed of everything random: tokens, hashing, values, hidden model,
        label noise.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n, 2**20)
        float64 values, int32 sorted indices, ``NNZ_PER_ROW`` per row.
    y : ndarray of shape (n,)
        Labels 0 and 1, balanced.
    """
    rng = np.random.default_rng(seed)
    # Token ranks from p(r) ~ 1 / (r + offset), sampled by inverting the
    # continuous CDF; the offset flattens the head, as if stop words had
    # been removed, so that a row rarely draws the same token twice.
    offset = 50.0
    log_span = np.log((N_FEATURES + offset) / offset)

    def draw(size):
        ranks = offset * np.exp(rng.random(size) * log_span) - offset
        return np.minimum(ranks.astype(np.int64), N_FEATURES - 1)

    ranks = draw((n, NNZ_PER_ROW))
    # Redraw repeated tokens until each row has NNZ_PER_ROW distinct ones:
    # a few rounds, since only the repeats are redrawn.
    while True:
        ranks.sort(axis=1)
        repeated = np.zeros(ranks.shape, dtype=bool)
        repeated[:, 1:] = ranks[:, 1:] == ranks[:, :-1]
        n_repeated = np.count_nonzero(repeated)
        if not n_repeated:
            break
        ranks[repeated] = draw(n_repeated)

    # The hashing: a fixed random map of tokens to columns.
    column_of = rng.permutation(N_FEATURES).astype(np.int32)
    columns = column_of[ranks]
    # tf-idf-like: idf grows with the rank, tf is a positive random factor.
    values = (1.0 + np.log1p(ranks / offset)) * rng.gamma(2.0, 0.5, size=ranks.shape)
    values /= np.linalg.norm(values, axis=1, keepdims=True)
    order = np.argsort(columns, axis=1)
    columns = np.take_along_axis(columns, order, axis=1)
    values = np.take_along_axis(values, order, axis=1)
    indptr = np.arange(0, n * NNZ_PER_ROW + 1, NNZ_PER_ROW, dtype=np.int32)
    X = sp.csr_matrix((values.ravel(), columns.ravel(), indptr), shape=(n, N_FEATURES))
    X.has_sorted_indices = True  # sorted and distinct by construction

    hidden = np.zeros(N_FEATURES)
    hidden[column_of[:N_INFORMATIVE]] = rng.normal(size=N_INFORMATIVE)
    scores = X @ hidden
    y = (scores > np.median(scores)).astype(np.int64)
    y[rng.random(n) < LABEL_FLIP] ^= 1
    return X, y


def _fit(est, X, y):
    with warnings.catch_warnings():
        # tol=None: the fixed number of epochs is the point, not a failure.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def _skgd(optimizer, batch_size, max_iter):
    return GDClassifier(
        loss="log_loss",
        alpha=ALPHA,
        learning_rate="constant",
        eta0=ETA0[optimizer] * (batch_size if optimizer in SCALED_WITH_BATCH else 1),
        optimizer=optimizer,
        batch_size=batch_size,
        max_iter=max_iter,
        tol=None,
        shuffle=True,
        random_state=0,
    )


def _sgdclassifier(max_iter):
    return SGDClassifier(
        loss="log_loss",
        alpha=ALPHA,
        learning_rate="constant",
        eta0=ETA0["sgd"],
        max_iter=max_iter,
        tol=None,
        shuffle=True,
        n_jobs=1,
        random_state=0,
    )


def _epoch_time(make, X, y, repeats):
    """The cost of one more epoch, and the model of the longer fits.

    ``make(max_iter)`` builds the estimator; fits of 1 and
    ``1 + EXTRA_EPOCHS`` epochs are timed ``repeats`` times each.
    """
    fitted = []

    def longer():
        fitted.append(_fit(make(1 + EXTRA_EPOCHS), X, y))

    one = _median_time(lambda: _fit(make(1), X, y), repeats)
    more = _median_time(longer, repeats)
    return max((more - one) / EXTRA_EPOCHS, 1e-9), fitted[-1]


def _guess_epoch(make, X, y):
    """A cheap estimate of the epoch on all of ``X``, from a fit on a subset.

    One epoch on ``GUARD_ROWS`` rows, less one on ``TINY_ROWS`` rows (the
    set-up, which does not grow with the rows), scaled to ``X``'s rows.
    """
    rows = min(GUARD_ROWS, X.shape[0])
    subset = _median_time(lambda: _fit(make(1), X[:rows], y[:rows]), 1)
    tiny = _median_time(lambda: _fit(make(1), X[:TINY_ROWS], y[:TINY_ROWS]), 1)
    return max(subset - tiny, 0.0) * X.shape[0] / (rows - TINY_ROWS)


def _row(workload, batch_size, epoch, accuracy=None, note="", **extra):
    return {
        "workload": workload,
        "batch_size": batch_size,
        "epoch_s": epoch,
        "accuracy": accuracy,
        "note": note,
        "extrapolated": False,
        **extra,
    }


def bench_skgd(optimizer, batch_size, data, repeats, max_seconds):
    """The row of one skgd optimizer at one batch size."""
    workload = f"skgd {optimizer}"
    if optimizer not in OPTIMIZER_NAMES:
        return _row(workload, batch_size, None, note="not in this skgd")
    X_train, y_train, X_test, y_test = data

    def make(max_iter):
        return _skgd(optimizer, batch_size, max_iter)

    guess = _guess_epoch(make, X_train, y_train)
    if guess > max_seconds:
        return _row(
            workload, batch_size, guess, note="(extrapolated)", extrapolated=True
        )
    epoch, est = _epoch_time(make, X_train, y_train, repeats)
    return _row(workload, batch_size, epoch, est.score(X_test, y_test))


def bench_sgdclassifier(data, repeats):
    """The row of scikit-learn's SGDClassifier (batch 1, its only mode)."""
    X_train, y_train, X_test, y_test = data
    epoch, est = _epoch_time(_sgdclassifier, X_train, y_train, repeats)
    return _row("SGDClassifier", 1, epoch, est.score(X_test, y_test))


def _write_vw(path, X, y):
    """Write ``X``, ``y`` in VW's text format: ``label | index:value ...``."""
    with open(path, "w") as f:
        for i in range(X.shape[0]):
            start, stop = X.indptr[i], X.indptr[i + 1]
            features = " ".join(
                f"{j}:{v:.7g}"
                for j, v in zip(X.indices[start:stop].tolist(), X.data[start:stop])
            )
            f.write(f"{1 if y[i] else -1} | {features}\n")


def _vw(args):
    """Train (or test) one VW model as VW's own driver does, to the end."""
    workspace = vowpalwabbit.Workspace(args)  # runs the parser and learner
    workspace.finish()


class VWPeer:
    """Vowpal Wabbit on the training set, written and cached once.

    Parameters
    ----------
    data : tuple
        ``(X_train, y_train, X_test, y_test)``.
    directory : str
        Where the text files, the cache and the models go.
    """

    def __init__(self, data, directory):
        X_train, y_train, X_test, y_test = data
        self.directory = directory
        self.train = os.path.join(directory, "train.vw")
        self.test = os.path.join(directory, "test.vw")
        self.cache = os.path.join(directory, "train.cache")
        self.y_test = y_test
        _write_vw(self.train, X_train, y_train)
        _write_vw(self.test, X_test, y_test)
        # Build the cache (-k: anew), untimed, so that every timed run reads
        # the cache from its first pass on.
        _vw(f"{VW_COMMON} -d {self.train} --cache_file {self.cache} -k --passes 1")

    def command(self, rule, passes, model):
        """The VW arguments of ``passes`` passes of ``rule``, saved to ``model``."""
        return (
            f"{VW_COMMON} {VW_RULES[rule]} -d {self.train} "
            f"--cache_file {self.cache} --passes {passes} -f {model}"
        )

    def bench(self, rule, repeats):
        """The row of one VW update rule."""
        model = os.path.join(self.directory, "model")
        one = _median_time(lambda: _vw(self.command(rule, 1, model)), repeats)
        more_command = self.command(rule, 1 + EXTRA_EPOCHS, model)
        more = _median_time(lambda: _vw(more_command), repeats)
        epoch = max((more - one) / EXTRA_EPOCHS, 1e-9)
        return _row(
            f"VW {rule}",
            1,
            epoch,
            self.accuracy(model),
            # The temporary directory is gone after the run: name it generically.
            command="vw " + more_command.replace(self.directory, "$TMPDIR"),
        )

    def accuracy(self, model):
        """Test accuracy of ``model``: the sign of VW's predictions."""
        predictions = os.path.join(self.directory, "predictions")
        _vw(f"--quiet -t -i {model} -d {self.test} -p {predictions}")
        scores = np.loadtxt(predictions, ndmin=1)
        return float(np.mean((scores > 0) == (self.y_test == 1)))


def _ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"


HEADER = (
    "| workload | batch | epoch (s) | / skgd SGD b1 | / VW --adaptive "
    "| / SGDClassifier | test accuracy |"
    "\n|---|---|---|---|---|---|---|"
)


def _format_row(r, references):
    epoch = r["epoch_s"]
    cell = "-" if epoch is None else f"{epoch:.3f}"
    if r["note"]:
        cell = f"{cell} {r['note']}" if epoch is not None else r["note"]
    accuracy = r["accuracy"]
    cells = [
        r["workload"],
        str(r["batch_size"]),
        cell,
        _ratio(epoch, references.get("skgd sgd b1")),
        _ratio(epoch, references.get("VW --adaptive")),
        _ratio(epoch, references.get("SGDClassifier")),
        "-" if accuracy is None else f"{accuracy:.3f}",
    ]
    return "| " + " | ".join(cells) + " |"


def run(data, repeats=3, max_seconds=60.0, emit=print):
    """Every row: the references first, then skgd's optimizers.

    Parameters
    ----------
    data : tuple
        ``(X_train, y_train, X_test, y_test)``.
    repeats : int, default=3
        Timed fits of each length; their median is used.
    max_seconds : float, default=60.0
        Longest skgd epoch (estimated) that is timed rather than extrapolated.
    emit : callable, default=print
        Called with each table line as soon as it is known.

    Returns
    -------
    rows : list of dict
    references : dict
        Epoch of each reference row, by name.
    """
    rows = []
    references = {}

    def add(row, reference=None):
        rows.append(row)
        if reference and not row.get("extrapolated"):
            references[reference] = row["epoch_s"]
        emit(_format_row(row, references))

    # The references of the ratios come first, so that every line printed
    # after them is complete.
    add(bench_skgd("sgd", 1, data, repeats, max_seconds), "skgd sgd b1")
    add(bench_sgdclassifier(data, repeats), "SGDClassifier")
    if vowpalwabbit is None:
        for rule in VW_RULES:
            add(_row(f"VW {rule}", 1, None, note="vowpalwabbit not installed"))
    else:
        with tempfile.TemporaryDirectory(prefix="skgd-vw-") as directory:
            vw = VWPeer(data, directory)
            for rule in VW_RULES:
                add(vw.bench(rule, repeats), f"VW {rule}")
    for optimizer in OPTIMIZERS:
        for batch_size in BATCH_SIZES:
            if (optimizer, batch_size) != ("sgd", 1):
                add(bench_skgd(optimizer, batch_size, data, repeats, max_seconds))
    return rows, references


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="20k training rows, not 100k"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=60.0,
        help="extrapolate an skgd epoch estimated longer than this",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default="benchmarks/sparse_results.json")
    args = parser.parse_args()

    n_train, n_test = (20_000, 5_000) if args.quick else (100_000, 20_000)
    X, y = hashed_sparse(n_train + n_test, seed=args.seed)
    data = (X[:n_train], y[:n_train], X[n_train:], y[n_train:])

    when = str(date.today())
    machine = f"{platform.platform()}, {os.cpu_count()} cores"
    missing = [name for name in OPTIMIZERS if name not in OPTIMIZER_NAMES]
    print(
        f"{machine}, {when}; {n_train} x {N_FEATURES} CSR, {NNZ_PER_ROW} "
        f"non-zeros a row, {n_test} test rows; ratios below 1: the row is "
        f"faster\n"
    )
    print(HEADER)
    rows, references = run(data, args.repeats, args.max_seconds)
    for row in rows:
        if "command" in row:
            print(f"\n{row['workload']}: {row['command']}")
    with open(args.json, "w") as f:
        json.dump(
            {
                "date": when,
                "machine": platform.platform(),
                "cores": os.cpu_count(),
                "n_train": n_train,
                "n_test": n_test,
                "n_features": N_FEATURES,
                "max_seconds": args.max_seconds,
                "missing_optimizers": missing,
                "references": references,
                "results": rows,
            },
            f,
            indent=1,
        )


if __name__ == "__main__":
    main()
