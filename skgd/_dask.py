"""Training on Dask arrays: :meth:`GDClassifier.fit` when ``X`` is a dask array.

Dask is optional: nothing here imports it at module import, so skgd imports
without it. :func:`is_dask_collection` is the duck-typed test the estimator
shell uses to hand a dask ``X`` to :func:`fit`.

Two ways to run epochs over the row blocks of a dask array, both driven by
:func:`skgd._engine.train` (same stopping rule, ``loss_curve_``, ``n_iter_``
and divergence check as in memory):

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
  it exactly as :meth:`GDClassifier.partial_fit` would.

The labels, the class counts (for ``class_weight="balanced"``) and the
validity of every block (finite values, NumPy blocks, valid sample weights)
come from one pass over the blocks on the workers before training.
"""

import numpy as np
from sklearn.utils import check_random_state, compute_class_weight
from sklearn.utils.multiclass import check_classification_targets


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
    labels, inverse, counts = np.unique(yb, return_inverse=True, return_counts=True)
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


def _block_weights(class_weight, y_idx, swb, dtype):
    """Sample weight times class weight, as GDClassifier._training_weights."""
    weights = class_weight[y_idx].astype(dtype)
    if swb is not None:
        weights *= np.asarray(swb, dtype=dtype)
    return weights


def _block_sums(problem, weights, Xb, yb, swb):
    """One block's share of the full-batch objective at ``weights``.

    Returns ``(sum_i w_i L_i, sum_i w_i dL_i/dcoef, sum_i w_i dL_i/dintercept,
    sum_i w_i)``, the sums in float64 so that adding blocks loses nothing.
    """
    objective, classes, class_weight = problem
    coef, intercept = weights
    y_idx = np.searchsorted(classes, yb)
    Y = objective.encode(y_idx, Xb.dtype)
    w = _block_weights(class_weight, y_idx, swb, Xb.dtype)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        values, grad_coef, grad_intercept = objective.batch_gradient(
            coef, intercept, Xb, Y, w
        )
        data = float(values @ w)
    return (
        data,
        grad_coef.astype(np.float64),
        grad_intercept.astype(np.float64),
        float(w.sum(dtype=np.float64)),
    )


# -- the epochs ----------------------------------------------------------------


class _BlockEpochs:
    """Stands in for the Engine in :func:`skgd._engine.train`: one epoch over
    the blocks of a dask array per :meth:`run_epoch`.

    Every other attribute (weights, schedule...) is the engine's own.
    """

    def __init__(
        self, engine, X, y, sample_weight, classes, class_weight, *, full, shuffle
    ):
        self._engine = engine
        self._full = full
        self._shuffle = shuffle
        self._classes = classes
        self._class_weight = class_weight
        self._dtype = X.dtype
        self._rows = X.chunks[0]
        x_blocks = X.to_delayed(optimize_graph=False).ravel()
        y_blocks = y.to_delayed(optimize_graph=False).ravel()
        w_blocks = (
            [None] * len(x_blocks)
            if sample_weight is None
            else sample_weight.to_delayed(optimize_graph=False).ravel()
        )
        self._blocks = list(zip(x_blocks, y_blocks, w_blocks))
        if full:
            import dask

            # One key for the constant part, shared by all block tasks.
            self._problem = dask.delayed(
                (engine.objective, classes, class_weight), pure=True
            )

    def __getattr__(self, name):
        if name == "_engine":  # not set yet: no recursion
            raise AttributeError(name)
        return getattr(self._engine, name)

    def run_epoch(self, state, X, Y, sample_weight, order=None):
        """One epoch over all blocks; X, Y, sample_weight and order are unused."""
        if self._full:
            return self._full_batch_epoch(state)
        return self._streamed_epoch(state)

    def _full_batch_epoch(self, state):
        import dask

        # The current weights travel to the workers once per epoch (one key);
        # each block sends back O(model) numbers.
        weights = dask.delayed((state.coef, state.intercept), pure=True)
        task = dask.delayed(_block_sums, pure=True)
        parts = dask.compute(
            *(task(self._problem, weights, xb, yb, wb) for xb, yb, wb in self._blocks)
        )
        data = 0.0
        grad_coef = np.zeros(state.coef.shape)
        grad_intercept = np.zeros(state.intercept.shape)
        total_weight = 0.0
        # Block order, not completion order: the same sums every run.
        for block_data, block_coef, block_intercept, block_weight in parts:
            data += block_data
            grad_coef += block_coef
            grad_intercept += block_intercept
            total_weight += block_weight
        objective = data / total_weight + self._engine.objective.penalty_value(
            state.coef
        )
        dtype = state.coef.dtype
        self._engine.full_batch_step(
            state,
            (grad_coef / total_weight).astype(dtype),
            (grad_intercept / total_weight).astype(dtype),
        )
        return objective

    def _streamed_epoch(self, state):
        import dask

        engine = self._engine
        n_blocks = len(self._blocks)
        order = state.rng.permutation(n_blocks) if self._shuffle else range(n_blocks)
        weighted_sum = 0.0
        total_weight = 0.0
        for i in order:
            # One block on the client at a time.
            Xb, yb, swb = dask.compute(*self._blocks[i])
            y_idx = np.searchsorted(self._classes, yb)
            w = _block_weights(self._class_weight, y_idx, swb, Xb.dtype)
            block_weight = float(w.sum())
            if not block_weight > 0:
                # Nothing to learn from; partial_fit would refuse the block.
                continue
            n_rows = Xb.shape[0]
            # What train() does in partial_fit: rows shuffled within the block
            # unless the block fits in one batch.
            rows = None
            if self._shuffle and engine.batch_size < n_rows:
                rows = state.rng.permutation(n_rows)
            Y = engine.objective.encode(y_idx, Xb.dtype)
            value = engine.run_epoch(state, Xb, Y, w, rows)
            # The blocks' epoch objectives (weighted mean loss + penalty),
            # averaged by weight: the data part is the in-memory epoch's.
            weighted_sum += block_weight * value
            total_weight += block_weight
        return weighted_sum / total_weight


# -- fit ------------------------------------------------------------------------


def _summarize(X, y, sample_weight):
    """Classes, class counts and per-class weight sums, from one pass on the
    workers; ValueError/TypeError naming the first bad block."""
    import dask

    x_blocks = X.to_delayed(optimize_graph=False).ravel()
    y_blocks = y.to_delayed(optimize_graph=False).ravel()
    w_blocks = (
        [None] * len(x_blocks)
        if sample_weight is None
        else sample_weight.to_delayed(optimize_graph=False).ravel()
    )
    task = dask.delayed(_block_summary, pure=True)
    summaries = dask.compute(
        *(task(xb, yb, wb) for xb, yb, wb in zip(x_blocks, y_blocks, w_blocks))
    )
    starts = np.concatenate([[0], np.cumsum(X.chunks[0])])
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
    classes = np.unique(np.concatenate([s["labels"] for s in summaries]))
    counts = np.zeros(len(classes), dtype=np.int64)
    weight_sums = np.zeros(len(classes))
    for s in summaries:
        at = np.searchsorted(classes, s["labels"])
        counts[at] += s["counts"]
        weight_sums[at] += s["counts"] if s["weight_sums"] is None else s["weight_sums"]
    return classes, counts, weight_sums


def _class_weight_vector(class_weight, classes, counts):
    """One weight per class, as compute_class_weight gives for the full y."""
    if class_weight is None:
        return np.ones(len(classes))
    if class_weight == "balanced":
        # compute_class_weight's definition, from the counts alone.
        return counts.sum() / (len(classes) * counts.astype(np.float64))
    return compute_class_weight(class_weight, classes=classes, y=classes)


def fit(estimator, X, y, coef_init=None, intercept_init=None, sample_weight=None):
    """:meth:`GDClassifier.fit` on a dask array ``X`` (``y``, ``sample_weight``
    dask or NumPy arrays). Returns the fitted estimator."""
    estimator._check_params()
    if estimator.early_stopping:
        raise ValueError(
            "early_stopping=True is not supported when X is a dask array; set "
            "early_stopping=False, or hold out a validation set yourself."
        )
    X = _check_X(X)
    y = _as_rows_like(y, X, "y")
    if sample_weight is not None:
        sample_weight = _as_rows_like(sample_weight, X, "sample_weight")

    warm = estimator.warm_start and hasattr(estimator, "_state")
    if warm:
        old_shape = estimator.coef_.shape
        if coef_init is None:
            coef_init = estimator.coef_
        if intercept_init is None:
            intercept_init = estimator.intercept_

    classes, counts, weight_sums = _summarize(X, y, sample_weight)
    check_classification_targets(classes)
    if len(classes) < 2:
        raise ValueError(
            "The number of classes has to be greater than one; got 1 class "
            f"({classes[0]!r}): a classifier needs at least two."
        )
    class_weight = _class_weight_vector(estimator.class_weight, classes, counts)
    if not (class_weight @ weight_sums) > 0:
        raise ValueError(
            "The training weights (sample_weight times class_weight) sum to "
            "zero: at least one row needs a positive weight."
        )

    estimator.n_features_in_ = X.shape[1]
    if hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
    estimator.classes_ = classes
    coef, intercept = estimator._initial_weights(coef_init, intercept_init, X.dtype)
    engine = estimator._make_engine(len(classes))
    if warm and old_shape == coef.shape:
        estimator._state = engine.resume(estimator._state, coef, intercept)
    else:
        rng = check_random_state(estimator.random_state)
        estimator._state = engine.init_state(coef, intercept, rng)
    estimator._engine = engine

    batch_size = estimator.batch_size
    full = batch_size == "full" or batch_size >= X.shape[0]
    epochs = _BlockEpochs(
        engine,
        X,
        y,
        sample_weight,
        classes,
        class_weight,
        full=full,
        shuffle=estimator.shuffle,
    )
    estimator.loss_curve_ = []
    report = estimator._run(
        "fit",
        X,
        y,
        None,
        None,
        sample_weight,
        max_epochs=estimator.max_iter,
        rows=None,
        validation=None,
        epochs=epochs,
    )
    estimator._finish_fit(report, validated=False)
    return estimator
