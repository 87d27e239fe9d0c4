"""Demonstration: ``python -m skgd`` (``--help`` for its options).

Trains on scikit-learn's bundled digits with every descent mode and every
loss family, next to scikit-learn's SGDClassifier, and prints test
accuracy, epochs, why each fit stopped and its time.
"""

import argparse
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgd import GDClassifier

LOSSES = {
    "hinge": "one-vs-rest linear SVM",
    "log_loss": "one-vs-rest logistic regression",
    "softmax": "multinomial logistic regression",
    "multiclass_hinge": "Weston-Watkins multiclass SVM",
}

# The usual settings of each descent mode: SGDClassifier's own for one sample
# per step, Adam for mini-batches, plain descent with a rate that adapts to
# plateaus for the full batch.
MODES = {
    1: dict(optimizer="sgd", learning_rate="optimal"),
    32: dict(optimizer="adam", learning_rate="constant", eta0=0.01),
    "full": dict(optimizer="sgd", learning_rate="adaptive", eta0=0.5),
}


DESCRIPTION = """\
Trains on scikit-learn's bundled digits (8x8 images, 10 classes) with three
descent modes (one sample, mini-batches of 32, the full batch) and four loss
families, next to scikit-learn's SGDClassifier, and prints test accuracy,
epochs, why each fit stopped and its time."""

EPILOG = """\
next steps:
  the examples:  python examples/plot_descent_modes.py (and the others in
                 examples/, with matplotlib)
  the docs:      python -m pip install -e ".[doc]" &&
                 python -m sphinx -b html doc doc/_build/html"""

# Why a fit stopped, in the table's words (GDClassifier.stop_reason_).
STOPPED = {
    "max_iter": "cap",
    "tol": "tol",
    "validation": "validation",
    "converged": "converged",
    "callback": "callback",
}


def _stopped(estimator, max_iter):
    if hasattr(estimator, "stop_reason_"):
        return STOPPED[estimator.stop_reason_]
    # SGDClassifier: fewer epochs than max_iter means its tol rule ended it.
    return "tol" if estimator.n_iter_ < max_iter else "cap"


def _row(name, mode, model, X_train, y_train, X_test, y_test, max_iter):
    start = time.perf_counter()
    with warnings.catch_warnings():
        # The table says which fits hit the cap; the warning would repeat it.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    accuracy = model.score(X_test, y_test)
    epochs = model[-1].n_iter_
    stopped = _stopped(model[-1], max_iter)
    cells = f"{accuracy:8.4f} | {epochs:6d} | {stopped:>10} | {seconds:8.2f}"
    return f"| {name:<32} | {mode!s:>10} | {cells} |"


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skgd",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--max-iter", type=int, default=100, help="epochs at most (default 100)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random_state (default 0)")
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0
    )
    print(
        f"digits: {X_train.shape[0]} training and {X_test.shape[0]} test images, "
        f"{X.shape[1]} pixels, 10 classes; StandardScaler, alpha=1e-4, "
        f"max_iter={args.max_iter}, random_state={args.seed}\n"
    )
    header = f"{'accuracy':>8} | {'epochs':>6} | {'stopped':>10} | {'fit (s)':>8}"
    print(f"| {'model':<32} | {'batch_size':>10} | {header} |")
    print(f"|{'-' * 34}|{'-' * 12}|{'-' * 10}|{'-' * 8}|{'-' * 12}|{'-' * 10}|")
    data = (X_train, y_train, X_test, y_test)
    for loss in LOSSES:
        for batch_size, settings in MODES.items():
            model = make_pipeline(
                StandardScaler(),
                GDClassifier(
                    loss=loss,
                    batch_size=batch_size,
                    max_iter=args.max_iter,
                    random_state=args.seed,
                    **settings,
                ),
            )
            name = f"{loss} ({settings['optimizer']})"
            print(_row(name, batch_size, model, *data, args.max_iter))
        if loss in ("hinge", "log_loss"):
            peer = make_pipeline(
                StandardScaler(),
                SGDClassifier(
                    loss=loss, max_iter=args.max_iter, random_state=args.seed
                ),
            )
            print(_row(f"sklearn SGDClassifier {loss}", 1, peer, *data, args.max_iter))
    print("\nLoss families: " + "; ".join(f"{k}: {v}" for k, v in LOSSES.items()) + ".")
    print(
        "Stopped: 'tol' - the training objective improved by less than tol=1e-3\n"
        "for 5 epochs in a row; 'cap' - the fit ran all --max-iter="
        f"{args.max_iter} epochs, the\n"
        "objective still moving by more than tol (its ConvergenceWarning is\n"
        "hidden here). Accuracy settles sooner than the objective: compare\n"
        "accuracies, or raise --max-iter to see those fits end on tol.\n"
        "Next: python -m skgd --help lists the examples and the docs."
    )


if __name__ == "__main__":
    main()
