# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled epochs for the built-in components.

One entry point, :func:`epoch`: one pass over the rows of ``X`` in a given
order, performing the steps of the NumPy engine
(``skgd._engine.Engine.run_epoch``) in the same order:

* batches of one row with plain SGD or passive-aggressive steps
  (``_row_epoch``): the weights are kept as ``wscale * W`` (Bottou's trick,
  as in scikit-learn), so the L2 decay of a step is one multiplication and
  a step moves only the row's own entries (BLAS on dense rows);
* any other batch and optimizer (``_minibatch_epoch``): the data gradient
  of the batch (dense rows in blocks, in parallel lanes, by pieces that
  stay in cache through ``_dense.h``'s two products;
  CSR rows one by one, over the columns they touch), then one step of the
  optimizer.

The data, the components, the model and the buffers travel as the structs
of ``_fast.pxd``; rows are read through helpers that hide whether ``X`` is
dense or CSR. Sums of loss and penalty are kept per output, so that a call
on a subset of the outputs gives the same numbers as a call on all of them
(``skgd._compiled`` runs groups of one-vs-rest outputs in threads, decides
when a kernel applies and turns the components' declarations into these
arguments).
"""

from cython cimport floating
from cython.parallel cimport prange
import numpy as np

from libc.math cimport exp, expf, fabs, log, log1p, logf, pow, sqrt
from libc.string cimport memcpy, memset
from scipy.linalg.cython_blas cimport daxpy, ddot, saxpy, sdot

cdef extern from *:
    void __builtin_prefetch(const void *addr, ...) noexcept nogil

cdef extern from "_vmath.h":
    void skgd_exp_nonpos_f32(int n, float *x) noexcept nogil
    void skgd_logistic_f32(int n, float *m, float *slope) noexcept nogil
    void skgd_exp_nonpos_f64(int n, double *x) noexcept nogil
    void skgd_logistic_f64(int n, double *m, double *slope) noexcept nogil

cdef extern from "_dense.h":
    void skgd_block_scores_f64(
        int nb, int n_out, int nf, const double *x, int ldx, const double *w, int ldw,
        double *z,
    ) noexcept nogil
    void skgd_block_scores_f32(
        int nb, int n_out, int nf, const float *x, int ldx, const float *w, int ldw,
        float *z,
    ) noexcept nogil
    void skgd_block_gradient_f64(
        int nb, int n_out, int nf, const double *x, int ldx, const double *g,
        double *gr, int ldgr,
    ) noexcept nogil
    void skgd_block_gradient_f32(
        int nb, int n_out, int nf, const float *x, int ldx, const float *g,
        float *gr, int ldgr,
    ) noexcept nogil


# Dense batches of more than one block are split into this many lanes, which
# run in parallel threads; a constant, so results do not depend on threads.
DEF LANES = 2
# How many rows ahead a gathering loop prefetches.
DEF PREFETCH = 4
# SGDClassifier's bound on a loss derivative.
DEF MAX_DLOSS = 1e12


ctypedef fused index_t:
    int
    long

# The +1/-1 target of an output, looked up (a branch on the label would be
# mispredicted half the time: labels come in no predictable order).
cdef double[2] _TARGET
_TARGET[:] = [-1.0, 1.0]


# -- the components' arithmetic ------------------------------------------------


cdef inline double _sign(double x) noexcept nogil:
    return (x > 0) - (x < 0)


cdef inline void _loss_grad(
    int code, double p, double y, double z, double *loss, double *grad, bint single
) noexcept nogil:
    """Loss and dLoss/dz of one score; ``p`` is the loss's parameter.

    ``single``: float32 data, whose exponentials are taken in float32 (twice
    as fast, and as exact as the data and the weights).
    """
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
        # log(1 + e^-m) and its slope from one exponential, e = e^-|m| <= 1.
        r = expf(<float> -fabs(m)) if single else exp(-fabs(m))
        # float32: logf(1 + r) is several times faster than log1pf and off by
        # at most r's rounding (below 6e-8), nothing at float32 precision.
        loss[0] = logf(1.0 + <float> r) if single else log1p(r)
        if m > 0:
            grad[0] = -y * (r / (1.0 + r))
        else:
            loss[0] = loss[0] - m
            grad[0] = -y / (1.0 + r)
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
    int code, double p, Py_ssize_t y, const double *z, Py_ssize_t n, double *g,
    bint single,
) noexcept nogil:
    """Loss of one sample and its gradient over its ``n`` scores ``z`` into ``g``.

    ``single``: float32 data, whose exponentials are taken in float32.
    """
    cdef Py_ssize_t j
    cdef double top, total, lse, margin, loss = 0.0
    cdef int count = 0
    if code == SOFTMAX:
        top = z[0]
        for j in range(1, n):
            if z[j] > top:
                top = z[j]
        total = 0.0
        for j in range(n):
            # At most 1: no overflow.
            g[j] = expf(<float> (z[j] - top)) if single else exp(z[j] - top)
            total = total + g[j]
        lse = top + (logf(<float> total) if single else log(total))
        for j in range(n):
            g[j] = g[j] / total
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


cdef inline void _row_loss(
    const LossSpec *L,
    Py_ssize_t y,
    Py_ssize_t n_out,
    double *scores,
    double *grads,
    double *losses,
    double w,
    double *sums,
    bint single,
) noexcept nogil:
    """dLoss/dz of one row of class ``y`` into ``grads``; adds w * loss to sums.

    Margin losses: one score, target and gradient per output (the target is
    +1 for the output of the row's class and -1 for the others, see
    ``LossSpec.first_class``), the loss per output into ``losses`` (unless
    NULL) and ``sums``. Multiclass losses: a leading slot held at 0 for the class-0
    score of a two-class model (``L.pinned``), the loss into ``sums[0]``.
    """
    cdef Py_ssize_t c
    cdef Py_ssize_t positive = y - L.first_class
    cdef double loss, g
    if L.code >= SOFTMAX:
        if L.pinned:
            scores[0] = 0.0
        sums[0] += w * _multiclass_loss_grad(
            L.code, L.param, y, scores, n_out + L.pinned, grads, single
        )
        return
    for c in range(n_out):
        _loss_grad(L.code, L.param, _TARGET[c == positive], scores[c], &loss, &g, single)
        sums[c] += loss * w
        # Clipped as SGDClassifier clips it (only the unbounded losses, far
        # out, e.g. squared_hinge on unscaled rows, reach it).
        if g > MAX_DLOSS:
            g = MAX_DLOSS
        elif g < -MAX_DLOSS:
            g = -MAX_DLOSS
        grads[c] = g
        if losses != NULL:
            losses[c] = loss


cdef inline double _rate(const ScheduleSpec *S, double t) noexcept nogil:
    """The step size of update ``t`` (passive-aggressive: C, the penalty's)."""
    if S.code == OPTIMAL:
        return 1.0 / (S.p[0] * (S.p[1] + t - 1.0))
    if S.code == INVSCALING:
        return S.p[0] / pow(t, S.p[1])
    return S.p[0]


cdef inline double _passive_aggressive_rate(
    const ScheduleSpec *S, double loss, double xsq
) noexcept nogil:
    """The data step of one output from its loss and the row's squared norm."""
    cdef double r
    if S.p[1] == 1.0:
        if xsq > 0.0:
            r = loss / xsq
            return r if r < S.p[0] else S.p[0]
        # A sample of norm 0 has no direction to move in: no step.
        return 0.0
    return loss / (xsq + 0.5 / S.p[0])


cdef inline double _optimizer_step(
    int code,
    const OptimizerSpec *O,
    double g,
    double lr,
    const Step *s,
    floating *s1,
    floating *s2,
    double *precond,
) noexcept nogil:
    """The step of one coordinate with gradient ``g`` under rule ``code``
    (``O.code``, or a literal where the caller specialises its loop on it);
    updates its state.

    The same arithmetic as ``skgd.optimizers``; ``precond`` (unless NULL)
    receives the per-coordinate factor on ``lr`` of the adaptive rules,
    which scales their L1 truncation.
    """
    cdef double root
    if code == SGD:
        return -lr * g
    if code == MOMENTUM:
        s1[0] = O.p[0] * s1[0] - lr * g
        return s1[0]
    if code == NESTEROV:
        s1[0] = O.p[0] * s1[0] - lr * g
        return O.p[0] * s1[0] - lr * g
    if code == ADAGRAD:
        s1[0] = s1[0] + g * g
        root = sqrt(s1[0]) + O.p[0]
        if precond != NULL:
            precond[0] = 1.0 / root
        return -lr * g / root
    if code == RMSPROP:
        s1[0] = O.p[0] * s1[0] + (1.0 - O.p[0]) * g * g
        root = sqrt(s1[0]) + O.p[1]
        if precond != NULL:
            precond[0] = 1.0 / root
        return -lr * g / root
    # ADAM
    s1[0] = O.p[0] * s1[0] + (1.0 - O.p[0]) * g
    s2[0] = O.p[1] * s2[0] + (1.0 - O.p[1]) * g * g
    root = sqrt(s2[0] / s.v_corr) + O.p[2]
    if precond != NULL:
        precond[0] = 1.0 / root
    return (-lr / s.m_corr) * s1[0] / root


cdef inline double _ftrl_weight(
    double z, double n, double l1, double l2, double rate, double beta
) noexcept nogil:
    """FTRL-Proximal's weight of a coordinate with state ``(z, n)``."""
    return _ftrl_weight_root(z, sqrt(n), l1, l2, 1.0 / rate, beta)


cdef inline double _ftrl_weight_root(
    double z, double root, double l1, double l2, double inverse_rate, double beta
) noexcept nogil:
    """``_ftrl_weight`` from ``sqrt(n)`` and ``1 / rate``."""
    if z > l1:
        return -(z - l1) / ((beta + root) * inverse_rate + l2)
    if z < -l1:
        return -(z + l1) / ((beta + root) * inverse_rate + l2)
    return 0.0


cdef inline double _ftrl_update(
    double g, double inverse, double w, floating *z, floating *n, double l1,
    double l2, double beta,
) noexcept nogil:
    """FTRL's update of a coordinate at weight ``w`` along gradient ``g`` at
    rate ``1 / inverse``; returns its new weight (penalty strengths ``l1``,
    ``l2`` of the new count)."""
    cdef double root = sqrt(n[0]), n_new = n[0] + g * g
    z[0] = z[0] + g - (sqrt(n_new) - root) * inverse * w
    n[0] = <floating> n_new
    # sqrt(n[0]), without reading it back (the same sqrt as above in float64).
    return _ftrl_weight_root(z[0], sqrt(<double> (<floating> n_new)), l1, l2, inverse, beta)


cdef inline double _soft(double w, double threshold) noexcept nogil:
    """Soft thresholding: ``w`` moved towards 0 by ``threshold``, not past it."""
    if w > threshold:
        return w - threshold
    if w < -threshold:
        return w + threshold
    return 0.0


cdef inline floating *_at(floating *array, Py_ssize_t k) noexcept nogil:
    """``&array[k]``, or NULL for an array this configuration does not use."""
    return array + k if array != NULL else NULL


# -- the model: L1 truncation, averaging, the weight scale --------------------


cdef inline double _l1_truncated(double before, double u, floating *q) noexcept nogil:
    """A weight after the cumulative L1 truncation (Tsuruoka et al. 2009).

    ``u`` is the total truncation owed so far and ``q`` what this coordinate
    has paid; the weight moves towards 0 by the difference, never past it,
    and ``q`` records the payment.
    """
    cdef double w = before
    if before > 0:
        w = before - (u + q[0])
        w = w if w > 0 else 0.0
    elif before < 0:
        w = before + (u - q[0])
        w = w if w < 0 else 0.0
    q[0] = q[0] + (<floating> w - <floating> before)
    return w


cdef inline void _average(floating *avg, double value, double kk) noexcept nogil:
    """One more iterate into a running mean (averaged SGD): ``kk`` in all."""
    avg[0] = avg[0] + (value - avg[0]) / kk


cdef void _average_weights(floating *W, const Model *M, double kk) noexcept nogil:
    """The running mean of every weight (as ``wscale * W``)."""
    cdef Py_ssize_t c, j, n_features = M.n_features
    cdef floating *avg = <floating *> M.avg_W
    for c in range(M.n_out):
        for j in range(n_features):
            _average(&avg[c * n_features + j], M.wscale * W[c * M.w0 + j * M.w1], kk)


cdef inline void _fold_scale(floating *W, Model *M) noexcept nogil:
    """Multiply the weights by their scale, which becomes 1; norms anew."""
    cdef Py_ssize_t c, j
    cdef double w
    for c in range(M.n_out):
        M.vsq[c] = 0.0
        M.vabs[c] = 0.0
        for j in range(M.n_features):
            W[c * M.w0 + j * M.w1] = W[c * M.w0 + j * M.w1] * M.wscale
            w = W[c * M.w0 + j * M.w1]
            M.vsq[c] += w * w
            M.vabs[c] += fabs(w)
    M.wscale = 1.0


cdef inline double _decay(double lr_l2) noexcept nogil:
    """Plain SGD's L2 decay factor ``1 - lr * l2``, clamped at 0 as
    SGDClassifier clamps it: a step that large zeroes the weights instead of
    flipping their sign."""
    return 1.0 - lr_l2 if lr_l2 < 1.0 else 0.0


cdef inline void _decay_scale(
    floating *W, Model *M, double factor, double *dots
) noexcept nogil:
    """The L2 decay of a step, as a factor on the scale; folded into the
    weights before it underflows (``dots``, a row's products with W, or
    NULL, follow)."""
    cdef Py_ssize_t c
    cdef double scale
    M.wscale = M.wscale * factor
    if fabs(M.wscale) < 1e-9:
        scale = M.wscale
        _fold_scale(W, M)
        if dots != NULL:
            for c in range(M.n_out):
                dots[c] = dots[c] * scale


cdef void _scaled_norms(const floating *W, Model *M) noexcept nogil:
    """The squared and absolute norms of each output's stored weights."""
    cdef Py_ssize_t c, j
    cdef double w
    for c in range(M.n_out):
        M.vsq[c] = 0.0
        M.vabs[c] = 0.0
        for j in range(M.n_features):
            w = W[c * M.w0 + j * M.w1]
            M.vsq[c] += w * w
            M.vabs[c] += fabs(w)


cdef inline void _scaled_penalty(
    const Model *M, const PenaltySpec *P, Py_ssize_t size, double *sums
) noexcept nogil:
    """Adds ``size`` times the penalty at the scaled weights to ``sums``."""
    cdef Py_ssize_t c
    for c in range(M.n_out):
        sums[c] += size * (
            0.5 * P.l2 * (M.wscale * M.wscale * M.vsq[c])
            + P.l1 * (fabs(M.wscale) * M.vabs[c])
        )


cdef inline void _scaled_update(
    floating *v, double new, floating *q, const PenaltySpec *P, Model *M,
    Py_ssize_t c,
) noexcept nogil:
    """Store ``new`` into a weight of output ``c`` kept as wscale * v: its L1
    truncation first, then the norms."""
    cdef double old = v[0]
    if P.l1 != 0.0:
        new = _l1_truncated(M.wscale * new, M.l1_u, q) / M.wscale
    v[0] = <floating> new
    if P.l1 != 0.0 or P.l2 != 0.0:
        new = v[0]
        M.vsq[c] += new * new - old * old
        M.vabs[c] += fabs(new) - fabs(old)


# -- rows: dense or CSR behind the same helpers ---------------------------------


cdef inline double _dot(
    int n, const floating *x, int incx, const floating *y, int incy
) noexcept nogil:
    """x . y through BLAS (vectorised; a plain C loop cannot reorder the sum)."""
    if floating is double:
        return ddot(&n, <double *> x, &incx, <double *> y, &incy)
    return sdot(&n, <float *> x, &incx, <float *> y, &incy)


cdef inline void _axpy(int n, double a, const floating *x, int incx, floating *w) noexcept nogil:
    """w += a * x through BLAS."""
    cdef int one = 1
    cdef floating alpha = <floating> a
    if floating is double:
        daxpy(&n, &alpha, <double *> x, &incx, w, &one)
    else:
        saxpy(&n, &alpha, <float *> x, &incx, w, &one)


cdef inline double _csr_dots(
    const floating *data, const index_t *indices, Py_ssize_t p, Py_ssize_t end,
    const floating *W, Py_ssize_t w0, Py_ssize_t w1, Py_ssize_t n_out, double *dots,
) noexcept nogil:
    """``dots[c] = x . W[c]`` over the entries ``p:end`` of a CSR row; |x|^2."""
    cdef Py_ssize_t c, j
    cdef double xsq = 0.0, dot = 0.0, dot2 = 0.0
    if n_out == 1:
        # In registers (a store per entry to dots[0] would chain every
        # addition through memory), in two chains: each addition waits for
        # the one before it, and the weights' loads are not the bottleneck.
        while p + 1 < end:
            xsq += data[p] * data[p] + data[p + 1] * data[p + 1]
            dot += data[p] * W[indices[p] * w1]
            dot2 += data[p + 1] * W[indices[p + 1] * w1]
            p = p + 2
        if p < end:
            xsq += data[p] * data[p]
            dot += data[p] * W[indices[p] * w1]
        dots[0] = dot + dot2
        return xsq
    for c in range(n_out):
        dots[c] = 0.0
    # Entries outer, outputs inner: with several outputs W is column-major
    # here (see skgd._compiled), so a column's outputs share a cache line.
    while p < end:
        j = indices[p]
        xsq += data[p] * data[p]
        for c in range(n_out):
            dots[c] += data[p] * W[c * w0 + j * w1]
        p = p + 1
    return xsq


cdef inline double _row_dots(
    const Rows *X, Py_ssize_t i, const floating *W, const Model *M, double *dots
) noexcept nogil:
    """``dots[c] = x_i . W[c]`` for every output; ``|x_i|^2`` for a CSR row
    (free there), -1 for a dense one (see ``_row_sqnorm``)."""
    cdef Py_ssize_t c
    cdef const floating *x
    if X.sparse:
        if X.wide:
            return _csr_dots(
                <const floating *> X.values, <const long *> X.indices,
                (<const long *> X.indptr)[i], (<const long *> X.indptr)[i + 1],
                W, M.w0, M.w1, M.n_out, dots,
            )
        return _csr_dots(
            <const floating *> X.values, <const int *> X.indices,
            (<const int *> X.indptr)[i], (<const int *> X.indptr)[i + 1],
            W, M.w0, M.w1, M.n_out, dots,
        )
    x = <const floating *> X.values + i * X.ld
    for c in range(M.n_out):
        # One BLAS call per output (not one GEMV for all): an output's
        # numbers then do not depend on which outputs share the call, so
        # splitting the outputs over threads changes no bit.
        dots[c] = _dot(<int> X.n_cols, x, <int> X.inc, W + c * M.w0, <int> M.w1)
    return -1.0


cdef inline double _row_sqnorm(const Rows *X, Py_ssize_t i, const floating *W) noexcept nogil:
    """``|x_i|^2`` of a dense row (``W`` gives the type)."""
    cdef const floating *x = <const floating *> X.values + i * X.ld
    return _dot(<int> X.n_cols, x, <int> X.inc, x, <int> X.inc)


cdef inline void _csr_axpy(
    const floating *data, const index_t *indices, Py_ssize_t p, Py_ssize_t end,
    floating *W, const Model *M, const double *moves,
) noexcept nogil:
    """``W[c] += moves[c] * x`` over the entries of a CSR row."""
    cdef Py_ssize_t c, j
    cdef double a
    if M.n_out == 1:
        a = moves[0]
        while p < end:
            W[indices[p] * M.w1] += a * data[p]
            p = p + 1
        return
    while p < end:
        j = indices[p]
        for c in range(M.n_out):
            W[c * M.w0 + j * M.w1] += moves[c] * data[p]
        p = p + 1


cdef inline void _row_axpy(
    const Rows *X, Py_ssize_t i, floating *W, const Model *M, const double *moves
) noexcept nogil:
    """``W[c] += moves[c] * x_i`` for every output."""
    cdef Py_ssize_t c
    cdef const floating *x
    if X.sparse:
        if X.wide:
            _csr_axpy(
                <const floating *> X.values, <const long *> X.indices,
                (<const long *> X.indptr)[i], (<const long *> X.indptr)[i + 1],
                W, M, moves,
            )
        else:
            _csr_axpy(
                <const floating *> X.values, <const int *> X.indices,
                (<const int *> X.indptr)[i], (<const int *> X.indptr)[i + 1],
                W, M, moves,
            )
        return
    x = <const floating *> X.values + i * X.ld
    for c in range(M.n_out):
        if moves[c] != 0.0:
            _axpy(<int> X.n_cols, moves[c], x, <int> X.inc, W + c * M.w0)


cdef inline void _truncating_entry(
    floating *W, Py_ssize_t j, double x, const double *moves, const PenaltySpec *P,
    Model *M,
) noexcept nogil:
    """The step of column ``j`` (row entry ``x``) of every output, truncated."""
    cdef Py_ssize_t c
    cdef floating *Q = <floating *> M.Q
    for c in range(M.n_out):
        _scaled_update(
            &W[c * M.w0 + j * M.w1],
            W[c * M.w0 + j * M.w1] + moves[c] * x,
            &Q[c * M.q0 + j * M.q1], P, M, c,
        )


cdef inline void _csr_truncating(
    const floating *data, const index_t *indices, Py_ssize_t p, Py_ssize_t end,
    floating *W, const double *moves, const PenaltySpec *P, Model *M,
) noexcept nogil:
    while p < end:
        _truncating_entry(W, indices[p], data[p], moves, P, M)
        p = p + 1


cdef void _dense_truncating(
    const floating *x, Py_ssize_t inc, Py_ssize_t n, floating *w, floating *q,
    double wscale, double step, double u, double *vsq, double *vabs,
) noexcept nogil:
    """One output's weights ``wscale * w + step * x``, truncated, stored
    unscaled; their norms, exact."""
    cdef Py_ssize_t j
    cdef double new, sq = 0.0, ab = 0.0
    for j in range(n):
        w[j] = <floating> _l1_truncated(wscale * w[j] + step * x[j * inc], u, &q[j])
        new = w[j]
        sq += new * new
        ab += fabs(new)
    vsq[0] = sq
    vabs[0] = ab


cdef void _row_truncating_update(
    const Rows *X, Py_ssize_t i, floating *W, const double *moves,
    const double *steps, const PenaltySpec *P, Model *M,
) noexcept nogil:
    """The step along x_i with the L1 truncation of every coordinate the row
    touches. A CSR row touches its entries, whose scaled weights move by
    ``moves``. A dense row touches every coordinate: the pass takes the
    ``steps`` and folds the scale into the weights as it goes."""
    cdef Py_ssize_t c
    cdef const floating *x
    if X.sparse:
        if X.wide:
            _csr_truncating(
                <const floating *> X.values, <const long *> X.indices,
                (<const long *> X.indptr)[i], (<const long *> X.indptr)[i + 1],
                W, moves, P, M,
            )
        else:
            _csr_truncating(
                <const floating *> X.values, <const int *> X.indices,
                (<const int *> X.indptr)[i], (<const int *> X.indptr)[i + 1],
                W, moves, P, M,
            )
        return
    x = <const floating *> X.values + i * X.ld
    for c in range(M.n_out):
        _dense_truncating(
            x, X.inc, X.n_cols, W + c * M.w0, <floating *> M.Q + c * M.q0,
            M.wscale, steps[c], M.l1_u, &M.vsq[c], &M.vabs[c],
        )
    M.wscale = 1.0


cdef inline void _csr_prefetch(
    const floating *data, const index_t *indices, const index_t *indptr, Py_ssize_t i
) noexcept nogil:
    """Ask the cache for CSR row ``i`` before it is needed.

    Shuffled rows sit at random places in memory: without this, every row
    starts with cache misses on its indices and values.
    """
    cdef Py_ssize_t p = indptr[i], end = indptr[i + 1], step
    step = 64 // sizeof(index_t)
    while p < end:
        __builtin_prefetch(&indices[p], 0, 0)
        p = p + step
    p = indptr[i]
    step = 64 // sizeof(floating)
    while p < end:
        __builtin_prefetch(&data[p], 0, 0)
        p = p + step


cdef inline void _csr_prefetch_weights(
    const floating *W, Py_ssize_t w1, const index_t *indices, const index_t *indptr,
    Py_ssize_t i,
) noexcept nogil:
    """Ask the cache for the weights of CSR row ``i``'s columns."""
    cdef Py_ssize_t p
    for p in range(indptr[i], indptr[i + 1]):
        __builtin_prefetch(&W[indices[p] * w1])


cdef inline void _prefetch_row(
    const Rows *X, Py_ssize_t i, const floating *W, Py_ssize_t w1, bint weights
) noexcept nogil:
    """Ask the cache for row ``i`` (and, with ``weights``, for the weights of
    a CSR row's columns)."""
    cdef Py_ssize_t j = 0, step = 64 // sizeof(floating)
    cdef const floating *x
    if X.sparse:
        if X.wide:
            if weights:
                _csr_prefetch_weights(
                    W, w1, <const long *> X.indices, <const long *> X.indptr, i
                )
            else:
                _csr_prefetch(
                    <const floating *> X.values, <const long *> X.indices,
                    <const long *> X.indptr, i,
                )
        elif weights:
            _csr_prefetch_weights(W, w1, <const int *> X.indices, <const int *> X.indptr, i)
        else:
            _csr_prefetch(
                <const floating *> X.values, <const int *> X.indices,
                <const int *> X.indptr, i,
            )
        return
    x = <const floating *> X.values + i * X.ld
    while j < X.n_cols:
        __builtin_prefetch(&x[j * X.inc])
        j = j + step


cdef inline void _prefetch_targets(
    const Targets *T, Py_ssize_t i, const floating *W
) noexcept nogil:
    __builtin_prefetch(&(<const floating *> T.row_scale)[i])
    __builtin_prefetch(&(<const floating *> T.weight)[i])
    __builtin_prefetch(&T.y_idx[i])


cdef inline void _prefetch_ahead(
    const Rows *X, const Targets *T, const Py_ssize_t *order, Py_ssize_t k,
    Py_ssize_t n, const floating *W, const Model *M,
) noexcept nogil:
    """Ask the cache for what the rows after ``order[k]`` will need.

    A dense row is fetched one row ahead. CSR rows in a pipeline: the row
    pointers six rows ahead, the row's entries four ahead, then its
    weights (whose columns are known by then) two ahead.
    """
    if not X.sparse:
        if k + 1 < n:
            _prefetch_row(X, order[k + 1], W, M.w1, False)
            _prefetch_targets(T, order[k + 1], W)
        return
    if k + 6 < n:
        if X.wide:
            __builtin_prefetch(&(<const long *> X.indptr)[order[k + 6]])
        else:
            __builtin_prefetch(&(<const int *> X.indptr)[order[k + 6]])
    if k + 4 < n:
        _prefetch_row(X, order[k + 4], W, M.w1, False)
        _prefetch_targets(T, order[k + 4], W)
    if k + 2 < n and M.n_out > 1:
        # One output's weights (8 bytes per column) mostly stay cached;
        # several outputs' do not.
        _prefetch_row(X, order[k + 2], W, M.w1, True)


# -- one update: what every optimizer step shares ---------------------------------


cdef inline void _prepare_step(Step *s, const Components *C, Model *M) noexcept nogil:
    """Adam's bias corrections, the L1 truncation owed, averaging."""
    s.m_corr = 1.0
    s.v_corr = 1.0
    if C.optimizer.code == ADAM:
        M.count = M.count + 1.0
        s.m_corr = 1.0 - pow(C.optimizer.p[0], M.count)
        s.v_corr = 1.0 - pow(C.optimizer.p[1], M.count)
    elif C.optimizer.code == FTRL:
        M.count = M.count + 1.0
    if C.penalty.l1 != 0.0 and C.optimizer.code < ADAGRAD:
        # Adaptive rules owe each coordinate its own (see _coordinate_step).
        M.l1_u = M.l1_u + s.lr * C.penalty.l1
    s.averaging = M.average > 0 and M.average <= M.t
    s.kk = M.t - M.average + 1.0


# -- batches of one row: plain SGD and passive-aggressive steps ------------------


cdef void _row_epoch(
    floating *W,
    const Rows *X_,
    const Targets *T_,
    const Py_ssize_t *order,
    Py_ssize_t n_rows,
    const Components *C_,
    Model *M_,
    Buffers *B_,
    Sums *sums,
) noexcept nogil:
    """One step per row, along the row itself, with the weights as wscale * W.

    The L2 decay of a step multiplies wscale; the data step moves the row's
    entries only (plus, with L1, their truncation, and with averaging the
    running mean of every weight). Passive-aggressive schedules size each
    output's step from its loss and the row's norm; the penalty takes the
    schedule's rate C.
    """
    # Local copies of what stays constant: the compiler may then keep their
    # fields in registers (through pointers, any store might change them).
    cdef Rows Xc = X_[0]
    cdef Targets Tc = T_[0]
    cdef Components Cc = C_[0]
    cdef Model Mc = M_[0]
    cdef Buffers Bc = B_[0]
    cdef const Rows *X = &Xc
    cdef const Targets *T = &Tc
    cdef const Components *C = &Cc
    cdef Model *M = &Mc
    cdef Buffers *B = &Bc
    cdef Py_ssize_t k, i, c, n_out = M.n_out, pinned = C.loss.pinned
    cdef double xsq, scale
    cdef bint moved
    cdef bint penalised = C.penalty.l2 != 0.0 or C.penalty.l1 != 0.0
    cdef bint passive_aggressive = C.schedule.code == PASSIVE_AGGRESSIVE
    cdef floating *b = <floating *> M.b
    cdef floating *avg_b = <floating *> M.avg_b
    cdef const floating *row_scale = <const floating *> T.row_scale
    cdef const floating *weight = <const floating *> T.weight
    cdef Step s
    s.size = 1
    if penalised:
        _scaled_norms(W, M)
    for k in range(n_rows):
        i = order[k]
        _prefetch_ahead(X, T, order, k, n_rows, W, M)
        s.lr = _rate(&C.schedule, M.t)
        if penalised:
            _scaled_penalty(M, &C.penalty, 1, sums.penalty)
        xsq = _row_dots(X, i, W, M, B.dots)
        for c in range(n_out):
            B.scores[c + pinned] = M.wscale * B.dots[c] + b[c]
        _row_loss(
            &C.loss, T.y_idx[i], n_out, B.scores, B.grads, B.losses, weight[i],
            sums.data, floating is float,
        )
        scale = row_scale[i]
        if passive_aggressive and xsq < 0:
            xsq = _row_sqnorm(X, i, W)
        moved = False
        for c in range(n_out):
            # The row's step of output c, unscaled (the intercept's step).
            if passive_aggressive:
                B.steps[c] = -_passive_aggressive_rate(
                    &C.schedule, B.losses[c], xsq
                ) * (B.grads[c + pinned] * scale)
            else:
                B.steps[c] = -s.lr * (B.grads[c + pinned] * scale)
            moved = moved or B.steps[c] != 0.0
        _prepare_step(&s, C, M)
        if C.penalty.l2 != 0.0:
            _decay_scale(W, M, _decay(s.lr * C.penalty.l2), B.dots)
        for c in range(n_out):
            B.moves[c] = B.steps[c] / M.wscale if B.steps[c] != 0.0 else 0.0
        if C.penalty.l1 != 0.0:
            _row_truncating_update(X, i, W, B.moves, B.steps, &C.penalty, M)
        elif moved:
            _row_axpy(X, i, W, M, B.moves)
            if penalised:
                # |v + a x|^2 = |v|^2 + 2a x.v + a^2 |x|^2, from the row's dots.
                if xsq < 0:
                    xsq = _row_sqnorm(X, i, W)
                for c in range(n_out):
                    M.vsq[c] += B.moves[c] * (2.0 * B.dots[c] + B.moves[c] * xsq)
        for c in range(n_out):
            if M.fit_intercept:
                b[c] = b[c] + B.steps[c] * M.intercept_decay
            if s.averaging:
                _average(&avg_b[c], b[c], s.kk)
        if s.averaging:
            _average_weights(W, M, s.kk)
        M.t = M.t + 1.0
    if M.wscale != 1.0:
        _fold_scale(W, M)
    M_[0] = Mc


# -- mini-batches: the data gradient --------------------------------------------


cdef inline void _exp_nonpos(int n, floating *x) noexcept nogil:
    if floating is double:
        skgd_exp_nonpos_f64(n, x)
    else:
        skgd_exp_nonpos_f32(n, x)


cdef inline void _logistic(int n, floating *m, floating *slope) noexcept nogil:
    if floating is double:
        skgd_logistic_f64(n, m, slope)
    else:
        skgd_logistic_f32(n, m, slope)


cdef void _block_loss(
    const LossSpec *L,
    Py_ssize_t nb,
    const Py_ssize_t *rows,
    const Targets *T,
    const Model *M,
    Py_ssize_t size,
    floating *Z,
    floating *G,
    double *lane_b,
    double *sums,
) noexcept nogil:
    """Logistic or softmax loss of a block, its exponentials in SIMD.

    ``Z`` (``nb`` rows of ``n_out`` scores, without intercept) is used as
    scratch; ``G`` receives the scaled score gradients, as ``_dense_lane``
    computes them one row at a time otherwise. The exponentials of the
    whole block go through one vectorised loop (``_vmath.h``) instead of a
    libm call per score.
    """
    cdef Py_ssize_t k, c, i, n_out = M.n_out, n = nb * n_out
    cdef Py_ssize_t positive
    cdef const floating *b = <const floating *> M.b
    cdef const floating *row_scale = <const floating *> T.row_scale
    cdef const floating *weight = <const floating *> T.weight
    cdef floating *z
    cdef floating *g
    cdef floating top, yv
    cdef double total, f, w
    if L.code == LOG:
        for k in range(nb):
            z = Z + k * n_out
            positive = T.y_idx[rows[k]] - L.first_class
            for c in range(n_out):
                yv = 2 * (c == positive) - 1  # +1/-1 without a branch
                z[c] = yv * (z[c] + b[c])
        _logistic(<int> n, Z, G)  # Z: margins -> losses
        for k in range(nb):
            i = rows[k]
            w = weight[i]
            f = row_scale[i] / size
            z = Z + k * n_out
            g = G + k * n_out
            positive = T.y_idx[i] - L.first_class
            for c in range(n_out):
                yv = 2 * (c == positive) - 1
                sums[c] += w * z[c]
                g[c] = yv * g[c] * f
                if M.fit_intercept:
                    lane_b[c] += g[c]
        return
    # SOFTMAX: shift each row by its largest score (exponents <= 0, no
    # overflow), keep the shifted score of the true class in G's first slot
    # until the row's gradient overwrites it.
    for k in range(nb):
        z = Z + k * n_out
        top = z[0] + b[0]
        for c in range(n_out):
            z[c] = z[c] + b[c]
            if z[c] > top:
                top = z[c]
        for c in range(n_out):
            z[c] = z[c] - top
        G[k * n_out] = z[T.y_idx[rows[k]]]
    _exp_nonpos(<int> n, Z)
    for k in range(nb):
        i = rows[k]
        z = Z + k * n_out
        g = G + k * n_out
        total = 0.0
        for c in range(n_out):
            total = total + z[c]
        # log(sum e^(z - top)) - (z_y - top) = logsumexp(z) - z_y
        if floating is float:
            sums[0] += weight[i] * (logf(<float> total) - g[0])
        else:
            sums[0] += weight[i] * (log(total) - g[0])
        f = row_scale[i] / size
        w = f / total
        for c in range(n_out):
            g[c] = z[c] * w
        g[T.y_idx[i]] = g[T.y_idx[i]] - f
        if M.fit_intercept:
            for c in range(n_out):
                lane_b[c] += g[c]


cdef const floating *_piece_rows(
    Py_ssize_t lane, Py_ssize_t p0, Py_ssize_t p1, Py_ssize_t b1, const Rows *X,
    const Targets *T, const Py_ssize_t *order, const Lanes *L, const floating *W,
) noexcept nogil:
    """The rows ``order[p0:p1]`` copied into the lane's buffer, ``L.xb_ld``
    apart from a cache line's start.

    Copied even where they lie in order: the buffer stays in the L1 cache
    for both products, and its rows are aligned. NumPy's large arrays start
    16 bytes past a page, so half of the 32-byte loads from X itself would
    straddle two cache lines (a dense epoch took 1.3x longer that way).
    Rows up to ``b1`` (the block's end) are asked for a few places ahead:
    memory latency outlasts the copy of a row.
    """
    cdef Py_ssize_t k, j, i
    cdef floating *Xb = <floating *> L.Xb + lane * L.xb_step
    cdef const floating *x
    for k in range(p0, p1):
        if k + PREFETCH < b1:
            _prefetch_row(X, order[k + PREFETCH], W, 0, False)
            _prefetch_targets(T, order[k + PREFETCH], W)
        i = order[k]
        x = <const floating *> X.values + i * X.ld
        if X.inc == 1:
            memcpy(&Xb[(k - p0) * L.xb_ld], x, X.n_cols * sizeof(floating))
        else:
            for j in range(X.n_cols):
                Xb[(k - p0) * L.xb_ld + j] = x[j * X.inc]
    return Xb


cdef inline void _block_scores(
    int nb, int n_out, int nf, const floating *x, int ldx, const floating *w, int ldw,
    floating *z,
) noexcept nogil:
    if floating is double:
        skgd_block_scores_f64(nb, n_out, nf, x, ldx, w, ldw, z)
    else:
        skgd_block_scores_f32(nb, n_out, nf, x, ldx, w, ldw, z)


cdef inline void _block_gradient(
    int nb, int n_out, int nf, const floating *x, int ldx, const floating *g,
    floating *gr, int ldgr,
) noexcept nogil:
    if floating is double:
        skgd_block_gradient_f64(nb, n_out, nf, x, ldx, g, gr, ldgr)
    else:
        skgd_block_gradient_f32(nb, n_out, nf, x, ldx, g, gr, ldgr)


cdef void _dense_lane(
    Py_ssize_t lane,
    const Rows *X,
    const Targets *T,
    const Py_ssize_t *order,
    Py_ssize_t start,
    Py_ssize_t stop,
    const LossSpec *loss,
    const Model *M,
    const Lanes *L,
    const floating *W,
) noexcept nogil:
    """Dense rows start:stop of a batch: the blocks of this lane.

    Each block goes by pieces of ``L.piece_rows`` rows, small enough to stay
    in the L1 cache: their scores X_p W^T, their loss and score gradients G,
    then G^T X_p added into the lane's ``GR`` (``_dense.h``), so that a row
    is read from memory once. The intercept gradient and the loss go into
    the lane's ``L.doubles``.
    """
    cdef Py_ssize_t b0, b1, p0, p1, k, i, c, size = stop - start, n_out = M.n_out
    cdef LossSpec spec = loss[0]  # a local copy: its fields stay in registers
    cdef Py_ssize_t pinned = spec.pinned
    cdef bint fit_intercept = M.fit_intercept
    cdef int ld = <int> L.xb_ld
    cdef const floating *rows
    cdef double f, g
    cdef const floating *b = <const floating *> M.b
    cdef const floating *row_scale = <const floating *> T.row_scale
    cdef const floating *weight = <const floating *> T.weight
    cdef floating *Z = <floating *> L.Z + lane * L.z_step
    cdef floating *G = <floating *> L.G + lane * L.z_step
    cdef floating *GR = <floating *> L.GR + lane * L.gr_step
    cdef double *lane_b = L.doubles + lane * L.doubles_step
    cdef double *sums = lane_b + n_out
    cdef double *scores = sums + n_out
    cdef double *grads = scores + n_out + 1
    memset(GR, 0, n_out * ld * sizeof(floating))
    b0 = start + lane * L.block_rows
    while b0 < stop:
        b1 = b0 + L.block_rows if b0 + L.block_rows < stop else stop
        for k in range(b0, b0 + PREFETCH if b0 + PREFETCH < b1 else b1):
            _prefetch_row(X, order[k], W, 0, False)
            _prefetch_targets(T, order[k], W)
        p0 = b0
        while p0 < b1:
            p1 = p0 + L.piece_rows if p0 + L.piece_rows < b1 else b1
            rows = _piece_rows(lane, p0, p1, b1, X, T, order, L, W)
            _block_scores(<int> (p1 - p0), <int> n_out, ld, rows, ld,
                          <const floating *> L.Wp, ld, Z)
            if pinned == 0 and (spec.code == LOG or spec.code == SOFTMAX):
                _block_loss(&spec, p1 - p0, &order[p0], T, M, size, Z, G, lane_b, sums)
            else:
                for k in range(p0, p1):
                    i = order[k]
                    for c in range(n_out):
                        scores[c + pinned] = Z[(k - p0) * n_out + c] + b[c]
                    _row_loss(
                        &spec, T.y_idx[i], n_out, scores, grads, NULL, weight[i],
                        sums, floating is float,
                    )
                    f = row_scale[i] / size
                    for c in range(n_out):
                        g = grads[c + pinned] * f
                        G[(k - p0) * n_out + c] = g
                        if fit_intercept:
                            lane_b[c] += g
            _block_gradient(<int> (p1 - p0), <int> n_out, ld, rows, ld, G, GR, ld)
            p0 = p1
        b0 = b0 + LANES * L.block_rows


cdef void _dense_gradient(
    floating *W,
    const Rows *X,
    const Targets *T,
    const Py_ssize_t *order,
    Py_ssize_t start,
    Py_ssize_t stop,
    const Components *C,
    const Model *M,
    Buffers *B,
    const Lanes *L,
    double *data_sums,
) noexcept nogil:
    """The data gradient of dense rows start:stop into ``B.G``.

    Blocks of rows are dealt to LANES lanes in turn, each with its own
    buffers and partial sums, added in lane order after the batch: the lanes
    run in parallel threads when there is more than one block, and the
    numbers never depend on the number of threads.
    """
    cdef Py_ssize_t lane, c, j, used, n_out = M.n_out, nf = X.n_cols, ld = L.xb_ld
    cdef Py_ssize_t n_blocks = (stop - start + L.block_rows - 1) // L.block_rows
    cdef floating *G = <floating *> B.G
    cdef const floating *GR = <const floating *> L.GR
    cdef floating *Wp = <floating *> L.Wp
    cdef double *lane_sums
    cdef double g
    # The weights in rows as long as the pieces' rows, zeros past nf: the
    # products run over whole vectors, with no remainder one at a time.
    for c in range(n_out):
        for j in range(nf):
            Wp[c * ld + j] = W[c * M.w0 + j * M.w1]
    if n_blocks == 1 or L.n_threads == 1:
        for lane in range(LANES if n_blocks > 1 else 1):
            _dense_lane(lane, X, T, order, start, stop, &C.loss, M, L, W)
    else:
        for lane in prange(LANES, num_threads=L.n_threads, schedule="static"):
            _dense_lane(lane, X, T, order, start, stop, &C.loss, M, L, W)
    used = LANES if n_blocks > 1 else 1
    for c in range(n_out):
        for j in range(nf):
            g = GR[c * ld + j]
            for lane in range(1, used):
                g = g + GR[lane * L.gr_step + c * ld + j]
            G[c * B.g0 + j * B.g1] = g
        for lane in range(used):
            lane_sums = L.doubles + lane * L.doubles_step  # b, then the loss
            B.grad_b[c] += lane_sums[c]
            data_sums[c] += lane_sums[n_out + c]
            lane_sums[c] = 0.0
            lane_sums[n_out + c] = 0.0


cdef inline void _csr_mark_and_add(
    const floating *data, const index_t *indices, Py_ssize_t p, Py_ssize_t end,
    Buffers *B, Py_ssize_t n_out, bint add,
) noexcept nogil:
    """Mark the columns of a CSR row as touched; with ``add``, add the row's
    ``B.steps[c] * x`` (its scaled score gradients) to the data gradient."""
    cdef Py_ssize_t q, c, j
    cdef floating *G = <floating *> B.G
    for q in range(p, end):
        j = indices[q]
        if not B.touched[j]:
            B.touched[j] = 1
            B.cols[B.n_cols] = j
            B.n_cols = B.n_cols + 1
    if add:
        for q in range(p, end):
            j = indices[q]
            for c in range(n_out):
                G[c * B.g0 + j * B.g1] += B.steps[c] * data[q]


# A column's record: an 8-byte header (two ints: the step the column is
# current to, and the last step whose batch touched it), then per output its
# weight, its optimizer state (``Z.slots`` values) and, for batches of
# several rows, its data gradient. ``W`` points at the first weight:
# ``W[c * Z.q0 + j * Z.q1]``, the header 8 bytes before output 0's weight.


cdef inline int *_last(const Lazy *Z, Py_ssize_t j) noexcept nogil:
    """Column ``j``'s header: [0] the step it is current to, [1] its mark."""
    return <int *> (Z.records + j * Z.record_bytes)


cdef void _to_records(const floating *W_, const Model *M, floating *W, const Lazy *Z) noexcept nogil:
    """The weights and optimizer state of each column into its record
    (``W_`` and ``M``: the model's arrays; ``W``: the records' weights)."""
    cdef Py_ssize_t j, c, q, nf = M.n_features
    cdef floating *x
    cdef const floating *state[2]
    state[0] = <const floating *> M.s1
    state[1] = <const floating *> M.s2
    for j in range(nf):
        _last(Z, j)[0] = 0
        _last(Z, j)[1] = -1
        for c in range(M.n_out):
            x = &W[j * Z.q1 + c * Z.q0]
            x[0] = W_[c * M.w0 + j * M.w1]
            for q in range(Z.slots):
                x[1 + q] = state[q][c * nf + j]
            if Z.q0 > 1 + Z.slots:
                x[1 + Z.slots] = 0.0


cdef void _from_records(floating *W_, const Model *M, const floating *W, const Lazy *Z) noexcept nogil:
    """Each column's record back into the weights and optimizer state."""
    cdef Py_ssize_t j, c, q, nf = M.n_features
    cdef const floating *x
    cdef floating *state[2]
    state[0] = <floating *> M.s1
    state[1] = <floating *> M.s2
    for j in range(nf):
        for c in range(M.n_out):
            x = &W[j * Z.q1 + c * Z.q0]
            W_[c * M.w0 + j * M.w1] = x[0]
            for q in range(Z.slots):
                state[q][c * nf + j] = x[1 + q]


cdef inline void _catch_up_entry(
    floating *x, floating *s1, floating *s2, Py_ssize_t a, Py_ssize_t t, int code,
    const Components *C, const Model *M, const Lazy *Z,
) noexcept nogil:
    """One weight ``x`` and its optimizer state ``s1``, ``s2`` from step
    ``a`` to step ``t``: the skipped steps' zero-gradient movement, then
    their L2 decays and L1 thresholds (``skgd._lazy.LazyEpochs.catch_up``).
    ``code`` is the rule's (a constant where the caller specialises)."""
    cdef double w, v, p = 1.0, l1 = C.penalty.l1, l2 = C.penalty.l2
    # Past the point where mu ** gap underflows to 0 the tables are constant:
    # reading only their start keeps them in the cache.
    cdef Py_ssize_t gap = t - a if t - a < Z.n_table else Z.n_table - 1
    if code == FTRL:
        # Its weights are a function of its state, which has not moved.
        x[0] = <floating> _ftrl_weight_root(
            s1[0], sqrt(<double> s2[0]), Z.count * l1, Z.count * l2, Z.inverse_rate,
            C.optimizer.p[0],
        )
        return
    w = x[0]
    if l1 == 0.0:
        pass  # the factor on the rate only scales the L1 threshold
    elif code == ADAGRAD:
        p = 1.0 / (sqrt(<double> s1[0]) + C.optimizer.p[0])
    elif code == RMSPROP:
        p = 1.0 / (sqrt(<double> s1[0]) + C.optimizer.p[1])
    elif code == ADAM:
        p = 1.0 / (sqrt(s2[0] / Z.v_corr) + C.optimizer.p[2])
    if code == MOMENTUM or code == NESTEROV:
        # t - a zero-gradient steps: the weight moves by mu v + mu^2 v...
        v = s1[0]
        w = w + v * Z.movement[gap]
        s1[0] = <floating> (v * Z.powers[gap])
    elif code == RMSPROP:
        s1[0] = <floating> (s1[0] * Z.powers[gap])
    if l2 != 0.0:
        w = w * (Z.P[t] * Z.R[a])
    if l1 != 0.0:
        w = _soft(w, l1 * p * (Z.P[t] * (Z.F[t] - Z.F[a])))
    x[0] = <floating> w


cdef inline void _catch_up(
    floating *W, Py_ssize_t j, const Components *C, Model *M, Lazy *Z
) noexcept nogil:
    """Column ``j``, every output, from its last step to step ``Z.t``."""
    cdef int *last = _last(Z, j)
    cdef Py_ssize_t a = last[0], t = Z.t, c, k
    cdef floating *s1 = <floating *> M.s1
    cdef floating *s2 = <floating *> M.s2
    if a >= t:
        return
    last[0] = <int> t
    for c in range(M.n_out):
        k = c * Z.q0 + j * Z.q1  # the optimizer state's place in the records
        _catch_up_entry(
            &W[c * M.w0 + j * M.w1], _at(s1, k), _at(s2, k), a, t,
            C.optimizer.code, C, M, Z,
        )


cdef void _catch_up_all(
    floating *W, const Components *C, Model *M, Lazy *Z
) noexcept nogil:
    """Every column to step ``Z.t``: O(model), once per epoch (or fold)."""
    cdef Py_ssize_t j
    for j in range(M.n_features):
        _catch_up(W, j, C, M, Z)


cdef inline void _lazy_row(
    floating *W, const index_t *indices, Py_ssize_t p, Py_ssize_t end,
    const Components *C, Model *M, Buffers *B,
) noexcept nogil:
    """Catch a CSR row's columns up; in a batch of several rows, only on a
    column's first mark as touched (one row alone has no repeated column)."""
    cdef Py_ssize_t j
    cdef int *head
    cdef int step = <int> B.lazy.t
    for p in range(p, end):
        j = indices[p]
        if B.lazy.single:
            _catch_up(W, j, C, M, B.lazy)
            continue
        head = _last(B.lazy, j)
        if head[1] != step:
            head[1] = step
            B.cols[B.n_cols] = j
            B.n_cols = B.n_cols + 1
            _catch_up(W, j, C, M, B.lazy)


cdef inline void _step_entry(
    floating *x, floating *s1, floating *s2, double g, const Step *s, double d,
    int code, const Components *C, const Model *M,
) noexcept nogil:
    """One touched weight ``x`` (state ``s1``, ``s2``): the optimizer's step
    along its data gradient ``g``, then the penalty's decay ``d`` and
    threshold (FTRL: its update). ``code`` as for ``_catch_up_entry``."""
    cdef double w, delta, precond = 1.0, l1 = C.penalty.l1
    if code == FTRL:
        x[0] = <floating> _ftrl_update(
            g, s.inverse_lr, x[0], s1, s2, M.count * l1, M.count * C.penalty.l2,
            C.optimizer.p[0],
        )
        return
    # The factor on the rate is only needed for the L1 threshold.
    delta = _optimizer_step(
        code, &C.optimizer, g, s.lr, s, s1, s2, &precond if l1 != 0.0 else NULL
    )
    w = d * x[0] + delta
    if l1 != 0.0:
        w = _soft(w, s.lr * l1 * precond)
    x[0] = <floating> w


cdef inline void _lazy_coordinate(
    floating *W, Py_ssize_t j, Py_ssize_t c, double g, const Step *s, double d,
    const Components *C, Model *M, const Lazy *Z,
) noexcept nogil:
    """Output ``c`` of a touched column ``j``: its step."""
    cdef Py_ssize_t k = c * Z.q0 + j * Z.q1
    _step_entry(
        &W[c * M.w0 + j * M.w1], _at(<floating *> M.s1, k),
        _at(<floating *> M.s2, k), g, s, d, C.optimizer.code, C, M,
    )


cdef inline void _lazy_add(
    floating *W, const floating *data, const index_t *indices, Py_ssize_t p,
    Py_ssize_t end, Buffers *B, Py_ssize_t n_out,
) noexcept nogil:
    """Add a CSR row's ``B.steps[c] * x`` to its columns' gradient slots."""
    cdef Py_ssize_t c, g = 1 + B.lazy.slots
    cdef floating *x
    for p in range(p, end):
        x = &W[indices[p] * B.lazy.q1]
        for c in range(n_out):
            x[c * B.lazy.q0 + g] += B.steps[c] * data[p]


cdef void _lazy_step(
    floating *W, const Step *s, double d, const Components *C, Model *M,
    Buffers *B,
) noexcept nogil:
    """The columns the batch touched take their steps along the gradients
    in their records, and are then current to the next step."""
    cdef Py_ssize_t q, j, c, g = 1 + B.lazy.slots
    cdef floating *x
    for q in range(B.n_cols):
        j = B.cols[q]
        _last(B.lazy, j)[0] = <int> (B.lazy.t + 1)
        for c in range(M.n_out):
            x = &W[c * M.w0 + j * M.w1]
            _lazy_coordinate(W, j, c, x[g], s, d, C, M, B.lazy)
            x[g] = 0.0


cdef inline void _lazy_row_step(
    floating *W, const floating *data, const index_t *indices, Py_ssize_t p,
    Py_ssize_t end, const Step *s, double d, const Components *C, Model *M,
    Buffers *B,
) noexcept nogil:
    """A batch of one row: each of its coordinates steps along ``B.steps[c]
    * x`` (its data gradient) without the batch's gradient buffer."""
    cdef Py_ssize_t j, c
    for p in range(p, end):
        j = indices[p]
        _last(B.lazy, j)[0] = <int> (B.lazy.t + 1)
        for c in range(M.n_out):
            _lazy_coordinate(W, j, c, B.steps[c] * data[p], s, d, C, M, B.lazy)


cdef inline void _lazy_prefetch(
    const floating *W, const index_t *indices, const index_t *indptr,
    Py_ssize_t i, const Model *M,
) noexcept nogil:
    """Ask the cache for the records of a CSR row's columns (weights, state
    and bookkeeping share a record: one line each, see ``_lazy_epoch``)."""
    cdef Py_ssize_t p
    for p in range(indptr[i], indptr[i + 1]):
        __builtin_prefetch(&W[indices[p] * M.w1])


cdef void _csr_gradient(
    floating *W,
    const Rows *X,
    const Targets *T,
    const Py_ssize_t *order,
    Py_ssize_t start,
    Py_ssize_t stop,
    Py_ssize_t n_rows,
    const Components *C,
    const Model *M,
    Buffers *B,
    double *data_sums,
) noexcept nogil:
    """The data gradient of CSR rows start:stop, row by row.

    Into ``B.G`` over the columns the batch touches (marked); with replay,
    only each row's scaled score gradients into ``B.Gs``.
    """
    cdef Py_ssize_t k, i, c, n_out = M.n_out, pinned = C.loss.pinned
    cdef Py_ssize_t size = stop - start
    cdef double f
    cdef bint nonzero
    cdef const floating *b = <const floating *> M.b
    cdef const floating *row_scale = <const floating *> T.row_scale
    cdef const floating *weight = <const floating *> T.weight
    for k in range(start, stop):
        _prefetch_ahead(X, T, order, k, n_rows, W, M)
        i = order[k]
        if B.lazy != NULL:
            # The row's columns, caught up (and marked) before they are read.
            if k + 3 < n_rows and X.wide:
                _lazy_prefetch(
                    W, <const long *> X.indices, <const long *> X.indptr,
                    order[k + 3], M,
                )
            elif k + 3 < n_rows:
                _lazy_prefetch(
                    W, <const int *> X.indices, <const int *> X.indptr,
                    order[k + 3], M,
                )
            if X.wide:
                _lazy_row(
                    W, <const long *> X.indices, (<const long *> X.indptr)[i],
                    (<const long *> X.indptr)[i + 1], C, M, B,
                )
            else:
                _lazy_row(
                    W, <const int *> X.indices, (<const int *> X.indptr)[i],
                    (<const int *> X.indptr)[i + 1], C, M, B,
                )
        _row_dots(X, i, W, M, B.dots)
        for c in range(n_out):
            B.scores[c + pinned] = M.wscale * B.dots[c] + b[c]
        _row_loss(
            &C.loss, T.y_idx[i], n_out, B.scores, B.grads, NULL, weight[i],
            data_sums, floating is float,
        )
        f = row_scale[i] / size
        nonzero = False
        for c in range(n_out):
            B.steps[c] = B.grads[c + pinned] * f  # now the row's G
            nonzero = nonzero or B.steps[c] != 0.0
            if M.fit_intercept:
                B.grad_b[c] += B.steps[c]
            if B.replay:
                B.Gs[(k - start) * n_out + c] = B.steps[c]
        if B.replay or (B.lazy != NULL and B.lazy.single):
            continue
        if B.lazy != NULL:
            if not nonzero:
                continue
            if X.wide:
                _lazy_add(
                    W, <const floating *> X.values, <const long *> X.indices,
                    (<const long *> X.indptr)[i], (<const long *> X.indptr)[i + 1],
                    B, n_out,
                )
            else:
                _lazy_add(
                    W, <const floating *> X.values, <const int *> X.indices,
                    (<const int *> X.indptr)[i], (<const int *> X.indptr)[i + 1],
                    B, n_out,
                )
            continue
        if X.wide:
            _csr_mark_and_add(
                <const floating *> X.values, <const long *> X.indices,
                (<const long *> X.indptr)[i], (<const long *> X.indptr)[i + 1],
                B, n_out, nonzero,
            )
        else:
            _csr_mark_and_add(
                <const floating *> X.values, <const int *> X.indices,
                (<const int *> X.indptr)[i], (<const int *> X.indptr)[i + 1],
                B, n_out, nonzero,
            )


cdef inline void _batch_gradient(
    floating *W,
    const Rows *X,
    const Targets *T,
    const Py_ssize_t *order,
    Py_ssize_t start,
    Py_ssize_t stop,
    Py_ssize_t n_rows,
    const Components *C,
    const Model *M,
    Buffers *B,
    const Lanes *L,
    double *data_sums,
) noexcept nogil:
    """The data gradient of the batch ``order[start:stop]``."""
    if X.sparse:
        _csr_gradient(W, X, T, order, start, stop, n_rows, C, M, B, data_sums)
    else:
        _dense_gradient(W, X, T, order, start, stop, C, M, B, L, data_sums)


# -- mini-batches: the step ------------------------------------------------------


cdef inline void _csr_replay_row(
    const floating *data, const index_t *indices, Py_ssize_t p, Py_ssize_t end,
    floating *W, Model *M, const double *d, bint penalised,
) noexcept nogil:
    """``W[c] += d[c] * x`` over a CSR row's entries, the norms kept."""
    cdef Py_ssize_t c, j
    cdef double old, w, acc
    if M.n_out == 1 and not penalised:
        while p < end:
            W[indices[p] * M.w1] += d[0] * data[p]
            p = p + 1
    elif M.n_out == 1:
        acc = 0.0  # in a register: see _csr_dots
        while p < end:
            j = indices[p] * M.w1
            old = W[j]
            W[j] = <floating> (old + d[0] * data[p])
            acc += W[j] * W[j] - old * old
            p = p + 1
        M.vsq[0] += acc
    else:
        while p < end:
            j = indices[p]
            for c in range(M.n_out):
                old = W[c * M.w0 + j * M.w1]
                W[c * M.w0 + j * M.w1] = <floating> (old + d[c] * data[p])
                if penalised:
                    w = W[c * M.w0 + j * M.w1]
                    M.vsq[c] += w * w - old * old
            p = p + 1


cdef void _replay(
    floating *W,
    const Rows *X,
    const Py_ssize_t *order,
    Py_ssize_t start,
    Py_ssize_t stop,
    double a,
    bint penalised,
    Model *M,
    Buffers *B,
) noexcept nogil:
    """The step of plain SGD without L1 on CSR rows: each row of the batch
    again, ``W += a * G_row x`` (the same step as summing the gradient over
    the union of the rows' columns, without marking them)."""
    cdef Py_ssize_t k, i, c, n_out = M.n_out
    cdef bint nonzero
    for k in range(start, stop):
        # Rows a batch ago are out of the cache by now: fetch entries four
        # rows ahead and weights two ahead.
        if k + 4 < stop:
            _prefetch_row(X, order[k + 4], W, M.w1, False)
        if k + 2 < stop and n_out > 1:
            _prefetch_row(X, order[k + 2], W, M.w1, True)
        i = order[k]
        nonzero = False
        for c in range(n_out):
            B.dots[c] = a * B.Gs[(k - start) * n_out + c]
            nonzero = nonzero or B.dots[c] != 0.0
        if not nonzero:
            continue
        if X.wide:
            _csr_replay_row(
                <const floating *> X.values, <const long *> X.indices,
                (<const long *> X.indptr)[i], (<const long *> X.indptr)[i + 1],
                W, M, B.dots, penalised,
            )
        else:
            _csr_replay_row(
                <const floating *> X.values, <const int *> X.indices,
                (<const int *> X.indptr)[i], (<const int *> X.indptr)[i + 1],
                W, M, B.dots, penalised,
            )


cdef void _scaled_step(
    floating *W,
    const Rows *X,
    const Py_ssize_t *order,
    Py_ssize_t start,
    Py_ssize_t stop,
    const Step *s,
    const Components *C,
    Model *M,
    Buffers *B,
) noexcept nogil:
    """Plain SGD on CSR rows, the weights as wscale * W: the decay, then the
    columns the batch touched (or its rows again), then averaging."""
    cdef Py_ssize_t q, j, c
    cdef double a
    cdef floating *G = <floating *> B.G
    cdef floating *Q = <floating *> M.Q
    cdef bint penalised = C.penalty.l2 != 0.0 or C.penalty.l1 != 0.0
    if C.penalty.l2 != 0.0:
        _decay_scale(W, M, _decay(s.lr * C.penalty.l2), NULL)
    a = -s.lr / M.wscale
    if B.replay:
        _replay(W, X, order, start, stop, a, penalised, M, B)
    for q in range(B.n_cols):
        j = B.cols[q]
        for c in range(M.n_out):
            _scaled_update(
                &W[c * M.w0 + j * M.w1],
                W[c * M.w0 + j * M.w1] + a * G[c * B.g0 + j * B.g1],
                &Q[c * M.q0 + j * M.q1], &C.penalty, M, c,
            )
            G[c * B.g0 + j * B.g1] = 0.0
    if s.averaging:
        _average_weights(W, M, s.kk)


cdef void _coordinate_step(
    floating *W, const Step *s, const Components *C, Model *M, Buffers *B,
    double *penalty_sums,
) noexcept nogil:
    """Any optimizer, every coordinate (``_coordinates``), its rule's code a
    literal in each branch, so that the compiler drops the other rules'
    branches from the loop over the coordinates."""
    cdef int code = C.optimizer.code
    if code == FTRL:
        _ftrl_coordinate_step(W, s, C, M, B, penalty_sums)
    elif code == SGD:
        _coordinates(SGD, W, s, C, M, B, penalty_sums)
    elif code == MOMENTUM:
        _coordinates(MOMENTUM, W, s, C, M, B, penalty_sums)
    elif code == NESTEROV:
        _coordinates(NESTEROV, W, s, C, M, B, penalty_sums)
    elif code == ADAGRAD:
        _coordinates(ADAGRAD, W, s, C, M, B, penalty_sums)
    elif code == RMSPROP:
        _coordinates(RMSPROP, W, s, C, M, B, penalty_sums)
    else:
        _coordinates(ADAM, W, s, C, M, B, penalty_sums)


cdef inline void _coordinates(
    int code, floating *W, const Step *s, const Components *C, Model *M, Buffers *B,
    double *penalty_sums,
) noexcept nogil:
    """Rule ``code`` on every coordinate: the penalty at the weights before
    the step, the step, the L1 truncation (on CSR rows, of the columns the
    batch touched; the others pay later) and the running average."""
    cdef Py_ssize_t c, j, k, nf = M.n_features
    cdef double w, g, step, sq, ab, u, precond = 1.0
    cdef floating *G = <floating *> B.G
    cdef floating *Q = <floating *> M.Q
    cdef floating *U = <floating *> M.u
    cdef floating *avg = <floating *> M.avg_W
    cdef floating *s1 = <floating *> M.s1
    cdef floating *s2 = <floating *> M.s2
    cdef double l1 = C.penalty.l1, l2 = C.penalty.l2
    cdef bint penalised = l1 != 0.0 or l2 != 0.0
    cdef bint adaptive = code >= ADAGRAD
    # Plain SGD's decay clamped at 0 (``_decay``): from w = 0, the data step.
    cdef bint clamped = code == SGD and s.lr * l2 >= 1.0
    for c in range(M.n_out):
        sq = 0.0
        ab = 0.0
        for j in range(nf):
            k = c * nf + j  # the optimizer state and averages are C-ordered
            w = W[c * M.w0 + j * M.w1]
            if penalised:
                sq += w * w
                ab += fabs(w)
            if clamped:
                w = 0.0
            g = G[c * B.g0 + j * B.g1] + l2 * w
            G[c * B.g0 + j * B.g1] = 0.0
            step = _optimizer_step(
                code, &C.optimizer, g, s.lr, s, _at(s1, k), _at(s2, k), &precond
            )
            W[c * M.w0 + j * M.w1] = w + step
            if l1 != 0.0:
                u = M.l1_u
                if adaptive:
                    U[k] = U[k] + s.lr * l1 * precond
                    u = U[k]
                if B.touched == NULL or B.touched[j]:
                    W[c * M.w0 + j * M.w1] = _l1_truncated(
                        W[c * M.w0 + j * M.w1], u, &Q[c * M.q0 + j * M.q1]
                    )
            if s.averaging:
                _average(&avg[k], W[c * M.w0 + j * M.w1], s.kk)
        if penalised:
            penalty_sums[c] += s.size * (0.5 * l2 * sq + l1 * ab)


cdef void _ftrl_coordinate_step(
    floating *W, const Step *s, const Components *C, Model *M, Buffers *B,
    double *penalty_sums,
) noexcept nogil:
    """FTRL on every coordinate (dense rows), as ``skgd.optimizers.FTRL``:
    the penalty at the weights before the step, then each coordinate's
    update from its state; the first update centres z at the weights."""
    cdef Py_ssize_t c, j, k, nf = M.n_features
    cdef double w, stored, new, sq, ab
    cdef double beta = C.optimizer.p[0], l1 = C.penalty.l1, l2 = C.penalty.l2
    cdef double before = M.count - 1.0  # the updates the weights come from
    cdef bint penalised = l1 != 0.0 or l2 != 0.0
    cdef floating *G = <floating *> B.G
    cdef floating *z = <floating *> M.s1
    cdef floating *n = <floating *> M.s2
    for c in range(M.n_out):
        sq = 0.0
        ab = 0.0
        for j in range(nf):
            k = c * nf + j
            stored = W[c * M.w0 + j * M.w1]
            if penalised:
                sq += stored * stored
                ab += fabs(stored)
            w = _ftrl_weight(z[k], n[k], before * l1, before * l2, M.rate, beta)
            if before == 0.0:
                z[k] = -(beta / s.lr) * w
            new = _ftrl_update(
                G[c * B.g0 + j * B.g1], s.inverse_lr, w, &z[k], &n[k], M.count * l1,
                M.count * l2, beta,
            )
            G[c * B.g0 + j * B.g1] = 0.0
            W[c * M.w0 + j * M.w1] = stored + (new - w)
        if penalised:
            penalty_sums[c] += s.size * (0.5 * l2 * sq + l1 * ab)


cdef void _intercept_step(
    const floating *W, const Step *s, const Components *C, Model *M, Buffers *B
) noexcept nogil:
    """The intercept's step (``W`` gives the type) and its running mean.

    FTRL's intercept is an unpenalised FTRL coordinate: it moves by the
    change of its weight (dense rows, as the NumPy engine's step) or takes
    the weight itself (the lazy rule)."""
    cdef Py_ssize_t c
    cdef double step, precond, w, new, beta = C.optimizer.p[0]
    cdef floating *b = <floating *> M.b
    cdef floating *avg_b = <floating *> M.avg_b
    cdef floating *z
    cdef floating *n
    for c in range(M.n_out):
        if C.optimizer.code == FTRL:
            z = <floating *> M.s1_b + c
            n = <floating *> M.s2_b + c
            w = _ftrl_weight(z[0], n[0], 0.0, 0.0, M.rate, beta)
            if M.count == 1.0:
                z[0] = -(beta / s.lr) * w
            new = _ftrl_update(B.grad_b[c], s.inverse_lr, w, z, n, 0.0, 0.0, beta)
            B.grad_b[c] = 0.0
            if M.fit_intercept:
                b[c] = b[c] + (new - w) if B.lazy == NULL else new
        else:
            step = _optimizer_step(
                C.optimizer.code, &C.optimizer, B.grad_b[c], s.lr, s,
                _at(<floating *> M.s1_b, c), _at(<floating *> M.s2_b, c), &precond,
            )
            B.grad_b[c] = 0.0
            if M.fit_intercept:
                b[c] = b[c] + step
        if s.averaging:
            _average(&avg_b[c], b[c], s.kk)


cdef void _minibatch_epoch(
    floating *W,
    const Rows *X,
    const Targets *T,
    const Py_ssize_t *order,
    Py_ssize_t n_rows,
    Py_ssize_t batch,
    const Components *C,
    Model *M,
    Buffers *B,
    const Lanes *L,
    Sums *sums,
) noexcept nogil:
    """Consecutive runs of ``batch`` rows of ``order``: per batch, the data
    gradient, then one step of the optimizer (and the intercept's)."""
    cdef Py_ssize_t start = 0, stop, q
    cdef Step s
    cdef bint penalised = C.penalty.l2 != 0.0 or C.penalty.l1 != 0.0
    if B.scaled and penalised:
        _scaled_norms(W, M)
    while start < n_rows:
        stop = start + batch if start + batch < n_rows else n_rows
        s.size = stop - start
        s.lr = _rate(&C.schedule, M.t)
        s.inverse_lr = 1.0 / s.lr
        if B.scaled and penalised:
            _scaled_penalty(M, &C.penalty, s.size, sums.penalty)
        _batch_gradient(W, X, T, order, start, stop, n_rows, C, M, B, L, sums.data)
        _prepare_step(&s, C, M)
        if B.scaled:
            _scaled_step(W, X, order, start, stop, &s, C, M, B)
        else:
            _coordinate_step(W, &s, C, M, B, sums.penalty)
        _intercept_step(W, &s, C, M, B)
        for q in range(B.n_cols):
            B.touched[B.cols[q]] = 0
        B.n_cols = 0
        M.rate = s.lr
        M.t = M.t + 1.0
        start = stop
    if B.scaled and M.wscale != 1.0:
        _fold_scale(W, M)


cdef inline void _lazy_single(
    floating *W, const floating *data, const index_t *indices, Py_ssize_t p,
    Py_ssize_t end, Py_ssize_t i, const Targets *T, const Step *s, double d,
    const Components *C, Model *M, Buffers *B, double *data_sums, int code,
) noexcept nogil:
    """Row ``i`` alone, one output: what ``_csr_gradient``, ``_lazy_row`` and
    ``_lazy_row_step`` do for any batch, in two passes over the row instead
    of three (each column caught up as its product is taken, then each
    column's step). ``code`` is the rule's, a literal at each call
    (``_lazy_singles``), so that the compiler specialises the loops."""
    cdef const Lazy *Z = B.lazy
    cdef Py_ssize_t q, a, t = Z.t, q1 = Z.q1, pinned = C.loss.pinned
    cdef double dot = 0.0, dot2 = 0.0, step
    cdef floating *x
    cdef int *last
    for q in range(p, end):
        x = &W[indices[q] * q1]
        last = <int *> (<char *> x - 8)  # the record's header
        a = last[0]
        if a < t:
            last[0] = <int> t
            _catch_up_entry(x, x + 1, x + 2, a, t, code, C, M, Z)
        # Two chains of additions, as _csr_dots.
        if (q - p) & 1:
            dot2 += data[q] * x[0]
        else:
            dot += data[q] * x[0]
    B.scores[pinned] = (dot + dot2) + (<const floating *> M.b)[0]
    _row_loss(
        &C.loss, T.y_idx[i], 1, B.scores, B.grads, NULL,
        (<const floating *> T.weight)[i], data_sums, floating is float,
    )
    step = B.grads[pinned] * (<const floating *> T.row_scale)[i]
    B.steps[0] = step
    if M.fit_intercept:
        B.grad_b[0] += step
    for q in range(p, end):
        x = &W[indices[q] * q1]
        (<int *> (<char *> x - 8))[0] = <int> (t + 1)
        _step_entry(x, x + 1, x + 2, step * data[q], s, d, code, C, M)


cdef void _lazy_singles(
    floating *W, const Rows *X, const Targets *T, const Py_ssize_t *order,
    Py_ssize_t k, Py_ssize_t n_rows, const Step *s, double d, const Components *C,
    Model *M, Buffers *B, double *data_sums,
) noexcept nogil:
    """Row ``order[k]`` alone, one output: ``_lazy_single`` specialised for
    the rule (and the index type)."""
    cdef Py_ssize_t i = order[k]
    cdef int code = C.optimizer.code
    _prefetch_ahead(X, T, order, k, n_rows, W, M)
    if X.wide:
        if k + 3 < n_rows:
            _lazy_prefetch(
                W, <const long *> X.indices, <const long *> X.indptr, order[k + 3], M
            )
        _lazy_single_coded(
            W, <const floating *> X.values, <const long *> X.indices,
            (<const long *> X.indptr)[i], (<const long *> X.indptr)[i + 1], i, T, s,
            d, C, M, B, data_sums, code,
        )
    else:
        if k + 3 < n_rows:
            _lazy_prefetch(
                W, <const int *> X.indices, <const int *> X.indptr, order[k + 3], M
            )
        _lazy_single_coded(
            W, <const floating *> X.values, <const int *> X.indices,
            (<const int *> X.indptr)[i], (<const int *> X.indptr)[i + 1], i, T, s, d,
            C, M, B, data_sums, code,
        )


cdef inline void _lazy_single_coded(
    floating *W, const floating *data, const index_t *indices, Py_ssize_t p,
    Py_ssize_t end, Py_ssize_t i, const Targets *T, const Step *s, double d,
    const Components *C, Model *M, Buffers *B, double *data_sums, int code,
) noexcept nogil:
    """``_lazy_single`` with a literal ``code`` in each branch."""
    if code == MOMENTUM:
        _lazy_single(W, data, indices, p, end, i, T, s, d, C, M, B, data_sums, MOMENTUM)
    elif code == NESTEROV:
        _lazy_single(W, data, indices, p, end, i, T, s, d, C, M, B, data_sums, NESTEROV)
    elif code == ADAGRAD:
        _lazy_single(W, data, indices, p, end, i, T, s, d, C, M, B, data_sums, ADAGRAD)
    elif code == RMSPROP:
        _lazy_single(W, data, indices, p, end, i, T, s, d, C, M, B, data_sums, RMSPROP)
    elif code == ADAM:
        _lazy_single(W, data, indices, p, end, i, T, s, d, C, M, B, data_sums, ADAM)
    else:
        _lazy_single(W, data, indices, p, end, i, T, s, d, C, M, B, data_sums, FTRL)


DEF FOLD = 1e-100  # skgd._lazy.FOLD


cdef void _lazy_epoch(
    floating *W_,
    const Rows *X,
    const Targets *T,
    const Py_ssize_t *order,
    Py_ssize_t n_rows,
    Py_ssize_t batch,
    const Components *C,
    Model *M_,
    Buffers *B,
    Sums *sums,
) noexcept nogil:
    """The lazy rule on CSR rows (``skgd._lazy.LazyEpochs.run``): per batch,
    the touched columns caught up, the data gradient, their steps; every
    column caught up at the end, and the penalty at the final weights.

    A step reads a column's weight, optimizer state and last step at random:
    from three arrays the size of the model, they would cost three cache
    misses. The epoch keeps them together in one record per column instead
    (``Z.records``: the last step, then per output the weight and the
    state), filled from the arrays first and emptied into them last."""
    cdef Lazy *Z = B.lazy
    cdef Model Mc = M_[0]
    cdef Model *M = &Mc
    cdef floating *W = <floating *> (Z.records + 8)
    cdef Py_ssize_t start = 0, stop, t, j, c, nf = M.n_features
    cdef Step s
    cdef double d, w, sq, ab, l1 = C.penalty.l1, l2 = C.penalty.l2
    cdef bint ftrl = C.optimizer.code == FTRL
    _to_records(W_, M_, W, Z)
    M.w0, M.w1 = Z.q0, Z.q1
    M.s1 = <void *> (W + 1)
    M.s2 = <void *> (W + 2) if Z.slots > 1 else NULL
    s.averaging = False
    s.kk = 1.0
    Z.t = 0
    Z.inverse_rate = 1.0 / M.rate
    while start < n_rows:
        stop = start + batch if start + batch < n_rows else n_rows
        t = Z.t
        s.size = stop - start
        s.lr = _rate(&C.schedule, M.t)
        s.inverse_lr = 1.0 / s.lr
        _prepare_step(&s, C, M)
        s.averaging = False
        Z.v_corr = s.v_corr
        Z.count = M.count - 1.0  # the weights come from the steps before
        if ftrl and M.count == 1.0:
            # The first update centres z at the weights it starts from.
            for j in range(nf):
                for c in range(M.n_out):
                    W[j * Z.q1 + c * Z.q0 + 1] = -(C.optimizer.p[0] / s.lr) * W[
                        c * M.w0 + j * M.w1
                    ]
            M.rate = s.lr
            Z.inverse_rate = s.inverse_lr
        d = _decay(s.lr * l2) if l2 != 0.0 and not ftrl else 1.0
        if Z.P[t] * d < FOLD:
            # Every column to step t, and the products start again.
            _catch_up_all(W, C, M, Z)
            Z.P[t] = 1.0
            Z.R[t] = 1.0
            Z.F[t] = 0.0
        if Z.single and M.n_out == 1:
            _lazy_singles(W, X, T, order, start, n_rows, &s, d, C, M, B, sums.data)
        else:
            _csr_gradient(W, X, T, order, start, stop, n_rows, C, M, B, sums.data)
        if Z.single and M.n_out == 1:
            pass
        elif not Z.single:
            _lazy_step(W, &s, d, C, M, B)
        elif X.wide:
            _lazy_row_step(
                W, <const floating *> X.values, <const long *> X.indices,
                (<const long *> X.indptr)[order[start]],
                (<const long *> X.indptr)[order[start] + 1], &s, d, C, M, B,
            )
        else:
            _lazy_row_step(
                W, <const floating *> X.values, <const int *> X.indices,
                (<const int *> X.indptr)[order[start]],
                (<const int *> X.indptr)[order[start] + 1], &s, d, C, M, B,
            )
        _intercept_step(W, &s, C, M, B)
        B.n_cols = 0
        Z.P[t + 1] = Z.P[t] * d
        Z.R[t + 1] = 1.0 / (Z.P[t + 1] if Z.P[t + 1] > FOLD else FOLD)
        Z.F[t + 1] = Z.F[t] + s.lr * Z.R[t + 1]
        M.rate = s.lr
        Z.inverse_rate = s.inverse_lr
        M.t = M.t + 1.0
        Z.t = t + 1
        start = stop
    Z.count = M.count
    _catch_up_all(W, C, M, Z)
    _from_records(W_, M_, W, Z)
    M_.t, M_.count, M_.rate = M.t, M.count, M.rate
    if l1 != 0.0 or l2 != 0.0:
        for c in range(M.n_out):
            sq = 0.0
            ab = 0.0
            for j in range(nf):
                w = W_[c * M_.w0 + j * M_.w1]
                sq += w * w
                ab += fabs(w)
            sums.penalty[c] += n_rows * (0.5 * l2 * sq + l1 * ab)


# -- SAGA: steps corrected by a table of the rows' score gradients ---------------


cdef void _saga_epoch(
    floating *W,
    const Rows *X_,
    const Targets *T_,
    const Py_ssize_t *order,
    Py_ssize_t n_rows,
    Py_ssize_t batch,
    const Components *C_,
    Model *M_,
    Buffers *B_,
    floating *table,
    floating *mean_W,
    floating *mean_b,
    floating *delta_W,
    const double *rates,
    bint frozen,
) noexcept nogil:
    """SAGA's epoch (``skgd._variance_reduced``), ``W`` C-ordered.

    Per batch: each row's score gradients g_i replace its entry a_i of the
    table; ``delta`` gathers sum s_i (g_i - a_i) x_i, the change of the
    table's mean. Then one pass over the weights steps along
    ``n / size * delta + mean + l2 W`` and takes the L1 prox, and the mean
    takes in ``delta``: every weight moves at every step (the mean is dense).
    ``frozen`` (SVRG) keeps the table and its mean as they are: the
    gradients at the epoch's snapshot.
    """
    cdef Rows Xc = X_[0]
    cdef Targets Tc = T_[0]
    cdef Components Cc = C_[0]
    cdef Model Mc = M_[0]
    cdef Buffers Bc = B_[0]
    cdef const Rows *X = &Xc
    cdef const Targets *T = &Tc
    cdef const Components *C = &Cc
    cdef Model *M = &Mc
    cdef Buffers *B = &Bc
    cdef Py_ssize_t start, k, i, c, j, size, n_out = M.n_out, nf = M.n_features
    cdef Py_ssize_t pinned = C.loss.pinned, step = 0
    cdef floating *b = <floating *> M.b
    cdef floating *w_row
    cdef floating *mean_row
    cdef floating *delta_row
    cdef const floating *share = <const floating *> T.row_scale
    cdef double factor, lr, g, w, l2 = C.penalty.l2, l1 = C.penalty.l1
    cdef double *delta_b = B.grad_b
    start = 0
    while start < n_rows:
        size = min(batch, n_rows - start)
        factor = <double> n_rows / <double> size
        lr = rates[step]
        for c in range(n_out):
            delta_b[c] = 0.0
        for k in range(start, start + size):
            i = order[k]
            _row_dots(X, i, W, M, B.dots)
            for c in range(n_out):
                B.scores[c + pinned] = B.dots[c] + b[c]
            # (The losses go to a scratch sum: the epoch's objective is
            # taken exactly at its end.)
            _row_loss(
                &C.loss, T.y_idx[i], n_out, B.scores, B.grads, NULL, 0.0,
                B.losses, floating is float,
            )
            for c in range(n_out):
                g = <floating> B.grads[c + pinned]
                B.moves[c] = share[i] * (g - table[i * n_out + c])
                if not frozen:
                    table[i * n_out + c] = <floating> g
                delta_b[c] += B.moves[c]
            _row_axpy(X, i, delta_W, M, B.moves)
        for c in range(n_out):
            w_row, mean_row, delta_row = W + c * nf, mean_W + c * nf, delta_W + c * nf
            for j in range(nf):
                w = w_row[j]
                g = factor * delta_row[j] + mean_row[j] + l2 * w
                w = w - lr * g
                if l1 != 0.0:
                    w = _sign(w) * (fabs(w) - lr * l1 if fabs(w) > lr * l1 else 0.0)
                w_row[j] = <floating> w
                if not frozen:
                    mean_row[j] = mean_row[j] + delta_row[j]
                delta_row[j] = 0.0
            if M.fit_intercept:
                b[c] = <floating> (b[c] - lr * (factor * delta_b[c] + mean_b[c]))
            if not frozen:
                mean_b[c] = <floating> (mean_b[c] + delta_b[c])
        M.t = M.t + 1.0
        step = step + 1
        start = start + size
    M_[0] = Mc


# -- the entry point ---------------------------------------------------------------


cdef void *_address(object array, object dtype, str name) except NULL:
    """The address of ``array[0, ..., 0]``, after checking its type."""
    if array.dtype != dtype:
        raise ValueError(f"{name} has dtype {array.dtype}, the kernel needs {dtype}")
    return <void *> <size_t> array.__array_interface__["data"][0]


cdef void *_optional(dict state, str key, object dtype) except? NULL:
    """A C-ordered array of the state (NULL if absent or None)."""
    array = state.get(key)
    if array is None:
        return NULL
    if not array.flags.c_contiguous:
        raise ValueError(f"{key} must be C-contiguous")
    return _address(array, dtype, key)


cdef Components _components(tuple spec):
    """``((loss code, parameter, first class), (l2, l1), (schedule code,
    parameters), (optimizer code, parameters))`` as the kernel's struct."""
    cdef Components C
    cdef Py_ssize_t k
    (loss_code, loss_param, first), (l2, l1), (s_code, s_params), (o_code, o_params) = spec
    C.loss.code, C.loss.param, C.loss.pinned = loss_code, loss_param, 0
    C.loss.first_class = first
    C.penalty.l2, C.penalty.l1 = l2, l1
    C.schedule.code, C.optimizer.code = s_code, o_code
    for k in range(2):
        C.schedule.p[k] = s_params[k] if k < len(s_params) else 0.0
    for k in range(3):
        C.optimizer.p[k] = o_params[k] if k < len(o_params) else 0.0
    return C


cdef Rows _rows(object X, object dtype):
    """A dense array or the ``(data, indices, indptr, n_cols)`` of a CSR matrix."""
    cdef Rows R
    if isinstance(X, tuple):
        data, indices, indptr, n_cols = X
        if indices.dtype != indptr.dtype or indices.dtype not in (np.int32, np.int64):
            raise ValueError("CSR indices and indptr must both be int32 or int64")
        R.sparse, R.wide = True, indices.dtype == np.int64
        R.values = _address(data, dtype, "X.data")
        R.indices = _address(indices, indices.dtype, "X.indices")
        R.indptr = _address(indptr, indptr.dtype, "X.indptr")
        R.n_cols, R.ld, R.inc = n_cols, 0, 1
        return R
    R.sparse, R.wide = False, False
    R.values = _address(X, dtype, "X")
    R.indices = R.indptr = NULL
    R.n_cols = X.shape[1]
    R.ld = X.strides[0] // X.itemsize
    R.inc = X.strides[1] // X.itemsize
    return R


cdef Model _model(object coef, dict state, object dtype, double[::1] norms):
    """The weights ``coef`` (any order) and the arrays of ``state``."""
    cdef Model M
    M.n_out, M.n_features = coef.shape
    M.W = _address(coef, dtype, "coef")
    M.w0, M.w1 = coef.strides[0] // coef.itemsize, coef.strides[1] // coef.itemsize
    M.b = _optional(state, "intercept", dtype)
    M.avg_W = _optional(state, "avg_coef", dtype)
    M.avg_b = _optional(state, "avg_intercept", dtype)
    M.Q, M.q0, M.q1 = NULL, 0, 0
    if state.get("l1_q") is not None:
        Q = state["l1_q"]
        M.Q = _address(Q, dtype, "l1_q")
        M.q0, M.q1 = Q.strides[0] // Q.itemsize, Q.strides[1] // Q.itemsize
    M.s1 = _optional(state, "s1", dtype)
    M.s2 = _optional(state, "s2", dtype)
    M.s1_b = _optional(state, "s1_b", dtype)
    M.s2_b = _optional(state, "s2_b", dtype)
    M.u = _optional(state, "l1_u_coord", dtype)
    M.fit_intercept = state["fit_intercept"]
    M.intercept_decay = state.get("intercept_decay", 1.0)
    M.average = state["average"]
    M.t, M.l1_u, M.count = state["t"], state["l1_u"], state["count"]
    M.rate = state.get("rate", 1.0)
    M.wscale = 1.0
    M.vsq, M.vabs = &norms[0], &norms[M.n_out]
    return M


cdef Buffers _buffers(
    list keep, object coef, const Model *M, const Rows *R, Py_ssize_t batch,
    bint scaled, bint l1,
):
    """The buffers of an epoch (numpy arrays, kept alive by ``keep``)."""
    cdef Buffers B
    cdef double[::1] row = np.zeros(7 * (M.n_out + 1))
    cdef double[::1] Gs
    cdef unsigned char[::1] touched
    cdef Py_ssize_t[::1] cols
    keep.append(row)
    B.scores, B.grads = &row[0], &row[M.n_out + 1]
    B.losses, B.dots = &row[2 * (M.n_out + 1)], &row[3 * (M.n_out + 1)]
    B.steps, B.grad_b = &row[4 * (M.n_out + 1)], &row[5 * (M.n_out + 1)]
    B.moves = &row[6 * (M.n_out + 1)]
    G = np.zeros_like(coef)  # laid out like W
    keep.append(G)
    B.G = _address(G, coef.dtype, "G")
    B.g0, B.g1 = G.strides[0] // G.itemsize, G.strides[1] // G.itemsize
    B.scaled = scaled
    B.replay = scaled and not l1
    B.lazy = NULL
    Gs = np.zeros(batch * M.n_out if B.replay else 1)
    touched = np.zeros(R.n_cols if R.sparse else 1, np.uint8)
    cols = np.zeros(R.n_cols if R.sparse else 1, np.intp)
    keep.extend([Gs, touched, cols])
    B.Gs = &Gs[0]
    B.touched = &touched[0] if R.sparse else NULL
    B.cols, B.n_cols = &cols[0], 0
    return B


cdef Lanes _lanes(
    list keep, object dtype, const Model *M, const Rows *R, Py_ssize_t batch,
    Py_ssize_t n_rows, const Py_ssize_t[::1] order, int n_threads,
):
    """The lanes of dense batches: blocks of at most 512 rows and 4 MiB."""
    cdef Lanes L
    cdef Py_ssize_t rows = min(batch, n_rows), nf = R.n_cols, n_out = M.n_out
    cdef Py_ssize_t row_bytes = nf * dtype.itemsize
    L.block_rows = max(1, min(rows, 512, (1 << 22) // row_bytes))
    if rows >= 128:
        # At least one block per lane, so that both threads have work.
        L.block_rows = min(L.block_rows, (rows + LANES - 1) // LANES)
    # Pieces of 16 KiB, half the L1 cache of most cores, so that the rows
    # the scores read are still there for the gradient; at least 4 rows (the
    # gradient's sums in registers are loaded and stored once a piece), at
    # most 4 MiB.
    L.piece_rows = max(1, min(32, max(4, (1 << 14) // row_bytes), (1 << 22) // row_bytes))
    # Each lane's buffers a whole number of cache lines (64 bytes), from an
    # address that starts one; so is each row of a piece.
    L.xb_ld = _lines(nf, dtype.itemsize)
    L.xb_step = L.piece_rows * L.xb_ld
    L.z_step = _lines(L.piece_rows * n_out, dtype.itemsize)
    L.gr_step = n_out * L.xb_ld
    L.Wp = _aligned(keep, L.gr_step, dtype)
    L.doubles_step = _lines(4 * n_out + 2, 8)
    L.Xb = _aligned(keep, LANES * L.xb_step, dtype)
    L.Z = _aligned(keep, LANES * L.z_step, dtype)
    L.G = _aligned(keep, LANES * L.z_step, dtype)
    L.GR = _aligned(keep, LANES * L.gr_step, dtype)
    L.doubles = <double *> _aligned(keep, LANES * L.doubles_step, np.dtype(np.float64))
    L.n_threads = n_threads
    return L


cdef Py_ssize_t _lines(Py_ssize_t n, Py_ssize_t itemsize):
    """``n`` elements rounded up to whole cache lines of 64 bytes."""
    cdef Py_ssize_t per_line = 64 // itemsize
    return (n + per_line - 1) // per_line * per_line


cdef void *_aligned(list keep, Py_ssize_t n, object dtype) except NULL:
    """``n`` zeros of ``dtype`` from a 64-byte boundary (kept alive by keep)."""
    array = np.zeros(n + 64 // dtype.itemsize, dtype)
    keep.append(array)
    cdef size_t address = array.__array_interface__["data"][0]
    return <void *> ((address + 63) // 64 * 64)


def epoch(
    floating[:, :] coef,
    object X,
    const Py_ssize_t[::1] y_idx,
    const floating[::1] row_scale,
    const floating[::1] sample_weight,
    const Py_ssize_t[::1] order,
    Py_ssize_t batch,
    tuple components,
    dict state,
    double[::1] data_sums,
    double[::1] penalty_sums,
    bint per_row=False,
    int n_threads=1,
    object tables=None,
):
    """One epoch over the rows ``order`` of ``X``; returns ``(t, l1_u, count,
    rate)``.

    ``X`` is a dense array or the ``(data, indices, indptr, n_cols)`` of a
    CSR matrix, of the type of ``coef`` (the weights, row- or column-major).
    ``y_idx`` holds each row's class, ``row_scale`` its factor ``n w_i /
    sum(w)`` and ``sample_weight`` its weight ``w_i``. Batches are runs of
    ``batch`` entries of ``order``. ``components`` are the codes and
    parameters of the loss, penalty (``alpha * l2_weight``, ``alpha *
    l1_weight``), schedule and optimizer (``skgd._compiled``); ``state``
    holds the intercept, the optional arrays (``avg_coef``,
    ``avg_intercept``, ``l1_q``, the optimizer's ``s1``, ``s2``, ``s1_b``,
    ``s2_b``, ``l1_u_coord``) and the numbers ``t``, ``l1_u``, ``count``,
    ``average`` and ``fit_intercept``; the arrays are updated in place. The
    weighted loss and the penalty are added to ``data_sums`` and
    ``penalty_sums`` (per output). ``per_row``: batches of one row with plain
    SGD or passive-aggressive steps (``_row_epoch``); otherwise any optimizer
    (``_minibatch_epoch``), dense batches over ``n_threads`` threads.
    ``tables`` (CSR rows, a rule other than plain SGD: the lazy rule,
    ``_lazy_epoch``) holds ``skgd._lazy.tables``: for 0 to the number of
    batches of skipped steps, the velocity's factor and its movement's.
    """
    cdef list keep = []
    coef_array = np.asarray(coef)
    dtype = coef_array.dtype
    cdef Components C = _components(components)
    cdef Rows R = _rows(X, dtype)
    cdef Targets T
    cdef double[::1] norms = np.zeros(2 * coef.shape[0])
    cdef Model M = _model(coef_array, state, dtype, norms)
    cdef Buffers B
    cdef Lanes L
    cdef Sums S
    cdef Lazy Z
    cdef Py_ssize_t n_rows = order.shape[0]
    cdef bint single_row = batch == 1 and C.optimizer.code == SGD
    cdef bint lazy = tables is not None
    cdef double[::1] P, R_, F
    cdef const double[:, ::1] table_view
    cdef Py_ssize_t n_steps, k
    cdef void *records
    if lazy and not (R.sparse and C.optimizer.code != SGD):
        raise ValueError("the lazy rule needs CSR rows and a rule other than plain SGD")
    if per_row and not (single_row and (R.sparse or R.inc > 0)):
        raise ValueError("per-row epochs need batches of one row and plain SGD")
    if C.schedule.code == PASSIVE_AGGRESSIVE and not per_row:
        raise ValueError("passive-aggressive steps need a per-row epoch")
    C.loss.pinned = 1 if C.loss.code >= SOFTMAX and M.n_out == 1 else 0
    T.y_idx = &y_idx[0]
    T.row_scale, T.weight = &row_scale[0], &sample_weight[0]
    S.data, S.penalty = &data_sums[0], &penalty_sums[0]
    B = _buffers(
        keep, coef_array, &M, &R, min(batch, n_rows),
        R.sparse and C.optimizer.code == SGD, C.penalty.l1 != 0.0,
    )
    if not (per_row or R.sparse):
        L = _lanes(keep, dtype, &M, &R, batch, n_rows, order, n_threads)
    B.lazy = NULL
    if lazy:
        n_steps = (n_rows + batch - 1) // batch
        if n_steps >= 2**31 - 1:
            raise ValueError("the lazy rule takes fewer than 2**31 batches per call")
        # One record per column: its last step (an int in the first slot),
        # then per output its weight and its optimizer state.
        # The header (8 bytes), then per output: the weight, the state, and
        # for batches of several rows the gradient.
        Z.slots = 2 if C.optimizer.code in (ADAM, FTRL) else 1
        Z.q0 = 1 + Z.slots + (batch > 1)
        Z.q1 = 8 // dtype.itemsize + M.n_out * Z.q0
        records = _aligned(keep, R.n_cols * Z.q1, dtype)
        Z.records = <char *> records
        Z.record_bytes = Z.q1 * dtype.itemsize
        P = np.ones(n_steps + 1)
        R_ = np.ones(n_steps + 1)
        F = np.zeros(n_steps + 1)
        table_view = np.ascontiguousarray(tables, dtype=np.float64)
        if table_view.shape[0] != 2 or table_view.shape[1] < n_steps + 1:
            raise ValueError("tables needs two rows of 1 + the number of batches")
        keep.extend([P, R_, F, table_view])
        Z.P, Z.R, Z.F = &P[0], &R_[0], &F[0]
        Z.powers, Z.movement = &table_view[0, 0], &table_view[1, 0]
        Z.n_table = n_steps + 1
        for k in range(1, n_steps + 1):
            if table_view[0, k] == 0.0:
                Z.n_table = k + 1
                break
        Z.t, Z.v_corr, Z.count = 0, 1.0, 0.0
        Z.single = batch == 1
        B.lazy = &Z
    with nogil:
        if lazy:
            _lazy_epoch(&coef[0, 0], &R, &T, &order[0], n_rows, batch, &C, &M, &B, &S)
        elif per_row:
            _row_epoch(&coef[0, 0], &R, &T, &order[0], n_rows, &C, &M, &B, &S)
        else:
            _minibatch_epoch(
                &coef[0, 0], &R, &T, &order[0], n_rows, batch, &C, &M, &B, &L, &S
            )
    return M.t, M.l1_u, M.count, M.rate


def saga_epoch(
    floating[:, ::1] coef,
    floating[::1] intercept,
    object X,
    const Py_ssize_t[::1] y_idx,
    const floating[::1] share,
    const Py_ssize_t[::1] order,
    Py_ssize_t batch,
    tuple components,
    floating[:, ::1] table,
    floating[:, ::1] mean_coef,
    floating[::1] mean_intercept,
    const double[::1] rates,
    bint fit_intercept,
    bint frozen=False,
):
    """One SAGA epoch over the rows ``order`` of ``X`` (``_saga_epoch``).

    ``share`` holds each row's part ``w_i / sum(w)`` of the training
    weight, ``table`` each row's last score gradients, ``mean_coef`` and
    ``mean_intercept`` their weighted mean gradient, ``rates`` the step size
    of each batch; ``components`` as for :func:`epoch` (the optimizer and
    schedule are not read); ``frozen`` (SVRG) leaves the table and its mean
    as they are. Every array is updated in place.
    """
    cdef list keep = []
    coef_array = np.asarray(coef)
    dtype = coef_array.dtype
    cdef Components C = _components(components)
    cdef Rows R = _rows(X, dtype)
    cdef Targets T
    cdef double[::1] norms = np.zeros(2 * coef.shape[0])
    cdef Model M = _model(
        coef_array,
        dict(intercept=np.asarray(intercept), fit_intercept=fit_intercept,
             average=0, t=0.0, l1_u=0.0, count=0.0),
        dtype, norms,
    )
    cdef Py_ssize_t n_rows = order.shape[0]
    if rates.shape[0] < (n_rows + batch - 1) // batch:
        raise ValueError("saga_epoch needs one rate per batch")
    C.loss.pinned = 1 if C.loss.code >= SOFTMAX and M.n_out == 1 else 0
    T.y_idx = &y_idx[0]
    T.row_scale = T.weight = &share[0]
    cdef Buffers B = _buffers(keep, coef_array, &M, &R, 1, False, False)
    delta = np.zeros_like(coef_array)
    cdef floating[:, ::1] delta_W = delta
    with nogil:
        _saga_epoch(
            &coef[0, 0], &R, &T, &order[0], n_rows, batch, &C, &M, &B,
            &table[0, 0], &mean_coef[0, 0], &mean_intercept[0], &delta_W[0, 0],
            &rates[0], frozen,
        )


def vector_math(const floating[::1] x):
    """``(e^min(x, 0), log(1 + e^-x), -1 / (1 + e^x))`` from ``_vmath.h``.

    The SIMD functions of the softmax and logistic blocks, in x's type,
    exposed so that tests can hold them to references.
    """
    dtype = np.float64 if floating is double else np.float32
    e = np.minimum(x, 0).astype(dtype)
    loss = np.array(x, dtype=dtype)
    slope = np.empty_like(loss)
    cdef floating[::1] ev = e, lv = loss, sv = slope
    with nogil:
        _exp_nonpos(<int> ev.shape[0], &ev[0])
        _logistic(<int> lv.shape[0], &lv[0], &sv[0])
    return e, loss, slope


def block_products(
    const floating[:, :] X, const floating[:, :] W, const floating[:, ::1] G,
    floating[:, :] GR,
):
    """``X W^T``, and ``GR += G^T X`` in place, from ``_dense.h``.

    The two products of a dense piece of rows, exposed so that tests can
    hold them to NumPy's on any shape. Rows of X, W and GR may lie further
    apart than their length; their elements must be adjacent.
    """
    cdef int nb = <int> X.shape[0], nf = <int> X.shape[1], n_out = <int> W.shape[0]
    cdef Py_ssize_t size = sizeof(floating)
    if X.strides[1] != size or W.strides[1] != size or GR.strides[1] != size:
        raise ValueError("block_products: the rows' elements must be adjacent")
    dtype = np.float64 if floating is double else np.float32
    Z = np.zeros((nb, n_out), dtype=dtype)
    cdef floating[:, ::1] Zv = Z
    if nb == 0 or n_out == 0 or nf == 0:
        return Z
    with nogil:
        _block_scores(nb, n_out, nf, &X[0, 0], <int> (X.strides[0] // size),
                      &W[0, 0], <int> (W.strides[0] // size), &Zv[0, 0])
        _block_gradient(nb, n_out, nf, &X[0, 0], <int> (X.strides[0] // size),
                        &G[0, 0], &GR[0, 0], <int> (GR.strides[0] // size))
    return Z
    with nogil:
        _block_scores(nb, n_out, nf, &X[0, 0], <int> (X.strides[0] // sizeof(floating)),
                      &W[0, 0], <int> (W.strides[0] // sizeof(floating)), &Zv[0, 0])
        _block_gradient(nb, n_out, nf, &X[0, 0], <int> (X.strides[0] // sizeof(floating)),
                        &G[0, 0], &GR[0, 0], <int> (GR.strides[0] // sizeof(floating)))
    return Z
