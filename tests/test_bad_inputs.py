"""A catalogue of bad inputs, each with the exact error a user gets.

Every case is a row of ``CASES``: an id, a call, the exception type and a
pattern for the whole message. skgd's own messages are matched whole
(``re.escape``, anchored at both ends). Messages that come from
scikit-learn (``validate_data``, the parameter constraints,
``check_is_fitted``) are what users see, so they are matched too: whole
where they are one sentence, up to the first line where a data dump
follows. Then extreme but valid inputs, each checked against a reference.
"""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.utils._param_validation import InvalidParameterError

from skgd import GDClassifier, _compiled, losses, optimizers, schedules
from skgd.losses import LOSS_NAMES
from skgd.optimizers import OPTIMIZER_NAMES

QUIET = dict(max_iter=2, tol=None, random_state=0)

_rng = np.random.default_rng(0)
X = _rng.normal(size=(20, 3))
y = np.arange(20) % 2
y3 = np.arange(20) % 3
ONES = np.ones(20)


def _with(array, index, value):
    array = np.array(array, dtype=float)
    array[index] = value
    return array


def whole(message):
    """A pattern that matches exactly ``message``."""
    return "^" + re.escape(message) + r"\Z"


def first_line(message):
    """A pattern for a message whose first line is ``message`` (a dump follows)."""
    return "^" + re.escape(message) + r"(\n|\Z)"


def any_order(*names):
    """A pattern for the repr of a set of these strings, in any order."""
    name = "'(?:" + "|".join(re.escape(n) for n in names) + ")'"
    return r"\{" + ", ".join([name] * len(names)) + r"\}"


def constraint(parameter, allowed, got):
    """scikit-learn's message for a value outside a parameter's constraints.

    ``allowed`` is a regex (sets of strings print in any order); ``got`` the
    repr of the value.
    """
    return (
        f"^The '{parameter}' parameter of GDClassifier must be {allowed}\\. "
        f"Got {re.escape(got)} instead\\.\\Z"
    )


def fit(X=X, y=y, **params):
    return lambda: GDClassifier(**{**QUIET, **params}).fit(X, y)


def fit_with(**fit_params):
    return lambda: GDClassifier(**QUIET).fit(X, y, **fit_params)


def partial_fit(*calls, **params):
    """Successive partial_fit calls, each a dict of its arguments."""

    def run():
        est = GDClassifier(**{**QUIET, **params})
        for call in calls:
            est.partial_fit(**{"X": X, "y": y, **call})

    return run


def fitted(method, *args, loss="log_loss"):
    def run():
        est = GDClassifier(loss=loss, **QUIET).fit(X, y)
        return getattr(est, method)(*args)

    return run


def unfitted(method):
    return lambda: getattr(GDClassifier(loss="log_loss"), method)(X)


def after_divergence():
    est = GDClassifier(loss="squared_error", learning_rate="constant", eta0=1e10)
    with pytest.raises(ValueError, match="^Floating-point under-/overflow occurred"):
        est.fit(X * 1e200, y)
    return est.predict(X)


def after_divergence_of_a_refit():
    """The first model must not answer for the second fit's classes."""
    est = GDClassifier(loss="squared_error", learning_rate="constant", eta0=1e10)
    est.set_params(eta0=1e-3).fit(X, y)
    with pytest.raises(ValueError, match="^Floating-point under-/overflow occurred"):
        est.set_params(eta0=1e10).fit(X * 1e200, y3)
    return est.predict(X)


def _validation_rows(validation_fraction, random_state):
    """The rows early stopping holds out (scikit-learn's stratified split)."""
    cv = StratifiedShuffleSplit(
        test_size=validation_fraction, random_state=random_state
    )
    return next(cv.split(np.zeros((len(y), 1)), y))[1]


class NoGradient(losses.BinaryLoss):
    def loss(self, y, z):
        return np.maximum(0.0, 1.0 - y * z)


class NoLoss(losses.MulticlassLoss):
    def gradient(self, y, z):
        return np.zeros_like(z)


class NoUpdate(optimizers.Optimizer):
    pass


class NoRate(schedules.Schedule):
    pass


class NoProba(losses.BinaryLoss):
    def loss(self, y, z):
        return np.logaddexp(0.0, -y * z)

    def gradient(self, y, z):
        return -y / (1.0 + np.exp(y * z))


class DuckLoss:
    """Has the methods of a loss but is not a skgd.losses.Loss."""

    multiclass = False

    def loss(self, y, z):
        return z

    def gradient(self, y, z):
        return z


NOT_FITTED = (
    "This GDClassifier instance is not fitted yet. Call 'fit' with appropriate "
    "arguments before using this estimator."
)
# The epoch depends on the case; the rest of the sentence is pinned.
# scikit-learn's sentence first (users match on it), then skgd's.
DIVERGED = (
    r"^Floating-point under-/overflow occurred at epoch #\d+\. "
    + re.escape(
        "Scaling input data with StandardScaler or MinMaxScaler might help. "
        "(Training diverged: the weights or the objective became non-finite, inf "
        "or NaN. Lowering the step size also helps: eta0, or with "
        "learning_rate='optimal', whose first step is alpha ** -0.25, a larger "
        "alpha.)"
    )
    + r"\Z"
)
# Outside SGDClassifier's configuration an objective that rises above where
# training started is divergence too, before any overflow.
ROSE = (
    r"^Training diverged at epoch \d+: the objective rose to [-+.\de]+, above "
    r"where training started \([-+.\de]+\)\. "
    + re.escape(
        "Lower the step size (eta0, or learning_rate='auto', which calibrates "
        "one), or scale the features, e.g. with sklearn.preprocessing.StandardScaler."
    )
    + r"\Z"
)
BOOLEAN = "an instance of 'bool' or an instance of 'numpy.bool'"
SCHEDULE_NAMES = (
    "constant",
    "optimal",
    "invscaling",
    "adaptive",
    "pa1",
    "pa2",
    "line_search",
    "auto",
)

CASES = [
    # -- data given to fit ------------------------------------------------------
    (
        "X-nan",
        fit(X=_with(X, (0, 0), np.nan)),
        ValueError,
        first_line("Input X contains NaN."),
    ),
    (
        "X-nan-csr",
        fit(X=sp.csr_matrix(_with(X, (0, 0), np.nan))),
        ValueError,
        first_line("Input X contains NaN."),
    ),
    (
        "X-inf",
        fit(X=_with(X, (3, 1), np.inf)),
        ValueError,
        whole("Input X contains infinity or a value too large for dtype('float64')."),
    ),
    (
        "X-inf-float32",
        fit(X=_with(X, (3, 1), -np.inf).astype(np.float32)),
        ValueError,
        whole("Input X contains infinity or a value too large for dtype('float32')."),
    ),
    (
        "X-empty",
        fit(X=np.empty((0, 3)), y=np.empty(0)),
        ValueError,
        whole(
            "Found array with 0 sample(s) (shape=(0, 3)) while a minimum of 1 is "
            "required by GDClassifier."
        ),
    ),
    (
        "X-no-features",
        fit(X=np.empty((20, 0))),
        ValueError,
        whole(
            "Found array with 0 feature(s) (shape=(20, 0)) while a minimum of 1 is "
            "required by GDClassifier."
        ),
    ),
    (
        "X-1d",
        fit(X=X[:, 0]),
        ValueError,
        r"(?s)^Expected 2D array, got 1D array instead:\narray=\[.*\]\.\n"
        + re.escape(
            "Reshape your data either using array.reshape(-1, 1) if your data "
            "has a single feature or array.reshape(1, -1) if it contains a "
            "single sample."
        )
        + r"\Z",
    ),
    (
        "X-3d",
        fit(X=X[:, :, None]),
        ValueError,
        whole("Found array with dim 3, while dim <= 2 is required by GDClassifier."),
    ),
    ("X-complex", fit(X=X + 1j), ValueError, first_line("Complex data not supported")),
    ("y-nan", fit(y=_with(y, 4, np.nan)), ValueError, whole("Input y contains NaN.")),
    (
        "y-inf",
        fit(y=_with(y, 4, np.inf)),
        ValueError,
        whole("Input y contains infinity or a value too large for dtype('float64')."),
    ),
    (
        "y-none-among-strings",
        fit(y=np.array(["a", "b"] * 9 + [None, "a"], dtype=object)),
        TypeError,
        whole(
            "y mixes labels of types ['NoneType', 'str'], which cannot be ordered; "
            "class labels must be all strings or all numbers (no None)."
        ),
    ),
    (
        "y-one-class",
        fit(y=np.zeros(20)),
        ValueError,
        whole(
            "The number of classes has to be greater than one; got 1 class (0.0): a "
            "classifier needs at least two."
        ),
    ),
    (
        "y-continuous",
        fit(y=y + 0.5),
        ValueError,
        whole(
            "Unknown label type: continuous. Maybe you are trying to fit a "
            "classifier, which expects discrete classes on a regression target with "
            "continuous values."
        ),
    ),
    (
        "y-2d",
        fit(y=np.c_[y, y]),
        ValueError,
        whole("y should be a 1d array, got an array of shape (20, 2) instead."),
    ),
    (
        "y-length",
        fit(y=y[:-1]),
        ValueError,
        whole("Found input variables with inconsistent numbers of samples: [20, 19]"),
    ),
    (
        "sample_weight-nan",
        fit_with(sample_weight=_with(ONES, 5, np.nan)),
        ValueError,
        whole("Input sample_weight contains NaN."),
    ),
    (
        "sample_weight-inf",
        fit_with(sample_weight=_with(ONES, 5, np.inf)),
        ValueError,
        whole(
            "Input sample_weight contains infinity or a value too large for "
            "dtype('float64')."
        ),
    ),
    (
        "sample_weight-length",
        fit_with(sample_weight=ONES[:-1]),
        ValueError,
        whole("sample_weight.shape == (19,), expected (20,)!"),
    ),
    (
        "sample_weight-2d",
        fit_with(sample_weight=np.ones((20, 2))),
        ValueError,
        whole(
            "Sample weights must be 1D array or scalar, got 2D array. Expected either "
            "a scalar value or a 1D array of length 20."
        ),
    ),
    (
        "sample_weight-negative",
        fit_with(sample_weight=_with(ONES, 0, -1.0)),
        ValueError,
        whole("Negative values in data passed to `sample_weight`."),
    ),
    (
        "sample_weight-all-zero",
        fit_with(sample_weight=np.zeros(20)),
        ValueError,
        whole("Sample weights must contain at least one non-zero number."),
    ),
    (
        "class_weight-all-zero",
        fit(class_weight={0: 0.0, 1: 0.0}),
        ValueError,
        whole(
            "The training weights (sample_weight times class_weight) sum to zero: at "
            "least one row needs a positive weight."
        ),
    ),
    (
        "class_weight-negative",
        fit(class_weight={0: -1.0, 1: 3.0}),
        ValueError,
        whole(
            "class_weight={0: -1.0, 1: 3.0} gives a class a negative or non-finite "
            "weight; class weights must be finite and >= 0."
        ),
    ),
    (
        "class_weight-nan",
        fit(class_weight={0: np.nan, 1: 1.0}),
        ValueError,
        whole(
            "class_weight={0: nan, 1: 1.0} gives a class a negative or non-finite "
            "weight; class weights must be finite and >= 0."
        ),
    ),
    (
        "class_weight-unknown-class",
        fit(class_weight={0: 1.0, 5: 1.0}),
        ValueError,
        whole("The classes, [1], are not in class_weight"),
    ),
    (
        "coef_init-shape",
        fit_with(coef_init=np.ones((2, 3))),
        ValueError,
        whole(
            "Provided coef_init does not match dataset: it has shape (2, 3); this "
            "problem needs (1, 3) (n_outputs, n_features)."
        ),
    ),
    (
        "coef_init-nan",
        fit_with(coef_init=_with(np.ones((1, 3)), (0, 1), np.nan)),
        ValueError,
        whole("Input coef_init contains NaN."),
    ),
    (
        "intercept_init-size",
        fit_with(intercept_init=[0.0, 1.0]),
        ValueError,
        whole(
            "Provided intercept_init does not match dataset: it has 2 values; this "
            "problem needs 1."
        ),
    ),
    (
        "intercept_init-inf",
        fit_with(intercept_init=[np.inf]),
        ValueError,
        whole(
            "Input intercept_init contains infinity or a value too large for "
            "dtype('float64')."
        ),
    ),
    (
        "early_stopping-too-few-samples",
        fit(X=X[:4], y=y[:4], early_stopping=True),
        ValueError,
        whole(
            "early_stopping=True cannot split 4 samples of 2 classes with "
            "validation_fraction=0.1 (1 held out): a stratified split needs at least "
            "2 samples of each class and at least 2 samples on each side. Change "
            "validation_fraction, add samples, or set early_stopping=False."
        ),
    ),
    (
        "early_stopping-validation-weights-zero",
        lambda: GDClassifier(early_stopping=True, validation_fraction=0.2, **QUIET).fit(
            X, y, sample_weight=_with(ONES, _validation_rows(0.2, 0), 0.0)
        ),
        ValueError,
        whole(
            "The sample weights for validation set are all zero, consider using a "
            "different random state. (Early stopping would have no validation "
            "score; another validation_fraction, or early_stopping=False, also "
            "works.)"
        ),
    ),
    # -- partial_fit --------------------------------------------------------------
    (
        "partial_fit-no-classes",
        partial_fit({}),
        ValueError,
        whole(
            "classes must be passed on the first call to partial_fit: the list of all "
            "the classes of the stream, e.g. np.unique(y_all)."
        ),
    ),
    (
        "partial_fit-classes-without-y",
        partial_fit({"classes": [0, 2]}),
        ValueError,
        whole("y contains labels [1] that are not in classes [0, 2]."),
    ),
    (
        "partial_fit-classes-none-among-ints",
        partial_fit({"classes": [0, 1, None]}),
        TypeError,
        whole(
            "classes mixes labels of types ['NoneType', 'int'], which cannot be "
            "ordered; class labels must be all strings or all numbers (no None)."
        ),
    ),
    (
        "partial_fit-one-class",
        partial_fit({"classes": [0]}),
        ValueError,
        whole("classes must hold at least two classes; got [0]."),
    ),
    (
        "partial_fit-other-classes-later",
        partial_fit({"classes": [0, 1]}, {"classes": np.array([0, 1, 2])}),
        ValueError,
        whole(
            "classes=[0, 1, 2] is not the same as in the first call to partial_fit, "
            "[0, 1]."
        ),
    ),
    (
        "partial_fit-other-n-features-later",
        partial_fit({"classes": [0, 1]}, {"X": X[:, :2]}),
        ValueError,
        whole("X has 2 features, but GDClassifier is expecting 3 features as input."),
    ),
    (
        "partial_fit-unknown-label-later",
        partial_fit({"classes": [0, 1]}, {"y": y3}),
        ValueError,
        whole("y contains labels [2] that are not in classes [0, 1]."),
    ),
    (
        "partial_fit-early_stopping",
        partial_fit({"classes": [0, 1]}, early_stopping=True),
        ValueError,
        whole(
            "early_stopping should be False with partial_fit: partial_fit runs one "
            "epoch per call, with no validation split of its own. Set "
            "early_stopping=False (a stream can be monitored with partial_fit's "
            "validation_data)."
        ),
    ),
    (
        "partial_fit-balanced",
        partial_fit({"classes": [0, 1]}, class_weight="balanced"),
        ValueError,
        whole(
            "class_weight 'balanced' is not supported for partial_fit. In order to "
            "use 'balanced' weights, use compute_class_weight('balanced', "
            "classes=classes, y=y). In place of y you can use a large enough sample "
            "of the full training set target to properly estimate the class "
            "frequency distributions. Pass the resulting weights as the "
            "class_weight parameter. (partial_fit sees one chunk at a time, not "
            "the frequencies of all the data; compute_class_weight is in "
            "sklearn.utils.)"
        ),
    ),
    # -- prediction ---------------------------------------------------------------
    ("predict-before-fit", unfitted("predict"), NotFittedError, whole(NOT_FITTED)),
    (
        "predict_proba-before-fit",
        unfitted("predict_proba"),
        NotFittedError,
        whole(NOT_FITTED),
    ),
    (
        "predict_log_proba-before-fit",
        unfitted("predict_log_proba"),
        NotFittedError,
        whole(NOT_FITTED),
    ),
    (
        "decision_function-before-fit",
        unfitted("decision_function"),
        NotFittedError,
        whole(NOT_FITTED),
    ),
    (
        "predict-after-a-diverged-fit",
        after_divergence,
        NotFittedError,
        whole(NOT_FITTED),
    ),
    (
        "predict-after-a-diverged-refit",
        after_divergence_of_a_refit,
        NotFittedError,
        whole(NOT_FITTED),
    ),
    (
        "predict-other-n-features",
        fitted("predict", X[:, :2]),
        ValueError,
        whole("X has 2 features, but GDClassifier is expecting 3 features as input."),
    ),
    (
        "predict-nan",
        fitted("predict", _with(X, (1, 1), np.nan)),
        ValueError,
        first_line("Input X contains NaN."),
    ),
    (
        "predict_proba-hinge",
        fitted("predict_proba", X, loss="hinge"),
        AttributeError,
        whole("This 'GDClassifier' has no attribute 'predict_proba'"),
    ),
    (
        "predict_proba-custom-loss-without-proba",
        fitted("predict_proba", X, loss=NoProba()),
        AttributeError,
        whole("This 'GDClassifier' has no attribute 'predict_proba'"),
    ),
    # -- one hyperparameter out of its constraints ----------------------------------
    (
        "loss-unknown",
        fit(loss="exponential"),
        InvalidParameterError,
        constraint(
            "loss",
            "a str among "
            + any_order(*LOSS_NAMES)
            + " or an instance of 'skgd\\.losses\\.Loss'",
            "'exponential'",
        ),
    ),
    (
        "loss-class-not-instance",
        fit(loss=losses.LogLoss),
        InvalidParameterError,
        constraint(
            "loss",
            "a str among "
            + any_order(*LOSS_NAMES)
            + " or an instance of 'skgd\\.losses\\.Loss'",
            "<class 'skgd.losses.LogLoss'>",
        ),
    ),
    (
        "loss-duck-typed",
        fit(loss=DuckLoss()),
        InvalidParameterError,
        r"^The 'loss' parameter of GDClassifier must be a str among .* or an instance "
        r"of 'skgd\.losses\.Loss'\. Got <[\w.]*DuckLoss object at 0x[0-9a-f]+> "
        r"instead\.\Z",
    ),
    (
        "penalty-unknown",
        fit(penalty="l3"),
        InvalidParameterError,
        constraint(
            "penalty",
            "a str among "
            + any_order("l2", "l1", "elasticnet")
            + ", an instance of 'skgd\\.penalties\\.Penalty' or None",
            "'l3'",
        ),
    ),
    (
        "penalty-none-string",
        fit(penalty="none"),
        InvalidParameterError,
        constraint(
            "penalty",
            "a str among "
            + any_order("l2", "l1", "elasticnet")
            + ", an instance of 'skgd\\.penalties\\.Penalty' or None",
            "'none'",
        ),
    ),
    (
        "alpha-negative",
        fit(alpha=-1.0),
        InvalidParameterError,
        constraint("alpha", r"a float in the range \[0\.0, inf\)", "-1.0"),
    ),
    (
        "alpha-nan",
        fit(alpha=np.nan),
        InvalidParameterError,
        constraint("alpha", r"a float in the range \[0\.0, inf\)", "nan"),
    ),
    (
        "l1_ratio-above-1",
        fit(l1_ratio=1.5),
        InvalidParameterError,
        constraint("l1_ratio", r"a float in the range \[0\.0, 1\.0\] or None", "1.5"),
    ),
    (
        "fit_intercept-int",
        fit(fit_intercept=1),
        InvalidParameterError,
        constraint("fit_intercept", BOOLEAN, "1"),
    ),
    (
        "max_iter-zero",
        fit(max_iter=0),
        InvalidParameterError,
        constraint("max_iter", r"an int in the range \[1, inf\)", "0"),
    ),
    (
        "max_iter-float",
        fit(max_iter=5.0),
        InvalidParameterError,
        constraint("max_iter", r"an int in the range \[1, inf\)", "5.0"),
    ),
    (
        "tol-negative",
        fit(tol=-1.0),
        InvalidParameterError,
        constraint("tol", r"a float in the range \[0\.0, inf\) or None", "-1.0"),
    ),
    (
        "shuffle-string",
        fit(shuffle="yes"),
        InvalidParameterError,
        constraint("shuffle", BOOLEAN, "'yes'"),
    ),
    (
        "verbose-negative",
        fit(verbose=-1),
        InvalidParameterError,
        constraint("verbose", r"an int in the range \[0, inf\), " + BOOLEAN, "-1"),
    ),
    (
        "epsilon-negative",
        fit(epsilon=-0.1),
        InvalidParameterError,
        constraint("epsilon", r"a float in the range \[0\.0, inf\)", "-0.1"),
    ),
    (
        "n_jobs-zero",
        fit(n_jobs=0),
        InvalidParameterError,
        constraint(
            "n_jobs",
            r"an int in the range \(-inf, -1\], an int in the range "
            r"\[1, inf\) or None",
            "0",
        ),
    ),
    (
        "n_jobs-float",
        fit(n_jobs=1.5),
        InvalidParameterError,
        constraint(
            "n_jobs",
            r"an int in the range \(-inf, -1\], an int in the range "
            r"\[1, inf\) or None",
            "1.5",
        ),
    ),
    (
        "random_state-string",
        fit(random_state="a"),
        InvalidParameterError,
        constraint(
            "random_state",
            r"an int in the range \[0, 4294967295\], an instance "
            r"of 'numpy\.random\.mtrand\.RandomState' or None",
            "'a'",
        ),
    ),
    (
        "learning_rate-unknown",
        fit(learning_rate="bogus"),
        InvalidParameterError,
        constraint(
            "learning_rate",
            "a str among "
            + any_order(*SCHEDULE_NAMES)
            + " or an instance of 'skgd\\.schedules\\.Schedule'",
            "'bogus'",
        ),
    ),
    (
        "eta0-zero",
        fit(eta0=0.0),
        InvalidParameterError,
        constraint("eta0", r"a float in the range \(0\.0, inf\)", "0.0"),
    ),
    (
        "eta0-inf",
        fit(eta0=np.inf),
        InvalidParameterError,
        constraint("eta0", r"a float in the range \(0\.0, inf\)", "inf"),
    ),
    (
        # (Negative is accepted with SGDClassifier's FutureWarning.)
        "power_t-nan",
        fit(power_t=np.nan),
        InvalidParameterError,
        constraint("power_t", r"a float in the range \(-inf, inf\)", "nan"),
    ),
    (
        "early_stopping-string",
        fit(early_stopping="no"),
        InvalidParameterError,
        constraint("early_stopping", BOOLEAN, "'no'"),
    ),
    (
        "restore_best_weights-string",
        fit(restore_best_weights="yes"),
        InvalidParameterError,
        constraint("restore_best_weights", BOOLEAN, "'yes'"),
    ),
    (
        "validation_fraction-one",
        fit(validation_fraction=1.0),
        InvalidParameterError,
        constraint(
            "validation_fraction", r"a float in the range \(0\.0, 1\.0\)", "1.0"
        ),
    ),
    (
        "n_iter_no_change-zero",
        fit(n_iter_no_change=0),
        InvalidParameterError,
        constraint("n_iter_no_change", r"an int in the range \[1, inf\)", "0"),
    ),
    (
        "class_weight-list",
        fit(class_weight=[1, 2]),
        InvalidParameterError,
        constraint(
            "class_weight",
            r"a str among \{'balanced'\}, an instance of 'dict' "
            "or None",
            "[1, 2]",
        ),
    ),
    (
        "warm_start-none",
        fit(warm_start=None),
        InvalidParameterError,
        constraint("warm_start", BOOLEAN, "None"),
    ),
    (
        "average-negative",
        fit(average=-1),
        InvalidParameterError,
        constraint("average", r"an int in the range \(0, inf\) or " + BOOLEAN, "-1"),
    ),
    (
        "batch_size-zero",
        fit(batch_size=0),
        InvalidParameterError,
        constraint(
            "batch_size",
            r"an int in the range \[1, inf\) or a str among "
            r"\{'full'\}",
            "0",
        ),
    ),
    (
        "batch_size-unknown-string",
        fit(batch_size="all"),
        InvalidParameterError,
        constraint(
            "batch_size",
            r"an int in the range \[1, inf\) or a str among "
            r"\{'full'\}",
            "'all'",
        ),
    ),
    (
        "batch_size-float",
        fit(batch_size=1.5),
        InvalidParameterError,
        constraint(
            "batch_size",
            r"an int in the range \[1, inf\) or a str among "
            r"\{'full'\}",
            "1.5",
        ),
    ),
    (
        "optimizer-unknown",
        fit(optimizer="lbfgs"),
        InvalidParameterError,
        constraint(
            "optimizer",
            "a str among "
            + any_order(*OPTIMIZER_NAMES)
            + " or an instance of 'skgd\\.optimizers\\.Optimizer'",
            "'lbfgs'",
        ),
    ),
    # -- hyperparameters that do not go together ----------------------------------
    (
        "optimal-without-alpha",
        fit(alpha=0.0, learning_rate="optimal"),
        ValueError,
        whole(
            "alpha must be > 0 with learning_rate='optimal': the 'optimal' schedule "
            "is 1 / (alpha * (t0 + t - 1)). Use another learning_rate or a positive "
            "alpha."
        ),
    ),
    (
        "auto-at-batch-1-without-alpha",
        fit(alpha=0.0),
        ValueError,
        whole(
            "learning_rate='auto' is 'optimal' for batch_size=1 with plain SGD "
            "(scikit-learn's default), which is 1 / (alpha * (t0 + t - 1)) and needs "
            "alpha > 0. Use a positive alpha or another learning_rate."
        ),
    ),
    (
        "elasticnet-without-l1_ratio",
        fit(penalty="elasticnet", l1_ratio=None),
        ValueError,
        whole(
            "l1_ratio must be set when penalty is 'elasticnet'. Got l1_ratio=None; "
            "use a float in [0, 1] (0 is pure L2, 1 pure L1)."
        ),
    ),
    (
        "pa1-with-log_loss",
        fit(learning_rate="pa1", loss="log_loss"),
        ValueError,
        whole(
            "learning_rate='pa1' needs a binary loss whose slope is +1 or -1 wherever "
            "it is positive ('hinge', 'perceptron' or 'epsilon_insensitive'); got "
            "loss='log_loss'."
        ),
    ),
    (
        "pa2-with-mini-batches",
        fit(learning_rate="pa2", batch_size=8),
        ValueError,
        whole(
            "learning_rate='pa2' is a per-sample rule: it needs batch_size=1 and "
            "optimizer='sgd'; got batch_size=8, optimizer='sgd'."
        ),
    ),
    (
        "pa1-with-adam",
        fit(learning_rate="pa1", optimizer="adam"),
        ValueError,
        whole(
            "learning_rate='pa1' is a per-sample rule: it needs batch_size=1 and "
            "optimizer='sgd'; got batch_size=1, optimizer='adam'."
        ),
    ),
    # -- custom components missing a method ---------------------------------------
    (
        "loss-without-gradient",
        fit(loss=NoGradient()),
        TypeError,
        whole(
            "loss=NoGradient() does not implement gradient(); a custom Loss must "
            "define it."
        ),
    ),
    (
        "loss-without-loss",
        fit(loss=NoLoss()),
        TypeError,
        whole("loss=NoLoss() does not implement loss(); a custom Loss must define it."),
    ),
    (
        "optimizer-without-update",
        fit(optimizer=NoUpdate()),
        TypeError,
        whole(
            "optimizer=NoUpdate() does not implement update(); a custom Optimizer "
            "must define it."
        ),
    ),
    (
        "schedule-without-rate",
        fit(learning_rate=NoRate()),
        TypeError,
        whole(
            "learning_rate=NoRate() does not implement rate(); a custom Schedule must "
            "define it."
        ),
    ),
    # -- a step size that diverges ------------------------------------------------
    (
        "divergence-constant-eta0",
        # (As in SGDClassifier, the L2 decay is clamped at 0 and the loss's
        # derivative at 1e12: only rows this large overflow the scores.)
        fit(X=X * 1e200, learning_rate="constant", eta0=1e10, max_iter=5),
        ValueError,
        DIVERGED,
    ),
    (
        "divergence-mini-batch-momentum",
        fit(
            X=X * 1e6,
            loss="squared_error",
            batch_size=4,
            optimizer="momentum",
            learning_rate="constant",
            eta0=1e10,
        ),
        ValueError,
        ROSE,
    ),
    (
        "divergence-optimal-small-alpha",
        fit(X=X * 1e200, loss="squared_error", alpha=1e-12),
        ValueError,
        DIVERGED,
    ),
    (
        "divergence-partial_fit",
        partial_fit(
            {"X": X * 1e200, "classes": [0, 1]},
            loss="squared_error",
            learning_rate="invscaling",
            eta0=1e10,
        ),
        ValueError,
        DIVERGED,
    ),
]


@pytest.mark.parametrize(
    "call, error, pattern",
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_bad_input_gets_its_exact_error(call, error, pattern):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(error) as info:
            call()
    assert info.type is error  # not a subclass: InvalidParameterError is listed
    assert re.search(pattern, str(info.value)), str(info.value)


def test_the_catalogue_names_every_hyperparameter():
    """Every constructor parameter has at least one case of a bad value."""
    ids = {case[0] for case in CASES}
    for name in GDClassifier().get_params():
        assert any(i.startswith(name + "-") for i in ids), name


def test_no_proba_says_which_losses_have_it():
    """The AttributeError of a missing predict_proba carries the reason."""
    est = GDClassifier(loss="hinge")
    with pytest.raises(AttributeError) as info:
        est.predict_proba(X)
    assert str(info.value.__cause__) == (
        "probability estimates are not available for loss='hinge'; use "
        "'log_loss', 'modified_huber' or 'softmax'."
    )


# -- extreme but valid inputs -------------------------------------------------


@pytest.mark.parametrize("scale", [1e6, 1e-6])
@pytest.mark.parametrize("batch_size", [1, 8, "full"])
@pytest.mark.parametrize("loss", ["hinge", "log_loss", "softmax"])
def test_feature_scale_1e6_and_1e_minus_6(scale, batch_size, loss, multiclass):
    """Scaling X by s and eta0 by 1 / s**2 scales the whole trajectory by 1 / s.

    Without intercept and penalty, the gradient in the scaled weights is s
    times the original, so each step is the original step divided by s: the
    scores, and so the predictions, are the same at any scale.
    """
    X, y = multiclass
    params = dict(
        loss=loss,
        batch_size=batch_size,
        learning_rate="constant",
        eta0=0.05,
        penalty=None,
        fit_intercept=False,
        random_state=0,
        max_iter=5,
        tol=None,
    )
    ref = GDClassifier(**params).fit(X, y)
    scaled = GDClassifier(**dict(params, eta0=0.05 / scale**2)).fit(X * scale, y)
    np.testing.assert_allclose(scaled.coef_ * scale, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(
        scaled.decision_function(X * scale), ref.decision_function(X), rtol=1e-10
    )
    np.testing.assert_array_equal(scaled.predict(X * scale), ref.predict(X))


@pytest.mark.parametrize("loss", ["softmax", "log_loss"])
def test_identical_rows_with_different_labels_give_the_class_frequencies(loss):
    """Rows that cannot be told apart: the optimum predicts how often each
    label occurs among them (the maximum-likelihood estimate)."""
    X = np.ones((50, 2))
    y = np.repeat(["a", "b", "c"], [25, 15, 10])
    est = GDClassifier(
        loss=loss,
        penalty=None,
        batch_size="full",
        learning_rate="constant",
        eta0=1.0,
        max_iter=500,
        tol=None,
    ).fit(X, y)
    proba = est.predict_proba(X)
    frequencies = [0.5, 0.3, 0.2]
    if loss == "softmax":
        np.testing.assert_allclose(proba, np.tile(frequencies, (50, 1)), atol=1e-6)
    else:
        # One-vs-rest: each column reaches its own frequency, then the columns
        # are normalised to sum to one; the order stays.
        assert (proba.argsort(axis=1) == [2, 1, 0]).all()
    assert (est.predict(X) == "a").all()


@pytest.mark.parametrize("fmt", ["dense", "csr"])
@pytest.mark.parametrize("loss", ["hinge", "softmax"])
def test_an_all_zero_feature_keeps_a_zero_weight(fmt, loss, multiclass):
    """A constant 0 feature: weight exactly 0, the rest as without it."""
    X, y = multiclass
    padded = np.insert(X, 2, 0.0, axis=1)
    if fmt == "csr":
        X, padded = sp.csr_matrix(X), sp.csr_matrix(padded)
    params = dict(
        loss=loss,
        penalty="elasticnet",
        batch_size="full",
        learning_rate="constant",
        eta0=0.1,
        max_iter=10,
        tol=None,
    )
    ref = GDClassifier(**params).fit(X, y)
    est = GDClassifier(**params).fit(padded, y)
    assert (est.coef_[:, 2] == 0.0).all()
    np.testing.assert_allclose(np.delete(est.coef_, 2, axis=1), ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-10)


@pytest.mark.parametrize("batch_size", [1, 4, "full"])
def test_a_constant_one_feature_is_an_intercept(batch_size, multiclass):
    """Without penalty, the weight of a constant-1 column moves as an
    (unpenalised) intercept does: the two models are the same."""
    X, y = multiclass
    params = dict(
        loss="log_loss",
        penalty=None,
        batch_size=batch_size,
        learning_rate="constant",
        eta0=0.1,
        max_iter=5,
        tol=None,
        random_state=0,
    )
    ref = GDClassifier(**params).fit(X, y)
    est = GDClassifier(fit_intercept=False, **params).fit(np.c_[X, np.ones(len(y))], y)
    np.testing.assert_allclose(est.coef_[:, :-1], ref.coef_, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(est.coef_[:, -1], ref.intercept_, rtol=1e-10)


@pytest.mark.parametrize("loss", ["softmax", "multiclass_hinge", "hinge", "log_loss"])
def test_a_single_sample_per_class_is_learnt(loss):
    """Five affinely independent points, one per class: any labelling is
    linearly separable, so training predicts every training label."""
    X = np.random.default_rng(1).normal(size=(5, 4))
    y = np.array(["v", "w", "x", "y", "z"])
    est = GDClassifier(
        loss=loss,
        penalty=None,
        batch_size="full",
        learning_rate="constant",
        eta0=0.5,
        max_iter=300,
        tol=None,
    ).fit(X, y)
    assert est.coef_.shape == (5, 4)
    np.testing.assert_array_equal(est.predict(X), y)


def _one_sample_per_class(n_classes, n_features, dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_classes, n_features)).astype(dtype)
    return X, np.arange(n_classes) * 7  # labels that are not their indices


@pytest.mark.filterwarnings("ignore:The number of unique classes:UserWarning")
def test_ten_thousand_classes_one_vs_rest():
    """10 000 classes of one sample: each one-vs-rest column is the binary
    model of its class against the rest (same rows, order and clock).

    float32 keeps the +1/-1 targets, one per sample and class, at 400 MB.
    """
    X, y = _one_sample_per_class(10_000, 8, np.float32)
    params = dict(loss="hinge", max_iter=1, tol=None, random_state=0)
    est = GDClassifier(**params).fit(X, y)
    assert est.coef_.shape == (10_000, 8) and est.coef_.dtype == np.float32
    np.testing.assert_array_equal(est.classes_, y)
    for j in [0, 4_999, 9_999]:
        binary = GDClassifier(**params).fit(X, y == y[j])
        # Each column's arithmetic is its own in the kernel: bit for bit.
        np.testing.assert_array_equal(est.coef_[j], binary.coef_[0])
        np.testing.assert_array_equal(est.intercept_[j], binary.intercept_[0])
    scores = est.decision_function(X[:100])
    assert scores.shape == (100, 10_000) and np.isfinite(scores).all()
    assert np.isin(est.predict(X[:100]), y).all()


@pytest.mark.filterwarnings("ignore:The number of unique classes:UserWarning")
def test_ten_thousand_classes_softmax(monkeypatch):
    """10 000 classes of one sample, softmax; on a chunk of rows with all the
    classes, the compiled epoch agrees with the NumPy engine at this width."""
    X, y = _one_sample_per_class(10_000, 8, np.float64)
    params = dict(
        loss="softmax",
        batch_size=64,
        learning_rate="constant",
        eta0=0.5,
        max_iter=1,
        tol=None,
        random_state=0,
    )
    est = GDClassifier(**params).fit(X, y)
    assert est.coef_.shape == (10_000, 8) and np.isfinite(est.coef_).all()
    proba = est.predict_proba(X[:100])
    assert proba.shape == (100, 10_000)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.isin(est.predict(X[:100]), y).all()

    compiled = GDClassifier(**params).partial_fit(X[:640], y[:640], classes=y)
    monkeypatch.setattr(_compiled, "ENABLED", False)
    numpy = GDClassifier(**params).partial_fit(X[:640], y[:640], classes=y)
    np.testing.assert_allclose(compiled.coef_, numpy.coef_, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(
        compiled.intercept_, numpy.intercept_, rtol=1e-10, atol=1e-14
    )


@pytest.fixture(scope="module")
def wide():
    """2000 rows of 1e6 features with 10 non-zeros each, three classes."""
    rng = np.random.default_rng(0)
    n, d, k = 2000, 1_000_000, 10
    columns = np.sort(rng.choice(d, size=(n, k)), axis=1)
    X = sp.csr_matrix(
        (rng.normal(size=n * k), columns.ravel(), np.arange(0, n * k + 1, k)),
        shape=(n, d),
    )
    X.sum_duplicates()
    return X, rng.integers(0, 3, size=n)


@pytest.mark.parametrize(
    "params",
    [
        dict(),
        dict(n_jobs=2),
        dict(loss="log_loss", penalty="l1", batch_size=16),
        dict(loss="softmax", batch_size="full", learning_rate="constant", eta0=0.5),
        # RMSProp decays every coordinate's mean square at each step: O(1e6)
        # per batch, so few batches.
        dict(loss="multiclass_hinge", batch_size=128, optimizer="rmsprop"),
    ],
    ids=["default", "n_jobs=2", "l1-mini-batch", "softmax-full", "rmsprop"],
)
def test_a_million_sparse_features(params, wide):
    """Columns no row touches keep weight 0; the others are the weights of
    the same data without those columns."""
    X, y = wide
    used = np.unique(X.indices)
    params = dict(params, max_iter=2, tol=None, random_state=0)
    est = GDClassifier(**params).fit(X, y)
    ref = GDClassifier(**params).fit(X[:, used], y)
    assert est.coef_.shape == (3, 1_000_000)
    assert not np.delete(est.coef_, used, axis=1).any()
    np.testing.assert_allclose(est.coef_[:, used], ref.coef_, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-10)
    np.testing.assert_array_equal(est.predict(X), ref.predict(X[:, used]))
