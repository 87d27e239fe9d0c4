"""A call of fit or partial_fit that raises, whatever it raises and wherever,
leaves the estimator as it was before the call (a call that continues a
model) or cleanly unfitted (a call that starts afresh).

Faults are injected at each stage of a call: while planning, in the first
epoch, in a later epoch, after training; they are the errors a user meets
(ValueError, RuntimeError from a callback or a component), KeyboardInterrupt
and MemoryError. The reference for "as it was" is a deep copy of the
estimator taken before the call, compared field by field, and a twin
estimator that never met the fault, which the next call must match bit for
bit.
"""

import copy
from dataclasses import fields

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from skgd import GDClassifier, _classifier
from skgd._engine import Engine, TrainState

FAULTS = [ValueError, RuntimeError, KeyboardInterrupt, MemoryError]
STAGES = ["plan", "first epoch", "later epoch", "after training"]
# (partial_fit is one epoch)
PARTIAL_FIT_STAGES = ["plan", "first epoch", "after training"]
CONFIGS = {
    "sgd-averaged-l1": dict(loss="hinge", penalty="l1", alpha=0.01, average=True),
    "adam-minibatch": dict(loss="softmax", optimizer="adam", batch_size=8),
    "momentum-elasticnet": dict(
        loss="log_loss", optimizer="momentum", batch_size=4, penalty="elasticnet"
    ),
    "saga": dict(loss="softmax", optimizer="saga", batch_size=8, alpha=0.01),
}


class Fault:
    """Raises ``error`` at ``stage`` of the next call (a context for
    monkeypatch); records that it did."""

    def __init__(self, monkeypatch, stage, error):
        self.raised = False
        self.error = error
        if stage == "plan":
            self._wrap(monkeypatch, _classifier, "make_plan", before=True)
        elif stage in ("first epoch", "later epoch"):
            self._calls = 0
            self._at = 1 if stage == "first epoch" else 2
            original = Engine.run_epoch

            def run_epoch(engine, *args, **kwargs):
                self._calls += 1
                if self._calls == self._at:
                    self._raise()
                return original(engine, *args, **kwargs)

            monkeypatch.setattr(Engine, "run_epoch", run_epoch)
        else:
            self._wrap(monkeypatch, _classifier.GDClassifier, "_train", before=False)

    def _raise(self):
        self.raised = True
        raise self.error("injected")

    def _wrap(self, monkeypatch, owner, name, before):
        original = getattr(owner, name)

        def wrapped(*args, **kwargs):
            if before:
                self._raise()
            result = original(*args, **kwargs)
            self._raise()
            return result

        monkeypatch.setattr(owner, name, wrapped)


def _data(n_classes=3, seed=0, n=60):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 5))
    y = np.argmax(X[:, :n_classes] + 0.3 * rng.normal(size=(n, n_classes)), axis=1)
    return X, y


def _same(a, b, path="estimator"):
    """Assert that two fitted states are equal, arrays bit for bit."""
    if isinstance(a, TrainState):
        assert isinstance(b, TrainState), path
        for f in fields(TrainState):
            _same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, np.random.RandomState):
        _same(a.get_state(), b.get_state(), path)
    elif isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            _same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, path
        np.testing.assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), path
    else:
        assert a == b or repr(a) == repr(b), path


def _fitted(est):
    return {n: v for n, v in vars(est).items() if n.endswith("_") or n == "_state"}


def _same_model(a, b):
    """Two estimators trained alike: equal fitted states, but for the wall
    times of their epochs, of which only the number must agree."""
    a, b = _fitted(a), _fitted(b)
    assert len(a.pop("time_curve_")) == len(b.pop("time_curve_"))
    _same(a, b)


def _assert_unfitted(est, X):
    assert not _fitted(est)
    with pytest.raises(NotFittedError):
        est.predict(X)


@pytest.mark.parametrize("error", FAULTS, ids=lambda e: e.__name__)
@pytest.mark.parametrize("stage", PARTIAL_FIT_STAGES)
@pytest.mark.parametrize("config", CONFIGS)
def test_a_failed_partial_fit_leaves_the_model_as_it_was(
    config, stage, error, monkeypatch
):
    X, y = _data()
    params = dict(CONFIGS[config], random_state=0)
    est = GDClassifier(**params).partial_fit(X, y, classes=[0, 1, 2])
    est.partial_fit(X, y)
    before = copy.deepcopy(_fitted(est))
    with monkeypatch.context() as patch:
        fault = Fault(patch, stage, error)
        with pytest.raises(error, match="injected"):
            est.partial_fit(X[::-1], y[::-1])
        assert fault.raised
    _same(_fitted(est), before)
    # The next call continues as if the failed one had never been made.
    twin = GDClassifier(**params).partial_fit(X, y, classes=[0, 1, 2])
    twin.partial_fit(X, y)
    for model in (est, twin):
        model.partial_fit(X[::2], y[::2])
    _same_model(est, twin)


@pytest.mark.parametrize("error", FAULTS, ids=lambda e: e.__name__)
@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("config", CONFIGS)
def test_a_failed_warm_fit_leaves_the_model_as_it_was(
    config, stage, error, monkeypatch
):
    X, y = _data()
    params = dict(CONFIGS[config], random_state=0, max_iter=3, tol=None)
    est = GDClassifier(warm_start=True, **params).fit(X, y)
    before = copy.deepcopy(_fitted(est))
    with monkeypatch.context() as patch:
        Fault(patch, stage, error)
        with pytest.raises(error, match="injected"):
            est.fit(X, y)
    _same(_fitted(est), before)


@pytest.mark.parametrize("error", FAULTS, ids=lambda e: e.__name__)
@pytest.mark.parametrize("stage", STAGES)
def test_a_failed_fit_leaves_the_estimator_unfitted(stage, error, monkeypatch):
    """A fresh fit, and a refit on other classes: no new classes_ beside
    old weights, nothing half-fitted."""
    X, y = _data()
    X4, y4 = _data(n_classes=4, seed=1)
    for est in (GDClassifier(), GDClassifier().fit(X, y)):
        with monkeypatch.context() as patch:
            Fault(patch, stage, error)
            with pytest.raises(error, match="injected"):
                est.fit(X4, y4)
        _assert_unfitted(est, X)


@pytest.mark.parametrize("error", FAULTS, ids=lambda e: e.__name__)
def test_a_failed_first_partial_fit_leaves_the_estimator_unfitted(error, monkeypatch):
    X, y = _data()
    est = GDClassifier(optimizer="adam", batch_size=8)
    with monkeypatch.context() as patch:
        Fault(patch, "first epoch", error)
        with pytest.raises(error, match="injected"):
            est.partial_fit(X, y, classes=[0, 1, 2])
    _assert_unfitted(est, X)
    # And it can start again.
    assert est.partial_fit(X, y, classes=[0, 1, 2]).score(X, y) > 0.3


def test_a_diverged_averaged_partial_fit_does_not_move_the_next_start():
    """Divergence itself (no injection): averaging, momentum, an L1 penalty."""
    X, y = _data()
    params = dict(
        loss="log_loss",
        optimizer="momentum",
        batch_size=4,
        penalty="l1",
        alpha=0.001,
        average=True,
        learning_rate="constant",
        eta0=0.01,
        random_state=0,
    )
    est = GDClassifier(**params).partial_fit(X, y, classes=[0, 1, 2])
    twin = GDClassifier(**params).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError):
        est.set_params(eta0=1e250).partial_fit(X * 1e200, y)
    est.set_params(eta0=0.01).partial_fit(X, y)
    twin.partial_fit(X, y)
    _same_model(est, twin)


@pytest.mark.parametrize(
    "optimizer", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "saga"]
)
@pytest.mark.parametrize("extra", [{}, {"average": True}, {"penalty": "l1"}])
def test_a_memory_mapped_model_continues_with_partial_fit(optimizer, extra, tmp_path):
    """joblib.load(..., mmap_mode="r") gives read-only arrays, in the weights
    and in the optimizer's state: partial_fit continues as the model in
    memory does (it used to write into the read-only map, and crash)."""
    import joblib

    if optimizer == "saga" and extra.get("average"):
        pytest.skip("SAGA does not average")
    X, y = _data(n=80)
    X = np.hstack([X, np.random.RandomState(1).normal(size=(80, 300))])
    loss = "log_loss" if optimizer == "saga" else "hinge"
    params = dict(optimizer=optimizer, loss=loss, random_state=0, **extra)
    params["batch_size"] = 1 if optimizer == "sgd" else 8
    loaded = GDClassifier(**params).partial_fit(X, y, classes=[0, 1, 2])
    twin = GDClassifier(**params).partial_fit(X, y, classes=[0, 1, 2])
    joblib.dump(loaded, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib", mmap_mode="r")
    assert not loaded._state.coef.flags.writeable  # the case under test
    for model in (loaded, twin):
        model.partial_fit(X, y)
    _same_model(loaded, twin)
