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
