"""Every registered loss against finite differences and closed-form references."""

import numpy as np
import pytest
from scipy.special import expit, softmax
from sklearn.metrics import hinge_loss, log_loss

from skgd._objective import Objective
from skgd.losses import (
    LOSS_NAMES,
    BinaryLoss,
    Hinge,
    LogLoss,
    Loss,
    MulticlassHinge,
    Softmax,
    get_loss,
)

EPSILON = 0.1
BINARY = [name for name in LOSS_NAMES if not get_loss(name, EPSILON).multiclass]
MULTICLASS = [name for name in LOSS_NAMES if get_loss(name, EPSILON).multiclass]


def _away_from_binary_kinks(y, z):
    """Mask of entries whose +-1e-3 neighbourhood is free of every kink."""
    m, r = y * z, np.abs(y - z)
    distance = np.min(
        [np.abs(m - 1), np.abs(m), np.abs(m + 1), np.abs(r - EPSILON)], axis=0
    )
    return distance > 1e-3


@pytest.mark.parametrize("name", BINARY)
def test_binary_gradient_matches_centered_differences(name, rng):
    loss = get_loss(name, EPSILON)
    y = rng.choice([-1.0, 1.0], size=(200, 3))
    z = rng.normal(scale=2.0, size=(200, 3))
    keep = _away_from_binary_kinks(y, z)
    h = 1e-6
    numeric = (loss.loss(y, z + h) - loss.loss(y, z - h)) / (2 * h)
    analytic = loss.gradient(y, z)
    np.testing.assert_allclose(analytic[keep], numeric[keep], rtol=1e-6, atol=1e-7)
    values, grad = loss.loss_gradient(y, z)
    np.testing.assert_array_equal(values, loss.loss(y, z))
    np.testing.assert_array_equal(grad, analytic)


@pytest.mark.parametrize("name", MULTICLASS)
def test_multiclass_gradient_matches_centered_differences(name, rng):
    loss = get_loss(name, EPSILON)
    n, k = 100, 4
    y = rng.integers(0, k, size=n)
    z = rng.normal(scale=2.0, size=(n, k))
    margins = z - z[np.arange(n), y][:, None] + 1.0
    margins[np.arange(n), y] = 10.0
    keep = np.abs(margins).min(axis=1) > 1e-3
    h = 1e-6
    numeric = np.empty_like(z)
    for j in range(k):
        e = np.zeros(k)
        e[j] = h
        numeric[:, j] = (loss.loss(y, z + e) - loss.loss(y, z - e)) / (2 * h)
    analytic = loss.gradient(y, z)
    np.testing.assert_allclose(analytic[keep], numeric[keep], rtol=1e-6, atol=1e-7)
    values, grad = loss.loss_gradient(y, z)
    np.testing.assert_allclose(values, loss.loss(y, z), rtol=1e-14)
    np.testing.assert_allclose(grad, analytic, rtol=1e-14)


def test_values_match_sklearn_metrics(rng):
    y01 = rng.integers(0, 2, size=50)
    y = 2.0 * y01 - 1.0
    z = rng.normal(size=50)
    assert Hinge().loss(y, z).mean() == pytest.approx(hinge_loss(y, z), rel=1e-12)
    assert LogLoss().loss(y, z).mean() == pytest.approx(
        log_loss(y01, expit(z)), rel=1e-12
    )
    yk = rng.integers(0, 3, size=50)
    Z = rng.normal(size=(50, 3))
    assert Softmax().loss(yk, Z).mean() == pytest.approx(
        log_loss(yk, softmax(Z, axis=1)), rel=1e-12
    )


def test_multiclass_hinge_closed_form():
    # Weston-Watkins: sum over wrong classes of max(0, z_j - z_y + 1).
    z = np.array([[3.0, 2.5, -1.0], [0.0, 0.0, 0.0]])
    y = np.array([0, 2])
    np.testing.assert_allclose(MulticlassHinge().loss(y, z), [0.5, 2.0])
    np.testing.assert_allclose(
        MulticlassHinge().gradient(y, z), [[-1.0, 1.0, 0.0], [1.0, 1.0, -2.0]]
    )


@pytest.mark.parametrize(
    "multiclass, binary", [(Softmax(), LogLoss()), (MulticlassHinge(), Hinge())]
)
def test_two_classes_reduce_to_the_binary_loss(multiclass, binary, rng):
    """With class 0's score pinned to 0, each multiclass loss is its binary twin."""
    y_idx = rng.integers(0, 2, size=40)
    z = rng.normal(scale=3.0, size=(40, 1))
    joint = Objective(multiclass, None, 0.0, True, n_classes=2)
    ovr = Objective(binary, None, 0.0, True, n_classes=2)
    v1, g1 = joint.loss_gradient(joint.encode(y_idx, float), z)
    v2, g2 = ovr.loss_gradient(ovr.encode(y_idx, float), z)
    np.testing.assert_allclose(v1, v2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-15)


def test_probabilistic_losses_are_stable_for_huge_scores():
    z = np.array([[-1e4, 0.0, 1e4]])
    for loss, y in [(LogLoss(), np.ones_like(z)), (Softmax(), np.array([0]))]:
        values, grad = loss.loss_gradient(y, z)
        assert np.isfinite(values).all() and np.isfinite(grad).all()
    # log(1 + e^{-1e4}) underflows to 0, log(1 + e^{1e4}) is 1e4 exactly.
    np.testing.assert_allclose(
        LogLoss().loss(np.ones(2), np.array([1e4, -1e4])), [0, 1e4]
    )
    np.testing.assert_allclose(Softmax().loss(np.array([0]), z), [2e4])
    np.testing.assert_allclose(Softmax().proba(z).sum(axis=1), 1.0)


def test_get_loss():
    assert get_loss("perceptron").threshold == 0.0
    assert get_loss("huber", epsilon=0.3).epsilon == 0.3
    custom = LogLoss()
    assert get_loss(custom) is custom
    with pytest.raises(ValueError, match="loss='nope' is not a known loss"):
        get_loss("nope")


def test_base_class_says_what_is_missing():
    class Incomplete(BinaryLoss):
        pass

    with pytest.raises(NotImplementedError, match="must implement loss"):
        Incomplete().loss(np.ones(1), np.ones(1))
    assert issubclass(BinaryLoss, Loss)
