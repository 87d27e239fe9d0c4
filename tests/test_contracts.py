"""Components of the user's own keep a contract, and are told when they
break it: before any step, a TypeError or ValueError naming the component,
the method and what was expected, never an error from deep in the engine or
a "Training diverged" blaming the step size. Integer arrays are cast."""

import numpy as np
import pytest

from skgd import GDClassifier, losses, optimizers, penalties, schedules


def _data(n_classes=2):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 4))
    y = np.argmax(X[:, :n_classes], axis=1) if n_classes > 2 else (X[:, 0] > 0) * 1
    return X, y


class Hinge(losses.BinaryLoss):
    """The hinge loss written by a user (so it is checked)."""

    def loss(self, y, z):
        return np.maximum(0.0, 1.0 - y * z)

    def gradient(self, y, z):
        return np.where(y * z < 1.0, -y, 0.0)


def _loss(values=None, gradient=None, pair=True):
    class Broken(Hinge):
        def loss_gradient(self, y, z):
            v = self.loss(y, z) if values is None else values(y, z)
            g = self.gradient(y, z) if gradient is None else gradient(y, z)
            return (v, g) if pair else [v, g]

    return Broken()


class Softmax(losses.MulticlassLoss):
    def loss(self, y, z):
        z = z - z.max(axis=1, keepdims=True)
        return np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]

    def gradient(self, y, z):
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(y)), y] -= 1.0
        return p


LOSS_CASES = [
    (_loss(gradient=lambda y, z: np.ones(len(z))), ValueError, r"shape \(2,\)"),
    (_loss(gradient=lambda y, z: np.ones((2, 2))), ValueError, r"shape \(2, 1\)"),
    (_loss(gradient=lambda y, z: z > 0), TypeError, "dtype bool"),
    (_loss(gradient=lambda y, z: z.astype(complex)), TypeError, "dtype complex"),
    (_loss(gradient=lambda y, z: z.astype(object)), TypeError, "dtype object"),
    (_loss(gradient=lambda y, z: z * np.nan), ValueError, "non-finite values"),
    (_loss(values=lambda y, z: np.full(z.shape, np.inf)), ValueError, "non-finite"),
    (_loss(gradient=lambda y, z: None), TypeError, "a gradient of dtype object"),
    (_loss(pair=False), TypeError, "it must return the pair"),
]


@pytest.mark.parametrize("loss, error, match", LOSS_CASES)
def test_a_broken_loss_is_named_before_any_step(loss, error, match):
    X, y = _data()
    est = GDClassifier(loss=loss)
    with pytest.raises(error, match=match) as info:
        est.fit(X, y)
    assert str(info.value).startswith("Broken.loss_gradient(y, z) returned")
    assert "diverged" not in str(info.value) and not hasattr(est, "coef_")


def test_a_multiclass_loss_is_checked_with_its_own_shapes():
    X, y = _data(3)
    GDClassifier(loss=Softmax(), max_iter=2).fit(X, y)

    class Scalar(Softmax):
        def loss_gradient(self, y, z):
            return self.loss(y, z).sum(), self.gradient(y, z)

    with pytest.raises(ValueError, match=r"loss values of shape \(\); it must have"):
        GDClassifier(loss=Scalar()).fit(X, y)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_integer_gradients_are_cast(n_classes):
    """A loss that returns integers (a perceptron's -y or 0) trains as the
    same loss returning floats, on both paths of the objective."""

    class IntPerceptron(losses.BinaryLoss):
        def loss(self, y, z):
            return np.maximum(0.0, -y * z)

        def gradient(self, y, z):
            return np.where(y * z <= 0, -y, 0).astype(np.int64)

    class FloatPerceptron(IntPerceptron):
        def gradient(self, y, z):
            return super().gradient(y, z).astype(float)

    X, y = _data(n_classes)
    for batch_size in (1, 8):  # (batch 1: SGDClassifier's weighting)
        params = dict(batch_size=batch_size, max_iter=3, tol=None, random_state=0)
        params["class_weight"] = {0: 2.0}
        ints = GDClassifier(loss=IntPerceptron(), **params).fit(X, y)
        floats = GDClassifier(loss=FloatPerceptron(), **params).fit(X, y)
        np.testing.assert_array_equal(ints.coef_, floats.coef_)


class _Penalty(penalties.Penalty):
    def __init__(self, level=0.0, slope=None):
        self.level = level
        self.slope = slope

    def value(self, coef):
        return self.level

    def gradient(self, coef):
        return np.zeros_like(coef) if self.slope is None else self.slope(coef)


PENALTY_CASES = [
    (_Penalty(level=np.array([1.0, 2.0])), TypeError, "_Penalty.value\\(coef\\)"),
    (_Penalty(level="0"), TypeError, "of type str; it must be a real number"),
    (_Penalty(level=np.nan), ValueError, "non-finite a penalty value"),
    (_Penalty(slope=lambda c: c.ravel()), ValueError, "_Penalty.gradient\\(coef\\)"),
    (_Penalty(slope=lambda c: np.full(c.shape, np.inf)), ValueError, "non-finite"),
]


@pytest.mark.parametrize("penalty, error, match", PENALTY_CASES)
def test_a_broken_penalty_is_named(penalty, error, match):
    X, y = _data()
    with pytest.raises(error, match=match):
        GDClassifier(penalty=penalty, alpha=0.1).fit(X, y)


class _Optimizer(optimizers.Optimizer):
    def __init__(self, kind="good"):
        self.kind = kind

    def init(self, params):
        return [] if self.kind == "init-list" else {}

    def update(self, grads, state, lr):
        steps = [-lr * g for g in grads]
        if self.kind == "one-step":
            return [steps[0]], state
        if self.kind == "no-state":
            return steps
        if self.kind == "wrong-shape":
            return [steps[0].ravel(), steps[1]], state
        if self.kind == "nan":
            return [steps[0] * np.nan, steps[1]], state
        if self.kind == "state-list":
            return steps, []
        if self.kind == "int":
            return [np.zeros(g.shape, dtype=int) for g in grads], state
        return steps, state


@pytest.mark.parametrize(
    "kind, error, match",
    [
        ("init-list", TypeError, r"init\(params\) returned list; it must return a"),
        ("one-step", TypeError, "steps of type list; they must be a list of two"),
        ("no-state", TypeError, r"must return the pair \(steps, new_state\)"),
        ("wrong-shape", ValueError, "a coef step of shape"),
        ("nan", ValueError, "a coef step with non-finite values"),
        ("state-list", TypeError, "a new state of type list; it must be a dict"),
    ],
)
def test_a_broken_optimizer_is_named(kind, error, match):
    X, y = _data()
    with pytest.raises(error, match=match) as info:
        GDClassifier(optimizer=_Optimizer(kind), batch_size=4).fit(X, y)
    assert str(info.value).startswith("_Optimizer.")


def test_a_well_behaved_optimizer_trains_and_integer_steps_are_taken():
    X, y = _data()
    params = dict(batch_size=4, learning_rate="constant", max_iter=3, tol=None)
    mine = GDClassifier(optimizer=_Optimizer(), random_state=0, **params).fit(X, y)
    sgd = GDClassifier(optimizer="sgd", random_state=0, **params).fit(X, y)
    np.testing.assert_allclose(mine.coef_, sgd.coef_, rtol=1e-12)
    frozen = GDClassifier(optimizer=_Optimizer("int"), **params).fit(X, y)
    np.testing.assert_array_equal(frozen.coef_, 0.0)


class _Schedule(schedules.Schedule):
    def __init__(self, step=0.01, start=None):
        self.step = step
        self.start = start

    def init(self):
        return {} if self.start is None else self.start

    def rate(self, t, state):
        return self.step


@pytest.mark.parametrize(
    "schedule, error, match",
    [
        (_Schedule(step=0.0), ValueError, "a step size of 0.0; it must be > 0"),
        (_Schedule(step=-1.0), ValueError, "it must be > 0"),
        (_Schedule(step=np.nan), ValueError, "non-finite a step size"),
        (_Schedule(step="0.1"), TypeError, "of type str; it must be a real number"),
        (_Schedule(step=np.ones(2)), TypeError, "of type ndarray"),
        (_Schedule(start=[]), TypeError, r"init\(\) returned list"),
    ],
)
def test_a_broken_schedule_is_named(schedule, error, match):
    X, y = _data()
    with pytest.raises(error, match=match) as info:
        GDClassifier(learning_rate=schedule).fit(X, y)
    assert str(info.value).startswith("_Schedule.")


def test_the_check_also_guards_partial_fit_and_changes_nothing():
    X, y = _data()
    est = GDClassifier(loss=Hinge(), learning_rate="constant", random_state=0)
    est.partial_fit(X, y, classes=[0, 1])
    ref = GDClassifier(loss="hinge", learning_rate="constant", random_state=0)
    ref.partial_fit(X, y, classes=[0, 1])
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-12)
    before = est.coef_.copy()
    est.set_params(loss=LOSS_CASES[0][0])
    with pytest.raises(ValueError, match="Broken.loss_gradient"):
        est.partial_fit(X, y)
    np.testing.assert_array_equal(est.coef_, before)


def test_a_loss_that_turns_nan_later_is_named_in_the_divergence_message():
    """A loss that is fine at the start and returns NaN beyond some score:
    the error names it rather than blaming the step size alone."""

    class NanBeyond(Hinge):
        def loss_gradient(self, y, z):
            v, g = super().loss_gradient(y, z)
            return v, np.where(np.abs(z) > 0.5, np.nan, g)

    X, y = _data()
    with pytest.raises(ValueError, match="Your own NanBeyond may also be the cause"):
        GDClassifier(loss=NanBeyond(), learning_rate="constant", eta0=0.1).fit(X, y)
