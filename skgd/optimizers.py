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
    "FTRL",
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
    #: True for rules that take the penalty themselves (FTRL-Proximal):
    #: ``update`` then receives each parameter's L1 and L2 strengths as
    #: ``penalties``, and the engine neither adds the L2 gradient nor
    #: truncates for L1.
    proximal = False
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

    # -- the sparse form (skgd._lazy) -------------------------------------------
    #: True for rules with a sparse form: on CSR rows a step moves only the
    #: batch's columns, and the others catch up when next touched
    #: (``skgd._lazy``). Such a rule implements the ``sparse_*`` methods,
    #: which act on the coordinates ``index`` of parameter ``part`` of the
    #: state (``state[key][part][index]``).
    lazy = False

    def sparse_tables(self, n_steps):
        """For 0 to ``n_steps`` skipped steps: the factor they put on the
        state (row 0) and on it, the weight's movement (row 1)."""
        return np.ones((2, n_steps + 1))

    def sparse_idle(self, state, index, power, movement):
        """The skipped steps (zero gradient) of coordinates ``index`` of the
        weights, given their tables' columns: updates the state and returns
        the weights' movement."""
        return 0.0

    def sparse_preconditioner(self, state, index):
        """The factor on the rate of coordinates ``index`` of the weights."""
        return 1.0

    def sparse_update(self, state, index, part, g, lr):
        """The step along ``g`` (float64) of the coordinates ``index`` of
        parameter ``part``, updating their state: ``(step, preconditioner)``."""
        raise NotImplementedError(f"{type(self).__name__} has no sparse form.")

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


def _velocity_tables(mu, n_steps, extra):
    """``mu ** k`` and ``extra * mu (1 - mu ** k) / (1 - mu)``: a velocity's
    factor after k zero-gradient steps and the weight's movement over them
    (``extra``: 1 for momentum, ``mu`` for Nesterov's look-ahead step)."""
    mu = float(mu)
    power = mu ** np.arange(n_steps + 1, dtype=float)
    movement = mu * (1.0 - power) / (1.0 - mu)
    return np.stack([power, extra * movement if extra != 1.0 else movement])


def _velocity_idle(state, index, power, movement):
    v = state["velocity"][0][index]
    state["velocity"][0][index] = v * power
    return v * movement


def _velocity_update(rule, state, index, part, g, lr, look_ahead):
    velocity = state["velocity"][part]
    velocity[index] = rule.momentum * velocity[index] - lr * g
    v = velocity[index].astype(float)
    return (rule.momentum * v - lr * g if look_ahead else v), 1.0


def _root_preconditioner(squares, epsilon, scale=1.0):
    """``1 / (sqrt(squares / scale) + epsilon)`` in float64."""
    squares = squares.astype(float)
    return 1.0 / (np.sqrt(squares if scale == 1.0 else squares / scale) + epsilon)


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

    lazy = True

    def sparse_tables(self, n_steps):
        return _velocity_tables(self.momentum, n_steps, 1.0)

    def sparse_idle(self, state, index, power, movement):
        return _velocity_idle(state, index, power, movement)

    def sparse_update(self, state, index, part, g, lr):
        return _velocity_update(self, state, index, part, g, lr, look_ahead=False)


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

    lazy = True

    def sparse_tables(self, n_steps):
        return _velocity_tables(self.momentum, n_steps, float(self.momentum))

    def sparse_idle(self, state, index, power, movement):
        return _velocity_idle(state, index, power, movement)

    def sparse_update(self, state, index, part, g, lr):
        return _velocity_update(self, state, index, part, g, lr, look_ahead=True)


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

    lazy = True  # a zero gradient leaves the sum as it is

    def sparse_preconditioner(self, state, index):
        return _root_preconditioner(state["sum_sq"][0][index], self.epsilon)

    def sparse_update(self, state, index, part, g, lr):
        sums = state["sum_sq"][part]
        sums[index] = sums[index] + g * g
        root = np.sqrt(sums[index].astype(float)) + self.epsilon
        return -lr * g / root, 1.0 / root


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

    lazy = True

    def sparse_tables(self, n_steps):
        # A zero gradient decays the mean by rho; the weight stays.
        return np.stack(
            [float(self.rho) ** np.arange(n_steps + 1, dtype=float)]
            + [np.zeros(n_steps + 1)]
        )

    def sparse_idle(self, state, index, power, movement):
        means = state["mean_sq"][0]
        means[index] = means[index] * power
        return 0.0

    def sparse_preconditioner(self, state, index):
        return _root_preconditioner(state["mean_sq"][0][index], self.epsilon)

    def sparse_update(self, state, index, part, g, lr):
        means = state["mean_sq"][part]
        means[index] = self.rho * means[index] + (1.0 - self.rho) * g * g
        root = np.sqrt(means[index].astype(float)) + self.epsilon
        return -lr * g / root, 1.0 / root


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

    # Lazy Adam (as PyTorch's SparseAdam): the moments of a coordinate move
    # only at the steps that touch it; the count and its bias corrections
    # are the rule's.
    lazy = True

    def sparse_preconditioner(self, state, index):
        v_corr = 1.0 - self.beta_2 ** state["count"]
        return _root_preconditioner(state["v"][0][index], self.epsilon, v_corr)

    def sparse_update(self, state, index, part, g, lr):
        t = state["count"]
        m, v = state["m"][part], state["v"][part]
        m[index] = self.beta_1 * m[index] + (1.0 - self.beta_1) * g
        v[index] = self.beta_2 * v[index] + (1.0 - self.beta_2) * g * g
        root = np.sqrt(v[index].astype(float) / (1.0 - self.beta_2**t)) + self.epsilon
        step = (-lr / (1.0 - self.beta_1**t)) * m[index].astype(float) / root
        return step, 1.0 / root


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


class FTRL(Optimizer):
    r"""FTRL-Proximal (McMahan et al. 2013): follow the regularised leader.

    Per coordinate, with gradient :math:`g_t` of the data term and step
    size :math:`\eta` (the schedule's rate):

    .. math::

        n_t &= n_{t-1} + g_t^2, \qquad
        z_t = z_{t-1} + g_t - \frac{\sqrt{n_t} - \sqrt{n_{t-1}}}{\eta} w_{t-1} \\
        w_t &= \begin{cases} 0 & |z_t| \le \lambda_1 \\
              -\dfrac{z_t - \operatorname{sign}(z_t) \lambda_1}
                     {(\beta + \sqrt{n_t}) / \eta + \lambda_2}
              & \text{otherwise} \end{cases}

    The weights are a function of the state :math:`(z, n)`: a coordinate
    whose gradient is zero keeps its state, so on sparse rows a step costs
    the non-zeros of its batch, whatever the number of features. This is
    the rule of click-prediction systems that train on hashed features
    with L1 and L2 penalties.

    The penalty is the estimator's (``alpha``, ``penalty``, ``l1_ratio``),
    taken by the rule itself (the engine adds no L2 gradient and truncates
    nothing): after :math:`t` steps, :math:`\lambda_1 = t \, \alpha_1` and
    :math:`\lambda_2 = t \, \alpha_2`, the objective's L1 and L2 strengths
    times the number of gradients summed in :math:`z`, so that the iterate
    regularises the sum of :math:`t` gradient estimates as the objective
    regularises their mean. (McMahan et al. keep :math:`\lambda` fixed,
    which is a penalty that fades as :math:`1/t` relative to the data.)
    A constant rate is the rule as published; under a decaying schedule each
    update uses the rate of its step. The first update starts :math:`z`
    at the starting weights (``coef_init``, a warm start).

    Parameters
    ----------
    beta : float, default=1.0
        Added to :math:`\sqrt{n}` in each coordinate's denominator: the
        per-coordinate rate starts at :math:`\eta / \beta`.

    References
    ----------
    H. B. McMahan et al., "Ad click prediction: a view from the trenches",
    KDD 2013 (Algorithm 1).

    Examples
    --------
    >>> import numpy as np
    >>> from skgd.optimizers import FTRL
    >>> opt = FTRL(beta=1.0)
    >>> state = opt.init([np.zeros(2)])
    >>> steps, state = opt.update(
    ...     [np.array([2.0, 0.1])], state, lr=0.5, penalties=[(0.5, 0.0)]
    ... )
    >>> steps[0]  # the second coordinate's |z| is within lambda_1: zero
    array([-0.25,  0.  ])
    """

    _parameter_constraints = {"beta": [Interval(Real, 0, None, closed="neither")]}
    _kernel = KernelSpec("FTRL", params=("beta",), slots=("z", "n"), counter="count")
    proximal = True
    lazy = True  # by construction: its weights are a function of its state

    def __init__(self, beta=1.0):
        self.beta = beta

    def init(self, params):
        # z such that the weights are ``params`` at rate 1: the first update
        # re-centres it at its own rate (see update).
        return {
            "count": 0,
            "rate": 1.0,
            "z": [
                (-self.beta * np.asarray(p, dtype=float)).astype(p.dtype)
                for p in params
            ],
            "n": _zeros_like(params),
        }

    def weights(self, z, n, rate, l1, l2):
        """The weights of the state ``(z, n)`` for penalty strengths ``l1``,
        ``l2`` (already multiplied by the step count) at rate ``rate``."""
        shrunk = np.sign(z) * np.maximum(np.abs(z) - l1, 0.0)
        return -shrunk / ((self.beta + np.sqrt(n)) * (1.0 / rate) + l2)

    def update(self, grads, state, lr, penalties=None):
        """As :meth:`Optimizer.update`; ``penalties`` holds one ``(l1, l2)``
        pair of per-step strengths per parameter array (None: unpenalised)."""
        penalties = penalties or [(0.0, 0.0)] * len(grads)
        count = state["count"]
        steps = []
        for z, n, g, (l1, l2) in zip(state["z"], state["n"], grads, penalties):
            w = self.weights(z, n, state["rate"], count * l1, count * l2)
            if count == 0:
                z[...] = -(self.beta / lr) * w
            z[...] = z + g - (np.sqrt(n + g * g) - np.sqrt(n)) * (1.0 / lr) * w
            n[...] = n + g * g
            new = self.weights(z, n, lr, (count + 1) * l1, (count + 1) * l2)
            steps.append((new - w).astype(g.dtype, copy=False))
        state["count"] = count + 1
        state["rate"] = float(lr)
        return steps, state


_OPTIMIZERS = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "rmsprop": RMSProp,
    "adam": Adam,
    "saga": SAGA,
    "svrg": SVRG,
    "ftrl": FTRL,
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
