"""Full-batch descent with a line search: against a hand-written FISTA step
for step, and against the optima of other solvers."""

import warnings

import numpy as np
import pytest
from conftest import training_objective
from scipy.special import expit, log_softmax, softmax
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from skgd import GDClassifier
from skgd.schedules import LineSearch


def _scaled(load):
    X, y = load(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _hand_written_fista(X, y, alpha, l1_ratio, n_iter, accelerate, binary):
    """FISTA with backtracking and adaptive restart, written out in NumPy.

    Logistic (binary) or softmax loss, mean over rows, elastic net
    ``alpha * ((1 - r)/2 |W|^2 + r |W|_1)``, intercept unpenalised; the
    first trial step 1/L with L = curvature * (mean |x|^2 + 1) + l2.
    Returns the iterates' objectives, the final weights and step.
    """
    n, d = X.shape
    k = 1 if binary else len(np.unique(y))
    l2, l1 = alpha * (1 - l1_ratio), alpha * l1_ratio
    if binary:
        s = np.where(y == 1, 1.0, -1.0)[:, None]

        def f(W, b, grad):
            z = X @ W.T + b
            value = np.logaddexp(0, -s * z).mean() + 0.5 * l2 * np.sum(W * W)
            if not grad:
                return value
            G = -s * expit(-s * z) / n
            return value, G.T @ X + l2 * W, G.sum(0)

        curvature = 0.25
    else:

        def f(W, b, grad):
            z = X @ W.T + b
            value = -log_softmax(z, axis=1)[np.arange(n), y].mean()
            value += 0.5 * l2 * np.sum(W * W)
            if not grad:
                return value
            G = softmax(z, axis=1)
            G[np.arange(n), y] -= 1.0
            G /= n
            return value, G.T @ X + l2 * W, G.sum(0)

        curvature = 0.5
    h = lambda W: l1 * np.abs(W).sum()  # noqa: E731
    prox = lambda W, t: np.sign(W) * np.maximum(np.abs(W) - t * l1, 0)  # noqa: E731
    eta = 1.0 / (curvature * ((X * X).sum(1).mean() + 1) + l2)
    W, b = np.zeros((k, d)), np.zeros(k)
    W_prev = b_prev = None
    theta, theta_prev = 1.0, 1.0
    F = f(W, b, False) + h(W)
    objectives = []
    for _ in range(n_iter):
        objectives.append(F)
        if accelerate and W_prev is not None and theta != 1.0:
            beta = (theta_prev - 1) / theta
            yW, yb = W + beta * (W - W_prev), b + beta * (b - b_prev)
        else:
            yW, yb = W, b
        fy, gW, gb = f(yW, yb, True)
        while True:
            nW, nb = prox(yW - eta * gW, eta), yb - eta * gb
            dW, db = nW - yW, nb - yb
            model = fy + np.sum(gW * dW) + np.sum(gb * db)
            model += (np.sum(dW * dW) + np.sum(db * db)) / (2 * eta)
            f_new = f(nW, nb, False)
            if f_new <= model + 1e-12 * abs(fy):
                break
            eta *= 0.5
        F_new = f_new + h(nW)
        if accelerate:
            against = np.sum((yW - nW) * (nW - W)) + np.sum((yb - nb) * (nb - b))
            if F_new > F or against > 0:
                theta, theta_prev, W_prev, b_prev = 1.0, 1.0, None, None
            else:
                theta_prev, theta = theta, (1 + np.sqrt(1 + 4 * theta**2)) / 2
                W_prev, b_prev = W, b
        W, b, F = nW, nb, F_new
        eta *= 2.0
    return objectives, W, b, eta / 2.0


@pytest.mark.parametrize("accelerate", [True, False])
@pytest.mark.parametrize("l1_ratio", [0.0, 0.5])
@pytest.mark.parametrize("binary", [True, False], ids=["log_loss", "softmax"])
def test_line_search_equals_a_hand_written_fista(accelerate, l1_ratio, binary):
    X, y = _scaled(load_breast_cancer if binary else load_iris)
    alpha, n_iter = 0.01, 40
    objectives, W, b, eta = _hand_written_fista(
        X, y, alpha, l1_ratio, n_iter, accelerate, binary
    )
    est = GDClassifier(
        loss="log_loss" if binary else "softmax",
        penalty="elasticnet",
        l1_ratio=l1_ratio,
        alpha=alpha,
        batch_size="full",
        learning_rate=LineSearch(accelerate=accelerate),
        max_iter=n_iter,
        tol=None,
    ).fit(X, y)
    np.testing.assert_allclose(est.loss_curve_, objectives, rtol=1e-10)
    np.testing.assert_allclose(est.coef_, W, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.intercept_, b, rtol=1e-9, atol=1e-12)
    assert est._state.sched_state["eta"] == pytest.approx(eta, rel=1e-12)
    assert est.t_ == 1 + n_iter


@pytest.mark.parametrize("load", [load_iris, load_breast_cancer])
def test_line_search_reaches_logistic_regressions_optimum(load):
    """LogisticRegression minimises C sum(loss) + |W|^2 / 2: our objective
    for alpha = 1 / (C n). With tol=1e-9 the two optima agree."""
    X, y = _scaled(load)
    alpha = 1e-3
    ref = LogisticRegression(C=1 / (alpha * len(y)), tol=1e-12, max_iter=10_000)
    ref.fit(X, y)
    loss = "log_loss" if len(np.unique(y)) == 2 else "softmax"
    est = GDClassifier(
        loss=loss, alpha=alpha, batch_size="full", learning_rate="line_search", tol=1e-9
    ).fit(X, y)
    assert est.n_iter_ < est.max_iter
    F = training_objective(est, X, y)
    F_ref = F(ref.coef_, ref.intercept_)
    assert (F(est.coef_, est.intercept_) - F_ref) / F_ref < 1e-8
    np.testing.assert_allclose(
        est.coef_, ref.coef_, atol=1e-4 * np.abs(ref.coef_).max()
    )


def test_l1_reaches_saga_with_its_exact_zeros():
    """The proximal step gives the L1 optimum's exact zeros (saga's, at a
    tight tolerance, as the reference)."""
    X, y = _scaled(load_breast_cancer)
    alpha = 0.01
    with warnings.catch_warnings():
        # scikit-learn >= 1.8 spells penalty="l1" as l1_ratio=1 (and warns).
        warnings.simplefilter("ignore")
        ref = LogisticRegression(
            penalty="l1", C=1 / (alpha * len(y)), solver="saga", tol=1e-10
        )
        ref.set_params(max_iter=100_000).fit(X, y)
    est = GDClassifier(
        loss="log_loss",
        penalty="l1",
        alpha=alpha,
        batch_size="full",
        learning_rate="line_search",
        tol=1e-9,
        max_iter=5000,
    ).fit(X, y)
    F = training_objective(est, X, y)
    F_ref = F(ref.coef_, ref.intercept_)
    assert F(est.coef_, est.intercept_) <= F_ref * (1 + 1e-7)
    zeros = est.coef_ == 0
    assert zeros.sum() >= 10  # a sparse optimum
    np.testing.assert_array_equal(zeros, np.abs(ref.coef_) < 1e-6)


@pytest.mark.parametrize("tol", [1e-2, 1e-4, 1e-6])
def test_stopping_certifies_the_distance_to_the_optimum(tol):
    """Training stops once the objective is certified within tol of its
    minimum (up to the unpenalised intercept: within 3 tol here)."""
    X, y = _scaled(load_iris)
    params = dict(loss="softmax", alpha=1e-3, batch_size="full")
    params["learning_rate"] = "line_search"
    est = GDClassifier(tol=tol, **params).fit(X, y)
    best = GDClassifier(tol=1e-12, max_iter=10_000, **params).fit(X, y)
    F = training_objective(est, X, y)
    F_best = F(best.coef_, best.intercept_)
    assert 0 <= (F(est.coef_, est.intercept_) - F_best) / F_best <= 3 * tol
    assert est.n_iter_ < best.n_iter_


def test_the_iteration_limit_warns_and_convergence_does_not():
    X, y = _scaled(load_iris)
    params = dict(loss="softmax", batch_size="full", learning_rate="line_search")
    with pytest.warns(ConvergenceWarning, match="Maximum number of epochs"):
        GDClassifier(max_iter=3, **params).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = GDClassifier(max_iter=1000, **params).fit(X, y)
    assert est.n_iter_ < 1000


def test_partial_fit_takes_one_step_per_call():
    """Each call is one update on its chunk, its momentum restarted (the
    objective changes with the chunk): on the same rows, k calls equal k
    updates without acceleration."""
    X, y = _scaled(load_iris)
    params = dict(loss="softmax", batch_size="full", tol=None)
    stream = GDClassifier(learning_rate=LineSearch(), **params)
    for _ in range(5):
        stream.partial_fit(X, y, classes=np.unique(y))
    plain = GDClassifier(learning_rate=LineSearch(accelerate=False), **params)
    plain.set_params(max_iter=5).fit(X, y)
    np.testing.assert_allclose(stream.coef_, plain.coef_, rtol=1e-12)
    np.testing.assert_allclose(stream.loss_curve_, plain.loss_curve_, rtol=1e-12)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(batch_size=32), "takes full-batch steps: it needs batch_size='full'"),
        (dict(loss="hinge"), "needs a smooth loss"),
        (dict(optimizer="adam"), "needs optimizer='sgd'"),
        (dict(average=True), "Set average=False."),
    ],
)
def test_line_search_rules(params, message):
    X, y = _scaled(load_iris)
    est = GDClassifier(
        **{"loss": "softmax", "batch_size": "full", "learning_rate": "line_search"}
        | params
    )
    with pytest.raises(ValueError, match=message):
        est.fit(X, y)


def test_a_weight_of_two_is_a_repeated_row():
    X, y = _scaled(load_iris)
    w = np.ones(len(y))
    w[::3] = 2.0
    params = dict(
        loss="softmax", batch_size="full", learning_rate="line_search", tol=1e-10
    )
    weighted = GDClassifier(**params).fit(X, y, sample_weight=w)
    repeated = GDClassifier(**params).fit(
        np.vstack([X, X[::3]]), np.concatenate([y, y[::3]])
    )
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-6, atol=1e-8)
