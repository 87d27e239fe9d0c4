"""Arithmetic edges: every division by a sum of weights or a count is
guarded; huge integer hyperparameters are taken, never an OverflowError;
a batch at least as large as the training rows is exactly the full batch."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier

from skgd import GDClassifier


def _data(n=60):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, 5))
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, y


def _fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


@pytest.mark.parametrize("weight", [1e-310, 1e-200, 1e200, 1e300])
@pytest.mark.parametrize("batch_size", [8, "full"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_uniform_extreme_weights_train_the_unweighted_model(weight, batch_size, dtype):
    """The objective is a weighted mean, whatever the weights' scale (also
    beyond float32's range, for float32 rows)."""
    X, y = _data()
    X = X.astype(dtype)
    params = dict(loss="log_loss", batch_size=batch_size, random_state=0)
    ref = _fit(GDClassifier(**params), X, y)
    est = _fit(GDClassifier(**params), X, y, sample_weight=np.full(len(y), weight))
    np.testing.assert_array_equal(est.coef_, ref.coef_)
    np.testing.assert_array_equal(est.intercept_, ref.intercept_)


@pytest.mark.parametrize("weight", [1e-310, 1e-5, 3.0])
def test_sgdclassifier_configuration_steps_by_the_raw_weights(weight):
    """At batch 1 with plain SGD, as in SGDClassifier, the step scales with
    the weight itself: tiny weights barely move the model (no error)."""
    X, y = _data()
    common = dict(
        loss="hinge", learning_rate="constant", eta0=0.1, shuffle=False, tol=None
    )
    w = np.full(len(y), weight)
    ref = _fit(SGDClassifier(max_iter=3, **common), X, y, sample_weight=w)
    est = _fit(GDClassifier(max_iter=3, **common), X, y, sample_weight=w)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10, atol=0)
    assert np.isfinite(est.coef_).all()


def test_an_all_zero_training_split_is_a_clear_error():
    X, y = _data()
    weights = np.zeros(len(y))
    est = GDClassifier(early_stopping=True, validation_fraction=0.5, random_state=0)
    # The validation rows weigh 1, the rows left to train on 0.
    from sklearn.model_selection import StratifiedShuffleSplit

    cv = StratifiedShuffleSplit(test_size=0.5, random_state=0)
    _, validation = next(cv.split(np.zeros((len(y), 1)), y))
    weights[validation] = 1.0
    with pytest.raises(
        ValueError, match=r"^The sample weights for training set are all zero"
    ):
        est.fit(X, y, sample_weight=weights)
    assert not hasattr(est, "coef_")


def test_huge_integer_hyperparameters_are_taken():
    """Beyond a C long: ``average`` never starts, a batch is the full batch,
    ``max_iter`` and ``n_iter_no_change`` are bounds never reached."""
    X, y = _data()
    params = dict(
        loss="log_loss", learning_rate="constant", tol=None, max_iter=3, random_state=0
    )
    never = _fit(GDClassifier(average=10**30, **params), X, y)
    plain = _fit(GDClassifier(**params), X, y)
    np.testing.assert_array_equal(never.coef_, plain.coef_)
    huge = _fit(GDClassifier(batch_size=10**30, **params), X, y)
    full = _fit(GDClassifier(batch_size="full", **params), X, y)
    np.testing.assert_array_equal(huge.coef_, full.coef_)
    est = _fit(GDClassifier(max_iter=10**30, tol=1e-1, n_iter_no_change=2), X, y)
    assert est.n_iter_ < 100
    est = _fit(GDClassifier(max_iter=2, n_iter_no_change=10**30, tol=1e-3), X, y)
    assert est.n_iter_ == 2


def test_a_batch_as_large_as_the_training_split_is_the_full_batch():
    """With early stopping the training rows are fewer than the data's: a
    batch of all of them, or more, is exactly the full batch."""
    X, y = _data()
    params = dict(
        loss="log_loss",
        learning_rate="constant",
        eta0=0.1,
        early_stopping=True,
        validation_fraction=0.25,
        n_iter_no_change=50,
        max_iter=4,
        random_state=0,
    )
    full = _fit(GDClassifier(batch_size="full", **params), X, y)
    for batch_size in (45, 59, 10**6):  # 45 training rows
        est = _fit(GDClassifier(batch_size=batch_size, **params), X, y)
        np.testing.assert_array_equal(est.coef_, full.coef_)
        assert est.t_ == full.t_ == 5


@pytest.mark.parametrize(
    "params",
    [
        dict(batch_size="full"),
        dict(batch_size=4),
        dict(batch_size=4, optimizer="saga"),
        dict(batch_size=4, optimizer="adam"),
        dict(batch_size=1, learning_rate="constant"),
    ],
    ids=repr,
)
def test_rows_of_zeros_without_intercept_or_l2_train_the_zero_model(params):
    """The smoothness bound of such an objective is 0 (it is constant): the
    steps derived from it (line search, SAGA, calibration) are guarded."""
    X, y = np.zeros((20, 3)), np.arange(20) % 2
    est = _fit(
        GDClassifier(loss="log_loss", fit_intercept=False, alpha=0.0, **params), X, y
    )
    np.testing.assert_array_equal(est.coef_, 0.0)


@pytest.mark.parametrize(
    "params",
    [
        dict(alpha=5e-324),
        dict(alpha=1e300),
        dict(batch_size=8, alpha=1e300),
        dict(batch_size="full", alpha=1e300),
        dict(batch_size=8, optimizer="saga", alpha=1e300),
        dict(batch_size=8, optimizer="svrg", alpha=1e300),
        dict(loss="huber", epsilon=1e308),
        dict(learning_rate="invscaling", power_t=1e308, eta0=1.0),
        dict(learning_rate="adaptive", eta0=1e-300),
        dict(learning_rate="constant", eta0=1e308),
        dict(learning_rate="pa1", eta0=1e308, loss="hinge"),
    ],
    ids=repr,
)
def test_extreme_hyperparameters_give_a_model_or_a_documented_error(params):
    """Never an OverflowError or a ZeroDivisionError from inside (a huge
    alpha's steps of 1e-301 used to underflow SAGA's certificate to 0, and
    Huber's epsilon ** 2 beyond 1e308 overflowed in Python)."""
    X, y = _data()
    params = {"loss": "log_loss", **params}
    try:
        est = _fit(GDClassifier(**params), X, y)
    except ValueError as exc:
        assert str(exc).startswith("Floating-point under-/overflow occurred")
        return
    assert np.isfinite(est.coef_).all() and np.isfinite(est.intercept_).all()
