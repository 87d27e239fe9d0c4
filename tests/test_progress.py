"""TrainingProgress: one line that follows the stopping rule, one per stream."""

import io
import os
import pickle
import re
import select
import struct

import numpy as np
import pytest
from conftest import _problem
from sklearn.datasets import load_iris, make_classification
from sklearn.exceptions import FitFailedWarning

from skgd import GDClassifier, TrainingProgress

callback = pytest.importorskip("sklearn.callback", reason="scikit-learn < 1.9")

PARAMS = dict(
    loss="log_loss", batch_size=8, learning_rate="constant", eta0=0.05, random_state=0
)


def _frames(out):
    """The successive states of the line: what each carriage return drew."""
    return [f.rstrip() for f in out.getvalue().replace("\n", "").split("\r") if f]


def _watched(progress_kwargs=None, **params):
    out = io.StringIO()
    progress = TrainingProgress(file=out, min_interval=0, **(progress_kwargs or {}))
    est = GDClassifier(**{**PARAMS, **params}).set_callbacks(progress)
    return est, progress, out


class RootRecorder:
    """Records the total that each root task declares when it begins."""

    def __init__(self):
        self.totals = []

    def setup(self, estimator, context):
        self.totals.append((context.task_name, context.max_subtasks))

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        pass


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_task_declares_its_epochs_only_when_max_iter_alone_ends_it():
    X, y = _problem(2)
    recorder = RootRecorder()
    GDClassifier(max_iter=7, tol=None).set_callbacks(recorder).fit(X, y)
    GDClassifier(max_iter=7, tol=1e-3).set_callbacks(recorder).fit(X, y)
    GDClassifier(max_iter=7, tol=1e-3, early_stopping=True).set_callbacks(recorder).fit(
        X, y
    )
    GDClassifier(tol=1e-3).set_callbacks(recorder).partial_fit(X, y, classes=[0, 1])
    # None: "not known in advance"; ProgressBar then shows no percentage.
    assert recorder.totals == [
        ("fit", 7),
        ("fit", None),
        ("fit", None),
        ("partial_fit", 1),
    ]


def test_the_line_counts_what_the_stopping_rule_counts():
    X, y = _problem(3, n_samples=200)
    est, _, out = _watched(tol=1e-2, n_iter_no_change=3, max_iter=200)
    est.fit(X, y)
    frames = _frames(out)
    assert len(frames) == est.n_iter_ + 1
    # The count, recomputed from the history by the rule of the docs (tol
    # relative to the best objective outside SGDClassifier's configuration).
    best, count, expected = np.inf, 0, []
    for objective in est.loss_curve_:
        margin = est.tol * abs(best) if np.isfinite(best) else 0.0
        count = 0 if objective <= best - margin else count + 1
        best = min(best, objective)
        expected.append(count)
    assert expected[-1] == 3 and est.stop_reason_ == "tol"
    for epoch, (frame, objective, n) in enumerate(
        zip(frames, est.loss_curve_, expected), start=1
    ):
        assert frame.startswith(f"GDClassifier fit: epoch {epoch} (max_iter 200), ")
        assert f"objective {objective:.6g}, " in frame
        assert f"no improvement {n}/3 [{'#' * n}{'-' * (3 - n)}]" in frame
    assert frames[-1].startswith(
        f"GDClassifier fit: stopped after {est.n_iter_} epochs (tol: the training "
        f"objective did not improve by tol for n_iter_no_change epochs), "
        f"objective {est.loss_curve_[-1]:.6g}, "
    )
    assert out.getvalue().count("\n") == 1 and out.getvalue().endswith("\n")


def test_the_line_follows_the_validation_score():
    X, y = _problem(3, n_samples=300)
    est, _, out = _watched(early_stopping=True, n_iter_no_change=2, max_iter=100)
    est.fit(X, y)
    frames = _frames(out)[:-1]
    assert len(frames) == len(est.validation_scores_) == est.n_iter_
    for frame, score in zip(frames, est.validation_scores_):
        assert f"validation score {score:.6g}, no improvement " in frame
    assert "no improvement 2/2" in frames[-1]
    assert "(validation: " in _frames(out)[-1]


def test_without_a_stopping_rule_the_line_is_a_bar_over_max_iter():
    X, y = _problem(2)
    est, _, out = _watched({"total_calls": None}, tol=None, max_iter=4)
    est.fit(X, y)
    frames = _frames(out)
    for k, frame in enumerate(frames[:-1], start=1):
        filled = 5 * k  # 20 characters, k quarters
        assert frame.startswith(
            f"GDClassifier fit [{'#' * filled}{'-' * (20 - filled)}] "
            f"{k / 4:4.0%} {k}/4 epochs, objective {est.loss_curve_[k - 1]:.6g}, "
        )
        assert frame.endswith(" s left")
    assert "(max_iter: ran max_iter epochs)" in frames[-1]


def test_a_certifying_method_shows_its_gap():
    X, y = _problem(2, n_samples=100)
    est, _, out = _watched(
        batch_size="full", learning_rate="auto", tol=1e-6, max_iter=300
    )
    est.fit(X, y)
    frames = _frames(out)
    assert est.stop_reason_ == "converged"
    assert "certified gap" in frames[-2] and "(stops below tol=1e-06)" in frames[-2]
    gap = float(re.search(r"certified gap ([0-9.e+-]+)", frames[-2]).group(1))
    assert gap <= 1e-6


def test_a_stream_of_known_length_is_one_line():
    X, y = _problem(2, n_samples=100)
    progress = TrainingProgress(total_calls=5, file=io.StringIO(), min_interval=0)
    est = GDClassifier(**PARAMS).set_callbacks(progress)
    chunks = np.array_split(np.arange(100), 5)
    rows, objectives = [], []
    for chunk in chunks:
        est.partial_fit(X[chunk], y[chunk], classes=[0, 1])
        rows.append(est.samples_curve_[-1])
        objectives.append(est.loss_curve_[-1])
    text = progress.file.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    frames = _frames(progress.file)
    assert len(frames) == 5
    for k, (frame, n, objective) in enumerate(zip(frames, rows, objectives), 1):
        assert frame.startswith("GDClassifier partial_fit [")
        assert f"{k}/5 calls, {n:,} rows, objective {objective:.6g}, " in frame
    assert rows == [20, 40, 60, 80, 100]
    assert frames[-1].endswith(" s")  # no time left after the last call


def test_a_stream_of_unknown_length_ends_at_close_or_at_a_fit():
    X, y = _problem(2, n_samples=90)
    X_val, y_val = _problem(2, n_samples=40, seed=1)
    out = io.StringIO()
    with TrainingProgress(file=out, min_interval=0) as progress:
        est = GDClassifier(**PARAMS, n_iter_no_change=2).set_callbacks(progress)
        for chunk in np.array_split(np.arange(90), 3):
            est.partial_fit(
                X[chunk], y[chunk], classes=[0, 1], validation_data=(X_val, y_val)
            )
        assert "\n" not in out.getvalue()
        frames = _frames(out)
        for k, (frame, score) in enumerate(zip(frames, est.validation_scores_), 1):
            assert frame.startswith(f"GDClassifier partial_fit: call {k}, ")
            assert f"validation score {score:.6g}, no improvement " in frame
        assert f"no improvement {est.n_calls_no_improvement_}/2" in frames[-1], frames[
            -1
        ]
    assert out.getvalue().count("\n") == 1
    # A new first call on another model starts a new line; so does a fit.
    other = GDClassifier(**PARAMS).set_callbacks(progress)
    other.partial_fit(X, y, classes=[0, 1])
    est.partial_fit(X, y)
    assert out.getvalue().count("\n") == 2
    est.fit(X, y)
    assert out.getvalue().count("\n") == 4
    assert _frames(out)[-1].startswith("GDClassifier fit: stopped after")


def test_min_interval_keeps_the_last_line():
    X, y = _problem(2, n_samples=90)
    out = io.StringIO()
    progress = TrainingProgress(file=out, min_interval=3600)
    est = GDClassifier(**PARAMS).set_callbacks(progress).fit(X, y)
    # The first epoch draws; the next wait an hour; the last line is drawn.
    assert len(_frames(out)) == 2
    for _ in range(3):
        est.partial_fit(X, y)
    progress.close()
    assert _frames(out)[-1].startswith("GDClassifier partial_fit: call 3, ")


def test_a_failed_fit_ends_its_line_and_the_model_is_unchanged():
    X, y = _problem(2)
    est, _, out = _watched(learning_rate="constant", eta0=1e30, max_iter=5)
    with pytest.raises(ValueError, match="diverged"):
        est.fit(X * 1e30, y)
    assert _frames(out)[-1].startswith("GDClassifier fit: failed after ")
    assert out.getvalue().endswith("\n")


def test_the_callback_changes_nothing_and_pickles():
    X, y = _problem(3)
    est, _, _ = _watched()
    est.fit(X, y)
    plain = GDClassifier(**PARAMS).fit(X, y)
    np.testing.assert_array_equal(est.coef_, plain.coef_)
    assert est.loss_curve_ == plain.loss_curve_
    fresh = GDClassifier(**PARAMS).set_callbacks(TrainingProgress())
    fresh.partial_fit(X, y, classes=[0, 1, 2])
    restored = pickle.loads(pickle.dumps(fresh))
    np.testing.assert_array_equal(restored.predict(X), fresh.predict(X))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"total_calls": 0}, "total_calls must be a positive integer"),
        ({"total_calls": 2.5}, "total_calls must be a positive integer"),
        ({"min_interval": -1}, "min_interval must be a number of seconds"),
        ({"width": 0}, "width must be a positive integer"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainingProgress(**kwargs)


def test_a_check_after_training_that_raises_leaves_the_error_and_a_failed_line():
    # The full batch's end check raises after the epochs: the user sees
    # that error, not one of the callback, and the line says the fit failed.
    X, y = make_classification(300, 10, random_state=0)
    params = dict(
        loss="modified_huber",
        batch_size="full",
        learning_rate="constant",
        eta0=3,
        max_iter=3,
        tol=None,
        random_state=0,
    )
    with pytest.raises(ValueError, match="Training diverged") as plain:
        GDClassifier(**params).fit(X, y)
    est, _, out = _watched(**params)
    with pytest.raises(ValueError, match="Training diverged") as watched:
        est.fit(X, y)
    assert str(watched.value) == str(plain.value)
    assert _frames(out)[-1].startswith("GDClassifier fit: failed after ")
    assert out.getvalue().endswith("\n")


def test_partial_fit_after_an_early_stopping_fit_shows_no_stale_scores():
    X, y = _problem(2, n_samples=200)
    est, _, out = _watched(early_stopping=True)
    est.fit(X, y)
    est.set_params(early_stopping=False).partial_fit(X, y)
    assert _frames(out)[-1].startswith(
        f"GDClassifier partial_fit: call 1, {est.samples_curve_[-1]:,} rows"
    )
    assert "validation" not in _frames(out)[-1]


def test_alternating_models_keep_their_own_counts():
    X, y = _problem(2, n_samples=90)
    out = io.StringIO()
    progress = TrainingProgress(total_calls=3, file=out, min_interval=0)
    a = GDClassifier(**PARAMS).set_callbacks(progress)
    b = GDClassifier(**PARAMS).set_callbacks(progress)
    for chunk in np.array_split(np.arange(90), 3):
        for model in (a, b):
            model.partial_fit(X[chunk], y[chunk], classes=[0, 1])
    lines = [line.split("\r")[-1] for line in out.getvalue().split("\n")[:-1]]
    # Each call on the other model ends the line; the counts go on.
    assert [line.split(" calls,")[0][-3:] for line in lines] == [
        "1/3",
        "1/3",
        "2/3",
        "2/3",
        "3/3",
        "3/3",
    ]
    assert all(f"{n} rows" in line for line, n in zip(lines, [30, 30, 60, 60, 90, 90]))
    assert progress._streams == {}  # both streams ended at total_calls


def test_a_failed_call_ends_the_line_and_keeps_the_count():
    X, y = _problem(2, n_samples=90)
    out = io.StringIO()
    progress = TrainingProgress(total_calls=3, file=out, min_interval=0)
    est = GDClassifier(**PARAMS).set_callbacks(progress)
    est.partial_fit(X[:30], y[:30], classes=[0, 1])
    with pytest.raises(ValueError, match="diverged|overflow"):
        est.partial_fit(X[30:60] * 1e200, y[30:60])
    assert _frames(out)[-1] == "GDClassifier partial_fit: call 2 failed"
    est.partial_fit(X[30:60], y[30:60])
    est.partial_fit(X[60:], y[60:])
    frames = _frames(out)
    assert "2/3 calls, 60 rows" in frames[-2] and "3/3 calls, 90 rows" in frames[-1]
    assert out.getvalue().count("\n") == 2


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_lines_are_cut_to_the_width_of_their_own_terminal():
    fcntl = pytest.importorskip("fcntl")
    termios = pytest.importorskip("termios")
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 50, 0, 0))
    X, y = _problem(2)
    with os.fdopen(follower, "w") as terminal:
        progress = TrainingProgress(file=terminal, min_interval=0)
        GDClassifier(**PARAMS).set_callbacks(progress).fit(X, y)
        terminal.flush()
        chunks = []
        while select.select([leader], [], [], 0.5)[0]:
            chunks.append(os.read(leader, 1 << 16))
        written = b"".join(chunks).decode()
    os.close(leader)
    frames = [f for f in written.replace("\r\n", "\n").split("\r") if f.strip()]
    # Every redrawn frame fits in 49 columns; the last line ends with a
    # newline and may wrap, as any printed line.
    assert all(len(f.rstrip()) <= 49 for f in frames[:-1])
    assert frames[-1].startswith("GDClassifier fit: stopped after")


def test_a_pickled_callback_starts_afresh():
    X, y = _problem(2)
    progress = TrainingProgress(total_calls=4, min_interval=0)
    est = GDClassifier(**PARAMS).set_callbacks(progress)
    est.partial_fit(X, y, classes=[0, 1])
    assert len(progress._streams) == 1
    restored = pickle.loads(pickle.dumps(progress))
    assert restored._streams == {} and restored._line_length == 0
    assert (restored.total_calls, restored.min_interval) == (4, 0)
    progress.close()


def test_the_range_test_does_not_report_to_the_callbacks():
    from skgd import LearningRateFinderDisplay

    pytest.importorskip("matplotlib").use("Agg")
    X, y = _problem(2, n_samples=100)
    est, progress, out = _watched()
    LearningRateFinderDisplay.from_estimator(est, X, y, random_state=0)
    assert out.getvalue() == ""
    assert est._skl_callbacks == [progress]  # the user's estimator keeps it


def _lines(out):
    """The final state of each ended line."""
    return [line.split("\r")[-1].rstrip() for line in out.getvalue().split("\n")[:-1]]


def test_set_on_the_skgd_step_it_follows_its_fits_in_a_pipeline_and_a_search():
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _problem(2, n_samples=120)
    out = io.StringIO()
    progress = TrainingProgress(file=out, min_interval=0)
    pipe = make_pipeline(StandardScaler(), GDClassifier(**PARAMS))
    pipe[-1].set_callbacks(progress)
    pipe.fit(X, y)
    [line] = _lines(out)
    assert line.startswith(f"GDClassifier fit: stopped after {pipe[-1].n_iter_} ")
    # A search's clones share it: a line per fit (2 candidates x 2 folds,
    # then the refit, whose line is the last).
    search = GridSearchCV(pipe, {"gdclassifier__alpha": [1e-4, 1e-2]}, cv=2)
    search.fit(X, y)
    lines = _lines(out)[1:]
    assert len(lines) == 5
    assert all(line.startswith("GDClassifier fit: stopped after ") for line in lines)
    best = search.best_estimator_[-1]
    assert lines[-1].startswith(f"GDClassifier fit: stopped after {best.n_iter_} ")


def test_set_on_a_pipeline_it_says_where_to_set_it():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _problem(2)
    pipe = make_pipeline(StandardScaler(), GDClassifier(**PARAMS))
    pipe.set_callbacks(TrainingProgress(file=io.StringIO()))
    with pytest.raises(TypeError, match=r"set it on the skgd estimator.*Pipeline"):
        pipe.fit(X, y)


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_in_a_search_a_failed_fit_has_its_line_and_the_next_fits_go_on():
    from sklearn.model_selection import GridSearchCV

    X, y = load_iris(return_X_y=True)
    out = io.StringIO()
    model = GDClassifier(learning_rate="constant", random_state=0)
    search = GridSearchCV(
        model.set_callbacks(TrainingProgress(file=out, min_interval=0)),
        {"eta0": [0.01, 1e30]},
        cv=2,
        error_score=np.nan,
    )
    with pytest.warns(FitFailedWarning):
        search.fit(X * 1e150, y)
    lines = _lines(out)
    assert len(lines) == 5
    assert [line.startswith("GDClassifier fit: failed after ") for line in lines] == [
        False,
        False,
        True,
        True,
        False,
    ]
