/* The two products of a dense block of rows, for few outputs, without BLAS.
 *
 * A dense batch's gradient is Z = X_b W^T (the scores) and GR += G^T X_b (the
 * data gradient), with W of n_out rows, n_out small (1 for binary losses, the
 * number of classes for multiclass ones). BLAS's GEMM packs both operands
 * into panels on every call, which costs as much as the product itself when
 * one side has ten rows; here nothing is packed (the caller copies a few
 * rows at a time into an aligned buffer, _fast.pyx's _piece_rows), and the
 * kernel keeps small tiles of sums in vector registers:
 *
 * - scores: 4 rows x 2 outputs (8 rows for one output) of dot products,
 *   8 vector sums over the features, their lanes added up at the end by
 *   shuffles (skgd_sums8);
 * - gradient: 2 outputs x 16 features of GR in registers while the block's
 *   rows stream past, each row's score gradients broadcast.
 *
 * The kernel reads a block of a few rows twice (scores, then gradient, the
 * loss in between): the second read comes from the L1 cache, so X is read
 * from memory once per step.
 *
 * Every element of GR is summed over the rows in row order and every score
 * over the features in a fixed order, whatever the thread: the numbers do
 * not depend on how many threads run the lanes. They may differ in the last
 * bits between machines, as BLAS's do: the AVX2 clone fuses multiply-adds.
 *
 * SKGD_DENSE_KERNELS(T, V, N, SUFFIX) writes both functions for the element
 * type T with V a GCC vector of N elements of T (32 bytes), so that the
 * float and double kernels are one text.
 */
#ifndef SKGD_DENSE_H
#define SKGD_DENSE_H

#include <string.h>

#include "_vmath.h" /* SKGD_SIMD_CLONES, SKGD_INLINE */

/* The helpers that pass vectors by value are always inlined: no call, so
 * no calling convention for GCC to warn about. */
#pragma GCC diagnostic ignored "-Wpsabi"

typedef double skgd_v4d __attribute__((vector_size(32)));
typedef float skgd_v8f __attribute__((vector_size(32)));

/* Lanes picked from two vectors (lanes of b numbered after a's): Clang's and
 * GCC 12's __builtin_shufflevector, older GCC's __builtin_shuffle. */
#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define SKGD_SHUFFLEVECTOR 1
#endif
#endif
#ifdef SKGD_SHUFFLEVECTOR
#define SKGD_PICK4(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#define SKGD_PICK8(a, b, i, j, k, l, m, n, o, p) \
    __builtin_shufflevector(a, b, i, j, k, l, m, n, o, p)
#else
typedef long long skgd_mask4 __attribute__((vector_size(32)));
typedef int skgd_mask8 __attribute__((vector_size(32)));
#define SKGD_PICK4(a, b, i, j, k, l) __builtin_shuffle(a, b, (skgd_mask4){i, j, k, l})
#define SKGD_PICK8(a, b, i, j, k, l, m, n, o, p) \
    __builtin_shuffle(a, b, (skgd_mask8){i, j, k, l, m, n, o, p})
#endif

/* The sums of 8 vectors of a score tile, each vector's lanes added up: in
 * shuffles and vector adds (a tree over the lanes, in a fixed order)
 * instead of one scalar add per lane. out[k] is the sum of v[k]. */
SKGD_INLINE void skgd_sums8_f64(const skgd_v4d v[8], double out[8])
{
    for (int h = 0; h < 2; h++) {
        const skgd_v4d *a = v + 4 * h;
        /* [a0 lanes 0+1, a1 lanes 0+1, a0 lanes 2+3, a1 lanes 2+3] */
        skgd_v4d t0 = SKGD_PICK4(a[0], a[1], 0, 4, 2, 6)
                      + SKGD_PICK4(a[0], a[1], 1, 5, 3, 7);
        skgd_v4d t1 = SKGD_PICK4(a[2], a[3], 0, 4, 2, 6)
                      + SKGD_PICK4(a[2], a[3], 1, 5, 3, 7);
        skgd_v4d u = SKGD_PICK4(t0, t1, 0, 1, 4, 5) + SKGD_PICK4(t0, t1, 2, 3, 6, 7);
        memcpy(out + 4 * h, &u, sizeof u);
    }
}

SKGD_INLINE void skgd_sums8_f32(const skgd_v8f v[8], float out[8])
{
    skgd_v8f w[4], x0, x1, u;
    for (int i = 0; i < 4; i++)
        w[i] = SKGD_PICK8(v[2 * i], v[2 * i + 1], 0, 8, 2, 10, 4, 12, 6, 14)
               + SKGD_PICK8(v[2 * i], v[2 * i + 1], 1, 9, 3, 11, 5, 13, 7, 15);
    x0 = SKGD_PICK8(w[0], w[1], 0, 1, 8, 9, 4, 5, 12, 13)
         + SKGD_PICK8(w[0], w[1], 2, 3, 10, 11, 6, 7, 14, 15);
    x1 = SKGD_PICK8(w[2], w[3], 0, 1, 8, 9, 4, 5, 12, 13)
         + SKGD_PICK8(w[2], w[3], 2, 3, 10, 11, 6, 7, 14, 15);
    u = SKGD_PICK8(x0, x1, 0, 1, 2, 3, 8, 9, 10, 11)
        + SKGD_PICK8(x0, x1, 4, 5, 6, 7, 12, 13, 14, 15);
    memcpy(out, &u, sizeof u);
}

#define SKGD_DENSE_KERNELS(T, V, N, SUFFIX)                                    \
                                                                               \
    /* A vector of N elements from any address (memcpy: an unaligned load). */ \
    SKGD_INLINE V skgd_load_##SUFFIX(const T *p)                               \
    {                                                                          \
        V v;                                                                   \
        memcpy(&v, p, sizeof v);                                               \
        return v;                                                              \
    }                                                                          \
                                                                               \
    SKGD_INLINE void skgd_store_##SUFFIX(T *p, V v) { memcpy(p, &v, sizeof v); } \
                                                                               \
    SKGD_INLINE T skgd_hsum_##SUFFIX(V v)                                      \
    {                                                                          \
        T s = v[0];                                                            \
        for (int k = 1; k < N; k++)                                            \
            s += v[k];                                                         \
        return s;                                                              \
    }                                                                          \
                                                                               \
    /* Scores of R rows x O outputs, R * O <= 8 (4 x 2, or 8 x 1 for one    \
     * output); R and O are constants where this is inlined, so the tile's   \
     * loops unroll into registers. */                                        \
    SKGD_INLINE void skgd_score_tile_##SUFFIX(                                 \
        int R, int O, int nf, const T *x, int ldx, const T *w, int ldw,        \
        T *z, int ldz)                                                         \
    {                                                                          \
        V acc[8][2], xv[8], wv[2];                                             \
        int j, r, o;                                                           \
        for (r = 0; r < R; r++)                                                \
            for (o = 0; o < O; o++)                                            \
                acc[r][o] = (V){0};                                            \
        for (j = 0; j + N <= nf; j += N) {                                     \
            for (r = 0; r < R; r++)                                            \
                xv[r] = skgd_load_##SUFFIX(x + r * ldx + j);                   \
            for (o = 0; o < O; o++)                                            \
                wv[o] = skgd_load_##SUFFIX(w + o * ldw + j);                   \
            for (r = 0; r < R; r++)                                            \
                for (o = 0; o < O; o++)                                        \
                    acc[r][o] += xv[r] * wv[o];                                \
        }                                                                      \
        T sums[8];                                                             \
        if (R * O == 8) {                                                      \
            V flat[8];                                                         \
            for (r = 0; r < R; r++)                                            \
                for (o = 0; o < O; o++)                                        \
                    flat[r * O + o] = acc[r][o];                               \
            skgd_sums8_##SUFFIX(flat, sums);                                   \
        } else {                                                               \
            for (r = 0; r < R; r++)                                            \
                for (o = 0; o < O; o++)                                        \
                    sums[r * O + o] = skgd_hsum_##SUFFIX(acc[r][o]);           \
        }                                                                      \
        for (r = 0; r < R; r++)                                                \
            for (o = 0; o < O; o++) {                                          \
                T s = sums[r * O + o];                                         \
                for (int t = j; t < nf; t++)                                   \
                    s += x[r * ldx + t] * w[o * ldw + t];                      \
                z[r * ldz + o] = s;                                            \
            }                                                                  \
    }                                                                          \
                                                                               \
    SKGD_INLINE void skgd_score_rows_##SUFFIX(                                 \
        int R, int n_out, int nf, const T *x, int ldx, const T *w, int ldw,    \
        T *z)                                                                  \
    {                                                                          \
        int o = 0;                                                             \
        for (; o + 2 <= n_out; o += 2)                                         \
            skgd_score_tile_##SUFFIX(R, 2, nf, x, ldx, w + o * ldw, ldw,       \
                                     z + o, n_out);                            \
        if (o < n_out)                                                         \
            skgd_score_tile_##SUFFIX(R, 1, nf, x, ldx, w + o * ldw, ldw,       \
                                     z + o, n_out);                            \
    }                                                                          \
                                                                               \
    /* Z (nb x n_out, row-major) = X_b W^T, X_b's rows ldx apart, W's ldw. */ \
    SKGD_SIMD_CLONES static void skgd_block_scores_##SUFFIX(                   \
        int nb, int n_out, int nf, const T *x, int ldx, const T *w, int ldw,   \
        T *z)                                                                  \
    {                                                                          \
        int k = 0;                                                             \
        if (n_out == 1) /* 8 rows a tile: 8 sums in registers, as for more */ \
            for (; k + 8 <= nb; k += 8)                                        \
                skgd_score_tile_##SUFFIX(8, 1, nf, x + k * ldx, ldx, w, ldw,   \
                                         z + k, 1);                            \
        for (; k + 4 <= nb; k += 4)                                            \
            skgd_score_rows_##SUFFIX(4, n_out, nf, x + k * ldx, ldx, w, ldw,   \
                                     z + k * n_out);                           \
        /* The last rows one at a time: the 4-row tile's code stays small. */ \
        for (; k < nb; k++)                                                    \
            skgd_score_rows_##SUFFIX(1, n_out, nf, x + k * ldx, ldx, w, ldw,   \
                                     z + k * n_out);                           \
    }                                                                          \
                                                                               \
    /* GR[o, j0:j0+C*N] += sum_k G[k, o] X_b[k, j0:...] for O <= 2 outputs    \
     * and C <= 4 vectors of features, the rows in order. */                   \
    SKGD_INLINE void skgd_gradient_tile_##SUFFIX(                              \
        int O, int C, int nb, int n_out, const T *x, int ldx, const T *g,      \
        T *gr, int ldgr)                                                       \
    {                                                                          \
        V acc[2][4], xv[4], gv;                                                \
        int k, o, c;                                                           \
        for (o = 0; o < O; o++)                                                \
            for (c = 0; c < C; c++)                                            \
                acc[o][c] = skgd_load_##SUFFIX(gr + o * ldgr + c * N);         \
        for (k = 0; k < nb; k++) {                                             \
            for (c = 0; c < C; c++)                                            \
                xv[c] = skgd_load_##SUFFIX(x + k * ldx + c * N);               \
            for (o = 0; o < O; o++) {                                          \
                gv = g[k * n_out + o] - (V){0}; /* a broadcast: x - 0 is x */                                 \
                for (c = 0; c < C; c++)                                        \
                    acc[o][c] += gv * xv[c];                                   \
            }                                                                  \
        }                                                                      \
        for (o = 0; o < O; o++)                                                \
            for (c = 0; c < C; c++)                                            \
                skgd_store_##SUFFIX(gr + o * ldgr + c * N, acc[o][c]);         \
    }                                                                          \
                                                                               \
    SKGD_INLINE void skgd_gradient_outputs_##SUFFIX(                           \
        int O, int nb, int n_out, int nf, const T *x, int ldx, const T *g,     \
        T *gr, int ldgr)                                                       \
    {                                                                          \
        int j = 0, k, o;                                                       \
        for (; j + 4 * N <= nf; j += 4 * N)                                    \
            skgd_gradient_tile_##SUFFIX(O, 4, nb, n_out, x + j, ldx, g,        \
                                        gr + j, ldgr);                         \
        for (; j + N <= nf; j += N)                                            \
            skgd_gradient_tile_##SUFFIX(O, 1, nb, n_out, x + j, ldx, g,        \
                                        gr + j, ldgr);                         \
        for (; j < nf; j++)                                                    \
            for (o = 0; o < O; o++) {                                          \
                T s = gr[o * ldgr + j];                                        \
                for (k = 0; k < nb; k++)                                       \
                    s += g[k * n_out + o] * x[k * ldx + j];                    \
                gr[o * ldgr + j] = s;                                          \
            }                                                                  \
    }                                                                          \
                                                                               \
    /* GR (n_out x nf, rows ldgr apart) += G^T X_b, G nb x n_out row-major. */ \
    SKGD_SIMD_CLONES static void skgd_block_gradient_##SUFFIX(                 \
        int nb, int n_out, int nf, const T *x, int ldx, const T *g, T *gr,     \
        int ldgr)                                                              \
    {                                                                          \
        int o = 0;                                                             \
        for (; o + 2 <= n_out; o += 2)                                         \
            skgd_gradient_outputs_##SUFFIX(2, nb, n_out, nf, x, ldx, g + o,    \
                                           gr + o * ldgr, ldgr);               \
        if (o < n_out)                                                         \
            skgd_gradient_outputs_##SUFFIX(1, nb, n_out, nf, x, ldx, g + o,    \
                                           gr + o * ldgr, ldgr);               \
    }

SKGD_DENSE_KERNELS(double, skgd_v4d, 4, f64)
SKGD_DENSE_KERNELS(float, skgd_v8f, 8, f32)

#undef SKGD_DENSE_KERNELS

#endif
