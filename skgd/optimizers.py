r"""Update rules: how a gradient and a step size become a parameter step.

An optimizer follows optax's split of hyperparameters and state::

    state = optimizer.init(params)
    steps, state = optimizer.update(grads, state, lr)
    params = [p + s for p, s in zip(params, steps)]

``params``, ``grads`` and ``steps`` are lists of arrays (skgd passes
``[coef, intercept]``). The optimizer object holds hyperparameters only and is
never changed by training; the estimator owns the state (velocities, moments,
step count), so ``clone``, pickling and ``partial_fit`` continuity come for
free. ``update`` may reuse the arrays of the state it is given.

The step size ``lr`` comes from the learning-rate schedule (see
:mod:`skgd.schedules`) and is applied by every rule, the adaptive ones
included.
"""

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval

from skgd._component import Component, KernelSpec

__all__ = [
    "Optimizer",
    "SGD",
    "Momentum",
    "Nesterov",
    "AdaGrad",
    "RMSProp",
    "Adam",
    "SAGA",
    "SVRG",
    "get_optimizer",
]


def _zeros_like(params):
    return [np.zeros_like(p) for p in params]


class Optimizer(Component):
    """Base class of update rules.

    Subclasses implement :meth:`init` and :meth:`update`; adaptive rules also
    implement :meth:`preconditioner`.
    """

    #: True only for the rule :math:`\Delta w = -\eta g` itself, the one
    #: rule that per-sample step sizes (passive-aggressive) are defined for.
    plain = False
    #: True for rules that correct each batch's gradient with a memory of
    #: the rows' earlier gradients (SAGA); the engine computes the corrected
    #: gradient (``skgd._variance_reduced``) and this rule steps along it.
    variance_reduced = False
    #: For a variance-reduced rule: True if the memory holds the gradients
    #: at a snapshot of the weights taken once per epoch (SVRG), False if
    #: each row's gradient at its last visit (SAGA).
    snapshot = False

    def init(self, params):
        """Return the initial state for parameters ``params`` (list of arrays)."""
        return {}

    def update(self, grads, state, lr):
        """Return ``(steps, new_state)`` for gradients ``grads`` and step ``lr``."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement update(grads, state, lr)."
        )

    def preconditioner(self, state):
        """Per-coordinate factor on ``lr`` of the last step, or None if it is 1.

        Used to scale the L1 truncation so that it matches the step each
        coefficient actually took. Returns a list like ``params`` or None.
        """
        return None


class SGD(Optimizer):
    r"""Plain (stochastic) gradient descent.

    .. math:: \Delta w_t = -\eta_t g_t

    Examples
    --------
    >>> import numpy as np
    >>> from skgd.optimizers import SGD
    >>> opt = SGD()
    >>> state = opt.init([np.zeros(2)])
    >>> steps, state = opt.update([np.array([1.0, -2.0])], state, lr=0.1)
    >>> steps[0]
    array([-0.1,  0.2])
    """

    _kernel = KernelSpec("SGD")
    plain = True

    def update(self, grads, state, lr):
        return [-lr * g for g in grads], state


class Momentum(Optimizer):
    r"""Heavy-ball momentum (Polyak 1964), in the velocity form.

    .. math::

        v_t = \mu v_{t-1} - \eta_t g_t, \qquad \Delta w_t = v_t

    Parameters
    ----------
    momentum : float, default=0.9
        The decay :math:`\mu \in [0, 1)` of the velocity.

    Examples
    --------
    >>> import numpy as np
    >>> from skgd.optimizers import Momentum
    >>> opt = Momentum(momentum=0.5)
    >>> state = opt.init([np.zeros(1)])
    >>> _, state = opt.update([np.array([1.0])], state, lr=1.0)
    >>> opt.update([np.array([1.0])], state, lr=1.0)[0][0]
    array([-1.5])
    """

    _parameter_constraints = {"momentum": [Interval(Real, 0, 1, closed="left")]}
    _kernel = KernelSpec("MOMENTUM", params=("momentum",), slots=("velocity",))

    def __init__(self, momentum=0.9):
        self.momentum = momentum

    def init(self, params):
        return {"velocity": _zeros_like(params)}

    def update(self, grads, state, lr):
        for v, g in zip(state["velocity"], grads):
            v *= self.momentum
            v -= lr * g
        return [v.copy() for v in state["velocity"]], state


class Nesterov(Optimizer):
    r"""Nesterov's accelerated gradient, in the form of Sutskever et al. (2013).

    .. math::

        v_t = \mu v_{t-1} - \eta_t g_t, \qquad
        \Delta w_t = \mu v_t - \eta_t g_t

    which is :math:`-\mu v_{t-1} + (1 + \mu) v_t`: the gradient is evaluated at
    the look-ahead point, written in terms of the stored parameters.

    Parameters
    ----------
    momentum : float, default=0.9
        The decay :math:`\mu \in [0, 1)` of the velocity.
    """

    _parameter_constraints = {"momentum": [Interval(Real, 0, 1, closed="left")]}
    _kernel = KernelSpec("NESTEROV", params=("momentum",), slots=("velocity",))

    def __init__(self, momentum=0.9):
        self.momentum = momentum

    def init(self, params):
        return {"velocity": _zeros_like(params)}

    def update(self, grads, state, lr):
        steps = []
        for v, g in zip(state["velocity"], grads):
            v *= self.momentum
            v -= lr * g
            steps.append(self.momentum * v - lr * g)
        return steps, state


class AdaGrad(Optimizer):
    r"""AdaGrad (Duchi, Hazan and Singer 2011).

    .. math::

        G_t = G_{t-1} + g_t^2, \qquad
        \Delta w_t = -\eta_t \frac{g_t}{\sqrt{G_t} + \epsilon}

    Parameters
    ----------
    epsilon : float, default=1e-8
        Added to the denominator so that a coordinate that has never seen a
        gradient does not divide by zero.
    """

    _parameter_constraints = {"epsilon": [Interval(Real, 0, None, closed="neither")]}
    _kernel = KernelSpec(
        "ADAGRAD", params=("epsilon",), slots=("sum_sq",), preconditioned=True
    )

    def __init__(self, epsilon=1e-8):
        self.epsilon = epsilon

    def init(self, params):
        return {"sum_sq": _zeros_like(params)}

    def update(self, grads, state, lr):
        steps = []
        for s, g in zip(state["sum_sq"], grads):
            s += g * g
            steps.append(-lr * g / (np.sqrt(s) + self.epsilon))
        return steps, state

    def preconditioner(self, state):
        return [1.0 / (np.sqrt(s) + self.epsilon) for s in state["sum_sq"]]


class RMSProp(Optimizer):
    r"""RMSProp (Tieleman and Hinton 2012).

    .. math::

        s_t = \rho s_{t-1} + (1 - \rho) g_t^2, \qquad
        \Delta w_t = -\eta_t \frac{g_t}{\sqrt{s_t} + \epsilon}

    Parameters
    ----------
    rho : float, default=0.9
        Decay of the running mean of squared gradients.
    epsilon : float, default=1e-8
        Keeps the denominator away from zero.
    """

    _parameter_constraints = {
        "rho": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
    }
    _kernel = KernelSpec(
        "RMSPROP", params=("rho", "epsilon"), slots=("mean_sq",), preconditioned=True
    )

    def __init__(self, rho=0.9, epsilon=1e-8):
        self.rho = rho
        self.epsilon = epsilon

    def init(self, params):
        return {"mean_sq": _zeros_like(params)}

    def update(self, grads, state, lr):
        steps = []
        for s, g in zip(state["mean_sq"], grads):
            s *= self.rho
            s += (1.0 - self.rho) * g * g
            steps.append(-lr * g / (np.sqrt(s) + self.epsilon))
        return steps, state

    def preconditioner(self, state):
        return [1.0 / (np.sqrt(s) + self.epsilon) for s in state["mean_sq"]]


class Adam(Optimizer):
    r"""Adam (Kingma and Ba 2015) with bias correction.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \hat m_t &= m_t / (1 - \beta_1^t), \qquad \hat v_t = v_t / (1 - \beta_2^t) \\
        \Delta w_t &= -\eta_t \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    where :math:`t` counts this optimizer's own updates.

    Parameters
    ----------
    beta_1 : float, default=0.9
        Decay of the first-moment estimate.
    beta_2 : float, default=0.999
        Decay of the second-moment estimate.
    epsilon : float, default=1e-8
        Keeps the denominator away from zero.

    Examples
    --------
    The first Adam step has length ``lr`` in every coordinate with a gradient:

    >>> import numpy as np
    >>> from skgd.optimizers import Adam
    >>> opt = Adam()
    >>> state = opt.init([np.zeros(2)])
    >>> steps, state = opt.update([np.array([3.0, -0.5])], state, lr=0.01)
    >>> np.round(steps[0], 6)
    array([-0.01,  0.01])
    """

    _parameter_constraints = {
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
    }
    _kernel = KernelSpec(
        "ADAM",
        params=("beta_1", "beta_2", "epsilon"),
        slots=("m", "v"),
        counter="count",
        preconditioned=True,
    )

    def __init__(self, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def init(self, params):
        return {"count": 0, "m": _zeros_like(params), "v": _zeros_like(params)}

    def update(self, grads, state, lr):
        state["count"] += 1
        t = state["count"]
        b1, b2 = self.beta_1, self.beta_2
        m_corr = 1.0 - b1**t
        v_corr = 1.0 - b2**t
        steps = []
        for m, v, g in zip(state["m"], state["v"], grads):
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * g * g
            steps.append((-lr / m_corr) * m / (np.sqrt(v / v_corr) + self.epsilon))
        return steps, state

    def preconditioner(self, state):
        v_corr = 1.0 - self.beta_2 ** max(state["count"], 1)
        return [1.0 / (np.sqrt(v / v_corr) + self.epsilon) for v in state["v"]]


class SAGA(Optimizer):
    r"""SAGA (Defazio, Bach and Lacoste-Julien 2014): variance-reduced steps.

    The engine keeps, for each training row :math:`i`, the derivative
    :math:`\alpha_i` of its loss with respect to its scores at the row's last
    visit (one number per row and output: a linear model's gradient is that
    times the row), and their weighted mean gradient
    :math:`\bar g = \sum_j s_j \alpha_j x_j` (:math:`s_j` the row's share of
    the training weight). A batch :math:`b` of :math:`B` rows out of
    :math:`n` then steps along

    .. math:: v = \frac{1}{B} \sum_{i \in b} n s_i (g_i - \alpha_i) x_i
              + \bar g + \nabla R_2(w),

    an unbiased estimate of the gradient whose variance vanishes at the
    optimum, so that a constant step converges linearly (on a strongly
    convex objective) to the exact minimum; the L1 part of the penalty is
    taken by its proximal step (soft thresholding), which gives the exact
    zeros of the solution. Then :math:`\alpha_i \leftarrow g_i` for the
    batch's rows. Any batch size works; the full batch is plain proximal
    gradient descent.

    Training with SAGA stops on a certificate of optimality, like the line
    search: after each epoch the exact gradient mapping at the weights
    bounds their distance to the optimum, and training stops once that
    bound is within ``tol`` (relative) of the objective. It needs a smooth
    loss. With ``learning_rate="auto"`` its step is the constant
    :math:`1 / (3 L_B)`, :math:`L_B` the smoothness of a batch's gradient
    estimate (Gower et al. 2019).

    ``partial_fit``: each call is one SAGA epoch over its chunk, with a
    table of that chunk's rows started afresh from zero (the table of an
    earlier chunk describes other rows); the weights carry over. Streamed
    chunks thus converge to the optimum of no single chunk: for a data set
    that fits in memory, use ``fit``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skgd import GDClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = GDClassifier(loss="softmax", optimizer="saga", batch_size=8, alpha=0.01)
    >>> _ = make_pipeline(StandardScaler(), clf).fit(X, y)
    >>> clf.learning_rate_
    Constant(eta0=0.11...)
    >>> clf.n_iter_ < clf.max_iter  # certified within tol of the optimum
    True
    """

    plain = False
    variance_reduced = True

    def update(self, grads, state, lr):
        # The engine hands in the corrected gradient v: a plain step along it.
        return [-lr * g for g in grads], state


class SVRG(SAGA):
    r"""SVRG (Johnson and Zhang 2013): steps corrected by a snapshot's gradient.

    At the start of each epoch the engine takes a snapshot :math:`\tilde w`
    of the weights and, in one full pass, each row's loss derivative
    :math:`\alpha_i` there and the mean gradient
    :math:`\bar g = \sum_j s_j \alpha_j x_j`. A batch :math:`b` of
    :math:`B` rows out of :math:`n` then steps along the same estimate as
    :class:`SAGA`'s,

    .. math:: v = \frac{1}{B} \sum_{i \in b} n s_i (g_i - \alpha_i) x_i
              + \bar g + \nabla R_2(w),

    but the memory stays the snapshot's for the whole epoch. The snapshot's
    pass is the one that ends the previous epoch (the exact objective and
    certificate), so an epoch costs what SAGA's does. Like SAGA it converges
    linearly to the exact minimum of a strongly convex objective, takes the
    L1 part by its proximal step, stops on the same certificate, needs a
    smooth loss, and with ``learning_rate="auto"`` takes the same step
    :math:`1 / (3 L_B)`.

    Where SAGA's memory changes row by row, SVRG's is fixed within an
    epoch and rebuilt from the weights alone: it is the rule whose memory
    can be recomputed rather than kept.

    ``partial_fit``: each call is one SVRG epoch over its chunk, with a
    snapshot of the chunk taken at the weights the call starts from; the
    weights carry over. As with SAGA, streamed chunks converge to the
    optimum of no single chunk.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skgd import GDClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = GDClassifier(loss="softmax", optimizer="svrg", batch_size=8, alpha=0.01)
    >>> _ = make_pipeline(StandardScaler(), clf).fit(X, y)
    >>> clf.n_iter_ < clf.max_iter  # certified within tol of the optimum
    True
    """

    snapshot = True


_OPTIMIZERS = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "rmsprop": RMSProp,
    "adam": Adam,
    "saga": SAGA,
    "svrg": SVRG,
}

OPTIMIZER_NAMES = tuple(_OPTIMIZERS)


def get_optimizer(optimizer):
    """Return the optimizer for a name of :data:`OPTIMIZER_NAMES` (with its
    default hyperparameters) or an :class:`Optimizer` instance (unchanged).

    Parameters
    ----------
    optimizer : str or Optimizer

    Returns
    -------
    Optimizer
    """
    if isinstance(optimizer, Optimizer):
        return optimizer
    try:
        return _OPTIMIZERS[optimizer]()
    except (KeyError, TypeError):
        raise ValueError(
            f"optimizer={optimizer!r} is not a known optimizer; use one of "
            f"{sorted(_OPTIMIZERS)} or an instance of skgd.optimizers.Optimizer."
        ) from None
