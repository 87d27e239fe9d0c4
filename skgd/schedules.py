r"""Learning-rate schedules: the step size :math:`\eta_t` of update :math:`t`.

The clock :math:`t` counts optimizer updates, starting at 1, and carries on
across ``partial_fit`` calls (it is the fitted attribute ``t_``). With
``batch_size=1`` one update is one sample, so every schedule below is exactly
scikit-learn's SGDClassifier schedule; with mini-batches the clock ticks once
per batch. A schedule object holds hyperparameters only; what changes during
training (the current rate of ``"adaptive"``) is in a state that the
estimator owns.
"""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval

from skgd._component import Component, KernelSpec

_POSITIVE = Interval(Real, 0, None, closed="neither")

__all__ = [
    "Schedule",
    "Constant",
    "Optimal",
    "InvScaling",
    "Adaptive",
    "PassiveAggressive",
    "LineSearch",
    "get_schedule",
]


class Schedule(Component):
    """Base class of learning-rate schedules.

    A schedule implements :meth:`rate`. One whose step also depends on the
    batch (passive-aggressive) sets ``needs_batch = True``: training then
    calls ``rate(t, state, loss_value=..., sqnorm=...)`` for the step of
    the data term, and ``rate(t, state)`` for the penalty's.
    """

    #: True if :meth:`rate` sizes the data step from the batch's loss and norm.
    needs_batch = False

    #: True for a rule that evaluates the objective itself (a line search):
    #: full-batch descent then runs as a solver (``skgd._full_batch``).
    needs_objective = False

    def init(self):
        """Return the initial state (a dict; empty for stateless schedules)."""
        return {}

    def rate(self, t, state):
        """The step size of update ``t`` (1-based)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement rate(t, state)."
        )

    def on_plateau(self, state):
        """Called when training stopped improving; return ``(state, stop)``.

        The default stops training, which is what every schedule but
        :class:`Adaptive` does.
        """
        return state, True


class Constant(Schedule):
    r""":math:`\eta_t = \eta_0`.

    Parameters
    ----------
    eta0 : float, default=0.01
    """

    _parameter_constraints = {"eta0": [_POSITIVE]}
    _kernel = KernelSpec("CONSTANT", params=("eta0",))

    def __init__(self, eta0=0.01):
        self.eta0 = eta0

    def rate(self, t, state):
        return self.eta0


class Optimal(Schedule):
    r"""Bottou's schedule for strongly convex problems, scikit-learn's default.

    .. math:: \eta_t = \frac{1}{\alpha (t_0 + t - 1)}, \qquad
              t_0 = \frac{1}{\alpha\, \eta_{\mathrm{init}}}, \qquad
              \eta_{\mathrm{init}} = \alpha^{-1/4}

    :math:`\eta_{\mathrm{init}}` is the heuristic first step of Léon Bottou's
    ``svmsgd`` as scikit-learn computes it (the typical weight norm
    :math:`\sqrt{1/\sqrt{\alpha}}`, divided by a loss slope that is at most 1
    for every classification loss).

    Parameters
    ----------
    alpha : float, default=1e-4
        The penalty strength, > 0.

    Examples
    --------
    >>> from skgd.schedules import Optimal
    >>> round(Optimal(alpha=1e-4).rate(1, {}), 6)
    10.0
    """

    _parameter_constraints = {"alpha": [_POSITIVE]}
    _kernel = KernelSpec("OPTIMAL", params=("alpha", "t0"))

    def __init__(self, alpha=1e-4):
        self.alpha = alpha

    @property
    def t0(self):
        r"""Bottou's offset :math:`t_0 = 1 / (\alpha\, \eta_{\mathrm{init}})`."""
        eta_init = math.sqrt(1.0 / math.sqrt(self.alpha))
        return 1.0 / (eta_init * self.alpha)

    def rate(self, t, state):
        return 1.0 / (self.alpha * (self.t0 + t - 1.0))


class InvScaling(Schedule):
    r""":math:`\eta_t = \eta_0 / t^{p}`.

    Parameters
    ----------
    eta0 : float, default=0.01
    power_t : float, default=0.5
        The exponent :math:`p \ge 0`. A negative :math:`p` (a rate that
        grows with :math:`t`) is accepted, as scikit-learn 1.9 accepts it
        (deprecated there: ``GDClassifier`` warns as SGDClassifier does).
    """

    _parameter_constraints = {
        "eta0": [_POSITIVE],
        "power_t": [Interval(Real, None, None, closed="neither")],
    }
    _kernel = KernelSpec("INVSCALING", params=("eta0", "power_t"))

    def __init__(self, eta0=0.01, power_t=0.5):
        self.eta0 = eta0
        self.power_t = power_t

    def rate(self, t, state):
        return self.eta0 / t**self.power_t


class Adaptive(Schedule):
    r""":math:`\eta_0`, divided by 5 each time training stops improving.

    "Not improving" is scikit-learn's rule: ``n_iter_no_change`` epochs in a
    row without the training objective falling (or the validation score
    rising, with early stopping) by ``tol``. Training ends when the rate would
    fall below :math:`10^{-6}`.

    Parameters
    ----------
    eta0 : float, default=0.01
    """

    _parameter_constraints = {"eta0": [_POSITIVE]}
    # Within an epoch the rate is constant: the kernel reads it from the state.
    _kernel = KernelSpec("CONSTANT", state=("eta",))

    def __init__(self, eta0=0.01):
        self.eta0 = eta0

    def init(self):
        return {"eta": self.eta0}

    def rate(self, t, state):
        return state["eta"]

    def on_plateau(self, state):
        if state["eta"] > 1e-6:
            return {"eta": state["eta"] / 5.0}, False
        return state, True


class PassiveAggressive(Schedule):
    r"""Passive-aggressive step sizes (Crammer et al. 2006), for the hinge loss.

    The step of each sample depends on its hinge loss :math:`\ell` and its
    squared norm :math:`\lVert x\rVert^2`:

    .. math::

        \text{PA-I:}\ \eta = \min\left(C, \frac{\ell}{\lVert x\rVert^2}\right),
        \qquad
        \text{PA-II:}\ \eta = \frac{\ell}{\lVert x\rVert^2 + \frac{1}{2C}}

    The step moves along the loss's slope (:math:`y x` for the hinge), so
    the loss must have a slope of :math:`\pm 1` wherever it is positive
    (``Loss.unit_slope``: the hinge and epsilon-insensitive losses); each
    one-vs-rest column takes its own step. Only defined for
    ``batch_size=1`` and plain SGD. The penalty, if any, is applied with the
    constant step :math:`C`, as in scikit-learn.

    Parameters
    ----------
    C : float, default=0.01
        The aggressiveness (``eta0`` of the estimator).
    variant : {1, 2}, default=1
        PA-I or PA-II.
    """

    _parameter_constraints = {
        "C": [_POSITIVE],
        "variant": [Interval(Integral, 1, 2, closed="both")],
    }
    _kernel = KernelSpec("PASSIVE_AGGRESSIVE", params=("C", "variant"))
    needs_batch = True

    def __init__(self, C=0.01, variant=1):
        self.C = C
        self.variant = variant

    def rate(self, t, state, *, loss_value=None, sqnorm=None):
        """:math:`C` for the penalty; with the sample's loss (per column) and
        squared norm, the step of the data term."""
        if loss_value is None:
            return self.C
        if self.variant == 1:
            # A sample of norm 0 has no direction to move in: no step.
            safe = sqnorm if sqnorm > 0 else 1.0
            return (sqnorm > 0) * np.minimum(loss_value / safe, self.C)
        return loss_value / (sqnorm + 0.5 / self.C)


class LineSearch(Schedule):
    r"""Backtracking line search for full-batch descent, accelerated.

    Each update is a proximal gradient step from a point :math:`y`,

    .. math::

        x^+ = \operatorname{prox}_{\eta h}\big(y - \eta \nabla f(y)\big),

    where :math:`f` is the smooth part of the objective (the loss and the L2
    part of the penalty) and :math:`h` its L1 part, whose proximal operator
    (soft thresholding) gives exact zeros. The step :math:`\eta` is halved
    (``shrink``) until the sufficient-decrease condition of Beck and
    Teboulle (2009) holds,

    .. math::

        f(x^+) \le f(y) + \nabla f(y)^\top (x^+ - y)
                   + \tfrac{1}{2\eta} \lVert x^+ - y \rVert^2,

    and the next update tries a step ``grow`` times larger. With
    ``accelerate=True`` (FISTA), :math:`y` extrapolates from the last two
    iterates with Nesterov's coefficients, restarting them (O'Donoghue and
    Candès 2015) when the objective rises or the extrapolation points
    against the last step; otherwise :math:`y` is the current iterate.

    Full-batch descent only (``batch_size="full"``, ``optimizer="sgd"``), for
    a loss with a known ``curvature`` (smooth). Training stops when the
    objective is certified within ``tol`` (relative) of its minimum: with
    an L2 part :math:`\mu` in the penalty the objective is strongly convex,
    and :math:`F(x^+) - F^* \le \lVert G \rVert^2 / (2\mu)` for the
    gradient mapping :math:`G = (y - x^+)/\eta`; without one, when
    :math:`\lVert G \rVert` has fallen to ``tol`` times its first value.

    Parameters
    ----------
    eta0 : float or None, default=None
        The first trial step; None takes :math:`1/L` from the bound
        :math:`L` of the smooth part's curvature on the data (the loss's
        ``curvature`` times the weighted mean squared norm of the rows, plus
        the L2 part of the penalty), which may be small: the steps grow.
    shrink : float, default=0.5
        Factor on a step that fails the condition, in (0, 1).
    grow : float, default=2.0
        Factor on the step each update starts from, at least 1.
    accelerate : bool, default=True
        Nesterov's extrapolation with adaptive restart (FISTA).

    References
    ----------
    A. Beck and M. Teboulle, "A fast iterative shrinkage-thresholding
    algorithm for linear inverse problems", SIAM J. Imaging Sciences, 2009.
    B. O'Donoghue and E. Candès, "Adaptive restart for accelerated gradient
    schemes", Foundations of Computational Mathematics, 2015.
    """

    _parameter_constraints = {
        "eta0": [_POSITIVE, None],
        "shrink": [Interval(Real, 0, 1, closed="neither")],
        "grow": [Interval(Real, 1, None, closed="left")],
        "accelerate": ["boolean"],
    }
    needs_objective = True

    def __init__(self, eta0=None, shrink=0.5, grow=2.0, accelerate=True):
        self.eta0 = eta0
        self.shrink = shrink
        self.grow = grow
        self.accelerate = accelerate

    def init(self):
        return {"eta": self.eta0}

    def rate(self, t, state):
        """The step of the last update (or the first trial step)."""
        return state["eta"]


def get_schedule(learning_rate, *, eta0=0.01, power_t=0.5, alpha=1e-4):
    """Return the schedule for a scikit-learn ``learning_rate`` name or a
    :class:`Schedule` instance (returned unchanged).

    Parameters
    ----------
    learning_rate : {"constant", "optimal", "invscaling", "adaptive", "pa1", \
            "pa2", "line_search"} or Schedule
    eta0, power_t, alpha : float
        The estimator's hyperparameters that the named schedules use.

    Returns
    -------
    Schedule
    """
    if isinstance(learning_rate, Schedule):
        return learning_rate
    if learning_rate == "constant":
        return Constant(eta0=eta0)
    if learning_rate == "optimal":
        return Optimal(alpha=alpha)
    if learning_rate == "invscaling":
        return InvScaling(eta0=eta0, power_t=power_t)
    if learning_rate == "adaptive":
        return Adaptive(eta0=eta0)
    if learning_rate in ("pa1", "pa2"):
        return PassiveAggressive(C=eta0, variant=int(learning_rate[-1]))
    if learning_rate == "line_search":
        return LineSearch()
    raise ValueError(
        f"learning_rate={learning_rate!r} is not a known schedule; use 'constant', "
        "'optimal', 'invscaling', 'adaptive', 'pa1', 'pa2', 'line_search' or an "
        "instance of "
        "skgd.schedules.Schedule."
    )
