"""Variance-reduced epochs: stochastic steps corrected by a table of the
rows' gradients.

The rules are :class:`skgd.optimizers.SAGA`'s and
:class:`skgd.optimizers.SVRG`'s. For a linear model the gradient of row
:math:`i`'s loss is :math:`\\alpha_i x_i`, with :math:`\\alpha_i` the loss's
derivative with respect to the row's scores (one number per output), so the
table of the rows' gradients is an ``(n_rows, n_outputs)`` array. SAGA
keeps each row's last gradient and keeps their weighted mean
:math:`\\bar g` up to date as the table changes; SVRG fills the table and
its mean at a snapshot of the weights, in the pass that ends the previous
epoch, and leaves both alone during the epoch. The L1 part of the penalty
is taken by its proximal step.

An epoch ends with the exact objective and gradient at its weights (one
full pass, in BLAS), which give the epoch's objective and the certificate
training stops on (:meth:`skgd._full_batch.Composite.certificate`). The
table and the certificate's reference live in ``TrainState.solver``.
"""

import numpy as np

from skgd import _compiled
from skgd._full_batch import Composite, MemoryOracle, squared_norms, step_for


def step_size(objective, X, weights, batch, rows=None):
    """The constant step ``1 / (3 L_B)`` of SAGA with batches of ``batch``.

    ``L_B`` bounds the expected smoothness of a batch's gradient estimate
    (Gower, Richtárik and Bach 2019, for batches drawn without
    replacement): it goes from the largest smoothness of one row's term,
    ``L_max``, at batch 1 to that of the whole objective, ``L``, at the full
    batch. A row drawn with probability ``1/n`` and weight share ``s_i``
    stands for ``n s_i`` times its loss, whose smoothness is the loss's
    curvature times ``|x_i|^2`` (plus 1 for the intercept); the L2 part of
    the penalty adds its weight to each.
    """
    sq = squared_norms(X) + objective.fit_intercept
    w = weights
    if rows is not None:
        sq, w = sq[rows], w[rows]
    n = len(sq)
    share = w / w.sum()
    l2, _, _ = objective.penalty_parts()
    curvature = objective.loss.curvature
    l_max = curvature * float(np.max(n * share * sq)) + l2
    l_mean = curvature * float(share @ sq) + l2
    b = min(int(batch), n)
    if n > 1:
        l_batch = (n - b) / (b * (n - 1)) * l_max + n * (b - 1) / (b * (n - 1)) * l_mean
    else:
        l_batch = l_max
    return step_for(3.0 * l_batch)


class VarianceReducedEpochs:
    """Runs SAGA or SVRG epochs for one objective (see the module docstring).

    Parameters
    ----------
    objective : skgd._objective.Objective
    snapshot : bool
        SVRG's memory (the gradients at the epoch's start) rather than
        SAGA's (each row's last gradient).
    """

    def __init__(self, objective, snapshot=False):
        self.objective = objective
        self.snapshot = bool(snapshot)
        self.parts = Composite(objective)

    @staticmethod
    def _table(state, n_rows):
        """The state's table, made afresh (all zero) unless it fits."""
        solver = state.solver
        k = state.coef.shape[0]
        if solver is None or getattr(solver.get("table"), "shape", None) != (n_rows, k):
            solver = {
                "table": np.zeros((n_rows, k), dtype=state.coef.dtype),
                "mean_coef": np.zeros_like(state.coef),
                "mean_intercept": np.zeros_like(state.intercept),
                "G0": None,
                "gap": None,
                "current": False,
            }
            state.solver = solver
        return solver

    def run(self, engine, state, X, Y, weights, order, y_idx=None):
        """One epoch over the rows ``order`` of ``X`` (None: all rows in
        turn), in batches of ``engine.batch``; returns the exact objective
        at the epoch's final weights. The compiled kernel runs it where it
        applies (``skgd._compiled.run_saga_epoch``), else NumPy."""
        rows = np.arange(X.shape[0]) if order is None else np.asarray(order)
        batch = min(engine.batch, len(rows))
        solver = self._table(state, X.shape[0])
        train = _training_weights(weights, order)
        if self.snapshot and not solver["current"]:
            # The first epoch of a call: the snapshot at the starting weights.
            self._memory_oracle(solver, X, Y, train)(
                state.coef, state.intercept, gradient=True
            )
        rates = [
            engine.schedule.rate(state.t + k, state.sched_state)
            for k in range(-(-len(rows) // batch))
        ]
        if not _compiled.run_saga_epoch(
            engine, state, X, Y, weights, rows, y_idx, rates
        ):
            self._numpy_epoch(engine, state, X, Y, weights, rows, rates)
        return self._certify(solver, X, Y, train, rates[-1], state)

    def _numpy_epoch(self, engine, state, X, Y, weights, rows, rates):
        obj = self.objective
        n = len(rows)
        batch = min(engine.batch, n)
        solver = state.solver
        table = solver["table"]
        mean_coef, mean_intercept = solver["mean_coef"], solver["mean_intercept"]
        share = (weights / weights[rows].sum()).astype(state.coef.dtype, copy=False)
        coef, intercept = state.coef, state.intercept
        for step, start in enumerate(range(0, n, batch)):
            b = rows[start : start + batch]
            Xb = X[b]
            lr = rates[step]
            _, G = obj.loss_gradient(Y[b], obj.scores(coef, intercept, Xb))
            # s_i (g_i - alpha_i) x_i summed over the batch: the change of
            # the table's mean, and (times n / B) the estimate's correction.
            change_coef, change_intercept = obj.lift(
                Xb, (G - table[b]) * share[b, None]
            )
            factor = n / len(b)
            grad_coef = factor * change_coef + mean_coef
            grad_intercept = factor * change_intercept + mean_intercept
            engine.step_along(state, grad_coef, grad_intercept, lr)
            if self.parts.l1:
                coef[...] = self.parts.prox(coef, lr)
            if not self.snapshot:
                mean_coef += change_coef
                mean_intercept += change_intercept
                table[b] = G
            state.t += 1.0

    def _memory_oracle(self, solver, X, Y, weights):
        """The oracle of the smooth part on the training rows (``weights``
        zero elsewhere); SVRG's also fills the table and its mean with the
        gradients where it is evaluated: the next epoch's snapshot."""
        if not self.snapshot:
            return MemoryOracle(self.objective, X, Y, weights)
        obj = self.objective

        def oracle(coef, intercept, gradient):
            values, G = obj.loss_gradient(Y, obj.scores(coef, intercept, X))
            share = weights / weights.sum()
            solver["table"][...] = G
            grad_coef, grad_intercept = obj.lift(X, G * share[:, None])
            solver["mean_coef"][...] = grad_coef
            solver["mean_intercept"][...] = grad_intercept
            solver["current"] = True
            return float(values @ share), grad_coef, grad_intercept

        return oracle

    def _certify(self, solver, X, Y, weights, eta, state):
        """The objective at the weights; records the certified gap."""
        coef, intercept = state.coef, state.intercept
        oracle = self._memory_oracle(solver, X, Y, weights)
        f, grad_coef, grad_intercept = self.parts.smooth(
            oracle, coef, intercept, gradient=True
        )
        # The gradient mapping at step eta (the gradient itself without L1).
        step_coef = coef - self.parts.prox(coef - eta * grad_coef, eta)
        mapping = np.sqrt(
            (float(np.linalg.norm(step_coef)) / eta) ** 2
            + float(np.vdot(grad_intercept, grad_intercept))
            * self.objective.fit_intercept
        )
        F = f + self.parts.nonsmooth(coef)
        if solver["G0"] is None:
            solver["G0"] = mapping
        solver["gap"] = self.parts.certificate(mapping, F, solver["G0"])
        return F


def _training_weights(weights, order):
    """``weights`` on the rows ``order`` (None: all), zero elsewhere."""
    if order is None or len(order) == len(weights):
        return weights
    train = np.zeros_like(weights)
    train[order] = weights[order]
    return train
