r"""Gradient checking: analytic gradients against centered finite differences.

Training trusts the analytic gradient of its objective; this module checks
it the classic way. For each checked coordinate :math:`i` of the parameters
:math:`x`, the numerical derivative is the centered difference

.. math:: n_i = \frac{f(x + h e_i) - f(x - h e_i)}{2h},

whose truncation error is :math:`O(h^2)` (against :math:`O(h)` for a one-sided
difference) and whose round-off error is about :math:`\varepsilon |f| / h`;
:math:`h = 10^{-5}` in float64 balances the two. The analytic value
:math:`a_i` and :math:`n_i` are compared by their relative error

.. math:: r_i = \frac{|a_i - n_i|}{\max(|a_i|, |n_i|, \text{floor})},

where the floor is the round-off level of the difference itself (so that two
derivatives that are both zero up to round-off are not called different).
Rules of thumb: :math:`r \le 10^{-7}` is what a correct smooth objective gives in
float64; :math:`10^{-7} < r \le 10^{-2}` is suspicious (or a kink);
:math:`r > 10^{-2}` means the gradient is wrong.

**Kinks.** Hinge-type losses, ``max(0, .)`` and the L1 penalty have corners
where the derivative jumps; a stencil :math:`[x - h, x + h]` that straddles one
gives a numerical derivative that is neither side's slope. Such coordinates
are found (exactly for skgd's losses and penalties, numerically otherwise),
reported as *kinked*, and left out of the verdict or judged with a looser
threshold (``kinks="loose"``, :math:`10^{-4}`).

:func:`check_estimator_gradient` checks the very objective an estimator
trains on, built by the same code, and reports the coefficient and intercept
gradients, and the data term and the penalty term, separately, so that a large
penalty gradient cannot hide a wrong data gradient.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_array, check_X_y

from skgd import _plan

__all__ = ["GradientCheckResult", "check_gradient", "check_estimator_gradient"]

#: Relative error a correct smooth objective stays under in float64.
SMOOTH_RTOL = 1e-7
#: Threshold for coordinates whose stencil crosses a kink, with kinks="loose".
KINK_RTOL = 1e-4
#: Above this, a gradient is wrong rather than imprecise.
WRONG = 1e-2

_EPS64 = np.finfo(np.float64).eps
#: Round-off of one objective value, in units of its last place.
_ULPS = 16.0


@dataclass
class _Group:
    """One group of checked coordinates and its verdict."""

    name: str
    idx: np.ndarray  # positions in the result's arrays
    passed: bool
    n_kinked: int
    max_error: float  # over the coordinates that are judged


class GradientCheckResult:
    """The outcome of a gradient check.

    Attributes
    ----------
    names : list of str
        A label for each checked coordinate, e.g. ``"coef[2, 5]"``.
    analytic, numeric : ndarray of shape (n_checked,)
        The two derivatives of each checked coordinate.
    relative_error : ndarray of shape (n_checked,)
        :math:`|a - n| / \\max(|a|, |n|, \\text{floor})`.
    kinked : ndarray of bool, shape (n_checked,)
        Coordinates whose stencil crosses a kink.
    groups : dict of str to dict
        Per group (``"all"`` for :func:`check_gradient`; ``"coef"``,
        ``"intercept"``, ``"data term"``, ``"penalty term"`` for
        :func:`check_estimator_gradient`): its number of coordinates, of
        kinked ones, its largest judged relative error and its verdict.
    passed : bool
        True when every group passes.
    eps, rtol, kink_rtol, kinks
        The settings of the check.
    """

    def __init__(self, rows, groups, *, eps, rtol, kink_rtol, kinks):
        self.names = [r[0] for r in rows]
        self.analytic = np.array([r[1] for r in rows], dtype=float)
        self.numeric = np.array([r[2] for r in rows], dtype=float)
        self.relative_error = np.array([r[3] for r in rows], dtype=float)
        self.kinked = np.array([r[4] for r in rows], dtype=bool)
        self.eps, self.rtol, self.kink_rtol, self.kinks = eps, rtol, kink_rtol, kinks
        self._groups = [self._judge(name, np.asarray(idx, int)) for name, idx in groups]
        self.groups = {
            g.name: {
                "n_checked": len(g.idx),
                "n_kinked": g.n_kinked,
                "max_relative_error": g.max_error,
                "passed": g.passed,
            }
            for g in self._groups
        }
        self.passed = all(g.passed for g in self._groups)

    def _judge(self, name, idx):
        err, kinked = self.relative_error[idx], self.kinked[idx]
        if self.kinks == "skip":
            judged = err[~kinked]
            ok = bool(np.all(judged <= self.rtol))
        else:
            judged = err
            limits = np.where(kinked, self.kink_rtol, self.rtol)
            ok = bool(np.all(err <= limits))
        max_error = float(judged.max()) if judged.size else 0.0
        return _Group(name, idx, ok, int(kinked.sum()), max_error)

    @property
    def max_relative_error(self):
        """The largest relative error over the judged coordinates."""
        return max((g.max_error for g in self._groups), default=0.0)

    def worst(self, k=5, group=None):
        """The ``k`` coordinates with the largest relative errors.

        Returns a list of ``(name, analytic, numeric, relative_error, kinked)``.
        """
        if not (isinstance(k, (int, np.integer)) and k >= 0):
            raise ValueError(f"k must be an int >= 0; got {k!r}.")
        idx = np.arange(len(self.names))
        if group is not None:
            if group not in self.groups:
                raise KeyError(
                    f"No group {group!r} in this result; its groups are "
                    f"{sorted(self.groups)}."
                )
            idx = next(g.idx for g in self._groups if g.name == group)
        order = idx[np.argsort(-self.relative_error[idx], kind="stable")][:k]
        return [
            (
                self.names[i],
                self.analytic[i],
                self.numeric[i],
                self.relative_error[i],
                bool(self.kinked[i]),
            )
            for i in order
        ]

    def assert_passed(self):
        """Raise ``AssertionError`` with the report unless the check passed."""
        if not self.passed:
            raise AssertionError(f"gradient check failed\n{self}")

    def __repr__(self):
        return (
            f"GradientCheckResult(passed={self.passed}, "
            f"max_relative_error={self.max_relative_error:.3g}, "
            f"n_checked={len(self.names)}, n_kinked={int(self.kinked.sum())})"
        )

    def __str__(self):
        policy = "left out" if self.kinks == "skip" else f"judged at {self.kink_rtol:g}"
        lines = [
            f"Gradient check {'PASSED' if self.passed else 'FAILED'}: centered "
            f"differences with h={self.eps:g}, threshold {self.rtol:g} "
            f"(kinked coordinates {policy}; above {WRONG:g} a gradient is wrong)",
            f"{'group':<14} {'checked':>8} {'kinked':>7} {'max rel. error':>15}"
            "  verdict",
        ]
        for g in self._groups:
            verdict = "ok" if g.passed else ("WRONG" if g.max_error > WRONG else "FAIL")
            lines.append(
                f"{g.name:<14} {len(g.idx):>8} {g.n_kinked:>7} {g.max_error:>15.3e}  "
                f"{verdict}"
            )
        width = max([len(n) for n in self.names] + [10])
        lines.append("worst coordinates:")
        lines.append(
            f"  {'coordinate':<{width}} {'analytic':>14} {'numeric':>14} "
            f"{'rel. error':>10}"
        )
        for name, a, n, r, kinked in self.worst(5):
            mark = "  (kinked)" if kinked else ""
            lines.append(f"  {name:<{width}} {a:>14.6e} {n:>14.6e} {r:>10.2e}{mark}")
        return "\n".join(lines)


def _relative_error(a, n, floor):
    return np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)


def _floor(f_plus, f_minus, eps, rtol):
    """The derivative size below which centered differences are round-off.

    Each value of f carries a round-off of a few ulps of |f| (a mean over
    rows plus a penalty is several roundings deep; on CI's BLAS a correct
    softmax objective measured six), so the difference quotient carries an
    absolute error of about _ULPS * eps_machine * |f| / (2h). Derivatives
    smaller than that error divided by the threshold are compared on that
    scale instead of their own.
    """
    noise = _ULPS * _EPS64 * np.maximum(np.abs(f_plus), np.abs(f_minus)) / (2.0 * eps)
    # (rtol=0 asks for exact agreement: the floor is the noise itself, never
    # an infinite one that would pass any gradient.)
    return np.maximum(noise / rtol if rtol > 0 else noise, np.finfo(np.float64).tiny)


def _numeric_kinks(fun, x, coords, eps, f_plus, f_minus):
    """Kinks found from the function alone, by halving the stencil twice.

    For a smooth function the gap between the forward and the backward
    difference is h f'' + O(h^3): it halves, to many digits, with h. Across a
    corner it does not: it stays, or vanishes once the corner leaves the
    stencil. Two halvings leave no corner position that fools both.
    """
    fx = fun(x)
    kinked = np.zeros(len(coords), dtype=bool)
    for k, i in enumerate(coords):
        gaps = [(f_plus[k] - 2.0 * fx + f_minus[k]) / eps]
        for h in (eps / 2, eps / 4):
            e = np.zeros_like(x)
            e[i] = h
            gaps.append((fun(x + e) - 2.0 * fx + fun(x - e)) / h)
        # Round-off of the differences, so that noise is not taken for a corner.
        noise = 64.0 * _EPS64 * max(abs(fx), abs(f_plus[k]), abs(f_minus[k])) / eps
        kinked[k] = any(
            abs(small - big / 2) > 0.01 * abs(big) + noise
            for big, small in zip(gaps, gaps[1:])
        )
    return kinked


def _coordinates(size, n_checks, random_state):
    if n_checks is None or n_checks >= size:
        return np.arange(size)
    rng = check_random_state(random_state)
    return np.sort(rng.choice(size, size=n_checks, replace=False))


def _centered(fun, x, coords, eps):
    plus, minus = np.empty(len(coords)), np.empty(len(coords))
    for k, i in enumerate(coords):
        e = np.zeros_like(x)
        e[i] = eps
        plus[k], minus[k] = fun(x + e), fun(x - e)
    return plus, minus


def _real(value):
    """True for a real number (not a bool, not an array)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _check_settings(eps, kinks, rtol, kink_rtol, n_checks):
    if not (_real(eps) and np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive finite float; got {eps!r}.")
    for name, value in (("rtol", rtol), ("kink_rtol", kink_rtol)):
        if not (_real(value) and np.isfinite(value) and value >= 0):
            raise ValueError(
                f"{name} must be a finite float >= 0 (a relative error); got {value!r}."
            )
    if kinks not in ("skip", "loose"):
        raise ValueError(f"kinks must be 'skip' or 'loose'; got {kinks!r}.")
    if n_checks is not None and not (
        isinstance(n_checks, (int, np.integer))
        and not isinstance(n_checks, (bool, np.bool_))
        and n_checks >= 1
    ):
        raise ValueError(f"n_checks must be a positive int or None; got {n_checks!r}.")


def check_gradient(
    fun,
    x0,
    *,
    grad=None,
    eps=1e-5,
    n_checks=None,
    random_state=None,
    rtol=SMOOTH_RTOL,
    kink_rtol=KINK_RTOL,
    kinks="skip",
):
    """Check the gradient of any function against centered differences.

    Parameters
    ----------
    fun : callable
        ``fun(x)`` returns the value, or ``(value, gradient)`` when ``grad``
        is None.
    x0 : array-like of shape (n,)
        The point. Always evaluated in float64 (float32 input is promoted).
    grad : callable, default=None
        ``grad(x)`` returns the gradient; None means ``fun`` returns it.
    eps : float, default=1e-5
        The step ``h`` of the centered differences.
    n_checks : int, default=None
        Check that many coordinates drawn at random; None checks all.
    random_state : int, RandomState instance or None, default=None
        Draws the coordinates when ``n_checks`` is set.
    rtol : float, default=1e-7
        Largest relative error a passing coordinate may have.
    kink_rtol : float, default=1e-4
        Threshold for kinked coordinates with ``kinks="loose"``.
    kinks : {"skip", "loose"}, default="skip"
        Leave coordinates whose stencil crosses a kink out of the verdict, or
        judge them at ``kink_rtol``. Kinks are found numerically: the gap
        between forward and backward differences halves with ``h`` for a
        smooth function and does not across a corner.

    Returns
    -------
    GradientCheckResult

    Examples
    --------
    >>> import numpy as np
    >>> from skgd.gradient_check import check_gradient
    >>> def f(x):
    ...     return np.sum(np.sin(x)), np.cos(x)
    >>> check_gradient(f, np.array([0.1, 1.0, 2.0])).passed
    True
    >>> check_gradient(lambda x: np.sum(np.sin(x)), np.ones(3),
    ...                grad=lambda x: np.sin(x)).passed
    False
    """
    _check_settings(eps, kinks, rtol, kink_rtol, n_checks)
    if not callable(fun) or not (grad is None or callable(grad)):
        raise TypeError("fun (and grad, if given) must be callables.")
    x = check_array(x0, ensure_2d=False, dtype=np.float64, input_name="x0").ravel()

    def value(z):
        out = fun(z)
        if grad is None:
            out = _value_and_gradient(out)[0]
        return _scalar(out, "fun")

    if grad is None:
        analytic_all = _value_and_gradient(fun(x))[1]
    else:
        analytic_all = grad(x)
    analytic_all = np.asarray(analytic_all, dtype=np.float64).ravel()
    if analytic_all.shape != x.shape:
        raise ValueError(
            f"The gradient has {analytic_all.size} values for a point of {x.size}."
        )
    coords = _coordinates(x.size, n_checks, random_state)
    plus, minus = _centered(value, x, coords, eps)
    numeric = (plus - minus) / (2 * eps)
    analytic = analytic_all[coords]
    error = _relative_error(analytic, numeric, _floor(plus, minus, eps, rtol))
    kinked = _numeric_kinks(value, x, coords, eps, plus, minus)
    rows = [
        (f"x[{i}]", a, n, r, k)
        for i, a, n, r, k in zip(coords, analytic, numeric, error, kinked)
    ]
    return GradientCheckResult(
        rows,
        [("all", range(len(rows)))],
        eps=eps,
        rtol=rtol,
        kink_rtol=kink_rtol,
        kinks=kinks,
    )


def _value_and_gradient(out):
    """``fun``'s ``(value, gradient)``, or a TypeError saying what it gave."""
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(
            "fun must return (value, gradient) when grad is None; got "
            f"{type(out).__name__}. Pass grad=, or return both."
        )
    return out


def _scalar(value, name):
    """A function value as a float, or a TypeError naming ``name``."""
    try:
        return float(np.asarray(value, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must return a scalar value; got {type(value).__name__} "
            f"of shape {np.shape(value)}."
        ) from None


def _estimator_problem(estimator, X, y, sample_weight):
    """The estimator's objective, targets and weights, in float64, untouched."""
    from skgd._classifier import GDClassifier

    if not isinstance(estimator, GDClassifier):
        raise TypeError(
            "check_estimator_gradient checks the objective of a skgd estimator "
            "(GDClassifier, SoftmaxClassifier, MulticlassSVMClassifier); got "
            f"{type(estimator).__name__}. For a Pipeline, pass its last step "
            "and the transformed X; for any other function, use check_gradient."
        )
    params = _plan.parameters(estimator)
    components = _plan.resolve_components(params)
    # The same checks and messages as fit's (which also uses check_X_y).
    X, y = check_X_y(X, y, accept_sparse="csr", dtype=np.float64)
    check_classification_targets(y)
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        classes = np.unique(y)
    unknown = np.setdiff1d(y, classes)
    if unknown.size:
        raise ValueError(
            f"y contains labels {list(unknown)!r} that the fitted estimator does "
            f"not know ({list(classes)!r})."
        )
    if len(classes) < 2:
        raise ValueError("A gradient check needs at least two classes in y.")
    y_idx = np.searchsorted(classes, y)
    if sample_weight is not None:
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
    counts = np.bincount(y_idx, minlength=len(classes))
    class_weights = _plan.class_weights(params["class_weight"], classes, counts)
    weights = _plan.training_weights(class_weights, y_idx, sample_weight, np.float64)
    _plan.check_total_weight(weights.sum())
    objective = _plan.make_objective(params, components, len(classes))
    return objective, X, objective.encode(y_idx, np.float64), weights


def _starting_point(estimator, objective, n_features, coef, intercept, rng):
    shape = (objective.n_outputs, n_features)
    if coef is None and hasattr(estimator, "coef_"):
        fitted = estimator.coef_
        fitted = fitted.toarray() if hasattr(fitted, "toarray") else fitted
        if np.shape(fitted) == shape:
            coef = fitted
            if intercept is None:
                intercept = estimator.intercept_
    if coef is None:
        # Scores of order one, so that the losses are in their interesting range.
        coef = rng.normal(scale=1.0 / np.sqrt(n_features), size=shape)
    if intercept is None:
        intercept = rng.normal(scale=0.5, size=shape[0])
    # fit's checks and messages for coef_init and intercept_init.
    coef, intercept = _plan.initial_weights(
        coef, intercept, shape, np.float64, names=("coef", "intercept")
    )
    if not objective.fit_intercept:
        intercept = np.zeros(shape[0])
    return coef, intercept


def check_estimator_gradient(
    estimator,
    X,
    y,
    *,
    sample_weight=None,
    coef=None,
    intercept=None,
    n_checks=None,
    eps=1e-5,
    random_state=None,
    rtol=SMOOTH_RTOL,
    kink_rtol=KINK_RTOL,
    kinks="skip",
):
    """Check the gradient of the objective an estimator trains on.

    The objective is built by the estimator's own code from its loss
    (built-in or user-defined), penalty, ``alpha``, ``fit_intercept``,
    ``class_weight`` and the given sample weights, exactly as ``fit`` builds
    it:

    .. math:: F(W, b) = \\frac{\\sum_i w_i L(x_i W^\\top + b, y_i)}{\\sum_i w_i}
              + \\alpha R(W).

    (In SGDClassifier's configuration, batch 1 with plain SGD, ``fit``
    weighs as SGDClassifier does: its objective is this one with the data
    term times the mean weight, and with several classes and ``class_weight``
    each one-vs-rest output weighs only its own class's rows by it. The
    check takes the form above; see the user guide's objective page.)

    Parameters
    ----------
    estimator : GDClassifier
        Fitted or not; it is not changed.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Data; converted to float64 (and CSR) whatever its dtype.
    y : array-like of shape (n_samples,)
        Labels (within ``classes_`` if the estimator is fitted).
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights, multiplied by the class weights.
    coef : ndarray of shape (n_outputs, n_features), default=None
        The point. None: the fitted ``coef_`` if its shape fits, else a random
        point drawn with ``random_state``.
    intercept : ndarray of shape (n_outputs,), default=None
        Likewise for the intercept (ignored when ``fit_intercept=False``).
    n_checks : int, default=None
        Check that many coordinates drawn at random; None checks all.
    eps : float, default=1e-5
        The step ``h`` of the centered differences.
    random_state : int, RandomState instance or None, default=None
        Draws the random point and the coordinates.
    rtol : float, default=1e-7
        Largest relative error a passing coordinate may have.
    kink_rtol : float, default=1e-4
        Threshold for kinked coordinates with ``kinks="loose"``.
    kinks : {"skip", "loose"}, default="skip"
        Leave coordinates whose stencil crosses a kink of the loss or of the
        L1 penalty out of the verdict, or judge them at ``kink_rtol``. skgd's
        losses say exactly where their kinks are (``Loss.kinked``); for a
        loss that does not, kinks are found numerically.

    Returns
    -------
    GradientCheckResult
        Groups ``"coef"`` and ``"intercept"`` (the whole objective),
        ``"data term"`` (the weighted mean loss, every coordinate) and
        ``"penalty term"`` (``alpha * R``, the coefficients).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skgd import GDClassifier
    >>> from skgd.gradient_check import check_estimator_gradient
    >>> X, y = load_iris(return_X_y=True)
    >>> result = check_estimator_gradient(GDClassifier(loss="softmax"), X, y,
    ...                                   random_state=0)
    >>> result.passed, result.max_relative_error < 1e-7
    (True, True)
    """
    _check_settings(eps, kinks, rtol, kink_rtol, n_checks)
    rng = check_random_state(random_state)
    objective, X, Y, w = _estimator_problem(estimator, X, y, sample_weight)
    coef, intercept = _starting_point(
        estimator, objective, X.shape[1], coef, intercept, rng
    )
    n_out, n_features = coef.shape
    n_coef = coef.size
    size = n_coef + (n_out if objective.fit_intercept else 0)
    theta = np.concatenate([coef.ravel(), intercept if objective.fit_intercept else []])

    def unpack(t):
        b = t[n_coef:] if objective.fit_intercept else intercept
        return t[:n_coef].reshape(n_out, n_features), b

    def data_value(t):
        c, b = unpack(t)
        values, _ = objective.loss_gradient(Y, objective.scores(c, b, X))
        return float(values @ w / w.sum())

    def penalty_value(t):
        return objective.penalty_value(unpack(t)[0])

    _, data_gc, data_gi = objective.data_term(coef, intercept, X, Y, w)
    _, pen_gc = objective.penalty_term(coef)
    data_grad = np.concatenate(
        [data_gc.ravel(), data_gi if objective.fit_intercept else []]
    )
    pen_grad = np.concatenate([pen_gc.ravel(), np.zeros(size - n_coef)])

    coords = _coordinates(size, n_checks, rng)
    d_plus, d_minus = _centered(data_value, theta, coords, eps)
    p_plus, p_minus = _centered(penalty_value, theta, coords, eps)
    data_num = (d_plus - d_minus) / (2 * eps)
    pen_num = (p_plus - p_minus) / (2 * eps)

    data_kinked = _data_kinks(objective, X, Y, w, coef, intercept, coords, eps)
    if data_kinked is None:
        data_kinked = _numeric_kinks(data_value, theta, coords, eps, d_plus, d_minus)
    pen_kinked = _penalty_kinks(objective, theta, coords, n_coef, eps)

    rows, groups = (
        [],
        {"coef": [], "intercept": [], "data term": [], "penalty term": []},
    )

    def add(group, name, a, n, floor, kinked):
        groups[group].append(len(rows))
        rows.append((name, a, n, float(_relative_error(a, n, floor)), bool(kinked)))

    for k, i in enumerate(coords):
        is_coef = i < n_coef
        if is_coef:
            name = f"coef[{i // n_features}, {i % n_features}]"
        else:
            name = f"intercept[{i - n_coef}]"
        d_floor = _floor(d_plus[k], d_minus[k], eps, rtol)
        p_floor = _floor(p_plus[k], p_minus[k], eps, rtol)
        add(
            "coef" if is_coef else "intercept",
            name,
            data_grad[i] + pen_grad[i],
            data_num[k] + pen_num[k],
            d_floor + p_floor,
            data_kinked[k] or pen_kinked[k],
        )
        add(
            "data term",
            f"{name} (data)",
            data_grad[i],
            data_num[k],
            d_floor,
            data_kinked[k],
        )
        if is_coef:
            add(
                "penalty term",
                f"{name} (penalty)",
                pen_grad[i],
                pen_num[k],
                p_floor,
                pen_kinked[k],
            )
    return GradientCheckResult(
        rows,
        [(name, idx) for name, idx in groups.items() if idx],
        eps=eps,
        rtol=rtol,
        kink_rtol=kink_rtol,
        kinks=kinks,
    )


def _data_kinks(objective, X, Y, w, coef, intercept, coords, eps):
    """Exact kinks of the data term, from the loss's own ``kinked``; or None."""
    Z = objective.scores(coef, intercept, X)
    n_out, n_features = coef.shape
    n_coef = coef.size
    if objective.kinked(Y, Z, Z) is None:
        return None
    active = w > 0  # a zero-weight row contributes nothing, kink or not
    kinked = np.zeros(len(coords), dtype=bool)
    for k, i in enumerate(coords):
        step = np.zeros_like(Z)
        if i < n_coef:
            column = X[:, [i % n_features]]
            column = column.toarray() if hasattr(column, "toarray") else column
            step[:, i // n_features] = eps * np.ravel(column)
        else:
            step[:, i - n_coef] = eps
        rows = objective.kinked(Y, Z - step, Z + step) & active
        kinked[k] = bool(rows.any())
    return kinked


def _penalty_kinks(objective, theta, coords, n_coef, eps):
    """Coefficients within h of 0 straddle the corner of an L1 part."""
    penalty = objective.penalty
    if penalty is None or objective.alpha == 0 or not penalty.l1_weight:
        return np.zeros(len(coords), dtype=bool)
    return np.array([i < n_coef and abs(theta[i]) <= eps for i in coords])
