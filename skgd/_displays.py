"""Displays of training, in scikit-learn's style (``from_estimator``,
``plot(ax=...)``, the drawn artists as attributes).

matplotlib is imported when a display draws, not before: install it with
``pip install skgd[plot]``.
"""

import numbers

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

#: The x-axes of :class:`LossCurveDisplay`: the fitted attribute each reads
#: (None: the epoch number) and its label.
X_AXES = {
    "epochs": (None, "epoch"),
    "samples": ("samples_curve_", "training rows seen"),
    "seconds": ("time_curve_", "seconds of training"),
}


def _final(estimator):
    """The skgd estimator itself, or the last step of a Pipeline."""
    return estimator[-1] if isinstance(estimator, Pipeline) else estimator


def _name(model):
    """A short label from the parameters that tell descent modes apart."""
    params = model.get_params()
    optimizer = params.get("optimizer")
    optimizer = optimizer if isinstance(optimizer, str) else type(optimizer).__name__
    return f"batch_size={params.get('batch_size')}, optimizer={optimizer}"


class LossCurveDisplay:
    """Training objective of fitted models against epochs, rows seen or time.

    The fair comparison of descent modes is per row seen or per second, not
    per epoch: an epoch of batch 1 makes as many steps as there are rows, an
    epoch of the full batch one. The validation scores (``early_stopping``)
    are drawn on a second y-axis where the models have them.

    Build it with :meth:`from_estimator`; it reads ``loss_curve_``,
    ``samples_curve_``, ``time_curve_`` and ``validation_scores_``.

    Parameters
    ----------
    x_values : list of ndarray
        Each model's x coordinates.
    loss_curves : list of ndarray
        Each model's training objective per epoch.
    validation_scores : list of (ndarray or None)
        Each model's validation score per epoch, or None.
    names : list of str
        Each model's legend label.
    x : {"epochs", "samples", "seconds"}
        What ``x_values`` count, for the axis label.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes of the objective.
    validation_ax_ : matplotlib Axes or None
        The second y-axis of the validation scores, if any model has them.
    figure_ : matplotlib Figure
    lines_ : list of matplotlib Line2D
        The objective's line of each model.
    validation_lines_ : list of (Line2D or None)
        The validation scores' line of each model.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skgd import GDClassifier, LossCurveDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> models = [GDClassifier(batch_size=b, max_iter=5, tol=None, random_state=0)
    ...           .fit(X / 16, y) for b in (1, 32, "full")]
    >>> display = LossCurveDisplay.from_estimator(models, x="samples")
    >>> [len(line.get_xdata()) for line in display.lines_]
    [5, 5, 5]
    """

    def __init__(self, *, x_values, loss_curves, validation_scores, names, x="epochs"):
        self.x_values = x_values
        self.loss_curves = loss_curves
        self.validation_scores = validation_scores
        self.names = names
        self.x = x

    @classmethod
    def from_estimator(cls, estimator, *, x="epochs", names=None, ax=None, log_y=True):
        """The display of one fitted model or several, drawn.

        Parameters
        ----------
        estimator : estimator, Pipeline, or list of them
            Fitted skgd classifiers, or Pipelines that end in one. Several
            are drawn on the same axes: the comparison of descent modes in
            one call.
        x : {"epochs", "samples", "seconds"}, default="epochs"
            The x-axis: the epoch, the training rows seen
            (``samples_curve_``) or the seconds of training
            (``time_curve_``).
        names : list of str, default=None
            Legend labels; by default each model's batch size and optimizer.
        ax : matplotlib Axes, default=None
            Where to draw; a new figure if None.
        log_y : bool, default=True
            A logarithmic y-axis for the objective.

        Returns
        -------
        display : LossCurveDisplay
        """
        if x not in X_AXES:
            raise ValueError(f"x must be one of {sorted(X_AXES)}; got x={x!r}.")
        estimators = (
            list(estimator) if isinstance(estimator, (list, tuple)) else [estimator]
        )
        if not estimators:
            raise ValueError("estimator: give at least one fitted model.")
        models = [_final(e) for e in estimators]
        for model in models:
            check_is_fitted(model, "loss_curve_")
        if names is not None and len(names) != len(models):
            raise ValueError(
                f"names: one per model; got {len(names)} names for {len(models)} "
                "models."
            )
        attribute = X_AXES[x][0]
        x_values = [
            np.arange(1, len(m.loss_curve_) + 1)
            if attribute is None
            else np.asarray(getattr(m, attribute), dtype=float)
            for m in models
        ]
        scores = [
            None
            if getattr(m, "validation_scores_", None) is None
            or len(m.validation_scores_) != len(m.loss_curve_)
            else np.asarray(m.validation_scores_, dtype=float)
            for m in models
        ]
        display = cls(
            x_values=x_values,
            loss_curves=[np.asarray(m.loss_curve_, dtype=float) for m in models],
            validation_scores=scores,
            names=list(names) if names is not None else [_name(m) for m in models],
            x=x,
        )
        return display.plot(ax=ax, log_y=log_y)

    def plot(self, ax=None, *, log_y=True):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure if None.
        log_y : bool, default=True
            A logarithmic y-axis for the objective.

        Returns
        -------
        display : LossCurveDisplay
            This display, with its artists set.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        self.lines_, self.validation_lines_ = [], []
        for xs, curve, name in zip(self.x_values, self.loss_curves, self.names):
            (line,) = ax.plot(xs, curve, marker=".", label=name)
            self.lines_.append(line)
        if log_y and all(np.all(c > 0) for c in self.loss_curves):
            ax.set_yscale("log")
        ax.set_xlabel(X_AXES[self.x][1])
        ax.set_ylabel("training objective")
        self.validation_ax_ = None
        if any(s is not None for s in self.validation_scores):
            self.validation_ax_ = ax.twinx()
            self.validation_ax_.set_ylabel("validation score (dashed)")
        for xs, scores, line in zip(self.x_values, self.validation_scores, self.lines_):
            if scores is None:
                self.validation_lines_.append(None)
                continue
            (dashed,) = self.validation_ax_.plot(
                xs, scores, linestyle="--", color=line.get_color()
            )
            self.validation_lines_.append(dashed)
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self


class LearningRateFinderDisplay:
    """The learning-rate range test: the training objective along a short
    run whose step size grows geometrically, and a suggested ``eta0``.

    A copy of the estimator (the one you pass is not changed) takes
    ``n_steps`` steps of its own batch size and optimizer on random batches
    of ``X``, the ``k``-th with the constant rate
    ``min_rate * (max_rate / min_rate) ** (k / (n_steps - 1))``; each step's
    batch objective, taken just before the step, is smoothed by an
    exponential moving average (weight 0.9 on the past, bias-corrected).
    The run stops early once the smoothed objective exceeds four times its
    best, or training diverges. The suggestion is a tenth of the rate at the
    smoothed minimum: the largest rates that still descend lie just below
    the minimum, and a tenth of it keeps clear of divergence (Smith, "Cyclical
    Learning Rates for Training Neural Networks", 2017). Use it for
    ``learning_rate="constant"`` and as the centre of a grid search's range.

    Build it with :meth:`from_estimator`.

    Parameters
    ----------
    rates : ndarray
        The rate of each step taken.
    losses : ndarray
        The smoothed objective at each step.
    raw_losses : ndarray
        Each step's batch objective.
    suggested_eta0 : float

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    line_ : matplotlib Line2D
        The smoothed objective against the rate.
    suggestion_line_ : matplotlib Line2D
        The vertical line at the suggested rate.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skgd import GDClassifier, LearningRateFinderDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> finder = LearningRateFinderDisplay.from_estimator(
    ...     GDClassifier(loss="softmax", batch_size=32, random_state=0), X / 16, y,
    ...     random_state=0)
    >>> 1e-4 < finder.suggested_eta0 < 1.0
    True
    """

    def __init__(self, *, rates, losses, raw_losses, suggested_eta0):
        self.rates = rates
        self.losses = losses
        self.raw_losses = raw_losses
        self.suggested_eta0 = suggested_eta0

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        min_rate=1e-5,
        max_rate=10.0,
        n_steps=100,
        random_state=None,
        ax=None,
    ):
        """Run the range test on a copy of ``estimator`` and draw it.

        Parameters
        ----------
        estimator : estimator or Pipeline
            An skgd classifier, or a Pipeline that ends in one (its other
            steps are fitted on ``X`` and transform it first). Its batch
            size, optimizer, loss and penalty are the run's; it is cloned,
            not changed.
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        min_rate, max_rate : float, default=1e-5, 10.0
            The rates of the first and of the last step, ``0 < min_rate <
            max_rate``.
        n_steps : int, default=100
            Steps at most, at least 5.
        random_state : int, RandomState instance or None, default=None
            Draws the batches.
        ax : matplotlib Axes, default=None

        Returns
        -------
        display : LearningRateFinderDisplay
        """
        from sklearn.base import clone
        from sklearn.utils import check_random_state

        if not (0 < min_rate < max_rate):
            raise ValueError(
                "min_rate and max_rate must satisfy 0 < min_rate < max_rate; got "
                f"min_rate={min_rate!r}, max_rate={max_rate!r}."
            )
        if int(n_steps) != n_steps or n_steps < 5:
            raise ValueError(f"n_steps must be an integer >= 5; got {n_steps!r}.")
        model = clone(_final(estimator))
        if isinstance(estimator, Pipeline):
            X = clone(estimator[:-1]).fit(X, y).transform(X)
        y = np.asarray(y)
        classes = np.unique(y)
        n = len(y)
        # An integer batch size, or the full batch (batch_size's one string).
        size = model.batch_size
        batch = min(int(size), n) if isinstance(size, numbers.Integral) else n
        model.set_params(
            learning_rate="constant", early_stopping=False, tol=None, verbose=0
        )
        if getattr(model, "_skl_callbacks", None):
            # The range test is not the user's training: its hundred steps
            # are not shown to the estimator's callbacks (a progress line).
            model.set_callbacks()
        rng = check_random_state(random_state)
        rates = min_rate * (max_rate / min_rate) ** (np.arange(n_steps) / (n_steps - 1))
        raw, smooth, average, best = [], [], 0.0, np.inf
        for k, rate in enumerate(rates):
            rows = rng.choice(n, batch, replace=False) if batch < n else slice(None)
            model.set_params(eta0=float(rate))
            try:
                model.partial_fit(X[rows], y[rows], classes=classes)
            except ValueError:  # diverged: the run ends here
                break
            value = model.loss_curve_[-1]
            if not np.isfinite(value):
                break
            raw.append(value)
            average = 0.9 * average + 0.1 * value
            smooth.append(average / (1.0 - 0.9 ** (k + 1)))
            best = min(best, smooth[-1])
            if smooth[-1] > 4.0 * best:
                break
        taken = rates[: len(smooth)]
        suggested = float(taken[int(np.argmin(smooth))] / 10.0) if smooth else min_rate
        display = cls(
            rates=taken,
            losses=np.asarray(smooth),
            raw_losses=np.asarray(raw),
            suggested_eta0=suggested,
        )
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw the smoothed objective against the rate (log scale) and the
        suggested rate.

        Parameters
        ----------
        ax : matplotlib Axes, default=None

        Returns
        -------
        display : LearningRateFinderDisplay
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        (self.line_,) = ax.plot(self.rates, self.losses, label="smoothed objective")
        self.suggestion_line_ = ax.axvline(
            self.suggested_eta0,
            linestyle="--",
            color="gray",
            label=f"suggested eta0 = {self.suggested_eta0:.3g}",
        )
        ax.set_xscale("log")
        ax.set_xlabel("learning rate (eta0)")
        ax.set_ylabel("training objective")
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self
