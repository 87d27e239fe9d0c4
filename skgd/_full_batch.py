"""Full-batch descent as a solver: proximal gradient steps with a line search.

With a schedule that evaluates the objective itself
(:class:`skgd.schedules.LineSearch`), a full-batch epoch is one update of
accelerated proximal gradient descent (FISTA) with backtracking and adaptive
restart. The solver sees the data only through an *oracle*,
``oracle(coef, intercept, gradient) -> (f, grad_coef, grad_intercept)``: the
smooth part of the objective (the weighted mean loss and the smooth part of
the penalty) and, if asked, its gradient. Rows in memory and the blocks of a
dask array give the same oracle, so the solver is the same for both.

The L1 part of the penalty, :math:`h(W) = \\lambda_1 \\lVert W \\rVert_1`,
is taken by its proximal operator (soft thresholding), which gives exact
zeros. The state of the solver lives in ``TrainState.solver`` (plain
numbers and arrays).
"""

import numpy as np

# Relative slack of the sufficient-decrease test: rounding in sums over many
# rows may make an exact step fail it by a few ulps of the objective.
_SLACK = 1e-12


def soft_threshold(coef, threshold):
    """The proximal operator of ``threshold * |coef|_1``, elementwise."""
    return np.sign(coef) * np.maximum(np.abs(coef) - threshold, 0.0)


def squared_norms(X):
    """``|x_i|^2`` of each row of a dense or sparse ``X``."""
    if hasattr(X, "multiply"):
        return np.asarray(X.multiply(X).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", X, X)


def step_for(smoothness):
    """The step ``1 / L`` for a curvature bound ``L``; 1 where ``L`` is 0:
    then the smooth part is constant (every row is zero, no intercept, no
    L2 part), its gradient is 0 and any step takes the same (no) move."""
    return 1.0 / smoothness if smoothness > 0 else 1.0


def smoothness_bound(objective, mean_sq):
    """An upper bound of the Lipschitz constant of the smooth part's gradient.

    The loss's curvature times the weighted mean squared norm of the rows
    ``mean_sq`` (plus 1 for the intercept), plus the L2 part of the penalty:
    the trace bounds the largest eigenvalue of the weighted Gram matrix.
    """
    l2, _, _ = objective.penalty_parts()
    return objective.loss.curvature * (mean_sq + objective.fit_intercept) + l2


class MemoryOracle:
    """The smooth part of the objective on rows in memory, for a solver.

    ``oracle(coef, intercept, gradient)`` is the weighted mean loss and, if
    ``gradient``, its gradients (``Objective.data_term``);
    :meth:`smoothness` bounds the curvature of the whole smooth part.
    """

    def __init__(self, objective, X, Y, weights):
        self.objective, self.X, self.Y, self.weights = objective, X, Y, weights

    def __call__(self, coef, intercept, gradient):
        obj, X, Y, w = self.objective, self.X, self.Y, self.weights
        if gradient:
            return obj.data_term(coef, intercept, X, Y, w)
        return obj.data_value(coef, intercept, X, Y, w), None, None

    def smoothness(self):
        w = self.weights
        mean_sq = float(squared_norms(self.X) @ w) / float(w.sum())
        return smoothness_bound(self.objective, mean_sq)


class Composite:
    """The objective split for proximal methods: a smooth part ``f`` (the
    weighted mean loss, from an oracle, and the smooth part of the penalty)
    and the L1 part ``h``, taken by its proximal operator."""

    def __init__(self, objective):
        self.objective = objective
        self.l2, self.l1, self.own = objective.penalty_parts()

    def smooth(self, oracle, coef, intercept, gradient):
        """``f`` (loss + smooth penalty) and, if asked, its gradient."""
        value, grad_coef, grad_intercept = oracle(coef, intercept, gradient)
        if self.l2:
            value += 0.5 * self.l2 * float(np.vdot(coef, coef))
            if gradient:
                grad_coef = grad_coef + self.l2 * coef
        elif self.own:
            penalty, penalty_grad = self.objective.penalty_term(coef)
            value += penalty
            if gradient:
                grad_coef = grad_coef + penalty_grad
        return value, grad_coef, grad_intercept

    def nonsmooth(self, coef):
        """``h``: the L1 part of the penalty."""
        return self.l1 * float(np.abs(coef).sum()) if self.l1 else 0.0

    def prox(self, coef, eta):
        """The proximal operator of ``eta * h``."""
        return soft_threshold(coef, eta * self.l1) if self.l1 else coef

    def certificate(self, mapping, F, reference):
        """How far from the optimum weights may be, relative to ``F``.

        ``mapping`` is the norm of the gradient mapping ``G`` at the weights
        (the gradient itself without an L1 part). With an L2 part (strong
        convexity mu = l2) the objective is at most ``|G|^2 / (2 mu)``
        above its minimum: that bound over ``|F|``. Without one, no such
        bound exists: the norm of ``G`` relative to ``reference`` (its first
        value) stands in for it.
        """
        if self.l2:
            return mapping * mapping / (2.0 * self.l2) / max(abs(F), 1e-300)
        return mapping / reference if reference > 0 else 0.0


def certified_gap(objective, oracle, coef, intercept):
    """How far ``(coef, intercept)`` may be from the optimum, relative to F
    (:meth:`Composite.certificate`), from one evaluation of the gradient on
    ``oracle`` (two without an L2 part: the reference is the gradient
    mapping at zero weights). The mapping's step is ``1/L`` for the data's
    curvature bound."""
    parts = Composite(objective)
    eta = step_for(oracle.smoothness())

    def mapping(coef, intercept):
        f, g_coef, g_intercept = parts.smooth(oracle, coef, intercept, gradient=True)
        step = coef - parts.prox(coef - eta * g_coef, eta)
        # (Norms divided by eta, not squares by eta ** 2, which underflows
        # for the tiny steps of a huge alpha.)
        norm = (float(np.linalg.norm(step)) / eta) ** 2
        if objective.fit_intercept:
            norm += float(np.vdot(g_intercept, g_intercept))
        return f + parts.nonsmooth(coef), np.sqrt(norm)

    F, G = mapping(coef, intercept)
    reference = 0.0
    if not parts.l2:
        reference = mapping(np.zeros_like(coef), np.zeros_like(intercept))[1]
    return parts.certificate(G, F, reference)


class FullBatchSolver:
    """Accelerated proximal gradient with backtracking (see LineSearch).

    Parameters
    ----------
    objective : skgd._objective.Objective
    schedule : skgd.schedules.LineSearch
    """

    def __init__(self, objective, schedule):
        self.objective = objective
        self.schedule = schedule
        self.parts = Composite(objective)

    # -- state ------------------------------------------------------------------

    def init(self):
        """The solver's state; a step of None is set at the first update,
        from the data (``Engine.solver_step``)."""
        eta = self.schedule.eta0
        return {
            "eta": None if eta is None else float(eta),
            "theta": 1.0,
            "theta_prev": 1.0,
            "previous": None,
            "F": None,
            "G0": None,
            "gap": None,
        }

    @staticmethod
    def new_data(solver):
        """Forget what belongs to the data of an earlier call (a warm start,
        a partial_fit chunk): the objective, the momentum, the reference norm
        of the stopping rule. The step size carries over."""
        solver.update(theta=1.0, previous=None, F=None, G0=None, gap=None)

    # -- one update ---------------------------------------------------------------

    def step(self, state, oracle):
        """One update of ``state.coef``/``state.intercept`` (in place).

        Returns the objective at the weights before the update. Records in
        ``state.solver`` the step taken, the momentum, and ``gap``, the
        certified relative distance to the optimum (:meth:`Composite.certificate`).
        """
        solver = state.solver
        x = (state.coef, state.intercept)
        if solver["F"] is None:
            f_x, _, _ = self.parts.smooth(oracle, *x, gradient=False)
            solver["F"] = f_x + self.parts.nonsmooth(x[0])
        F_x = solver["F"]
        y = self._extrapolate(x, solver)
        f_y, g_coef, g_intercept = self.parts.smooth(oracle, *y, gradient=True)
        x_new, F_new, eta = self._backtrack(
            oracle, y, f_y, (g_coef, g_intercept), solver
        )
        mapping = (
            np.sqrt(
                float(np.vdot(x_new[0] - y[0], x_new[0] - y[0]))
                + float(np.vdot(x_new[1] - y[1], x_new[1] - y[1]))
            )
            / eta
        )
        if solver["G0"] is None:
            solver["G0"] = mapping
        solver["gap"] = self.parts.certificate(mapping, F_new, solver["G0"])
        self._momentum(solver, x, y, x_new, F_x, F_new)
        state.coef[...] = x_new[0]
        state.intercept[...] = x_new[1]
        solver["F"] = F_new
        solver["eta"] = eta * self.schedule.grow
        state.sched_state["eta"] = eta
        state.t += 1.0
        return F_x

    def _extrapolate(self, x, solver):
        """The point the gradient is taken at: x, or x + beta (x - x_prev)."""
        previous = solver["previous"]
        if not self.schedule.accelerate or previous is None or solver["theta"] == 1.0:
            return x
        theta_prev = solver["theta_prev"]
        beta = (theta_prev - 1.0) / solver["theta"]
        return tuple(a + beta * (a - p) for a, p in zip(x, previous))

    def _backtrack(self, oracle, y, f_y, grad, solver):
        """The step from ``y`` that passes the sufficient-decrease test."""
        eta = solver["eta"]
        for _ in range(200):
            coef = self.parts.prox(y[0] - eta * grad[0], eta)
            intercept = y[1] - eta * grad[1]
            if not self.objective.fit_intercept:
                intercept = np.zeros_like(intercept)
            d_coef, d_intercept = coef - y[0], intercept - y[1]
            f_new, _, _ = self.parts.smooth(oracle, coef, intercept, gradient=False)
            model = (
                f_y
                + float(np.vdot(grad[0], d_coef) + np.vdot(grad[1], d_intercept))
                + (float(np.vdot(d_coef, d_coef) + np.vdot(d_intercept, d_intercept)))
                / (2.0 * eta)
            )
            if np.isfinite(f_new) and f_new <= model + _SLACK * abs(f_y):
                return (coef, intercept), f_new + self.parts.nonsmooth(coef), eta
            eta *= self.schedule.shrink
        raise ValueError(
            "The line search found no step that decreases the objective (200 "
            f"halvings, down to {eta:.3g}): the objective is not smooth enough "
            "for it, or the data holds non-finite or huge values. Scale the "
            "features, e.g. with sklearn.preprocessing.StandardScaler."
        )

    def _momentum(self, solver, x, y, x_new, F_x, F_new):
        """FISTA's coefficients, restarted when the objective rises or the
        extrapolation points against the step (O'Donoghue and Candès)."""
        if not self.schedule.accelerate:
            return
        against = float(
            np.vdot(y[0] - x_new[0], x_new[0] - x[0])
            + np.vdot(y[1] - x_new[1], x_new[1] - x[1])
        )
        if F_new > F_x or against > 0:
            solver.update(theta=1.0, theta_prev=1.0, previous=None)
            return
        theta = solver["theta"]
        solver["theta_prev"] = theta
        solver["theta"] = (1.0 + np.sqrt(1.0 + 4.0 * theta * theta)) / 2.0
        solver["previous"] = (x[0].copy(), x[1].copy())
