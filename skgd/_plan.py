"""The training plan: the estimator's parameters and the data, resolved once.

Every way of training (``fit``, ``partial_fit``, ``fit`` on a dask array)
and the gradient check turn the estimator's parameters into what training
needs here, and only here:

* the components (loss, penalty, optimizer, schedule), built from their
  names or taken as given, each validated against its own
  ``_parameter_constraints`` with scikit-learn's machinery, and the rules
  that span several of them (:func:`resolve_components`);
* the weight of each class and of each training row
  (:func:`class_weights`, :func:`training_weights`);
* the rows held out for early stopping (:func:`validation_split`);
* the batch as an integer number of rows (:func:`resolve_batch`: below the
  plan, nothing sees ``"full"``);
* the initial weights (:func:`initial_weights`).

It reads the parameters as a dict (:func:`parameters`), never the
estimator itself, and returns plain values.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.utils import assert_all_finite, check_random_state, compute_class_weight

from skgd import _auto, _variance_reduced
from skgd._contracts import check_components
from skgd._engine import Engine
from skgd._objective import Objective, well_scaled
from skgd.losses import Loss, get_loss
from skgd.optimizers import Optimizer, get_optimizer
from skgd.penalties import get_penalty
from skgd.schedules import Schedule, get_schedule

#: SGDClassifier's factor on the intercept's steps on sparse rows (its
#: ``SPARSE_INTERCEPT_DECAY``): a sparse row's many absent features would
#: otherwise leave the intercept to take the whole step.
SPARSE_INTERCEPT_DECAY = 0.01

#: The estimator parameters the plan reads (all public attributes).
PARAMETERS = (
    "loss",
    "penalty",
    "alpha",
    "l1_ratio",
    "fit_intercept",
    "epsilon",
    "learning_rate",
    "eta0",
    "power_t",
    "early_stopping",
    "validation_fraction",
    "random_state",
    "class_weight",
    "average",
    "batch_size",
    "optimizer",
    "n_jobs",
)


def parameters(estimator):
    """The plan's parameters of ``estimator``, by name.

    Read as attributes, not with ``get_params``: the presets fix ``loss``
    on the class.
    """
    return {name: getattr(estimator, name) for name in PARAMETERS}


@dataclass
class Components:
    """The validated loss, penalty (or None), optimizer and schedule."""

    loss: Loss
    penalty: object
    optimizer: Optimizer
    schedule: Schedule


def _require_method(obj, base, method, parameter):
    """TypeError if a component subclass left an abstract method unimplemented."""
    if getattr(type(obj), method) is getattr(base, method):
        raise TypeError(
            f"{parameter}={obj!r} does not implement {method}(); a custom "
            f"{base.__name__} must define it."
        )


def _check_string_rules(params):
    """Rules between the estimator's own parameters (named components)."""
    if params["learning_rate"] == "optimal" and params["alpha"] == 0:
        raise ValueError(
            "alpha must be > 0 with learning_rate='optimal': the 'optimal' "
            "schedule is 1 / (alpha * (t0 + t - 1)). Use another "
            "learning_rate or a positive alpha."
        )
    if params["penalty"] == "elasticnet" and params["l1_ratio"] is None:
        raise ValueError(
            "l1_ratio must be set when penalty is 'elasticnet'. Got "
            "l1_ratio=None; use a float in [0, 1] (0 is pure L2, 1 pure L1)."
        )


def _check_batch_sized_schedule(params, components):
    """A schedule that sizes each step from the sample (passive-aggressive)."""
    if not components.schedule.needs_batch:
        return
    rate, loss = params["learning_rate"], components.loss
    if loss.multiclass or not loss.unit_slope:
        raise ValueError(
            f"learning_rate={rate!r} needs a binary loss whose slope is +1 or -1 "
            "wherever it is positive ('hinge', 'perceptron' or "
            f"'epsilon_insensitive'); got loss={params['loss']!r}."
        )
    if params["batch_size"] != 1 or not components.optimizer.plain:
        raise ValueError(
            f"learning_rate={rate!r} is a per-sample rule: it needs batch_size=1 "
            f"and optimizer='sgd'; got batch_size={params['batch_size']!r}, "
            f"optimizer={params['optimizer']!r}."
        )


def _check_line_search(params, components):
    """A schedule that evaluates the objective solves the full batch."""
    if not components.schedule.needs_objective:
        return
    rate, loss = params["learning_rate"], components.loss
    optimizer = components.optimizer
    if not (optimizer.plain or optimizer.variance_reduced):
        # (SAGA's and SVRG's corrections vanish at the full batch: their
        # step is the proximal gradient step the line search takes.)
        raise ValueError(
            f"learning_rate={rate!r} is its own update rule (accelerated "
            "proximal gradient): it needs optimizer='sgd' (or 'saga', 'svrg'); got "
            f"optimizer={params['optimizer']!r}."
        )
    if loss.curvature is None:
        raise ValueError(
            f"learning_rate={rate!r} needs a smooth loss (one with a known "
            "curvature: 'log_loss', 'softmax', 'modified_huber', "
            "'squared_hinge', 'squared_error', 'huber' or "
            f"'squared_epsilon_insensitive'); got loss={params['loss']!r}, "
            "whose corners stall it. Use another learning_rate for it."
        )
    if params["average"]:
        raise ValueError(
            f"learning_rate={rate!r} takes exact full-batch steps, which "
            f"averaging would only slow down; got average={params['average']!r}. "
            "Set average=False."
        )


def _check_variance_reduced(params, components):
    """SAGA's and SVRG's table and step need a smooth loss; averaging would
    undo their linear convergence to the exact optimum."""
    if not components.optimizer.variance_reduced:
        return
    name = params["optimizer"]
    if components.loss.curvature is None:
        raise ValueError(
            f"optimizer={name!r} needs a smooth loss (one with a known "
            "curvature: 'log_loss', 'softmax', 'modified_huber', "
            "'squared_hinge', 'squared_error', 'huber' or "
            f"'squared_epsilon_insensitive'); got loss={params['loss']!r}."
        )
    if params["average"]:
        raise ValueError(
            f"optimizer={name!r} converges to the exact optimum, which "
            "averaging would only slow down; got "
            f"average={params['average']!r}. Set average=False."
        )


def _check_full_batch(params, components, batch, n_train):
    if components.schedule.needs_objective and batch < n_train:
        raise ValueError(
            f"learning_rate={params['learning_rate']!r} takes full-batch "
            "steps: it needs batch_size='full' (or at least the number of "
            f"training rows, {n_train}); got batch_size={params['batch_size']!r}."
        )


def _check_schedule(params, components):
    _check_batch_sized_schedule(params, components)
    _check_line_search(params, components)


def _check_partial_fit_rules(params):
    if params["early_stopping"]:
        raise ValueError(
            "early_stopping should be False with partial_fit: partial_fit "
            "runs one epoch per call, with no validation split of its own. "
            "Set early_stopping=False (a stream can be monitored with "
            "partial_fit's validation_data)."
        )
    if params["class_weight"] == "balanced":
        raise ValueError(
            "class_weight 'balanced' is not supported for partial_fit. In "
            "order to use 'balanced' weights, use "
            "compute_class_weight('balanced', classes=classes, y=y). In place "
            "of y you can use a large enough sample of the full training set "
            "target to properly estimate the class frequency distributions. "
            "Pass the resulting weights as the class_weight parameter. "
            "(partial_fit sees one chunk at a time, not the frequencies of "
            "all the data; compute_class_weight is in sklearn.utils.)"
        )


def resolve_components(params, *, for_partial_fit=False):
    """The :class:`Components` of the estimator parameters ``params``.

    Names become components with the estimator's hyperparameters; instances
    are used as given. Each is validated like an estimator (its
    ``_parameter_constraints``; ``InvalidParameterError`` names the
    parameter, the value and what is allowed), custom subclasses must
    implement their abstract methods, and the rules between components hold
    for instances exactly as for names.
    """
    _check_string_rules(params)
    l1_ratio = 0.15 if params["l1_ratio"] is None else params["l1_ratio"]
    schedule = None  # "auto": resolved by make_plan, which knows the batch
    if params["learning_rate"] != "auto":
        schedule = get_schedule(
            params["learning_rate"],
            eta0=params["eta0"],
            power_t=params["power_t"],
            alpha=params["alpha"],
        )
    components = Components(
        loss=get_loss(params["loss"], params["epsilon"]),
        penalty=get_penalty(params["penalty"], l1_ratio),
        optimizer=get_optimizer(params["optimizer"]),
        schedule=schedule,
    )
    for component in vars(components).values():
        if component is not None:
            component._validate_params()
    _require_method(components.loss, Loss, "loss", "loss")
    _require_method(components.loss, Loss, "gradient", "loss")
    _require_method(components.optimizer, Optimizer, "update", "optimizer")
    if schedule is not None:
        _require_method(components.schedule, Schedule, "rate", "learning_rate")
        _check_schedule(params, components)
    _check_variance_reduced(params, components)
    if for_partial_fit:
        _check_partial_fit_rules(params)
    return components


def make_objective(params, components, n_classes):
    """The training objective of these parameters for ``n_classes`` classes."""
    return Objective(
        components.loss,
        components.penalty,
        params["alpha"],
        params["fit_intercept"],
        n_classes,
    )


# -- weights ------------------------------------------------------------------


def class_weights(class_weight, classes, counts):
    """One weight per class: ``class_weight`` for these classes.

    ``counts`` are the class frequencies (for ``"balanced"``,
    ``n_samples / (n_classes * counts)`` as scikit-learn defines it).
    """
    if class_weight is None:
        return np.ones(len(classes))
    if isinstance(class_weight, str):  # "balanced", from the counts alone
        if not counts.all():
            absent = classes[counts == 0].tolist()
            raise ValueError(
                f"class_weight='balanced' needs every class in y; {absent!r} "
                "have no samples."
            )
        return counts.sum() / (len(classes) * counts.astype(np.float64))
    weights = compute_class_weight(class_weight, classes=classes, y=classes)
    if not (np.isfinite(weights).all() and (weights >= 0).all()):
        raise ValueError(
            f"class_weight={class_weight!r} gives a class a negative or "
            "non-finite weight; class weights must be finite and >= 0."
        )
    return weights


def training_weights(class_weight_vector, y_idx, sample_weight, dtype):
    """Sample weight times class weight, one per row, in ``dtype``."""
    weights = class_weight_vector[y_idx].astype(dtype)
    if sample_weight is not None:
        weights *= sample_weight
    return weights


def one_vs_rest_weights(class_weight_vector, y_idx, sample_weight, dtype):
    """SGDClassifier's class weights for one-vs-rest outputs: the rows of
    class ``c`` weigh ``class_weight[c]`` in output ``c`` and 1 in the
    others (times the sample weight); shape ``(n_rows, n_classes)``."""
    k = len(class_weight_vector)
    own = y_idx[:, None] == np.arange(k)
    weights = np.where(own, class_weight_vector[None, :], 1.0).astype(dtype)
    if sample_weight is not None:
        weights *= np.asarray(sample_weight, dtype=dtype)[:, None]
    return weights


def check_total_weight(total):
    """ValueError unless the training weights sum to something positive."""
    if not total > 0:
        raise ValueError(
            "The training weights (sample_weight times class_weight) sum to "
            "zero: at least one row needs a positive weight."
        )


# -- rows, batch, weights to start from ---------------------------------------


def validation_split(params, y_idx, n_classes, sample_weight):
    """``(train_rows, validation_rows)`` for early stopping, or None.

    A stratified split of ``validation_fraction`` of the rows, drawn with
    ``random_state``; the training rows are sorted.
    """
    if not params["early_stopping"]:
        return None
    fraction = params["validation_fraction"]
    cv = StratifiedShuffleSplit(test_size=fraction, random_state=params["random_state"])
    n = len(y_idx)
    try:
        train_rows, val_rows = next(cv.split(np.zeros((n, 1)), y_idx))
    except ValueError as exc:
        # StratifiedShuffleSplit's message speaks of its own test_size.
        raise ValueError(
            f"early_stopping=True cannot split {n} samples of {n_classes} classes "
            f"with validation_fraction={fraction!r} "
            f"({int(np.ceil(fraction * n))} held out): a stratified split needs "
            "at least 2 samples of each class and at least "
            f"{n_classes} samples on each side. Change validation_fraction, add "
            "samples, or set early_stopping=False."
        ) from exc
    if sample_weight is not None and not sample_weight[val_rows].sum() > 0:
        raise ValueError(
            "The sample weights for validation set are all zero, consider "
            "using a different random state. (Early stopping would have no "
            "validation score; another validation_fraction, or "
            "early_stopping=False, also works.)"
        )
    return np.sort(train_rows), val_rows


def resolve_batch(batch_size, n_rows):
    """Rows per step: ``"full"``, or a size above ``n_rows``, is ``n_rows``."""
    if batch_size == "full":
        return int(n_rows)
    return int(min(batch_size, n_rows))


def n_outputs(n_classes):
    """Score columns: one for two classes, one per class otherwise."""
    return 1 if n_classes == 2 else n_classes


def initial_weights(
    coef_init, intercept_init, shape, dtype, names=("coef_init", "intercept_init")
):
    """``(coef, intercept)`` to start from: zeros, or the checked copies
    (``names``: how the messages call the two arguments)."""
    n_out, n_features = shape
    coef_name, intercept_name = names
    if coef_init is None:
        coef = np.zeros(shape, dtype=dtype)
    else:
        coef = np.asarray(
            coef_init.toarray() if sp.issparse(coef_init) else coef_init,
            dtype=dtype,
        )
        # A NaN start would surface as a divergence, blamed on eta0.
        assert_all_finite(coef, input_name=coef_name)
        if coef.size != n_out * n_features or (coef.ndim == 2 and coef.shape != shape):
            raise ValueError(
                f"Provided {coef_name} does not match dataset: it has shape "
                f"{coef.shape}; this problem needs ({n_out}, {n_features}) "
                "(n_outputs, n_features)."
            )
        coef = coef.reshape(shape).copy()
    if intercept_init is None:
        intercept = np.zeros(n_out, dtype=dtype)
    else:
        intercept = np.asarray(intercept_init, dtype=dtype).reshape(-1).copy()
        assert_all_finite(intercept, input_name=intercept_name)
        if intercept.shape != (n_out,):
            raise ValueError(
                f"Provided {intercept_name} does not match dataset: it has "
                f"{intercept.size} values; this problem needs {n_out}."
            )
    return coef, intercept


# -- the plan ------------------------------------------------------------------


class InMemoryData:
    """Validated training data in memory, as the plan reads it.

    ``X`` (NumPy array or CSR matrix), the labels ``y``, their class
    indices ``y_idx`` into ``classes``, and ``sample_weight`` (or None).
    """

    def __init__(self, X, y, y_idx, classes, sample_weight):
        self.X, self.y, self.y_idx = X, y, y_idx
        self.classes, self.sample_weight = classes, sample_weight
        self.counts = np.bincount(y_idx, minlength=len(classes))
        self.n_rows, self.n_features = X.shape
        self.dtype = X.dtype

    def variance_reduced_step(self, objective, weights, batch, rows=None):
        """SAGA's (SVRG's) constant step for these rows (``_variance_reduced``)."""
        return _variance_reduced.step_size(objective, self.X, weights, batch, rows)

    def calibrated_step(self, problem, start, random_state, rows=None):
        """``_auto.calibrate`` on a sample of at most 1000 of ``rows``;
        ``problem`` is its ``(components, batch, objective, class_weights)``."""
        rows = np.arange(self.n_rows) if rows is None else rows
        if len(rows) > _auto.SAMPLE:
            rng = check_random_state(random_state)
            rows = np.sort(rng.choice(rows, _auto.SAMPLE, replace=False))
        weights = None if self.sample_weight is None else self.sample_weight[rows]
        sample = (self.X[rows], self.y_idx[rows], weights)
        return _auto.calibrate(*problem, sample, start)


@dataclass
class TrainingPlan:
    """What one fit (or one partial_fit call) trains with.

    ``batch`` is an integer number of rows (the full batch is ``n_train``);
    ``weights`` are the training weights of the rows in memory (None for
    data on a cluster, which applies ``class_weights`` block by block);
    ``rows`` are the training rows when some are held out (else None) and
    ``validation_rows`` the held-out ones.
    """

    components: Components
    objective: Objective
    batch: int
    average: int
    n_jobs: object
    class_weights: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    weights: np.ndarray = None
    rows: np.ndarray = None
    validation_rows: np.ndarray = None
    n_train: int = 0
    burn_in: bool = False  # averaging waits for the noise floor (see engine)
    raw_weights: bool = False  # SGDClassifier's raw-weight steps (see engine)
    one_vs_rest_weights: bool = False  # its class weights, one per output
    intercept_decay: float = 1.0  # SGDClassifier's 0.01 on sparse rows

    @property
    def full_batch(self):
        """True if every update is a full-batch step."""
        return self.batch >= self.n_train

    @property
    def sgdclassifier_configuration(self):
        """Batch 1 with plain SGD: where skgd keeps SGDClassifier's rules."""
        return self.batch == 1 and self.components.optimizer.plain

    @property
    def guards_divergence(self):
        """Whether a rise of the objective is divergence (DivergenceGuard):
        everywhere but SGDClassifier's configuration, which keeps
        SGDClassifier's rule (only an overflow is)."""
        return not self.sgdclassifier_configuration

    def engine(self):
        """A fresh engine for this plan."""
        c = self.components
        return Engine(
            self.objective,
            c.optimizer,
            c.schedule,
            self.batch,
            self.average,
            self.n_jobs,
            burn_in=self.burn_in,
            relative_tol=not self.sgdclassifier_configuration,
            raw_weights=self.raw_weights,
            intercept_decay=self.intercept_decay,
        )


def _burn_in(params, components, batch, stream):
    """``average=True`` outside SGDClassifier's configuration (batch 1,
    plain SGD) in a fit: averaging after a burn-in (``Engine``). An int is a
    start the user chose; a ``partial_fit`` stream averages as given."""
    average = params["average"]
    if stream or not isinstance(average, (bool, np.bool_)) or not average:
        return False
    return not (batch == 1 and components.optimizer.plain)


def make_plan(
    params,
    components,
    data,
    *,
    init=(None, None),
    dtype=None,
    schedule=None,
    stream=False,
):
    """The :class:`TrainingPlan` of parameters ``params`` for ``data``.

    ``components`` come from :func:`resolve_components` (called first, so
    that bad parameters are reported before bad data). ``data`` describes
    the training data: ``classes``, their ``counts``, ``n_features``,
    ``dtype``, ``n_rows``, and for data in memory ``y_idx`` (the class index
    of each row) and ``sample_weight``; data on a cluster has no ``y_idx``
    and is weighted block by block. ``init`` holds the weights to start
    from (``coef_init``, ``intercept_init``; None for zeros), in ``dtype``
    (default: the data's). ``learning_rate="auto"`` resolves here
    (``skgd._auto``), unless ``schedule`` gives an earlier resolution (the
    calls of a ``partial_fit`` stream keep the first call's). ``stream``:
    the plan of a ``partial_fit`` call.
    """
    n_classes = len(data.classes)
    cw = class_weights(params["class_weight"], data.classes, data.counts)
    weights = rows = validation_rows = None
    n_train = data.n_rows
    y_idx = getattr(data, "y_idx", None)
    if y_idx is not None:
        weights = training_weights(cw, y_idx, data.sample_weight, data.dtype)
        # (The split first: all-zero weights get scikit-learn's message
        # about the validation set, as SGDClassifier raises it.)
        split = validation_split(params, y_idx, n_classes, data.sample_weight)
        check_total_weight(weights.sum())
        if split is not None:
            rows, validation_rows = split
            if not weights[rows].sum() > 0:
                raise ValueError(
                    "The sample weights for training set are all zero, consider "
                    "using a different random state. (Early stopping holds out "
                    "validation_fraction of the rows and the rows left to train "
                    "on all weigh zero; another validation_fraction, or "
                    "early_stopping=False, also works.)"
                )
            n_train = len(rows)
    else:
        # Weighted block by block where the data is; the per-class sums
        # tell whether any weight is left.
        check_total_weight(cw @ data.weight_sums)
    coef, intercept = initial_weights(
        *init, (n_outputs(n_classes), data.n_features), dtype or data.dtype
    )
    batch = resolve_batch(params["batch_size"], n_train)
    if rows is not None and batch >= n_train:
        # The full batch of the training rows is one step over every row,
        # the held-out ones weighing zero (RowsInMemory), not two steps.
        batch = data.n_rows
    # SGDClassifier's configuration keeps its weighting: raw-weight steps,
    # one-vs-rest class weights per output, a damped intercept on sparse rows.
    sgd_configuration = batch == 1 and components.optimizer.plain
    one_vs_rest = n_classes > 2 and not components.loss.multiclass
    per_output = sgd_configuration and one_vs_rest and bool(np.any(cw != 1))
    if per_output and y_idx is not None:
        weights = one_vs_rest_weights(cw, y_idx, data.sample_weight, weights.dtype)
    if weights is not None and not sgd_configuration:
        # (A weighted mean: the weights' scale does not matter. SGDClassifier's
        # raw-weight steps keep theirs.)
        weights = well_scaled(weights)
    intercept_decay = 1.0
    if sgd_configuration and sp.issparse(getattr(data, "X", None)):
        intercept_decay = SPARSE_INTERCEPT_DECAY
    objective = make_objective(params, components, n_classes)
    if y_idx is not None:
        # A component of the user's own that breaks its contract fails here,
        # named, before any step or calibration (skgd._contracts).
        check_components(
            objective,
            components.optimizer,
            schedule or components.schedule,
            (coef, intercept),
            data.X,
            y_idx,
        )
    if components.schedule is None:
        components.schedule = schedule or _auto.resolve(
            params,
            components,
            batch,
            n_train,
            lambda: data.calibrated_step(
                (components, batch, objective, cw),
                (coef, intercept),
                params["random_state"],
                rows,
            ),
            lambda: data.variance_reduced_step(objective, weights, batch, rows),
        )
        _check_schedule(params, components)
    _check_full_batch(params, components, batch, n_train)
    return TrainingPlan(
        components=components,
        objective=objective,
        batch=batch,
        # (Beyond 2**62 updates averaging never starts: no C overflow.)
        average=min(int(params["average"]), 2**62),
        n_jobs=params["n_jobs"],
        class_weights=cw,
        coef=coef,
        intercept=intercept,
        weights=weights,
        rows=rows,
        validation_rows=validation_rows,
        n_train=n_train,
        burn_in=_burn_in(params, components, batch, stream),
        raw_weights=sgd_configuration,
        one_vs_rest_weights=per_output,
        intercept_decay=intercept_decay,
    )
