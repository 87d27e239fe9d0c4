"""SVRG (optimizer="svrg"): its snapshot, after an epoch, per partial_fit
chunk and without the validation rows. (Its steps against a hand-written
SVRG loop, its optima, exact zeros, certificate and refusals are tested with
SAGA's, in tests/test_saga.py.)"""

import numpy as np
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.model_selection import StratifiedShuffleSplit
from test_saga import _scaled, _score_gradients, _snapshot

from skgd import GDClassifier
from skgd.schedules import Constant


def test_the_last_epoch_leaves_the_next_snapshot():
    """The exact pass that ends an epoch fills the table and its mean at the
    epoch's final weights (test_saga.py holds the steps to a hand-written
    SVRG loop)."""
    X, y = _scaled(load_iris)
    w = np.random.RandomState(0).uniform(0.5, 2.0, len(y))
    est = GDClassifier(
        loss="softmax",
        optimizer="svrg",
        batch_size=7,
        learning_rate="constant",
        eta0=0.05,
        max_iter=3,
        tol=None,
        random_state=0,
    ).fit(X, y, sample_weight=w)
    table, mean_W, _ = _snapshot(False, X, y, w / w.sum(), est.coef_, est.intercept_)
    memory = est._state.solver
    np.testing.assert_allclose(memory["table"], table, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(memory["mean_coef"], mean_W, atol=1e-14)


def test_auto_gives_svrg_sagas_step():
    X, y = _scaled(load_breast_cancer)
    for batch in (1, 32):
        steps = [
            GDClassifier(
                loss="log_loss", optimizer=opt, batch_size=batch, max_iter=1, tol=None
            )
            .fit(X, y)
            .learning_rate_
            for opt in ("saga", "svrg")
        ]
        assert isinstance(steps[1], Constant)
        assert steps[1].eta0 == steps[0].eta0


def test_partial_fit_is_one_epoch_from_a_snapshot_of_the_chunk():
    X, y = _scaled(load_iris)
    order = np.random.RandomState(1).permutation(len(y))
    X, y = X[order], y[order]
    eta, batch = 0.05, 10
    est = GDClassifier(
        loss="softmax",
        optimizer="svrg",
        batch_size=batch,
        learning_rate="constant",
        eta0=eta,
        shuffle=False,
        alpha=0.0,
    )
    halves = (slice(0, 75), slice(75, 150))
    for part in halves:
        est.partial_fit(X[part], y[part], classes=np.unique(y))
    # By hand: per half, a snapshot at the weights the call starts from,
    # then one epoch.
    W, b = np.zeros((3, X.shape[1])), np.zeros(3)
    for part in halves:
        Xp, yp = X[part], y[part]
        n = len(yp)
        share = np.full(n, 1.0 / n)
        table, mean_W, mean_b = _snapshot(False, Xp, yp, share, W, b)
        for start in range(0, n, batch):
            rows = np.arange(start, min(start + batch, n))
            G = _score_gradients(False, yp[rows], Xp[rows] @ W.T + b)
            D = (G - table[rows]) / n
            W = W - eta * (n / len(rows) * D.T @ Xp[rows] + mean_W)
            b = b - eta * (n / len(rows) * D.sum(0) + mean_b)
    np.testing.assert_allclose(est.coef_, W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(est.intercept_, b, rtol=1e-10, atol=1e-12)


def test_validation_rows_stay_out_of_the_snapshot():
    """With early stopping, the snapshot's mean gradient is the training
    rows' alone: the fit equals one on the training rows given alone."""
    X, y = _scaled(load_breast_cancer)
    params = dict(
        loss="log_loss",
        optimizer="svrg",
        batch_size=32,
        alpha=0.01,
        learning_rate="constant",
        eta0=0.01,
        max_iter=4,
        tol=None,
        random_state=0,
        shuffle=False,
    )
    est = GDClassifier(early_stopping=True, n_iter_no_change=100, **params)
    est.fit(X, y)
    # The split early stopping draws (validation_fraction=0.1, stratified,
    # the training rows sorted).
    cv = StratifiedShuffleSplit(test_size=0.1, random_state=0)
    train = np.sort(next(cv.split(X, y))[0])
    alone = GDClassifier(**params).fit(X[train], y[train])
    # (The live weights: early stopping may publish an earlier epoch's.)
    np.testing.assert_allclose(est._state.coef, alone.coef_, rtol=1e-10, atol=1e-13)
