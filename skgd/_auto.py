"""The mode-aware default schedule, ``learning_rate="auto"``.

What a good step is depends on the descent mode, the update rule and the
data, so the default resolves to a schedule once the plan knows them:

* **batch 1 with plain SGD** (the SGDClassifier configuration): Bottou's
  ``"optimal"`` schedule, exactly as scikit-learn's default;
* **the full batch** with plain SGD, a smooth loss and no averaging: the
  line search (:class:`skgd.schedules.LineSearch`), which needs no step;
* **SAGA and SVRG** (``optimizer="saga"``, ``"svrg"``): the constant step
  ``1 / (3 L_B)`` from the data's smoothness
  (:func:`skgd._variance_reduced.step_size`), which SAGA's convergence
  theory asks for; at the full batch, where their step is a proximal
  gradient step, the line search;
* **anything else** (mini-batches, other update rules, losses with
  corners): ``"adaptive"`` from a step calibrated on a sample of the rows,
  Bottou's method: a few trial steps from the starting weights on up to 1000
  rows, keeping the step after which the sample's objective is lowest; the
  rate is then divided by 5 whenever training stops improving.

The resolved schedule is the fitted attribute ``learning_rate_``.
"""

import math

import numpy as np

from skgd._engine import Engine
from skgd._full_batch import step_for
from skgd._objective import well_scaled
from skgd._sources import RowsInMemory
from skgd.schedules import Adaptive, Constant, LineSearch, Optimal

#: Rows of the calibration sample, at most.
SAMPLE = 1000
#: Updates each trial step takes on the sample, at least.
UPDATES = 20
#: Trial steps tried up or down from the first one, at most.
TRIALS = 12
#: The calibrated step is this many times smaller than the sample's best:
#: the best step for a short run is at the edge of the stable ones.
SAFETY = 4.0


def resolve(params, components, batch, n_train, calibrated_step, smooth_step):
    """The schedule ``learning_rate="auto"`` stands for in this plan.

    ``calibrated_step()`` calibrates a step where the data is (the plan's
    data description: :func:`calibrate` on a sample); it is only called
    when a step must be calibrated. ``smooth_step()`` is SAGA's (SVRG's)
    step from the data's smoothness.
    """
    smooth = components.loss.curvature is not None
    full = batch >= n_train
    if components.optimizer.variance_reduced:
        # At the full batch SAGA's (SVRG's) correction vanishes: the line search
        # takes the same proximal gradient steps, with a better step size.
        return LineSearch() if full else Constant(eta0=smooth_step())
    plain = components.optimizer.plain
    if batch == 1 and plain:
        if params["alpha"] == 0:
            raise ValueError(
                "learning_rate='auto' is 'optimal' for batch_size=1 with plain "
                "SGD (scikit-learn's default), which is 1 / (alpha * (t0 + t - 1)) "
                "and needs alpha > 0. Use a positive alpha or another learning_rate."
            )
        return Optimal(alpha=params["alpha"])
    if full and plain and smooth and not params["average"]:
        return LineSearch()
    if components.optimizer.proximal:
        # FTRL's weights are a function of its state and the rate: a rate
        # lowered on a plateau would shrink them all at once. Its steps
        # shrink per coordinate by themselves.
        return Constant(eta0=calibrated_step() / SAFETY)
    return Adaptive(eta0=calibrated_step() / SAFETY)


def _sample_objective(engine, X, Y, weights, coef, intercept):
    """The exact objective on the sample (inf where training blew up)."""
    if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
        return math.inf
    with np.errstate(over="ignore", invalid="ignore"):
        value = engine.objective.value_and_gradient(coef, intercept, X, Y, weights)[0]
    return value if np.isfinite(value) else math.inf


def _trial(components, objective, batch, eta, data, start, epochs):
    """The sample's objective after ``epochs`` epochs at a constant ``eta``."""
    X, Y, y_idx, weights = data
    engine = Engine(objective, components.optimizer, Constant(eta0=eta), batch)
    rng = np.random.RandomState(0)
    state = engine.init_state(start[0].copy(), start[1].copy(), rng)
    rows = RowsInMemory(X, Y, y_idx, weights, None, batch)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(epochs):
            rows.run_epoch(engine, state, shuffle=True)
            if not np.isfinite(state.coef).all():
                return math.inf
    return _sample_objective(engine, X, Y, weights, state.coef, state.intercept)


def calibrate(components, batch, objective, class_weights, sample, start):
    """The constant step that lowers the sample's objective most.

    ``sample`` is ``(X, y_idx, sample_weight)``, at most ``SAMPLE`` rows;
    ``start`` the ``(coef, intercept)`` training starts from.

    The first trial step is ``1/L`` for a bound ``L`` of the curvature
    (the loss's, or 1 for a loss with corners, times the mean squared row
    norm, plus the L2 part of the penalty); steps then double while the
    objective keeps falling, or halve if the first doubling did not help.
    Every trial starts from ``start`` and takes at least ``UPDATES`` updates.
    """
    X, y_idx, sample_weight = sample
    Y = objective.encode(y_idx, X.dtype)
    weights = class_weights[y_idx].astype(X.dtype)
    if sample_weight is not None:
        weights *= sample_weight
    weights = well_scaled(weights)
    n = X.shape[0]
    batch = min(batch, n)
    epochs = max(1, math.ceil(UPDATES / math.ceil(n / batch)))
    sq = X.multiply(X).sum(axis=1) if hasattr(X, "multiply") else (X * X).sum(axis=1)
    mean_sq = float(np.asarray(sq).ravel() @ weights) / float(weights.sum())
    l2, _, _ = objective.penalty_parts()
    curvature = components.loss.curvature or 1.0
    eta = step_for(curvature * (mean_sq + objective.fit_intercept) + l2)
    data = (X, Y, y_idx, weights)

    def score(step):
        return _trial(components, objective, batch, step, data, start, epochs)

    best_eta, best = eta, score(eta)
    for factor in (2.0, 0.5):
        candidate = best_eta * factor
        for _ in range(TRIALS):
            value = score(candidate)
            if not value < best:
                break
            best_eta, best = candidate, value
            candidate *= factor
        if best_eta != eta:
            break  # doubling helped: no need to look down
    return best_eta
