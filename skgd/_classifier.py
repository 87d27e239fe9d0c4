"""The estimator shell: GDClassifier and its presets.

Parameters, validation, fit/partial_fit orchestration, predictions and tags.
The numbers are computed by the objective (``_objective``) and the engine
(``_engine``); this module never does arithmetic on ``X`` beyond calling them.
"""

import functools
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.utils import assert_all_finite, check_random_state, compute_class_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from skgd import _dask
from skgd._callbacks import CallbackSupportMixin, EpochTasks
from skgd._engine import Engine, train
from skgd._objective import Objective, linear_scores
from skgd.losses import LOSS_NAMES, Loss, get_loss
from skgd.optimizers import OPTIMIZER_NAMES, SGD, Optimizer, get_optimizer
from skgd.penalties import Penalty, get_penalty
from skgd.schedules import Schedule, get_schedule

_SCHEDULE_NAMES = {"constant", "optimal", "invscaling", "adaptive", "pa1", "pa2"}


# Set by partial_fit's validation monitoring; fit starts without them.
_MONITOR_ATTRIBUTES = (
    "best_coef_",
    "best_intercept_",
    "n_calls_no_improvement_",
    "stopped_improving_",
)


def _accuracy_scorer(X_val, y_val, w_val):
    """``(coef, intercept) -> accuracy`` on held-out rows (class indices)."""

    def score(coef, intercept):
        Z = linear_scores(X_val, coef, intercept)
        pred = (Z[:, 0] > 0).astype(int) if Z.shape[1] == 1 else Z.argmax(axis=1)
        return accuracy_score(y_val, pred, sample_weight=w_val)

    return score


def _require_method(obj, base, method, parameter):
    """TypeError if a component subclass left an abstract method unimplemented."""
    if getattr(type(obj), method) is getattr(base, method):
        raise TypeError(
            f"{parameter}={obj!r} does not implement {method}(); a custom "
            f"{base.__name__} must define it."
        )


def _unorderable(name, labels):
    """The TypeError for labels of types that NumPy cannot sort (None, str)."""
    kinds = sorted({type(label).__name__ for label in np.ravel(labels).tolist()})
    return TypeError(
        f"{name} mixes labels of types {kinds}, which cannot be ordered; class "
        "labels must be all strings or all numbers (no None)."
    )


def _sorted_labels(labels, name):
    """``np.unique(labels)``, with an error that names ``name`` if it fails."""
    try:
        return np.unique(np.asarray(labels))
    except TypeError as exc:
        raise _unorderable(name, labels) from exc


def _unfitted_on_error(fit_method):
    """A fit that raises leaves the estimator unfitted, never half-fitted.

    Otherwise a fit that fails midway (training diverged, labels rejected
    after ``X`` was accepted) leaves this call's ``classes_`` and
    ``n_features_in_`` next to an earlier fit's weights, or next to no
    weights: ``predict`` then answers with the wrong labels or an
    AttributeError. ``partial_fit`` keeps the model it had before a failed
    call; only its first call starts from nothing. (KeyboardInterrupt is
    not an error: the user stopped training and keeps what is there.)
    """

    @functools.wraps(fit_method)
    def wrapper(self, *args, **kwargs):
        fresh = fit_method.__name__ == "fit" or not hasattr(self, "coef_")
        try:
            return fit_method(self, *args, **kwargs)
        except Exception:
            if fresh:
                fitted = [name for name in vars(self) if name.endswith("_")]
                for name in fitted + ["_state", "_engine"]:
                    self.__dict__.pop(name, None)
            raise

    return wrapper


class GDClassifier(CallbackSupportMixin, ClassifierMixin, BaseEstimator):
    r"""Linear classifier trained by (stochastic, mini-batch or full-batch)
    gradient descent.

    A drop-in superset of :class:`sklearn.linear_model.SGDClassifier`: every
    parameter of SGDClassifier keeps its name, default and meaning, and with
    the new parameters at their defaults (``batch_size=1``,
    ``optimizer="sgd"``) the model is trained the way SGDClassifier trains
    it. On top of that the descent mode (``batch_size``), the update rule
    (``optimizer``) and two multiclass losses (``"softmax"``,
    ``"multiclass_hinge"``) are hyperparameters.

    **The objective.** With scores :math:`z_i = W x_i + b`, sample weights
    :math:`w_i` (sample weight times class weight) and penalty :math:`R`,

    .. math:: F(W, b) = \frac{\sum_i w_i L(z_i, y_i)}{\sum_i w_i} + \alpha R(W).

    A weight of 2 is the same as a repeated row, and unit weights give the
    plain mean. Each step follows an unbiased estimate of :math:`\nabla F`:
    for a batch :math:`B` of the :math:`n` training rows,
    :math:`\frac{n}{|B| \sum_i w_i}\sum_{i\in B} w_i \nabla L_i + \alpha\nabla R`.
    So ``eta0`` means the same thing at every batch size. SGDClassifier scales
    each sample's step by its raw weight instead; the two agree whenever the
    weights average to 1 (in particular without weights and with
    ``class_weight="balanced"``).

    Parameters
    ----------
    loss : str or skgd.losses.Loss, default="hinge"
        The loss. SGDClassifier's ``"hinge"``, ``"log_loss"``,
        ``"modified_huber"``, ``"squared_hinge"``, ``"perceptron"``,
        ``"squared_error"``, ``"huber"``, ``"epsilon_insensitive"`` and
        ``"squared_epsilon_insensitive"`` are binary margin losses, applied
        one-vs-rest to more than two classes (all columns are trained side by
        side on the same batches). ``"softmax"`` (multinomial cross-entropy)
        and ``"multiclass_hinge"`` (Weston–Watkins multiclass SVM) train one
        joint model. ``"log_loss"``, ``"modified_huber"`` and ``"softmax"``
        give probabilities. An instance of a subclass of
        :class:`skgd.losses.BinaryLoss` or :class:`skgd.losses.MulticlassLoss`
        is used as given.
    penalty : {"l2", "l1", "elasticnet"}, skgd.penalties.Penalty or None, default="l2"
        The regularizer; L1 parts give exact zeros (cumulative truncation).
    alpha : float, default=1e-4
        Strength of the penalty; also sets the ``"optimal"`` schedule.
    l1_ratio : float or None, default=0.15
        Elastic-net mixing, in [0, 1]; only with ``penalty="elasticnet"``.
    fit_intercept : bool, default=True
        Whether to fit the intercept (never penalised).
    max_iter : int, default=1000
        Maximum number of epochs of :meth:`fit`.
    tol : float or None, default=1e-3
        Stop when the epoch objective has not fallen below its best minus
        ``tol`` (with early stopping: the validation score has not risen above
        its best plus ``tol``) for ``n_iter_no_change`` epochs. None: run all
        ``max_iter`` epochs.
    shuffle : bool, default=True
        Shuffle the rows before each epoch (mini-batch and stochastic modes;
        full-batch descent needs no order).
    verbose : int, default=0
        Print one line per epoch: objective, weight norm, the step size of
        the next update, non-zeros, updates so far, validation score (with
        ``early_stopping``) and elapsed time.
    epsilon : float, default=0.1
        Epsilon of the ``"huber"``, ``"epsilon_insensitive"`` and
        ``"squared_epsilon_insensitive"`` losses.
    n_jobs : int or None, default=None
        Threads for the one-vs-rest columns of a multiclass model with a
        binary loss, as in SGDClassifier (None means 1 unless in a
        :func:`joblib.parallel_backend` context, -1 means all cores). The
        columns are split into groups trained side by side where the compiled
        epoch works row by row (batch 1 on dense data, any batch on CSR data);
        the result is bit for bit the same for every ``n_jobs``. Dense
        mini-batches are matrix products over all columns, spread over two
        OpenMP threads (bounded by ``OMP_NUM_THREADS`` and threadpoolctl, as in
        scikit-learn), whatever ``n_jobs``; softmax, the multiclass hinge and
        user-defined components do not split columns.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling and the validation split.
    learning_rate : str or skgd.schedules.Schedule, default="optimal"
        The step-size schedule :math:`\eta_t`, as in SGDClassifier, where
        :math:`t` counts updates (one per batch):

        - ``"constant"``: :math:`\eta_t = \eta_0`;
        - ``"optimal"``: :math:`\eta_t = 1 / (\alpha (t_0 + t - 1))` with
          Bottou's :math:`t_0`;
        - ``"invscaling"``: :math:`\eta_t = \eta_0 / t^p` with :math:`p` =
          ``power_t``;
        - ``"adaptive"``: :math:`\eta_0`, divided by 5 whenever training stops
          improving;
        - ``"pa1"``, ``"pa2"``: passive-aggressive steps (hinge loss,
          ``batch_size=1``, plain SGD only).

        The adaptive optimizers multiply their own per-coordinate scaling by
        :math:`\eta_t` too; with ``"adam"`` a ``"constant"`` rate of about
        1e-3 to 1e-2 is the usual choice.
    eta0 : float, default=0.01
        The initial rate of ``"constant"``, ``"invscaling"`` and
        ``"adaptive"``; the aggressiveness C of ``"pa1"``/``"pa2"``.
    power_t : float, default=0.5
        Exponent of ``"invscaling"``, >= 0.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training rows (stratified) and
        stop when the validation accuracy stops improving. Unlike
        SGDClassifier, which keeps the last weights, the weights with the best
        validation score are kept.
    validation_fraction : float, default=0.1
        Fraction held out for early stopping, in (0, 1).
    n_iter_no_change : int, default=5
        Epochs without improvement before stopping (or lowering the
        ``"adaptive"`` rate).
    class_weight : dict, "balanced" or None, default=None
        Multiplies the sample weights by the weight of each sample's class.
        ``"balanced"`` uses ``n_samples / (n_classes * np.bincount(y))``.
    warm_start : bool, default=False
        Let :meth:`fit` start from the previous ``coef_``/``intercept_`` and
        continue the optimizer state and the schedule clock. (SGDClassifier
        restarts its schedule at ``t = 1`` even when warm-starting.)
    average : bool or int, default=False
        Averaged SGD: expose the average of the iterates from update
        ``average`` on (True: from the first update).
    batch_size : int >= 1 or "full", default=1
        Rows per step: 1 is stochastic gradient descent (SGDClassifier), a
        larger int mini-batch descent, ``"full"`` deterministic full-batch
        gradient descent. A size above the number of rows means the full
        batch.
    optimizer : str or skgd.optimizers.Optimizer, default="sgd"
        The update rule: ``"sgd"``, ``"momentum"``, ``"nesterov"``,
        ``"adagrad"``, ``"rmsprop"`` or ``"adam"``. A name uses the rule's
        default hyperparameters; pass an instance (e.g.
        ``skgd.optimizers.Adam(beta_1=0.8)``) to set them, and grid-search
        them as ``optimizer__beta_1``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_outputs, n_features)
        Weights; ``n_outputs`` is 1 for two classes, else ``n_classes``.
        float32 for float32 ``X``, float64 otherwise. With ``average`` the
        averaged weights; with ``early_stopping`` the weights of the best
        validation score.
    intercept_ : ndarray of shape (n_outputs,)
        Intercepts.
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`, if they are all strings.
    n_iter_ : int
        Epochs run by the last :meth:`fit` (1 after :meth:`partial_fit`).
    t_ : float
        The schedule clock after training: 1 + the number of optimizer
        updates (batches) since the last reset. With ``batch_size=1`` that is
        SGDClassifier's ``n_iter_ * n_samples + 1``.
    loss_curve_ : list of float
        The training objective of each epoch: the weighted mean of each
        batch's loss just before its step plus the penalty at that point (for
        ``batch_size="full"``, the exact objective before each step).
        :meth:`partial_fit` appends one entry per call.
    validation_scores_ : list of float or None
        Validation accuracy after each epoch, with ``early_stopping``; after
        each :meth:`partial_fit` call given ``validation_data``.
    best_validation_score_ : float or None
        The best of ``validation_scores_``.
    best_coef_, best_intercept_ : ndarray
        With :meth:`partial_fit`'s ``validation_data``: the weights that
        reached ``best_validation_score_``.
    n_calls_no_improvement_ : int
        With ``validation_data``: consecutive :meth:`partial_fit` calls
        whose score did not beat the best by ``tol``.
    stopped_improving_ : bool
        With ``validation_data``: ``n_calls_no_improvement_ >=
        n_iter_no_change``, the signal to stop streaming (never set with
        ``tol=None``).

    See Also
    --------
    SoftmaxClassifier : Preset for multinomial logistic regression.
    MulticlassSVMClassifier : Preset for the multiclass SVM.
    sklearn.linear_model.SGDClassifier : The estimator this one extends.

    Notes
    -----
    Other differences from SGDClassifier, all deliberate: for sparse ``X`` the
    intercept takes the same step as the weights (SGDClassifier damps it by
    0.01); class weights multiply every sample of the class in every
    one-vs-rest column (SGDClassifier gives negatives weight 1); with several
    classes the stopping rule looks at the joint objective of all columns.

    With scikit-learn >= 1.9, ``set_callbacks`` takes callbacks of
    ``sklearn.callback`` (``ProgressBar``, ``ScoringMonitor`` or your own):
    a fit or a :meth:`partial_fit` call is a task and each epoch a sub-task,
    whose end hands the callbacks a copy of the model with that epoch's
    weights; a callback that returns True there stops training.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skgd import GDClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = make_pipeline(
    ...     StandardScaler(),
    ...     GDClassifier(loss="softmax", batch_size=16, optimizer="adam",
    ...                  learning_rate="constant", eta0=0.05, random_state=0),
    ... ).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        "loss": [StrOptions(set(LOSS_NAMES)), Loss],
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), Penalty, None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), None],
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "shuffle": ["boolean"],
        "verbose": ["verbose"],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        # 0 threads has no meaning (joblib would say so from deep inside).
        "n_jobs": [
            Interval(Integral, None, -1, closed="right"),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
        "random_state": ["random_state"],
        "learning_rate": [StrOptions(_SCHEDULE_NAMES), Schedule],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "warm_start": ["boolean"],
        "average": [Interval(Integral, 0, None, closed="neither"), "boolean"],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"full"}),
        ],
        "optimizer": [StrOptions(set(OPTIMIZER_NAMES)), Optimizer],
    }

    def __init__(
        self,
        loss="hinge",
        *,
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        verbose=0,
        epsilon=0.1,
        n_jobs=None,
        random_state=None,
        learning_rate="optimal",
        eta0=0.01,
        power_t=0.5,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        class_weight=None,
        warm_start=False,
        average=False,
        batch_size=1,
        optimizer="sgd",
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.epsilon = epsilon
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.average = average
        self.batch_size = batch_size
        self.optimizer = optimizer

    # -- components -----------------------------------------------------------

    def _loss_object(self):
        return get_loss(self.loss, self.epsilon)

    def _components(self):
        """The loss, penalty, optimizer and schedule this configuration uses."""
        l1_ratio = 0.15 if self.l1_ratio is None else self.l1_ratio
        return (
            self._loss_object(),
            get_penalty(self.penalty, l1_ratio),
            get_optimizer(self.optimizer),
            get_schedule(
                self.learning_rate,
                eta0=self.eta0,
                power_t=self.power_t,
                alpha=self.alpha,
            ),
        )

    def _check_params(self, for_partial_fit=False):
        """Rules that span several parameters (single ones are constraints)."""
        if self.learning_rate == "optimal" and self.alpha == 0:
            raise ValueError(
                "alpha must be > 0 with learning_rate='optimal': the 'optimal' "
                "schedule is 1 / (alpha * (t0 + t - 1)). Use another "
                "learning_rate or a positive alpha."
            )
        if self.penalty == "elasticnet" and self.l1_ratio is None:
            raise ValueError(
                "l1_ratio must be set when penalty='elasticnet'; got None. Use a "
                "float in [0, 1] (0 is pure L2, 1 pure L1)."
            )
        loss, _, optimizer, schedule = self._components()
        _require_method(loss, Loss, "loss", "loss")
        _require_method(loss, Loss, "gradient", "loss")
        _require_method(optimizer, Optimizer, "update", "optimizer")
        _require_method(schedule, Schedule, "rate", "learning_rate")
        if self.learning_rate in ("pa1", "pa2"):
            if self.loss != "hinge":
                raise ValueError(
                    f"learning_rate={self.learning_rate!r} only works with "
                    f"loss='hinge'; got loss={self.loss!r}."
                )
            if self.batch_size != 1 or type(optimizer) is not SGD:
                raise ValueError(
                    f"learning_rate={self.learning_rate!r} is a per-sample rule: it "
                    "needs batch_size=1 and optimizer='sgd'; got "
                    f"batch_size={self.batch_size!r}, optimizer={self.optimizer!r}."
                )
        if for_partial_fit:
            if self.early_stopping:
                raise ValueError(
                    "early_stopping=True does not apply to partial_fit, which runs "
                    "one epoch per call; set early_stopping=False."
                )
            if self.class_weight == "balanced":
                raise ValueError(
                    "class_weight='balanced' is not supported by partial_fit: it "
                    "needs the class frequencies of all the data. Compute them "
                    "with sklearn.utils.compute_class_weight('balanced', "
                    "classes=classes, y=y) on a large enough sample and pass the "
                    "resulting dict as class_weight."
                )

    # -- input ----------------------------------------------------------------

    def _validate_input(self, X, y, sample_weight, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            reset=reset,
        )
        try:
            check_classification_targets(y)
        except TypeError as exc:
            # NumPy could not sort the labels: say which types are mixed.
            raise _unorderable("y", y) from exc
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
        return X, y, sample_weight

    def _training_weights(self, classes, y_idx, sample_weight, dtype):
        """Sample weight times class weight, one per row."""
        if self.class_weight is None:
            weights = np.ones(len(y_idx), dtype=dtype)
        else:
            class_weight = compute_class_weight(
                self.class_weight, classes=classes, y=classes[y_idx]
            )
            if not (np.isfinite(class_weight).all() and (class_weight >= 0).all()):
                raise ValueError(
                    f"class_weight={self.class_weight!r} gives a class a negative "
                    "or non-finite weight; class weights must be finite and >= 0."
                )
            weights = class_weight[y_idx].astype(dtype)
        if sample_weight is not None:
            weights *= sample_weight
        if not weights.sum() > 0:
            raise ValueError(
                "The training weights (sample_weight times class_weight) sum to "
                "zero: at least one row needs a positive weight."
            )
        return weights

    # -- training -------------------------------------------------------------

    def _shape(self):
        n_outputs = 1 if len(self.classes_) == 2 else len(self.classes_)
        return n_outputs, self.n_features_in_

    def _initial_weights(self, coef_init, intercept_init, dtype):
        n_outputs, n_features = self._shape()
        if coef_init is None:
            coef = np.zeros((n_outputs, n_features), dtype=dtype)
        else:
            coef = np.asarray(
                coef_init.toarray() if sp.issparse(coef_init) else coef_init,
                dtype=dtype,
            )
            # A NaN start would surface as a divergence, blamed on eta0.
            assert_all_finite(coef, input_name="coef_init")
            if coef.size != n_outputs * n_features or (
                coef.ndim == 2 and coef.shape != (n_outputs, n_features)
            ):
                raise ValueError(
                    f"coef_init has shape {coef.shape}; this problem needs "
                    f"({n_outputs}, {n_features}) (n_outputs, n_features)."
                )
            coef = coef.reshape(n_outputs, n_features).copy()
        if intercept_init is None:
            intercept = np.zeros(n_outputs, dtype=dtype)
        else:
            intercept = np.asarray(intercept_init, dtype=dtype).reshape(-1).copy()
            assert_all_finite(intercept, input_name="intercept_init")
            if intercept.shape != (n_outputs,):
                raise ValueError(
                    f"intercept_init has {intercept.size} values; this problem needs "
                    f"{n_outputs}."
                )
        return coef, intercept

    def _objective(self, n_classes):
        """The training objective of this configuration for ``n_classes``."""
        loss, penalty, _, _ = self._components()
        return Objective(loss, penalty, self.alpha, self.fit_intercept, n_classes)

    def _make_engine(self, n_classes):
        _, _, optimizer, schedule = self._components()
        objective = self._objective(n_classes)
        batch_size = None if self.batch_size == "full" else int(self.batch_size)
        return Engine(
            objective,
            optimizer,
            schedule,
            batch_size,
            int(self.average),
            self.n_jobs,
        )

    def _run(
        self,
        task,
        X,
        y,
        y_idx,
        weights,
        sample_weight,
        *,
        max_epochs,
        rows,
        validation,
        epochs=None,
    ):
        """Train the live state and publish the fitted attributes.

        ``task`` ("fit" or "partial_fit") names the run for the callbacks.
        ``epochs`` replaces the engine as what runs an epoch (the blocks of a
        dask array, ``skgd._dask``; it shuffles itself, and needs no ``Y``).
        """
        engine = self._engine
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        tasks = EpochTasks(self, task, max_epochs, X, y, metadata)
        Y = None if epochs is not None else engine.objective.encode(y_idx, X.dtype)
        try:
            report = train(
                engine if epochs is None else epochs,
                self._state,
                X,
                Y,
                weights,
                max_epochs=max_epochs,
                shuffle=self.shuffle and epochs is None,
                tol=self.tol,
                n_iter_no_change=self.n_iter_no_change,
                rows=rows,
                validation_score=validation,
                verbose=self.verbose,
                tasks=tasks,
            )
        except ValueError:
            if task == "partial_fit" and hasattr(self, "coef_"):
                # Training diverged after changing the state in place: the
                # next call (with a smaller step) starts from the weights
                # published before this one, with fresh optimizer state,
                # not from the diverged weights, velocities or moments.
                self._state = engine.restart(self._state, self.coef_, self.intercept_)
            raise
        coef, intercept = engine.weights(self._state)
        if engine.averaging(self._state):
            # The averages are updated in place by the next call: publish a
            # copy, so that a call that fails midway leaves coef_ as it was.
            coef, intercept = coef.copy(), intercept.copy()
        if report.best_weights is not None:
            coef, intercept = report.best_weights
        self.coef_, self.intercept_ = coef, intercept
        self.t_ = self._state.t
        self.loss_curve_ = getattr(self, "loss_curve_", []) + report.objectives
        if tasks:
            tasks.end()
        return report

    def _validation_split(self, X, y_idx, sample_weight):
        """Training rows and a scorer on the held-out rows (early stopping)."""
        if not self.early_stopping:
            return None, None
        cv = StratifiedShuffleSplit(
            test_size=self.validation_fraction, random_state=self.random_state
        )
        n, k = len(y_idx), len(self.classes_)
        try:
            train_rows, val_rows = next(cv.split(np.zeros((n, 1)), y_idx))
        except ValueError as exc:
            # StratifiedShuffleSplit's message speaks of its own test_size.
            raise ValueError(
                f"early_stopping=True cannot split {n} samples of {k} classes with "
                f"validation_fraction={self.validation_fraction!r} "
                f"({int(np.ceil(self.validation_fraction * n))} held out): a "
                "stratified split needs at least 2 samples of each class and at "
                f"least {k} samples on each side. Change validation_fraction, add "
                "samples, or set early_stopping=False."
            ) from exc
        X_val, y_val = X[val_rows], y_idx[val_rows]
        w_val = None if sample_weight is None else sample_weight[val_rows]
        if w_val is not None and not w_val.sum() > 0:
            raise ValueError(
                "The sample weights of the validation split are all zero; use "
                "another random_state or validation_fraction, or disable "
                "early_stopping."
            )

        return np.sort(train_rows), _accuracy_scorer(X_val, y_val, w_val)

    def _held_out_scorer(self, validation_data):
        """The scorer of ``validation_data``, checked before any training."""
        if not isinstance(validation_data, (tuple, list)) or len(
            validation_data
        ) not in (2, 3):
            raise ValueError(
                "validation_data must be a tuple (X_val, y_val) or (X_val, y_val, "
                f"sample_weight_val); got {type(validation_data).__name__}"
                + (
                    f" of length {len(validation_data)}."
                    if isinstance(validation_data, (tuple, list))
                    else "."
                )
            )
        X_val, y_val, *rest = validation_data
        try:
            X_val, y_val, w_val = self._validate_input(
                X_val, y_val, rest[0] if rest else None, reset=False
            )
        except ValueError as error:
            # scikit-learn's messages say "X" and "sample weights": name the
            # argument they came from.
            raise ValueError(f"validation_data: {error}") from error
        unknown = np.setdiff1d(y_val, self.classes_)
        if unknown.size:
            raise ValueError(
                f"validation_data holds labels {unknown.tolist()!r} that are not in "
                f"classes {self.classes_.tolist()!r}."
            )
        return _accuracy_scorer(X_val, np.searchsorted(self.classes_, y_val), w_val)

    def _monitor(self, score):
        """Record a partial_fit call's held-out score.

        Keeps the score history, the best weights and the count of calls
        without improvement across calls (see :meth:`partial_fit`).
        """
        # Monitoring starts with the first monitored call after fit (or the
        # first partial_fit): fit's own early-stopping record is not mixed in.
        fresh = not hasattr(self, "best_coef_")
        best = None if fresh else self.best_validation_score_
        if best is None or score > best:
            self.best_validation_score_ = score
            self.best_coef_ = self.coef_.copy()
            self.best_intercept_ = self.intercept_.copy()
        # The rule of fit's early stopping, counted in calls instead of epochs.
        improved = best is None or self.tol is None or score >= best + self.tol
        self.n_calls_no_improvement_ = (
            0 if improved else self.n_calls_no_improvement_ + 1
        )
        self.stopped_improving_ = self.n_calls_no_improvement_ >= self.n_iter_no_change
        self.validation_scores_ = ([] if fresh else self.validation_scores_) + [score]

    @_unfitted_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the model by gradient descent for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. float32 stays float32; CSC/COO become CSR. A dask
            array trains where its blocks are (``doc/user_guide/dask.rst``).
        y : array-like of shape (n_samples,)
            Class labels.
        coef_init : ndarray of shape (n_classes, n_features), default=None
            Initial coefficients (``(1, n_features)`` for two classes).
        intercept_init : ndarray of shape (n_classes,), default=None
            Initial intercepts.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, multiplied by ``class_weight``.

        Returns
        -------
        self : GDClassifier
            The fitted estimator.
        """
        if _dask.is_dask_collection(X):
            # Blocks on a cluster: reductions or streamed blocks, skgd._dask.
            return _dask.fit(self, X, y, coef_init, intercept_init, sample_weight)
        self._check_params()
        warm = self.warm_start and hasattr(self, "_state")
        if warm:
            old_shape = self.coef_.shape
            if coef_init is None:
                coef_init = self.coef_
            if intercept_init is None:
                intercept_init = self.intercept_
        X, y, sample_weight = self._validate_input(X, y, sample_weight, reset=True)
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                "The number of classes has to be greater than one; got 1 class "
                f"({self.classes_.tolist()[0]!r}): a classifier needs at least two."
            )
        weights = self._training_weights(self.classes_, y_idx, sample_weight, X.dtype)
        coef, intercept = self._initial_weights(coef_init, intercept_init, X.dtype)
        engine = self._make_engine(len(self.classes_))
        if warm and old_shape == coef.shape:
            # Continue the optimizer state and the schedule clock.
            self._state = engine.resume(self._state, coef, intercept)
        else:
            rng = check_random_state(self.random_state)
            self._state = engine.init_state(coef, intercept, rng)
        self._engine = engine
        self.loss_curve_ = []
        rows, validation = self._validation_split(X, y_idx, sample_weight)
        report = self._run(
            "fit",
            X,
            y,
            y_idx,
            weights,
            sample_weight,
            max_epochs=self.max_iter,
            rows=rows,
            validation=validation,
        )
        return self._finish_fit(report, validation is not None)

    def _finish_fit(self, report, validated):
        """The attributes a fit publishes besides the weights; its warning."""
        self.n_iter_ = report.n_epochs
        if validated:
            self.validation_scores_ = report.validation_scores
            self.best_validation_score_ = report.best_score
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
        for name in _MONITOR_ATTRIBUTES:
            self.__dict__.pop(name, None)
        if (
            self.tol is not None
            and self.n_iter_ == self.max_iter
            and not report.stopped_by_callback
        ):
            warnings.warn(
                f"Maximum number of epochs ({self.max_iter}) reached before "
                "convergence. Consider increasing max_iter, or raising eta0 or "
                "tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    @_unfitted_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self, X, y, classes=None, sample_weight=None, *, validation_data=None
    ):
        """One epoch over ``X``, continuing the optimizer state of earlier calls.

        With ``validation_data`` each call also scores the updated weights on
        held-out data, and the estimator keeps across calls what
        ``early_stopping`` keeps within a fit: the scores
        (``validation_scores_``), the best score and its weights
        (``best_validation_score_``, ``best_coef_``, ``best_intercept_``),
        and whether the model stopped improving (``stopped_improving_``:
        ``n_iter_no_change`` calls in a row without beating the best score by
        ``tol``). Training is not stopped nor are the weights replaced: the
        caller decides, e.g. ``if clf.stopped_improving_: break``, then
        ``clf.coef_, clf.intercept_ = clf.best_coef_, clf.best_intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.
        y : array-like of shape (n_samples,)
            Its labels; every label must be in ``classes``.
        classes : array-like of shape (n_classes,), default=None
            All the classes of the stream: required on the first call, and if
            given later, equal to the first.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the chunk's rows.
        validation_data : tuple (X_val, y_val) or (X_val, y_val, \
                sample_weight_val), default=None
            Held-out data to score this call's weights on (weighted
            accuracy). Give the same held-out set on every call for the
            scores to be comparable.

        Returns
        -------
        self : GDClassifier
            The updated estimator.
        """
        first_call = not hasattr(self, "classes_")
        if first_call:
            self._check_params(for_partial_fit=True)
            if classes is None:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit: "
                    "the list of all the classes of the stream, e.g. np.unique(y_all)."
                )
            classes = _sorted_labels(classes, "classes")
            if len(classes) < 2:
                raise ValueError(
                    f"classes must hold at least two classes; got {classes.tolist()}."
                )
        elif classes is not None and not np.array_equal(
            _sorted_labels(classes, "classes"), self.classes_
        ):
            raise ValueError(
                f"classes={np.asarray(classes).tolist()!r} is not the same as in the "
                f"first call to partial_fit, {self.classes_.tolist()!r}."
            )
        X, y, sample_weight = self._validate_input(
            X, y, sample_weight, reset=first_call
        )
        known = classes if first_call else self.classes_
        unknown = np.setdiff1d(y, known)
        if unknown.size:
            raise ValueError(
                f"y contains labels {unknown.tolist()!r} that are not in classes "
                f"{known.tolist()!r}."
            )
        if first_call:
            self.classes_ = known
        y_idx = np.searchsorted(self.classes_, y)
        weights = self._training_weights(self.classes_, y_idx, sample_weight, X.dtype)
        # Checked before training, so that bad held-out data fails the call
        # before it changes the model.
        held_out = (
            None if validation_data is None else self._held_out_scorer(validation_data)
        )
        if first_call:
            engine = self._make_engine(len(self.classes_))
            coef, intercept = self._initial_weights(None, None, X.dtype)
            rng = check_random_state(self.random_state)
            self._state = engine.init_state(coef, intercept, rng)
            self._engine = engine
            self.loss_curve_ = []
            self.validation_scores_ = None
            self.best_validation_score_ = None
            for name in _MONITOR_ATTRIBUTES:
                self.__dict__.pop(name, None)
        else:
            # As in SGDClassifier, each call reads the current parameters (a
            # stream may lower eta0 or change the optimizer between calls);
            # the training state carries over wherever it still fits.
            # (scikit-learn's _fit_context validates the parameters only on
            # the first call of partial_fit: they are read again here.)
            self._validate_params()
            self._check_params(for_partial_fit=True)
            state = self._state
            if self._engine.averaging(state):
                coef, intercept = state.coef, state.intercept
            else:
                # As in scikit-learn, the exposed weights are the live ones: a
                # user who edits or replaces coef_ between calls continues
                # from it.
                coef, intercept = self._initial_weights(
                    self.coef_, self.intercept_, state.coef.dtype
                )
            self._engine = self._make_engine(len(self.classes_))
            self._state = self._engine.resume(state, coef, intercept)
        self._run(
            "partial_fit",
            X,
            y,
            y_idx,
            weights,
            sample_weight,
            max_epochs=1,
            rows=None,
            validation=None,
        )
        self.n_iter_ = 1
        if held_out is not None:
            self._monitor(held_out(self.coef_, self.intercept_))
        return self

    # -- prediction -----------------------------------------------------------

    def decision_function(self, X):
        """Raw scores.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, the score of ``classes_[1]``.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False
        )
        scores = linear_scores(X, self.coef_, self.intercept_)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[scores.argmax(axis=1)]

    def _has_proba(self):
        if not hasattr(self._loss_object(), "proba"):
            raise AttributeError(
                f"probability estimates are not available for loss={self.loss!r}; "
                "use 'log_loss', 'modified_huber' or 'softmax'."
            )
        return True

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Class probabilities (probabilistic losses only).

        ``"softmax"`` gives the multinomial model's probabilities;
        ``"log_loss"`` and ``"modified_huber"`` one-vs-rest probabilities,
        normalised to sum to one, as SGDClassifier does.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        scores = self.decision_function(X)
        objective = Objective(
            self._loss_object(), None, 0.0, self.fit_intercept, len(self.classes_)
        )
        return objective.proba(scores.reshape(scores.shape[0], -1))

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    # -- coefficient storage --------------------------------------------------

    def densify(self):
        """Convert ``coef_`` to a dense array (the default format).

        Returns
        -------
        self : GDClassifier
        """
        check_is_fitted(self)
        if sp.issparse(self.coef_):
            self.coef_ = self.coef_.toarray()
        return self

    def sparsify(self):
        """Convert ``coef_`` to a scipy.sparse CSR matrix.

        Worth it when most coefficients are zero (L1 penalty): prediction is
        faster and the model smaller. Training continues from it as usual.

        Returns
        -------
        self : GDClassifier
        """
        check_is_fitted(self)
        self.coef_ = sp.csr_matrix(self.coef_)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
