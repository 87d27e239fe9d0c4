# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled epoch of per-sample SGD for the built-in losses.

One pass over the rows of dense ``X`` in a given order, one update per row:
all one-vs-rest columns at once for the margin losses, the joint scores for
softmax and the multiclass hinge. It performs, operation for operation, the
steps of the NumPy engine (``skgd._engine.Engine.run_epoch``) for
``batch_size=1`` with plain SGD; ``skgd._compiled`` decides when it applies
and holds the integer codes of the components.
"""

from cython cimport floating
from libc.math cimport exp, fabs, log, log1p, pow
from scipy.linalg.cython_blas cimport daxpy, ddot, saxpy, sdot

# Loss codes: keep in step with skgd._compiled.LOSS_CODES.
DEF HINGE = 0
DEF SQUARED_HINGE = 1
DEF LOG = 2
DEF MODIFIED_HUBER = 3
DEF SQUARED_ERROR = 4
DEF HUBER = 5
DEF EPSILON_INSENSITIVE = 6
DEF SQUARED_EPSILON_INSENSITIVE = 7
DEF SOFTMAX = 8
DEF MULTICLASS_HINGE = 9

# Schedule codes: keep in step with skgd._compiled.SCHEDULE_CODES.
DEF CONSTANT = 0
DEF OPTIMAL = 1
DEF INVSCALING = 2


cdef inline double _log1pexp(double x) noexcept nogil:
    """log(1 + e^x) without overflow, as numpy's logaddexp(0, x)."""
    if x > 0:
        return x + log1p(exp(-x))
    return log1p(exp(x))


cdef inline double _expit(double x) noexcept nogil:
    return 1.0 / (1.0 + exp(-x))


cdef inline double _sign(double x) noexcept nogil:
    return (x > 0) - (x < 0)


cdef inline void _loss_grad(
    int code, double p, double y, double z, double *loss, double *grad
) noexcept nogil:
    """Loss and dLoss/dz of one score; ``p`` is the loss's parameter."""
    cdef double m = y * z
    cdef double r
    if code == HINGE:
        loss[0] = p - m if p - m > 0 else 0.0
        grad[0] = -y if m <= p else 0.0
    elif code == SQUARED_HINGE:
        r = p - m if p - m > 0 else 0.0
        loss[0] = r * r
        grad[0] = -2.0 * y * r
    elif code == LOG:
        loss[0] = _log1pexp(-m)
        grad[0] = -y * _expit(-m)
    elif code == MODIFIED_HUBER:
        if m >= -1.0:
            r = 1.0 - m if 1.0 - m > 0 else 0.0
            loss[0] = r * r
            grad[0] = -2.0 * y * r
        else:
            loss[0] = -4.0 * m
            grad[0] = -4.0 * y
    elif code == SQUARED_ERROR:
        loss[0] = 0.5 * (y - z) * (y - z)
        grad[0] = z - y
    elif code == HUBER:
        r = fabs(y - z)
        loss[0] = 0.5 * r * r if r <= p else p * r - 0.5 * p * p
        r = z - y
        grad[0] = p if r > p else (-p if r < -p else r)
    elif code == EPSILON_INSENSITIVE:
        r = fabs(y - z) - p
        loss[0] = r if r > 0 else 0.0
        grad[0] = _sign(z - y) if fabs(z - y) > p else 0.0
    else:  # SQUARED_EPSILON_INSENSITIVE
        r = fabs(y - z) - p
        r = r if r > 0 else 0.0
        loss[0] = r * r
        grad[0] = 2.0 * _sign(z - y) * r


cdef double _multiclass_loss_grad(
    int code, double p, Py_ssize_t y, double[::1] z, double[::1] g
) noexcept nogil:
    """Loss of one sample and its gradient over all the scores ``z`` into ``g``."""
    cdef Py_ssize_t j, n = z.shape[0]
    cdef double top, total, lse, margin, loss = 0.0
    cdef int count = 0
    if code == SOFTMAX:
        top = z[0]
        for j in range(1, n):
            if z[j] > top:
                top = z[j]
        total = 0.0
        for j in range(n):
            total = total + exp(z[j] - top)
        lse = top + log(total)
        for j in range(n):
            g[j] = exp(z[j] - lse)
        g[y] = g[y] - 1.0
        return lse - z[y]
    for j in range(n):  # MULTICLASS_HINGE
        margin = z[j] - z[y] + p
        if j != y and margin > 0.0:
            loss = loss + margin
            g[j] = 1.0
            count = count + 1
        else:
            g[j] = 0.0
    g[y] = -count
    return loss


cdef inline double _dot(int n, const floating *x, int incx, floating *w) noexcept nogil:
    """x . w through BLAS (vectorised; a plain C loop cannot reorder the sum)."""
    cdef int one = 1
    if floating is double:
        return ddot(&n, <double *> x, &incx, w, &one)
    return sdot(&n, <float *> x, &incx, w, &one)


cdef inline void _axpy(int n, double a, const floating *x, int incx, floating *w) noexcept nogil:
    """w += a * x through BLAS."""
    cdef int one = 1
    cdef floating alpha = <floating> a
    if floating is double:
        daxpy(&n, &alpha, <double *> x, &incx, w, &one)
    else:
        saxpy(&n, &alpha, <float *> x, &incx, w, &one)


cdef inline double _rate(
    int code, double t, double eta0, double power_t, double alpha, double t0
) noexcept nogil:
    if code == OPTIMAL:
        return 1.0 / (alpha * (t0 + t - 1.0))
    if code == INVSCALING:
        return eta0 / pow(t, power_t)
    return eta0


def sgd_epoch_dense(
    const floating[:, :] X,
    const floating[:, ::1] Y,
    const Py_ssize_t[::1] y_idx,
    double[::1] scores,
    double[::1] grads,
    const floating[::1] row_scale,
    const floating[::1] sample_weight,
    const Py_ssize_t[::1] order,
    floating[:, ::1] coef,
    floating[::1] intercept,
    int loss_code,
    double loss_param,
    double alpha,
    double l2,
    double l1,
    bint fit_intercept,
    int schedule_code,
    double eta0,
    double power_t,
    double t0,
    double t,
    Py_ssize_t average,
    floating[:, ::1] avg_coef,
    floating[::1] avg_intercept,
    double l1_u,
    floating[:, ::1] l1_q,
):
    """One epoch; returns ``(t, l1_u, data_sum, penalty_sum)``.

    Margin losses read the +1/-1 targets ``Y``; multiclass losses read the
    class indices ``y_idx`` and use ``scores``/``grads`` (one slot per class)
    as scratch space. With two classes a multiclass model has one row, and
    the score of class 0 is pinned to 0.

    ``alpha * (l2 / 2 * |W|^2 + l1 * |W|_1)`` is the penalty (``l2`` and ``l1``
    already include ``alpha``; ``alpha`` itself is for the 'optimal' rate).
    """
    cdef Py_ssize_t n_rows = order.shape[0]
    cdef Py_ssize_t n_out = coef.shape[0]
    cdef Py_ssize_t n_features = coef.shape[1]
    cdef Py_ssize_t k, i, c, j
    cdef double data_sum = 0.0, penalty_sum = 0.0
    cdef double lr, z, loss, g, scale, sq, ab, w, before, kk, loss_row, grad_j
    cdef double dot, xsq, a
    cdef bint penalised = l1 != 0.0 or l2 != 0.0
    cdef bint averaging
    cdef bint multiclass = loss_code >= SOFTMAX
    cdef Py_ssize_t pinned = 1 if multiclass and n_out == 1 else 0
    # Without L1 and averaging, the weights are kept as wscale * coef: the L2
    # decay of a step is one multiplication of wscale, a row whose loss has a
    # zero slope costs no pass over the weights, and the squared norm that the
    # penalty value needs is updated from the dot products (Bottou's trick,
    # as in scikit-learn). Otherwise each step makes one fused pass per row.
    cdef bint scaled = l1 == 0.0 and average == 0
    cdef int nf = <int> n_features
    cdef int incx = <int> (X.strides[1] // sizeof(floating))
    cdef double wscale = 1.0, vsq = 0.0
    if scaled:
        for c in range(n_out):
            for j in range(n_features):
                vsq = vsq + coef[c, j] * coef[c, j]
    with nogil:
        for k in range(n_rows):
            i = order[k]
            lr = _rate(schedule_code, t, eta0, power_t, alpha, t0)
            scale = row_scale[i]
            if l1 != 0.0:
                l1_u = l1_u + lr * l1
            averaging = average > 0 and average <= t
            kk = t - average + 1.0
            loss_row = 0.0
            for c in range(n_out):
                dot = _dot(nf, &X[i, 0], incx, &coef[c, 0])
                grads[n_out + pinned + c] = dot  # kept for the norm update
                z = wscale * dot + intercept[c]
                if multiclass:
                    scores[c + pinned] = z
                else:
                    _loss_grad(loss_code, loss_param, Y[i, c], z, &loss, &g)
                    loss_row += loss
                    grads[c] = g
            if multiclass:
                if pinned:
                    scores[0] = 0.0
                loss_row = _multiclass_loss_grad(
                    loss_code, loss_param, y_idx[i], scores, grads
                )
            data_sum += loss_row * sample_weight[i]
            if scaled:
                if l2 != 0.0:
                    penalty_sum += 0.5 * l2 * (wscale * wscale * vsq)
                    wscale = wscale * (1.0 - lr * l2)
                    if fabs(wscale) < 1e-9:
                        # Fold the scale into the weights before it underflows.
                        for c in range(n_out):
                            for j in range(n_features):
                                coef[c, j] = coef[c, j] * wscale
                        vsq = vsq * wscale * wscale
                        for c in range(n_out):
                            grads[n_out + pinned + c] = grads[n_out + pinned + c] * wscale
                        wscale = 1.0
                for c in range(n_out):
                    g = grads[c + pinned] * scale
                    if g != 0.0:
                        a = -lr * g / wscale
                        _axpy(nf, a, &X[i, 0], incx, &coef[c, 0])
                        xsq = _dot(nf, &X[i, 0], incx, <floating *> &X[i, 0])
                        dot = grads[n_out + pinned + c]
                        vsq = vsq + 2.0 * a * dot + a * a * xsq
                    if fit_intercept:
                        intercept[c] = intercept[c] + (-lr * g)
                t = t + 1.0
                continue
            sq = 0.0
            ab = 0.0
            for c in range(n_out):
                g = grads[c + pinned] * scale
                # One pass per row: the penalty at the weights before the
                # step, the step, the L1 truncation and the running average.
                # Each coordinate's operations are independent of the others,
                # so this is the NumPy engine's sequence of whole-array steps.
                for j in range(n_features):
                    w = coef[c, j]
                    if penalised:
                        sq = sq + w * w
                        ab = ab + fabs(w)
                    grad_j = g * X[i, j] + l2 * w
                    coef[c, j] = w + (-lr * grad_j)
                    if l1 != 0.0:
                        before = coef[c, j]
                        if before > 0:
                            w = before - (l1_u + l1_q[c, j])
                            w = w if w > 0 else 0.0
                        elif before < 0:
                            w = before + (l1_u - l1_q[c, j])
                            w = w if w < 0 else 0.0
                        else:
                            w = before
                        coef[c, j] = w
                        l1_q[c, j] = l1_q[c, j] + (<floating>w - <floating>before)
                    if averaging:
                        avg_coef[c, j] = avg_coef[c, j] + (coef[c, j] - avg_coef[c, j]) / kk
                if fit_intercept:
                    intercept[c] = intercept[c] + (-lr * g)
                if averaging:
                    avg_intercept[c] = avg_intercept[c] + (intercept[c] - avg_intercept[c]) / kk
            if penalised:
                penalty_sum += (0.5 * l2 * sq) + l1 * ab
            t = t + 1.0
    if scaled and wscale != 1.0:
        for c in range(n_out):
            for j in range(n_features):
                coef[c, j] = coef[c, j] * wscale
    return t, l1_u, data_sum, penalty_sum
