"""SVRG (optimizer="svrg"): against a hand-written SVRG loop step for step;
its snapshot, per partial_fit chunk and without the validation rows. (Its
optima, exact zeros, certificate and refusals are tested with SAGA's, in
tests/test_saga.py.)"""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import training_objective
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.model_selection import StratifiedShuffleSplit
from test_saga import _scaled, _score_gradients

from skgd import GDClassifier
from skgd.schedules import Constant


def _snapshot(binary, X, y, share, W, b):
    """Each row's score gradients at (W, b) and their weighted mean gradient."""
    table = _score_gradients(binary, y, X @ W.T + b)
    D = table * share[:, None]
    return table, np.asarray(D.T @ X), D.sum(0)


def _hand_written_svrg(X, y, w, alpha, l1_ratio, eta, batch, epochs, binary):
    """SVRG in plain NumPy, rows in order: at each epoch's start the table
    and its mean are taken at the weights, then every batch steps along
    v = (n/B) sum_b s_i (g_i - a_i) x_i + mean + l2 W, then the L1 prox."""
    n, d = X.shape
    k = 1 if binary else len(np.unique(y))
    l2, l1 = alpha * (1 - l1_ratio), alpha * l1_ratio
    share = w / w.sum()
    W, b = np.zeros((k, d)), np.zeros(k)
    for _ in range(epochs):
        table, mean_W, mean_b = _snapshot(binary, X, y, share, W, b)
        for start in range(0, n, batch):
            rows = np.arange(start, min(start + batch, n))
            Xb = X[rows]
            G = _score_gradients(binary, y[rows], Xb @ W.T + b)
            D = (G - table[rows]) * share[rows, None]
            W = W - eta * (n / len(rows) * np.asarray(D.T @ Xb) + mean_W + l2 * W)
            b = b - eta * (n / len(rows) * D.sum(0) + mean_b)
            W = np.sign(W) * np.maximum(np.abs(W) - eta * l1, 0.0)
    return W, b


@pytest.mark.parametrize("batch", [1, 7, 200])
@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("sparse", [False, True])
def test_svrg_equals_the_hand_written_loop(batch, binary, sparse):
    X, y = _scaled(load_iris)
    if binary:
        y = (y == 2).astype(int)
    w = np.random.RandomState(0).uniform(0.5, 2.0, len(y))
    eta, alpha, l1_ratio, epochs = 0.05, 0.01, 0.3, 3
    W, b = _hand_written_svrg(X, y, w, alpha, l1_ratio, eta, batch, epochs, binary)
    est = GDClassifier(
        loss="log_loss" if binary else "softmax",
        optimizer="svrg",
        penalty="elasticnet",
        l1_ratio=l1_ratio,
        alpha=alpha,
        batch_size=batch,
        learning_rate="constant",
        eta0=eta,
        shuffle=False,
        max_iter=epochs,
        tol=None,
    )
    est.fit(sp.csr_matrix(X) if sparse else X, y, sample_weight=w)
    np.testing.assert_allclose(est.coef_, W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(est.intercept_, b, rtol=1e-10, atol=1e-12)
    # The epoch's objective is the exact objective at its end, and the pass
    # that took it left the next epoch's snapshot.
    F = training_objective(est, X, y, w)
    assert est.loss_curve_[-1] == pytest.approx(F(est.coef_, est.intercept_), rel=1e-12)
    share = w / w.sum()
    table, mean_W, _ = _snapshot(binary, X, y, share, est.coef_, est.intercept_)
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
