"""LossCurveDisplay draws each model's history: the drawn data are the
model's loss_curve_, samples_curve_, time_curve_ and validation_scores_."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skgd import GDClassifier, LossCurveDisplay  # noqa: E402


@pytest.fixture(scope="module")
def models():
    X, y = make_classification(n_samples=300, n_features=10, random_state=0)
    X = StandardScaler().fit_transform(X)
    fitted = [
        GDClassifier(batch_size=b, max_iter=4, tol=None, random_state=0).fit(X, y)
        for b in (1, 16)
    ]
    fitted.append(
        make_pipeline(
            StandardScaler(),
            GDClassifier(batch_size="full", max_iter=6, tol=None, early_stopping=True),
        ).fit(X, y)
    )
    yield fitted
    plt.close("all")


@pytest.mark.parametrize("x", ["epochs", "samples", "seconds"])
def test_the_drawn_lines_are_the_models_history(models, x):
    display = LossCurveDisplay.from_estimator(models, x=x)
    assert len(display.lines_) == 3
    for line, est in zip(display.lines_, models):
        model = est[-1] if hasattr(est, "steps") else est
        np.testing.assert_array_equal(line.get_ydata(), model.loss_curve_)
        expected = {
            "epochs": np.arange(1, model.n_iter_ + 1),
            "samples": model.samples_curve_,
            "seconds": model.time_curve_,
        }[x]
        np.testing.assert_array_equal(line.get_xdata(), expected)
    # Only the early-stopping model has validation scores: a dashed line on
    # the second axis, in its colour.
    assert display.validation_lines_[:2] == [None, None]
    dashed = display.validation_lines_[2]
    np.testing.assert_array_equal(dashed.get_ydata(), models[2][-1].validation_scores_)
    assert dashed.get_color() == display.lines_[2].get_color()
    assert display.validation_ax_ is not None
    assert display.ax_.get_yscale() == "log"
    labels = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert labels[0] == "batch_size=1, optimizer=sgd"


def test_one_model_on_given_axes_with_names(models):
    _, ax = plt.subplots()
    display = LossCurveDisplay.from_estimator(
        models[0], ax=ax, names=["plain SGD"], log_y=False
    )
    assert display.ax_ is ax and display.figure_ is ax.figure
    assert display.validation_ax_ is None and ax.get_yscale() == "linear"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["plain SGD"]


def test_bad_arguments_say_what_is_allowed(models):
    with pytest.raises(ValueError, match="x must be one of"):
        LossCurveDisplay.from_estimator(models, x="steps")
    with pytest.raises(ValueError, match="names: one per model"):
        LossCurveDisplay.from_estimator(models, names=["a"])
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(GDClassifier())
