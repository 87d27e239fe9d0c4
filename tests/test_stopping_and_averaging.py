"""The stopping rule of the stochastic modes and averaging after a burn-in:
replayed by hand from the loss curve, and held to the runs they modify."""

import warnings

import numpy as np
import pytest
from conftest import training_objective
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skgd import GDClassifier


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _first_stop(curve, tol, patience, relative):
    """The epoch scikit-learn's rule stops at, replayed on a loss curve:
    after ``patience`` epochs in a row whose objective is not below the best
    so far minus ``tol`` (times the best, if ``relative``)."""
    best, bad = np.inf, 0
    for epoch, value in enumerate(curve, start=1):
        scale = abs(best) if relative and np.isfinite(best) else 1.0
        bad = 0 if value <= best - tol * scale else bad + 1
        best = min(best, value)
        if bad >= patience:
            return epoch
    return None


def _fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GDClassifier(**params).fit(X, y)


@pytest.mark.parametrize(
    "params, relative",
    [
        (dict(batch_size=32, optimizer="sgd"), True),
        (dict(batch_size=1, optimizer="adam"), True),
        (dict(batch_size=1, optimizer="sgd"), False),  # SGDClassifier's rule
    ],
)
def test_the_tolerance_is_relative_outside_sgdclassifiers_configuration(
    digits, params, relative
):
    X, y = digits
    X, y = X[:600], y[:600]
    est = _fit(
        X,
        y,
        loss="log_loss",
        learning_rate="constant",
        eta0=0.01,
        tol=1e-2,
        n_iter_no_change=3,
        max_iter=200,
        random_state=0,
        **params,
    )
    curve = np.asarray(est.loss_curve_)
    assert est.n_iter_ == _first_stop(curve, 1e-2, 3, relative) < 200
    # The other rule would have stopped elsewhere: the test can tell them apart.
    assert _first_stop(curve, 1e-2, 3, not relative) != est.n_iter_


def test_burn_in_starts_at_the_first_epoch_that_does_not_improve(digits):
    """average=True (batch 32) equals average=k for the k the rule picks:
    1 + the updates up to the first epoch that did not improve."""
    X, y = digits
    params = dict(
        loss="softmax",
        batch_size=32,
        learning_rate="constant",
        eta0=0.5,
        random_state=0,
        max_iter=60,
    )
    burnt = _fit(X, y, average=True, **params)
    live = _fit(X, y, average=False, **params)
    curve = np.asarray(live.loss_curve_)
    # The epoch objectives are the live iterate's, the same in both fits.
    np.testing.assert_array_equal(curve, burnt.loss_curve_)
    first_flat = _first_stop(curve, 1e-3, 1, relative=True)
    assert first_flat < 30  # the noise floor, not half of max_iter, ends it
    updates_per_epoch = -(-len(y) // 32)
    start = 1 + first_flat * updates_per_epoch
    by_hand = _fit(X, y, average=start, **params)
    np.testing.assert_allclose(burnt.coef_, by_hand.coef_, rtol=1e-12, atol=1e-14)
    assert not np.allclose(burnt.coef_, live.coef_)
    # Averaging the settled iterates costs at most the noise of the epochs.
    F = training_objective(live, X, y)
    assert F(burnt.coef_, burnt.intercept_) <= 1.1 * F(live.coef_, live.intercept_)
    early = _fit(X, y, average=1, **params)
    assert F(early.coef_, early.intercept_) > F(burnt.coef_, burnt.intercept_)


def test_burn_in_keeps_the_zeros_of_the_l1_solution(digits):
    X, y = digits
    params = dict(
        loss="softmax",
        batch_size=32,
        penalty="l1",
        alpha=1e-3,
        random_state=0,
        max_iter=40,
    )
    live = _fit(X, y, average=False, **params)
    burnt = _fit(X, y, average=True, **params)
    early = _fit(X, y, average=1, **params)
    zeros = live.coef_ == 0
    assert zeros.sum() > 0.3 * zeros.size
    np.testing.assert_array_equal(burnt.coef_ == 0, zeros)
    # The average of every iterate from the first is far denser.
    assert np.count_nonzero(early.coef_ == 0) < 0.5 * zeros.sum()


def test_sgdclassifiers_configuration_and_streams_average_from_the_start(digits):
    X, y = digits
    X, y = X[:400], (y[:400] > 4).astype(int)
    params = dict(loss="hinge", random_state=0, max_iter=5, tol=None)
    np.testing.assert_array_equal(
        _fit(X, y, average=True, **params).coef_,
        _fit(X, y, average=1, **params).coef_,
    )
    streams = []
    for average in (True, 1):
        est = GDClassifier(average=average, batch_size=16, optimizer="adam", **params)
        for part in np.array_split(np.arange(len(y)), 3):
            est.partial_fit(X[part], y[part], classes=[0, 1])
        streams.append(est.coef_)
    np.testing.assert_array_equal(*streams)


def test_a_full_batch_stopped_far_from_the_optimum_says_so(digits):
    """Full-batch momentum stops on its plateau rule: it warns with a
    certified distance that bounds the true one, unless within tol."""
    import re

    X, y = digits
    ref = GDClassifier(loss="softmax", batch_size="full", tol=1e-10, max_iter=5000)
    ref.fit(X, y)
    F = training_objective(ref, X, y)
    f_star = F(ref.coef_, ref.intercept_)
    est = GDClassifier(loss="softmax", batch_size="full", optimizer="momentum")
    with pytest.warns(ConvergenceWarning, match="Training stopped improving") as w:
        est.set_params(random_state=0).fit(X, y)
    assert est.n_iter_ < est.max_iter
    certified = float(re.search(r"certified within ([0-9.e+-]+)", str(w[0].message))[1])
    true_gap = (F(est.coef_, est.intercept_) - f_star) / f_star
    assert 1e-3 < true_gap <= certified
    # A fit that stops within tol says nothing (strong L2, a plain step).
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        GDClassifier(
            loss="softmax",
            batch_size="full",
            alpha=1.0,
            learning_rate="constant",
            eta0=0.1,
        ).fit(X, y)
