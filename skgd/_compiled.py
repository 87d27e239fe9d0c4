"""When the compiled epoch applies, and its arguments from the declarations.

The compiled kernel (``skgd._fast``, built from ``_fast.pyx``) runs every
component whose class declares its compiled form (``_kernel``, a
:class:`skgd._component.KernelSpec`: every built-in loss, penalty, optimizer
and schedule), averaging included, on float32 or float64 data:

* batches of one row with plain SGD or passive-aggressive steps, on dense
  rows (any layout with a positive column stride) or CSR rows: a per-row
  epoch, along each row's own entries;
* any other batch and optimizer on dense data, and batches smaller than the
  full batch on CSR data: a mini-batch epoch. On dense data it multiplies
  pieces of rows that stay in the L1 cache with its own products for few
  outputs (``_dense.h``), without the NumPy engine's Python work per batch,
  and two lanes of blocks run in parallel threads; measured with
  ``benchmarks/bench.py``, it is as fast or faster at every batch size.
  The full batch on CSR data is the NumPy engine's: one pass of SciPy's
  sparse products is as fast as the kernel there.

SAGA and SVRG (``optimizer="saga"``, ``"svrg"``) have an epoch of their
own in the kernel (:func:`run_saga_epoch`), for every built-in loss and
penalty on the same rows.

This module is the one place that reads the declarations: it turns them into
the kernel's codes (the enumerations of ``skgd/_fast.pxd``) and parameters.
The NumPy engine runs anything else (a component without a declaration,
other sparse formats, an installation where the extension did not build).
Both paths give the same numbers.

With ``n_jobs > 1``, the columns of a one-vs-rest model are split into
groups that train in parallel threads (the kernel releases the GIL) where
the kernel works row by row: batch 1 on dense data, any batch on CSR data.
There each column's arithmetic does not depend on the others, and the
kernel keeps its sums per column, so the model and its loss curve are bit
for bit the same for every ``n_jobs``. Dense mini-batches are products over
all columns at once, which the kernel's lanes thread.
"""

import os

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from sklearn.utils.parallel import Parallel, delayed
from threadpoolctl import ThreadpoolController

from skgd._component import declared_kernel


def _import_kernel():
    """``skgd._fast``, its OpenMP runtime told to spin briefly.

    An idle OpenMP thread of GCC's runtime spins 300,000 times before it
    sleeps (OMP_WAIT_POLICY unset): after every dense epoch the second lane
    would burn a core for milliseconds while Python works, and on a busy
    machine take it from other programs. GOMP_SPINCOUNT=10000 keeps the
    quick hand-over between the batches of an epoch (measured as fast as the
    default) and sleeps soon after. The runtime reads its environment once,
    when it loads, which is here unless another module loaded it first; the
    user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT wins, and the environment
    is restored at once.
    """
    keys = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
    mine = not any(key in os.environ for key in keys)
    if mine:
        os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
    try:
        from skgd import _fast
    except ImportError:  # pragma: no cover - exercised by the fallback test
        _fast = None
    finally:
        if mine:
            del os.environ["GOMP_SPINCOUNT"]
    return _fast


#: Spins of an idle OpenMP thread before it sleeps (see _import_kernel).
SPIN_COUNT = 10_000

_fast = _import_kernel()

#: Set to False to force the NumPy engine (tests compare the two).
ENABLED = True

#: The kernel's entry points (tests wrap them to watch the calls).
KERNELS = ("epoch", "saga_epoch")

_threadpools = None  # a ThreadpoolController, made on first use (it scans)


#: Dense batches run their two lanes in two threads only for steps of at
#: least this many entries of X (rows x features) in epochs of at least
#: LANE_EPOCH_WORK: below, handing half a step to another thread costs more
#: than it saves (measured on 100,000 x 100 rows, 10 classes: 31 ms an epoch
#: in one thread against 39 ms in two at batch 128, 34 against 21 at batch
#: 256; two classes at batch 256: 25 against 18 ms), and a short epoch, e.g.
#: the full batch of a small data set, would wake the second thread for a
#: fraction of a millisecond of work, and wait for it when another program
#: holds the other core (digits' full batch: 0.2 ms an epoch alone, up to
#: 24 ms beside a busy process).
LANE_STEP_WORK = 20_000
LANE_EPOCH_WORK = 400_000


def _lane_threads(batch, n_rows, n_features):
    """Threads for the two lanes of large dense batches (OpenMP).

    Two where both the step and the epoch read enough of X to share
    (``LANE_STEP_WORK``, ``LANE_EPOCH_WORK``); as scikit-learn's OpenMP
    code, OMP_NUM_THREADS, threadpoolctl limits and the number of cores
    bound it. The lanes are fixed, so the model is the same for any number
    of threads.
    """
    if (
        min(batch, n_rows) * n_features < LANE_STEP_WORK
        or n_rows * n_features < LANE_EPOCH_WORK
    ):
        return 1
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


# -- the declarations ------------------------------------------------------------


def _declarations(engine):
    """The declared compiled forms of the engine's components, or None if
    one of them has none (a user-defined component, a penalty of its own)."""
    specs = dict(
        loss=declared_kernel(engine.objective.loss),
        optimizer=declared_kernel(engine.optimizer),
        schedule=declared_kernel(engine.schedule),
        penalty=None,
    )
    penalty = engine.objective.penalty
    if engine._penalised:
        specs["penalty"] = declared_kernel(penalty)
        if specs["penalty"] is None:
            return None
    if any(specs[kind] is None for kind in ("loss", "optimizer", "schedule")):
        return None
    return specs


def _values(component, spec, state=None):
    """The declared numeric parameters of a component, as floats."""
    values = [float(getattr(component, name)) for name in spec.params]
    return tuple(values + [float(state[key]) for key in spec.state])


def _components(engine, specs, sched_state):
    """The kernel's ``components`` argument: codes and parameters (the
    loss's first class is set per call, :func:`_components_from`)."""
    loss = specs["loss"]
    l2 = l1 = 0.0
    if specs["penalty"] is not None:
        alpha = engine.objective.alpha
        l2, l1 = (
            alpha * v for v in _values(engine.objective.penalty, specs["penalty"])
        )
    optimizer, schedule = specs["optimizer"], specs["schedule"]
    return (
        (
            int(_fast.LossCode[loss.code]),
            (_values(engine.objective.loss, loss) or (0.0,))[0],
            0,
        ),
        (l2, l1),
        (
            int(_fast.ScheduleCode[schedule.code]),
            _values(engine.schedule, schedule, sched_state),
        ),
        (
            int(_fast.OptimizerCode[optimizer.code]),
            _values(engine.optimizer, optimizer),
        ),
    )


def applies(engine):
    """True if the compiled kernel can run this engine's components.

    Whether it does for given data is decided per epoch by :func:`run_epoch`.
    """
    return _fast is not None and _declarations(engine) is not None


def _epoch_kind(engine, specs, X, n_rows):
    """``"row"`` (per-row epoch), ``"batch"`` (mini-batch epoch) or None."""
    batch = min(engine.batch, n_rows)
    per_row = batch == 1 and specs["optimizer"].code == "SGD"
    by_sample = specs["schedule"].code == "PASSIVE_AGGRESSIVE"
    if isinstance(X, np.ndarray):
        # A row goes to BLAS where it lies: its columns must run forwards.
        if per_row and X.strides[1] > 0:
            return "row"
        return None if by_sample else "batch"
    if not (sp.issparse(X) and X.format == "csr" and X.has_canonical_format):
        # (A row with a repeated column would be truncated twice under L1.)
        return None
    if X.indices.dtype != X.indptr.dtype:
        return None
    if per_row:
        return "row"
    # The full batch of CSR rows: SciPy's two sparse products are as fast
    # (measured: 0.75 and 0.55 x the kernel's epoch, binary and 10 classes).
    return "batch" if batch < n_rows and not by_sample else None


def _state_arrays(engine, state):
    """Every array of the state the kernel would read or write."""
    arrays = [state.coef, state.intercept]
    if engine.average:
        arrays += [state.avg_coef, state.avg_intercept]
    if state.l1_q is not None:
        arrays.append(state.l1_q)
    for value in state.opt_state.values():
        arrays += value if isinstance(value, list) else []
    if np.ndim(state.l1_u):
        arrays.append(state.l1_u)
    return arrays


def _fits(engine, state, X, sample_weight):
    """True if the data and the state are arrays the kernel can take."""
    dtype = X.dtype
    if dtype not in (np.float32, np.float64):
        return False
    if engine._l1 and state.l1_q is None:
        return False
    arrays = _state_arrays(engine, state) + [sample_weight]
    return all(
        isinstance(a, np.ndarray) and a.dtype == dtype and a.flags.c_contiguous
        for a in arrays
    )


def _class_indices(engine, Y, y_idx):
    """Each row's class index (the kernel derives the +1/-1 targets)."""
    if y_idx is not None:
        return np.asarray(y_idx, dtype=np.intp)
    if engine.objective.loss.multiclass:
        return np.asarray(Y, dtype=np.intp)
    if Y.shape[1] == 1:
        return (Y[:, 0] > 0).astype(np.intp)
    return Y.argmax(axis=1).astype(np.intp)


def _kernel_state(engine, state, specs, adaptive, lazy=False):
    """The kernel's ``state`` argument for all outputs, and the weights
    (``adaptive``: per-coordinate L1 debts; ``lazy``: none at all)."""
    opt_state = state.opt_state
    optimizer = specs["optimizer"]
    pairs = [opt_state[key] for key in optimizer.slots]
    pairs += [[None, None]] * (2 - len(pairs))
    (s1, s1_b), (s2, s2_b) = pairs
    arrays = dict(
        intercept=state.intercept,
        avg_coef=state.avg_coef if engine.average else None,
        avg_intercept=state.avg_intercept if engine.average else None,
        l1_q=state.l1_q,
        s1=s1,
        s2=s2,
        s1_b=s1_b,
        s2_b=s2_b,
        l1_u_coord=state.l1_u if adaptive and engine._l1 and not lazy else None,
    )
    numbers = dict(
        t=float(state.t),
        l1_u=0.0 if adaptive or lazy else float(state.l1_u),
        count=float(opt_state[optimizer.counter]) if optimizer.counter else 0.0,
        rate=float(opt_state.get("rate", 1.0)),
        average=engine.average,
        fit_intercept=engine.objective.fit_intercept,
        intercept_decay=engine.intercept_decay,
    )
    return arrays, numbers


def _components_from(components, first_class):
    """``components`` for a call whose first output is class ``first_class``
    (margin losses: the target of output c is +1 for the rows of class
    ``first_class + c``)."""
    (code, param, _), *rest = components
    return ((code, param, first_class), *rest)


def _sliced(arrays, c0, c1):
    """The arrays of outputs c0:c1 (views: rows of C-ordered arrays)."""
    return {k: None if a is None else a[c0:c1] for k, a in arrays.items()}


def run_epoch(engine, state, X, Y, sample_weight, order, y_idx=None, n_jobs=None):
    """A compiled epoch, or None when the data or state do not fit the kernel.

    Arguments as :meth:`skgd._engine.Engine.run_epoch`; ``y_idx`` (each
    row's class) saves recovering it from the encoded targets ``Y``.
    """
    if not ENABLED:
        return None
    specs = _declarations(engine)
    n = X.shape[0] if order is None else len(order)
    kind = _epoch_kind(engine, specs, X, n)
    if kind is None or not _fits(engine, state, X, sample_weight):
        return None
    per_row = kind == "row"
    # CSR rows under a rule other than plain SGD: the lazy rule, which
    # keeps no L1 debts (``skgd._lazy``).
    lazy = engine.lazy(X)
    adaptive = not (per_row or lazy) and specs["optimizer"].preconditioned
    if not (adaptive or lazy) and np.ndim(state.l1_u):
        # Per-coordinate debts of an earlier adaptive rule: the NumPy engine's.
        return None
    dtype = X.dtype
    if adaptive and engine._l1 and np.ndim(state.l1_u) == 0:
        # Adaptive rules owe each coordinate its own truncation.
        state.l1_u = np.full(state.coef.shape, state.l1_u, dtype=dtype)
    order = np.arange(n, dtype=np.intp) if order is None else order.astype(np.intp)
    total_weight = engine.total_weight(sample_weight, order)
    row_scale = sample_weight * np.asarray(n / total_weight, dtype=dtype)
    sparse = sp.issparse(X)
    data = (X.data, X.indices, X.indptr, X.shape[1]) if sparse else X
    arrays, numbers = _kernel_state(engine, state, specs, adaptive, lazy)
    # On CSR data a step touches coef[:, j] for the row's columns j: with
    # several outputs, a column-major working copy (O(model) memory) keeps
    # those in one cache line instead of one line per output.
    coef = state.coef
    transposed = sparse and coef.shape[0] > 1
    if transposed:
        coef = np.asfortranarray(coef)
        if arrays["l1_q"] is not None:
            arrays["l1_q"] = np.asfortranarray(arrays["l1_q"])
    arguments = dict(
        X=data,
        y_idx=_class_indices(engine, Y, y_idx),
        row_scale=row_scale,
        sample_weight=sample_weight,
        order=order,
        batch=engine.batch,
        per_row=per_row,
        n_threads=1
        if sparse or per_row
        else _lane_threads(engine.batch, n, X.shape[1]),
        tables=engine.optimizer.sparse_tables(-(-n // engine.batch)) if lazy else None,
    )
    components = _components(engine, specs, state.sched_state)
    results, sums = _run_groups(
        engine,
        coef,
        (arrays, numbers, components),
        arguments,
        per_row or sparse,
        n_jobs,
    )
    if transposed:
        state.coef[...] = coef
        if state.l1_q is not None:
            state.l1_q[...] = arrays["l1_q"]
    state.t = results[0][0]
    if not (adaptive or lazy):
        state.l1_u = results[0][1]
    counter = specs["optimizer"].counter
    if counter:
        state.opt_state[counter] = int(results[0][2])
    if "rate" in state.opt_state:
        state.opt_state["rate"] = results[0][3]
    data_sum, penalty_sum = sums
    return float(data_sum) / total_weight + float(penalty_sum) / n


def _run_groups(engine, coef, model, arguments, row_wise, n_jobs):
    """The kernel on groups of outputs in threads; ``(results, (data, penalty))``.

    ``model`` holds the state's arrays, its numbers and the kernel's
    ``components`` argument.

    Groups where each output's arithmetic is its own (one-vs-rest outputs,
    row by row): then the numbers do not depend on the grouping. A dense
    mini-batch is one pass over all outputs, threaded by the kernel's lanes.
    """
    arrays, numbers, components = model
    n_out = coef.shape[0]
    # The class of output 0: 1 for a two-class model (one output, class 1
    # against class 0), else the group's first output.
    binary = engine.objective.n_classes == 2
    per_output = row_wise and not engine.objective.loss.multiclass
    n_threads = min(effective_n_jobs(n_jobs), n_out) if per_output else 1
    n_groups = n_threads
    by_column = {}
    if arguments["sample_weight"].ndim == 2:
        # One weight per row and output (SGDClassifier's class weights, one
        # vs rest): each output is a call of its own, with its column.
        n_groups = n_out
        by_column = {key: arguments[key] for key in ("row_scale", "sample_weight")}
    bounds = np.linspace(0, n_out, n_groups + 1).astype(int)
    calls = []
    for c0, c1 in zip(bounds[:-1], bounds[1:]):
        columns = {k: np.ascontiguousarray(w[:, c0]) for k, w in by_column.items()}
        calls.append(
            dict(
                arguments,
                **columns,
                components=_components_from(components, 1 if binary else c0),
                coef=coef[c0:c1],
                state={**_sliced(arrays, c0, c1), **numbers},
                data_sums=np.zeros(c1 - c0),
                penalty_sums=np.zeros(c1 - c0),
            )
        )
    kernel = _fast.epoch
    if n_groups == 1 and arguments["n_threads"] > 1:
        # The kernel's lanes are the parallelism: BLAS stays on one thread.
        with _one_blas_thread():
            results = [kernel(**calls[0])]
    elif n_groups == 1:
        results = [kernel(**calls[0])]
    else:
        with _one_blas_thread():
            results = Parallel(n_jobs=n_threads, backend="threading")(
                delayed(kernel)(**call) for call in calls
            )
    sums = tuple(
        np.concatenate([call[key] for call in calls]).sum()
        for key in ("data_sums", "penalty_sums")
    )
    return results, sums


# -- SAGA --------------------------------------------------------------------------


def _saga_rows_fit(X):
    """True if the kernel reads these rows: float32/64, dense with columns
    running forwards, or canonical CSR with one index type."""
    if X.dtype not in (np.float32, np.float64):
        return False
    if isinstance(X, np.ndarray):
        return X.ndim == 2 and X.strides[1] > 0
    return (
        sp.issparse(X)
        and X.format == "csr"
        and X.has_canonical_format
        and X.indices.dtype == X.indptr.dtype
    )


def run_saga_epoch(engine, state, X, Y, sample_weight, order, y_idx, rates):
    """SAGA's (or SVRG's) epoch in the kernel; False (nothing done) where it
    does not apply: a loss without a declared compiled form, a penalty of its own,
    rows or state arrays the kernel cannot take.

    ``state.solver`` holds the table (``skgd._variance_reduced``); ``rates``
    one step size per batch. The clock advances by the number of batches.
    """
    loss_spec = declared_kernel(engine.objective.loss)
    solver = state.solver
    if not ENABLED or _fast is None or loss_spec is None or engine._own_penalty:
        return False
    arrays = [state.coef, state.intercept, solver["table"], solver["mean_coef"]]
    arrays.append(solver["mean_intercept"])
    if not _saga_rows_fit(X) or not all(
        a.dtype == X.dtype and a.flags.c_contiguous for a in arrays
    ):
        return False
    rows = np.arange(X.shape[0]) if order is None else order
    rows = np.ascontiguousarray(rows, dtype=np.intp)
    share = (sample_weight / sample_weight[rows].sum()).astype(X.dtype)
    binary = engine.objective.n_classes == 2
    loss = engine.objective.loss
    components = (
        (
            int(_fast.LossCode[loss_spec.code]),
            (_values(loss, loss_spec) or (0.0,))[0],
            1 if binary else 0,
        ),
        (float(engine._l2), float(engine._l1)),
        (0, ()),
        (0, ()),
    )
    data = (X.data, X.indices, X.indptr, X.shape[1]) if sp.issparse(X) else X
    _fast.saga_epoch(
        coef=state.coef,
        intercept=state.intercept,
        X=data,
        y_idx=_class_indices(engine, Y, y_idx),
        share=share,
        order=rows,
        batch=min(engine.batch, len(rows)),
        components=components,
        table=solver["table"],
        mean_coef=solver["mean_coef"],
        mean_intercept=solver["mean_intercept"],
        rates=np.ascontiguousarray(rates, dtype=np.float64),
        fit_intercept=engine.objective.fit_intercept,
        frozen=engine.optimizer.snapshot,
    )
    state.t += len(rates)
    return True
