# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled epochs for the built-in components.

Two kernels, each one pass over the rows of ``X`` in a given order:

* ``sgd_epoch_dense``: one plain-SGD update per row of dense ``X``, with the
  L2 decay kept as a scale factor (the fastest form of batch-1 SGD);
* ``minibatch_epoch``: batches of any size on dense or CSR ``X``, the
  gradient accumulated row by row, then one step of any built-in optimizer.

Both take all one-vs-rest columns at once for the margin losses (and the
joint scores for softmax and the multiclass hinge) and perform the steps of
the NumPy engine (``skgd._engine.Engine.run_epoch``) in the same order.
Their sums of loss and penalty are kept per output column, so that a call on
a subset of the columns gives the same numbers as the call on all of them
(``skgd._compiled`` runs column subsets in parallel threads, decides when a
kernel applies and holds the integer codes of the components).
"""

from cython cimport floating
from cython.parallel cimport prange
import numpy as np

from libc.math cimport exp, expf, fabs, log, log1p, logf, pow, sqrt
from libc.string cimport memcpy
from scipy.linalg.cython_blas cimport daxpy, ddot, dgemm, saxpy, sdot, sgemm

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

# Optimizer codes: keep in step with skgd._compiled.OPTIMIZER_CODES.
DEF SGD = 0
DEF MOMENTUM = 1
DEF NESTEROV = 2
DEF ADAGRAD = 3
DEF RMSPROP = 4
DEF ADAM = 5

cdef extern from *:
    void __builtin_prefetch(const void *addr) noexcept nogil

cdef extern from "_vmath.h":
    void skgd_exp_nonpos_f32(int n, float *x) noexcept nogil
    void skgd_logistic_f32(int n, float *m, float *slope) noexcept nogil


# Dense batches of more than one block are split into this many lanes, which
# run in parallel threads; a constant, so results do not depend on threads.
DEF LANES = 2
# How many rows ahead a gathering loop prefetches.
DEF PREFETCH = 4


ctypedef fused index_t:
    int
    long


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


cdef inline void _gemm(
    char transa, char transb, int m, int n, int k,
    const floating *a, int lda, const floating *b, int ldb, double beta_,
    floating *c, int ldc,
) noexcept nogil:
    """C = op(A) op(B) + beta C in BLAS's column-major convention."""
    cdef floating alpha = 1.0, beta = <floating> beta_
    if floating is double:
        dgemm(&transa, &transb, &m, &n, &k, &alpha, <double *> a, &lda,
              <double *> b, &ldb, &beta, c, &ldc)
    else:
        sgemm(&transa, &transb, &m, &n, &k, &alpha, <float *> a, &lda,
              <float *> b, &ldb, &beta, c, &ldc)


cdef inline double _rate(
    int code, double t, double eta0, double power_t, double alpha, double t0
) noexcept nogil:
    if code == OPTIMAL:
        return 1.0 / (alpha * (t0 + t - 1.0))
    if code == INVSCALING:
        return eta0 / pow(t, power_t)
    return eta0




cdef inline void _row_loss(
    int code,
    double p,
    Py_ssize_t n_out,
    Py_ssize_t pinned,
    const floating *y_row,
    Py_ssize_t y_step,
    Py_ssize_t y_class,
    double *scores,
    double *grads,
    double w,
    double *data_sums,
) noexcept nogil:
    """dLoss/dz of one row into ``grads`` from its ``scores``; adds w * loss.

    Margin losses: one score, target (``y_row[c * y_step]``, +1/-1) and
    gradient per column, losses summed per column. Multiclass losses: class
    ``y_class``, a ``pinned`` leading slot for the class-0 score of a
    two-class model (held at 0), the loss summed in ``data_sums[0]``.
    """
    cdef Py_ssize_t c
    cdef double loss, g
    if code >= SOFTMAX:
        if pinned:
            scores[0] = 0.0
        data_sums[0] += w * _multiclass_loss_grad(
            code, p, y_class, scores, n_out + pinned, grads, floating is float
        )
        return
    for c in range(n_out):
        _loss_grad(code, p, y_row[c * y_step], scores[c], &loss, &g, floating is float)
        data_sums[c] += loss * w
        grads[c] = g


cdef inline double _truncate(double before, double u, double q) noexcept nogil:
    """Cumulative L1 truncation (Tsuruoka et al. 2009) of one coordinate.

    ``u`` is the total truncation owed so far and ``q`` what this coordinate
    has paid; the weight moves towards 0 by the difference, never past it.
    """
    cdef double w
    if before > 0:
        w = before - (u + q)
        return w if w > 0 else 0.0
    if before < 0:
        w = before + (u - q)
        return w if w < 0 else 0.0
    return before


cdef inline double _optimizer_step(
    int code,
    double g,
    double lr,
    double p1,
    double p2,
    double eps,
    double m_corr,
    double v_corr,
    floating *s1,
    floating *s2,
    double *precond,
) noexcept nogil:
    """The step of one coordinate with gradient ``g``; updates its state.

    The same arithmetic as ``skgd.optimizers`` (momentum/rho/beta_1 is
    ``p1``, beta_2 is ``p2``); ``precond`` receives the per-coordinate factor
    on ``lr`` of the adaptive rules, which scales their L1 truncation.
    """
    cdef double root
    if code == SGD:
        return -lr * g
    if code == MOMENTUM:
        s1[0] = p1 * s1[0] - lr * g
        return s1[0]
    if code == NESTEROV:
        s1[0] = p1 * s1[0] - lr * g
        return p1 * s1[0] - lr * g
    if code == ADAGRAD:
        s1[0] = s1[0] + g * g
        root = sqrt(s1[0]) + eps
        precond[0] = 1.0 / root
        return -lr * g / root
    if code == RMSPROP:
        s1[0] = p1 * s1[0] + (1.0 - p1) * g * g
        root = sqrt(s1[0]) + eps
        precond[0] = 1.0 / root
        return -lr * g / root
    # ADAM
    s1[0] = p1 * s1[0] + (1.0 - p1) * g
    s2[0] = p2 * s2[0] + (1.0 - p2) * g * g
    root = sqrt(s2[0] / v_corr) + eps
    precond[0] = 1.0 / root
    return (-lr / m_corr) * s1[0] / root


cdef inline void _prefetch_row(
    const floating *data, const index_t *indices, const index_t *indptr, Py_ssize_t i
) noexcept nogil:
    """Ask the cache for CSR row ``i`` before it is needed.

    Shuffled rows sit at random places in memory: without this, every row
    starts with cache misses on its indices and values.
    """
    cdef Py_ssize_t p = indptr[i], end = indptr[i + 1], step
    step = 64 // sizeof(index_t)
    while p < end:
        __builtin_prefetch(&indices[p])
        p = p + step
    p = indptr[i]
    step = 64 // sizeof(floating)
    while p < end:
        __builtin_prefetch(&data[p])
        p = p + step


cdef inline void _prefetch_weights(
    const floating *W, Py_ssize_t w1, const index_t *indices, const index_t *indptr,
    Py_ssize_t i,
) noexcept nogil:
    """Ask the cache for the weights of CSR row ``i``'s columns."""
    cdef Py_ssize_t p
    for p in range(indptr[i], indptr[i + 1]):
        __builtin_prefetch(&W[indices[p] * w1])


cdef inline void _prefetch_dense_row(
    const floating[:, :] X,
    Py_ssize_t i,
    const floating[::1] row_scale,
    const floating[::1] sample_weight,
    const floating *Y,
    Py_ssize_t y0,
) noexcept nogil:
    """Ask the cache for dense row ``i`` and its weight and target."""
    cdef Py_ssize_t j = 0, n = X.shape[1], step = 64 // sizeof(floating)
    while j < n:
        __builtin_prefetch(&X[i, j])
        j = j + step
    __builtin_prefetch(&row_scale[i])
    __builtin_prefetch(&sample_weight[i])
    __builtin_prefetch(&Y[i * y0])


cdef inline void _scaled_update(
    floating *v,
    double new,
    double old,
    double wscale,
    double l1,
    double l1_u,
    floating *q,
    bint penalised,
    double *vsq,
    double *vabs,
) noexcept nogil:
    """Store a weight kept as wscale * v: its L1 truncation, and the norms."""
    cdef double before, w
    if l1 != 0.0:
        before = wscale * new
        w = _truncate(before, l1_u, q[0])
        q[0] = q[0] + (<floating>w - <floating>before)
        new = w / wscale
    v[0] = <floating> new
    if penalised:
        new = v[0]
        vsq[0] += new * new - old * old
        vabs[0] += fabs(new) - fabs(old)


cdef void _float_block_loss(
    int code,
    Py_ssize_t nb,
    Py_ssize_t n_out,
    float *Z,
    float *G,
    const Py_ssize_t *rows,
    const float *intercept,
    const float *Yp,
    Py_ssize_t y0,
    Py_ssize_t y1,
    const Py_ssize_t *y_idx,
    const float *row_scale,
    const float *sample_weight,
    Py_ssize_t size,
    bint fit_intercept,
    double *lane_b,
    double *sums,
) noexcept nogil:
    """Logistic or softmax loss of a float32 block, its exponentials in SIMD.

    ``Z`` (``nb`` rows of ``n_out`` scores, without intercept) is used as
    scratch; ``G`` receives the scaled score gradients, as the general path
    of ``_dense_lane`` computes them one row at a time. The exponentials of
    the whole block go through one vectorised loop (``_vmath.h``) instead of
    a libm call per score.
    """
    cdef Py_ssize_t k, c, i, n = nb * n_out
    cdef float *z
    cdef float *g
    cdef float top, yv
    cdef double total, f, w
    if code == LOG:
        for k in range(nb):
            z = Z + k * n_out
            for c in range(n_out):
                z[c] = Yp[rows[k] * y0 + c * y1] * (z[c] + intercept[c])
        skgd_logistic_f32(<int> n, Z, G)  # Z: margins -> losses
        for k in range(nb):
            i = rows[k]
            w = sample_weight[i]
            f = row_scale[i] / size
            z = Z + k * n_out
            g = G + k * n_out
            for c in range(n_out):
                sums[c] += w * z[c]
                g[c] = Yp[i * y0 + c * y1] * g[c] * f
                if fit_intercept:
                    lane_b[c] += g[c]
        return
    # SOFTMAX: shift each row by its largest score (exponents <= 0, no
    # overflow), keep the shifted score of the true class in G's first slot
    # until the row's gradient overwrites it.
    for k in range(nb):
        z = Z + k * n_out
        top = z[0] + intercept[0]
        for c in range(n_out):
            z[c] = z[c] + intercept[c]
            if z[c] > top:
                top = z[c]
        for c in range(n_out):
            z[c] = z[c] - top
        G[k * n_out] = z[y_idx[rows[k]]]
    skgd_exp_nonpos_f32(<int> n, Z)
    for k in range(nb):
        i = rows[k]
        z = Z + k * n_out
        g = G + k * n_out
        total = 0.0
        for c in range(n_out):
            total = total + z[c]
        # log(sum e^(z - top)) - (z_y - top) = logsumexp(z) - z_y
        sums[0] += sample_weight[i] * (logf(<float> total) - g[0])
        f = row_scale[i] / size
        w = f / total
        for c in range(n_out):
            g[c] = z[c] * w
        g[y_idx[i]] = g[y_idx[i]] - f
        if fit_intercept:
            for c in range(n_out):
                lane_b[c] += g[c]


cdef void _dense_lane(
    Py_ssize_t lane,
    Py_ssize_t n_lanes,
    Py_ssize_t start,
    Py_ssize_t stop,
    Py_ssize_t size,
    Py_ssize_t block_rows,
    const floating[:, :] X,
    const Py_ssize_t[::1] order,
    Py_ssize_t n_rows,
    bint row_major,
    int ldx,
    int incx,
    const floating *W,
    Py_ssize_t n_out,
    Py_ssize_t pinned,
    const floating[::1] intercept,
    int loss_code,
    double loss_param,
    const floating *Yp,
    Py_ssize_t y0,
    Py_ssize_t y1,
    const Py_ssize_t[::1] y_idx,
    const floating[::1] row_scale,
    const floating[::1] sample_weight,
    bint fit_intercept,
    floating[:, :, ::1] Xb3,
    floating[:, :, ::1] Z3,
    floating[:, :, ::1] G3,
    floating[:, :, ::1] GR3,
    double[:, ::1] lane_b,
    double[:, ::1] lane_sums,
    double[:, ::1] lane_scores,
    double[:, ::1] lane_grads,
) noexcept nogil:
    """Dense rows start:stop of a batch: the blocks of this lane.

    Two matrix products per block of rows: the scores Xb W^T, then the
    gradient G^T Xb, summed over the lane's blocks into ``GR3[lane]`` (its
    intercept part into ``lane_b[lane]``, its loss into ``lane_sums[lane]``).
    Blocks of consecutive rows of a row-major X are used where they lie;
    others are gathered into the lane's buffer of one block (bounded in size,
    so memory never grows with the batch or with X).
    """
    cdef Py_ssize_t b0, b1, k, i, c, j, n_features = X.shape[1]
    cdef int nf = <int> n_features, ldr
    cdef bint contiguous, first = True
    cdef const floating *rows
    cdef double f, g
    cdef double *scores = &lane_scores[lane, 0]
    cdef double *grads = &lane_grads[lane, 0]
    b0 = start + lane * block_rows
    while b0 < stop:
        b1 = b0 + block_rows if b0 + block_rows < stop else stop
        contiguous = row_major
        for k in range(b0 + 1, b1):
            if order[k] != order[k - 1] + 1:
                contiguous = False
                break
        if contiguous:
            rows = &X[order[b0], 0]
            ldr = ldx
        else:
            # Memory latency outlasts the copy of a row: ask for rows a few
            # places ahead.
            for k in range(b0, b0 + PREFETCH if b0 + PREFETCH < b1 else b1):
                _prefetch_dense_row(X, order[k], row_scale, sample_weight, Yp, y0)
            for k in range(b0, b1):
                if k + PREFETCH < b1:
                    _prefetch_dense_row(
                        X, order[k + PREFETCH], row_scale, sample_weight, Yp, y0
                    )
                i = order[k]
                if incx == 1:
                    memcpy(&Xb3[lane, k - b0, 0], &X[i, 0], n_features * sizeof(floating))
                else:
                    for j in range(n_features):
                        Xb3[lane, k - b0, j] = X[i, j]
            rows = &Xb3[lane, 0, 0]
            ldr = nf
        _gemm(c'T', c'N', <int> n_out, <int> (b1 - b0), nf, W, nf,
              rows, ldr, 0.0, &Z3[lane, 0, 0], <int> n_out)
        if floating is float and pinned == 0 and (
            loss_code == LOG or loss_code == SOFTMAX
        ):
            _float_block_loss(
                loss_code, b1 - b0, n_out, <float *> &Z3[lane, 0, 0],
                <float *> &G3[lane, 0, 0], &order[b0], <const float *> &intercept[0],
                <const float *> Yp, y0, y1, &y_idx[0],
                <const float *> &row_scale[0], <const float *> &sample_weight[0],
                size, fit_intercept, &lane_b[lane, 0], &lane_sums[lane, 0],
            )
        else:
            for k in range(b0, b1):
                i = order[k]
                for c in range(n_out):
                    scores[c + pinned] = Z3[lane, k - b0, c] + intercept[c]
                _row_loss(
                    loss_code, loss_param, n_out, pinned, Yp + i * y0, y1,
                    y_idx[i] if loss_code >= SOFTMAX else 0, scores, grads,
                    sample_weight[i], &lane_sums[lane, 0],
                )
                f = row_scale[i] / size
                for c in range(n_out):
                    g = grads[c + pinned] * f
                    G3[lane, k - b0, c] = g
                    if fit_intercept:
                        lane_b[lane, c] += g
        _gemm(c'N', c'T', nf, <int> n_out, <int> (b1 - b0), rows, ldr,
              &G3[lane, 0, 0], <int> n_out, 0.0 if first else 1.0,
              &GR3[lane, 0, 0], nf)
        first = False
        b0 = b0 + n_lanes * block_rows


def sgd_epoch_dense(
    const floating[:, :] X,
    const floating[:, :] Y,
    const Py_ssize_t[::1] y_idx,
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
    double[::1] data_sums,
    double[::1] penalty_sums,
):
    """Per-sample plain SGD on dense ``X``; returns ``(t, l1_u)``.

    Margin losses read the +1/-1 targets ``Y``; multiclass losses read the
    class indices ``y_idx``. With two classes a multiclass model has one row,
    and the score of class 0 is pinned to 0. The weighted loss and the
    penalty are added to ``data_sums`` and ``penalty_sums`` (per column).

    ``l2 / 2 * |W|^2 + l1 * |W|_1`` is the penalty (``l2`` and ``l1`` include
    ``alpha``; ``alpha`` itself is for the 'optimal' rate).
    """
    cdef Py_ssize_t n_rows = order.shape[0]
    cdef Py_ssize_t n_out = coef.shape[0]
    cdef Py_ssize_t n_features = coef.shape[1]
    cdef Py_ssize_t k, i, c, j
    cdef double lr, g, scale, w, before, kk, a
    cdef bint penalised = l1 != 0.0 or l2 != 0.0
    cdef bint averaging
    cdef Py_ssize_t pinned = 1 if loss_code >= SOFTMAX and n_out == 1 else 0
    # Without L1 and averaging, the weights are kept as wscale * coef: the L2
    # decay of a step is one multiplication of wscale, a row whose loss has a
    # zero slope costs no pass over the weights, and the squared norm that the
    # penalty value needs is updated from the dot products (Bottou's trick,
    # as in scikit-learn). Otherwise each step makes one fused pass per row.
    cdef bint scaled = l1 == 0.0 and average == 0
    cdef int nf = <int> n_features
    cdef double wscale = 1.0
    if X.strides[1] != sizeof(floating) or X.strides[0] <= 0:
        raise ValueError("sgd_epoch_dense needs rows of unit stride, in order")
    cdef double[::1] scores_ = np.zeros(n_out + 1)
    cdef double[::1] grads_ = np.zeros(n_out + 1)
    cdef double[::1] dots_ = np.zeros(n_out)
    cdef double[::1] vsq_ = np.zeros(n_out)  # per column |coef|^2 (scaled)
    cdef double[::1] sq_ = np.zeros(n_out)
    cdef double[::1] ab_ = np.zeros(n_out)
    cdef double *scores = &scores_[0]
    cdef double *grads = &grads_[0]
    cdef double *dots = &dots_[0]
    cdef const floating *Yp = &Y[0, 0]
    cdef Py_ssize_t y0 = Y.strides[0] // sizeof(floating)
    cdef Py_ssize_t y1 = Y.strides[1] // sizeof(floating)
    cdef double *dsum = &data_sums[0]
    cdef double *vsq = &vsq_[0]
    with nogil:
        if scaled:
            for c in range(n_out):
                for j in range(n_features):
                    vsq[c] += coef[c, j] * coef[c, j]
        for k in range(n_rows):
            i = order[k]
            if k + 1 < n_rows:
                _prefetch_dense_row(X, order[k + 1], row_scale, sample_weight, Yp, y0)
            lr = _rate(schedule_code, t, eta0, power_t, alpha, t0)
            scale = row_scale[i]
            if l1 != 0.0:
                l1_u = l1_u + lr * l1
            averaging = average > 0 and average <= t
            kk = t - average + 1.0
            for c in range(n_out):
                # One BLAS call per column (not one GEMV for all): a column's
                # numbers then do not depend on which columns share the call,
                # so splitting the columns over threads changes no bit.
                dots[c] = _dot(nf, &X[i, 0], 1, &coef[c, 0])
                scores[c + pinned] = wscale * dots[c] + intercept[c]
            _row_loss(
                loss_code, loss_param, n_out, pinned, Yp + i * y0, y1,
                y_idx[i] if loss_code >= SOFTMAX else 0, scores, grads,
                sample_weight[i], dsum,
            )
            if scaled:
                if l2 != 0.0:
                    for c in range(n_out):
                        penalty_sums[c] += 0.5 * l2 * (wscale * wscale * vsq[c])
                    wscale = wscale * (1.0 - lr * l2)
                    if fabs(wscale) < 1e-9:
                        # Fold the scale into the weights before it underflows.
                        for c in range(n_out):
                            for j in range(n_features):
                                coef[c, j] = coef[c, j] * wscale
                            vsq[c] = vsq[c] * wscale * wscale
                            dots[c] = dots[c] * wscale
                        wscale = 1.0
                for c in range(n_out):
                    g = grads[c + pinned] * scale
                    if g != 0.0:
                        a = -lr * g / wscale
                        _axpy(nf, a, &X[i, 0], 1, &coef[c, 0])
                        vsq[c] += 2.0 * a * dots[c] + a * a * _dot(
                            nf, &X[i, 0], 1, <floating *> &X[i, 0]
                        )
                    if fit_intercept:
                        intercept[c] = intercept[c] + (-lr * g)
                t = t + 1.0
                continue
            for c in range(n_out):
                g = grads[c + pinned] * scale
                sq_[c] = 0.0
                ab_[c] = 0.0
                # One pass per row: the penalty at the weights before the
                # step, the step, the L1 truncation and the running average.
                # Each coordinate's operations are independent of the others,
                # so this is the NumPy engine's sequence of whole-array steps.
                for j in range(n_features):
                    w = coef[c, j]
                    if penalised:
                        sq_[c] += w * w
                        ab_[c] += fabs(w)
                    coef[c, j] = w + (-lr * (g * X[i, j] + l2 * w))
                    if l1 != 0.0:
                        before = coef[c, j]
                        w = _truncate(before, l1_u, l1_q[c, j])
                        coef[c, j] = w
                        l1_q[c, j] = l1_q[c, j] + (<floating>w - <floating>before)
                    if averaging:
                        avg_coef[c, j] = avg_coef[c, j] + (coef[c, j] - avg_coef[c, j]) / kk
                if fit_intercept:
                    intercept[c] = intercept[c] + (-lr * g)
                if averaging:
                    avg_intercept[c] = avg_intercept[c] + (intercept[c] - avg_intercept[c]) / kk
                if penalised:
                    penalty_sums[c] += (0.5 * l2 * sq_[c]) + l1 * ab_[c]
            t = t + 1.0
        if scaled and wscale != 1.0:
            for c in range(n_out):
                for j in range(n_features):
                    coef[c, j] = coef[c, j] * wscale
    return t, l1_u


def minibatch_epoch(
    const floating[:, :] X,
    const floating[::1] X_data,
    const index_t[::1] X_indices,
    const index_t[::1] X_indptr,
    bint sparse,
    const floating[:, :] Y,
    const Py_ssize_t[::1] y_idx,
    const floating[::1] row_scale,
    const floating[::1] sample_weight,
    const Py_ssize_t[::1] order,
    Py_ssize_t batch_size,
    floating[:, :] coef,
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
    int opt_code,
    double p1,
    double p2,
    double eps,
    double opt_count,
    floating[:, ::1] s1,
    floating[:, ::1] s2,
    floating[::1] s1_b,
    floating[::1] s2_b,
    Py_ssize_t average,
    floating[:, ::1] avg_coef,
    floating[::1] avg_intercept,
    double l1_u,
    floating[:, ::1] l1_u_coord,
    floating[:, :] l1_q,
    floating[:, :] grad,
    double[::1] data_sums,
    double[::1] penalty_sums,
    int n_threads=1,
):
    """Mini-batch steps of any built-in optimizer; returns ``(t, l1_u, count)``.

    ``X`` is dense, or (``sparse``) given as the CSR arrays ``X_data``,
    ``X_indices``, ``X_indptr``. Batches are consecutive runs of
    ``batch_size`` entries of ``order``. Per batch: the penalty at the
    current weights, the scaled data gradient summed row by row, then one
    optimizer step per coordinate (``s1``, ``s2``, ``s1_b``, ``s2_b`` are the
    optimizer's state for coef and intercept, ``opt_count`` Adam's count),
    the L1 truncation and the running average.

    Plain SGD on CSR data keeps the weights as wscale * coef and touches only
    the columns of the batch's non-zeros: O(nnz) per batch unless averaging
    (whose running mean moves every weight). The other optimizers move every
    weight at every step (their velocities and moments, and the L2 term of
    the gradient, are dense), so their steps cost O(n_outputs * n_features).
    L1 truncation on CSR data is lazy in both cases: a column the batch does
    not touch pays its debt when it is next touched, as in the NumPy engine.
    """
    cdef Py_ssize_t n_rows = order.shape[0]
    cdef Py_ssize_t n_out = coef.shape[0]
    cdef Py_ssize_t n_features = coef.shape[1]
    cdef Py_ssize_t start, stop, size, k, i, c, j, p, q, n_cols
    cdef double lr, g, w, v, old, before, kk, u, step, sq, ab, f, a
    cdef bint nonzero
    cdef double m_corr = 1.0, v_corr = 1.0, precond = 1.0
    cdef double wscale = 1.0, dot, dot2
    cdef bint penalised = l1 != 0.0 or l2 != 0.0
    cdef bint averaging
    cdef bint scaled = sparse and opt_code == SGD
    cdef bint adaptive = opt_code >= ADAGRAD
    cdef Py_ssize_t pinned = 1 if loss_code >= SOFTMAX and n_out == 1 else 0
    cdef int nf = <int> n_features
    cdef int incx = 1 if sparse else <int> (X.strides[1] // sizeof(floating))
    cdef double[::1] scores_ = np.zeros(n_out + 1)
    cdef double[::1] grads_ = np.zeros(n_out + 1)
    cdef double[::1] grad_b_ = np.zeros(n_out)
    cdef double[::1] dots_ = np.zeros(n_out)  # per output: a row's scores, G, step
    cdef double[::1] vsq_ = np.zeros(n_out)  # scaled mode: |coef[c]|^2
    cdef double[::1] vabs_ = np.zeros(n_out)  # scaled mode: |coef[c]|_1
    cdef bint direct = scaled and batch_size == 1
    # Plain SGD on CSR without L1 replays the batch's rows at the step (one
    # axpy each, scaled by its gradient) instead of summing a gradient over
    # the union of their columns: the same step, without marking columns.
    cdef bint replay = scaled and not direct and l1 == 0.0
    cdef double[:, ::1] Gs = np.zeros(
        (min(batch_size, n_rows) if replay else 1, n_out)
    )
    cdef double acc
    cdef unsigned char[::1] touched = np.zeros(n_features if sparse else 1, np.uint8)
    cdef Py_ssize_t[::1] cols = np.zeros(n_features if sparse else 1, np.intp)
    # Dense batches go in blocks of at most 512 rows and 4 MiB: the gathered
    # rows, their scores and score gradients.
    cdef int ldx = 1 if sparse else <int> (X.strides[0] // sizeof(floating))
    # Rows BLAS can read in place: unit column stride, rows in increasing
    # memory order without overlap (else they are gathered).
    cdef bint row_major = not sparse and incx == 1 and ldx >= nf
    cdef Py_ssize_t rows_per_batch = min(batch_size, n_rows)
    cdef Py_ssize_t block_rows = 1 if sparse else max(
        1, min(rows_per_batch, 512, (1 << 22) // (n_features * sizeof(floating)))
    )
    if not sparse and rows_per_batch >= 128:
        # At least one block per lane, so that both threads have work.
        block_rows = min(block_rows, (rows_per_batch + LANES - 1) // LANES)
    cdef Py_ssize_t batch_rows = block_rows, b0, b1
    cdef bint in_order = True  # rows in order: blocks never need gathering
    for k in range(1, n_rows):
        if order[k] != order[k - 1] + 1:
            in_order = False
            break
    cdef object dtype = np.asarray(coef).dtype
    cdef bint gathers = not sparse and not (in_order and row_major)
    cdef Py_ssize_t lanes = 1 if sparse else LANES, n_blocks, lane, used
    cdef floating[:, :, ::1] Xb3 = np.zeros(
        (lanes, batch_rows if gathers else 1, n_features if gathers else 1), dtype
    )
    cdef floating[:, :, ::1] Z3 = np.zeros((lanes, batch_rows, n_out), dtype)
    cdef floating[:, :, ::1] G3 = np.zeros((lanes, batch_rows, n_out), dtype)
    cdef floating[:, :, ::1] GR3 = np.zeros(
        (lanes, n_out if not sparse else 1, n_features if not sparse else 1), dtype
    )
    cdef double[:, ::1] lane_b = np.zeros((lanes, n_out))
    cdef double[:, ::1] lane_sums = np.zeros((lanes, n_out))
    cdef double[:, ::1] lane_scores = np.zeros((lanes, n_out + 1))
    cdef double[:, ::1] lane_grads = np.zeros((lanes, n_out + 1))
    cdef int ldr
    cdef bint contiguous
    cdef const floating *rows
    cdef double *scores = &scores_[0]
    cdef double *grads = &grads_[0]
    cdef double *grad_b = &grad_b_[0]
    cdef double *dots = &dots_[0]
    cdef double[::1] raw_ = np.zeros(n_out)  # a row's dot products with coef
    cdef double *raw = &raw_[0]
    cdef double xsq  # a row's squared norm
    cdef const floating *Yp = &Y[0, 0]
    cdef Py_ssize_t y0 = Y.strides[0] // sizeof(floating)
    cdef Py_ssize_t y1 = Y.strides[1] // sizeof(floating)
    cdef double *dsum = &data_sums[0]
    # Raw pointers and element strides into the weights and their companions
    # (coef may be column-major, see skgd._compiled): the compiler keeps the
    # strides in registers, which memoryview indexing does not allow.
    cdef floating *W = &coef[0, 0]
    cdef Py_ssize_t w0 = coef.strides[0] // sizeof(floating)
    cdef Py_ssize_t w1 = coef.strides[1] // sizeof(floating)
    cdef floating *GR = &grad[0, 0]
    cdef Py_ssize_t g0 = grad.strides[0] // sizeof(floating)
    cdef Py_ssize_t g1 = grad.strides[1] // sizeof(floating)
    cdef floating *Q = &l1_q[0, 0]
    cdef Py_ssize_t q0 = l1_q.strides[0] // sizeof(floating)
    cdef Py_ssize_t q1 = l1_q.strides[1] // sizeof(floating)
    cdef double *vsq = &vsq_[0]
    cdef double *vabs = &vabs_[0]
    with nogil:
        if scaled and penalised:
            for c in range(n_out):
                for j in range(n_features):
                    vsq[c] += W[c * w0 + j * w1] * W[c * w0 + j * w1]
                    vabs[c] += fabs(W[c * w0 + j * w1])
        start = 0
        while start < n_rows:
            stop = start + batch_size if start + batch_size < n_rows else n_rows
            size = stop - start
            lr = _rate(schedule_code, t, eta0, power_t, alpha, t0)
            if scaled and penalised:
                for c in range(n_out):
                    penalty_sums[c] += size * (
                        0.5 * l2 * (wscale * wscale * vsq[c])
                        + l1 * (fabs(wscale) * vabs[c])
                    )
            # The data gradient of the batch.
            n_cols = 0
            if sparse:
                # Row by row, marking the columns that the batch touches.
                for k in range(start, stop):
                    # A pipeline of prefetches: the row pointers six rows
                    # ahead, the row's entries four ahead, then its weights
                    # (whose columns are known by then) two ahead.
                    if k + 6 < n_rows:
                        __builtin_prefetch(&X_indptr[order[k + 6]])
                    if k + 4 < n_rows:
                        i = order[k + 4]
                        _prefetch_row(&X_data[0], &X_indices[0], &X_indptr[0], i)
                        __builtin_prefetch(&row_scale[i])
                        __builtin_prefetch(&sample_weight[i])
                        __builtin_prefetch(&Yp[i * y0])
                    if k + 2 < n_rows and n_out > 1:
                        # One output's weights (8 bytes per column) mostly
                        # stay cached; several outputs' do not.
                        _prefetch_weights(W, w1, &X_indices[0], &X_indptr[0], order[k + 2])
                    i = order[k]
                    # Non-zeros outer, outputs inner: with several outputs,
                    # coef is column-major here (see skgd._compiled).
                    xsq = 0.0
                    if n_out == 1:
                        # Accumulate in registers (a store per non-zero to
                        # dots[0] would chain every addition through memory),
                        # in two chains: each addition waits for the one before
                        # it, and the weights' loads are not the bottleneck.
                        dot = 0.0
                        dot2 = 0.0
                        p = X_indptr[i]
                        while p + 1 < X_indptr[i + 1]:
                            xsq += X_data[p] * X_data[p] + X_data[p + 1] * X_data[p + 1]
                            dot += X_data[p] * W[X_indices[p] * w1]
                            dot2 += X_data[p + 1] * W[X_indices[p + 1] * w1]
                            p = p + 2
                        if p < X_indptr[i + 1]:
                            xsq += X_data[p] * X_data[p]
                            dot += X_data[p] * W[X_indices[p] * w1]
                        dots[0] = dot + dot2
                    else:
                        for c in range(n_out):
                            dots[c] = 0.0
                        for p in range(X_indptr[i], X_indptr[i + 1]):
                            j = X_indices[p]
                            xsq += X_data[p] * X_data[p]
                            for c in range(n_out):
                                dots[c] += X_data[p] * W[c * w0 + j * w1]
                    for c in range(n_out):
                        raw[c] = dots[c]
                        scores[c + pinned] = wscale * dots[c] + intercept[c]
                    _row_loss(
                        loss_code, loss_param, n_out, pinned, Yp + i * y0, y1,
                        y_idx[i] if loss_code >= SOFTMAX else 0, scores, grads,
                    sample_weight[i], dsum,
                    )
                    f = row_scale[i] / size
                    if direct:
                        # One row per step: the step below reads the row itself.
                        for c in range(n_out):
                            grads[c + pinned] = grads[c + pinned] * f
                            if fit_intercept:
                                grad_b[c] = grads[c + pinned]
                        continue
                    if replay:
                        for c in range(n_out):
                            Gs[k - start, c] = grads[c + pinned] * f
                            if fit_intercept:
                                grad_b[c] += Gs[k - start, c]
                        continue
                    for p in range(X_indptr[i], X_indptr[i + 1]):
                        j = X_indices[p]
                        if not touched[j]:
                            touched[j] = 1
                            cols[n_cols] = j
                            n_cols = n_cols + 1
                    nonzero = False
                    for c in range(n_out):
                        dots[c] = grads[c + pinned] * f  # now the row's G
                        nonzero = nonzero or dots[c] != 0.0
                        if fit_intercept:
                            grad_b[c] += dots[c]
                    if nonzero:
                        for p in range(X_indptr[i], X_indptr[i + 1]):
                            j = X_indices[p]
                            for c in range(n_out):
                                GR[c * g0 + j * g1] += dots[c] * X_data[p]
            else:
                # Blocks of rows, dealt to LANES lanes in turn, each lane with
                # its own buffers and partial sums (added in lane order after
                # the batch): the lanes run in parallel threads when there is
                # more than one block, and the numbers never depend on the
                # number of threads.
                n_blocks = (size + block_rows - 1) // block_rows
                if n_blocks == 1 or n_threads == 1:
                    for lane in range(LANES if n_blocks > 1 else 1):
                        _dense_lane(
                            lane, LANES, start, stop, size, block_rows, X, order,
                            n_rows, row_major, ldx, incx, W, n_out, pinned,
                            intercept, loss_code, loss_param, Yp, y0, y1, y_idx,
                            row_scale, sample_weight, fit_intercept, Xb3, Z3, G3,
                            GR3, lane_b, lane_sums, lane_scores, lane_grads,
                        )
                else:
                    for lane in prange(
                        LANES, num_threads=n_threads, schedule="static"
                    ):
                        _dense_lane(
                            lane, LANES, start, stop, size, block_rows, X, order,
                            n_rows, row_major, ldx, incx, W, n_out, pinned,
                            intercept, loss_code, loss_param, Yp, y0, y1, y_idx,
                            row_scale, sample_weight, fit_intercept, Xb3, Z3, G3,
                            GR3, lane_b, lane_sums, lane_scores, lane_grads,
                        )
                used = LANES if n_blocks > 1 else 1
                for c in range(n_out):
                    for j in range(n_features):
                        g = GR3[0, c, j]
                        for lane in range(1, used):
                            g = g + GR3[lane, c, j]
                        GR[c * g0 + j * g1] = g
                    for lane in range(used):
                        grad_b[c] += lane_b[lane, c]
                        dsum[c] += lane_sums[lane, c]
                        lane_b[lane, c] = 0.0
                        lane_sums[lane, c] = 0.0
            # One step.
            if opt_code == ADAM:
                opt_count = opt_count + 1.0
                m_corr = 1.0 - pow(p1, opt_count)
                v_corr = 1.0 - pow(p2, opt_count)
            if l1 != 0.0 and not adaptive:
                l1_u = l1_u + lr * l1
            averaging = average > 0 and average <= t
            kk = t - average + 1.0
            if scaled:
                if l2 != 0.0:
                    wscale = wscale * (1.0 - lr * l2)
                    if fabs(wscale) < 1e-9:
                        # Fold the scale into the weights before it underflows.
                        for c in range(n_out):
                            vsq[c] = 0.0
                            vabs[c] = 0.0
                            for j in range(n_features):
                                W[c * w0 + j * w1] = W[c * w0 + j * w1] * wscale
                                vsq[c] += W[c * w0 + j * w1] * W[c * w0 + j * w1]
                                vabs[c] += fabs(W[c * w0 + j * w1])
                            raw[c] = raw[c] * wscale
                        wscale = 1.0
                if direct:
                    # Batch 1: step along the row's non-zeros, as scikit-learn.
                    i = order[start]
                    nonzero = False
                    for c in range(n_out):
                        dots[c] = -lr * grads[c + pinned] / wscale
                        nonzero = nonzero or dots[c] != 0.0
                    if nonzero and l1 == 0.0:
                        # A plain axpy; the norm follows from the row's dot
                        # products: |v + a x|^2 = |v|^2 + 2a x.v + a^2 |x|^2.
                        if n_out == 1:
                            dot = dots[0]
                            for p in range(X_indptr[i], X_indptr[i + 1]):
                                W[X_indices[p] * w1] += dot * X_data[p]
                        else:
                            for p in range(X_indptr[i], X_indptr[i + 1]):
                                j = X_indices[p]
                                for c in range(n_out):
                                    W[c * w0 + j * w1] += dots[c] * X_data[p]
                        if penalised:
                            for c in range(n_out):
                                vsq[c] += dots[c] * (2.0 * raw[c] + dots[c] * xsq)
                    elif l1 != 0.0:
                        for p in range(X_indptr[i], X_indptr[i + 1]):
                            j = X_indices[p]
                            for c in range(n_out):
                                old = W[c * w0 + j * w1]
                                _scaled_update(
                                    &W[c * w0 + j * w1], old + dots[c] * X_data[p], old,
                                    wscale, l1, l1_u, &Q[c * q0 + j * q1], penalised,
                                    &vsq[c], &vabs[c],
                                )
                a = -lr / wscale
                if replay:
                    for k in range(start, stop):
                        # Rows a batch ago are out of the cache by now: fetch
                        # entries four rows ahead and weights two ahead.
                        if k + 4 < stop:
                            _prefetch_row(
                                &X_data[0], &X_indices[0], &X_indptr[0], order[k + 4]
                            )
                        if k + 2 < stop and n_out > 1:
                            _prefetch_weights(
                                W, w1, &X_indices[0], &X_indptr[0], order[k + 2]
                            )
                        i = order[k]
                        nonzero = False
                        for c in range(n_out):
                            dots[c] = a * Gs[k - start, c]
                            nonzero = nonzero or dots[c] != 0.0
                        if not nonzero:
                            continue
                        if n_out == 1 and not penalised:
                            for p in range(X_indptr[i], X_indptr[i + 1]):
                                W[X_indices[p] * w1] += dots[0] * X_data[p]
                        elif n_out == 1:
                            acc = 0.0  # in a register: see the dot product
                            for p in range(X_indptr[i], X_indptr[i + 1]):
                                j = X_indices[p] * w1
                                old = W[j]
                                W[j] = <floating> (old + dots[0] * X_data[p])
                                acc += W[j] * W[j] - old * old
                            vsq[0] += acc
                        else:
                            for p in range(X_indptr[i], X_indptr[i + 1]):
                                j = X_indices[p]
                                for c in range(n_out):
                                    old = W[c * w0 + j * w1]
                                    W[c * w0 + j * w1] = <floating> (
                                        old + dots[c] * X_data[p]
                                    )
                                    if penalised:
                                        w = W[c * w0 + j * w1]
                                        vsq[c] += w * w - old * old
                for q in range(n_cols):
                    j = cols[q]
                    for c in range(n_out):
                        old = W[c * w0 + j * w1]
                        _scaled_update(
                            &W[c * w0 + j * w1], old + a * GR[c * g0 + j * g1], old,
                            wscale, l1, l1_u, &Q[c * q0 + j * q1], penalised,
                            &vsq[c], &vabs[c],
                        )
                        GR[c * g0 + j * g1] = 0.0
                if averaging:
                    for c in range(n_out):
                        for j in range(n_features):
                            avg_coef[c, j] = avg_coef[c, j] + (
                                wscale * W[c * w0 + j * w1] - avg_coef[c, j]
                            ) / kk
            else:
                for c in range(n_out):
                    sq = 0.0
                    ab = 0.0
                    for j in range(n_features):
                        w = W[c * w0 + j * w1]
                        if penalised:
                            sq += w * w
                            ab += fabs(w)
                        g = GR[c * g0 + j * g1] + l2 * w
                        if sparse:
                            GR[c * g0 + j * g1] = 0.0
                        step = _optimizer_step(
                            opt_code, g, lr, p1, p2, eps, m_corr, v_corr,
                            &s1[c, j], &s2[c, j], &precond,
                        )
                        W[c * w0 + j * w1] = w + step
                        if l1 != 0.0:
                            u = l1_u
                            if adaptive:
                                l1_u_coord[c, j] = l1_u_coord[c, j] + lr * l1 * precond
                                u = l1_u_coord[c, j]
                            if not sparse or touched[j]:
                                before = W[c * w0 + j * w1]
                                w = _truncate(before, u, Q[c * q0 + j * q1])
                                W[c * w0 + j * w1] = w
                                Q[c * q0 + j * q1] = Q[c * q0 + j * q1] + (<floating>w - <floating>before)
                        if averaging:
                            avg_coef[c, j] = avg_coef[c, j] + (W[c * w0 + j * w1] - avg_coef[c, j]) / kk
                    if penalised:
                        penalty_sums[c] += size * (0.5 * l2 * sq + l1 * ab)
            for c in range(n_out):
                step = _optimizer_step(
                    opt_code, grad_b[c], lr, p1, p2, eps, m_corr, v_corr,
                    &s1_b[c], &s2_b[c], &precond,
                )
                grad_b[c] = 0.0
                if fit_intercept:
                    intercept[c] = intercept[c] + step
                if averaging:
                    avg_intercept[c] = avg_intercept[c] + (intercept[c] - avg_intercept[c]) / kk
            for q in range(n_cols):
                touched[cols[q]] = 0
            t = t + 1.0
            start = stop
        if scaled and wscale != 1.0:
            for c in range(n_out):
                for j in range(n_features):
                    W[c * w0 + j * w1] = W[c * w0 + j * w1] * wscale
    return t, l1_u, opt_count


def vector_math_f32(const float[::1] x):
    """``(e^min(x, 0), log(1 + e^-x), -1 / (1 + e^x))`` from ``_vmath.h``.

    The float32 SIMD functions of the softmax and logistic blocks, exposed
    so that tests can hold them to float64 references.
    """
    e = np.minimum(x, 0).astype(np.float32)
    loss = np.array(x, dtype=np.float32)
    slope = np.empty_like(loss)
    cdef float[::1] ev = e, lv = loss, sv = slope
    with nogil:
        skgd_exp_nonpos_f32(<int> ev.shape[0], &ev[0])
        skgd_logistic_f32(<int> lv.shape[0], &lv[0], &sv[0])
    return e, loss, slope
