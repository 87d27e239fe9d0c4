"""The training engine: epochs of (mini-)batch gradient steps.

:class:`Engine` runs one epoch over a given index order (:meth:`Engine.run_epoch`);
:func:`train` repeats epochs of a data source (``skgd._sources``: rows in
memory, or the blocks of a dask array) and applies the stopping rules. The
epoch is the unit a compiled kernel replaces (``skgd._compiled`` decides
where): it receives the same state, data and order and leaves the same
numbers behind.

Per batch ``b`` of ``B`` rows out of ``n`` training rows with weights ``w``
summing to ``W``, the step follows

.. math:: \\hat g = \\frac{n}{B\\,W} \\sum_{i \\in b} w_i \\nabla L_i
          + \\alpha \\nabla R_2(W)

an unbiased estimate of the gradient of the objective (exact for the full
batch), where :math:`R_2` is the smooth part of the penalty; its L1 part is
applied afterwards by cumulative truncation.
"""

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from skgd import _compiled
from skgd._contracts import own_component
from skgd._full_batch import FullBatchSolver, MemoryOracle, step_for
from skgd._lazy import LazyEpochs
from skgd._lazy import applies as _lazy_applies
from skgd._variance_reduced import VarianceReducedEpochs


@dataclass
class TrainState:
    """Everything that changes during training; owned by the estimator."""

    coef: np.ndarray  # (n_outputs, n_features), the live iterate
    intercept: np.ndarray  # (n_outputs,)
    opt_state: dict
    sched_state: dict
    rng: np.random.RandomState
    t: float = 1.0  # schedule clock: 1 + number of updates so far
    l1_u: object = 0.0  # total L1 truncation owed (scalar or per coordinate)
    l1_q: np.ndarray = None  # L1 truncation applied so far, per coordinate
    avg_coef: np.ndarray = None  # averaged iterate (ASGD)
    avg_intercept: np.ndarray = None
    opt_owner: tuple = None  # the optimizer (type, parameters, dtype) of opt_state
    sched_owner: tuple = None  # the schedule (type, parameters) of sched_state
    average: int = 0  # averaging starts at update `average` (0: never)
    start_objective: float = None  # a partial_fit stream's, for DivergenceGuard
    # A certifying method's state and stopping norms: the full-batch
    # solver's step and momentum, or SAGA's (SVRG's) table of row gradients.
    solver: dict = None

    @property
    def averaging(self):
        """True once the averaged iterate has started."""
        return bool(self.average) and self.average <= self.t - 1


# The averaging start of a burn-in that has not ended: after any update.
_NOT_YET = 2**62


def _owner(component):
    """What a component's state belongs to: its class (by name: the state
    stays plain data, ``skgd._persistence``) and parameters."""
    cls = type(component)
    return f"{cls.__module__}.{cls.__qualname__}", repr(component.get_params())


def _matches(array, like):
    return (
        array is not None and array.shape == like.shape and (array.dtype == like.dtype)
    )


def _writable(value):
    """``value`` with every read-only array in it (in lists and dicts too)
    replaced by a writable copy."""
    if isinstance(value, np.ndarray):
        return value if value.flags.writeable else value.copy()
    if isinstance(value, list):
        return [_writable(v) for v in value]
    if isinstance(value, dict):
        return {k: _writable(v) for k, v in value.items()}
    return value


def _suspects(engine):
    """For a divergence message: the components of the user's own, which
    may have returned the first non-finite value themselves."""
    mine = [
        type(c).__name__
        for c in (engine.objective.loss, engine.objective.penalty, engine.optimizer)
        if c is not None and not own_component(c)
    ]
    if not mine:
        return ""
    return (
        f" Your own {', '.join(mine)} may also be the cause: if it returns NaN "
        "or inf for finite inputs, no step size helps."
    )


def _all_finite(*arrays):
    return all(np.isfinite(a).all() for a in arrays)


class Engine:
    """Runs epochs of gradient steps for one objective and its components.

    Parameters
    ----------
    objective : skgd._objective.Objective
    optimizer : skgd.optimizers.Optimizer
    schedule : skgd.schedules.Schedule
    batch : int
        Rows per step; an epoch over ``n <= batch`` rows is one full-batch step.
    average : int
        Averaging starts at update ``average`` (0: no averaging).
    n_jobs : int or None
        Threads for the one-vs-rest columns of the compiled epoch.
    burn_in : bool
        Averaging waits for :func:`train` to start it (:meth:`start_averaging`,
        once training reaches its noise floor), and the averaged weights keep
        the zeros of the live ones under an L1 penalty.
    relative_tol : bool
        :func:`train`'s objective rule measures an improvement relative to
        the best objective so far (else in absolute terms, scikit-learn's).
    raw_weights : bool
        The training weights scale each row's step as they are, and the
        objective is their weighted sum over the number of rows
        (SGDClassifier's steps), rather than normalised to a mean of 1
        (a weighted mean, whose steps do not depend on the weights' scale).
        The weights may then be one per row and output (one-vs-rest class
        weights, shape ``(n_rows, n_outputs)``).
    intercept_decay : float
        A factor on every step of the intercept: SGDClassifier's 0.01 on
        sparse rows, else 1.
    """

    def __init__(
        self,
        objective,
        optimizer,
        schedule,
        batch,
        average=0,
        n_jobs=None,
        burn_in=False,
        relative_tol=False,
        raw_weights=False,
        intercept_decay=1.0,
    ):
        self.objective = objective
        self.optimizer = optimizer
        self.schedule = schedule
        self.batch = int(batch)
        self.burn_in = bool(burn_in)
        self.relative_tol = bool(relative_tol)
        self.raw_weights = bool(raw_weights)
        self.intercept_decay = float(intercept_decay)
        self.average = _NOT_YET if self.burn_in else int(average)
        self.n_jobs = n_jobs
        self._l2, self._l1, self._own_penalty = objective.penalty_parts()
        self._penalised = bool(self._l2 or self._l1 or self._own_penalty)
        self._solver = self._reduced = None
        if schedule.needs_objective:
            self._solver = FullBatchSolver(objective, schedule)
        elif optimizer.variance_reduced:
            self._reduced = VarianceReducedEpochs(objective, optimizer.snapshot)
        self._compiled = (
            self._solver is None and self._reduced is None and _compiled.applies(self)
        )
        # CSR rows: the steps of rules other than plain SGD over the batch's
        # columns only (``skgd._lazy``).
        self._lazy = LazyEpochs(self)

    @property
    def certifies(self):
        """True if training stops on a certificate of optimality (the
        full-batch solver, SAGA, SVRG)."""
        return self._solver is not None or self._reduced is not None

    def converged(self, state, tol):
        """True once the weights are certified within ``tol`` (relative) of
        the optimal objective (``FullBatchSolver``, ``VarianceReducedEpochs``)."""
        if not self.certifies or tol is None or state.solver is None:
            return False
        gap = state.solver.get("gap")
        return gap is not None and gap <= tol

    def init_state(self, coef, intercept, rng):
        """A fresh state starting from ``coef`` and ``intercept`` (not copied)."""
        state = TrainState(
            coef=coef,
            intercept=intercept,
            opt_state=self.optimizer.init([coef, intercept]),
            sched_state=self.schedule.init(),
            rng=rng,
            opt_owner=self._opt_owner(coef),
            sched_owner=_owner(self.schedule),
            average=self.average,
        )
        if self._solver is not None:
            state.solver = self._solver.init()
        if self._l1:
            state.l1_q = np.zeros_like(coef)
        if self.average:
            state.avg_coef = np.zeros_like(coef)
            state.avg_intercept = np.zeros_like(intercept)
        return state

    def _opt_owner(self, coef):
        return (*_owner(self.optimizer), str(coef.dtype))

    def resume(self, state, coef, intercept):
        """Continue ``state`` (warm start) from ``coef`` and ``intercept``.

        The schedule clock and the optimizer's velocities and moments carry
        over. What no longer fits this engine is started afresh: the
        optimizer state if the optimizer or the dtype changed, the schedule's
        state (the "adaptive" rate) if the schedule changed, the L1 and
        averaging bookkeeping if the penalty or ``average`` changed.
        """
        state.coef, state.intercept = coef, intercept
        state.average = self.average
        # A state loaded read-only (joblib.load(..., mmap_mode="r")) is
        # copied where training writes in place.
        for name in ("opt_state", "sched_state", "solver", "l1_q", "l1_u"):
            setattr(state, name, _writable(getattr(state, name)))
        state.avg_coef = _writable(state.avg_coef)
        state.avg_intercept = _writable(state.avg_intercept)
        owner = self._opt_owner(coef)
        if state.opt_owner != owner:
            state.opt_state = self.optimizer.init([coef, intercept])
            state.opt_owner = owner
        owner = _owner(self.schedule)
        if state.sched_owner != owner:
            state.sched_state = self.schedule.init()
            state.sched_owner = owner
        if self._l1 and not _matches(state.l1_q, coef):
            state.l1_q, state.l1_u = np.zeros_like(coef), 0.0
        elif self._l1 and np.ndim(state.l1_u):
            state.l1_u = np.asarray(state.l1_u, dtype=coef.dtype)
        if self.average and not _matches(state.avg_coef, coef):
            # The average of the one iterate seen so far.
            state.avg_coef, state.avg_intercept = coef.copy(), intercept.copy()
        if self._solver is not None:
            if state.solver is None or "eta" not in state.solver:
                state.solver = self._solver.init()
            FullBatchSolver.new_data(state.solver)
        else:
            # SAGA's (SVRG's) table describes the rows and weights of the
            # earlier call: a new one is made for these.
            state.solver = None
        return state

    def weights(self, state):
        """The (coef, intercept) a model should expose: averaged or live.

        After a burn-in under an L1 penalty, the averaged weights are zero
        wherever the live ones are: the average of iterates that crossed
        zero on the way is dense, the penalty's solution is not.
        """
        if not state.averaging:
            return state.coef, state.intercept
        if self.burn_in and self._l1:
            return np.where(state.coef != 0, state.avg_coef, 0), state.avg_intercept
        return state.avg_coef, state.avg_intercept

    def start_averaging(self, state):
        """Average the iterates from the next update on (after a burn-in)."""
        self.average = state.average = int(state.t)

    def run_epoch(self, state, X, Y, sample_weight, order=None, y_idx=None):
        """One pass over the rows ``order`` of ``X`` (None: all rows in turn).

        ``Y`` holds the encoded targets (:meth:`Objective.encode`) and
        ``y_idx``, if given, the class index of each row (which the compiled
        kernel reads instead of ``Y``). Updates ``state`` in place and
        returns the epoch's objective: the weighted mean of each batch's
        loss, taken just before its step, plus the penalty at those points.
        """
        if self._solver is not None:
            # The full batch (the plan allows no other): one solver update.
            oracle = MemoryOracle(self.objective, X, Y, sample_weight)
            return self.solver_step(state, oracle)
        if self._reduced is not None:
            return self._reduced.run(self, state, X, Y, sample_weight, order, y_idx)
        if self._compiled:
            objective = _compiled.run_epoch(
                self, state, X, Y, sample_weight, order, y_idx, self.n_jobs
            )
            if objective is not None:
                return objective
        if self._solver is None and self._reduced is None and self.lazy(X):
            return self._lazy.run(state, X, Y, sample_weight, order)
        n = X.shape[0] if order is None else len(order)
        batch = min(self.batch, n)
        total_weight = self.total_weight(sample_weight, order)
        # Per-row factor n * w_i / W: divided by the batch size it makes each
        # step an unbiased estimate of the gradient of the weighted mean.
        row_scale = sample_weight * (n / total_weight)
        data_sum = 0.0
        penalty_sum = 0.0
        for start in range(0, n, batch):
            if order is None:
                rows = slice(start, start + batch)
                Xb = X if batch == n else X[rows]
            else:
                rows = order[start : start + batch]
                Xb = X[rows]
            size = Xb.shape[0]
            if self._penalised:
                penalty_sum += size * self.objective.penalty_value(state.coef)
            values = self._step(state, Xb, Y[rows], row_scale[rows] / size)
            if sample_weight.ndim == 2:
                data_sum += float(np.sum(values * sample_weight[rows]))
            else:
                data_sum += float(values @ sample_weight[rows])
        return data_sum / total_weight + penalty_sum / n

    def lazy(self, X):
        """True if the epochs on ``X`` take the lazy rule (``skgd._lazy``)."""
        return _lazy_applies(self, X)

    def total_weight(self, sample_weight, order):
        """What an epoch's weights are divided by: their sum over the rows
        ``order`` (None: all), or with ``raw_weights`` the number of rows."""
        if self.raw_weights:
            return float(len(sample_weight) if order is None else len(order))
        return float((sample_weight if order is None else sample_weight[order]).sum())

    def _step(self, state, Xb, Yb, scale):
        obj = self.objective
        coef, intercept = state.coef, state.intercept
        lr = self.schedule.rate(state.t, state.sched_state)
        if self.schedule.needs_batch:
            values, grad_coef, grad_intercept = self._batch_sized_gradient(
                state, Xb, Yb, scale, lr
            )
        else:
            values, grad_coef, grad_intercept = obj.batch_gradient(
                coef, intercept, Xb, Yb, scale
            )
        self._apply(state, grad_coef, grad_intercept, lr, Xb)
        return values

    def solver_step(self, state, oracle):
        """One update of the full-batch solver from ``oracle`` (rows in
        memory, or the blocks of a dask array); returns the objective."""
        if state.solver["eta"] is None:
            # The first trial step, 1/L for the data's curvature bound.
            state.solver["eta"] = step_for(oracle.smoothness())
        return self._solver.step(state, oracle)

    def full_batch_step(self, state, grad_coef, grad_intercept):
        """One full-batch step from a data gradient computed elsewhere.

        ``grad_coef`` and ``grad_intercept`` are the gradient of the weighted
        mean loss at the current weights (:meth:`Objective.data_term`); the
        penalty, the optimizer, the L1 truncation, averaging and the clock
        then act exactly as in a full-batch :meth:`run_epoch`. For data that
        the engine cannot hold, e.g. blocks summed on a Dask cluster. The
        gradient arrays may be overwritten.
        """
        lr = self.schedule.rate(state.t, state.sched_state)
        self._apply(state, grad_coef, grad_intercept, lr, None)

    def step_along(self, state, grad_coef, grad_intercept, lr):
        """The smooth penalty's gradient added to ``grad_coef`` (in place),
        then the optimizer's step on the weights."""
        obj = self.objective
        coef, intercept = state.coef, state.intercept
        if self.optimizer.proximal:
            # The rule takes the penalty itself (FTRL-Proximal).
            steps, state.opt_state = self.optimizer.update(
                [grad_coef, grad_intercept],
                state.opt_state,
                lr,
                penalties=[(self._l1, self._l2), (0.0, 0.0)],
            )
            coef += steps[0]
            if obj.fit_intercept:
                intercept += steps[1]
            return
        if self._l2 and self.optimizer.plain and lr * self._l2 >= 1.0:
            # Plain SGD's decay factor 1 - lr * l2 clamped at 0, as
            # SGDClassifier clamps it: the weights go to 0, not past it.
            coef[...] = 0.0
        elif self._l2:
            grad_coef += self._l2 * coef
        elif self._own_penalty:
            grad_coef += obj.penalty_term(coef)[1]
        steps, state.opt_state = self.optimizer.update(
            [grad_coef, grad_intercept], state.opt_state, lr
        )
        coef += steps[0]
        if obj.fit_intercept:
            if self.intercept_decay != 1.0:
                steps[1] = steps[1] * self.intercept_decay
            intercept += steps[1]

    def _apply(self, state, grad_coef, grad_intercept, lr, Xb):
        """Penalty, optimizer update, L1 truncation, averaging, clock."""
        coef, intercept = state.coef, state.intercept
        self.step_along(state, grad_coef, grad_intercept, lr)
        if self._l1 and not self.optimizer.proximal:
            self._truncate(state, lr, Xb)
        if self.average and self.average <= state.t:
            k = state.t - self.average + 1.0
            state.avg_coef += (coef - state.avg_coef) / k
            state.avg_intercept += (intercept - state.avg_intercept) / k
        state.t += 1.0

    def _batch_sized_gradient(self, state, Xb, Yb, scale, lr):
        """The data step sized by the schedule from the batch (passive-aggressive).

        The schedule gives one step per column from that column's loss and
        the batch's squared norm; the result is returned as a gradient for a
        step of size ``lr``, so that the penalty still takes the schedule's
        plain rate (C), as in scikit-learn.
        """
        obj = self.objective
        Z = obj.scores(state.coef, state.intercept, Xb)
        values, G = obj.loss.loss_gradient(Yb, Z)
        sqnorm = float(Xb.multiply(Xb).sum() if sp.issparse(Xb) else (Xb * Xb).sum())
        rates = self.schedule.rate(
            state.t, state.sched_state, loss_value=values[0], sqnorm=sqnorm
        )
        G *= rates / lr
        if scale.ndim == 2:  # one-vs-rest class weights: per output
            G *= scale
            return values, *obj.lift(Xb, G)
        G *= scale[:, None]
        return values.sum(axis=1), *obj.lift(Xb, G)

    def _truncate(self, state, lr, Xb):
        """Cumulative L1 truncation (Tsuruoka et al. 2009) on the columns in Xb."""
        precond = self.optimizer.preconditioner(state.opt_state)
        state.l1_u = state.l1_u + lr * self._l1 * (
            1.0 if precond is None else precond[0]
        )
        coef, q, u = state.coef, state.l1_q, state.l1_u
        if sp.issparse(Xb):
            # Lazy: a column that no row of the batch touches keeps its debt
            # in u - q and pays it the next time it is touched.
            cols = np.unique(Xb.indices)
            w, qc = coef[:, cols], q[:, cols]
            uc = u[:, cols] if np.ndim(u) else u
        else:
            w, qc, uc = coef, q, u
        before = w.copy()
        w = np.where(
            before > 0,
            np.maximum(0.0, before - (uc + qc)),
            np.where(before < 0, np.minimum(0.0, before + (uc - qc)), before),
        ).astype(coef.dtype, copy=False)
        qc = qc + (w - before)
        if sp.issparse(Xb):
            coef[:, cols] = w
            q[:, cols] = qc
        else:
            coef[...] = w
            q[...] = qc


_ADVICE = (
    "Lower the step size (eta0, or learning_rate='auto', which calibrates "
    "one), or scale the features, e.g. with sklearn.preprocessing.StandardScaler."
)


class DivergenceGuard:
    """Ends training whose objective rises above where it started.

    ``start`` is the objective at the starting weights. During training, an
    epoch's objective above ``start + 10 max(|start|, 1)`` is divergence: far
    beyond the noise of a stochastic epoch (an average taken along the way)
    and the transient overshoot of momentum or of a large first step, long
    before an overflow. At the end of a full-batch fit, whose objective has
    no noise, :meth:`check_end` refuses weights whose exact objective is above
    ``start`` at all. (A stochastic fit may end a little above its start on
    data with no signal to learn: that is noise, not divergence. From an
    objective of 0, the perceptron's at zero weights, which is its minimum,
    any learning is a rise: only the first rule applies there.)
    """

    def __init__(self, start):
        self.start = start
        self.limit = start + 10.0 * max(abs(start), 1.0)

    def check(self, epoch, objective):
        if objective > self.limit:
            raise ValueError(
                f"Training diverged at epoch {epoch}: the objective rose to "
                f"{objective:.6g}, above where training started "
                f"({self.start:.6g}). {_ADVICE}"
            )

    def check_end(self, objective, dtype):
        """``objective``: the exact objective of the full-batch weights a
        fit returns."""
        # Rounding in sums over many rows: a few ulps of the objective.
        slack = (1e-5 if dtype == np.float32 else 1e-10) * abs(self.start)
        if self.start != 0 and objective > self.start + slack:
            raise ValueError(
                f"Training diverged: it ended at an objective of {objective:.6g}, "
                f"above where it started ({self.start:.6g}). {_ADVICE}"
            )


@dataclass
class EpochReport:
    """What :func:`train` records, for the estimator's fitted attributes."""

    n_epochs: int = 0
    objectives: list = field(default_factory=list)
    validation_scores: list = field(default_factory=list)
    best_score: float = -np.inf
    best_weights: tuple = None
    stopped_by_callback: bool = False
    converged: bool = False  # a solver's stopping rule held
    gap: float = None  # a solver's last certified distance to the optimum
    # Wall seconds and rows of each epoch (the estimator's time_curve_ and
    # samples_curve_ add them up).
    epoch_seconds: list = field(default_factory=list)
    epoch_rows: list = field(default_factory=list)
    # Why training stopped: one of STOP_REASONS.
    stop_reason: str = "max_iter"


#: The values of a fitted estimator's ``stop_reason_``, and what they mean.
STOP_REASONS = {
    "max_iter": "ran max_iter epochs",
    "tol": "the training objective did not improve by tol for n_iter_no_change epochs",
    "validation": "the validation score did not improve by tol for "
    "n_iter_no_change epochs",
    "converged": "the objective was certified within tol of its minimum",
    "callback": "a callback asked to stop",
    "partial_fit": "partial_fit runs one epoch",
}


def train(
    engine,
    state,
    source,
    *,
    max_epochs,
    shuffle,
    tol,
    n_iter_no_change,
    validation_score=None,
    verbose=0,
    tasks=None,
    guard=None,
    partial=False,
):
    """Run up to ``max_epochs`` epochs with scikit-learn's stopping rule.

    Each epoch is ``source.run_epoch(engine, state, shuffle)`` (the data
    sources of ``skgd._sources`` and ``skgd._dask``), which returns the
    epoch's objective. Without ``validation_score``, an epoch "does not
    improve" when its objective is not below the best so far minus ``tol``
    (``tol`` times the best so far for an engine with ``relative_tol``);
    with it (a callable ``(coef, intercept) -> score``), when the score is
    not above the best so far plus ``tol``. After ``n_iter_no_change`` such
    epochs in a row the schedule decides: ``"adaptive"`` lowers its rate,
    the others stop. ``tol=None`` never stops early. The weights of the best
    validation score are kept in the report. An engine that solves the full
    batch (a line search) stops instead when its certificate of optimality
    holds (:meth:`Engine.converged`: the objective certified within ``tol``,
    relative, of its minimum).

    An engine with a burn-in (``engine.burn_in``) starts averaging after
    the first epoch that does not improve, or after half of ``max_epochs``.

    ``tasks`` (``skgd._callbacks.EpochTasks``) reports each epoch to the
    estimator's callbacks; training stops after an epoch when one asks.

    The report records each epoch's objective, seconds and rows, and why
    training stopped (``STOP_REASONS``; ``partial``: a partial_fit call).

    Raises ``ValueError`` if the weights or the objective become non-finite,
    or if ``guard`` (a :class:`DivergenceGuard`) sees the objective rise.
    """
    report = EpochReport(stop_reason="partial_fit" if partial else "max_iter")
    best_objective = np.inf
    no_improvement = 0
    start_time = time.perf_counter()
    for epoch in range(1, max_epochs + 1):
        if tasks:
            tasks.begin_epoch()
        epoch_start = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            objective = source.run_epoch(engine, state, shuffle)
        report.n_epochs = epoch
        coef, intercept = engine.weights(state)
        if not (np.isfinite(objective) and _all_finite(state.coef, state.intercept)):
            raise ValueError(
                f"Floating-point under-/overflow occurred at epoch #{epoch}. "
                "Scaling input data with StandardScaler or MinMaxScaler might "
                "help. (Training diverged: the weights or the objective became "
                "non-finite, inf or NaN. Lowering the step size also helps: "
                "eta0, or with learning_rate='optimal', whose first step is "
                f"alpha ** -0.25, a larger alpha.){_suspects(engine)}"
            )
        if guard is not None:
            guard.check(epoch, objective)
        report.objectives.append(objective)
        report.epoch_rows.append(source.n_rows)
        if engine.certifies and validation_score is None:
            # The solver's rule (below) replaces the objective's.
            improved = True
        elif validation_score is not None:
            score = validation_score(coef, intercept)
            report.validation_scores.append(score)
            improved = tol is None or score >= report.best_score + tol
            if score > report.best_score:
                report.best_score = score
                report.best_weights = (coef.copy(), intercept.copy())
        else:
            relative = engine.relative_tol and np.isfinite(best_objective)
            scale = abs(best_objective) if relative else 1.0
            improved = tol is None or objective <= best_objective - tol * scale
            best_objective = min(best_objective, objective)
        if (
            engine.burn_in
            and not state.averaging
            and (not improved or 2 * epoch >= max_epochs)
        ):
            # The burn-in ends at the first epoch that does not improve (the
            # run has reached its noise floor) or half way through max_epochs.
            engine.start_averaging(state)
        # The epoch's time includes its validation score, as the user waits.
        report.epoch_seconds.append(time.perf_counter() - epoch_start)
        no_improvement = 0 if improved else no_improvement + 1
        if verbose:
            _print_epoch(engine, epoch, objective, coef, state, report, start_time)
            if verbose >= 2:
                _print_detail(report, no_improvement, n_iter_no_change, best_objective)
        if engine.certifies:
            report.gap = state.solver["gap"]
        if tasks and tasks.end_epoch(
            coef,
            intercept,
            EpochProgress(
                epoch=epoch,
                max_epochs=max_epochs,
                objective=objective,
                seconds=time.perf_counter() - start_time,
                rule=_stopping_rule(engine, tol, validation_score),
                no_improvement=no_improvement,
                n_iter_no_change=n_iter_no_change,
                tol=tol,
                best=_finite_or_none(
                    report.best_score if validation_score else best_objective
                ),
                validation_score=(
                    report.validation_scores[-1] if validation_score else None
                ),
                gap=report.gap,
            ),
        ):
            report.stopped_by_callback = True
            report.stop_reason = "callback"
            break
        if engine.converged(state, tol):
            report.converged = True
            if not partial:  # a partial_fit call ends after its epoch anyway
                report.stop_reason = "converged"
            break
        if no_improvement >= n_iter_no_change:
            state.sched_state, stop = engine.schedule.on_plateau(state.sched_state)
            if stop:
                report.stop_reason = "validation" if validation_score else "tol"
                break
            no_improvement = 0
            if engine.burn_in and state.averaging:
                # A lower rate (the "adaptive" schedule) takes the run down to
                # a new noise floor: the average starts again from there.
                engine.start_averaging(state)
    if verbose:
        print(
            f"-- Stopped after {report.n_epochs} "
            f"epoch{'s' if report.n_epochs != 1 else ''} "
            f"({STOP_REASONS[report.stop_reason]}), "
            f"{time.perf_counter() - start_time:.2f} s",
            flush=True,
        )
    return report


@dataclass(frozen=True)
class EpochProgress:
    """Where a call stands after an epoch, for the callbacks: skgd's epoch
    tasks carry it as ``context.skgd_progress``.

    ``rule`` names what may end the call before ``max_epochs``: ``"tol"``
    (the training objective), ``"validation"`` (the validation score),
    ``"converged"`` (a certifying method's gap below ``tol``) or None
    (``tol=None``: only ``max_epochs`` ends it). ``no_improvement`` counts the
    epochs in a row that did not improve by ``tol``, out of
    ``n_iter_no_change``; ``best`` is the best objective or validation score
    so far (None until there is one, and for a certifying method, whose
    rule is its gap); ``seconds`` runs from the start of the call.
    """

    epoch: int
    max_epochs: int
    objective: float
    seconds: float
    rule: str
    no_improvement: int
    n_iter_no_change: int
    tol: float
    best: float
    validation_score: float
    gap: float


def _finite_or_none(value):
    return float(value) if np.isfinite(value) else None


def _stopping_rule(engine, tol, validation_score):
    """What may end a call of :func:`train` before its last epoch."""
    if tol is None:
        return None
    if validation_score is not None:
        return "validation"
    return "converged" if engine.certifies else "tol"


def _print_detail(report, no_improvement, n_iter_no_change, best_objective):
    """verbose >= 2: the epoch's rows and time, and the stopping rule's
    state (the compiled epoch has no Python step by step to print)."""
    line = (
        f"   rows {report.epoch_rows[-1]}, epoch {report.epoch_seconds[-1]:.3f} s, "
        f"no improvement {no_improvement}/{n_iter_no_change}"
    )
    if report.validation_scores:
        line += f", best validation score {report.best_score:.6g}"
    elif np.isfinite(best_objective):
        line += f", best objective {best_objective:.6g}"
    if report.gap is not None:
        line += f", certified gap {report.gap:.3g}"
    print(line, flush=True)


def _print_epoch(engine, epoch, objective, coef, state, report, start_time):
    # The step size the schedule gives the next update (before any
    # per-coordinate scaling of adaptive optimizers).
    step = engine.schedule.rate(state.t, state.sched_state)
    line = (
        f"-- Epoch {epoch}: objective {objective:.6g}, "
        f"norm {np.linalg.norm(coef):.4g}, step {step:.4g}, "
        f"nnz {np.count_nonzero(coef)}, T {int(state.t) - 1}"
    )
    if report.validation_scores:
        line += f", validation score {report.validation_scores[-1]:.6g}"
    print(f"{line}, {time.perf_counter() - start_time:.2f} s", flush=True)
