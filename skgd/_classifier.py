"""The estimator shell: GDClassifier and its presets.

Parameters, validation, fit/partial_fit orchestration, predictions and tags.
The numbers are computed by the objective (``_objective``) and the engine
(``_engine``); this module never does arithmetic on ``X`` beyond calling them.
"""

import copy
import functools
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from skgd import _dask, _monitor, _persistence
from skgd._callbacks import CallbackSupportMixin, EpochTasks
from skgd._doc_link import DocLinkMixin
from skgd._engine import DivergenceGuard, train
from skgd._full_batch import certified_gap
from skgd._labels import sorted_labels
from skgd._objective import Objective, linear_scores, well_scaled
from skgd._plan import InMemoryData, make_plan, parameters, resolve_components
from skgd._sources import RowsInMemory
from skgd.losses import LOSS_NAMES, SGDCLASSIFIER_LOSSES, Loss, get_loss
from skgd.optimizers import OPTIMIZER_NAMES, Optimizer
from skgd.penalties import Penalty
from skgd.schedules import Schedule

_SCHEDULE_NAMES = {
    "constant",
    "optimal",
    "invscaling",
    "adaptive",
    "pa1",
    "pa2",
    "line_search",
    "auto",
}


def _fitted_attributes(estimator):
    """The names of what training sets on ``estimator``: the fitted
    attributes (trailing underscore) and the training state."""
    return [n for n in vars(estimator) if n.endswith("_") or n == "_state"]


def _running_sum(curve, increments):
    """``curve`` continued by the running sum of ``increments``."""
    total = curve[-1] if curve else 0
    out = list(curve)
    for value in increments:
        total = total + value
        out.append(total)
    return out


def _transaction(fit_method):
    """A call that raises leaves the estimator as it was, or unfitted.

    Training changes its state in place (weights, velocities and moments,
    averages, the clock, SAGA's table), and a call can end midway for any
    reason: a diverged step, a rejected label, a callback that raises,
    KeyboardInterrupt, MemoryError. So a call that continues a model
    (``partial_fit`` after the first call; ``fit`` with ``warm_start``)
    works on the state and, if anything is raised, puts back a copy taken
    before it started: the estimator is exactly as it was. A call that
    starts afresh (``fit``; the first ``partial_fit``) leaves it unfitted,
    never this call's ``classes_`` beside an earlier fit's weights.
    """

    @functools.wraps(fit_method)
    def wrapper(self, *args, **kwargs):
        continues = hasattr(self, "coef_") and (
            fit_method.__name__ == "partial_fit" or self.warm_start
        )
        # One deepcopy keeps the sharing between coef_ and the state.
        before = (
            copy.deepcopy({n: vars(self)[n] for n in _fitted_attributes(self)})
            if continues
            else {}
        )
        try:
            return fit_method(self, *args, **kwargs)
        except BaseException:
            for name in _fitted_attributes(self):
                del self.__dict__[name]
            self.__dict__.update(before)
            raise

    return wrapper


class GDClassifier(DocLinkMixin, CallbackSupportMixin, ClassifierMixin, BaseEstimator):
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
        A component instance (here and for ``loss``, ``optimizer`` and
        ``learning_rate``) has its hyperparameters checked before training,
        as the estimator's own are.
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
        its best plus ``tol``) for ``n_iter_no_change`` epochs. That ``tol``
        is absolute in SGDClassifier's configuration (batch 1, plain SGD),
        as in scikit-learn, and relative to the best objective (``tol``
        times it) in the other stochastic modes. The line search, SAGA and
        SVRG stop once the objective is certified within ``tol`` (relative) of its
        minimum. None: run all ``max_iter`` epochs.
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
    learning_rate : str or skgd.schedules.Schedule, default="auto"
        The step-size schedule :math:`\eta_t`, as in SGDClassifier, where
        :math:`t` counts updates (one per batch):

        - ``"auto"``: chosen for the descent mode, update rule and data
          (``learning_rate_`` holds the choice): ``"optimal"`` at
          ``batch_size=1`` with plain SGD, exactly SGDClassifier's default;
          ``"line_search"`` for the full batch with plain SGD (or SAGA, SVRG)
          and a smooth loss; with ``optimizer="saga"`` or ``"svrg"`` below
          the full batch, a constant step from the data's smoothness; with
          ``"ftrl"``, a constant step calibrated on a sample; otherwise
          ``"adaptive"`` from a step calibrated on a sample of up
          to 1000 rows (Bottou's method), which ignores ``eta0``;
        - ``"constant"``: :math:`\eta_t = \eta_0`;
        - ``"optimal"``: :math:`\eta_t = 1 / (\alpha (t_0 + t - 1))` with
          Bottou's :math:`t_0`;
        - ``"invscaling"``: :math:`\eta_t = \eta_0 / t^p` with :math:`p` =
          ``power_t``;
        - ``"adaptive"``: :math:`\eta_0`, divided by 5 whenever training stops
          improving;
        - ``"pa1"``, ``"pa2"``: passive-aggressive steps (a loss of slope
          :math:`\pm 1`: ``"hinge"``, ``"perceptron"`` or
          ``"epsilon_insensitive"``; ``batch_size=1``, plain SGD only);
        - ``"line_search"``: backtracking, accelerated, proximal full-batch
          descent for a smooth loss, which stops when the objective is within
          ``tol`` (relative) of its minimum (``batch_size="full"``, plain SGD,
          SAGA or SVRG).

        The adaptive optimizers multiply their own per-coordinate scaling by
        :math:`\eta_t` too; with ``"adam"`` a ``"constant"`` rate of about
        1e-3 to 1e-2 is the usual choice.
    eta0 : float, default=0.01
        The initial rate of ``"constant"``, ``"invscaling"`` and
        ``"adaptive"``; the aggressiveness C of ``"pa1"``/``"pa2"``.
    power_t : float, default=0.5
        Exponent of ``"invscaling"``, >= 0. A negative value (a rate that
        grows) is still accepted, with scikit-learn 1.9's FutureWarning, as
        SGDClassifier accepts it until scikit-learn 1.10.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training rows (stratified) and
        stop when the validation accuracy stops improving. The model keeps
        the last weights, as SGDClassifier does; ``restore_best_weights``
        keeps those with the best validation score instead.
    validation_fraction : float, default=0.1
        Fraction held out for early stopping, in (0, 1).
    n_iter_no_change : int, default=5
        Epochs without improvement before stopping (or lowering the
        ``"adaptive"`` rate).
    class_weight : dict, "balanced" or None, default=None
        Multiplies the sample weights by the weight of each sample's class.
        ``"balanced"`` uses ``n_samples / (n_classes * np.bincount(y))``.
    warm_start : bool, default=False
        Let :meth:`fit` start from the previous ``coef_``/``intercept_``, as
        ``coef_init``/``intercept_init`` would, and nothing else: the
        schedule clock restarts at ``t = 1`` and the optimizer's velocities
        and moments, the averages, SAGA's table and the line search's step
        start afresh, as SGDClassifier restarts ``t_`` and its averages at
        every ``fit``. :meth:`partial_fit` continues all of them.
    average : bool or int, default=False
        Averaged SGD: expose the average of the iterates from update
        ``average`` on. True in SGDClassifier's configuration (batch 1,
        plain SGD) and in ``partial_fit``: from the first update, as in
        scikit-learn; True in a ``fit`` of the other modes: after a burn-in
        that ends at the first epoch that does not improve (or half way
        through ``max_iter``), each lower rate of ``"adaptive"`` starting
        the average again, and with the zeros of the live weights under an
        L1 penalty (see the user guide, "Averaging").
    batch_size : int >= 1 or "full", default=1
        Rows per step: 1 is stochastic gradient descent (SGDClassifier), a
        larger int mini-batch descent, ``"full"`` deterministic full-batch
        gradient descent. A size above the number of rows means the full
        batch.
    optimizer : str or skgd.optimizers.Optimizer, default="sgd"
        The update rule: ``"sgd"``, ``"momentum"``, ``"nesterov"``,
        ``"adagrad"``, ``"rmsprop"``, ``"adam"``, ``"ftrl"`` (FTRL-Proximal,
        which takes the penalty itself), ``"saga"`` or ``"svrg"`` (variance
        reduced: converge to the exact optimum at a constant step, for
        smooth losses, and stop on a certificate of optimality; see
        :class:`skgd.optimizers.SAGA` and :class:`skgd.optimizers.SVRG`). On
        CSR rows every rule but plain SGD, SAGA and SVRG steps only the
        batch's columns (the sparse form of the user guide's update-rules
        page). A
        name uses the rule's default hyperparameters; pass an instance (e.g.
        ``skgd.optimizers.Adam(beta_1=0.8)``) to set them, and grid-search
        them as ``optimizer__beta_1``.
    restore_best_weights : bool, default=False
        With ``early_stopping``: publish the weights of the epoch with the
        best validation score rather than the last (the name and meaning of
        Keras's ``EarlyStopping(restore_best_weights=True)``). The last
        weights, the default, are SGDClassifier's.

    Attributes
    ----------
    coef_ : ndarray of shape (n_outputs, n_features)
        Weights; ``n_outputs`` is 1 for two classes, else ``n_classes``.
        float32 for float32 ``X``, float64 otherwise. With ``average`` the
        averaged weights; with ``early_stopping`` and
        ``restore_best_weights`` the weights of the best validation score.
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
    learning_rate_ : skgd.schedules.Schedule
        The schedule trained with: ``learning_rate`` as an object, or what
        ``"auto"`` resolved to (kept across :meth:`partial_fit` calls).
    t_ : float
        The schedule clock after training: 1 + the number of optimizer
        updates (batches) since the last reset. With ``batch_size=1`` that is
        SGDClassifier's ``n_iter_ * n_samples + 1``.
    loss_curve_ : list of float
        The training objective of each epoch: the weighted mean of each
        batch's loss just before its step plus the penalty at that point (for
        ``batch_size="full"``, the exact objective before each step). In
        SGDClassifier's configuration the losses are weighted as
        SGDClassifier weighs them: their weighted sum over the rows.
        :meth:`partial_fit` appends one entry per call.
    time_curve_ : list of float
        Seconds of training up to the end of each epoch: the running sum of
        the epochs' wall times (beside ``loss_curve_``, continued across
        :meth:`partial_fit` calls, whose time between calls does not count).
    samples_curve_ : list of int
        Training rows seen up to the end of each epoch, likewise.
    stop_reason_ : str
        Why the last call stopped: ``"max_iter"``, ``"tol"`` (the training
        objective stopped improving), ``"validation"`` (the validation score
        did), ``"converged"`` (a certified distance to the optimum within
        ``tol``), ``"callback"`` or ``"partial_fit"`` (one epoch per call).
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
    At ``batch_size=1`` with plain SGD, skgd weighs and steps as
    SGDClassifier does (raw-weight steps, one-vs-rest class weights on each
    class's own output, the intercept damped by 0.01 on sparse ``X``);
    with several classes the stopping rule looks at the joint objective of
    all outputs. ``doc/migration.rst`` lists every remaining difference.

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

    #: ``SGDClassifier.loss_functions``, with the same keys (the built-in
    #: losses of scikit-learn; skgd's multiclass losses are in
    #: :data:`skgd.losses.LOSS_NAMES`).
    loss_functions = SGDCLASSIFIER_LOSSES

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
        "power_t": [Interval(Real, None, None, closed="neither")],
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
        "restore_best_weights": ["boolean"],
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
        learning_rate="auto",
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
        restore_best_weights=False,
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
        self.restore_best_weights = restore_best_weights

    # -- parameters and input ---------------------------------------------------

    def _loss_object(self):
        return get_loss(self.loss, self.epsilon)

    def _validate_input(self, X, y, sample_weight, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            reset=reset,
        )
        # Bytes, or types that cannot be ordered: the errors of every path.
        labels = sorted_labels(y, "y", return_inverse=True)
        check_classification_targets(y)
        if sample_weight is not None:
            # (With early stopping, all-zero weights get SGDClassifier's
            # message about the validation set, from the plan.)
            sample_weight = _check_sample_weight(
                sample_weight,
                X,
                dtype=np.float64,
                ensure_non_negative=True,
                allow_all_zero_weights=bool(self.early_stopping),
            )
            if X.dtype == np.float32:
                # Weights beyond float32's range are divided by their
                # largest before the cast, rather than lost to 0 or inf.
                sample_weight = well_scaled(sample_weight).astype(np.float32)
        return X, y, sample_weight, labels

    @staticmethod
    def _class_indices(labels, classes, what):
        """Each row's index into ``classes``, from ``labels`` (y's sorted
        unique labels and their inverse); a clear error for a label that is
        not in ``classes``."""
        unique, inverse = labels
        unknown = np.setdiff1d(unique, classes)
        if unknown.size:
            raise ValueError(
                f"{what} {unknown.tolist()!r} that are not in classes "
                f"{classes.tolist()!r}."
            )
        return np.searchsorted(classes, unique)[inverse]

    def _in_memory(self, X, y, sample_weight, *, classes=None, reset=True):
        """Validated in-memory data for the plan (``classes``: partial_fit's)."""
        X, y, sample_weight, labels = self._validate_input(
            X, y, sample_weight, reset=reset
        )
        if classes is None:
            classes, y_idx = labels
            if len(classes) < 2:
                raise ValueError(
                    "The number of classes has to be greater than one; got 1 "
                    f"class ({classes.tolist()[0]!r}): a classifier needs at "
                    "least two."
                )
        else:
            y_idx = self._class_indices(labels, classes, "y contains labels")
        return InMemoryData(X, y, y_idx, classes, sample_weight)

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
            X_val, _, w_val, labels = self._validate_input(
                X_val, y_val, rest[0] if rest else None, reset=False
            )
        except ValueError as error:
            # scikit-learn's messages say "X" and "sample weights": name the
            # argument they came from.
            raise ValueError(f"validation_data: {error}") from error
        y_val = self._class_indices(
            labels, self.classes_, "validation_data holds labels"
        )
        return _monitor.accuracy_scorer(X_val, y_val, w_val)

    # -- training -------------------------------------------------------------

    def _start(self, engine, plan, warm):
        """The training state: continued (a later call of partial_fit) where
        the weights keep their shape, else fresh."""
        if warm and self._state.coef.shape == plan.coef.shape:
            # Continue the optimizer state and the schedule clock.
            return engine.resume(self._state, plan.coef, plan.intercept)
        rng = check_random_state(self.random_state)
        return engine.init_state(plan.coef, plan.intercept, rng)

    def _train(
        self, task, engine, source, data, *, max_epochs, validation=None, guard=None
    ):
        """Train ``self._state`` over ``source``; publish the fitted attributes.

        ``task`` ("fit" or "partial_fit") names the run for the callbacks,
        which see ``data.X``, ``data.y`` and ``data.sample_weight``. Returns
        the report and the callbacks' tasks, whose root the caller ends once
        the whole call has succeeded (a check after training may still
        raise).
        """
        weights = data.sample_weight
        metadata = None if weights is None else {"sample_weight": weights}
        root = None
        if getattr(self, "_skl_callbacks", None):
            # A task declares its number of sub-tasks when it begins, and a
            # progress bar takes it as its total: max_epochs only if nothing
            # else ends the call, else "unknown" (a stopping rule may end a
            # fit of max_iter=1000 after 5 epochs).
            known = task == "partial_fit" or self.tol is None
            root = self._init_callback_context(
                task_name=task, max_subtasks=max_epochs if known else None
            )
        tasks = EpochTasks(root, self, data.X, data.y, metadata)
        if self.verbose and self.learning_rate == "auto":
            print(f"-- learning_rate='auto': {self.learning_rate_!r}", flush=True)
        report = train(
            engine,
            self._state,
            source,
            max_epochs=max_epochs,
            shuffle=self.shuffle,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            validation_score=validation,
            verbose=self.verbose,
            tasks=tasks,
            guard=guard,
            partial=task == "partial_fit",
        )
        coef, intercept = engine.weights(self._state)
        if self._state.averaging:
            # The averages change in place during the next call: publish a
            # copy of them.
            coef, intercept = coef.copy(), intercept.copy()
        if report.best_weights is not None and self.restore_best_weights:
            coef, intercept = report.best_weights
        self.coef_, self.intercept_ = coef, intercept
        self.t_ = self._state.t
        self.loss_curve_ = getattr(self, "loss_curve_", []) + report.objectives
        # Seconds and rows up to the end of each epoch: x-axes for loss_curve_.
        self.time_curve_ = _running_sum(
            getattr(self, "time_curve_", []), report.epoch_seconds
        )
        self.samples_curve_ = _running_sum(
            getattr(self, "samples_curve_", []), report.epoch_rows
        )
        self.stop_reason_ = report.stop_reason
        return report, tasks

    @_transaction
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
        params = parameters(self)
        components = resolve_components(params)
        if self.warm_start and hasattr(self, "_state"):
            # As SGDClassifier: the weights carry over, nothing else (the
            # schedule clock, the optimizer state, the averages start again).
            coef_init = self.coef_ if coef_init is None else coef_init
            intercept_init = (
                self.intercept_ if intercept_init is None else intercept_init
            )
        on_dask = _dask.is_dask_collection(X)
        if on_dask:
            # Blocks on a cluster: the data stays there (skgd._dask).
            data = _dask.describe(
                X, y, sample_weight, early_stopping=self.early_stopping
            )
            self.n_features_in_ = data.n_features
            self.__dict__.pop("feature_names_in_", None)
        else:
            data = self._in_memory(X, y, sample_weight)
        self.classes_ = data.classes
        plan = make_plan(params, components, data, init=(coef_init, intercept_init))
        self.learning_rate_ = plan.components.schedule
        engine = plan.engine()
        self._state = self._start(engine, plan, warm=False)
        self.loss_curve_, self.time_curve_, self.samples_curve_ = [], [], []
        validation = None
        if on_dask:
            source = _dask.source(data, plan)
        else:
            Y = plan.objective.encode(data.y_idx, data.dtype)
            source = RowsInMemory(
                data.X, Y, data.y_idx, plan.weights, plan.rows, plan.batch
            )
            if plan.validation_rows is not None:
                validation = self._validation_scorer(data, plan.validation_rows)
        guard = None
        if plan.guards_divergence:
            start = source.start_objective(engine, self._state)
            if start is not None:
                guard = DivergenceGuard(start)
        report, tasks = self._train(
            "fit",
            engine,
            source,
            data,
            max_epochs=self.max_iter,
            validation=validation,
            guard=guard,
        )
        if guard is not None and plan.full_batch:
            end = source.start_objective(engine, self._state)
            guard.check_end(end, self._state.coef.dtype)
        if (
            plan.full_batch
            and not engine.certifies
            and self.tol is not None
            and plan.components.loss.curvature is not None
            and not report.stopped_by_callback
        ):
            # A full batch that is not the line search stops on its
            # objective; its exact gradient then says how far it stopped.
            report.gap = certified_gap(
                plan.objective, source.oracle(engine), self.coef_, self.intercept_
            )
            report.converged = report.gap <= self.tol
        if self.power_t < 0:
            # SGDClassifier's deprecation, word for word.
            warnings.warn(
                "Negative values for `power_t` are deprecated in version 1.8 and "
                "will raise an error in 1.10. Use values in the range [0.0, inf) "
                "instead.",
                FutureWarning,
                stacklevel=3,
            )
        self._finish_fit(report, validation is not None)
        if tasks:
            tasks.end()
        return self

    @staticmethod
    def _validation_scorer(data, rows):
        weights = None if data.sample_weight is None else data.sample_weight[rows]
        return _monitor.accuracy_scorer(data.X[rows], data.y_idx[rows], weights)

    def _finish_fit(self, report, validated):
        """The attributes a fit publishes besides the weights; its warning."""
        self.n_iter_ = report.n_epochs
        if validated:
            self.validation_scores_ = report.validation_scores
            self.best_validation_score_ = report.best_score
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
        for name in _monitor.STREAM_ATTRIBUTES:
            self.__dict__.pop(name, None)
        stopped_early = self.n_iter_ < self.max_iter or report.stopped_by_callback
        if self.tol is None or report.converged:
            return self
        if not stopped_early:
            if report.gap is not None:
                detail = (
                    f"the objective was certified within {report.gap:.3g} "
                    f"(relative) of its minimum, not tol={self.tol!r}; a larger "
                    "tol also ends it"
                )
            else:
                detail = "raising eta0 or tol also helps"
            # SGDClassifier's sentence first (users filter on it), then skgd's.
            warnings.warn(
                "Maximum number of iteration reached before convergence. Consider "
                "increasing max_iter to improve the fit. (Maximum number of epochs "
                f"({self.max_iter}) reached: {detail}.)",
                ConvergenceWarning,
                stacklevel=3,
            )
        elif report.gap is not None and not (report.stopped_by_callback or validated):
            warnings.warn(
                f"Training stopped improving after {self.n_iter_} epochs with "
                f"the objective certified within {report.gap:.3g} (relative) of "
                f"its minimum, not tol={self.tol!r}. For the full batch, "
                "learning_rate='line_search' (optimizer='sgd') stops only once "
                "it is; or lower the step size.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _stream_record(self):
        """The monitored stream's record so far, or None (see partial_fit)."""
        if not hasattr(self, "best_coef_"):
            return None
        names = _monitor.STREAM_ATTRIBUTES + (
            "best_validation_score_",
            "validation_scores_",
        )
        return {name: getattr(self, name) for name in names}

    def _stream_classes(self, classes):
        """The classes of a partial_fit stream, checked against earlier calls."""
        if not hasattr(self, "classes_"):
            if classes is None:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit: "
                    "the list of all the classes of the stream, e.g. np.unique(y_all)."
                )
            classes = sorted_labels(classes, "classes")
            if len(classes) < 2:
                raise ValueError(
                    f"classes must hold at least two classes; got {classes.tolist()}."
                )
            return classes
        if classes is not None and not np.array_equal(
            sorted_labels(classes, "classes"), self.classes_
        ):
            raise ValueError(
                f"classes={np.asarray(classes).tolist()!r} is not the same as in the "
                f"first call to partial_fit, {self.classes_.tolist()!r}."
            )
        return self.classes_

    @_transaction
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
        if not first_call:
            # As in SGDClassifier, each call reads the current parameters (a
            # stream may lower eta0 or change the optimizer between calls).
            # scikit-learn's _fit_context validates them only on the first
            # call of partial_fit: they are checked again here.
            self._validate_params()
        params = parameters(self)
        components = resolve_components(params, for_partial_fit=True)
        classes = self._stream_classes(classes)
        data = self._in_memory(X, y, sample_weight, classes=classes, reset=first_call)
        if first_call:
            self.classes_ = classes
        # Checked before training, so that bad held-out data fails the call
        # before it changes the model.
        held_out = (
            None if validation_data is None else self._held_out_scorer(validation_data)
        )
        # "auto" resolves once, at the first call: the stream keeps it.
        resolved = getattr(self, "learning_rate_", None) if not first_call else None
        if first_call:
            plan = make_plan(params, components, data, stream=True)
        else:
            # The training state carries over wherever it still fits. As in
            # scikit-learn, the exposed weights are the live ones (a user who
            # edits or replaces coef_ between calls continues from it),
            # unless they are the averages.
            state = self._state
            init = (state.coef, state.intercept)
            if not state.averaging:
                init = (self.coef_, self.intercept_)
            plan = make_plan(
                params,
                components,
                data,
                init=init,
                dtype=state.coef.dtype,
                schedule=resolved,
                stream=True,
            )
        self.learning_rate_ = plan.components.schedule
        engine = plan.engine()
        self._state = self._start(engine, plan, warm=not first_call)
        if first_call:
            self.loss_curve_, self.time_curve_, self.samples_curve_ = [], [], []
            self.validation_scores_ = None
            self.best_validation_score_ = None
        Y = plan.objective.encode(data.y_idx, data.dtype)
        source = RowsInMemory(data.X, Y, data.y_idx, plan.weights, None, plan.batch)
        guard = None
        if plan.guards_divergence:
            # The stream's start: the first chunk's objective at the first
            # weights (chunks differ: only the epoch rule applies).
            if self._state.start_objective is None:
                self._state.start_objective = source.start_objective(
                    engine, self._state
                )
            guard = DivergenceGuard(self._state.start_objective)
        _, tasks = self._train(
            "partial_fit", engine, source, data, max_epochs=1, guard=guard
        )
        self.n_iter_ = 1
        if held_out is not None:
            record = _monitor.record_score(
                self._stream_record(),
                held_out(self.coef_, self.intercept_),
                self.coef_,
                self.intercept_,
                tol=self.tol,
                n_iter_no_change=self.n_iter_no_change,
            )
            for name, value in record.items():
                setattr(self, name, value)
        if tasks:
            tasks.end()
        return self

    # -- saving ---------------------------------------------------------------

    def __getstate__(self):
        # The training state as plain data, and skgd's version
        # (skgd._persistence).
        return _persistence.saved(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(_persistence.loaded(self, state))

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
