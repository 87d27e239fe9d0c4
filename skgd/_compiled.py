"""When a compiled epoch applies, how it is called, and the codes it uses.

The compiled kernels (``skgd._fast``, built from ``_fast.pyx``) cover every
built-in loss (margin losses one-vs-rest, softmax, multiclass hinge), every
built-in penalty and optimizer, the "constant", "optimal", "invscaling" and
"adaptive" schedules (not the passive-aggressive ones) and averaging, on
float32/float64 data:

* dense ``X``, batch 1, plain SGD: ``sgd_epoch_dense``;
* everything else on dense ``X``, and batches smaller than the full batch
  on CSR ``X``: ``minibatch_epoch``. On dense data it multiplies blocks of
  rows with BLAS (two GEMMs), as the NumPy engine does, without its Python
  work per batch, and two lanes of blocks run in parallel threads; measured
  with ``benchmarks/bench.py``, it is as fast or faster at every batch size.
  The full batch on CSR data is the NumPy engine's: one pass of SciPy's
  sparse products is as fast as the kernel there.

The NumPy engine runs anything else (user-defined components, other sparse
formats, an installation where the extension did not build). Both paths
give the same numbers.

With ``n_jobs > 1``, the columns of a one-vs-rest model are split into
groups that train in parallel threads (the kernels release the GIL) where
the kernel works row by row: batch 1 on dense data, any batch on CSR data.
There each column's arithmetic does not depend on the others, and the
kernels keep their sums per column, so the model and its loss curve are bit
for bit the same for every ``n_jobs``. Dense mini-batches are matrix
products over all columns at once, which BLAS threads by itself.
"""

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from sklearn.utils.parallel import Parallel, delayed
from threadpoolctl import ThreadpoolController

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
from skgd.optimizers import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSProp
from skgd.schedules import Adaptive, Constant, InvScaling, Optimal

try:
    from skgd import _fast
except ImportError:  # pragma: no cover - exercised by the fallback test
    _fast = None

#: Set to False to force the NumPy engine (tests compare the two).
ENABLED = True

_threadpools = None  # a ThreadpoolController, made on first use (it scans)


def _lane_threads():
    """Threads for the two lanes of large dense batches (OpenMP).

    As scikit-learn's OpenMP code: OMP_NUM_THREADS, threadpoolctl limits and
    the number of cores bound it.
    """
    return max(1, min(2, _openmp_effective_n_threads()))


def _one_blas_thread():
    """Limit BLAS to one thread while the column groups run in threads.

    The groups already keep the cores busy; BLAS threads on top of them
    would oversubscribe the machine. threadpoolctl ships with scikit-learn.
    """
    global _threadpools
    if _threadpools is None:
        _threadpools = ThreadpoolController()
    return _threadpools.limit(limits=1, user_api="blas")


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
OPTIMIZER_CODES = {SGD: 0, Momentum: 1, Nesterov: 2, AdaGrad: 3, RMSProp: 4, Adam: 5}


def _loss_parameter(loss):
    if isinstance(loss, (Hinge, SquaredHinge)):
        return float(loss.threshold)
    if isinstance(loss, MulticlassHinge):
        return float(loss.margin)
    return float(getattr(loss, "epsilon", 0.0))


def applies(engine):
    """True if a compiled kernel can run this engine's components.

    Whether it does for given data is decided per epoch by :func:`run_epoch`.
    """
    return (
        _fast is not None
        and type(engine.optimizer) in OPTIMIZER_CODES
        and type(engine.objective.loss) in LOSS_CODES
        and type(engine.schedule) in SCHEDULE_CODES
    )


def _kernel(engine, X, n_rows):
    """The kernel for this data and batch size, or None for the NumPy engine."""
    batch = n_rows if engine.batch_size is None else min(engine.batch_size, n_rows)
    if isinstance(X, np.ndarray):
        # The batch-1 kernel hands rows to BLAS: it needs unit column stride
        # and rows in memory order (any other layout is gathered by the other).
        in_place = X.strides[1] == X.itemsize and X.strides[0] > 0
        if batch == 1 and type(engine.optimizer) is SGD and in_place:
            return _fast.sgd_epoch_dense
        return _fast.minibatch_epoch
    if sp.issparse(X) and X.format == "csr" and batch < n_rows:
        return _fast.minibatch_epoch
    # The full batch of CSR rows: SciPy's two sparse products are as fast
    # (measured: 0.75 and 0.55 x the kernel's epoch, binary and 10 classes).
    return None


def _optimizer_arrays(engine, state):
    """The optimizer's state as (s1, s2, s1_b, s2_b, count) for the kernel."""
    opt_state = state.opt_state
    slots = {
        Momentum: ("velocity", None),
        Nesterov: ("velocity", None),
        AdaGrad: ("sum_sq", None),
        RMSProp: ("mean_sq", None),
        Adam: ("m", "v"),
    }.get(type(engine.optimizer), (None, None))
    arrays = []
    for key in slots:
        if key is None:
            # Not read by this rule; placeholders of the right shape.
            arrays.append([np.zeros_like(state.coef), np.zeros_like(state.intercept)])
        else:
            arrays.append(opt_state[key])
    (s1, s1_b), (s2, s2_b) = arrays
    return s1, s2, s1_b, s2_b, float(opt_state.get("count", 0))


def _state_fits(engine, state, dtype):
    """True if the optimizer state and L1 debts are arrays the kernel can take."""
    arrays = [
        a
        for value in state.opt_state.values()
        if isinstance(value, list)
        for a in value
    ]
    if np.ndim(state.l1_u):
        arrays.append(state.l1_u)
    return all(
        isinstance(a, np.ndarray) and a.dtype == dtype and a.flags.c_contiguous
        for a in arrays
    )


def _hyperparameters(optimizer):
    """(p1, p2, eps) in the kernel's convention."""
    p1 = getattr(optimizer, "momentum", getattr(optimizer, "rho", None))
    p1 = getattr(optimizer, "beta_1", p1)
    return (
        float(p1 or 0.0),
        float(getattr(optimizer, "beta_2", 0.0)),
        float(getattr(optimizer, "epsilon", 0.0)),
    )


def run_epoch(engine, state, X, Y, sample_weight, order, n_jobs=None):
    """A compiled epoch, or None when the data or state do not fit a kernel."""
    if not ENABLED:
        return None
    n = X.shape[0] if order is None else len(order)
    kernel = _kernel(engine, X, n)
    if kernel is None:
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
    if sp.issparse(X) and not X.has_canonical_format:
        # A row with a repeated column would be truncated (L1) once per entry.
        return None
    if (engine._l1 and state.l1_q is None) or not _state_fits(engine, state, dtype):
        return None
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
    n_out = state.coef.shape[0]
    common = dict(
        y_idx=np.asarray(Y, dtype=np.intp) if multiclass else np.zeros(1, np.intp),
        row_scale=row_scale,
        sample_weight=sample_weight,
        order=order,
        loss_code=LOSS_CODES[type(engine.objective.loss)],
        loss_param=_loss_parameter(engine.objective.loss),
        alpha=alpha,
        l2=engine._l2,
        l1=engine._l1,
        fit_intercept=engine.objective.fit_intercept,
        schedule_code=SCHEDULE_CODES[type(schedule)],
        eta0=float(eta0),
        power_t=float(getattr(schedule, "power_t", 0.0)),
        t0=t0,
        t=float(state.t),
        average=engine.average,
        l1_u=0.0,
    )
    empty2 = np.zeros((1, 1), dtype=dtype)
    Y = empty2 if multiclass else Y
    minibatch = kernel is _fast.minibatch_epoch
    adaptive = minibatch and type(engine.optimizer) in (AdaGrad, RMSProp, Adam)
    if adaptive and engine._l1 and np.ndim(state.l1_u) == 0:
        # Adaptive rules owe each coordinate its own truncation.
        state.l1_u = np.full(state.coef.shape, state.l1_u, dtype=dtype)
    if not adaptive:
        common["l1_u"] = float(state.l1_u)
    # On CSR data a step touches coef[:, j] for the row's columns j: with
    # several outputs, a column-major working copy (O(model) memory) keeps
    # those in one cache line instead of one line per output.
    coef, l1_q = state.coef, state.l1_q
    transposed = minibatch and sp.issparse(X) and n_out > 1
    if transposed:
        coef = np.asfortranarray(coef)
        l1_q = None if l1_q is None else np.asfortranarray(l1_q)
    if minibatch:
        s1, s2, s1_b, s2_b, count = _optimizer_arrays(engine, state)
        p1, p2, eps = _hyperparameters(engine.optimizer)
        if sp.issparse(X):
            dense, data, indices, indptr = empty2, X.data, X.indices, X.indptr
        else:
            dense, data = X, np.zeros(1, dtype)
            indices = indptr = np.zeros(1, np.int32)
        common.update(
            n_threads=1 if sp.issparse(X) else _lane_threads(),
            X=dense,
            X_data=data,
            X_indices=indices,
            X_indptr=indptr,
            sparse=sp.issparse(X),
            batch_size=n if engine.batch_size is None else engine.batch_size,
            opt_code=OPTIMIZER_CODES[type(engine.optimizer)],
            p1=p1,
            p2=p2,
            eps=eps,
            opt_count=count,
        )
    else:
        common.update(X=X)

    def columns(c0, c1):
        """The kernel's arguments for output columns c0:c1 (views, no copies)."""
        args = dict(
            common,
            Y=Y if multiclass else Y[:, c0:c1],
            coef=coef[c0:c1],
            intercept=state.intercept[c0:c1],
            avg_coef=state.avg_coef[c0:c1] if engine.average else empty2,
            avg_intercept=(
                state.avg_intercept[c0:c1] if engine.average else np.zeros(1, dtype)
            ),
            l1_q=l1_q[c0:c1] if l1_q is not None else empty2,
            data_sums=np.zeros(c1 - c0),
            penalty_sums=np.zeros(c1 - c0),
        )
        if minibatch:
            args.update(
                s1=s1[c0:c1],
                s2=s2[c0:c1],
                s1_b=s1_b[c0:c1],
                s2_b=s2_b[c0:c1],
                l1_u_coord=(state.l1_u[c0:c1] if adaptive and engine._l1 else empty2),
                grad=np.zeros_like(coef[c0:c1]),  # scratch, laid out like coef
            )
        return args

    # Column groups in threads where each column's arithmetic is its own
    # (per-row kernels): then the numbers do not depend on the grouping. A
    # dense mini-batch is one GEMM over all columns, threaded by BLAS itself.
    per_column = not multiclass and (not minibatch or sp.issparse(X))
    n_groups = min(effective_n_jobs(n_jobs), n_out) if per_column else 1
    bounds = np.linspace(0, n_out, n_groups + 1).astype(int)
    calls = [columns(c0, c1) for c0, c1 in zip(bounds[:-1], bounds[1:])]
    if n_groups == 1 and common.get("n_threads", 1) > 1:
        # The kernel's lanes are the parallelism: BLAS stays on one thread.
        with _one_blas_thread():
            results = [kernel(**calls[0])]
    elif n_groups == 1:
        results = [kernel(**calls[0])]
    else:
        with _one_blas_thread():
            results = Parallel(n_jobs=n_groups, backend="threading")(
                delayed(kernel)(**args) for args in calls
            )
    if transposed:
        state.coef[...] = coef
        if l1_q is not None:
            state.l1_q[...] = l1_q
    state.t = results[0][0]
    if not adaptive:
        state.l1_u = results[0][1]
    if minibatch and isinstance(engine.optimizer, Adam):
        state.opt_state["count"] = int(results[0][2])
    data_sum = np.concatenate([args["data_sums"] for args in calls]).sum()
    penalty_sum = np.concatenate([args["penalty_sums"] for args in calls]).sum()
    return float(data_sum) / total_weight + float(penalty_sum) / n
