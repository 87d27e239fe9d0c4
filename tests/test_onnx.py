"""ONNX export (``skgd.onnx``): labels equal predict, probabilities match
predict_proba (scores match decision_function), in onnxruntime, for every
loss family, both float types, alone and in a Pipeline."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")

from skl2onnx import to_onnx  # noqa: E402

import skgd.onnx  # noqa: E402, F401 (registers the converters)
from skgd import GDClassifier, MulticlassSVMClassifier, SoftmaxClassifier  # noqa: E402
from skgd.losses import BinaryLoss  # noqa: E402

LOSSES = [
    "hinge",
    "log_loss",
    "modified_huber",
    "squared_hinge",
    "perceptron",
    "squared_error",
    "huber",
    "epsilon_insensitive",
    "squared_epsilon_insensitive",
    "softmax",
    "multiclass_hinge",
]


def _problem(n_classes, dtype, seed=0):
    X, y = make_classification(
        n_samples=600,
        n_features=12,
        n_informative=6,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=seed,
    )
    X = (X * 3 + 1).astype(dtype)  # not standardised: the scaler has work
    return X[:400], y[:400], X[400:], y[400:]


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y)


def _run(model, X):
    onx = to_onnx(model, X[:1], options={"zipmap": False})
    session = ort.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    labels, proba = session.run(None, {session.get_inputs()[0].name: X})
    return labels, proba


def _expected_second_output(model, X):
    """predict_proba where the loss has it, else the scores (two classes:
    [-score, score])."""
    final = model[-1] if hasattr(model, "steps") else model
    if hasattr(final, "predict_proba"):
        return model.predict_proba(X)
    scores = model.decision_function(X)
    return np.column_stack([-scores, scores]) if scores.ndim == 1 else scores


@pytest.mark.parametrize("pipeline", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("loss", LOSSES)
def test_onnx_matches_predict_and_predict_proba(loss, n_classes, dtype, pipeline):
    X, y, X_test, _ = _problem(n_classes, dtype)
    model = GDClassifier(loss=loss, batch_size=16, max_iter=5, tol=None, random_state=0)
    if pipeline:
        model = make_pipeline(StandardScaler(), model)
    else:
        X = StandardScaler().fit_transform(X).astype(dtype)
        X_test = StandardScaler().fit(X_test).transform(X_test).astype(dtype)
    _fit(model, X, y)
    labels, second = _run(model, X_test)
    np.testing.assert_array_equal(labels, model.predict(X_test))
    expected = _expected_second_output(model, X_test)
    assert second.dtype == dtype and second.shape == expected.shape
    # float32 to 1e-5 (the tolerance); float64 to rounding.
    tol = 1e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(second, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("preset", [SoftmaxClassifier, MulticlassSVMClassifier])
def test_onnx_presets_and_string_labels(preset):
    X, y, X_test, _ = _problem(3, np.float32, seed=1)
    names = np.array(["ant", "bee", "cat"])[y]
    model = _fit(make_pipeline(StandardScaler(), preset(max_iter=5)), X, names)
    labels, second = _run(model, X_test)
    np.testing.assert_array_equal(labels, model.predict(X_test))
    np.testing.assert_allclose(
        second, _expected_second_output(model, X_test), rtol=1e-5, atol=1e-5
    )


def test_onnx_zipmap_and_class_indices():
    """skl2onnx's classifier options: the default ZipMap (one dict per row,
    keyed by class) and nocl (class indices instead of labels)."""
    X, y, X_test, _ = _problem(3, np.float32)
    model = _fit(GDClassifier(loss="softmax", max_iter=5), X, y + 10)
    onx = to_onnx(model, X[:1])
    session = ort.InferenceSession(onx.SerializeToString())
    labels, rows = session.run(None, {session.get_inputs()[0].name: X_test[:5]})
    proba = model.predict_proba(X_test[:5])
    assert sorted(rows[0]) == [10, 11, 12]
    np.testing.assert_allclose(
        [[row[c] for c in (10, 11, 12)] for row in rows], proba, rtol=1e-5, atol=1e-6
    )
    onx = to_onnx(model, X[:1], options={"zipmap": False, "nocl": True})
    session = ort.InferenceSession(onx.SerializeToString())
    labels, _ = session.run(None, {session.get_inputs()[0].name: X_test})
    np.testing.assert_array_equal(labels, model.predict(X_test) - 10)


def test_onnx_uniform_rows_where_every_class_says_zero():
    """modified_huber one-vs-rest: a row where every score is below -1 has
    zero probability everywhere; predict_proba makes it uniform, so does the
    graph (no division by zero)."""
    X, y, _, _ = _problem(3, np.float64)
    model = _fit(GDClassifier(loss="modified_huber", max_iter=5), X, y)
    # Every score of the first rows below -1.
    shift = np.abs(model.decision_function(X[:10])).max() + 10.0
    model.intercept_ = model.intercept_ - shift
    labels, proba = _run(model, X[:10])
    np.testing.assert_allclose(proba, np.full((10, 3), 1 / 3))
    np.testing.assert_allclose(proba, model.predict_proba(X[:10]))
    np.testing.assert_array_equal(labels, model.predict(X[:10]))


class _SmoothHinge(BinaryLoss):
    def loss(self, y, z):
        return np.logaddexp(0.0, 1.0 - y * z)

    def gradient(self, y, z):
        return -y / (1.0 + np.exp(y * z - 1.0))


def test_onnx_refuses_a_loss_of_your_own():
    X, y, _, _ = _problem(2, np.float64)
    model = _fit(GDClassifier(loss=_SmoothHinge(), max_iter=3), X, y)
    with pytest.raises(ValueError, match="built-in losses only.*_SmoothHinge"):
        to_onnx(model, X[:1])
