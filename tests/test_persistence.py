"""Saving and loading fitted models: pickle, joblib and skops, plain-data
state, exact continuation, the version check (``skgd._persistence``)."""

import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skgd
from skgd import GDClassifier, InconsistentVersionWarning, SoftmaxClassifier
from skgd._persistence import VERSION_KEY

skops_io = pytest.importorskip("skops.io")

OPTIMIZERS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "ftrl"]


def _pickle(model):
    return pickle.loads(pickle.dumps(model))


def _joblib(model):
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    return joblib.load(buffer)


def _skops(model):
    data = skops_io.dumps(model)
    return skops_io.loads(data, trusted=skops_io.get_untrusted_types(data=data))


FORMATS = {"pickle": _pickle, "joblib": _joblib, "skops": _skops}


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=240, n_features=8, n_informative=5, n_classes=3, random_state=0
    )
    return X, y


def _chunks(X, y):
    return [(X[:80], y[:80]), (X[80:160], y[80:160]), (X[160:], y[160:])]


@pytest.mark.parametrize("save", FORMATS)
@pytest.mark.parametrize("average", [False, 3])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("loss", ["hinge", "softmax"])
def test_a_saved_model_predicts_and_continues_exactly(
    data, loss, optimizer, average, save
):
    """Loaded, a model predicts what it predicted and continues partial_fit
    bit for bit as the unsaved one does: optimizer state, schedule clock,
    averages and random generator all come back."""
    X, y = data
    (X1, y1), (X2, y2), (X3, y3) = _chunks(X, y)
    model = GDClassifier(
        loss=loss,
        optimizer=optimizer,
        batch_size=8,
        learning_rate="invscaling" if optimizer == "sgd" else "constant",
        eta0=0.05,
        average=average,
        penalty="elasticnet",
        alpha=1e-3,
        random_state=0,
    )
    model.partial_fit(X1, y1, classes=np.unique(y))
    model.partial_fit(X2, y2)
    loaded = FORMATS[save](model)
    assert type(loaded) is GDClassifier
    np.testing.assert_array_equal(loaded.predict(X3), model.predict(X3))
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    model.partial_fit(X3, y3)
    loaded.partial_fit(X3, y3)
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    np.testing.assert_array_equal(loaded.intercept_, model.intercept_)
    assert loaded.loss_curve_ == model.loss_curve_
    assert loaded.t_ == model.t_


@pytest.mark.parametrize("save", FORMATS)
@pytest.mark.parametrize(
    "params",
    [
        dict(batch_size="full", learning_rate="line_search"),
        dict(optimizer="saga", batch_size=1),
        dict(optimizer="svrg", batch_size=4),
        dict(learning_rate="adaptive", shuffle=True),
    ],
)
def test_certifying_and_adaptive_models_continue_exactly(data, params, save):
    """warm_start fits of the line search, SAGA, SVRG and the adaptive
    schedule continue after a round trip as they do unsaved: what the saved
    state leaves out (SAGA's table, the solver's momentum) is what the next
    call starts afresh anyway."""
    X, y = data
    model = GDClassifier(
        loss="log_loss", max_iter=3, tol=None, warm_start=True, random_state=1, **params
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
        loaded = FORMATS[save](model)
        model.fit(X, y)
        loaded.fit(X, y)
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    np.testing.assert_array_equal(loaded.intercept_, model.intercept_)
    assert loaded.loss_curve_ == model.loss_curve_


def _nbytes(value):
    if isinstance(value, dict):
        return sum(_nbytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(v) for v in value)
    return value.nbytes if isinstance(value, np.ndarray) else 8


def _state_nbytes(model):
    """Bytes of the weights and of the state that continues training."""
    state = model._state
    parts = [state.coef, state.intercept, model.coef_, model.intercept_]
    parts += [state.opt_state, state.avg_coef, state.avg_intercept, state.l1_q]
    return sum(_nbytes(p) for p in parts if p is not None) + _nbytes(
        state.rng.get_state()[1]
    )


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "saga"])
def test_a_pickle_is_about_the_size_of_the_weights_and_state(data, optimizer):
    """No engine, objective or row table goes into a pickle: its size is the
    weights, the optimizer state and the generator (2.5 KB of the
    Mersenne Twister's key), plus a few kilobytes of names and numbers."""
    X, y = data
    model = GDClassifier(
        loss="log_loss", optimizer=optimizer, max_iter=3, tol=None, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    size = len(pickle.dumps(model))
    assert size < _state_nbytes(model) + 4096, (size, _state_nbytes(model))


def test_skops_trusts_no_private_type(data):
    """A fitted Pipeline ending in a skgd estimator asks skops to trust only
    skgd's public classes, under their public names: the estimator, and the
    schedule it chose (``learning_rate_``, a class of ``skgd.schedules``)."""
    X, y = data
    for model in (
        GDClassifier(optimizer="adam", average=2, penalty="l1", max_iter=3),
        SoftmaxClassifier(max_iter=3),
    ):
        pipeline = make_pipeline(StandardScaler(), model)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipeline.fit(X, y)
        untrusted = skops_io.get_untrusted_types(data=skops_io.dumps(pipeline))
        assert f"skgd.{type(model).__name__}" in untrusted
        schedule = type(model.learning_rate_)
        assert set(untrusted) <= {
            f"skgd.{type(model).__name__}",
            f"skgd.schedules.{schedule.__name__}",
        }, untrusted


def test_another_version_warns_on_load(data, monkeypatch):
    """A model saved by another version of skgd loads with a warning that
    names both versions; the same version loads silently."""
    X, y = data
    model = GDClassifier(max_iter=2, tol=None).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        _pickle(model)  # same version: no warning
    saved = pickle.dumps(model)
    monkeypatch.setattr(skgd, "__version__", "99.0")
    with pytest.warns(InconsistentVersionWarning) as record:
        loaded = pickle.loads(saved)
    warning = record[0].message
    assert warning.original_skgd_version == "0.1.0"
    assert warning.current_skgd_version == "99.0"
    assert "0.1.0" in str(warning) and "99.0" in str(warning)
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    # scikit-learn's own filter catches it too.
    from sklearn.exceptions import InconsistentVersionWarning as SklearnWarning

    assert issubclass(InconsistentVersionWarning, SklearnWarning)


def test_the_saved_state_is_plain_data(data):
    """What __getstate__ hands to pickle and skops: builtins, NumPy arrays
    and scalars, and skgd's public component classes."""
    X, y = data
    model = GDClassifier(optimizer="adam", average=2, penalty="l1", max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    state = model.__getstate__()
    assert state[VERSION_KEY] == skgd.__version__

    def types(value):
        if isinstance(value, dict):
            for v in value.values():
                yield from types(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                yield from types(v)
        else:
            yield type(value)

    allowed_modules = {"builtins", "numpy", "skgd.schedules"}
    for kind in set(types(state)):
        assert kind.__module__.split(".")[0] in {"builtins", "numpy"} or (
            kind.__module__ in allowed_modules
        ), kind
