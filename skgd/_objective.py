r"""The training objective: a loss and a penalty lifted to (coef, intercept).

.. math::

    F(W, b) = \frac{\sum_i w_i\, L(x_i W^\top + b,\ y_i)}{\sum_i w_i}
              + \alpha R(W)

This module is the one definition of that objective: the engine uses
:meth:`Objective.batch_gradient` for its steps and the gradient check uses
:meth:`Objective.data_term` and :meth:`Objective.penalty_term`, so the
function that is checked is the function that is trained.
"""

import numpy as np
from sklearn.utils.extmath import safe_sparse_dot

#: SGDClassifier's bound on a loss derivative in a training step (the exact
#: gradient of :meth:`Objective.data_term` is not clipped).
MAX_DLOSS = 1e12


def _floats(*arrays, like):
    """The arrays a loss returned, integer ones cast to ``like``'s dtype (a
    user's loss may return integer gradients; the engine scales them in
    place)."""
    return tuple(
        a if a.dtype.kind == "f" else a.astype(like.dtype)
        for a in map(np.asarray, arrays)
    )


def well_scaled(weights):
    """``weights`` divided by their largest, if that is so far from 1 that
    sums of them would underflow or overflow in their dtype (beyond the
    square root of its smallest normal number, or of its inverse);
    unchanged otherwise. For weights whose scale does not matter: the
    weighted mean's, so uniform weights of 1e-310 train the unweighted
    model."""
    top = float(np.max(weights)) if np.size(weights) else 0.0
    bound = float(np.finfo(weights.dtype).tiny) ** 0.5
    if top > 0 and not bound <= top <= 1.0 / bound:
        return weights / weights.dtype.type(top)
    return weights


def linear_scores(X, coef, intercept):
    """``X @ coef.T + intercept`` for dense or sparse ``X`` (and ``coef``)."""
    return np.asarray(safe_sparse_dot(X, coef.T, dense_output=True)) + intercept


class Objective:
    """Loss + penalty for a problem with ``n_classes`` classes.

    Parameters
    ----------
    loss : skgd.losses.Loss
    penalty : skgd.penalties.Penalty or None
    alpha : float
    fit_intercept : bool
    n_classes : int
        Number of classes (>= 2). The model has ``n_outputs`` score columns:
        one for two classes, ``n_classes`` otherwise.
    """

    def __init__(self, loss, penalty, alpha, fit_intercept, n_classes):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.n_classes = n_classes
        self.n_outputs = 1 if n_classes == 2 else n_classes

    # -- targets and scores -------------------------------------------------

    def encode(self, y_idx, dtype):
        """Targets in the form the loss takes, from class indices ``y_idx``.

        Multiclass losses take the indices; binary losses take +1/-1 of shape
        ``(n_samples, n_outputs)`` (column j is "class j against the rest",
        and the single column of a two-class problem is class 1).
        """
        y_idx = np.asarray(y_idx, dtype=np.intp)
        if self.loss.multiclass:
            return y_idx
        # Filled in place, in the data's dtype: a boolean mask and a float64
        # array of the same shape on the way would cost 9 bytes per entry on
        # top of float32 targets' 4 (1.3 GB instead of 0.4 GB for 10 000
        # classes of one sample each).
        Y = np.full((len(y_idx), self.n_outputs), -1.0, dtype=dtype)
        if self.n_outputs == 1:
            Y[y_idx == 1, 0] = 1.0
        else:
            Y[np.arange(len(y_idx)), y_idx] = 1.0
        return Y

    def scores(self, coef, intercept, X):
        """Raw scores ``X @ coef.T + intercept``, shape (n_samples, n_outputs).

        ``coef`` is dense here (training state), so a plain matmul serves
        dense and CSR ``X`` alike, without safe_sparse_dot's dispatch cost.
        """
        return X @ coef.T + intercept

    def loss_gradient(self, Y, Z):
        """Per-sample loss, shape (n,), and dLoss/dZ, shaped like ``Z``."""
        loss = self.loss
        if not loss.multiclass:
            values, G = _floats(*loss.loss_gradient(Y, Z), like=Z)
            return values.sum(axis=1), G
        if self.n_outputs == 1:
            # Two classes, one coefficient row: class 0's score is pinned to 0.
            Z2 = np.hstack([np.zeros_like(Z), Z])
            values, G2 = _floats(*loss.loss_gradient(Y, Z2), like=Z)
            return values, G2[:, 1:]
        return _floats(*loss.loss_gradient(Y, Z), like=Z)

    def loss_values(self, Y, Z):
        """Per-sample loss, shape (n,), without its gradient."""
        loss = self.loss
        if not loss.multiclass:
            return loss.loss(Y, Z).sum(axis=1)
        if self.n_outputs == 1:
            Z = np.hstack([np.zeros_like(Z), Z])
        return loss.loss(Y, Z)

    def kinked(self, Y, Z_lo, Z_hi):
        """Rows whose loss has a kink between scores ``Z_lo`` and ``Z_hi``.

        Returns a boolean array of shape (n_samples,), or None if the loss
        does not say where its kinks are.
        """
        loss = self.loss
        if loss.multiclass and self.n_outputs == 1:
            Z_lo = np.hstack([np.zeros_like(Z_lo), Z_lo])
            Z_hi = np.hstack([np.zeros_like(Z_hi), Z_hi])
        kinked = loss.kinked(Y, Z_lo, Z_hi)
        if kinked is None:
            return None
        kinked = np.asarray(kinked, dtype=bool)
        return kinked if kinked.ndim == 1 else kinked.any(axis=1)

    def proba(self, Z):
        """Class probabilities from raw scores, shape (n_samples, n_classes).

        Only for losses that define ``proba``. One-vs-rest probabilities are
        normalised to sum to one (uniform where every column says zero).
        """
        loss = self.loss
        if loss.multiclass:
            if self.n_outputs == 1:
                Z = np.hstack([np.zeros_like(Z), Z])
            return loss.proba(Z)
        P = loss.proba(Z)
        if self.n_outputs == 1:
            return np.hstack([1.0 - P, P])
        total = P.sum(axis=1, keepdims=True)
        empty = total[:, 0] == 0.0
        P[empty] = 1.0
        total[empty] = self.n_classes
        return P / total

    # -- gradients ------------------------------------------------------------

    def lift(self, X, G):
        """Coefficient and intercept gradients from score gradients ``G``."""
        grad_coef = np.asarray(G.T @ X)
        if self.fit_intercept:
            grad_intercept = G.sum(axis=0)
        else:
            grad_intercept = np.zeros(G.shape[1], dtype=G.dtype)
        return grad_coef, grad_intercept

    def batch_gradient(self, coef, intercept, X, Y, scale):
        """Loss values and the scaled data gradient on one batch.

        ``scale`` holds one factor per row (sample weight times the batch's
        normalisation), or one per row and output (one-vs-rest class
        weights: then the loss values are returned per output too); the
        returned gradients are ``sum_i scale_i * dL_i/d(coef, intercept)``,
        each loss derivative clipped at ``MAX_DLOSS`` as SGDClassifier clips
        it (only unbounded losses on unscaled rows come near).
        """
        Z = self.scores(coef, intercept, X)
        if scale.ndim == 2:
            values, G = _floats(*self.loss.loss_gradient(Y, Z), like=Z)
        else:
            values, G = self.loss_gradient(Y, Z)
            scale = scale[:, None]
        # Clipped as SGDClassifier clips it (NaN stays NaN).
        np.clip(G, -MAX_DLOSS, MAX_DLOSS, out=G)
        G *= scale
        return values, *self.lift(X, G)

    def data_term(self, coef, intercept, X, Y, sample_weight):
        """Weighted mean loss: ``(value, grad_coef, grad_intercept)``."""
        Z = self.scores(coef, intercept, X)
        values, G = self.loss_gradient(Y, Z)
        total = sample_weight.sum()
        G *= (sample_weight / total)[:, None]
        return float(values @ sample_weight / total), *self.lift(X, G)

    def data_value(self, coef, intercept, X, Y, sample_weight):
        """Weighted mean loss, without its gradient."""
        values = self.loss_values(Y, self.scores(coef, intercept, X))
        return float(values @ sample_weight / sample_weight.sum())

    def value(self, coef, intercept, X, Y, sample_weight):
        """The whole objective, without its gradient."""
        data = self.data_value(coef, intercept, X, Y, sample_weight)
        return data + self.penalty_value(coef)

    def penalty_parts(self):
        """How training applies the penalty: ``(l2, l1, own)``.

        For a mixture of L2 and L1 (the built-in penalties), ``l2`` and
        ``l1`` are their weights times ``alpha``: the L2 part joins the
        gradient and the L1 part is applied by truncation. A penalty that
        defines its own :meth:`~skgd.penalties.Penalty.value` and
        :meth:`~skgd.penalties.Penalty.gradient` gives ``(0, 0, True)``: it
        is trained through the gradient of :meth:`penalty_term`.
        """
        if self.penalty is None or self.alpha == 0:
            return 0.0, 0.0, False
        mixture = self.penalty.mixture()
        if mixture is None:
            return 0.0, 0.0, True
        l2, l1 = mixture
        return self.alpha * l2, self.alpha * l1, False

    def penalty_value(self, coef):
        """``alpha * R(coef)``; the intercept is never penalised."""
        if self.penalty is None or self.alpha == 0:
            return 0.0
        return self.alpha * self.penalty.value(coef)

    def penalty_term(self, coef):
        """``alpha * R(coef)`` and its (sub)gradient."""
        if self.penalty is None or self.alpha == 0:
            return 0.0, np.zeros_like(coef)
        return self.penalty_value(coef), self.alpha * self.penalty.gradient(coef)

    def value_and_gradient(self, coef, intercept, X, Y, sample_weight):
        """The whole objective: ``(value, grad_coef, grad_intercept)``."""
        value, grad_coef, grad_intercept = self.data_term(
            coef, intercept, X, Y, sample_weight
        )
        pen_value, pen_grad = self.penalty_term(coef)
        return value + pen_value, grad_coef + pen_grad, grad_intercept
