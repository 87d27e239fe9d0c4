import numpy as np
import pytest

from skgd.penalties import L1, L2, ElasticNet, Penalty, get_penalty

PENALTIES = [L2(), L1(), ElasticNet(l1_ratio=0.3)]


@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
def test_gradient_matches_centered_differences_off_zero(penalty, rng):
    coef = rng.normal(size=(3, 4))
    coef[np.abs(coef) < 1e-2] = 0.5  # keep every coordinate off the L1 kink
    h = 1e-6
    numeric = np.empty_like(coef)
    for idx in np.ndindex(coef.shape):
        e = np.zeros_like(coef)
        e[idx] = h
        numeric[idx] = (penalty.value(coef + e) - penalty.value(coef - e)) / (2 * h)
    np.testing.assert_allclose(penalty.gradient(coef), numeric, rtol=1e-7, atol=1e-9)


def test_closed_forms():
    coef = np.array([[1.0, -2.0], [0.0, 3.0]])
    assert L2().value(coef) == pytest.approx(0.5 * 14)
    assert L1().value(coef) == pytest.approx(6)
    assert ElasticNet(0.25).value(coef) == pytest.approx(0.75 * 7 + 0.25 * 6)
    # The subgradient of |w| at 0 is taken as 0.
    np.testing.assert_array_equal(L1().gradient(coef), [[1, -1], [0, 1]])


def test_elastic_net_ends_are_l2_and_l1(rng):
    coef = rng.normal(size=(2, 5))
    assert ElasticNet(0.0).value(coef) == pytest.approx(L2().value(coef))
    assert ElasticNet(1.0).value(coef) == pytest.approx(L1().value(coef))


def test_get_penalty():
    assert get_penalty(None) is None
    assert isinstance(get_penalty("l2"), L2)
    assert get_penalty("elasticnet", l1_ratio=0.4).l1_ratio == 0.4
    mine = L1()
    assert get_penalty(mine) is mine
    with pytest.raises(ValueError, match="penalty='l3' is not a known penalty"):
        get_penalty("l3")
    assert Penalty().value(np.ones(3)) == 0.0


class SmoothL1(Penalty):
    """A penalty of its own: sum of sqrt(w^2 + e^2) - e (a smoothed L1)."""

    def __init__(self, e=0.1):
        self.e = e

    def value(self, coef):
        return float(np.sum(np.sqrt(coef**2 + self.e**2) - self.e))

    def gradient(self, coef):
        return coef / np.sqrt(coef**2 + self.e**2)


def test_a_penalty_of_its_own_is_trained_by_its_gradient(multiclass):
    """What the gradient check checks is what is trained: full-batch descent
    with a custom penalty equals the hand-written loop with its gradient,
    and the loss curve holds its value."""
    from scipy.special import log_softmax, softmax

    from skgd import GDClassifier
    from skgd.gradient_check import check_estimator_gradient

    X, y = multiclass
    alpha, eta, epochs = 0.05, 0.5, 6
    est = GDClassifier(
        loss="softmax",
        penalty=SmoothL1(),
        alpha=alpha,
        batch_size="full",
        learning_rate="constant",
        eta0=eta,
        max_iter=epochs,
        tol=None,
    )
    check_estimator_gradient(est, X, y).assert_passed()
    est.fit(X, y)
    W, b = np.zeros((3, X.shape[1])), np.zeros(3)
    objectives = []
    for _ in range(epochs):
        Z = X @ W.T + b
        logp = log_softmax(Z, axis=1)
        objectives.append(
            -logp[np.arange(len(y)), y].mean() + alpha * SmoothL1().value(W)
        )
        G = softmax(Z, axis=1)
        G[np.arange(len(y)), y] -= 1.0
        G /= len(y)
        W, b = W - eta * (G.T @ X + alpha * SmoothL1().gradient(W)), b - eta * G.sum(0)
    np.testing.assert_allclose(est.coef_, W, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(est.intercept_, b, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(est.loss_curve_, objectives, rtol=1e-10)


def test_a_mixture_subclass_trains_as_its_weights_say(multiclass):
    """A subclass that only sets the L2/L1 weights is the mixture it states
    (NumPy engine: no declaration of its own) = the built-in (compiled)."""
    from skgd import GDClassifier

    class HalfElasticNet(Penalty):
        l2_weight = property(lambda self: 0.4)
        l1_weight = property(lambda self: 0.1)

    X, y = multiclass
    params = dict(alpha=0.02, learning_rate="constant", eta0=0.05, max_iter=3)
    params.update(tol=None, random_state=0)
    mine = GDClassifier(penalty=HalfElasticNet(), **params).fit(X, y)
    theirs = GDClassifier(
        penalty=ElasticNet(l1_ratio=0.2), **{**params, "alpha": 0.01}
    ).fit(X, y)
    assert HalfElasticNet().mixture() == (0.4, 0.1)
    assert SmoothL1().mixture() is None
    np.testing.assert_allclose(mine.coef_, theirs.coef_, rtol=1e-10, atol=1e-13)
