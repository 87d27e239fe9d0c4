"""Training against references: hand-written loops, SGDClassifier, LogReg."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import softmax
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier

from skgd import GDClassifier, _compiled, _plan
from skgd.losses import get_loss


def _fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


def test_batch_one_sgd_equals_a_hand_written_per_sample_loop(multiclass):
    """One-vs-rest hinge + L2, plain SGD, one sample per update, with weights."""
    X, y = multiclass
    n, d = X.shape
    sw = np.random.default_rng(0).uniform(0.5, 2.0, size=n)
    eta, alpha, epochs = 0.02, 0.01, 3
    W, b = np.zeros((3, d)), np.zeros(3)
    for _ in range(epochs):
        for i in range(n):
            z = W @ X[i] + b
            target = np.where(np.arange(3) == y[i], 1.0, -1.0)
            dz = np.where(target * z <= 1.0, -target, 0.0)
            # SGDClassifier's configuration: the raw weight scales the step.
            dz *= sw[i]
            W = W - eta * (np.outer(dz, X[i]) + alpha * W)
            b = b - eta * dz
    est = GDClassifier(
        loss="hinge",
        alpha=alpha,
        learning_rate="constant",
        eta0=eta,
        max_iter=epochs,
        tol=None,
        shuffle=False,
    )
    est.fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(est.coef_, W, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(est.intercept_, b, rtol=1e-12, atol=1e-14)
    assert est.t_ == 1 + epochs * n


def test_mini_batch_momentum_softmax_equals_a_hand_written_loop(multiclass):
    """Softmax + L2 + momentum in batches of 7 (the last one shorter)."""
    X, y = multiclass
    n, d = X.shape
    B, eta, alpha, mu, epochs = 7, 0.05, 0.01, 0.9, 2
    W, b = np.zeros((3, d)), np.zeros(3)
    vW, vb = np.zeros_like(W), np.zeros_like(b)
    updates = 0
    for _ in range(epochs):
        for start in range(0, n, B):
            Xb, yb = X[start : start + B], y[start : start + B]
            P = softmax(Xb @ W.T + b, axis=1)
            P[np.arange(len(yb)), yb] -= 1.0
            gW = P.T @ Xb / len(yb) + alpha * W
            gb = P.sum(axis=0) / len(yb)
            vW, vb = mu * vW - eta * gW, mu * vb - eta * gb
            W, b = W + vW, b + vb
            updates += 1
    est = GDClassifier(
        loss="softmax",
        alpha=alpha,
        batch_size=B,
        optimizer="momentum",
        learning_rate="constant",
        eta0=eta,
        max_iter=epochs,
        tol=None,
        shuffle=False,
    )
    est.fit(X, y)
    np.testing.assert_allclose(est.coef_, W, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(est.intercept_, b, rtol=1e-12, atol=1e-14)
    assert est.t_ == 1 + updates


# SGDClassifier's own per-sample loop is the reference for batch_size=1: with
# a constant schedule and no shuffling both must agree to rounding. (With the
# large early steps of 'optimal' the rounding differences of the two loss
# implementations grow chaotically, so that one is compared on a short run.)
SGD_CASES = [
    dict(loss="hinge"),
    dict(loss="log_loss"),
    dict(loss="modified_huber"),
    dict(loss="squared_hinge"),
    dict(loss="perceptron", penalty=None, eta0=1.0),
    dict(loss="huber"),
    dict(loss="epsilon_insensitive"),
    dict(loss="squared_epsilon_insensitive", eta0=0.001),
    dict(loss="squared_error", eta0=0.001),
    dict(penalty="l1", alpha=0.01),
    dict(penalty="elasticnet", alpha=0.01, l1_ratio=0.5),
    dict(average=True),
    dict(average=25),
    dict(learning_rate="invscaling", eta0=0.1, power_t=0.3),
    dict(learning_rate="pa1", eta0=0.1, penalty=None),
    dict(learning_rate="pa2", eta0=0.1),
    dict(class_weight="balanced"),
    # (Built from the classes: a weight per class, and sample weights whose
    # mean is not 1: steps scaled by the raw weights, one-vs-rest outputs
    # weighting only their own class.)
    dict(class_weight="by class", sample_weight=True),
    dict(class_weight="by class", learning_rate="pa1", eta0=0.1, penalty=None),
    dict(sample_weight=True, average=True),
    dict(sample_weight=True, penalty="l1", alpha=0.01),
    dict(alpha=50.0),  # 1 - eta * alpha < 0: the decay clamped at 0
]


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize(
    "params", SGD_CASES, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items())
)
def test_batch_one_reproduces_sgdclassifier(params, problem, sparse):
    """Dense, and CSR rows (whose intercept steps SGDClassifier damps by
    0.01), weighted as SGDClassifier weights them."""
    X, y = problem
    params = {"learning_rate": "constant", "eta0": 0.01, **params}
    fit_params = {}
    if params.pop("sample_weight", False):
        rng = np.random.default_rng(1)
        fit_params["sample_weight"] = rng.uniform(0.5, 4.0, len(y))
    if params.get("class_weight") == "by class":
        params["class_weight"] = {c: 0.5 + c for c in np.unique(y)}
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) < 0.5, 0.0, X))
    common = dict(shuffle=False, tol=None, max_iter=4, **params)
    ref = _fit(SGDClassifier(**common), X, y, **fit_params)
    est = _fit(GDClassifier(**common), X, y, **fit_params)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-10, atol=1e-12)
    assert est.t_ == ref.t_


def test_optimal_schedule_reproduces_sgdclassifier(problem):
    X, y = problem
    common = dict(shuffle=False, tol=None, max_iter=1)
    ref = _fit(SGDClassifier(**common), X[:30], y[:30])
    est = _fit(GDClassifier(**common), X[:30], y[:30])
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-9)


def test_shuffled_fit_matches_sgdclassifier_quality(problem):
    X, y = problem
    ref = SGDClassifier(random_state=0).fit(X, y).score(X, y)
    est = GDClassifier(random_state=0).fit(X, y).score(X, y)
    assert est >= ref - 0.05


@pytest.mark.parametrize("n_classes", [2, 3])
def test_full_batch_softmax_converges_to_logistic_regression(n_classes):
    from tests.conftest import _problem

    X, y = _problem(n_classes, n_samples=80, n_features=4)
    C = 1.0
    ref = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    # LogisticRegression minimises C * sum(loss) + ||W||^2 / 2, which is our
    # mean loss + alpha * ||W||^2 / 2 for alpha = 1 / (C * n).
    est = GDClassifier(
        loss="softmax",
        alpha=1.0 / (C * len(y)),
        batch_size="full",
        learning_rate="constant",
        eta0=1.0,
        max_iter=5000,
        tol=None,
    ).fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-4)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, atol=1e-4)
    np.testing.assert_allclose(est.predict_proba(X), ref.predict_proba(X), atol=1e-5)


def test_full_batch_loss_curve_is_the_exact_objective(binary):
    """loss_curve_[k] is F at the weights before step k+1, computed by hand."""
    X, y = binary
    alpha = 0.01
    s = np.where(y == 1, 1.0, -1.0)
    params = dict(
        loss="log_loss",
        alpha=alpha,
        batch_size="full",
        learning_rate="constant",
        eta0=0.5,
        tol=None,
    )
    curve = GDClassifier(max_iter=4, **params).fit(X, y).loss_curve_
    expected = [np.log(2.0)]  # F(0, 0)
    for k in range(1, 4):
        est = GDClassifier(max_iter=k, **params).fit(X, y)
        z = X @ est.coef_[0] + est.intercept_[0]
        expected.append(
            np.logaddexp(0, -s * z).mean() + alpha / 2 * est.coef_[0] @ est.coef_[0]
        )
    np.testing.assert_allclose(curve, expected, rtol=1e-12)


def test_l1_gives_exact_zeros(rng):
    X = rng.normal(size=(300, 20))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)  # only two informative features
    for params in [
        dict(batch_size=1),
        dict(batch_size=16, optimizer="adam", learning_rate="constant", eta0=0.01),
        dict(
            batch_size="full", optimizer="adagrad", learning_rate="constant", eta0=0.1
        ),
    ]:
        est = _fit(
            GDClassifier(
                loss="log_loss", penalty="l1", alpha=0.02, random_state=0, **params
            ),
            X,
            y,
        )
        zeros = np.flatnonzero(est.coef_[0] == 0.0)
        # Most of the 18 noise features are exactly zero, the two signals not.
        assert len(set(zeros) & set(range(2, 20))) >= 14, (params, zeros)
        assert est.coef_[0, 0] > 0 and est.coef_[0, 1] < 0, params
        assert est.score(X, y) > 0.95


def test_sparse_and_dense_train_the_same_model(problem):
    """Outside SGDClassifier's configuration, whose intercept on sparse rows
    is damped as SGDClassifier damps it (test_batch_one_reproduces_sgdclassifier),
    and for rules whose lazy form on sparse rows is exact (skgd._lazy)."""
    X, y = problem
    X = X * (np.abs(X) > 0.5)
    for params in [
        dict(batch_size=4),
        dict(loss="softmax", batch_size=5, optimizer="ftrl", learning_rate="constant"),
        dict(
            loss="softmax",
            batch_size=5,
            optimizer="momentum",
            learning_rate="constant",
            penalty=None,
        ),
    ]:
        dense = _fit(GDClassifier(random_state=0, max_iter=5, **params), X, y)
        sparse = _fit(
            GDClassifier(random_state=0, max_iter=5, **params), sp.csr_matrix(X), y
        )
        np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(
            sparse.intercept_, dense.intercept_, rtol=1e-10, atol=1e-12
        )


def test_float32_keeps_float32_and_matches_float64(problem):
    X, y = problem
    params = dict(
        loss="softmax",
        batch_size=8,
        learning_rate="constant",
        eta0=0.1,
        max_iter=5,
        tol=None,
        random_state=0,
    )
    est32 = GDClassifier(**params).fit(X.astype(np.float32), y)
    est64 = GDClassifier(**params).fit(X, y)
    assert est32.coef_.dtype == np.float32 and est32.intercept_.dtype == np.float32
    assert est32.decision_function(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(est32.coef_, est64.coef_, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_full_batch_step_from_a_given_gradient_equals_the_full_batch_epoch(
    multiclass, optimizer
):
    """Engine.full_batch_step (gradients summed elsewhere, e.g. on Dask) takes
    the step a full-batch epoch takes, penalty, L1 and averaging included."""
    X, y = multiclass
    sw = np.random.default_rng(1).uniform(0.5, 2.0, size=len(y))
    est = GDClassifier(
        loss="softmax",
        penalty="elasticnet",
        alpha=0.01,
        average=2,
        optimizer=optimizer,
        batch_size="full",
        learning_rate="invscaling",
        eta0=0.1,
        max_iter=4,
        tol=None,
    ).fit(X, y, sample_weight=sw)
    params = _plan.parameters(est)
    data = _plan.InMemoryData(X, y, y, np.unique(y), sw)
    plan = _plan.make_plan(params, _plan.resolve_components(params), data)
    engine = plan.engine()
    state = engine.init_state(plan.coef, plan.intercept, None)
    Y = engine.objective.encode(y, X.dtype)
    for _ in range(4):
        _, grad_coef, grad_intercept = engine.objective.data_term(
            state.coef, state.intercept, X, Y, sw
        )
        engine.full_batch_step(state, grad_coef, grad_intercept)
    coef, intercept = engine.weights(state)
    np.testing.assert_allclose(coef, est.coef_, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(intercept, est.intercept_, rtol=1e-10, atol=1e-14)
    assert state.t == est.t_


# -- divergence: an objective that rises above where it started -----------------


def _breast_cancer(scaled=True):
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    return (StandardScaler().fit_transform(X) if scaled else X), y


@pytest.mark.parametrize("batch_size", [32, 256, "full"])
def test_squared_hinge_with_the_defaults_does_not_blow_up(batch_size):
    """The issue's case: 1e20 to 1e295 before. Now the objective ends below
    the zero model's (1.0 for the squared hinge)."""
    X, y = _breast_cancer()
    est = _fit(
        GDClassifier(loss="squared_hinge", batch_size=batch_size, random_state=0), X, y
    )
    assert np.isfinite(est.coef_).all()
    assert 0 < est.loss_curve_[-1] < 0.5


def test_a_rising_stochastic_objective_is_divergence_before_an_overflow():
    X, y = _breast_cancer(scaled=False)
    est = GDClassifier(
        loss="squared_hinge",
        batch_size=32,
        learning_rate="constant",
        eta0=1e-3,
        max_iter=50,
        tol=None,
    )
    with pytest.raises(ValueError, match=r"^Training diverged at epoch \d+: the "):
        est.fit(X, y)
    assert not hasattr(est, "coef_")


def test_a_full_batch_fit_never_ends_above_where_it_started():
    """Adam at a step that overshoots: a full-batch model worse than the
    starting one is refused, not returned."""
    X, y = _breast_cancer()
    est = GDClassifier(
        loss="log_loss",
        batch_size="full",
        optimizer="adam",
        learning_rate="constant",
        eta0=5.0,
        max_iter=3,
        tol=None,
    )
    with pytest.raises(ValueError, match=r"^Training diverged: it ended at an"):
        est.fit(X, y)
    # The same steps, stopped before they overshoot, give a model.
    assert np.isfinite(est.set_params(eta0=0.05).fit(X, y).coef_).all()


def test_sgdclassifier_configuration_keeps_sgdclassifiers_rule():
    """Batch 1 with plain SGD stops only on an overflow, as SGDClassifier
    does: both return a model whose objective rose."""
    X, y = _breast_cancer(scaled=False)
    params = dict(
        loss="hinge", learning_rate="constant", eta0=1e-2, max_iter=2, tol=None
    )
    ours = _fit(GDClassifier(shuffle=False, **params), X, y)
    theirs = _fit(SGDClassifier(shuffle=False, **params), X, y)
    assert ours.loss_curve_[-1] > 1.0  # above the zero model's hinge loss
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-10)


def test_noise_above_the_start_is_not_divergence():
    """Random labels: nothing to learn, a stochastic fit may end a little
    above the zero model (noise); the perceptron starts at its minimum, 0."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(400, 20)), rng.integers(0, 2, size=400)
    cases = (
        dict(loss="log_loss", batch_size=32),
        dict(loss="perceptron", batch_size="full"),
    )
    for params in cases:
        est = _fit(GDClassifier(random_state=0, max_iter=5, **params), X, y)
        assert np.isfinite(est.coef_).all()


@pytest.mark.parametrize("enabled", [False, True], ids=["numpy", "compiled"])
def test_clipped_derivative_on_unscaled_rows_reproduces_sgdclassifier(
    enabled, monkeypatch
):
    """squared_hinge on unscaled iris: derivatives beyond 1e12 are clipped
    as SGDClassifier clips them, and both engines finish as it does."""
    from sklearn.datasets import load_iris

    monkeypatch.setattr(_compiled, "ENABLED", enabled)
    X, y = load_iris(return_X_y=True)
    X = X * 1e4
    common = dict(
        loss="squared_hinge",
        penalty="elasticnet",
        l1_ratio=0.3,
        alpha=0.01,
        learning_rate="constant",
        eta0=1e-3,
        shuffle=False,
        max_iter=3,
        tol=None,
    )
    ref = _fit(SGDClassifier(**common), X, y)
    with np.errstate(over="raise", invalid="raise"):
        est = _fit(GDClassifier(**common), X, y)
    assert np.abs(ref.coef_).max() > 1e8  # the clipped steps are this large
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-9)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-9)


def test_negative_power_t_warns_as_sgdclassifier_and_grows_the_rate(binary):
    X, y = binary
    params = dict(learning_rate="invscaling", eta0=0.01, power_t=-0.5, max_iter=2)
    with pytest.warns(FutureWarning, match="Negative values for `power_t` are dep"):
        est = _fit(GDClassifier(tol=None, shuffle=False, **params), X, y)
    with pytest.warns(FutureWarning, match="Negative values for `power_t` are dep"):
        ref = _fit(SGDClassifier(tol=None, shuffle=False, **params), X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)
    assert est.learning_rate_.rate(4.0, {}) == pytest.approx(0.01 * 4.0**0.5)


def test_loss_functions_has_sgdclassifiers_keys():
    assert set(GDClassifier.loss_functions) == set(SGDClassifier.loss_functions)
    for name, (cls, *args) in GDClassifier.loss_functions.items():
        assert isinstance(get_loss(name), cls)
        assert tuple(args) == tuple(SGDClassifier.loss_functions[name][1:])
