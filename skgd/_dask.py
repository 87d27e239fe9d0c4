"""Dask arrays as data sources: :meth:`GDClassifier.fit` when ``X`` is a dask array.

Dask is optional: nothing here imports it at module import, so skgd imports
without it. :func:`is_dask_collection` is the duck-typed test the estimator
shell uses; :func:`describe` checks a dask ``X``, ``y`` and
``sample_weight`` and summarises them for the training plan, and
:func:`source` returns the data source that :func:`skgd._engine.train`
runs its epochs over (same stopping rule, ``loss_curve_``, ``n_iter_`` and
divergence check as in memory). Two kinds:

* **Full batch** (``batch_size="full"``, or a batch at least as large as the
  data): each epoch, every block computes on its worker the partial sums of
  the objective at the current weights (weighted loss sum, gradient sums for
  ``coef`` and ``intercept``, weight sum); only these small arrays travel to
  the client, which adds them in block order (so the result does not depend
  on which block finishes first) and takes the step with
  :meth:`Engine.full_batch_step`, the engine's own penalty, optimizer, L1,
  averaging and schedule code. X never leaves the workers.
* **Mini-batch and batch 1**: each epoch visits every block (in an order
  drawn from the estimator's generator when ``shuffle=True``), fetches it to
  the client, one block in memory at a time, and runs the engine's epoch over
  it as the rows of a :class:`skgd._sources.RowsInMemory`, exactly as
  :meth:`GDClassifier.partial_fit` would.

The labels, the class counts (for ``class_weight="balanced"``) and the
validity of every block (finite values, NumPy blocks, valid sample weights)
come from one pass over the blocks on the workers before training.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.utils.multiclass import check_classification_targets

from skgd._full_batch import smoothness_bound, squared_norms
from skgd._labels import sorted_labels
from skgd._plan import one_vs_rest_weights, training_weights
from skgd._sources import RowsInMemory


def is_dask_collection(obj):
    """True if ``obj`` is a Dask collection (array, dataframe, delayed...).

    Looks at the type's module first, so that ordinary inputs never import
    Dask; a Dask object means Dask is already imported.
    """
    if not type(obj).__module__.partition(".")[0] == "dask":
        return False
    import dask

    return dask.is_dask_collection(obj)


# -- input checks (on the client, from metadata only) -------------------------


def _check_chunks(array, name):
    """ValueError unless the chunk sizes of ``array`` are known."""
    if any(np.isnan(size) for sizes in array.chunks for size in sizes):
        raise ValueError(
            f"{name} has unknown chunk sizes (NaN), e.g. after boolean indexing "
            f"or from a dask DataFrame; call {name}.compute_chunk_sizes() (or "
            "to_dask_array(lengths=True)) before fit."
        )


def _check_X(X):
    import dask.array as da

    if not isinstance(X, da.Array):
        raise TypeError(
            f"X is a {type(X).__module__}.{type(X).__name__}; training on Dask "
            "data needs a dask.array.Array (for a dask DataFrame, use "
            "X.to_dask_array(lengths=True))."
        )
    if X.ndim != 2:
        raise ValueError(
            f"X must be a 2-D dask array of shape (n_samples, n_features); got "
            f"{X.ndim} dimension(s), shape {X.shape}."
        )
    _check_chunks(X, "X")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(
            f"X has shape {X.shape}; at least one sample and one feature are required."
        )
    if len(X.chunks[1]) != 1:
        raise ValueError(
            f"X is split into {len(X.chunks[1])} blocks along its columns; each "
            "block must hold whole rows. Use X = X.rechunk({1: -1})."
        )
    meta = getattr(X, "_meta", None)
    if meta is not None and type(meta) is not np.ndarray:
        raise TypeError(
            f"X's blocks are {type(meta).__module__}.{type(meta).__name__}; "
            "training on a dask array needs dense NumPy blocks. Densify the "
            "blocks (e.g. X.map_blocks(lambda b: b.toarray())) or fit on "
            "in-memory data (scipy.sparse CSR is supported there)."
        )
    if X.dtype.kind in "biu":
        # As check_array does for in-memory data: integers train in float64.
        return X.astype(np.float64)
    if X.dtype not in (np.float32, np.float64):
        raise ValueError(
            f"X has dtype {X.dtype}; expected float64, float32, or an integer "
            "or boolean type (converted to float64)."
        )
    return X


def _as_rows_like(values, X, name):
    """``values`` (y or sample_weight) as a 1-D dask array chunked like X's rows."""
    import dask.array as da

    n_samples = X.shape[0]
    if not isinstance(values, da.Array):
        if is_dask_collection(values):
            raise TypeError(
                f"{name} is a {type(values).__name__}; pass a dask array (for a "
                f"dask Series, {name}.to_dask_array(lengths=True)) or a NumPy "
                "array."
            )
        values = np.asarray(values)
        if values.ndim == 0 and name == "sample_weight":
            values = np.full(n_samples, values, dtype=X.dtype)
        if values.ndim != 1 or values.shape[0] != n_samples:
            raise ValueError(
                f"{name} has shape {values.shape}; expected ({n_samples},) to "
                "match the rows of X."
            )
        return da.from_array(values, chunks=(X.chunks[0],))
    _check_chunks(values, name)
    if values.ndim != 1 or values.shape[0] != n_samples:
        raise ValueError(
            f"{name} has shape {values.shape}; expected ({n_samples},) to match "
            "the rows of X."
        )
    if values.chunks[0] != X.chunks[0]:
        raise ValueError(
            f"{name}'s chunks {values.chunks[0]} do not match the row chunks of "
            f"X {X.chunks[0]}: block i of {name} must hold the rows of block i "
            f"of X. Rechunk it: {name} = {name}.rechunk((X.chunks[0],))."
        )
    return values


# -- work done on the workers -------------------------------------------------


def _block_summary(Xb, yb, swb):
    """What the client needs to know about one block before training."""
    if type(Xb) is not np.ndarray:
        return {"block_type": f"{type(Xb).__module__}.{type(Xb).__name__}"}
    labels, inverse = sorted_labels(yb, "y", return_inverse=True)
    counts = np.bincount(inverse, minlength=len(labels))
    summary = {
        "block_type": None,
        "finite": bool(np.isfinite(Xb).all()),
        "labels": labels,
        "counts": counts,
        "weight_sums": None,
        "weights_ok": True,
    }
    if swb is not None:
        summary["weights_ok"] = bool(np.isfinite(swb).all() and (swb >= 0).all())
        summary["weight_sums"] = np.bincount(
            inverse.ravel(), weights=swb, minlength=len(labels)
        )
    return summary


def _block_sums(problem, weights, Xb, yb, swb, gradient=True):
    """One block's share of the full-batch objective at ``weights``.

    Returns ``(sum_i w_i L_i, sum_i w_i dL_i/dcoef, sum_i w_i dL_i/dintercept,
    sum_i w_i)``, the sums in float64 so that adding blocks loses nothing
    (the gradients None without ``gradient``).
    """
    objective, classes, class_weights = problem
    coef, intercept = weights
    y_idx = np.searchsorted(classes, yb)
    Y = objective.encode(y_idx, Xb.dtype)
    w = training_weights(class_weights, y_idx, swb, Xb.dtype)
    grad_coef = grad_intercept = None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if gradient:
            values, grad_coef, grad_intercept = objective.batch_gradient(
                coef, intercept, Xb, Y, w
            )
            grad_coef = grad_coef.astype(np.float64)
            grad_intercept = grad_intercept.astype(np.float64)
        else:
            values = objective.loss_values(Y, objective.scores(coef, intercept, Xb))
        data = float(values @ w)
    return data, grad_coef, grad_intercept, float(w.sum(dtype=np.float64))


def _calibrate_on_block(problem, start, classes, Xb, yb, swb):
    """``_auto.calibrate`` on a block's first rows (runs on a worker)."""
    from skgd import _auto

    size = _auto.SAMPLE
    y_idx = np.searchsorted(classes, yb[:size])
    sample_weight = None if swb is None else np.asarray(swb)[:size]
    return _auto.calibrate(*problem, (Xb[:size], y_idx, sample_weight), start)


def _block_norms(problem, Xb, yb, swb):
    """``(sum_i w_i |x_i|^2, sum_i w_i)`` of one block."""
    _, classes, class_weights = problem
    y_idx = np.searchsorted(classes, yb)
    w = training_weights(class_weights, y_idx, swb, np.float64)
    return float(squared_norms(Xb) @ w), float(w.sum())


# -- the sources -----------------------------------------------------------------


@dataclass
class DaskData:
    """A checked dask ``X``, ``y``, ``sample_weight`` and what the plan needs."""

    X: object
    y: object
    sample_weight: object
    classes: np.ndarray
    counts: np.ndarray  # rows per class
    weight_sums: np.ndarray  # sample weight per class (counts without weights)
    n_rows: int
    n_features: int
    dtype: np.dtype

    def calibrated_step(self, problem, start, random_state, rows=None):
        """``_auto.calibrate`` on the first 1000 rows of the first block, on
        the worker that holds it: only the step travels."""
        import dask

        task = dask.delayed(_calibrate_on_block, pure=True)
        return dask.compute(task(problem, start, self.classes, *self.blocks()[0]))[0]

    def variance_reduced_step(self, objective, weights, batch, rows=None):
        _refuse_variance_reduced()

    def blocks(self):
        """``(X_block, y_block, weight_block or None)`` delayed, in row order."""
        x_blocks = self.X.to_delayed(optimize_graph=False).ravel()
        y_blocks = self.y.to_delayed(optimize_graph=False).ravel()
        w_blocks = (
            [None] * len(x_blocks)
            if self.sample_weight is None
            else self.sample_weight.to_delayed(optimize_graph=False).ravel()
        )
        return list(zip(x_blocks, y_blocks, w_blocks))


class BlockSums:
    """Full-batch epochs: one step from the sums of all blocks.

    The blocks compute their sums on the workers; only O(model) numbers
    travel. With a solver (a line search), each trial point is one more
    reduction over the blocks (:meth:`__call__` is its oracle).
    """

    def __init__(self, data, objective, class_weights):
        import dask

        self.n_rows = data.n_rows  # an epoch's rows, for the estimator's history
        self._blocks = data.blocks()
        # One key for the constant part, shared by all block tasks.
        self._problem = dask.delayed(
            (objective, data.classes, class_weights), pure=True
        )
        self._objective = objective

    def __call__(self, coef, intercept, gradient):
        """The weighted mean loss at ``(coef, intercept)`` and its gradients."""
        import dask

        # The weights travel to the workers once (one key); each block sends
        # back O(model) numbers, added in block order (the same every run).
        weights = dask.delayed((coef, intercept), pure=True)
        task = dask.delayed(_block_sums, pure=True)
        parts = dask.compute(
            *(
                task(self._problem, weights, xb, yb, wb, gradient)
                for xb, yb, wb in self._blocks
            )
        )
        total_weight = sum(part[3] for part in parts)
        value = sum(part[0] for part in parts) / total_weight
        if not gradient:
            return value, None, None
        grad_coef = sum(part[1] for part in parts) / total_weight
        grad_intercept = sum(part[2] for part in parts) / total_weight
        return value, grad_coef, grad_intercept

    def oracle(self, engine):
        """The full batch's oracle: these block sums themselves."""
        return self

    def smoothness(self):
        """The curvature bound of ``_full_batch.smoothness_bound``, reduced
        over the blocks."""
        import dask

        task = dask.delayed(_block_norms, pure=True)
        parts = dask.compute(*(task(self._problem, *block) for block in self._blocks))
        mean_sq = sum(p[0] for p in parts) / sum(p[1] for p in parts)
        return smoothness_bound(self._objective, mean_sq)

    def start_objective(self, engine, state):
        """The objective at the state's weights: one reduction."""
        value = self(state.coef, state.intercept, False)[0]
        return value + self._objective.penalty_value(state.coef)

    def run_epoch(self, engine, state, shuffle):
        if engine.certifies:
            return engine.solver_step(state, self)
        value, grad_coef, grad_intercept = self(state.coef, state.intercept, True)
        objective = value + self._objective.penalty_value(state.coef)
        dtype = state.coef.dtype
        engine.full_batch_step(
            state, grad_coef.astype(dtype), grad_intercept.astype(dtype)
        )
        return objective


class StreamedBlocks:
    """Mini-batch epochs: the blocks through the client, one at a time."""

    def __init__(self, data, objective, class_weights, one_vs_rest=False):
        self.n_rows = data.n_rows  # an epoch's rows, for the estimator's history
        self._blocks = data.blocks()
        self._classes = data.classes
        self._class_weights = class_weights
        self._objective = objective
        # SGDClassifier's one-vs-rest class weights (TrainingPlan).
        self._weigh = one_vs_rest_weights if one_vs_rest else training_weights

    def start_objective(self, engine, state):
        """None: a pass over every block just for this is not worth it."""
        return None

    def run_epoch(self, engine, state, shuffle):
        import dask

        n_blocks = len(self._blocks)
        order = state.rng.permutation(n_blocks) if shuffle else range(n_blocks)
        weighted_sum = 0.0
        total_weight = 0.0
        for i in order:
            # One block on the client at a time.
            Xb, yb, swb = dask.compute(*self._blocks[i])
            y_idx = np.searchsorted(self._classes, yb)
            w = self._weigh(self._class_weights, y_idx, swb, Xb.dtype)
            if not float(w.sum()) > 0:
                # Nothing to learn from; partial_fit would refuse the block.
                continue
            block_weight = engine.total_weight(w, None)
            Y = self._objective.encode(y_idx, Xb.dtype)
            rows = RowsInMemory(Xb, Y, y_idx, w, None, engine.batch)
            value = rows.run_epoch(engine, state, shuffle)
            # The blocks' epoch objectives (loss + penalty), averaged by what
            # each divides its weights by: the data part is the in-memory
            # epoch's.
            weighted_sum += block_weight * value
            total_weight += block_weight
        return weighted_sum / total_weight


def _refuse_variance_reduced():
    raise ValueError(
        "optimizer='saga' or 'svrg' keeps a table of every row's gradient, "
        "which training on a dask array does not hold; on a dask array use "
        "batch_size='full' with learning_rate='auto' (the line search, which "
        "also reaches the exact optimum), or another optimizer."
    )


def source(data, plan):
    """The data source of ``data`` (:class:`DaskData`) for ``plan``."""
    if plan.components.optimizer.variance_reduced:
        _refuse_variance_reduced()
    kind = BlockSums if plan.batch >= data.n_rows else StreamedBlocks
    if kind is BlockSums:
        return BlockSums(data, plan.objective, plan.class_weights)
    return StreamedBlocks(
        data, plan.objective, plan.class_weights, plan.one_vs_rest_weights
    )


# -- checks and summary ---------------------------------------------------------


def _summarize(data):
    """Classes, class counts and per-class weight sums, from one pass on the
    workers; ValueError/TypeError naming the first bad block."""
    import dask

    task = dask.delayed(_block_summary, pure=True)
    summaries = dask.compute(*(task(*block) for block in data.blocks()))
    starts = np.concatenate([[0], np.cumsum(data.X.chunks[0])])
    for i, summary in enumerate(summaries):
        where = f"block {i} (rows {starts[i]} to {starts[i + 1] - 1})"
        if summary["block_type"] is not None:
            raise TypeError(
                f"X's {where} is a {summary['block_type']}; training on a dask "
                "array needs dense NumPy blocks."
            )
        if not summary["finite"]:
            raise ValueError(
                f"Input X contains NaN or infinity in {where}. Remove or impute "
                "those values (e.g. sklearn.impute.SimpleImputer) before fit."
            )
        if not summary["weights_ok"]:
            raise ValueError(
                f"sample_weight has negative or non-finite values in {where}; "
                "sample weights must be finite and >= 0."
            )
    classes = sorted_labels(np.concatenate([s["labels"] for s in summaries]), "y")
    counts = np.zeros(len(classes), dtype=np.int64)
    weight_sums = np.zeros(len(classes))
    for s in summaries:
        at = np.searchsorted(classes, s["labels"])
        counts[at] += s["counts"]
        weight_sums[at] += s["counts"] if s["weight_sums"] is None else s["weight_sums"]
    return classes, counts, weight_sums


def describe(X, y, sample_weight, *, early_stopping):
    """Check a dask ``X`` (``y``, ``sample_weight``: dask or NumPy arrays)
    and summarise it for the training plan: a :class:`DaskData`."""
    if early_stopping:
        raise ValueError(
            "early_stopping=True is not supported when X is a dask array; set "
            "early_stopping=False, or hold out a validation set yourself."
        )
    X = _check_X(X)
    y = _as_rows_like(y, X, "y")
    if sample_weight is not None:
        sample_weight = _as_rows_like(sample_weight, X, "sample_weight")
    data = DaskData(X, y, sample_weight, None, None, None, *X.shape, X.dtype)
    data.classes, data.counts, data.weight_sums = _summarize(data)
    check_classification_targets(data.classes)
    if len(data.classes) < 2:
        raise ValueError(
            "The number of classes has to be greater than one; got 1 class "
            f"({data.classes[0]!r}): a classifier needs at least two."
        )
    return data
