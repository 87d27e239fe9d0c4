"""Averaged SGD next to SGDClassifier's, on the workload of scikit-learn's
SGD comparison gallery example.

That example ("Comparing various online solvers") fits SGDClassifier with
``max_iter=110``, with and without ``average=True``, on the unscaled digits,
for training fractions of 5 % to 99 % and 10 seeds each, and plots the test
error. The same fits, written here again, are timed for SGDClassifier and
for skgd swapped in, side by side in one run; the figure of merit is the
total time and the time per epoch (the two may stop after different numbers
of epochs: their shuffles differ).

Usage: ``python benchmarks/averaging.py [--rounds N]``.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split

from skgd import GDClassifier

HELD_OUT = (0.95, 0.90, 0.75, 0.50, 0.01)


def run(rounds=10):
    """``{(class name, average): (seconds, epochs, mean test error)}``."""
    X, y = load_digits(return_X_y=True)
    results = {}
    for average in (False, True):
        for cls in (SGDClassifier, GDClassifier):
            seconds, epochs, errors = 0.0, 0, []
            for fraction in HELD_OUT:
                for seed in range(rounds):
                    X_tr, X_te, y_tr, y_te = train_test_split(
                        X, y, test_size=fraction, random_state=seed
                    )
                    model = cls(max_iter=110, average=average, random_state=seed)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        start = time.perf_counter()
                        model.fit(X_tr, y_tr)
                        seconds += time.perf_counter() - start
                    epochs += model.n_iter_
                    errors.append(1.0 - model.score(X_te, y_te))
            results[cls.__name__, average] = (seconds, epochs, float(np.mean(errors)))
    return results


def report(results):
    lines = [
        "| average | class | total (s) | epochs | per epoch (ms) | x SGDClassifier "
        "per epoch | mean test error |",
        "|---|---|---|---|---|---|---|",
    ]
    for (name, average), (seconds, epochs, error) in results.items():
        ref_seconds, ref_epochs, _ = results["SGDClassifier", average]
        ratio = (seconds / epochs) / (ref_seconds / ref_epochs)
        lines.append(
            f"| {average} | {name} | {seconds:.2f} | {epochs} | "
            f"{1e3 * seconds / epochs:.3f} | {ratio:.2f} | {error:.3f} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    print(report(run(args.rounds)))


if __name__ == "__main__":
    main()
