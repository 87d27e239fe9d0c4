/* Float32 exponential and log-loss over arrays, in loops the compiler can
 * vectorise.
 *
 * libm's expf and logf are calls: a loop over them runs one element at a
 * time. These are branch-free (selects, no calls), so GCC and Clang turn
 * each loop into SIMD code. Used by the compiled kernel for float32 data,
 * whose softmax and logistic losses otherwise spend most of their time in
 * libm. Accuracy: a few float32 ulps, far below the data's precision.
 *
 * Vectorising the selects (a ? b : c on floats) needs -fno-trapping-math,
 * which setup.py passes: it lets the compiler evaluate both sides, and
 * changes no value.
 */
#ifndef SKGD_VMATH_H
#define SKGD_VMATH_H

#include <stdint.h>
#include <string.h>

/* The array loops are compiled twice where GCC can pick at load time (glibc
 * ifunc): for AVX2 + FMA, 8 floats per instruction, and for the baseline
 * x86-64 (SSE2, 4 floats). Elsewhere they are compiled once. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) \
    && defined(__GLIBC__)
#define SKGD_SIMD_CLONES __attribute__((target_clones("arch=haswell", "default")))
#else
#define SKGD_SIMD_CLONES
#endif
#if defined(__GNUC__)
/* Inlined into each clone, so that it takes the clone's instruction set. */
#define SKGD_INLINE static inline __attribute__((always_inline))
#else
#define SKGD_INLINE static inline
#endif

/* e^x for x <= 0 (the kernel only exponentiates non-positive numbers). */
SKGD_INLINE float skgd_expf_nonpos(float x)
{
    /* Below this, e^x (< 1.7e-38) is returned as 0: a tiny normal value
     * would turn into subnormal gradients, which slow every later product
     * down a hundredfold, and carries nothing at float32 precision. */
    const float lowest = -87.0f;
    /* Adding then subtracting 1.5 * 2^23 rounds to the nearest integer
     * in float arithmetic, a form that vectorises without SSE4.1. */
    const float round_magic = 12582912.0f;
    const float log2e = 1.44269504088896341f;
    /* ln 2 split in two, so n * ln2_hi is exact for |n| < 2^9. */
    const float ln2_hi = 0.693359375f;
    const float ln2_lo = -2.12194440e-4f;
    float n, r, r2, p, scale, xc;
    int32_t bits;
    xc = x < lowest ? lowest : x;
    n = (xc * log2e + round_magic) - round_magic;
    r = xc - n * ln2_hi - n * ln2_lo; /* |r| <= ln(2) / 2 */
    r2 = r * r;
    /* Minimax polynomial of (e^r - 1 - r) / r^2 on [-ln2/2, ln2/2]. */
    p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r2 + r + 1.0f;
    /* 2^n from its exponent bits; n >= -126 here, a normal float. */
    bits = ((int32_t)n + 127) << 23;
    memcpy(&scale, &bits, sizeof scale);
    return x < lowest ? 0.0f : p * scale;
}

/* e^x in place over n numbers, each <= 0. */
SKGD_SIMD_CLONES static void skgd_exp_nonpos_f32(int n, float *restrict x)
{
    for (int k = 0; k < n; k++)
        x[k] = skgd_expf_nonpos(x[k]);
}

/* The logistic loss log(1 + e^-m) of n margins m, in place, and its slope
 * dLoss/dm = -1 / (1 + e^m) into slope. */
SKGD_SIMD_CLONES static void skgd_logistic_f32(int n, float *restrict m, float *restrict slope)
{
    for (int k = 0; k < n; k++) {
        float mk = m[k];
        float am = mk < 0.0f ? -mk : mk;
        /* One exponential of -|m| <= 0 serves both signs of m. */
        float r = skgd_expf_nonpos(-am);
        float inv = 1.0f / (1.0f + r);
        /* log1p(r) = 2 atanh(s) with s = r / (2 + r) in [0, 1/3]: a series
         * in s^2 <= 1/9 whose eight terms leave a relative error of 2e-9,
         * and which stays exact as r goes to 0 (1 + r would round r off). */
        float s = r / (2.0f + r);
        float s2 = s * s;
        float q = 1.0f / 15.0f;
        q = q * s2 + 1.0f / 13.0f;
        q = q * s2 + 1.0f / 11.0f;
        q = q * s2 + 1.0f / 9.0f;
        q = q * s2 + 1.0f / 7.0f;
        q = q * s2 + 1.0f / 5.0f;
        q = q * s2 + 1.0f / 3.0f;
        q = q * s2 + 1.0f;
        float log1p_r = 2.0f * s * q;
        m[k] = log1p_r + (mk < 0.0f ? -mk : 0.0f);
        slope[k] = -(mk > 0.0f ? r * inv : inv);
    }
}

#endif
