"""Demonstration: ``python -m skgd``.

Trains on scikit-learn's bundled digits (8x8 images, 10 classes) with every
descent mode and every loss family, next to scikit-learn's SGDClassifier, and
prints test accuracy, epochs and fit time.
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


def _row(name, mode, model, X_train, y_train, X_test, y_test):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    accuracy = model.score(X_test, y_test)
    epochs = model[-1].n_iter_
    cells = f"{accuracy:8.4f} | {epochs:6d} | {seconds:8.2f}"
    return f"| {name:<32} | {mode!s:>10} | {cells} |"


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skgd", description=__doc__.split("\n")[0]
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
    header = f"{'accuracy':>8} | {'epochs':>6} | {'fit (s)':>8}"
    print(f"| {'model':<32} | {'batch_size':>10} | {header} |")
    print(f"|{'-' * 34}|{'-' * 12}|{'-' * 10}|{'-' * 8}|{'-' * 10}|")
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
            print(_row(f"{loss} ({settings['optimizer']})", batch_size, model, *data))
        if loss in ("hinge", "log_loss"):
            peer = make_pipeline(
                StandardScaler(),
                SGDClassifier(
                    loss=loss, max_iter=args.max_iter, random_state=args.seed
                ),
            )
            print(_row(f"sklearn SGDClassifier {loss}", 1, peer, *data))
    print("\nLoss families: " + "; ".join(f"{k}: {v}" for k, v in LOSSES.items()) + ".")


if __name__ == "__main__":
    main()
