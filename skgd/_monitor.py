"""Held-out monitoring: the score of a model on held-out rows, and its record.

Early stopping scores each epoch of a fit on its validation split;
``partial_fit(..., validation_data=...)`` scores each call on the caller's
held-out set and keeps a record across calls (:func:`record_score`). Both
use :func:`accuracy_scorer`.
"""

from sklearn.metrics import accuracy_score

from skgd._objective import linear_scores

#: The attributes a monitored partial_fit stream keeps (fit starts without).
STREAM_ATTRIBUTES = (
    "best_coef_",
    "best_intercept_",
    "n_calls_no_improvement_",
    "stopped_improving_",
)


def accuracy_scorer(X_val, y_val, w_val):
    """``(coef, intercept) -> accuracy`` on held-out rows.

    ``y_val`` holds class indices; ``w_val`` sample weights or None.
    """

    def score(coef, intercept):
        Z = linear_scores(X_val, coef, intercept)
        pred = (Z[:, 0] > 0).astype(int) if Z.shape[1] == 1 else Z.argmax(axis=1)
        return accuracy_score(y_val, pred, sample_weight=w_val)

    return score


def record_score(record, score, coef, intercept, *, tol, n_iter_no_change):
    """The stream's record after a call that scored ``score``.

    ``record`` is the previous record (a dict of the attributes below and
    ``validation_scores_``), or None for the first monitored call. Returns
    the new one: the score history, the best score and its weights (copies),
    the number of calls in a row without beating the best by ``tol`` (the
    rule of fit's early stopping, counted in calls), and whether that reached
    ``n_iter_no_change`` (never with ``tol=None``).
    """
    best = None if record is None else record["best_validation_score_"]
    new = dict(record or {})
    if best is None or score > best:
        new["best_validation_score_"] = score
        new["best_coef_"] = coef.copy()
        new["best_intercept_"] = intercept.copy()
    improved = best is None or tol is None or score >= best + tol
    misses = 0 if improved else record["n_calls_no_improvement_"] + 1
    new["n_calls_no_improvement_"] = misses
    new["stopped_improving_"] = misses >= n_iter_no_change
    new["validation_scores_"] = (
        [] if record is None else record["validation_scores_"]
    ) + [score]
    return new
