"""SAGA (optimizer="saga"): against a hand-written SAGA loop step for step,
and, with SVRG (optimizer="svrg", whose own steps tests/test_svrg.py holds
to a hand-written loop), against the optima of other solvers."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import training_objective
from scipy.special import expit, softmax
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from skgd import GDClassifier
from skgd.schedules import Constant, LineSearch


def _scaled(load):
    X, y = load(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _score_gradients(binary, y, Z):
    """dL/dz of each row: logistic (binary) or softmax."""
    if binary:
        s = np.where(y == 1, 1.0, -1.0)[:, None]
        return -s * expit(-s * Z)
    G = softmax(Z, axis=1)
    G[np.arange(len(y)), y] -= 1.0
    return G


def _hand_written_saga(X, y, w, alpha, l1_ratio, eta, batch, epochs, binary):
    """SAGA in plain NumPy, rows in order, the table starting at zero:
    v = (n/B) sum_b s_i (g_i - a_i) x_i + mean + l2 W, then the L1 prox."""
    n, d = X.shape
    k = 1 if binary else len(np.unique(y))
    l2, l1 = alpha * (1 - l1_ratio), alpha * l1_ratio
    share = w / w.sum()
    W, b = np.zeros((k, d)), np.zeros(k)
    table, mean_W, mean_b = np.zeros((n, k)), np.zeros((k, d)), np.zeros(k)
    for _ in range(epochs):
        for start in range(0, n, batch):
            rows = np.arange(start, min(start + batch, n))
            Xb = X[rows]
            G = _score_gradients(binary, y[rows], Xb @ W.T + b)
            D = (G - table[rows]) * share[rows, None]
            dW, db = np.asarray(D.T @ Xb), D.sum(0)
            vW = n / len(rows) * dW + mean_W + l2 * W
            vb = n / len(rows) * db + mean_b
            W = W - eta * vW
            b = b - eta * vb
            W = np.sign(W) * np.maximum(np.abs(W) - eta * l1, 0.0)
            mean_W, mean_b = mean_W + dW, mean_b + db
            table[rows] = G
    return W, b


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


HAND_WRITTEN = {"saga": _hand_written_saga, "svrg": _hand_written_svrg}


@pytest.mark.parametrize("optimizer", list(HAND_WRITTEN))
@pytest.mark.parametrize("batch", [1, 7, 200])
@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("sparse", [False, True])
def test_equals_the_hand_written_loop(batch, binary, sparse, optimizer):
    X, y = _scaled(load_iris)
    if binary:
        y = (y == 2).astype(int)
    rng = np.random.RandomState(0)
    w = rng.uniform(0.5, 2.0, len(y))
    eta, alpha, l1_ratio, epochs = 0.05, 0.01, 0.3, 3
    loop = HAND_WRITTEN[optimizer]
    W, b = loop(X, y, w, alpha, l1_ratio, eta, batch, epochs, binary)
    est = GDClassifier(
        loss="log_loss" if binary else "softmax",
        optimizer=optimizer,
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
    # The epoch's objective is the exact objective at its end.
    F = training_objective(est, X, y, w)
    assert est.loss_curve_[-1] == pytest.approx(F(est.coef_, est.intercept_), rel=1e-12)


VARIANCE_REDUCED = ["saga", "svrg"]


@pytest.mark.parametrize("optimizer", VARIANCE_REDUCED)
@pytest.mark.parametrize("batch", [1, 32])
def test_reaches_logistic_regressions_optimum(batch, optimizer):
    X, y = _scaled(load_iris)
    alpha, n = 1e-3, len(y)
    ref = LogisticRegression(C=1.0 / (alpha * n), tol=1e-12, max_iter=10_000)
    ref.fit(X, y)
    est = GDClassifier(
        loss="softmax",
        optimizer=optimizer,
        alpha=alpha,
        batch_size=batch,
        tol=1e-10,
        max_iter=20_000,
        random_state=0,
    )
    est.fit(X, y)
    assert est.n_iter_ < est.max_iter  # stopped by its certificate
    F = training_objective(est, X, y)
    f_star = F(ref.coef_, ref.intercept_)
    assert F(est.coef_, est.intercept_) - f_star <= 1e-9 * f_star

    # Softmax scores are defined up to a constant per row: compare centered.
    def centered(coef, b):
        return coef - coef.mean(0), b - b.mean()

    for mine, theirs in zip(
        centered(est.coef_, est.intercept_), centered(ref.coef_, ref.intercept_)
    ):
        np.testing.assert_allclose(mine, theirs, atol=2e-3)


def _line_search_optimum(X, y, **params):
    ref = GDClassifier(
        loss="log_loss", batch_size="full", tol=1e-12, max_iter=100_000, **params
    ).fit(X, y)
    return ref, training_objective(ref, X, y)(ref.coef_, ref.intercept_)


@pytest.mark.parametrize("optimizer", VARIANCE_REDUCED)
def test_l1_finds_the_exact_zeros_of_the_optimum(optimizer):
    """Elastic net: the proximal step gives the optimum's exact zeros (the
    line search's, and LogisticRegression(saga)'s)."""
    X, y = _scaled(load_breast_cancer)
    params = dict(penalty="elasticnet", l1_ratio=0.5, alpha=0.03)
    ref, f_star = _line_search_optimum(X, y, **params)
    saga = GDClassifier(
        loss="log_loss",
        optimizer=optimizer,
        batch_size=16,
        tol=1e-8,
        max_iter=5000,
        random_state=0,
        **params,
    ).fit(X, y)
    F = training_objective(saga, X, y)
    assert F(saga.coef_, saga.intercept_) - f_star <= 1e-8 * f_star
    np.testing.assert_array_equal(np.sign(saga.coef_), np.sign(ref.coef_))
    assert 0 < np.count_nonzero(saga.coef_) < X.shape[1]
    theirs = LogisticRegression(
        solver="saga",
        l1_ratio=0.5,
        C=1.0 / (0.03 * len(y)),
        tol=1e-10,
        max_iter=100_000,
    ).fit(X, y)
    np.testing.assert_array_equal(saga.coef_ == 0, theirs.coef_ == 0)


@pytest.mark.parametrize("optimizer", VARIANCE_REDUCED)
def test_stops_on_its_certificate(optimizer):
    """Stopped by tol, the fit is within tol (relative) of the optimum."""
    X, y = _scaled(load_breast_cancer)
    ref, f_star = _line_search_optimum(X, y, alpha=0.01)
    F = training_objective(ref, X, y)
    for tol in (1e-2, 1e-4, 1e-6, 1e-8):
        est = GDClassifier(
            loss="log_loss",
            optimizer=optimizer,
            batch_size=32,
            tol=tol,
            alpha=0.01,
            max_iter=10_000,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            est.fit(X, y)
        assert 0 <= (F(est.coef_, est.intercept_) - f_star) / f_star <= tol


@pytest.mark.parametrize("optimizer", VARIANCE_REDUCED)
def test_warns_when_max_iter_ends_it_first(optimizer):
    X, y = _scaled(load_breast_cancer)
    est = GDClassifier(
        loss="log_loss",
        optimizer=optimizer,
        batch_size=32,
        tol=1e-12,
        max_iter=3,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning, match="certified within"):
        est.fit(X, y)


def test_auto_gives_saga_the_step_of_its_theory():
    """1 / (3 L_B): L_max at batch 1, towards L at larger batches
    (logistic curvature 1/4)."""
    X, y = _scaled(load_breast_cancer)
    alpha, n = 1e-4, len(y)
    sq = (X * X).sum(1) + 1.0
    l_max, l_mean = 0.25 * sq.max() + alpha, 0.25 * sq.mean() + alpha
    for b in (1, 32, n - 1):
        est = GDClassifier(
            loss="log_loss", optimizer="saga", batch_size=b, max_iter=1, tol=None
        ).fit(X, y)
        l_b = (n - b) / (b * (n - 1)) * l_max + n * (b - 1) / (b * (n - 1)) * l_mean
        assert isinstance(est.learning_rate_, Constant)
        assert est.learning_rate_.eta0 == pytest.approx(1.0 / (3.0 * l_b))


def test_at_the_full_batch_auto_gives_saga_the_line_search():
    """SAGA's correction vanishes at the full batch: the fit is the line
    search's, step for step."""
    X, y = _scaled(load_breast_cancer)
    params = dict(loss="log_loss", batch_size="full", tol=1e-8)
    saga = GDClassifier(optimizer="saga", **params).fit(X, y)
    plain = GDClassifier(optimizer="sgd", **params).fit(X, y)
    assert isinstance(saga.learning_rate_, LineSearch)
    np.testing.assert_array_equal(saga.coef_, plain.coef_)
    np.testing.assert_array_equal(saga.loss_curve_, plain.loss_curve_)


def test_partial_fit_is_one_epoch_with_a_fresh_table():
    X, y = _scaled(load_iris)
    eta, batch = 0.05, 10
    est = GDClassifier(
        loss="softmax",
        optimizer="saga",
        batch_size=batch,
        learning_rate="constant",
        eta0=eta,
        shuffle=False,
        alpha=0.0,
    )
    halves = (slice(0, 75), slice(75, 150))
    # Both halves hold every class (iris is sorted: shuffle the rows first).
    order = np.random.RandomState(1).permutation(len(y))
    X, y = X[order], y[order]
    for part in halves:
        est.partial_fit(X[part], y[part], classes=np.unique(y))
    # By hand: one SAGA epoch per half, the table started again at zero.
    W, b = np.zeros((3, X.shape[1])), np.zeros(3)
    for part in halves:
        Xp, yp = X[part], y[part]
        n = len(yp)
        table, mean_W, mean_b = np.zeros((n, 3)), np.zeros_like(W), np.zeros(3)
        for start in range(0, n, batch):
            rows = np.arange(start, min(start + batch, n))
            G = _score_gradients(False, yp[rows], Xp[rows] @ W.T + b)
            D = (G - table[rows]) / n
            dW, db = D.T @ Xp[rows], D.sum(0)
            W = W - eta * (n / len(rows) * dW + mean_W)
            b = b - eta * (n / len(rows) * db + mean_b)
            mean_W, mean_b = mean_W + dW, mean_b + db
            table[rows] = G
    np.testing.assert_allclose(est.coef_, W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(est.intercept_, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(loss="hinge"), "optimizer='saga' needs a smooth loss"),
        (dict(loss="log_loss", average=True), "Set average=False"),
        (
            dict(loss="log_loss", learning_rate="line_search", batch_size=32),
            "needs batch_size='full'",
        ),
        (dict(loss="hinge", learning_rate="pa1"), "learning_rate='pa1'"),
    ],
)
@pytest.mark.parametrize("optimizer", VARIANCE_REDUCED)
def test_refuses_what_it_cannot_train(params, match, optimizer):
    X, y = _scaled(load_breast_cancer)
    with pytest.raises(ValueError, match=match.replace("saga", optimizer)):
        GDClassifier(optimizer=optimizer, **params).fit(X, y)


def test_saga_warm_start_and_validation_rows():
    """A warm start makes a new table; held-out rows never enter it."""
    X, y = _scaled(load_breast_cancer)
    est = GDClassifier(
        loss="log_loss",
        optimizer="saga",
        batch_size=32,
        alpha=0.01,
        early_stopping=True,
        random_state=0,
        max_iter=50,
    )
    est.fit(X, y)
    table = est._state.solver["table"]
    held_out = int(round(0.1 * len(y)))  # validation_fraction
    assert np.count_nonzero(np.all(table == 0, axis=1)) == held_out
    est.set_params(warm_start=True, early_stopping=False, tol=1e-8, max_iter=5000)
    est.fit(X[:300], y[:300])
    ref, f_star = _line_search_optimum(X[:300], y[:300], alpha=0.01)
    F = training_objective(est, X[:300], y[:300])
    assert F(est.coef_, est.intercept_) - f_star <= 1e-8 * f_star
