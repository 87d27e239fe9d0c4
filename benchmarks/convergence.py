"""Time to the optimum: every descent mode with the defaults, next to scikit-learn.

    python benchmarks/convergence.py [--quick] [--json PATH] [--rst PATH]

For each data set (scikit-learn's breast cancer and digits, and a synthetic
100,000 x 100 set of 10 classes; all standardised) the objective is skgd's,
``F = mean loss + alpha / 2 |W|^2`` with the default ``alpha = 1e-4``: the
logistic loss for two classes, softmax otherwise, which is
LogisticRegression's objective at ``C = 1 / (alpha n)``. Its minimum F* is
the lowest of LogisticRegression(lbfgs, tol=1e-12) and skgd's line search at
tol=1e-12 (at most 1,000 updates).

Then, side by side in one run:

* skgd with every default but ``loss``, ``batch_size`` in {1, 32, 256,
  "full"} and ``optimizer`` in {"sgd", "momentum", "adam", "saga", "svrg"}, twice:
  with all those defaults (where the fit stops, how far from F*, whether it
  warned), and with ``tol=1e-10`` (a callback records the weights and the
  time after each epoch, its own cost subtracted, for the time to a relative
  suboptimality (F - F*) / F* of 1e-2, 1e-4 and 1e-6; ``-``: not reached).
  Each run is stopped by the callback after ``CAP`` seconds ("capped");
* LogisticRegression with the solvers lbfgs, newton-cholesky, sag and saga,
  each run at tol = 1e-1 ... 1e-10: the time to a suboptimality is the
  shortest run that reaches it;
* SGDClassifier (batch 1, its defaults) on the two-class set, where its
  objective is the same;
* the full batch on every smooth loss and on L1 / elastic net
  (breast cancer, ``alpha=1e-3``), to 1e-6 of a reference optimum: SciPy's
  L-BFGS-B on the smooth objectives, LogisticRegression(saga, tol=1e-12)
  with the L1 parts;
* test accuracy on a digits split (StandardScaler, all defaults but loss,
  batch size and optimizer) against LogisticRegression's.
"""

import argparse
import functools
import json
import math
import os
import platform
import sys
import time
import warnings
from datetime import date

import numpy as np
from scipy.optimize import minimize
from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skgd import GDClassifier
from skgd._objective import Objective
from skgd.losses import get_loss
from skgd.penalties import get_penalty

ALPHA = 1e-4
LEVELS = (1e-2, 1e-4, 1e-6)
BATCHES = (1, 32, 256, "full")
OPTIMIZERS = ("sgd", "momentum", "adam", "saga", "svrg")
#: Seconds after which the recording callback stops a run.
CAP = 8.0
SOLVERS = ("lbfgs", "newton-cholesky", "sag", "saga")


def _data_sets(quick):
    n_synthetic = 10_000 if quick else 100_000
    X, y = make_classification(
        n_samples=n_synthetic,
        n_features=100,
        n_informative=40,
        n_classes=10,
        random_state=0,
    )
    sets = [
        ("breast_cancer", *load_breast_cancer(return_X_y=True)),
        ("digits", *load_digits(return_X_y=True)),
        (f"synthetic {n_synthetic // 1000}k x 100, 10 classes", X, y),
    ]
    return [(name, StandardScaler().fit_transform(X), y) for name, X, y in sets]


class Problem:
    """A data set and its objective F (``loss``, ``penalty``, ``alpha``),
    with the minimum F* (see :meth:`_reference_optima`)."""

    def __init__(self, name, X, y, loss=None, penalty="l2", l1_ratio=0.15, alpha=ALPHA):
        self.name, self.X, self.y = name, X, y
        self.classes = np.unique(y)
        self.binary = len(self.classes) == 2
        self.loss = loss or ("log_loss" if self.binary else "softmax")
        self.params = dict(penalty=penalty, l1_ratio=l1_ratio, alpha=alpha)
        self.objective = Objective(
            get_loss(self.loss),
            get_penalty(penalty, l1_ratio),
            alpha,
            True,
            len(self.classes),
        )
        y_idx = np.searchsorted(self.classes, y)
        self.Y = self.objective.encode(y_idx, np.float64)
        self.w = np.ones(len(y))
        self.C = 1.0 / (alpha * len(y))
        self.F_star = min(self._reference_optima() + [self._line_search_optimum()])

    def F(self, coef, intercept):
        return self.objective.value(coef, intercept, self.X, self.Y, self.w)

    def suboptimality(self, coef, intercept):
        return max((self.F(coef, intercept) - self.F_star) / abs(self.F_star), 0.0)

    @property
    def logistic(self):
        """LogisticRegression minimises the same objective."""
        return self.loss in ("log_loss", "softmax")

    def logistic_regression(self, solver, tol):
        penalty = self.params["penalty"]
        l1_ratio = {"l2": 0.0, "l1": 1.0}.get(penalty, self.params["l1_ratio"])
        return LogisticRegression(
            C=self.C, solver=solver, tol=tol, max_iter=100_000, l1_ratio=l1_ratio
        )

    def _reference_optima(self):
        """LogisticRegression's (lbfgs, or saga with an L1 part) for its
        losses, SciPy's L-BFGS-B for the other smooth losses."""
        if self.logistic:
            solver = "lbfgs" if self.params["penalty"] == "l2" else "saga"
            ref = self.logistic_regression(solver, 1e-12)
            ref.set_params(max_iter=20_000)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref.fit(self.X, self.y)
            return [self.F(ref.coef_, ref.intercept_)]
        return [self.scipy_lbfgs(1e-12)[1]]

    def scipy_lbfgs(self, gtol):
        """SciPy's L-BFGS-B on F (smooth penalties): (weights, F)."""
        shape = (self.Y.shape[1] if self.Y.ndim > 1 else 1, self.X.shape[1])
        size = shape[0] * shape[1]

        def fun(theta):
            coef, intercept = theta[:size].reshape(shape), theta[size:]
            value, g_coef, g_intercept = self.objective.value_and_gradient(
                coef, intercept, self.X, self.Y, self.w
            )
            return value, np.concatenate([g_coef.ravel(), g_intercept])

        theta0 = np.zeros(size + shape[0])
        result = minimize(
            fun,
            theta0,
            jac=True,
            method="L-BFGS-B",
            options=dict(gtol=gtol, ftol=0.0, maxiter=100_000, maxfun=100_000),
        )
        coef, intercept = result.x[:size].reshape(shape), result.x[size:]
        return (coef, intercept), self.F(coef, intercept)

    def _line_search_optimum(self):
        est = GDClassifier(
            loss=self.loss,
            batch_size="full",
            learning_rate="line_search",
            tol=1e-12,
            max_iter=1_000,
            **self.params,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(self.X, self.y)
        return self.F(est.coef_, est.intercept_)


class EpochRecorder:
    """A scikit-learn callback: the weights and the time after each epoch.

    The time spent in the callback itself (copying the weights) is
    measured and subtracted, so the times are the fit's own. It stops the
    fit once ``cap`` seconds have passed.
    """

    def __init__(self, cap):
        self.cap = cap

    def setup(self, estimator, context):
        self.records, self.own_time, self.capped = [], 0.0, False
        self.start = time.perf_counter()

    def on_fit_task_begin(self, estimator, context, **kwargs):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None, **kw):
        begin = time.perf_counter()
        elapsed = begin - self.start - self.own_time
        if fitted_estimator is not None and hasattr(fitted_estimator, "coef_"):
            coef = fitted_estimator.coef_.copy()
            self.records.append((elapsed, coef, fitted_estimator.intercept_.copy()))
        self.own_time += time.perf_counter() - begin
        self.capped = self.capped or elapsed > self.cap
        return self.capped

    def teardown(self, estimator, context):
        pass


def _times_to_levels(trajectory):
    """The first time each level of suboptimality is reached (None: never)."""
    return [
        next((t for t, gap in trajectory if gap <= level), None) for level in LEVELS
    ]


def _recorded_fit(problem, cap, **params):
    est = GDClassifier(loss=problem.loss, random_state=0, **problem.params, **params)
    recorder = EpochRecorder(cap)
    est.set_callbacks(recorder)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        est.fit(problem.X, problem.y)
        total = time.perf_counter() - start - recorder.own_time
    trajectory = [(t, problem.suboptimality(c, b)) for t, c, b in recorder.records]
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return est, trajectory, total, warned, recorder.capped


def bench_skgd(problem, batch_size, optimizer, cap=CAP):
    mode = dict(batch_size=batch_size, optimizer=optimizer)
    est, trajectory, total, warned, capped = _recorded_fit(problem, cap, **mode)
    _, to_optimum, _, _, _ = _recorded_fit(
        problem, cap, tol=1e-10, max_iter=1_000_000, **mode
    )
    return {
        "data": problem.name,
        "method": f"skgd batch={batch_size} {optimizer}",
        "schedule": repr(est.learning_rate_),
        "times": _times_to_levels(to_optimum),
        "fit_s": total,
        "epochs": est.n_iter_,
        "final": trajectory[-1][1] if trajectory else math.nan,
        "warned": warned,
        "capped": capped,
    }


def _peer_runs(problem, make, depth=10, cap=4 * CAP):
    """``make(tol)`` at tol = 1e-1 ... 1e-depth: (time, suboptimality) each;
    the sweep ends after a run longer than ``cap`` seconds (a smaller tol
    only takes longer)."""
    runs = []
    for k in range(1, depth + 1):
        if runs and runs[-1][0] > cap:
            break
        est = make(10.0**-k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            est.fit(problem.X, problem.y)
            elapsed = time.perf_counter() - start
        runs.append((elapsed, problem.suboptimality(est.coef_, est.intercept_)))
    return runs


def _peer_row(problem, method, runs, default_tol=1e-4):
    default = round(-math.log10(default_tol)) - 1
    times = [
        min((t for t, gap in runs if gap <= level), default=None) for level in LEVELS
    ]
    return {
        "data": problem.name,
        "method": method,
        "schedule": "",
        "times": times,
        # The run at the peer's default tol (tol = 10^-k is run k - 1).
        "fit_s": runs[min(default, len(runs) - 1)][0],
        "epochs": None,
        "final": runs[min(default, len(runs) - 1)][1],
        "warned": False,
        "capped": False,
    }


def bench_peers(problem, depth=10):
    rows = []
    for solver in SOLVERS:

        def make(tol, solver=solver):
            return problem.logistic_regression(solver, tol)

        runs = _peer_runs(problem, make, depth)
        rows.append(_peer_row(problem, f"LogisticRegression {solver}", runs))
    if problem.binary:

        def make_sgd(tol):
            return SGDClassifier(loss="log_loss", alpha=ALPHA, tol=tol, random_state=0)

        runs = _peer_runs(problem, make_sgd, depth)
        rows.append(
            _peer_row(problem, "SGDClassifier (batch 1)", runs, default_tol=1e-3)
        )
    return rows


def bench_full_batch_losses(cap=CAP):
    """The full batch with the defaults on every smooth loss and with L1
    parts, to 1e-6 of a reference optimum, next to the reference solver."""
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    cases = [
        dict(loss=loss, penalty="l2")
        for loss in ("log_loss", "softmax", "modified_huber", "squared_hinge")
    ]
    cases += [dict(loss="log_loss", penalty=p) for p in ("l1", "elasticnet")]
    rows = []
    for case in cases:
        problem = Problem(
            f"breast_cancer {case['loss']} {case['penalty']}",
            X,
            y,
            alpha=1e-3,
            **case,
        )
        if problem.logistic:
            solver = "lbfgs" if case["penalty"] == "l2" else "saga"
            make = functools.partial(problem.logistic_regression, solver)
            runs = _peer_runs(problem, make)
            rows.append(_peer_row(problem, f"LogisticRegression {solver}", runs))
        else:
            runs = []
            for k in range(1, 11):
                start = time.perf_counter()
                weights, _ = problem.scipy_lbfgs(10.0**-k)
                elapsed = time.perf_counter() - start
                runs.append((elapsed, problem.suboptimality(*weights)))
            rows.append(_peer_row(problem, "SciPy L-BFGS-B", runs, default_tol=1e-5))
        rows.append(bench_skgd(problem, "full", "sgd", cap))
    return rows


def bench_accuracy():
    """Digits test accuracy: every cell with the defaults (but loss, batch
    size, optimizer), next to LogisticRegression's."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    reference = LogisticRegression(max_iter=10_000).fit(X_train, y_train)
    rows = [("LogisticRegression", reference.score(X_test, y_test), "")]
    for batch_size in BATCHES:
        for optimizer in OPTIMIZERS:
            est = GDClassifier(
                loss="softmax",
                batch_size=batch_size,
                optimizer=optimizer,
                random_state=0,
            )
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                est.fit(X_train, y_train)
            warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
            rows.append(
                (
                    f"skgd batch={batch_size} {optimizer}",
                    est.score(X_test, y_test),
                    "yes" if warned else "",
                )
            )
    return rows


def run(data_sets, batches=BATCHES, optimizers=OPTIMIZERS, cap=CAP, depth=10):
    """The convergence table's rows for ``data_sets`` ((name, X, y) each);
    the peers run at tol = 1e-1 ... 1e-depth."""
    rows = []
    for name, X, y in data_sets:
        start = time.perf_counter()
        problem = Problem(name, X, y)
        print(f"{name}: F* in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        for row in bench_peers(problem, depth):
            rows.append(row)
            print(_format(row), flush=True)
        for batch_size in batches:
            for optimizer in optimizers:
                row = bench_skgd(problem, batch_size, optimizer, cap)
                rows.append(row)
                print(_format(row), flush=True)
    return rows


HEADER = (
    "| data | method | to 1e-2 (s) | to 1e-4 (s) | to 1e-6 (s) | fit, defaults (s) "
    "| epochs | its gap | warned |\n|---|---|---|---|---|---|---|---|---|"
)


def _cells(r):
    def seconds(t):
        return "-" if t is None else f"{t:.3f}"

    return [
        r["data"],
        r["method"],
        *(seconds(t) for t in r["times"]),
        f"{r['fit_s']:.3f}",
        "" if r["epochs"] is None else str(r["epochs"]),
        f"{r['final']:.1e}",
        ("yes" if r["warned"] else "") + (" (capped)" if r.get("capped") else ""),
    ]


def _format(r):
    return "| " + " | ".join(_cells(r)) + " |"


def _rst(rows, title):
    names = [h.strip() for h in HEADER.split("\n")[0].strip("|").split("|")]
    quote = '", "'.join
    lines = [title, "-" * len(title), "", ".. csv-table::", "   :header-rows: 1", ""]
    lines.append(f'   "{quote(names)}"')
    lines += [f'   "{quote(_cells(r))}"' for r in rows]
    return "\n".join(lines) + "\n"


def _accuracy_table(rows):
    lines = ["| digits, test accuracy | accuracy | warned |", "|---|---|---|"]
    lines += [f"| {name} | {score:.4f} | {warned} |" for name, score, warned in rows]
    return "\n".join(lines)


def _accuracy_rst(rows, title):
    lines = [title, "-" * len(title), "", ".. csv-table::", "   :header-rows: 1", ""]
    lines.append('   "method", "test accuracy", "warned"')
    lines += [f'   "{name}", "{score:.4f}", "{warned}"' for name, score, warned in rows]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k synthetic rows")
    parser.add_argument("--cap", type=float, default=CAP, help="seconds per run")
    parser.add_argument("--json", default="benchmarks/convergence.json")
    parser.add_argument("--rst", help="also write the tables as reStructuredText")
    args = parser.parse_args()
    machine = f"{platform.platform()}, {os.cpu_count()} cores"
    when = str(date.today())
    print(f"{machine}, {when}; suboptimality (F - F*) / F*\n")
    print(HEADER)
    rows = run(_data_sets(args.quick), cap=args.cap)
    print("\nThe full batch on every smooth loss, to a reference optimum\n")
    print(HEADER)
    loss_rows = bench_full_batch_losses(args.cap)
    for row in loss_rows:
        print(_format(row), flush=True)
    accuracy = bench_accuracy()
    print("\n" + _accuracy_table(accuracy))
    with open(args.json, "w") as f:
        results = dict(rows=rows, losses=loss_rows, accuracy=accuracy)
        json.dump({"date": when, "machine": machine, **results}, f, indent=1)
    if args.rst:
        with open(args.rst, "w") as f:
            f.write(_rst(rows, f"Measured on {machine}, {when}"))
            f.write("\n" + _rst(loss_rows, "The full batch on every smooth loss"))
            title = "Digits test accuracy with the defaults"
            f.write("\n" + _accuracy_rst(accuracy, title))


if __name__ == "__main__":
    main()
