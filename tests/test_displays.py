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


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def test_the_finder_runs_a_copy_and_draws_its_curve(digits):
    from sklearn.base import clone

    from skgd import LearningRateFinderDisplay

    X, y = digits
    est = GDClassifier(loss="softmax", batch_size=32, random_state=0)
    before = clone(est).get_params()
    finder = LearningRateFinderDisplay.from_estimator(
        est, X, y, min_rate=1e-4, max_rate=30.0, n_steps=60, random_state=0
    )
    # The estimator passed in is not changed, nor fitted.
    assert est.get_params() == before and not hasattr(est, "coef_")
    k = len(finder.rates)
    assert 5 <= k <= 60 and len(finder.losses) == len(finder.raw_losses) == k
    np.testing.assert_allclose(
        finder.rates, 1e-4 * (30.0 / 1e-4) ** (np.arange(k) / 59), rtol=1e-12
    )
    # The smoothed curve is the bias-corrected moving average of the raw one.
    average, expected = 0.0, []
    for i, value in enumerate(finder.raw_losses):
        average = 0.9 * average + 0.1 * value
        expected.append(average / (1 - 0.9 ** (i + 1)))
    np.testing.assert_allclose(finder.losses, expected, rtol=1e-12)
    assert finder.suggested_eta0 == pytest.approx(
        finder.rates[np.argmin(finder.losses)] / 10
    )
    # A rate of 30 diverges: the run stopped before its last step.
    assert k < 60
    # What is drawn is that data.
    np.testing.assert_array_equal(finder.line_.get_xdata(), finder.rates)
    np.testing.assert_array_equal(finder.line_.get_ydata(), finder.losses)
    assert finder.suggestion_line_.get_xdata()[0] == finder.suggested_eta0
    assert finder.ax_.get_xscale() == "log"


def test_the_suggested_rate_trains_well(digits):
    """Five epochs at the suggested constant rate end far lower than at
    the range's smallest rate, and do not diverge."""
    from skgd import LearningRateFinderDisplay

    X, y = digits
    est = GDClassifier(loss="softmax", batch_size=32, random_state=0)
    finder = LearningRateFinderDisplay.from_estimator(est, X, y, random_state=0)

    def objective(eta0):
        model = GDClassifier(
            loss="softmax",
            batch_size=32,
            learning_rate="constant",
            eta0=eta0,
            max_iter=5,
            tol=None,
            random_state=0,
        ).fit(X, y)
        return model.loss_curve_[-1]

    suggested = objective(finder.suggested_eta0)
    assert np.isfinite(suggested)
    assert suggested < 0.5 * objective(1e-5)


def test_the_finder_on_a_pipeline_and_bad_arguments(digits):
    from skgd import LearningRateFinderDisplay

    X, y = digits
    finder = LearningRateFinderDisplay.from_estimator(
        make_pipeline(StandardScaler(), GDClassifier(batch_size=64)),
        X,
        y,
        n_steps=10,
        random_state=0,
    )
    assert len(finder.rates) >= 5
    with pytest.raises(ValueError, match="0 < min_rate < max_rate"):
        LearningRateFinderDisplay.from_estimator(
            GDClassifier(), X, y, min_rate=1.0, max_rate=0.1
        )
    with pytest.raises(ValueError, match="n_steps must be an integer >= 5"):
        LearningRateFinderDisplay.from_estimator(GDClassifier(), X, y, n_steps=3)
