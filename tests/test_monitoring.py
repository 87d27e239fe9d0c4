"""Held-out monitoring across partial_fit calls (``validation_data``)."""

import re

import numpy as np
import pytest
from conftest import _problem
from sklearn.metrics import accuracy_score

from skgd import GDClassifier

PARAMS = dict(
    loss="log_loss",
    batch_size=4,
    learning_rate="constant",
    eta0=0.5,
    random_state=0,
    n_iter_no_change=2,
    tol=0.01,
)


def _stream(n_chunks=8, n_classes=3):
    X, y = _problem(n_classes, n_samples=40 * n_chunks + 100, seed=3)
    train = [(X[i : i + 40], y[i : i + 40]) for i in range(0, 40 * n_chunks, 40)]
    return train, X[-100:], y[-100:]


def test_scores_best_weights_and_signal_follow_a_hand_kept_record():
    chunks, X_val, y_val = _stream()
    w_val = np.random.default_rng(0).uniform(0.2, 2.0, len(y_val))
    est = GDClassifier(**PARAMS)
    scores, weights = [], []
    best, count = -np.inf, 0
    for i, (X, y) in enumerate(chunks):
        est.partial_fit(X, y, classes=[0, 1, 2], validation_data=(X_val, y_val, w_val))
        # The reference: the estimator's own predictions, scored by sklearn.
        score = accuracy_score(y_val, est.predict(X_val), sample_weight=w_val)
        count = 0 if i == 0 or score >= best + PARAMS["tol"] else count + 1
        best = max(best, score)
        scores.append(score)
        weights.append((est.coef_.copy(), est.intercept_.copy()))
        assert est.validation_scores_ == pytest.approx(scores, abs=1e-15)
        assert est.n_calls_no_improvement_ == count
        assert est.stopped_improving_ == (count >= PARAMS["n_iter_no_change"])
    assert est.best_validation_score_ == pytest.approx(max(scores), abs=1e-15)
    first_best = int(np.argmax(scores))
    np.testing.assert_array_equal(est.best_coef_, weights[first_best][0])
    np.testing.assert_array_equal(est.best_intercept_, weights[first_best][1])
    # The record saw both outcomes, so the assertions above were exercised.
    assert 0 in [0 if s >= b else 1 for s, b in zip(scores[1:], scores[:-1])]


def test_monitoring_does_not_change_training():
    chunks, X_val, y_val = _stream(4)
    a, b = GDClassifier(**PARAMS), GDClassifier(**PARAMS)
    for X, y in chunks:
        a.partial_fit(X, y, classes=[0, 1, 2])
        b.partial_fit(X, y, classes=[0, 1, 2], validation_data=(X_val, y_val))
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.validation_scores_ is None and not hasattr(a, "best_coef_")


def test_signal_can_stop_a_stream_and_best_weights_restore():
    chunks, X_val, y_val = _stream(12)
    est = GDClassifier(**{**PARAMS, "n_iter_no_change": 1, "tol": 0.5})
    calls = 0
    for X, y in chunks:
        calls += 1
        est.partial_fit(X, y, classes=[0, 1, 2], validation_data=(X_val, y_val))
        if est.stopped_improving_:
            break
    # tol=0.5 cannot be beaten: the second call raises the signal.
    assert calls == 2
    est.coef_, est.intercept_ = est.best_coef_, est.best_intercept_
    assert est.score(X_val, y_val) == est.best_validation_score_


def test_tol_none_never_signals():
    chunks, X_val, y_val = _stream(6)
    est = GDClassifier(**{**PARAMS, "tol": None, "n_iter_no_change": 1})
    for X, y in chunks:
        est.partial_fit(X, y, classes=[0, 1, 2], validation_data=(X_val, y_val))
        assert not est.stopped_improving_ and est.n_calls_no_improvement_ == 0


def test_fit_resets_and_partial_fit_after_fit_starts_afresh():
    chunks, X_val, y_val = _stream(3)
    est = GDClassifier(**PARAMS)
    for X, y in chunks:
        est.partial_fit(X, y, classes=[0, 1, 2], validation_data=(X_val, y_val))
    est.set_params(early_stopping=True, max_iter=5, tol=None).fit(*chunks[0])
    assert len(est.validation_scores_) == 5
    assert not hasattr(est, "best_coef_") and not hasattr(est, "stopped_improving_")
    est.set_params(early_stopping=False).partial_fit(
        *chunks[1], validation_data=(X_val, y_val)
    )
    assert len(est.validation_scores_) == 1
    assert est.best_validation_score_ == est.validation_scores_[0]


@pytest.mark.parametrize(
    "validation_data, message",
    [
        (
            "held-out",
            "validation_data must be a tuple (X_val, y_val) or (X_val, y_val, "
            "sample_weight_val); got str.",
        ),
        (
            (np.zeros((3, 5)),),
            "validation_data must be a tuple (X_val, y_val) or (X_val, y_val, "
            "sample_weight_val); got tuple of length 1.",
        ),
        (
            (np.zeros((3, 4)), [0, 1, 2]),
            "validation_data: X has 4 features, but GDClassifier is expecting 5 "
            "features as input.",
        ),
        (
            (np.zeros((3, 5)), [0, 1, 7]),
            "validation_data holds labels [7] that are not in classes [0, 1, 2].",
        ),
        (
            (np.zeros((3, 5)), [0, 1, 2], np.zeros(3)),
            "validation_data: Sample weights must contain at least one non-zero "
            "number.",
        ),
    ],
    ids=["not-a-tuple", "short", "features", "labels", "zero-weights"],
)
def test_bad_validation_data(validation_data, message):
    chunks, _, _ = _stream(2)
    est = GDClassifier(**PARAMS).partial_fit(*chunks[0], classes=[0, 1, 2])
    before = est.coef_.copy(), est.t_
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        est.partial_fit(*chunks[1], validation_data=validation_data)
    # The call failed before training: the model is the one it had.
    np.testing.assert_array_equal(est.coef_, before[0])
    assert est.t_ == before[1]
