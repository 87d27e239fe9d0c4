"""The compiled epoch against the NumPy engine: same order, same numbers."""

import itertools
import os

import numpy as np
import pytest

from skgd import GDClassifier, _compiled
from skgd._engine import Engine

# Every loss the kernel implements (perceptron is the hinge at threshold 0).
LOSSES = [
    "softmax",
    "multiclass_hinge",
    "hinge",
    "squared_hinge",
    "log_loss",
    "modified_huber",
    "squared_error",
    "huber",
    "epsilon_insensitive",
    "squared_epsilon_insensitive",
    "perceptron",
]
PENALTIES = ["l2", "l1", "elasticnet", None]
SCHEDULES = ["constant", "invscaling", "adaptive"]


def _pair(params, X, y, monkeypatch):
    monkeypatch.setattr(_compiled, "ENABLED", False)
    reference = GDClassifier(**params).fit(X, y)
    monkeypatch.setattr(_compiled, "ENABLED", True)
    compiled = GDClassifier(**params).fit(X, y)
    return compiled, reference


requires_extension = pytest.mark.skipif(
    _compiled._fast is None, reason="the compiled extension is not built"
)


def test_ci_builds_the_extension():
    if os.environ.get("CI") and _compiled._fast is None:
        pytest.fail("skgd._fast did not build: CI must run the compiled engine")


@requires_extension
@pytest.mark.parametrize(
    "loss, penalty, schedule",
    list(itertools.product(LOSSES, PENALTIES, SCHEDULES)),
)
@pytest.mark.parametrize("average", [False, 7])
def test_compiled_epoch_equals_numpy_epoch(
    loss, penalty, schedule, average, problem, monkeypatch
):
    X, y = problem
    params = dict(
        loss=loss,
        penalty=penalty,
        learning_rate=schedule,
        average=average,
        alpha=1e-3,
        eta0=0.01,
        max_iter=3,
        tol=None,
        random_state=0,
    )
    w = np.linspace(0.5, 1.5, len(y))
    monkeypatch.setattr(_compiled, "ENABLED", False)
    reference = GDClassifier(**params).fit(X, y, sample_weight=w)
    monkeypatch.setattr(_compiled, "ENABLED", True)
    compiled = GDClassifier(**params).fit(X, y, sample_weight=w)
    assert compiled._engine._compiled
    np.testing.assert_allclose(compiled.coef_, reference.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        compiled.intercept_, reference.intercept_, rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(compiled.loss_curve_, reference.loss_curve_, rtol=1e-10)
    assert compiled.t_ == reference.t_


@requires_extension
@pytest.mark.parametrize("loss", ["hinge", "log_loss"])
def test_compiled_optimal_schedule(loss, problem, monkeypatch):
    X, y = problem
    params = dict(loss=loss, max_iter=2, tol=None, random_state=0)
    compiled, reference = _pair(params, X, y, monkeypatch)
    np.testing.assert_allclose(compiled.coef_, reference.coef_, rtol=1e-9, atol=1e-11)


@requires_extension
@pytest.mark.parametrize("loss", ["hinge", "log_loss", "modified_huber"])
def test_compiled_float32(loss, problem, monkeypatch):
    X, y = problem
    params = dict(
        loss=loss,
        learning_rate="constant",
        eta0=0.01,
        penalty="elasticnet",
        max_iter=3,
        tol=None,
        random_state=0,
    )
    compiled, reference = _pair(params, X.astype(np.float32), y, monkeypatch)
    assert compiled.coef_.dtype == np.float32
    # The kernel accumulates in double where NumPy rounds each float32 step.
    scale = np.abs(reference.coef_).max()
    np.testing.assert_allclose(
        compiled.coef_, reference.coef_, rtol=0, atol=1e-4 * scale
    )


def test_fallback_without_the_extension(binary, monkeypatch):
    X, y = binary
    params = dict(
        loss="log_loss", learning_rate="constant", max_iter=2, tol=None, random_state=0
    )
    with_ext = GDClassifier(**params).fit(X, y)
    monkeypatch.setattr(_compiled, "_fast", None)
    est = GDClassifier(**params).fit(X, y)
    assert not est._engine._compiled
    np.testing.assert_allclose(est.coef_, with_ext.coef_, rtol=1e-10)


def test_compiled_path_is_chosen_only_where_it_applies():
    from skgd._objective import Objective
    from skgd.losses import Hinge, Softmax
    from skgd.optimizers import SGD, Adam
    from skgd.schedules import Constant, PassiveAggressive

    def engine(loss=None, optimizer=None, schedule=None, batch_size=1):
        return Engine(
            Objective(loss or Hinge(), None, 0.0, True, 2),
            optimizer or SGD(),
            schedule or Constant(),
            batch_size,
        )

    built = _compiled._fast is not None
    assert _compiled.applies(engine()) == built
    assert not _compiled.applies(engine(batch_size=8))
    assert not _compiled.applies(engine(optimizer=Adam()))
    assert _compiled.applies(engine(loss=Softmax())) == built
    assert not _compiled.applies(engine(schedule=PassiveAggressive()))
