"""How users use it: pipelines, searches, pickling, seeds, presets."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgd import GDClassifier, MulticlassSVMClassifier, SoftmaxClassifier, optimizers


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0)


def test_pipeline_with_scaler(digits):
    X_train, X_test, y_train, y_test = digits
    model = make_pipeline(
        StandardScaler(),
        GDClassifier(
            loss="softmax",
            batch_size=32,
            optimizer="adam",
            learning_rate="constant",
            eta0=0.01,
            random_state=0,
        ),
    )
    assert model.fit(X_train, y_train).score(X_test, y_test) > 0.95


def test_grid_search_over_batch_size_and_eta0_in_parallel(multiclass):
    X, y = multiclass
    search = GridSearchCV(
        GDClassifier(
            loss="log_loss",
            learning_rate="constant",
            max_iter=20,
            tol=None,
            random_state=0,
        ),
        {"batch_size": [1, 8, "full"], "eta0": [0.01, 0.1]},
        cv=3,
        n_jobs=2,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 6
    assert search.best_score_ > 0.7
    # The same search run serially gives the same scores: nothing depends on
    # which process fitted which candidate.
    serial = clone(search).set_params(n_jobs=1).fit(X, y)
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )


def test_grid_search_over_nested_optimizer_hyperparameters(multiclass):
    X, y = multiclass
    search = GridSearchCV(
        GDClassifier(
            loss="softmax",
            batch_size=8,
            optimizer=optimizers.Adam(),
            learning_rate="constant",
            random_state=0,
            max_iter=10,
            tol=None,
        ),
        {"optimizer__beta_1": [0.5, 0.9], "optimizer__epsilon": [1e-8, 1e-3]},
        cv=3,
    ).fit(X, y)
    assert search.best_estimator_.optimizer.beta_1 in (0.5, 0.9)
    scores = search.cv_results_["mean_test_score"]
    assert len(set(np.round(scores, 12))) > 1  # the hyperparameters reach training


def test_same_random_state_same_model_and_pickle_round_trip(multiclass):
    X, y = multiclass
    params = dict(
        loss="multiclass_hinge",
        batch_size=4,
        optimizer="rmsprop",
        learning_rate="constant",
        random_state=42,
        max_iter=10,
        tol=None,
    )
    a = GDClassifier(**params).fit(X, y)
    b = GDClassifier(**params).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    c = GDClassifier(**{**params, "random_state": 7}).fit(X, y)
    assert not np.array_equal(a.coef_, c.coef_)
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(restored.decision_function(X), a.decision_function(X))
    # The training state travels too: partial_fit continues identically.
    np.testing.assert_array_equal(
        restored.partial_fit(X, y).coef_, a.partial_fit(X, y).coef_
    )


@pytest.mark.parametrize("preset", [SoftmaxClassifier, MulticlassSVMClassifier])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_presets_reach_096_on_digits_with_defaults(preset, seed, digits):
    """All defaults; the seed only fixes the shuffling for reproducibility."""
    X_train, X_test, y_train, y_test = digits
    model = make_pipeline(StandardScaler(), preset(random_state=seed))
    assert model.fit(X_train, y_train).score(X_test, y_test) >= 0.96


def test_presets_have_explicit_signatures():
    params = SoftmaxClassifier().get_params()
    assert "loss" not in params and params["batch_size"] == 32
    assert SoftmaxClassifier().loss == "softmax"
    assert MulticlassSVMClassifier().loss == "multiclass_hinge"
    assert hasattr(SoftmaxClassifier(), "predict_proba")
    assert not hasattr(MulticlassSVMClassifier(), "predict_proba")


def test_swap_for_sgdclassifier_keeps_every_parameter():
    from sklearn.linear_model import SGDClassifier

    from skgd.schedules import Optimal

    ours, theirs = GDClassifier().get_params(), SGDClassifier().get_params()
    # learning_rate="auto" is "optimal" in SGDClassifier's configuration
    # (batch 1, plain SGD): the one default spelled differently.
    assert ours.pop("learning_rate") == "auto"
    assert theirs.pop("learning_rate") == "optimal"
    assert {k: ours[k] for k in theirs} == theirs
    extra = {"batch_size", "optimizer", "restore_best_weights"}
    assert set(ours) - set(theirs) == extra
    assert ours["restore_best_weights"] is False  # SGDClassifier keeps the last
    assert isinstance(
        GDClassifier().fit([[0.0], [1.0]], [0, 1]).learning_rate_, Optimal
    )


def test_demo_prints_a_row_per_mode_and_loss(capsys):
    from skgd.__main__ import main

    main(["--max-iter", "2"])
    rows = [
        line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")
    ]
    # Header, 4 losses x 3 modes, 2 SGDClassifier peers.
    assert len(rows) == 1 + 12 + 2
    accuracies = [float(r.split("|")[3]) for r in rows[1:]]
    assert min(accuracies) > 0.8
    # Two epochs: every fit hits the cap, and the table says so.
    assert [r.split("|")[5].strip() for r in rows[1:]] == ["cap"] * 14


def test_demo_help_is_plain_text(capsys):
    """--help: plain text (no reStructuredText markup), with the next steps."""
    from skgd.__main__ import main

    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "``" not in text and ":class:" not in text
    assert "examples/plot_descent_modes.py" in text and "sphinx" in text
