"""The lazy rule on CSR rows (skgd/_lazy.py and the kernel's _lazy_epoch).

References: a step-by-step loop of the rule over every coordinate, written
here from its definition (touched coordinates step along their data
gradient, then decay and threshold; untouched ones take the zero-gradient
step), the dense rule where the two coincide, and the NumPy engine for
the compiled one.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, softmax

from skgd import GDClassifier, _compiled

ETA = {
    "momentum": 0.05,
    "nesterov": 0.05,
    "adagrad": 0.3,
    "rmsprop": 0.02,
    "adam": 0.02,
    "ftrl": 0.3,
}


def _sparse_problem(n=90, n_features=40, n_classes=2, seed=0):
    rng = np.random.RandomState(seed)
    X = sp.random(n, n_features, density=0.08, format="csr", random_state=rng)
    X.data = rng.uniform(0.5, 2.0, size=X.nnz)
    w = rng.randn(n_classes, n_features)
    y = np.argmax(X @ w.T + 0.3 * rng.randn(n, n_classes), axis=1)
    if n_classes == 2:
        y = (X @ w[0] > np.median(X @ w[0])).astype(int)
    return X, y


def _soft(w, threshold):
    return np.sign(w) * np.maximum(np.abs(w) - threshold, 0.0)


class _Rule:
    """One coordinate array's optimizer state, stepped by hand."""

    def __init__(self, name, shape):
        self.name = name
        self.a = np.zeros(shape)  # velocity, sum or mean of squares, m
        self.b = np.zeros(shape)  # Adam's v

    def precond(self, count):
        if self.name in ("adagrad", "rmsprop"):
            return 1.0 / (np.sqrt(self.a) + 1e-8)
        if self.name == "adam":
            return 1.0 / (np.sqrt(self.b / (1 - 0.999**count)) + 1e-8)
        return np.ones_like(self.a)

    def step(self, g, lr, count, touched):
        """The step of every coordinate: along the data gradient where
        ``touched``, else the zero-gradient step (lazy Adam's: none); and the
        preconditioner of each coordinate's L1 threshold."""
        a, b = self.a.copy(), self.b.copy()
        idle_p = self.precond(count)
        if self.name in ("momentum", "nesterov"):
            a_new = 0.9 * a - lr * g
            step = a_new if self.name == "momentum" else 0.9 * a_new - lr * g
            idle = 0.9 * a if self.name == "momentum" else 0.81 * a
            self.a = np.where(touched, a_new, 0.9 * a)
            return np.where(touched, step, idle), np.ones_like(a)
        if self.name in ("adagrad", "rmsprop"):
            if self.name == "adagrad":
                a_new, a_idle = a + g * g, a
            else:
                a_new, a_idle = 0.9 * a + 0.1 * g * g, 0.9 * a
            root = np.sqrt(a_new) + 1e-8
            self.a = np.where(touched, a_new, a_idle)
            return np.where(touched, -lr * g / root, 0.0), np.where(
                touched, 1.0 / root, idle_p
            )
        m = 0.9 * a + 0.1 * g
        v = 0.999 * b + 0.001 * g * g
        root = np.sqrt(v / (1 - 0.999**count)) + 1e-8
        self.a, self.b = np.where(touched, m, a), np.where(touched, v, b)
        step = -lr / (1 - 0.9**count) * m / root
        return np.where(touched, step, 0.0), np.where(touched, 1.0 / root, idle_p)


def _ftrl_weight(z, n, l1, l2, lr, beta=1.0):
    return -np.sign(z) * np.maximum(np.abs(z) - l1, 0) / ((beta + np.sqrt(n)) / lr + l2)


def _by_hand(X, y, name, lr, l1, l2, batch, epochs, n_classes):
    """The lazy rule, step by step over every coordinate, rows in order."""
    X = X.toarray()
    n, n_features = X.shape
    n_out = 1 if n_classes == 2 else n_classes
    W, b = np.zeros((n_out, n_features)), np.zeros(n_out)
    coef, intercept = _Rule(name, W.shape), _Rule(name, b.shape)
    count = 0
    for _ in range(epochs):
        for start in range(0, n, batch):
            rows = slice(start, start + batch)
            Xb, size = X[rows], X[rows].shape[0]
            Z = Xb @ W.T + b
            if n_classes == 2:
                sign = 2.0 * y[rows] - 1.0
                G = (-sign * expit(-sign * Z[:, 0]))[:, None]
            else:
                G = softmax(Z, axis=1) - np.eye(n_classes)[y[rows]]
            G /= size
            g, g_b = G.T @ Xb, G.sum(axis=0)
            touched = np.abs(Xb).sum(axis=0) > 0
            count += 1
            if name == "ftrl":
                for rule, value, grad, pen in (
                    (coef, W, g, (l1, l2)),
                    (intercept, b, g_b, (0.0, 0.0)),
                ):
                    mask = touched if rule is coef else np.ones(b.shape, bool)
                    grad = np.where(mask, grad, 0.0)
                    n_new = rule.b + grad * grad
                    sigma = (np.sqrt(n_new) - np.sqrt(rule.b)) / lr
                    rule.a = rule.a + grad - sigma * value
                    rule.b = n_new
                    value[...] = _ftrl_weight(
                        rule.a, rule.b, count * pen[0], count * pen[1], lr
                    )
                continue
            d = max(0.0, 1.0 - lr * l2)
            step, p = coef.step(g, lr, count, np.broadcast_to(touched, W.shape))
            W[...] = _soft(d * W + step, lr * l1 * p)
            b_step, _ = intercept.step(g_b, lr, count, np.ones(b.shape, bool))
            b += b_step
    return W, b


@pytest.mark.parametrize("batch", [1, 6])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize(
    "name, penalty, l1_ratio",
    [
        ("momentum", None, 0.15),
        ("nesterov", None, 0.15),
        ("adagrad", "elasticnet", 0.5),
        ("rmsprop", "l2", 0.15),
        ("adam", "l2", 0.15),
        ("ftrl", "elasticnet", 0.5),
    ],
)
@pytest.mark.parametrize("compiled", [False, True])
def test_lazy_rule_is_the_step_by_step_rule(
    name, penalty, l1_ratio, n_classes, batch, compiled, monkeypatch
):
    monkeypatch.setattr(_compiled, "ENABLED", compiled)
    X, y = _sparse_problem(n_classes=n_classes)
    alpha = 0.01
    lr = ETA[name]
    est = GDClassifier(
        loss="log_loss" if n_classes == 2 else "softmax",
        optimizer=name,
        penalty=penalty,
        alpha=alpha,
        l1_ratio=l1_ratio,
        learning_rate="constant",
        eta0=lr,
        batch_size=batch,
        max_iter=3,
        tol=None,
        shuffle=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    l1 = alpha * l1_ratio if penalty == "elasticnet" else 0.0
    l2 = alpha * (1 - l1_ratio) if penalty == "elasticnet" else alpha
    l2 = 0.0 if penalty is None else l2
    W, b = _by_hand(X, y, name, lr, l1, l2, batch, 3, n_classes)
    np.testing.assert_allclose(est.coef_, W, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.intercept_, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["momentum", "nesterov", "adagrad", "rmsprop"])
@pytest.mark.parametrize("batch", [1, 4])
def test_without_a_penalty_sparse_rows_take_the_dense_rule(name, batch):
    """The exact lazy forms: velocities decaying over skipped steps, AdaGrad's
    sum kept, RMSProp's mean decayed; the model equals the dense one."""
    X, y = _sparse_problem(n_classes=3)
    params = dict(
        loss="softmax",
        optimizer=name,
        penalty=None,
        learning_rate="constant",
        eta0=ETA[name],
        batch_size=batch,
        max_iter=4,
        tol=None,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sparse = GDClassifier(**params).fit(X, y)
        dense = GDClassifier(**params).fit(X.toarray(), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=1e-9)
    np.testing.assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-9)


@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet"])
def test_ftrl_is_lazy_by_construction(penalty):
    """FTRL's weights are a function of its state: sparse equals dense under
    any penalty (only when a coordinate's weight is computed differs)."""
    X, y = _sparse_problem(n_classes=3)
    params = dict(
        loss="softmax",
        optimizer="ftrl",
        penalty=penalty,
        alpha=0.01,
        learning_rate="constant",
        eta0=0.3,
        batch_size=3,
        max_iter=4,
        tol=None,
        random_state=0,
    )
    sparse = GDClassifier(**params).fit(X, y)
    dense = GDClassifier(**params).fit(X.toarray(), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=1e-9)
    if penalty != "l2":
        assert np.any(sparse.coef_ == 0.0)


def _both_engines(params, X, y, monkeypatch):
    """The fits of the compiled engine and of the NumPy engine."""
    fits = []
    for enabled in (True, False):
        monkeypatch.setattr(_compiled, "ENABLED", enabled)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits.append(GDClassifier(**params).fit(X, y))
    return fits


CASES = {
    "softmax": dict(loss="softmax", n_classes=3),
    "ovr-hinge": dict(loss="hinge", n_classes=3),
    "binary-log": dict(loss="log_loss", n_classes=2),
    "class-weights": dict(loss="modified_huber", n_classes=3, class_weight="balanced"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("name", sorted(ETA))
@pytest.mark.parametrize("penalty", ["elasticnet", "l2"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_lazy_rule_equals_numpy(case, name, penalty, dtype, monkeypatch):
    params = dict(CASES[case])
    X, y = _sparse_problem(n_classes=params.pop("n_classes"), seed=3)
    X = X.astype(dtype)
    params.update(
        optimizer=name,
        penalty=penalty,
        alpha=0.01,
        learning_rate="invscaling",
        eta0=ETA[name],
        power_t=0.3,
        batch_size=5,
        max_iter=3,
        tol=None,
        random_state=0,
    )
    compiled, reference = _both_engines(params, X, y, monkeypatch)
    rtol, atol = (1e-10, 1e-12) if dtype == np.float64 else (1e-4, 1e-5)
    np.testing.assert_allclose(compiled.coef_, reference.coef_, rtol=rtol, atol=atol)
    np.testing.assert_allclose(
        compiled.intercept_, reference.intercept_, rtol=rtol, atol=atol
    )
    np.testing.assert_allclose(compiled.loss_curve_, reference.loss_curve_, rtol=rtol)
    assert compiled.coef_.dtype == dtype


@pytest.mark.parametrize("name", ["adagrad", "momentum", "adam"])
@pytest.mark.parametrize("alpha, eta0", [(0.5, 1.0), (5.0, 0.3)])
def test_strong_decay_folds_and_clamps(name, alpha, eta0, monkeypatch):
    """A decay product that would underflow restarts with every column caught
    up (0.5 per step: below 1e-100 within an epoch); a decay of lr * l2 >= 1
    zeroes the weights instead of flipping them (alpha=5).
    Both engines agree, and the model stays finite."""
    X, y = _sparse_problem(n=400, n_classes=2)
    params = dict(
        loss="log_loss",
        optimizer=name,
        alpha=alpha,
        learning_rate="constant",
        eta0=eta0,
        batch_size=1,
        max_iter=2,
        tol=None,
        shuffle=False,
    )
    fits = _both_engines(params, X, y, monkeypatch)
    np.testing.assert_allclose(fits[0].coef_, fits[1].coef_, rtol=1e-9, atol=1e-12)
    assert np.all(np.isfinite(fits[0].coef_))
    if eta0 * params["alpha"] >= 1.0 and name != "momentum":
        # A column untouched since the clamp is exactly 0 (momentum's velocity
        # may still move it).
        assert np.any(fits[0].coef_ == 0.0)


@pytest.mark.parametrize("name", sorted(ETA))
def test_partial_fit_continues_the_lazy_rule(name, monkeypatch):
    """Chunks through partial_fit: both engines agree, and the state carries
    over (two calls on halves are the two halves of one shuffled-off epoch)."""
    X, y = _sparse_problem(n_classes=3)
    params = dict(
        loss="softmax",
        optimizer=name,
        alpha=0.01,
        learning_rate="constant",
        eta0=ETA[name],
        batch_size=4,
        shuffle=False,
    )
    fits = []
    for enabled in (True, False):
        monkeypatch.setattr(_compiled, "ENABLED", enabled)
        est = GDClassifier(**params)
        for chunk in (slice(0, 44), slice(44, 90)):
            est.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2])
        fits.append(est)
    np.testing.assert_allclose(fits[0].coef_, fits[1].coef_, rtol=1e-10, atol=1e-12)
    whole = GDClassifier(**params, max_iter=1, tol=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole.fit(X[:44], y[:44])
    first = GDClassifier(**params).partial_fit(X[:44], y[:44], classes=[0, 1, 2])
    np.testing.assert_allclose(first.coef_, whole.coef_, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(ETA))
def test_lazy_rule_reaches_the_dense_rules_accuracy(name):
    """On a problem where both apply, the lazy rule on CSR rows and the dense
    rule on the same rows as an array reach the same test accuracy within
    0.03 (documented in the user guide's sparse-data section)."""
    rng = np.random.RandomState(1)
    n, n_features = 3000, 400
    X = sp.random(n, n_features, density=0.03, format="csr", random_state=rng)
    X.data = rng.uniform(0.2, 1.0, size=X.nnz)
    w = rng.randn(n_features) * (rng.rand(n_features) < 0.3)
    y = (X @ w + 0.2 * rng.randn(n) > 0).astype(int)
    train, test = slice(0, 2000), slice(2000, n)
    params = dict(
        loss="log_loss",
        optimizer=name,
        alpha=1e-4,
        learning_rate="constant",
        eta0=ETA[name],
        batch_size=8,
        max_iter=15,
        tol=None,
        random_state=0,
    )
    sparse = GDClassifier(**params).fit(X[train], y[train])
    dense = GDClassifier(**params).fit(X[train].toarray(), y[train])
    a_sparse = sparse.score(X[test], y[test])
    a_dense = dense.score(X[test].toarray(), y[test])
    assert a_dense > 0.75, a_dense  # the problem is learnable
    assert abs(a_sparse - a_dense) <= 0.03, (a_sparse, a_dense)
