"""The estimator shell: inputs, errors, partial_fit, warm start, early stopping."""

import hashlib
import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import StratifiedShuffleSplit

from skgd import GDClassifier, optimizers
from skgd.losses import BinaryLoss, MulticlassLoss, Softmax

QUIET = dict(max_iter=5, tol=None)
OPTIMIZERS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]


def _digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        if sp.issparse(a):
            for part in (a.data, a.indices, a.indptr):
                h.update(np.ascontiguousarray(part).tobytes())
        else:
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


# -- partial_fit and warm start ----------------------------------------------


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("loss", ["hinge", "softmax", "multiclass_hinge"])
def test_one_partial_fit_equals_one_epoch_of_fit(optimizer, loss, problem):
    X, y = problem
    params = dict(
        loss=loss,
        optimizer=optimizer,
        batch_size=4,
        shuffle=False,
        learning_rate="constant",
    )
    a = GDClassifier(**params).partial_fit(X, y, classes=np.unique(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        b = GDClassifier(max_iter=1, **params).fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-13, atol=1e-15)
    assert a.t_ == b.t_ and a.n_iter_ == 1


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_partial_fit_carries_the_optimizer_state_and_clock(optimizer, multiclass):
    """Two calls equal two epochs of one fit: velocity, moments and t persist."""
    X, y = multiclass
    params = dict(
        loss="softmax",
        optimizer=optimizer,
        batch_size=8,
        shuffle=False,
        learning_rate="invscaling",
        eta0=0.1,
    )
    est = GDClassifier(**params)
    est.partial_fit(X, y, classes=[0, 1, 2]).partial_fit(X, y)
    ref = GDClassifier(max_iter=2, tol=None, **params).fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-13, atol=1e-15)
    assert est.t_ == ref.t_
    assert len(est.loss_curve_) == 2
    np.testing.assert_allclose(est.loss_curve_, ref.loss_curve_, rtol=1e-13)


@pytest.mark.parametrize(
    "params",
    [
        # Adam's moments and count start again; so does the clock of a
        # decaying schedule, and the average.
        dict(loss="softmax", optimizer="adam", batch_size=8, learning_rate="constant"),
        dict(loss="hinge", learning_rate="optimal", average=True),
    ],
    ids=["adam", "optimal-averaged"],
)
def test_warm_start_keeps_the_weights_only_and_cold_fit_resets(multiclass, params):
    """A warm fit is a fit from coef_init=coef_, intercept_init=intercept_,
    as SGDClassifier's: the clock, optimizer state and averages restart."""
    X, y = multiclass
    params = dict(params, shuffle=False, tol=None)
    first = GDClassifier(max_iter=1, **params).fit(X, y)
    ref = GDClassifier(max_iter=1, **params).fit(
        X, y, coef_init=first.coef_, intercept_init=first.intercept_
    )
    warm = GDClassifier(max_iter=1, warm_start=True, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm.fit(X, y).fit(X, y)
    np.testing.assert_array_equal(warm.coef_, ref.coef_)
    np.testing.assert_array_equal(warm.intercept_, ref.intercept_)
    assert warm.t_ == ref.t_ == first.t_
    cold = GDClassifier(max_iter=1, **params)
    once = cold.fit(X, y).coef_.copy()
    np.testing.assert_array_equal(cold.fit(X, y).coef_, once)


def test_partial_fit_streams_chunks(multiclass):
    X, y = multiclass
    est = GDClassifier(
        loss="log_loss",
        batch_size=4,
        learning_rate="constant",
        eta0=0.1,
        random_state=0,
    )
    for _ in range(10):
        for chunk in np.array_split(np.arange(len(y)), 6):
            est.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2])
    assert est.score(X, y) > 0.85
    assert len(est.loss_curve_) == 60


def test_partial_fit_continues_from_an_edited_coef(binary):
    X, y = binary
    params = dict(loss="log_loss", shuffle=False, learning_rate="constant")
    est = GDClassifier(**params).partial_fit(X, y, classes=[0, 1])
    est.coef_ = np.zeros_like(est.coef_)
    est.intercept_ = np.zeros_like(est.intercept_)
    est.partial_fit(X, y)
    # With a constant rate the clock does not matter: restarting from the
    # edited (zero) weights is one pass from zero, as a fresh model makes.
    fresh = GDClassifier(**params).partial_fit(X, y, classes=[0, 1])
    np.testing.assert_allclose(est.coef_, fresh.coef_, rtol=1e-13)
    assert est.t_ == 2 * len(y) + 1


def test_partial_fit_reads_parameters_at_every_call(binary):
    """As in SGDClassifier, set_params between partial_fit calls takes effect:
    a lowered eta0 gives SGDClassifier's updates (batch 1, plain SGD, constant
    schedule, no shuffling)."""
    from sklearn.linear_model import SGDClassifier

    X, y = binary
    common = dict(loss="log_loss", learning_rate="constant", shuffle=False)
    ours, theirs = GDClassifier(**common), SGDClassifier(**common)
    for eta0 in [0.1, 0.01, 0.001]:
        ours.set_params(eta0=eta0).partial_fit(X, y, classes=[0, 1])
        theirs.set_params(eta0=eta0).partial_fit(X, y, classes=[0, 1])
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-10)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-10)


def test_partial_fit_switching_the_optimizer_restarts_its_state(multiclass):
    """A new optimizer between calls starts from fresh moments at the current
    weights: the second call equals a one-epoch fit from those weights."""
    X, y = multiclass
    params = dict(loss="softmax", batch_size=8, shuffle=False, learning_rate="constant")
    est = GDClassifier(optimizer="momentum", **params)
    est.partial_fit(X, y, classes=[0, 1, 2])
    start = est.coef_.copy(), est.intercept_.copy()
    est.set_params(optimizer="adam", eta0=0.05).partial_fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = GDClassifier(optimizer="adam", eta0=0.05, max_iter=1, **params).fit(
            X, y, coef_init=start[0], intercept_init=start[1]
        )
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-13, atol=1e-15)
    with pytest.raises(ValueError, match="early_stopping should be False with"):
        est.set_params(early_stopping=True).partial_fit(X, y)
    before = est.coef_.copy()
    with pytest.raises(ValueError, match="The 'eta0' parameter of GDClassifier"):
        est.set_params(early_stopping=False, eta0=-1.0).partial_fit(X, y)
    np.testing.assert_array_equal(est.coef_, before)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_partial_fit_recovers_from_a_diverged_call(optimizer, multiclass):
    """A call that diverges raises and leaves the estimator as it was; the
    next call (with a sane step) continues as if the failed call had never
    been made: weights, velocities and moments, clock."""
    X, y = multiclass
    params = dict(
        loss="log_loss",
        optimizer=optimizer,
        batch_size=8,
        shuffle=False,
        learning_rate="constant",
        eta0=0.01,
    )
    est = GDClassifier(**params).partial_fit(X, y, classes=[0, 1, 2])
    start = est.coef_.copy(), est.intercept_.copy()
    with pytest.raises(ValueError, match="overflow occurred at epoch #1"):
        est.set_params(eta0=1e250).partial_fit(X * 1e50, y)
    np.testing.assert_array_equal(est.coef_, start[0])
    np.testing.assert_array_equal(est.intercept_, start[1])
    est.set_params(eta0=0.01).partial_fit(X, y)
    ref = GDClassifier(**params).partial_fit(X, y, classes=[0, 1, 2])
    ref.partial_fit(X, y)
    np.testing.assert_array_equal(est.coef_, ref.coef_)
    np.testing.assert_array_equal(est.intercept_, ref.intercept_)
    assert est.t_ == ref.t_ and est.loss_curve_ == ref.loss_curve_


def test_partial_fit_with_averaging_keeps_coef_through_a_diverged_call(multiclass):
    X, y = multiclass
    est = GDClassifier(
        loss="log_loss",
        optimizer="adam",
        batch_size=8,
        average=True,
        learning_rate="constant",
        eta0=0.01,
        random_state=0,
    ).partial_fit(X, y, classes=[0, 1, 2])
    before = est.coef_.copy()
    with pytest.raises(ValueError, match="Training diverged"):
        est.set_params(eta0=1e250).partial_fit(X * 1e50, y)
    # The averages are updated in place during a call; coef_ is a copy.
    np.testing.assert_array_equal(est.coef_, before)
    est.set_params(eta0=0.01).partial_fit(X, y)
    assert np.isfinite(est.coef_).all() and est.score(X, y) > 0.8


# -- inputs -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csr_matrix", "csc_matrix", "coo_matrix", "csr_array"])
def test_sparse_formats_become_csr_and_agree(fmt, binary):
    """Every sparse format trains as CSR does; outside SGDClassifier's
    configuration (whose intercept steps are damped on sparse rows), as
    dense rows do."""
    X, y = binary
    Xs = getattr(sp, fmt)(X)
    a = GDClassifier(random_state=0, **QUIET).fit(Xs, y)
    b = GDClassifier(random_state=0, **QUIET).fit(sp.csr_matrix(X), y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    a = GDClassifier(random_state=0, batch_size=4, **QUIET).fit(Xs, y)
    b = GDClassifier(random_state=0, batch_size=4, **QUIET).fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-10)
    np.testing.assert_allclose(
        a.decision_function(Xs), b.decision_function(X), rtol=1e-10
    )


def test_inputs_are_never_mutated(multiclass):
    X, y = multiclass
    Xs = sp.csr_matrix(X * (np.abs(X) > 0.3))
    w = np.linspace(0.5, 2.0, len(y))
    classes = np.array([0, 1, 2])
    opt = optimizers.Adam(beta_1=0.8)
    coef_init = np.ones((3, X.shape[1]))

    def fingerprint():
        digests = [_digest(a) for a in (X, Xs, y, w, classes, coef_init)]
        return digests + [pickle.dumps(opt)]

    before = fingerprint()
    params = dict(
        loss="softmax",
        optimizer=opt,
        penalty="l1",
        batch_size=5,
        learning_rate="constant",
        **QUIET,
    )
    GDClassifier(**params).fit(X, y, sample_weight=w, coef_init=coef_init)
    GDClassifier(**params).fit(Xs, y, sample_weight=w)
    GDClassifier(**params).partial_fit(X, y, classes=classes, sample_weight=w)
    after = fingerprint()
    assert before == after


def test_pandas_frames_and_feature_names(binary):
    pd = pytest.importorskip("pandas")
    X, y = binary
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    est = GDClassifier(**QUIET).fit(frame, pd.Series(y))
    assert list(est.feature_names_in_) == list(frame.columns)
    np.testing.assert_array_equal(est.predict(frame), est.predict(X))


def test_string_labels_and_two_class_shapes(binary):
    X, y = binary
    labels = np.array(["no", "yes"])[y]
    for loss in ["hinge", "softmax", "multiclass_hinge"]:
        est = GDClassifier(loss=loss, **QUIET).fit(X, labels)
        assert est.coef_.shape == (1, X.shape[1]) and est.intercept_.shape == (1,)
        assert set(est.predict(X)) <= {"no", "yes"}
        assert est.decision_function(X).shape == (len(y),)


def test_coef_init_and_intercept_init(multiclass):
    X, y = multiclass
    coef = np.full((3, X.shape[1]), 0.1)
    est = GDClassifier(
        max_iter=1, tol=None, eta0=1e-12, learning_rate="constant", penalty=None
    )
    est.fit(X, y, coef_init=coef, intercept_init=[1.0, 2.0, 3.0])
    np.testing.assert_allclose(est.coef_, coef, atol=1e-9)
    np.testing.assert_allclose(est.intercept_, [1, 2, 3], atol=1e-9)
    with pytest.raises(ValueError, match=re.escape("it has shape (2, 5)")):
        est.fit(X, y, coef_init=np.ones((2, 5)))
    with pytest.raises(
        ValueError, match="intercept_init does not match dataset: it has 2 values"
    ):
        est.fit(X, y, intercept_init=[0.0, 1.0])


# -- outputs ------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["log_loss", "modified_huber", "softmax"])
def test_predict_proba(loss, problem):
    X, y = problem
    est = GDClassifier(loss=loss, random_state=0, **QUIET).fit(X, y)
    proba = est.predict_proba(X)
    assert proba.shape == (len(y), len(np.unique(y)))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert ((proba >= 0) & (proba <= 1)).all()
    if loss != "modified_huber":  # its clipped probabilities can tie at 1
        np.testing.assert_array_equal(
            est.classes_[proba.argmax(axis=1)], est.predict(X)
        )
    np.testing.assert_allclose(np.exp(est.predict_log_proba(X)), proba)


def test_binary_log_loss_proba_is_the_sigmoid(binary):
    X, y = binary
    est = GDClassifier(loss="log_loss", **QUIET).fit(X, y)
    np.testing.assert_allclose(
        est.predict_proba(X)[:, 1], expit(est.decision_function(X))
    )


@pytest.mark.parametrize("loss", ["hinge", "multiclass_hinge", "perceptron"])
def test_no_proba_for_non_probabilistic_losses(loss):
    est = GDClassifier(loss=loss)
    assert not hasattr(est, "predict_proba")
    with pytest.raises(AttributeError) as info:
        est.predict_proba  # noqa: B018 (the access itself must raise)
    assert f"not available for loss='{loss}'" in str(info.value.__cause__)


def test_sparsify_densify(binary):
    X, y = binary
    est = GDClassifier(penalty="l1", alpha=0.05, **QUIET).fit(X, y)
    dense_scores = est.decision_function(X)
    assert sp.issparse(est.sparsify().coef_)
    np.testing.assert_allclose(est.decision_function(X), dense_scores)
    est.partial_fit(X, y)  # training continues from a sparse coef_
    assert isinstance(est.densify().coef_, np.ndarray)


def test_attributes(multiclass):
    X, y = multiclass
    est = GDClassifier(batch_size=7, random_state=0, max_iter=3, tol=None).fit(X, y)
    n_updates = 3 * int(np.ceil(len(y) / 7))
    assert est.t_ == 1 + n_updates and est.n_iter_ == 3
    assert len(est.loss_curve_) == 3 and est.n_features_in_ == X.shape[1]
    assert est.validation_scores_ is None and est.best_validation_score_ is None


def test_custom_losses_train_like_the_built_in_ones(problem):
    class MyLogistic(BinaryLoss):
        def loss(self, y, z):
            return np.log1p(np.exp(-y * z))

        def gradient(self, y, z):
            return -y / (1.0 + np.exp(y * z))

    class MySoftmax(MulticlassLoss):
        def loss(self, y, z):
            return Softmax().loss(y, z)

        def gradient(self, y, z):
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(y)), y] -= 1.0
            return p

    X, y = problem
    for mine, name in [(MyLogistic(), "log_loss"), (MySoftmax(), "softmax")]:
        params = dict(batch_size=3, learning_rate="constant", random_state=0)
        a = GDClassifier(loss=mine, **params, **QUIET).fit(X, y)
        b = GDClassifier(loss=name, **params, **QUIET).fit(X, y)
        np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-9, atol=1e-12)


# -- early stopping -------------------------------------------------------------


def test_early_stopping_keeps_the_last_or_on_request_the_best_weights(multiclass):
    X, y = multiclass
    params = dict(
        loss="softmax",
        early_stopping=True,
        validation_fraction=0.25,
        n_iter_no_change=3,
        batch_size=4,
        learning_rate="constant",
        eta0=0.5,
        random_state=0,
        max_iter=50,
    )
    last = GDClassifier(**params).fit(X, y)
    best = GDClassifier(restore_best_weights=True, **params).fit(X, y)
    scores = best.validation_scores_
    assert scores == last.validation_scores_
    assert len(scores) == best.n_iter_ and best.best_validation_score_ == max(scores)
    # The split is scikit-learn's stratified one, seeded by random_state.
    cv = StratifiedShuffleSplit(test_size=0.25, random_state=0)
    _, val = next(cv.split(np.zeros((len(y), 1)), y))
    assert best.score(X[val], y[val]) == pytest.approx(best.best_validation_score_)
    # The default, SGDClassifier's: the weights of the last epoch, the
    # weights a fit of as many epochs without early stopping ends with.
    assert last.score(X[val], y[val]) == pytest.approx(scores[-1])
    assert scores[-1] < max(scores)  # (so the two differ here)
    plain = dict(params, early_stopping=False, max_iter=last.n_iter_, tol=None)
    train = np.setdiff1d(np.arange(len(y)), val)
    ref = GDClassifier(**plain).fit(X[train], y[train])
    np.testing.assert_allclose(last.coef_, ref.coef_, rtol=1e-12, atol=1e-14)


# -- errors ---------------------------------------------------------------------


def test_partial_fit_class_errors(binary):
    X, y = binary
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        GDClassifier().partial_fit(X, y)
    with pytest.raises(
        ValueError, match=r"y contains labels \[1\] that are not in classes \[0, 2\]"
    ):
        GDClassifier().partial_fit(X, y, classes=[0, 2])
    est = GDClassifier().partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="is not the same as in the first call"):
        est.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(
        ValueError, match="X has 4 features, but GDClassifier is expecting 5"
    ):
        est.partial_fit(X[:, :4], y)
    with pytest.raises(
        ValueError, match="early_stopping should be False with partial_fit"
    ):
        GDClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(
        ValueError, match="class_weight 'balanced' is not supported for partial_fit"
    ):
        GDClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1])


@pytest.mark.parametrize(
    "params, message",
    [
        (
            dict(alpha=0.0, learning_rate="optimal"),
            "alpha must be > 0 with learning_rate='optimal'",
        ),
        (
            dict(penalty="elasticnet", l1_ratio=None),
            "l1_ratio must be set when penalty is 'elasticnet'",
        ),
        (dict(learning_rate="pa1", loss="log_loss"), "needs a binary loss whose slope"),
        (
            dict(learning_rate="pa2", batch_size=8),
            "needs batch_size=1 and optimizer='sgd'",
        ),
        (dict(batch_size=0), "The 'batch_size' parameter of GDClassifier must be"),
        (dict(batch_size="all"), "The 'batch_size' parameter of GDClassifier must be"),
        (dict(optimizer="lbfgs"), "The 'optimizer' parameter of GDClassifier must be"),
        (dict(loss="exponential"), "The 'loss' parameter of GDClassifier must be"),
        (dict(eta0=0.0), "The 'eta0' parameter of GDClassifier must be"),
        (dict(power_t=np.nan), "The 'power_t' parameter of GDClassifier must be"),
    ],
)
def test_bad_hyperparameters(params, message, binary):
    X, y = binary
    with pytest.raises(
        ValueError, match=re.escape(message) if "(" in message else message
    ):
        GDClassifier(**params).fit(X, y)


def test_custom_components_missing_methods(binary):
    X, y = binary

    class NoGradient(BinaryLoss):
        def loss(self, y, z):
            return z

    class NoUpdate(optimizers.Optimizer):
        pass

    with pytest.raises(TypeError, match="does not implement gradient"):
        GDClassifier(loss=NoGradient()).fit(X, y)
    with pytest.raises(TypeError, match="does not implement update"):
        GDClassifier(optimizer=NoUpdate()).fit(X, y)


def test_bad_data(binary):
    X, y = binary
    est = GDClassifier(**QUIET)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        est.fit(X_nan, y)
    with pytest.raises(ValueError, match="has to be greater than one; got 1 class"):
        est.fit(X, np.zeros_like(y))
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        est.fit(X, y + 0.5)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.fit(X, y[:-1])
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        est.fit(X[:, 0], y)
    with pytest.raises(ValueError, match="Negative values in data passed to"):
        est.fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(
        ValueError, match="Sample weights must contain at least one non-zero"
    ):
        est.fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(NotFittedError):
        GDClassifier().predict(X)


def test_divergence_stops_with_an_actionable_error(binary):
    X, y = binary
    est = GDClassifier(
        loss="squared_hinge", learning_rate="constant", eta0=1e5, penalty=None
    )
    with pytest.raises(
        ValueError, match=r"overflow occurred at epoch #\d+.*Lowering the step size"
    ):
        est.fit(X * 1e100, y)
    assert not hasattr(est, "coef_") or np.isfinite(est.coef_).all()


def test_convergence_warning(binary):
    X, y = binary
    with pytest.warns(ConvergenceWarning, match="Maximum number of epochs"):
        GDClassifier(max_iter=1).fit(X, y)


def test_clone_and_nested_optimizer_params():
    est = GDClassifier(optimizer=optimizers.Adam(beta_1=0.8))
    assert est.get_params()["optimizer__beta_1"] == 0.8
    est.set_params(optimizer__beta_2=0.9)
    copy = clone(est)
    assert copy.optimizer is not est.optimizer and copy.optimizer.beta_2 == 0.9


def test_verbose_prints_one_line_per_epoch(binary, capsys):
    """One line per epoch: objective (= loss_curve_), weight norm, the step
    size of the next update (invscaling: eta0 / t**power_t, t = 1 + updates)
    and the elapsed time; then why training stopped."""
    X, y = binary
    est = GDClassifier(
        verbose=1,
        batch_size="full",
        learning_rate="invscaling",
        eta0=0.5,
        power_t=0.5,
        max_iter=3,
        tol=None,
    ).fit(X, y)
    lines = [line for line in capsys.readouterr().out.splitlines() if line]
    assert len(lines) == 4
    assert re.fullmatch(
        r"-- Stopped after 3 epochs \(ran max_iter epochs\), \d+\.\d\d s", lines.pop()
    )
    pattern = re.compile(
        r"-- Epoch (\d+): objective (\S+), norm (\S+), step (\S+), nnz \d+, "
        r"T (\d+), \d+\.\d\d s"
    )
    for epoch, line in enumerate(lines, start=1):
        match = pattern.fullmatch(line)
        assert match, line
        assert int(match[1]) == epoch and int(match[5]) == epoch
        assert float(match[2]) == pytest.approx(est.loss_curve_[epoch - 1], rel=1e-5)
        assert float(match[4]) == pytest.approx(0.5 / (epoch + 1) ** 0.5, rel=1e-3)
    assert float(match[3]) == pytest.approx(np.linalg.norm(est.coef_), rel=1e-3)


def test_history_of_times_and_samples_across_calls(binary):
    """time_curve_ and samples_curve_ run beside loss_curve_: seconds and
    rows seen up to the end of each epoch, continued by partial_fit, and
    started afresh by fit (warm_start too, as loss_curve_ is)."""
    X, y = binary
    n_train = len(y) - round(0.1 * len(y))  # validation_fraction holds 10 % out
    est = GDClassifier(
        batch_size=16, max_iter=4, tol=None, early_stopping=True, random_state=0
    ).fit(X, y)
    assert len(est.time_curve_) == len(est.samples_curve_) == len(est.loss_curve_)
    assert est.samples_curve_ == [n_train * k for k in (1, 2, 3, 4)]
    assert np.all(np.diff(est.time_curve_) > 0) and est.time_curve_[0] > 0
    est.set_params(early_stopping=False).partial_fit(X[:10], y[:10])
    assert est.samples_curve_[-1] == 4 * n_train + 10 and len(est.time_curve_) == 5
    est.set_params(warm_start=True, max_iter=2).fit(X, y)
    assert est.samples_curve_ == [len(y), 2 * len(y)] and len(est.loss_curve_) == 2


@pytest.mark.parametrize(
    "params, reason",
    [
        (dict(max_iter=3, tol=None), "max_iter"),
        (dict(max_iter=1000, tol=1e-1, n_iter_no_change=2), "tol"),
        (
            dict(max_iter=1000, tol=1e-1, n_iter_no_change=2, early_stopping=True),
            "validation",
        ),
        (
            dict(loss="log_loss", batch_size="full", learning_rate="line_search"),
            "converged",
        ),
    ],
)
def test_stop_reason(binary, params, reason):
    X, y = binary
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = GDClassifier(random_state=0, **params).fit(X, y)
    assert est.stop_reason_ == reason
    if reason in ("tol", "validation", "converged"):
        assert est.n_iter_ < est.max_iter
    est.set_params(early_stopping=False).partial_fit(X, y)
    assert est.stop_reason_ == "partial_fit"


def test_verbose_2_adds_the_epochs_detail(binary, capsys):
    """verbose=2: after each epoch line, its rows, seconds and the stopping
    rule's count (as time_curve_ and samples_curve_ say)."""
    X, y = binary
    est = GDClassifier(verbose=2, max_iter=3, tol=1e-1, n_iter_no_change=5)
    est.fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    detail = [line for line in lines if line.startswith("   rows")]
    assert len(detail) == 3
    for line in detail:
        assert re.match(
            rf"   rows {len(y)}, epoch \d+\.\d{{3}} s, no improvement \d/5", line
        )
    assert lines[-1].startswith("-- Stopped after 3 epochs")


def test_n_jobs_does_not_change_the_model(multiclass):
    X, y = multiclass
    a = GDClassifier(n_jobs=1, random_state=0, **QUIET).fit(X, y)
    b = GDClassifier(n_jobs=2, random_state=0, **QUIET).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
