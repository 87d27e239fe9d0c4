"""Displays of training, in scikit-learn's style (``from_estimator``,
``plot(ax=...)``, the drawn artists as attributes).

matplotlib is imported when a display draws, not before: install it with
``pip install skgd[plot]``.
"""

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
