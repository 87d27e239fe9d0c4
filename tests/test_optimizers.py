"""Each update rule's first steps against the rule computed by hand."""

import pickle

import numpy as np
import pytest

from skgd.optimizers import (
    OPTIMIZER_NAMES,
    SGD,
    AdaGrad,
    Adam,
    Momentum,
    Nesterov,
    RMSProp,
    get_optimizer,
)

GRADS = [
    np.array([1.0, -2.0, 0.5]),
    np.array([0.5, 1.0, -1.0]),
    np.array([-1.0, 0.0, 2.0]),
]
RATES = [0.1, 0.05, 0.02]


def _hand_steps(name):
    """The textbook formulas, written out for three steps."""
    steps = []
    if name in ("sgd", "saga", "svrg"):
        # SAGA and SVRG step plainly along the gradient the engine corrects.
        return [-lr * g for g, lr in zip(GRADS, RATES)]
    if name in ("momentum", "nesterov"):
        mu, v = 0.9, np.zeros(3)
        for g, lr in zip(GRADS, RATES):
            v_prev = v
            v = mu * v - lr * g
            steps.append(v if name == "momentum" else -mu * v_prev + (1 + mu) * v)
        return steps
    if name == "adagrad":
        cache = np.zeros(3)
        for g, lr in zip(GRADS, RATES):
            cache = cache + g**2
            steps.append(-lr * g / (np.sqrt(cache) + 1e-8))
        return steps
    if name == "rmsprop":
        cache = np.zeros(3)
        for g, lr in zip(GRADS, RATES):
            cache = 0.9 * cache + 0.1 * g**2
            steps.append(-lr * g / (np.sqrt(cache) + 1e-8))
        return steps
    if name == "adam":
        m, v = np.zeros(3), np.zeros(3)
        for t, (g, lr) in enumerate(zip(GRADS, RATES), start=1):
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g**2
            m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
            steps.append(-lr * m_hat / (np.sqrt(v_hat) + 1e-8))
        return steps
    if name == "ftrl":
        # McMahan et al. (2013), Algorithm 1 with alpha = lr, beta = 1 and
        # no penalty: the weight is -z / ((1 + sqrt(n)) / alpha).
        z, n, w = np.zeros(3), np.zeros(3), np.zeros(3)
        for g, lr in zip(GRADS, RATES):
            sigma = (np.sqrt(n + g**2) - np.sqrt(n)) / lr
            z = z + g - sigma * w
            n = n + g**2
            new = -z / ((1.0 + np.sqrt(n)) / lr)
            steps.append(new - w)
            w = new
        return steps
    raise AssertionError(name)


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_first_steps_match_the_update_rule(name):
    optimizer = get_optimizer(name)
    before = pickle.dumps(optimizer)
    state = optimizer.init([np.zeros(3), np.zeros(1)])
    for g, lr, expected in zip(GRADS, RATES, _hand_steps(name)):
        steps, state = optimizer.update([g.copy(), np.zeros(1)], state, lr)
        np.testing.assert_allclose(steps[0], expected, rtol=1e-12, atol=1e-15)
    # Hyperparameters only: training never changes the optimizer object.
    assert pickle.dumps(optimizer) == before


def test_hyperparameters_are_nested_params():
    adam = Adam(beta_1=0.8)
    assert adam.get_params() == {"beta_1": 0.8, "beta_2": 0.999, "epsilon": 1e-8}
    assert adam.set_params(epsilon=1e-6).epsilon == 1e-6


def test_preconditioner_is_the_per_coordinate_scale_of_the_step():
    for optimizer in [AdaGrad(), RMSProp(), Adam(), SGD(), Momentum(), Nesterov()]:
        state = optimizer.init([np.zeros(3)])
        steps, state = optimizer.update([GRADS[0]], state, 1.0)
        scale = optimizer.preconditioner(state)
        if isinstance(optimizer, (SGD, Momentum, Nesterov)):
            assert scale is None
        elif isinstance(optimizer, Adam):
            # First Adam step: m_hat = g, so step = -g * scale.
            np.testing.assert_allclose(steps[0], -GRADS[0] * scale[0], rtol=1e-12)
        else:
            np.testing.assert_allclose(steps[0], -GRADS[0] * scale[0], rtol=1e-12)


def test_get_optimizer():
    mine = Momentum(momentum=0.5)
    assert get_optimizer(mine) is mine
    with pytest.raises(ValueError, match="optimizer='lbfgs' is not a known optimizer"):
        get_optimizer("lbfgs")
