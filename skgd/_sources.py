"""Data sources: what one epoch of training runs over.

:func:`skgd._engine.train` asks its source for one epoch at a time,
``source.run_epoch(engine, state, shuffle) -> objective``. Rows in memory
are :class:`RowsInMemory`; the blocks of a dask array are the sources of
``skgd._dask`` (gradient sums over the blocks for the full batch, the
blocks streamed through the client for smaller batches).
"""

import numpy as np
import scipy.sparse as sp

# Rows per block where a whole pass is evaluated outside the kernel.
_BLOCK = 1024


class RowsInMemory:
    """The rows of an in-memory ``X`` (NumPy array or SciPy CSR matrix).

    Parameters
    ----------
    X : ndarray or scipy.sparse CSR matrix of shape (n_samples, n_features)
    Y : ndarray
        The encoded targets (``Objective.encode``).
    y_idx : ndarray of shape (n_samples,)
        The class index of each row.
    weights : ndarray of shape (n_samples,)
        The training weight of each row.
    rows : ndarray of int or None
        The rows to train on (the others are held out); None for all.
    batch : int
        The engine's rows per step: at least the number of training rows
        makes every epoch one full-batch step.
    """

    def __init__(self, X, Y, y_idx, weights, rows, batch):
        self.X, self.Y, self.y_idx = X, Y, y_idx
        self.n_rows = X.shape[0] if rows is None else len(rows)
        self.full = batch >= self.n_rows
        if self.full and rows is not None:
            # A full batch over a subset equals the full batch with the other
            # rows weighted zero, which needs no copy of X[rows] per step.
            weights = np.where(np.isin(np.arange(X.shape[0]), rows), weights, 0)
            rows = None
        self.weights, self.rows = weights, rows

    def run_epoch(self, engine, state, shuffle):
        """One epoch of ``engine`` over the rows, in an order drawn from
        ``state.rng`` when ``shuffle``; returns its objective."""
        # Full-batch descent is deterministic: the row order would only change
        # the summation order, so it does not draw from the generator.
        if shuffle and not self.full:
            rows = self.rows
            order = state.rng.permutation(self.n_rows if rows is None else rows)
        else:
            order = self.rows
        return engine.run_epoch(state, self.X, self.Y, self.weights, order, self.y_idx)

    def oracle(self, engine):
        """The full batch's oracle (``skgd._full_batch``) on these rows."""
        from skgd._full_batch import MemoryOracle

        return MemoryOracle(engine.objective, self.X, self.Y, self.weights)

    def start_objective(self, engine, state):
        """The objective on these rows at the state's live weights.

        The loss is evaluated in blocks of rows, so that its temporaries stay
        small whatever the number of rows. (A block of dense rows is a view;
        CSR rows, whose slices are copies, have their scores computed at once.)
        """
        objective, coef, intercept = engine.objective, state.coef, state.intercept
        X, rows = self.X, self.rows
        total = data = 0.0
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            scores = None
            if sp.issparse(X):
                scores = objective.scores(coef, intercept, X)
            for start in range(0, self.n_rows, _BLOCK):
                block = slice(start, start + _BLOCK)
                if rows is not None:
                    block = rows[block]
                if scores is None:
                    Z = objective.scores(coef, intercept, X[block])
                else:
                    Z = scores[block]
                w = self.weights[block]
                data += float(objective.loss_values(self.Y[block], Z) @ w)
                total += float(w.sum())
            return data / total + objective.penalty_value(coef)
