r"""Steps on CSR rows that cost the batch's non-zeros, not the model's size.

A batch of CSR rows has a data gradient of zero in every column none of its
rows touches. Plain SGD exploits that with its weight scale (the L2 decay is
one multiplication); every other built-in rule does so here, by keeping a
column's weights and optimizer state as they were at its last step and
catching them up when a batch touches the column again (and at the end of
the epoch), in O(1) per coordinate. The rule on CSR rows, per step
:math:`t` with rate :math:`\eta_t` and penalty strengths
:math:`\lambda_2, \lambda_1`:

* a coordinate the batch touches takes the optimizer's step
  :math:`\Delta` along its *data* gradient, then the penalty as a
  proximal step: :math:`w \leftarrow S(d_t w + \Delta, \eta_t \lambda_1 p)`,
  with :math:`d_t = \max(0, 1 - \eta_t \lambda_2)` the L2 decay (decoupled
  from the optimizer's moments, as in AdamW), :math:`S` soft thresholding
  and :math:`p` the coordinate's preconditioner (1 for momentum);
* a coordinate it does not touch has gradient 0: momentum and Nesterov
  velocities decay and move the weight, RMSProp's running mean decays,
  AdaGrad's sum stays; Adam's moments stay as they are (lazy Adam, as
  PyTorch's ``SparseAdam``), so the weight moves only by the penalty.

Catching up :math:`k` skipped steps is exact where the dense rule has a
closed form: the velocities (:math:`\mu^k` and a geometric sum), RMSProp's
mean (:math:`\rho^k`), and, for rules that do not move the weight
between touches, the decays and thresholds of the skipped steps
(prefix products :math:`P` and sums :math:`F` over the epoch's steps:
:math:`k` steps of :math:`S(d_i w, \eta_i \lambda_1 p)` are one
:math:`S(D w, \lambda_1 p P_t (F_t - F_a))`). For momentum and Nesterov
under a penalty, the skipped steps' movement comes first and their decay
and threshold after it. The preconditioner of the skipped steps is the
coordinate's when it is caught up (Adam: with the current step's bias
correction). Without a penalty the rule is the dense rule for
momentum, Nesterov, AdaGrad and RMSProp; FTRL-Proximal is lazy by
construction and gives the dense rule's numbers with any penalty.

The penalty term of the epoch's objective is the penalty at the weights
the epoch ends with (the weights at each step are not all current).

This is the NumPy reference of the rule; the compiled kernel
(``skgd/_fast.pyx``) performs the same steps.
"""

import numpy as np
import scipy.sparse as sp

from skgd._component import declared_kernel

# The decay product P is restarted (every column caught up) before it falls
# below this: far from underflow, and 1 / P stays finite.
FOLD = 1e-100


def applies(engine, X):
    """True if the lazy rule runs this engine's epochs on ``X``.

    CSR rows; a built-in rule with a sparse form (``Optimizer.lazy``: every
    rule but plain SGD, SAGA and SVRG; a subclass may change the arithmetic,
    so only the classes that declare their compiled form); the built-in
    penalty (or none); a schedule that gives one rate per step; no
    averaging (the average over a skipped stretch has no closed form for
    every rule: averaged runs keep the dense rule).
    """
    optimizer = engine.optimizer
    return (
        sp.issparse(X)
        and X.format == "csr"
        and optimizer.lazy
        and declared_kernel(optimizer) is not None
        and not engine._own_penalty
        and not engine.average
        and not engine.schedule.needs_batch
        and not engine.schedule.needs_objective
    )


def decay(lr_l2):
    """The L2 decay factor of a step, clamped at 0 (never a sign flip)."""
    return 1.0 - lr_l2 if lr_l2 < 1.0 else 0.0


def _soft(w, threshold):
    return np.sign(w) * np.maximum(np.abs(w) - threshold, 0.0)


class LazyEpochs:
    """Epochs of the lazy rule on CSR rows for one engine."""

    def __init__(self, engine):
        self.engine = engine
        self.optimizer = engine.optimizer
        self.l2 = float(engine._l2)
        self.l1 = float(engine._l1)

    def _ftrl_weights(self, opt_state, index, count, rate):
        z, n = opt_state["z"][0][index], opt_state["n"][0][index]
        return self.optimizer.weights(z, n, rate, count * self.l1, count * self.l2)

    def catch_up(self, state, cols, t, last, prefix, ftrl):
        """Bring columns ``cols`` from their last step ``last[cols]`` to step
        ``t`` (the steps in between had no data gradient there). ``ftrl``:
        FTRL's step count and rate of the weights at step ``t``."""
        a = last[cols]
        keep = a < t
        cols, a = cols[keep], a[keep]
        if not len(cols):
            return
        index = (slice(None), cols)
        opt, opt_state = self.optimizer, state.opt_state
        dtype = state.coef.dtype
        if opt.proximal:
            # FTRL: the weights are a function of the state, which has not moved.
            state.coef[index] = self._ftrl_weights(opt_state, index, *ftrl)
            last[cols] = t
            return
        p = opt.sparse_preconditioner(opt_state, index)
        power, movement = self.tables[:, t - a]
        w = state.coef[index].astype(float)
        w = w + opt.sparse_idle(opt_state, index, power, movement)
        P, F, R = prefix
        if self.l2:
            w = w * (P[t] * R[a])
        if self.l1:
            w = _soft(w, self.l1 * p * (P[t] * (F[t] - F[a])))
        state.coef[index] = w.astype(dtype)
        last[cols] = t

    def step(self, state, cols, grad, lr, d):
        """The optimizer's step on columns ``cols`` along the data gradient
        ``grad`` (outputs x columns), then the penalty's proximal step."""
        opt, opt_state = self.optimizer, state.opt_state
        index = (slice(None), cols)
        w = state.coef[index].astype(float)
        g = grad.astype(float)
        if opt.proximal:
            z, n = opt_state["z"][0][index], opt_state["n"][0][index]
            sigma_w = (np.sqrt(n + g * g) - np.sqrt(n)) * (1.0 / lr) * w
            opt_state["z"][0][index] = z + g - sigma_w
            opt_state["n"][0][index] = n + g * g
            count = opt_state["count"]
            state.coef[index] = self._ftrl_weights(opt_state, index, count, lr)
            return
        delta, p = opt.sparse_update(opt_state, index, 0, g, lr)
        w = d * w + delta
        if self.l1:
            w = _soft(w, lr * self.l1 * p)
        state.coef[index] = w.astype(state.coef.dtype)

    def intercept_step(self, state, grad, lr, rate_before):
        """The intercept's step: the optimizer along its gradient, no penalty
        (FTRL: an unpenalised coordinate, from its state at ``rate_before``)."""
        opt, opt_state = self.optimizer, state.opt_state
        g = grad.astype(float)
        if opt.proximal:
            z, n = opt_state["z"][1], opt_state["n"][1]
            w = opt.weights(z, n, rate_before, 0.0, 0.0)
            z[...] = z + g - (np.sqrt(n + g * g) - np.sqrt(n)) * (1.0 / lr) * w
            n[...] = n + g * g
            new = opt.weights(z, n, lr, 0.0, 0.0)
        else:
            delta, _ = opt.sparse_update(opt_state, slice(None), 1, g, lr)
            new = state.intercept + delta
        if self.engine.objective.fit_intercept:
            state.intercept[...] = new.astype(state.intercept.dtype)

    # -- the epoch ----------------------------------------------------------------

    def run(self, state, X, Y, sample_weight, order):
        """One epoch over the rows ``order`` of CSR ``X``; the objective."""
        engine = self.engine
        obj, schedule, opt = engine.objective, engine.schedule, self.optimizer
        n = X.shape[0] if order is None else len(order)
        batch = min(engine.batch, n)
        total_weight = engine.total_weight(sample_weight, order)
        row_scale = sample_weight * (n / total_weight)
        n_steps = -(-n // batch)
        n_features = X.shape[1]
        last = np.zeros(n_features, dtype=np.int64)
        # Per step t: the product of the decays before it, its reciprocal,
        # and the sum of the rates over that product (see catch_up).
        P = np.ones(n_steps + 1)
        R = np.ones(n_steps + 1)
        F = np.zeros(n_steps + 1)
        self.tables = opt.sparse_tables(n_steps)
        everything = np.arange(n_features)
        opt_state = state.opt_state
        is_ftrl = opt.proximal
        if is_ftrl and opt_state["count"] == 0:
            # The first update centres z at the weights it starts from.
            opt_state["rate"] = schedule.rate(state.t, state.sched_state)
            for part, w in enumerate((state.coef, state.intercept)):
                opt_state["z"][part][...] = -(opt.beta / opt_state["rate"]) * w
        rate_before = opt_state.get("rate")
        data_sum = 0.0
        for t, start in enumerate(range(0, n, batch)):
            rows = (
                slice(start, start + batch)
                if order is None
                else order[start : start + batch]
            )
            Xb = X[rows]
            size = Xb.shape[0]
            lr = schedule.rate(state.t, state.sched_state)
            # FTRL takes its penalty itself: no decay.
            d = decay(lr * self.l2) if self.l2 and not is_ftrl else 1.0
            if "count" in opt_state:
                opt_state["count"] += 1
            prefix = (P, F, R)
            ftrl = (opt_state.get("count", 0) - 1, rate_before)  # before this step
            if P[t] * d < FOLD:
                # Every column to step t, and the products start again.
                self.catch_up(state, everything, t, last, prefix, ftrl)
                P[t], F[t], R[t] = 1.0, 0.0, 1.0
            cols, inverse = np.unique(Xb.indices, return_inverse=True)
            self.catch_up(state, cols, t, last, prefix, ftrl)
            # The batch on its own columns only: O(non-zeros).
            Xs = sp.csr_matrix(
                (Xb.data, inverse.reshape(-1), Xb.indptr), shape=(size, len(cols))
            )
            scale = row_scale[rows] / size
            values, grad_coef, grad_intercept = obj.batch_gradient(
                state.coef[:, cols], state.intercept, Xs, Y[rows], scale
            )
            self.step(state, cols, grad_coef, lr, d)
            self.intercept_step(state, grad_intercept, lr, rate_before)
            last[cols] = t + 1
            P[t + 1] = P[t] * d
            R[t + 1] = 1.0 / max(P[t + 1], FOLD)
            F[t + 1] = F[t] + lr * R[t + 1]
            if is_ftrl:
                opt_state["rate"] = rate_before = float(lr)
            state.t += 1.0
            if sample_weight.ndim == 2:
                data_sum += float(np.sum(values * sample_weight[rows]))
            else:
                data_sum += float(values @ sample_weight[rows])
        ftrl = (opt_state.get("count", 0), rate_before)
        self.catch_up(state, everything, n_steps, last, (P, F, R), ftrl)
        penalty = obj.penalty_value(state.coef) if engine._penalised else 0.0
        return data_sum / total_weight + penalty
