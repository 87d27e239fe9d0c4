"""When the compiled epoch applies, and the integer codes it uses.

The compiled kernel (``skgd._fast``, built from ``_fast.pyx``) covers
per-sample plain SGD for every built-in loss (margin losses one-vs-rest,
softmax, multiclass hinge), every built-in penalty, the "constant",
"optimal", "invscaling" and "adaptive" schedules (not the passive-aggressive
ones) and averaging, on dense float32/float64 data. Anything else, and any
installation where the extension did not build, runs the NumPy engine, which
gives the same numbers.
"""

import numpy as np

from skgd.losses import (
    EpsilonInsensitive,
    Hinge,
    Huber,
    LogLoss,
    ModifiedHuber,
    MulticlassHinge,
    Softmax,
    SquaredEpsilonInsensitive,
    SquaredError,
    SquaredHinge,
)
from skgd.optimizers import SGD
from skgd.schedules import Adaptive, Constant, InvScaling, Optimal

try:
    from skgd import _fast
except ImportError:  # pragma: no cover - exercised by the fallback test
    _fast = None

#: Set to False to force the NumPy engine (tests compare the two).
ENABLED = True

# Codes shared with _fast.pyx (its DEF constants): change both together.
LOSS_CODES = {
    Hinge: 0,
    SquaredHinge: 1,
    LogLoss: 2,
    ModifiedHuber: 3,
    SquaredError: 4,
    Huber: 5,
    EpsilonInsensitive: 6,
    SquaredEpsilonInsensitive: 7,
    Softmax: 8,
    MulticlassHinge: 9,
}
SCHEDULE_CODES = {Constant: 0, Adaptive: 0, Optimal: 1, InvScaling: 2}


def _loss_parameter(loss):
    if isinstance(loss, (Hinge, SquaredHinge)):
        return float(loss.threshold)
    if isinstance(loss, MulticlassHinge):
        return float(loss.margin)
    return float(getattr(loss, "epsilon", 0.0))


def applies(engine):
    """True if the compiled epoch can run this engine's components."""
    return (
        _fast is not None
        and engine.batch_size == 1
        and type(engine.optimizer) is SGD
        and type(engine.objective.loss) in LOSS_CODES
        and type(engine.schedule) in SCHEDULE_CODES
    )


def run_epoch(engine, state, X, Y, sample_weight, order):
    """The compiled epoch, or None when the data or state do not fit it."""
    if not ENABLED or not isinstance(X, np.ndarray):
        return None
    dtype = X.dtype
    multiclass = engine.objective.loss.multiclass
    arrays = [sample_weight, state.coef, state.intercept]
    if not multiclass:
        arrays.append(Y)
    if engine.average:
        arrays += [state.avg_coef, state.avg_intercept]
    if state.l1_q is not None:
        arrays.append(state.l1_q)
    if dtype not in (np.float32, np.float64) or any(
        a.dtype != dtype or not a.flags.c_contiguous for a in arrays
    ):
        return None
    n = X.shape[0] if order is None else len(order)
    order = np.arange(n, dtype=np.intp) if order is None else order.astype(np.intp)
    total_weight = float(sample_weight[order].sum())
    row_scale = sample_weight * np.asarray(n / total_weight, dtype=dtype)
    schedule = engine.schedule
    eta0 = getattr(schedule, "eta0", 0.0)
    if isinstance(schedule, Adaptive):
        eta0 = schedule.rate(state.t, state.sched_state)
    alpha, t0 = 1.0, 0.0
    if isinstance(schedule, Optimal):
        alpha = schedule.alpha
        t0 = 1.0 / (np.sqrt(1.0 / np.sqrt(alpha)) * alpha)
    empty2 = np.zeros((1, 1), dtype=dtype)
    empty1 = np.zeros(1, dtype=dtype)
    n_classes = engine.objective.n_classes
    t, l1_u, data_sum, penalty_sum = _fast.sgd_epoch_dense(
        X,
        empty2 if multiclass else Y,
        np.ascontiguousarray(Y, dtype=np.intp) if multiclass else np.zeros(1, np.intp),
        np.zeros(n_classes),  # scratch: the scores of one sample
        np.zeros(2 * n_classes),  # scratch: their gradient, then the raw dots
        row_scale,
        sample_weight,
        order,
        state.coef,
        state.intercept,
        LOSS_CODES[type(engine.objective.loss)],
        _loss_parameter(engine.objective.loss),
        alpha,
        engine._l2,
        engine._l1,
        engine.objective.fit_intercept,
        SCHEDULE_CODES[type(schedule)],
        float(eta0),
        float(getattr(schedule, "power_t", 0.0)),
        t0,
        float(state.t),
        engine.average,
        state.avg_coef if engine.average else empty2,
        state.avg_intercept if engine.average else empty1,
        float(state.l1_u),
        state.l1_q if state.l1_q is not None else empty2,
    )
    state.t, state.l1_u = t, l1_u
    return data_sum / total_weight + penalty_sum / n
