"""Loss functions on raw scores.

A loss acts on raw scores ``z`` (the decision function) and encoded targets
``y``, and returns the per-sample loss and its derivative with respect to the
scores. The objective (``skgd._objective``) lifts that derivative to the
coefficients, adds sample weights and the penalty; a loss never sees ``X``.

There are two kinds of losses:

* **binary margin losses** (``multiclass = False``): ``y`` holds +1/-1 and
  ``z`` has the same shape; the loss is applied element-wise, so a
  ``(n_samples, n_classes)`` array of scores trains one-vs-rest problems side
  by side. With two classes there is a single column, whose positive class is
  ``classes_[1]``, as in scikit-learn.
* **multiclass losses** (``multiclass = True``): ``y`` holds class indices of
  shape ``(n_samples,)`` and ``z`` has shape ``(n_samples, n_classes)``; the
  loss couples the classes of one sample and returns one value per sample.
  With two classes the objective pins the score of class 0 to zero, which
  turns the model into a single coefficient row, like scikit-learn's binary
  models.

To write your own loss, subclass :class:`BinaryLoss` or
:class:`MulticlassLoss` and implement ``loss`` and ``gradient``; define
``proba`` too if the loss is a probabilistic one. ``skgd.gradient_check``
verifies that the two agree.
"""

from numbers import Real

import numpy as np
from scipy.special import expit, log_softmax, softmax
from sklearn.utils._param_validation import Interval

from skgd._component import Component, KernelSpec

__all__ = [
    "Loss",
    "BinaryLoss",
    "MulticlassLoss",
    "Hinge",
    "SquaredHinge",
    "LogLoss",
    "ModifiedHuber",
    "SquaredError",
    "Huber",
    "EpsilonInsensitive",
    "SquaredEpsilonInsensitive",
    "Softmax",
    "MulticlassHinge",
    "get_loss",
]


class Loss(Component):
    """Base class of all losses.

    Subclasses set the class attribute ``multiclass`` and implement
    :meth:`loss` and :meth:`gradient`. :meth:`loss_gradient` returns both at
    once; override it when the two share work.
    """

    #: False for margin losses applied one-vs-rest, True for joint losses.
    multiclass = False

    #: What ``proba`` computes from the scores, by name, for exporters
    #: that rebuild it (``skgd.onnx``): ``"logistic"`` (the sigmoid of each
    #: score), ``"clipped_linear"`` ((clip(z, -1, 1) + 1) / 2) or
    #: ``"softmax"``; None for losses without probabilities and for a
    #: ``proba`` of your own.
    proba_link = None

    #: True if the slope is +1 or -1 wherever the loss is positive (the hinge
    #: and epsilon-insensitive losses): the losses whose step a
    #: passive-aggressive schedule (``"pa1"``, ``"pa2"``) can size.
    unit_slope = False

    #: An upper bound of the loss's second derivative in the scores (for a
    #: multiclass loss, of its Hessian's largest eigenvalue): the loss's
    #: gradient is Lipschitz with this constant. None for a loss with
    #: corners (hinge...), which a line search cannot treat as smooth.
    curvature = None

    def loss(self, y, z):
        """Loss of each sample (binary: of each sample and column)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement loss(y, z) to be used as a loss."
        )

    def gradient(self, y, z):
        """Derivative of :meth:`loss` with respect to the scores ``z``."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement gradient(y, z) to be used as a loss."
        )

    def loss_gradient(self, y, z):
        """Return ``(loss(y, z), gradient(y, z))``."""
        return self.loss(y, z), self.gradient(y, z)

    def kinked(self, y, z_lo, z_hi):
        """Where the loss is not twice differentiable between two score arrays.

        Optional. Returns a boolean array (shaped like ``z`` for binary losses,
        ``(n_samples,)`` for multiclass ones) that is True where the segment
        from ``z_lo`` to ``z_hi`` crosses a point at which the loss or its
        slope has a corner, which makes centered differences inexact there.
        The default, None, means "unknown"; the gradient check then detects
        kinks numerically.
        """
        return None


class BinaryLoss(Loss):
    r"""Base class of margin losses :math:`L(z, y)` with :math:`y \in \{-1, +1\}`.

    ``loss(y, z)`` and ``gradient(y, z)`` take arrays of the same shape and
    work element-wise; a multiclass problem applies them one-vs-rest, one
    column per class.

    Examples
    --------
    A custom margin loss, the smooth "logistic hinge" :math:`\log(1 + e^{1 - yz})`:

    >>> import numpy as np
    >>> from scipy.special import expit
    >>> from skgd.losses import BinaryLoss
    >>> class LogisticHinge(BinaryLoss):
    ...     def loss(self, y, z):
    ...         return np.logaddexp(0.0, 1.0 - y * z)
    ...     def gradient(self, y, z):
    ...         return -y * expit(1.0 - y * z)
    >>> LogisticHinge().loss(np.array([1.0, -1.0]), np.array([1.0, 1.0]))
    array([0.69314718, 2.12692801])
    """

    multiclass = False


class MulticlassLoss(Loss):
    r"""Base class of losses that couple the scores of all classes of a sample.

    ``loss(y, z)`` takes class indices ``y`` of shape ``(n_samples,)`` and
    scores ``z`` of shape ``(n_samples, n_classes)`` and returns an array of
    shape ``(n_samples,)``; ``gradient(y, z)`` returns an array shaped like
    ``z``.
    """

    multiclass = True


def _margin(y, z):
    return y * z


def _crosses(lo, hi, points):
    """True where the segment [lo, hi] (either order) contains one of ``points``."""
    return np.any([(lo - p) * (hi - p) <= 0 for p in points], axis=0)


def _smooth(y, z_lo, z_hi):
    return np.zeros(np.shape(z_lo), dtype=bool)


class Hinge(BinaryLoss):
    r"""Hinge loss (linear SVM), and the perceptron loss for ``threshold=0``.

    .. math:: L(z, y) = \max(0, \theta - y z)

    Parameters
    ----------
    threshold : float, default=1.0
        The margin :math:`\theta`; 1 gives the SVM hinge, 0 the perceptron.

    Examples
    --------
    >>> import numpy as np
    >>> from skgd.losses import Hinge
    >>> Hinge().loss(np.array([1.0, 1.0]), np.array([0.5, 2.0]))
    array([0.5, 0. ])
    """

    _parameter_constraints = {"threshold": [Interval(Real, 0, None, closed="left")]}
    _kernel = KernelSpec("HINGE", params=("threshold",))
    unit_slope = True

    def __init__(self, threshold=1.0):
        self.threshold = threshold

    def loss(self, y, z):
        return np.maximum(0.0, self.threshold - _margin(y, z))

    def gradient(self, y, z):
        # The subgradient at the kink is taken as -y, as scikit-learn does.
        return np.where(_margin(y, z) <= self.threshold, -y, 0.0).astype(
            z.dtype, copy=False
        )

    def kinked(self, y, z_lo, z_hi):
        return _crosses(y * z_lo, y * z_hi, [self.threshold])


class SquaredHinge(BinaryLoss):
    r"""Squared hinge loss (quadratically penalised SVM).

    .. math:: L(z, y) = \max(0, \theta - y z)^2

    Parameters
    ----------
    threshold : float, default=1.0
        The margin :math:`\theta`.
    """

    _parameter_constraints = {"threshold": [Interval(Real, 0, None, closed="left")]}
    _kernel = KernelSpec("SQUARED_HINGE", params=("threshold",))
    curvature = 2.0

    def __init__(self, threshold=1.0):
        self.threshold = threshold

    def loss(self, y, z):
        return np.maximum(0.0, self.threshold - _margin(y, z)) ** 2

    def gradient(self, y, z):
        return -2.0 * y * np.maximum(0.0, self.threshold - _margin(y, z))

    def kinked(self, y, z_lo, z_hi):
        return _crosses(y * z_lo, y * z_hi, [self.threshold])


class LogLoss(BinaryLoss):
    r"""Logistic loss (logistic regression); probabilistic.

    .. math:: L(z, y) = \log(1 + e^{-y z}), \qquad
              P(y = +1 \mid z) = \sigma(z) = 1 / (1 + e^{-z})

    Computed as ``logaddexp(0, -y z)``, which neither overflows nor loses
    precision for large margins.
    """

    _kernel = KernelSpec("LOG")
    curvature = 0.25
    proba_link = "logistic"

    def loss(self, y, z):
        return np.logaddexp(0.0, -_margin(y, z))

    def gradient(self, y, z):
        return -y * expit(-_margin(y, z))

    def loss_gradient(self, y, z):
        m = _margin(y, z)
        return np.logaddexp(0.0, -m), -y * expit(-m)

    kinked = staticmethod(_smooth)

    def proba(self, z):
        """Probability of the positive class of each column."""
        return expit(z)


class ModifiedHuber(BinaryLoss):
    r"""Modified Huber loss (quadratically smoothed hinge, Zhang 2004).

    .. math::

        L(z, y) = \begin{cases}
            \max(0, 1 - yz)^2 & yz \ge -1 \\
            -4 y z & \text{otherwise}
        \end{cases}

    Gives probability estimates :math:`(\mathrm{clip}(z, -1, 1) + 1) / 2`.
    """

    _kernel = KernelSpec("MODIFIED_HUBER")
    curvature = 2.0
    proba_link = "clipped_linear"

    def loss(self, y, z):
        m = _margin(y, z)
        return np.where(m >= -1.0, np.maximum(0.0, 1.0 - m) ** 2, -4.0 * m)

    def gradient(self, y, z):
        m = _margin(y, z)
        return np.where(m >= -1.0, -2.0 * y * np.maximum(0.0, 1.0 - m), -4.0 * y)

    def kinked(self, y, z_lo, z_hi):
        return _crosses(y * z_lo, y * z_hi, [-1.0, 1.0])

    def proba(self, z):
        """Probability of the positive class of each column."""
        return (np.clip(z, -1.0, 1.0) + 1.0) / 2.0


class SquaredError(BinaryLoss):
    r"""Half squared error to the +1/-1 target (least-squares classification).

    .. math:: L(z, y) = \tfrac12 (y - z)^2
    """

    _kernel = KernelSpec("SQUARED_ERROR")
    curvature = 1.0

    def loss(self, y, z):
        return 0.5 * (y - z) ** 2

    def gradient(self, y, z):
        return z - y

    kinked = staticmethod(_smooth)


class Huber(BinaryLoss):
    r"""Huber loss to the +1/-1 target.

    .. math::

        L(z, y) = \begin{cases}
            \tfrac12 r^2 & |r| \le \epsilon \\
            \epsilon |r| - \tfrac12 \epsilon^2 & \text{otherwise}
        \end{cases}, \qquad r = y - z

    Parameters
    ----------
    epsilon : float, default=0.1
        Where the quadratic part turns linear.
    """

    _parameter_constraints = {"epsilon": [Interval(Real, 0, None, closed="left")]}
    _kernel = KernelSpec("HUBER", params=("epsilon",))
    curvature = 1.0

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon

    def loss(self, y, z):
        r = np.abs(y - z)
        eps = float(self.epsilon)
        # (eps * eps, not eps ** 2: beyond 1e154 Python's ** raises an
        # OverflowError where * gives inf, in the branch np.where leaves out.
        # The same bits otherwise: halving is exact.)
        with np.errstate(over="ignore", invalid="ignore"):
            return np.where(r <= eps, 0.5 * r**2, eps * r - 0.5 * eps * eps)

    def gradient(self, y, z):
        return np.clip(z - y, -self.epsilon, self.epsilon)

    def kinked(self, y, z_lo, z_hi):
        return _crosses(z_lo - y, z_hi - y, [-self.epsilon, self.epsilon])


class EpsilonInsensitive(BinaryLoss):
    r"""Epsilon-insensitive loss (as in support vector regression).

    .. math:: L(z, y) = \max(0, |y - z| - \epsilon)

    Parameters
    ----------
    epsilon : float, default=0.1
        Half-width of the zero-loss band.
    """

    _parameter_constraints = {"epsilon": [Interval(Real, 0, None, closed="left")]}
    _kernel = KernelSpec("EPSILON_INSENSITIVE", params=("epsilon",))
    unit_slope = True

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon

    def loss(self, y, z):
        return np.maximum(0.0, np.abs(y - z) - self.epsilon)

    def gradient(self, y, z):
        r = z - y
        return (np.sign(r) * (np.abs(r) > self.epsilon)).astype(z.dtype, copy=False)

    def kinked(self, y, z_lo, z_hi):
        return _crosses(z_lo - y, z_hi - y, [-self.epsilon, self.epsilon])


class SquaredEpsilonInsensitive(BinaryLoss):
    r"""Squared epsilon-insensitive loss.

    .. math:: L(z, y) = \max(0, |y - z| - \epsilon)^2

    Parameters
    ----------
    epsilon : float, default=0.1
        Half-width of the zero-loss band.
    """

    _parameter_constraints = {"epsilon": [Interval(Real, 0, None, closed="left")]}
    _kernel = KernelSpec("SQUARED_EPSILON_INSENSITIVE", params=("epsilon",))
    curvature = 2.0

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon

    def loss(self, y, z):
        return np.maximum(0.0, np.abs(y - z) - self.epsilon) ** 2

    def gradient(self, y, z):
        r = z - y
        return 2.0 * np.sign(r) * np.maximum(0.0, np.abs(r) - self.epsilon)

    def kinked(self, y, z_lo, z_hi):
        return _crosses(z_lo - y, z_hi - y, [-self.epsilon, self.epsilon])


def _take_true(z, y):
    """The score of the true class of each sample, shape (n_samples,)."""
    return np.take_along_axis(z, y[:, None], axis=1)[:, 0]


class Softmax(MulticlassLoss):
    r"""Multinomial cross-entropy (softmax regression); probabilistic.

    .. math::

        L(z, y) = -\log \frac{e^{z_y}}{\sum_j e^{z_j}}
                = \operatorname{logsumexp}(z) - z_y, \qquad
        \frac{\partial L}{\partial z_j} = p_j - [j = y]

    with :math:`p = \operatorname{softmax}(z)`, computed by
    ``scipy.special.log_softmax`` so that large scores cannot overflow.

    Examples
    --------
    >>> import numpy as np
    >>> from skgd.losses import Softmax
    >>> Softmax().loss(np.array([0]), np.array([[0.0, 0.0]]))
    array([0.69314718])
    """

    _kernel = KernelSpec("SOFTMAX")
    curvature = 0.5
    proba_link = "softmax"

    def loss(self, y, z):
        return -_take_true(log_softmax(z, axis=1), y)

    def gradient(self, y, z):
        g = softmax(z, axis=1)
        g[np.arange(z.shape[0]), y] -= 1.0
        return g

    def loss_gradient(self, y, z):
        logp = log_softmax(z, axis=1)
        rows = np.arange(z.shape[0])
        g = np.exp(logp)
        g[rows, y] -= 1.0
        return -logp[rows, y], g

    def proba(self, z):
        """Class probabilities, shape ``(n_samples, n_classes)``."""
        return softmax(z, axis=1)

    def kinked(self, y, z_lo, z_hi):
        return np.zeros(len(y), dtype=bool)


class MulticlassHinge(MulticlassLoss):
    r"""Weston–Watkins multiclass SVM loss.

    .. math::

        L(z, y) = \sum_{j \ne y} \max(0, z_j - z_y + \Delta)

    Its subgradient is +1 on every class :math:`j` whose margin is violated
    and minus their count on the true class.

    Parameters
    ----------
    margin : float, default=1.0
        The required margin :math:`\Delta`.

    Examples
    --------
    >>> import numpy as np
    >>> from skgd.losses import MulticlassHinge
    >>> MulticlassHinge().loss(np.array([0]), np.array([[2.0, 1.5, -1.0]]))
    array([0.5])
    """

    _parameter_constraints = {"margin": [Interval(Real, 0, None, closed="left")]}
    _kernel = KernelSpec("MULTICLASS_HINGE", params=("margin",))

    def __init__(self, margin=1.0):
        self.margin = margin

    def _violations(self, y, z):
        rows = np.arange(z.shape[0])
        margins = z - _take_true(z, y)[:, None] + self.margin
        margins[rows, y] = 0.0
        return rows, margins

    def loss(self, y, z):
        _, margins = self._violations(y, z)
        return np.maximum(0.0, margins).sum(axis=1)

    def gradient(self, y, z):
        return self.loss_gradient(y, z)[1]

    def loss_gradient(self, y, z):
        rows, margins = self._violations(y, z)
        active = margins > 0.0
        g = active.astype(z.dtype)
        g[rows, y] = -active.sum(axis=1)
        return np.maximum(0.0, margins).sum(axis=1), g

    def kinked(self, y, z_lo, z_hi):
        _, lo = self._violations(y, z_lo)
        _, hi = self._violations(y, z_hi)
        rows = np.arange(len(y))
        crossing = lo * hi <= 0
        crossing[rows, y] = False  # the true class's own "margin" is not a term
        return crossing.any(axis=1)


# The names accepted by ``GDClassifier(loss=...)``; ``epsilon`` is passed to
# the losses that take it, as in scikit-learn's SGDClassifier.
_LOSSES = {
    "hinge": lambda eps: Hinge(threshold=1.0),
    "squared_hinge": lambda eps: SquaredHinge(threshold=1.0),
    "perceptron": lambda eps: Hinge(threshold=0.0),
    "log_loss": lambda eps: LogLoss(),
    "modified_huber": lambda eps: ModifiedHuber(),
    "squared_error": lambda eps: SquaredError(),
    "huber": lambda eps: Huber(epsilon=eps),
    "epsilon_insensitive": lambda eps: EpsilonInsensitive(epsilon=eps),
    "squared_epsilon_insensitive": lambda eps: SquaredEpsilonInsensitive(epsilon=eps),
    "softmax": lambda eps: Softmax(),
    "multiclass_hinge": lambda eps: MulticlassHinge(margin=1.0),
}

LOSS_NAMES = tuple(_LOSSES)

#: scikit-learn's ``SGDClassifier.loss_functions``, key for key (its built-in
#: losses): each name's loss class and the parameter the name fixes (the
#: threshold, or the default epsilon, which the estimator's ``epsilon``
#: replaces). ``"softmax"`` and ``"multiclass_hinge"`` are skgd's own.
SGDCLASSIFIER_LOSSES = {
    "hinge": (Hinge, 1.0),
    "squared_hinge": (SquaredHinge, 1.0),
    "perceptron": (Hinge, 0.0),
    "log_loss": (LogLoss,),
    "modified_huber": (ModifiedHuber,),
    "squared_error": (SquaredError,),
    "huber": (Huber, 0.1),
    "epsilon_insensitive": (EpsilonInsensitive, 0.1),
    "squared_epsilon_insensitive": (SquaredEpsilonInsensitive, 0.1),
}


def get_loss(loss, epsilon=0.1):
    """Return the loss object for a name of :data:`LOSS_NAMES` or a :class:`Loss`.

    Parameters
    ----------
    loss : str or Loss
        A registered name or a loss instance, returned unchanged.
    epsilon : float, default=0.1
        Passed to ``"huber"`` and the epsilon-insensitive losses.

    Returns
    -------
    Loss
    """
    if isinstance(loss, Loss):
        return loss
    try:
        return _LOSSES[loss](epsilon)
    except (KeyError, TypeError):
        raise ValueError(
            f"loss={loss!r} is not a known loss; use one of {sorted(_LOSSES)} or "
            "an instance of a subclass of skgd.losses.Loss."
        ) from None
