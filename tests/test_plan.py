"""The training plan: components validated like estimators, the rules
between them for instances as for names, one resolution of the batch."""

import inspect
import re

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from skgd import GDClassifier, _plan, losses, optimizers, penalties, schedules
from skgd._component import Component, declared_kernel

QUIET = dict(max_iter=2, tol=None, random_state=0)
_rng = np.random.default_rng(0)
X = _rng.normal(size=(30, 3))
y = np.arange(30) % 2


def _built_in(module, base):
    """Every public component class of a module (not the abstract bases)."""
    return [
        getattr(module, name)
        for name in module.__all__
        if inspect.isclass(getattr(module, name))
        and issubclass(getattr(module, name), base)
        and declared_kernel(getattr(module, name)()) is not None
    ]


# Where each kind of component goes in the estimator, with settings it can
# train with (passive-aggressive needs the hinge at batch 1).
SLOTS = {
    losses.Loss: ("loss", {}),
    penalties.Penalty: ("penalty", {}),
    optimizers.Optimizer: ("optimizer", {}),
    schedules.Schedule: ("learning_rate", {"loss": "hinge"}),
}
BUILT_IN = [
    (cls, *SLOTS[base])
    for module, base in [
        (losses, losses.Loss),
        (penalties, penalties.Penalty),
        (optimizers, optimizers.Optimizer),
        (schedules, schedules.Schedule),
    ]
    for cls in _built_in(module, base)
]

# One value outside the constraints of each hyperparameter of each component,
# and what scikit-learn says is allowed.
BAD_VALUES = {
    "threshold": (-1.0, r"a float in the range \[0(\.0)?, inf\)"),
    "epsilon": (-0.5, r"a float in the range \[0(\.0)?, inf\)"),
    "margin": (-1.0, r"a float in the range \[0(\.0)?, inf\)"),
    "l1_ratio": (5, r"a float in the range \[0(\.0)?, 1(\.0)?\]"),
    "momentum": (1.5, r"a float in the range \[0(\.0)?, 1(\.0)?\)"),
    "rho": (1.0, r"a float in the range \[0(\.0)?, 1(\.0)?\)"),
    "beta_1": (-0.1, r"a float in the range \[0(\.0)?, 1(\.0)?\)"),
    "beta_2": (1.2, r"a float in the range \[0(\.0)?, 1(\.0)?\)"),
    "beta": (0.0, r"a float in the range \(0(\.0)?, inf\)"),
    "eta0": (-0.1, r"a float in the range \(0(\.0)?, inf\)"),
    "power_t": ("x", r"a float in the range \(-inf, inf\)"),
    "alpha": (0.0, r"a float in the range \(0(\.0)?, inf\)"),
    "C": (0.0, r"a float in the range \(0(\.0)?, inf\)"),
    "variant": (3, r"an int in the range \[1, 2\]"),
}

# Epsilon of the adaptive rules guards a division: > 0, not >= 0.
POSITIVE_EPSILON = (optimizers.AdaGrad, optimizers.RMSProp, optimizers.Adam)


def _cases():
    for cls, slot, settings in BUILT_IN:
        for name in cls().get_params():
            value, allowed = BAD_VALUES[name]
            if name == "epsilon" and cls in POSITIVE_EPSILON:
                value, allowed = 0.0, r"a float in the range \(0(\.0)?, inf\)"
            yield pytest.param(
                cls, slot, settings, name, value, allowed, id=f"{cls.__name__}.{name}"
            )


@pytest.mark.parametrize("cls, slot, settings, name, value, allowed", list(_cases()))
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_every_component_parameter_is_validated(
    cls, slot, settings, name, value, allowed, method
):
    """An out-of-range hyperparameter of a component instance is refused
    before training, with scikit-learn's message naming it, its class, what
    is allowed and the value."""
    component = cls(**{name: value})
    est = GDClassifier(**{**QUIET, **settings, slot: component})
    fit = getattr(est, method)
    kwargs = {"classes": [0, 1]} if method == "partial_fit" else {}
    with pytest.raises(InvalidParameterError) as info:
        fit(X, y, **kwargs)
    pattern = (
        f"^The '{name}' parameter of {cls.__name__} must be {allowed}\\. "
        f"Got {re.escape(repr(value))} instead\\.\\Z"
    )
    assert re.search(pattern, str(info.value)), str(info.value)
    assert not hasattr(est, "coef_")
    assert component.get_params()[name] == value  # not "fixed" behind the user


def test_every_built_in_component_is_covered():
    """Each built-in class declares its compiled form and a constraint for
    each of its hyperparameters (and the table above has a bad value)."""
    assert {cls.__name__ for cls, *_ in BUILT_IN} >= {
        "Hinge", "SquaredHinge", "LogLoss", "ModifiedHuber", "SquaredError",
        "Huber", "EpsilonInsensitive", "SquaredEpsilonInsensitive", "Softmax",
        "MulticlassHinge", "L2", "L1", "ElasticNet", "SGD", "Momentum",
        "Nesterov", "AdaGrad", "RMSProp", "Adam", "Constant", "Optimal",
        "InvScaling", "Adaptive", "PassiveAggressive",
    }  # fmt: skip
    for cls, *_ in BUILT_IN:
        assert set(cls().get_params()) == set(cls._parameter_constraints), cls
        assert set(cls().get_params()) <= set(BAD_VALUES), cls


# The estimator parameter and the component parameter it becomes.
STRING_FORMS = [
    (dict(learning_rate="constant", eta0=-0.1), schedules.Constant(eta0=-0.1)),
    (
        dict(learning_rate="invscaling", power_t=np.nan),
        schedules.InvScaling(power_t=np.nan),
    ),
    (dict(learning_rate="adaptive", eta0=-0.1), schedules.Adaptive(eta0=-0.1)),
    (dict(loss="huber", epsilon=-0.5), losses.Huber(epsilon=-0.5)),
    (dict(penalty="elasticnet", l1_ratio=5), penalties.ElasticNet(l1_ratio=5)),
]


@pytest.mark.parametrize("string_form, instance", STRING_FORMS, ids=repr)
def test_an_instance_is_refused_as_its_string_form_is(string_form, instance):
    """The same error type, and the same message up to the class named (and
    the estimator's None of l1_ratio, which means "not elastic net")."""
    with pytest.raises(InvalidParameterError) as by_name:
        GDClassifier(**{**QUIET, **string_form}).fit(X, y)
    slot = next(k for k in string_form if isinstance(string_form[k], str))
    with pytest.raises(InvalidParameterError) as by_instance:
        GDClassifier(**{**QUIET, slot: instance}).fit(X, y)
    message = str(by_name.value).replace(
        "of GDClassifier", "of " + type(instance).__name__
    )
    assert str(by_instance.value) == message.replace(" or None", "")


def test_the_optimal_schedule_needs_a_positive_alpha_either_way():
    with pytest.raises(ValueError, match="alpha must be > 0 with learning_rate="):
        GDClassifier(alpha=0.0, learning_rate="optimal", **QUIET).fit(X, y)
    with pytest.raises(ValueError, match="'alpha' parameter of Optimal"):
        GDClassifier(learning_rate=schedules.Optimal(alpha=0.0), **QUIET).fit(X, y)


@pytest.mark.parametrize(
    "schedule", ["pa1", schedules.PassiveAggressive(C=0.1)], ids=["name", "instance"]
)
@pytest.mark.parametrize(
    "params, message",
    [
        (dict(batch_size=8), "is a per-sample rule: it needs batch_size=1"),
        (dict(optimizer="momentum"), "is a per-sample rule: it needs batch_size=1"),
        (dict(optimizer=optimizers.Adam()), "is a per-sample rule"),
        (dict(loss="log_loss"), "needs a binary loss whose slope is +1 or -1"),
        (dict(loss=losses.SquaredHinge()), "needs a binary loss whose slope"),
        (dict(loss="multiclass_hinge"), "needs a binary loss whose slope"),
    ],
)
def test_passive_aggressive_rules_hold_for_instances_as_for_names(
    schedule, params, message
):
    est = GDClassifier(
        **{**QUIET, "loss": "hinge", **params, "learning_rate": schedule}
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        est.fit(X, y)


@pytest.mark.parametrize("loss", ["hinge", "perceptron", "epsilon_insensitive"])
def test_passive_aggressive_takes_the_losses_of_slope_one(loss):
    est = GDClassifier(loss=loss, learning_rate="pa1", eta0=0.5, **QUIET).fit(X, y)
    assert np.isfinite(est.coef_).all()


@pytest.mark.parametrize(
    "batch_size, n_rows, expected",
    [(1, 10, 1), (32, 10, 10), (32, 100, 32), ("full", 7, 7), (10**30, 5, 5)],
)
def test_the_batch_is_an_integer_number_of_rows(batch_size, n_rows, expected):
    batch = _plan.resolve_batch(batch_size, n_rows)
    assert batch == expected and type(batch) is int


def test_the_plan_reads_public_parameters_only():
    """The plan reads the estimator's parameters by their public names, so
    that the gradient check and the Dask path need no private method."""
    est = GDClassifier()
    assert set(_plan.PARAMETERS) <= set(est.get_params())


def test_components_are_estimators_of_their_own():
    for cls, *_ in BUILT_IN:
        assert issubclass(cls, Component)
