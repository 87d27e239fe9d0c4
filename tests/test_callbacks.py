"""scikit-learn's callback API: one task per fit, one sub-task per epoch."""

import warnings

import numpy as np
import pytest
from conftest import _problem
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgd import GDClassifier

callback = pytest.importorskip("sklearn.callback", reason="scikit-learn < 1.9")

PARAMS = dict(
    loss="softmax",
    batch_size=8,
    optimizer="adam",
    learning_rate="constant",
    eta0=0.05,
    max_iter=6,
    tol=None,
    random_state=0,
)


class Recorder:
    """A callback that records each task and can stop training at an epoch."""

    def __init__(self, stop_at=None):
        self.stop_at = stop_at
        self.events = []
        self.models = []

    def setup(self, estimator, context):
        self.events.append(("setup", context.task_name))

    def teardown(self, estimator, context):
        self.events.append(("teardown", context.task_name))

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None):
        self.events.append(("begin", context.task_name, context.task_id))

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.events.append(("end", context.task_name, context.task_id))
        if context.task_name == "epoch":
            self.models.append(fitted_estimator)
            return context.task_id + 1 == self.stop_at
        return False


def test_every_epoch_is_a_task_with_its_own_model():
    X, y = _problem(3)
    recorder = Recorder()
    est = GDClassifier(**PARAMS).set_callbacks(recorder)
    est.fit(X, y)
    epochs = [e for e in recorder.events if e[1] == "epoch"]
    assert epochs == [(kind, "epoch", i) for i in range(6) for kind in ("begin", "end")]
    assert recorder.events[0] == ("setup", "fit")
    assert recorder.events[1] == ("begin", "fit", 0)
    assert recorder.events[-2:] == [("end", "fit", 0), ("teardown", "fit")]
    # The model handed over after epoch k is the model of a k-epoch fit.
    for k, model in enumerate(recorder.models, start=1):
        reference = GDClassifier(**{**PARAMS, "max_iter": k}).fit(X, y)
        np.testing.assert_array_equal(model.coef_, reference.coef_)
        np.testing.assert_array_equal(model.predict(X), reference.predict(X))
    # Copies: the recorded models do not move with training.
    assert recorder.models[0].coef_ is not est.coef_
    np.testing.assert_array_equal(recorder.models[-1].coef_, est.coef_)


def test_callbacks_do_not_change_the_model():
    X, y = _problem(2)
    plain = GDClassifier(**PARAMS).fit(X, y)
    watched = GDClassifier(**PARAMS).set_callbacks(Recorder()).fit(X, y)
    np.testing.assert_array_equal(plain.coef_, watched.coef_)
    assert plain.loss_curve_ == watched.loss_curve_


def test_a_callback_can_stop_training():
    X, y = _problem(3)
    params = {**PARAMS, "tol": 1e-12, "max_iter": 50}
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = GDClassifier(**params).set_callbacks(Recorder(stop_at=3)).fit(X, y)
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 3
    assert est.stop_reason_ == "callback"
    reference = GDClassifier(**{**PARAMS, "max_iter": 3}).fit(X, y)
    np.testing.assert_array_equal(est.coef_, reference.coef_)


def test_partial_fit_call_is_one_epoch_task():
    X, y = _problem(2)
    recorder = Recorder()
    est = GDClassifier(**PARAMS).set_callbacks(recorder)
    for _ in range(2):
        est.partial_fit(X, y, classes=[0, 1])
    assert [e for e in recorder.events if e[0] in ("begin", "end")] == [
        ("begin", "partial_fit", 0),
        ("begin", "epoch", 0),
        ("end", "epoch", 0),
        ("end", "partial_fit", 0),
    ] * 2
    np.testing.assert_array_equal(recorder.models[-1].coef_, est.coef_)


def test_scoring_monitor_scores_each_epoch():
    X, y = _problem(3)
    monitor = callback.ScoringMonitor(scoring="accuracy")
    GDClassifier(**PARAMS).set_callbacks(monitor).fit(X, y)
    rows = [r for r in monitor.get_logs().data if r["task_name"] == "epoch"]
    assert len(rows) == 6
    for k, row in enumerate(rows, start=1):
        reference = GDClassifier(**{**PARAMS, "max_iter": k}).fit(X, y)
        assert row["accuracy"] == accuracy_score(y, reference.predict(X))


def test_progress_bar_in_pipeline_and_search(capsys):
    pytest.importorskip("rich")
    X, y = _problem(3, n_samples=90)
    pipe = make_pipeline(StandardScaler(), GDClassifier(**PARAMS))
    pipe.set_callbacks(callback.ProgressBar())
    pipe.fit(X, y)
    reference = make_pipeline(StandardScaler(), GDClassifier(**PARAMS)).fit(X, y)
    np.testing.assert_array_equal(pipe[-1].coef_, reference[-1].coef_)
    search = GridSearchCV(
        GDClassifier(**PARAMS), {"batch_size": [1, 16], "eta0": [0.01, 0.1]}, cv=2
    )
    search.set_callbacks(callback.ProgressBar())
    search.fit(X, y)
    plain = clone(search).set_callbacks().fit(X, y)
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"]
    )
    out = capsys.readouterr().out
    assert "GDClassifier - fit" in out
