import math

import pytest

from skgd.schedules import (
    Adaptive,
    Constant,
    InvScaling,
    Optimal,
    PassiveAggressive,
    get_schedule,
)


def test_formulas():
    assert Constant(0.3).rate(17, {}) == 0.3
    assert InvScaling(eta0=0.5, power_t=0.25).rate(16, {}) == pytest.approx(0.25)
    # Bottou's heuristic as scikit-learn computes it:
    # eta_init = sqrt(1 / sqrt(alpha)), t0 = 1 / (alpha * eta_init).
    alpha = 1e-3
    eta_init = math.sqrt(1.0 / math.sqrt(alpha))
    t0 = 1.0 / (alpha * eta_init)
    assert Optimal(alpha).rate(1, {}) == pytest.approx(eta_init)
    assert Optimal(alpha).rate(101, {}) == pytest.approx(1.0 / (alpha * (t0 + 100)))


def test_adaptive_divides_by_five_then_stops():
    schedule = Adaptive(eta0=1e-5)
    state = schedule.init()
    assert schedule.rate(1, state) == 1e-5
    state, stop = schedule.on_plateau(state)
    assert not stop and schedule.rate(2, state) == pytest.approx(2e-6)
    state, stop = schedule.on_plateau(state)
    assert not stop and schedule.rate(3, state) == pytest.approx(4e-7)
    state, stop = schedule.on_plateau(state)
    assert stop
    # Stateless schedules stop at the first plateau; the schedule object is
    # never changed by training.
    assert Constant().on_plateau({}) == ({}, True)
    assert schedule.eta0 == 1e-5


def test_passive_aggressive_rates():
    pa1 = PassiveAggressive(C=0.5, variant=1)
    assert pa1.rate(1, {}, loss_value=2.0, sqnorm=8.0) == pytest.approx(0.25)
    # capped at C
    assert pa1.rate(1, {}, loss_value=8.0, sqnorm=8.0) == pytest.approx(0.5)
    assert pa1.rate(1, {}, loss_value=1.0, sqnorm=0.0) == 0.0
    pa2 = PassiveAggressive(C=0.5, variant=2)
    assert pa2.rate(1, {}, loss_value=2.0, sqnorm=8.0) == pytest.approx(
        2.0 / (8.0 + 1.0)
    )


def test_get_schedule():
    assert get_schedule("invscaling", eta0=0.2, power_t=0.1).get_params() == {
        "eta0": 0.2,
        "power_t": 0.1,
    }
    assert get_schedule("pa2", eta0=0.3).get_params() == {"C": 0.3, "variant": 2}
    mine = Constant(1.0)
    assert get_schedule(mine) is mine
    with pytest.raises(ValueError, match="learning_rate='fast' is not a known"):
        get_schedule("fast")
