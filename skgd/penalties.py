r"""Penalties (regularisers) on the coefficients.

The objective adds :math:`\alpha R(W)` to the mean loss; the intercept is
never penalised. Every built-in penalty is a mix of the two classic ones,

.. math:: R(W) = \frac{\lambda_2}{2} \lVert W \rVert_2^2 + \lambda_1 \lVert W \rVert_1,

and training treats the two parts differently: the smooth L2 part is added
to the gradient that the optimizer sees (for plain SGD this is scikit-learn's
multiplicative weight decay), while the L1 part is applied after each step by
the cumulative truncated-gradient method of Tsuruoka et al. (2009), which
scikit-learn's SGDClassifier uses too. Truncation sets coefficients to exactly
zero, which a subgradient step never does.

References
----------
Y. Tsuruoka, J. Tsujii and S. Ananiadou, "Stochastic gradient descent
training for L1-regularized log-linear models with cumulative penalty",
ACL 2009.
"""

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval

from skgd._component import Component, KernelSpec

__all__ = ["Penalty", "L2", "L1", "ElasticNet", "get_penalty"]


class Penalty(Component):
    r"""Base class of penalties mixing an L2 and an L1 part.

    .. math:: R(W) = \frac{\lambda_2}{2}\lVert W\rVert_2^2
              + \lambda_1 \lVert W\rVert_1

    Subclasses define the weights ``l2_weight`` (:math:`\lambda_2`) and
    ``l1_weight`` (:math:`\lambda_1`) as properties. Training then adds the
    L2 part to the gradient and applies the L1 part by cumulative truncation.

    A subclass may instead define another penalty by overriding
    :meth:`value` and :meth:`gradient`. Such a penalty is trained by its
    own :meth:`gradient` (a subgradient step, on the NumPy engine; no
    truncation), and ``l2_weight``/``l1_weight`` are not used: what
    :mod:`skgd.gradient_check` checks is what is trained.
    """

    @property
    def l2_weight(self):
        return 0.0

    @property
    def l1_weight(self):
        return 0.0

    def mixture(self):
        """``(l2_weight, l1_weight)`` if training may use the L2/L1 split.

        None when the class overrides :meth:`value` or :meth:`gradient`: the
        penalty is then its own function, trained through its gradient.
        """
        own = type(self)
        if own.value is not Penalty.value or own.gradient is not Penalty.gradient:
            return None
        return float(self.l2_weight), float(self.l1_weight)

    def value(self, coef):
        """:math:`R(W)` for a coefficient array of any shape."""
        value = 0.0
        if self.l2_weight:
            value += 0.5 * self.l2_weight * float(np.vdot(coef, coef))
        if self.l1_weight:
            value += self.l1_weight * float(np.abs(coef).sum())
        return value

    def gradient(self, coef):
        """A subgradient of :math:`R` (``sign(0) = 0`` for the L1 part)."""
        grad = np.zeros_like(coef)
        if self.l2_weight:
            grad += self.l2_weight * coef
        if self.l1_weight:
            grad += self.l1_weight * np.sign(coef)
        return grad


class L2(Penalty):
    r"""Ridge penalty :math:`R(W) = \tfrac12 \lVert W \rVert_2^2`.

    Examples
    --------
    >>> import numpy as np
    >>> from skgd.penalties import L2
    >>> L2().value(np.array([[3.0, 4.0]]))
    12.5
    """

    _kernel = KernelSpec("MIXTURE", params=("l2_weight", "l1_weight"))

    @property
    def l2_weight(self):
        return 1.0


class L1(Penalty):
    r"""Lasso penalty :math:`R(W) = \lVert W \rVert_1`; gives exact zeros.

    Examples
    --------
    >>> import numpy as np
    >>> from skgd.penalties import L1
    >>> L1().value(np.array([[3.0, -4.0]]))
    7.0
    """

    _kernel = KernelSpec("MIXTURE", params=("l2_weight", "l1_weight"))

    @property
    def l1_weight(self):
        return 1.0


class ElasticNet(Penalty):
    r"""Elastic net, a mix of the two.

    .. math:: R(W) = \frac{1 - \rho}{2}\lVert W\rVert_2^2 + \rho \lVert W\rVert_1

    Parameters
    ----------
    l1_ratio : float, default=0.15
        The mixing parameter :math:`\rho \in [0, 1]`; 0 is L2, 1 is L1.
    """

    _parameter_constraints = {"l1_ratio": [Interval(Real, 0, 1, closed="both")]}
    _kernel = KernelSpec("MIXTURE", params=("l2_weight", "l1_weight"))

    def __init__(self, l1_ratio=0.15):
        self.l1_ratio = l1_ratio

    @property
    def l2_weight(self):
        return 1.0 - self.l1_ratio

    @property
    def l1_weight(self):
        return self.l1_ratio


def get_penalty(penalty, l1_ratio=0.15):
    """Return the penalty object for ``"l2"``, ``"l1"``, ``"elasticnet"``, a
    :class:`Penalty` (returned unchanged) or ``None`` (no penalty).

    Parameters
    ----------
    penalty : {"l2", "l1", "elasticnet"}, Penalty or None
    l1_ratio : float, default=0.15
        Used by ``"elasticnet"``.

    Returns
    -------
    Penalty or None
    """
    if penalty is None or isinstance(penalty, Penalty):
        return penalty
    if penalty == "l2":
        return L2()
    if penalty == "l1":
        return L1()
    if penalty == "elasticnet":
        return ElasticNet(l1_ratio=l1_ratio)
    raise ValueError(
        f"penalty={penalty!r} is not a known penalty; use 'l2', 'l1', 'elasticnet', "
        "None or an instance of skgd.penalties.Penalty."
    )
