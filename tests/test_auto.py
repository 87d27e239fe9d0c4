"""learning_rate="auto": the schedule chosen for the mode, the rule and the data."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skgd import GDClassifier
from skgd.schedules import Adaptive, LineSearch, Optimal


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


def test_sgdclassifier_configuration_is_exactly_optimal(digits):
    X, y = digits
    params = dict(max_iter=5, tol=None, random_state=0)
    auto = _fit(GDClassifier(**params), X, y)
    optimal = _fit(GDClassifier(learning_rate="optimal", **params), X, y)
    assert type(auto.learning_rate_) is Optimal
    assert auto.learning_rate_.get_params() == {"alpha": 1e-4}
    np.testing.assert_array_equal(auto.coef_, optimal.coef_)
    np.testing.assert_array_equal(auto.loss_curve_, optimal.loss_curve_)


def test_the_full_batch_of_a_smooth_loss_is_the_line_search(digits):
    X, y = digits
    params = dict(loss="softmax", batch_size="full", max_iter=20, tol=None)
    auto = GDClassifier(**params).fit(X, y)
    line_search = GDClassifier(learning_rate="line_search", **params).fit(X, y)
    assert type(auto.learning_rate_) is LineSearch
    assert auto.learning_rate_.get_params() == LineSearch().get_params()
    np.testing.assert_array_equal(auto.coef_, line_search.coef_)


def _best_constant_step(params, X, y, epochs):
    """The constant step of a grid (powers of 2) with the lowest objective."""
    scores = {}
    for k in range(-12, 4):
        est = GDClassifier(learning_rate="constant", eta0=2.0**k, **params)
        est.set_params(max_iter=epochs, tol=None)
        try:
            scores[2.0**k] = _fit(est, X, y).loss_curve_[-1]
        except ValueError:  # diverged
            continue
    return min(scores, key=scores.get)


@pytest.mark.parametrize(
    "params",
    [
        dict(loss="softmax", batch_size=32),
        dict(loss="log_loss", batch_size=32, optimizer="momentum"),
        dict(loss="softmax", batch_size=16, optimizer="adam"),
        dict(loss="hinge", batch_size="full"),
    ],
    ids=lambda p: "-".join(str(v) for v in p.values()),
)
def test_other_modes_calibrate_a_step_near_the_best_of_a_grid(params, digits):
    """Bottou's calibration on 1000 rows picks a step within a factor 4 of
    the best constant step of a grid run on all rows."""
    X, y = digits
    params = dict(params, random_state=0)
    est = _fit(GDClassifier(max_iter=50, **params), X, y)
    assert isinstance(est.learning_rate_, Adaptive)
    full = params["batch_size"] == "full"
    best = _best_constant_step(params, X, y, epochs=30 if full else 3)
    assert best / 4 <= est.learning_rate_.eta0 <= best * 4, (
        est.learning_rate_.eta0,
        best,
    )


def test_a_stream_keeps_its_first_resolution(digits):
    X, y = digits
    est = GDClassifier(loss="softmax", batch_size=32, random_state=0)
    est.partial_fit(X[:600], y[:600], classes=np.unique(y))
    first = est.learning_rate_
    est.partial_fit(X[600:], y[600:])
    assert est.learning_rate_ is first
    # A new fit resolves again, on its own data.
    _fit(est, X[600:], y[600:])
    assert est.learning_rate_ is not first


def test_verbose_says_what_auto_chose(digits, capsys):
    X, y = digits
    _fit(GDClassifier(batch_size="full", loss="log_loss", max_iter=1, verbose=1), X, y)
    assert capsys.readouterr().out.startswith("-- learning_rate='auto': LineSearch()")


def test_the_resolved_schedule_is_also_set_for_explicit_schedules(digits):
    X, y = digits
    est = _fit(GDClassifier(learning_rate="constant", eta0=0.1, max_iter=1), X, y)
    assert est.learning_rate_.get_params() == {"eta0": 0.1}
