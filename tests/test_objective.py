"""The objective that training and the gradient check share."""

import numpy as np
import pytest
import scipy.sparse as sp

from skgd._objective import Objective
from skgd.losses import LOSS_NAMES, get_loss
from skgd.penalties import L2, ElasticNet

# Smooth losses give an exact finite-difference reference at any point; the
# kinked ones are covered by test_losses away from their kinks.
SMOOTH = ["log_loss", "squared_error", "softmax", "modified_huber", "squared_hinge"]


def _fd_gradient(f, coef, intercept, h=1e-6):
    gc = np.empty_like(coef)
    for idx in np.ndindex(coef.shape):
        e = np.zeros_like(coef)
        e[idx] = h
        gc[idx] = (f(coef + e, intercept) - f(coef - e, intercept)) / (2 * h)
    gi = np.empty_like(intercept)
    for j in range(intercept.size):
        e = np.zeros_like(intercept)
        e[j] = h
        gi[j] = (f(coef, intercept + e) - f(coef, intercept - e)) / (2 * h)
    return gc, gi


@pytest.mark.parametrize("name", SMOOTH)
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("sparse", [False, True])
def test_objective_gradient_matches_finite_differences(name, n_classes, sparse, rng):
    n, d = 30, 4
    X = rng.normal(size=(n, d)) * (rng.random((n, d)) < 0.6)
    Xin = sp.csr_matrix(X) if sparse else X
    y_idx = rng.integers(0, n_classes, size=n)
    w = rng.random(n) + 0.1
    obj = Objective(get_loss(name), ElasticNet(0.0), 0.05, True, n_classes)
    Y = obj.encode(y_idx, np.float64)
    coef = rng.normal(scale=0.3, size=(obj.n_outputs, d))
    intercept = rng.normal(scale=0.3, size=obj.n_outputs)

    def f(c, b):
        return obj.value_and_gradient(c, b, Xin, Y, w)[0]

    value, gc, gi = obj.value_and_gradient(coef, intercept, Xin, Y, w)
    ngc, ngi = _fd_gradient(f, coef, intercept)
    np.testing.assert_allclose(gc, ngc, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gi, ngi, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_weight_two_equals_a_repeated_row(name, rng):
    X = rng.normal(size=(10, 3))
    y_idx = rng.integers(0, 3, size=10)
    w = np.ones(10)
    w[4] = 2.0
    X_rep = np.vstack([X, X[4:5]])
    y_rep = np.append(y_idx, y_idx[4])
    obj = Objective(get_loss(name), L2(), 0.1, True, 3)
    coef, b = rng.normal(size=(3, 3)), rng.normal(size=3)
    a = obj.value_and_gradient(coef, b, X, obj.encode(y_idx, float), w)
    r = obj.value_and_gradient(coef, b, X_rep, obj.encode(y_rep, float), np.ones(11))
    for u, v in zip(a, r):
        np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-14)


def test_batch_gradient_is_the_weighted_sum_of_per_sample_gradients(rng):
    X = rng.normal(size=(12, 3))
    y_idx = rng.integers(0, 3, size=12)
    scale = rng.random(12)
    obj = Objective(get_loss("softmax"), None, 0.0, True, 3)
    Y = obj.encode(y_idx, float)
    coef, b = rng.normal(size=(3, 3)), rng.normal(size=3)
    _, gc, gi = obj.batch_gradient(coef, b, X, Y, scale)
    per_row = [
        obj.batch_gradient(coef, b, X[i : i + 1], Y[i : i + 1], np.ones(1))
        for i in range(12)
    ]
    np.testing.assert_allclose(
        gc, sum(s * g[1] for s, g in zip(scale, per_row)), rtol=1e-12
    )
    np.testing.assert_allclose(
        gi, sum(s * g[2] for s, g in zip(scale, per_row)), rtol=1e-12
    )


def test_intercept_is_not_penalised_and_can_be_off(rng):
    X = rng.normal(size=(8, 2))
    obj = Objective(get_loss("log_loss"), L2(), 10.0, False, 2)
    Y = obj.encode(np.array([0, 1] * 4), float)
    _, _, gi = obj.value_and_gradient(np.ones((1, 2)), np.zeros(1), X, Y, np.ones(8))
    np.testing.assert_array_equal(gi, 0.0)


def test_encode():
    y_idx = np.array([0, 2, 1])
    ovr = Objective(get_loss("hinge"), None, 0, True, 3).encode(y_idx, np.float32)
    np.testing.assert_array_equal(ovr, [[1, -1, -1], [-1, -1, 1], [-1, 1, -1]])
    assert ovr.dtype == np.float32
    binary = Objective(get_loss("hinge"), None, 0, True, 2).encode(
        np.array([0, 1]), float
    )
    np.testing.assert_array_equal(binary, [[-1], [1]])
    np.testing.assert_array_equal(
        Objective(get_loss("softmax"), None, 0, True, 3).encode(y_idx, float), y_idx
    )
