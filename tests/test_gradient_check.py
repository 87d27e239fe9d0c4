"""skgd.gradient_check: it passes correct gradients and catches wrong ones."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import softmax

from skgd import GDClassifier
from skgd.gradient_check import check_estimator_gradient, check_gradient
from skgd.losses import LOSS_NAMES, BinaryLoss, MulticlassLoss

PENALTIES = ["l2", "l1", "elasticnet", None]


def _data(n_classes, sparse=False, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 5))
    if sparse:
        X[rng.random(X.shape) < 0.4] = 0.0
        X = sp.csr_matrix(X)
    y = rng.integers(0, n_classes, size=40)
    y[:n_classes] = np.arange(n_classes)
    return X, y, rng.uniform(0.2, 3.0, size=40)


# -- every registered loss and penalty: the suite checks its own gradients ---


@pytest.mark.parametrize("loss", LOSS_NAMES)
@pytest.mark.parametrize("penalty", PENALTIES, ids=str)
@pytest.mark.parametrize(
    "n_classes, sparse, weighted",
    list(itertools.product([2, 3], [False, True], [False, True])),
    ids=lambda v: str(v),
)
def test_every_builtin_loss_and_penalty_passes(
    loss, penalty, n_classes, sparse, weighted
):
    X, y, w = _data(n_classes, sparse)
    est = GDClassifier(
        loss=loss,
        penalty=penalty,
        alpha=0.05,
        class_weight={c: 1.0 + c for c in range(n_classes)} if weighted else None,
    )
    result = check_estimator_gradient(
        est, X, y, sample_weight=w if weighted else None, random_state=0
    )
    assert result.passed, str(result)
    assert set(result.groups) >= {"coef", "intercept", "data term"}
    if penalty is not None:
        assert "penalty term" in result.groups


# -- planted bugs ----------------------------------------------------------------


class _Logistic(BinaryLoss):
    def loss(self, y, z):
        return np.logaddexp(0.0, -y * z)

    def gradient(self, y, z):
        return -y / (1.0 + np.exp(y * z))


class _WrongSign(_Logistic):
    def gradient(self, y, z):
        return -super().gradient(y, z)


class _SquaredHingeMissingTwo(BinaryLoss):
    def loss(self, y, z):
        return np.maximum(0.0, 1.0 - y * z) ** 2

    def gradient(self, y, z):
        return -y * np.maximum(0.0, 1.0 - y * z)  # should be -2 y (1 - yz)_+


class _SoftmaxWrongColumn(MulticlassLoss):
    """Puts the '-1' of the true class in class 2's column for class-1 samples."""

    def loss(self, y, z):
        return np.log(softmax(z, axis=1)[np.arange(len(y)), y]) * -1.0

    def gradient(self, y, z):
        g = softmax(z, axis=1)
        wrong = np.where(y == 1, 2, y)
        g[np.arange(len(y)), wrong] -= 1.0
        return g


@pytest.mark.parametrize("bad", [_WrongSign(), _SquaredHingeMissingTwo()], ids=repr)
def test_planted_binary_bugs_are_flagged(bad):
    X, y, _ = _data(2)
    good = check_estimator_gradient(
        GDClassifier(loss=_Logistic()), X, y, random_state=0
    )
    assert good.passed, str(good)
    result = check_estimator_gradient(GDClassifier(loss=bad), X, y, random_state=0)
    assert not result.passed
    assert result.groups["data term"]["max_relative_error"] > 1e-2
    assert "FAILED" in str(result) and "WRONG" in str(result)


def test_wrong_class_column_names_the_guilty_coordinates():
    X, y, _ = _data(3)
    result = check_estimator_gradient(
        GDClassifier(loss=_SoftmaxWrongColumn(), penalty=None), X, y, random_state=0
    )
    assert not result.passed
    # Only the scores of classes 1 and 2 get a wrong derivative: class 0's
    # coordinates are fine, and the worst ones are all rows 1 and 2.
    for name, _, _, error, _ in result.worst(10, group="data term"):
        assert name.startswith(("coef[1,", "coef[2,", "intercept[1]", "intercept[2]"))
        assert error > 1e-2
    class0 = [
        err
        for name, err in zip(result.names, result.relative_error)
        if name.startswith("coef[0,")
    ]
    assert max(class0) < 1e-7
    with pytest.raises(AssertionError, match="gradient check failed"):
        result.assert_passed()


def test_a_large_penalty_cannot_hide_a_wrong_data_gradient():
    X, y, _ = _data(2)
    est = GDClassifier(loss=_SquaredHingeMissingTwo(), penalty="l2", alpha=1e4)
    result = check_estimator_gradient(est, X, y, random_state=0)
    # In the total the penalty dominates, so the error looks small ...
    assert result.groups["coef"]["max_relative_error"] < 1e-3
    # ... but the data term, checked on its own, is plainly wrong.
    assert result.groups["data term"]["max_relative_error"] > 1e-2
    assert not result.passed


# -- kinks ------------------------------------------------------------------------


def _at_the_margin(X, y):
    """A binary hinge point where sample 0 sits exactly on its margin."""
    rng = np.random.default_rng(1)
    coef = rng.normal(size=(1, X.shape[1]))
    s0 = 1.0 if y[0] == 1 else -1.0
    intercept = np.array([s0 * 1.0 - X[0] @ coef[0]])
    return coef, intercept


def test_kinks_are_detected_and_left_out_or_judged_loosely():
    X, y, _ = _data(2)
    coef, intercept = _at_the_margin(X, y)
    est = GDClassifier(loss="hinge", penalty=None)
    skipped = check_estimator_gradient(est, X, y, coef=coef, intercept=intercept)
    # Every coordinate moves sample 0's margin, so all six straddle its kink.
    assert skipped.kinked.any() and skipped.groups["coef"]["n_kinked"] == 5
    assert skipped.passed
    assert "kinked coordinates left out" in str(skipped)
    loose = check_estimator_gradient(
        est, X, y, coef=coef, intercept=intercept, kinks="loose"
    )
    assert not loose.passed  # a straddled corner is off by far more than 1e-4


def test_user_loss_kinks_are_found_numerically():
    class PlainHinge(BinaryLoss):  # no kinked(): the check must find them itself
        def loss(self, y, z):
            return np.maximum(0.0, 1.0 - y * z)

        def gradient(self, y, z):
            return np.where(y * z <= 1.0, -y, 0.0)

    X, y, _ = _data(2)
    coef, intercept = _at_the_margin(X, y)
    result = check_estimator_gradient(
        GDClassifier(loss=PlainHinge(), penalty=None),
        X,
        y,
        coef=coef,
        intercept=intercept,
    )
    builtin = check_estimator_gradient(
        GDClassifier(loss="hinge", penalty=None), X, y, coef=coef, intercept=intercept
    )
    np.testing.assert_array_equal(result.kinked, builtin.kinked)
    assert result.passed


def test_l1_at_zero_is_a_kink_of_the_penalty():
    X, y, _ = _data(3)
    coef = np.zeros((3, 5))
    coef[0, 0] = 0.3
    result = check_estimator_gradient(
        GDClassifier(loss="softmax", penalty="l1", alpha=0.1), X, y, coef=coef
    )
    assert result.groups["penalty term"]["n_kinked"] == 14
    assert result.passed


# -- the estimator and its data are left alone; float64 throughout -------------


def test_estimator_is_not_changed_and_fitted_point_is_used():
    X, y, _ = _data(3)
    fresh = GDClassifier(loss="log_loss")
    check_estimator_gradient(fresh, X, y, random_state=0)
    assert not hasattr(fresh, "coef_") and not hasattr(fresh, "n_features_in_")
    fitted = GDClassifier(loss="log_loss", max_iter=3, tol=None, random_state=0).fit(
        X, y
    )
    before = fitted.coef_.copy()
    result = check_estimator_gradient(fitted, X, y)
    np.testing.assert_array_equal(fitted.coef_, before)
    assert result.passed
    # The checked point is the fitted one: its analytic gradient equals the
    # objective's gradient there, computed independently below.
    s = np.where(y[:, None] == np.arange(3), 1.0, -1.0)
    Z = X @ before.T + fitted.intercept_
    G = -s / (1.0 + np.exp(s * Z)) / len(y)
    expected = G.T @ X + 1e-4 * before
    got = dict(zip(result.names, result.analytic))
    assert got["coef[1, 2]"] == pytest.approx(expected[1, 2], rel=1e-10)


def test_float32_data_is_checked_in_float64():
    X, y, _ = _data(3)
    result = check_estimator_gradient(
        GDClassifier(loss="softmax"), X.astype(np.float32), y, random_state=0
    )
    assert result.passed and result.max_relative_error < 1e-7


def test_n_checks_samples_coordinates():
    X, y, _ = _data(3)
    result = check_estimator_gradient(
        GDClassifier(loss="softmax"), X, y, n_checks=4, random_state=0
    )
    n_params = (
        result.groups["coef"]["n_checked"]
        + result.groups.get("intercept", {"n_checked": 0})["n_checked"]
    )
    assert n_params == 4 and result.groups["data term"]["n_checked"] == 4


def test_errors():
    X, y, _ = _data(2)
    with pytest.raises(ValueError, match="eps must be a positive finite float"):
        check_estimator_gradient(GDClassifier(), X, y, eps=0)
    with pytest.raises(ValueError, match="kinks must be 'skip' or 'loose'"):
        check_estimator_gradient(GDClassifier(), X, y, kinks="ignore")
    with pytest.raises(ValueError, match="Negative values in data passed to `sample"):
        check_estimator_gradient(GDClassifier(), X, y, sample_weight=-np.ones(40))
    with pytest.raises(ValueError, match="at least two classes"):
        check_estimator_gradient(GDClassifier(), X, np.zeros(40))


# -- check_gradient on closed forms --------------------------------------------


def test_check_gradient_closed_forms():
    A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, -1.0], [0.0, -1.0, 4.0]])
    x0 = np.array([0.3, -1.2, 2.0])

    def quadratic(x):
        return 0.5 * x @ A @ x, A @ x

    result = check_gradient(quadratic, x0)
    assert result.passed and result.max_relative_error < 1e-8
    wrong = check_gradient(lambda x: 0.5 * x @ A @ x, x0, grad=lambda x: A.T @ x * 1.01)
    assert not wrong.passed
    assert check_gradient(lambda x: np.exp(x).sum(), x0, grad=np.exp).passed


def test_check_gradient_promotes_float32():
    x0 = np.linspace(-2, 2, 7).astype(np.float32)
    result = check_gradient(lambda x: np.sum(x**4), x0, grad=lambda x: 4 * x**3)
    # In float32 centered differences could not get below ~1e-3.
    assert result.passed and result.max_relative_error < 1e-7


def test_check_gradient_kink_and_report():
    result = check_gradient(
        lambda x: np.abs(x).sum(), np.array([0.0, 1.0, -2.0]), grad=np.sign
    )
    assert result.passed and list(result.kinked) == [True, False, False]
    text = str(result)
    assert "PASSED" in text and "worst coordinates" in text and "(kinked)" in text
    assert repr(result).startswith("GradientCheckResult(passed=True")
    with pytest.raises(ValueError, match="The gradient has 2 values for a point of 3"):
        check_gradient(lambda x: (0.0, np.zeros(2)), np.zeros(3))


# -- the checker's own arguments ------------------------------------------------


def _quadratic(x):
    return 0.5 * float(x @ x), x


BAD_SETTINGS = [
    (dict(eps=np.nan), ValueError, "eps must be a positive finite float"),
    (dict(eps=np.inf), ValueError, "eps must be a positive finite float"),
    (dict(eps=-1e-5), ValueError, "eps must be a positive finite float"),
    (dict(eps="1e-5"), ValueError, "eps must be a positive finite float"),
    (dict(rtol=-1e-7), ValueError, "rtol must be a finite float >= 0"),
    (dict(rtol=np.nan), ValueError, "rtol must be a finite float >= 0"),
    (dict(rtol=np.inf), ValueError, "rtol must be a finite float >= 0"),
    (dict(kink_rtol=-1.0), ValueError, "kink_rtol must be a finite float >= 0"),
    (dict(kinks="ignore"), ValueError, "kinks must be 'skip' or 'loose'"),
    (dict(n_checks=0), ValueError, "n_checks must be a positive int or None"),
    (dict(n_checks=2.5), ValueError, "n_checks must be a positive int or None"),
    (dict(n_checks=True), ValueError, "n_checks must be a positive int or None"),
]


@pytest.mark.parametrize("settings, error, match", BAD_SETTINGS)
def test_bad_settings_are_refused_by_both_checks(settings, error, match):
    X, y, _ = _data(2)
    with pytest.raises(error, match=match):
        check_gradient(_quadratic, np.ones(3), **settings)
    with pytest.raises(error, match=match):
        check_estimator_gradient(GDClassifier(), X, y, **settings)


def test_rtol_zero_never_passes_a_wrong_gradient():
    """rtol=0 asks for exact agreement: a wrong gradient fails, large or
    tiny (it used to make the floor infinite and pass everything)."""
    x0 = np.array([0.3, -1.2, 2.0])
    for scale in (1.01, 1.0 + 1e-9):
        result = check_gradient(
            lambda x: 0.5 * float(x @ x), x0, grad=lambda x, s=scale: s * x, rtol=0
        )
        assert not result.passed
    X, y, _ = _data(2)
    result = check_estimator_gradient(GDClassifier(loss="log_loss"), X, y, rtol=0)
    assert result.max_relative_error > 0 and not result.passed


@pytest.mark.parametrize(
    "fun, x0, error, match",
    [
        (lambda x: 0.5 * float(x @ x), np.ones(3), TypeError, r"fun must return \(v"),
        (lambda x: (x, x), np.ones(3), TypeError, "fun must return a scalar value"),
        (lambda x: (1.0, x[:2]), np.ones(3), ValueError, "The gradient has 2 values"),
        (_quadratic, [1.0, np.nan], ValueError, "Input x0 contains NaN"),
        (_quadratic, [1.0, np.inf], ValueError, "Input x0 contains infinity"),
        (_quadratic, [], ValueError, r"Found array with 0 sample\(s\)"),
        ("not callable", np.ones(3), TypeError, "fun .* must be callables"),
    ],
)
def test_check_gradient_says_what_fun_and_x0_must_be(fun, x0, error, match):
    with pytest.raises(error, match=match):
        check_gradient(fun, x0)


@pytest.mark.parametrize(
    "estimator", ["pipeline", "sgdclassifier", "string"], ids=lambda s: s
)
def test_check_estimator_gradient_takes_skgd_estimators_only(estimator):
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, _ = _data(2)
    est = {
        "pipeline": make_pipeline(StandardScaler(), GDClassifier()),
        "sgdclassifier": SGDClassifier(),
        "string": "GDClassifier",
    }[estimator]
    with pytest.raises(TypeError, match="checks the objective of a skgd estimator"):
        check_estimator_gradient(est, X, y)


def test_check_estimator_gradient_gives_fits_messages():
    """Shapes, non-finite points, multilabel y, weights: fit's own messages."""
    X, y, _ = _data(2)
    est = GDClassifier(loss="log_loss")
    cases = [
        (dict(coef=np.ones((2, X.shape[1]))), "Provided coef does not match dataset"),
        (dict(intercept=np.ones(3)), "Provided intercept does not match dataset"),
        (dict(coef=np.full((1, X.shape[1]), np.nan)), "Input coef contains NaN"),
        (dict(sample_weight=np.ones(3)), r"sample_weight.shape == \(3,\)"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            check_estimator_gradient(est, X, y, **kwargs)
    Y = np.column_stack([y, 1 - y])
    with pytest.raises(ValueError, match="y should be a 1d array") as by_check:
        check_estimator_gradient(est, X, Y)
    with pytest.raises(ValueError) as by_fit:
        GDClassifier().fit(X, Y)
    assert str(by_check.value) == str(by_fit.value)


def test_result_accessors_refuse_unknown_groups():
    X, y, _ = _data(2)
    result = check_estimator_gradient(GDClassifier(loss="log_loss"), X, y)
    with pytest.raises(KeyError, match="No group 'weights'.*'coef'"):
        result.worst(group="weights")
    with pytest.raises(ValueError, match="k must be an int >= 0"):
        result.worst(k=-1)
    assert [row[0] for row in result.worst(k=2, group="intercept")] == ["intercept[0]"]
