/* Exponential and log-loss over arrays, float32 and float64, in loops the
 * compiler can vectorise.
 *
 * libm's exp and log are calls: a loop over them runs one element at a
 * time. These are branch-free (selects, no calls), so GCC and Clang turn
 * each loop into SIMD code. Used by the compiled kernel for dense blocks,
 * whose softmax and logistic losses otherwise spend much of their time in
 * libm. Accuracy: a few ulps of the type.
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
 * ifunc): for x86-64-v3 (AVX2 + FMA, 8 floats per instruction), and for the
 * baseline x86-64 (SSE2, 4 floats). Elsewhere they are compiled once.
 * The clone is named by the feature level, not by a CPU: GCC dispatches
 * "arch=haswell" on the CPU's model, which only Haswell cores match (an
 * AMD EPYC with AVX2 ran the SSE2 loops). GCC 12 is the first to dispatch
 * on a feature level. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12 \
    && defined(__x86_64__) && defined(__GLIBC__)
#define SKGD_SIMD_CLONES \
    __attribute__((target_clones("arch=x86-64-v3", "default")))
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

/* e^x for x <= 0 in float64, as skgd_expf_nonpos in float32. */
SKGD_INLINE double skgd_exp_nonpos(double x)
{
    /* e^-708 = 3.3e-308 is the smallest power of e above the normal
     * range's floor; below it, 0 (no subnormal gradients). */
    const double lowest = -708.0;
    /* 1.5 * 2^52: t = y + magic holds round(y) in its low mantissa bits. */
    const double round_magic = 6755399441055744.0;
    const double log2e = 1.4426950408889634;
    /* ln 2 in two parts, the first with 32 bits, so n * ln2_hi is exact. */
    const double ln2_hi = 6.93147180369123816490e-01;
    const double ln2_lo = 1.90821492927058770002e-10;
    double xc, t, n, r, p, scale;
    int64_t bits;
    xc = x < lowest ? lowest : x;
    t = xc * log2e + round_magic;
    n = t - round_magic;
    r = xc - n * ln2_hi - n * ln2_lo; /* |r| <= ln(2) / 2 */
    /* Taylor series of e^r to r^13: the first term left out is below
     * 4e-18 of e^r on |r| <= 0.347. */
    p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    /* 2^n: t's bits hold n + 2^51 in the mantissa; adding the exponent
     * bias and shifting by 52 pushes the 2^51 out of the 64 bits. No
     * float-to-integer conversion, which AVX2 lacks for 64 bits. */
    memcpy(&bits, &t, sizeof bits);
    bits = (int64_t)((uint64_t)(bits + 1023) << 52);
    memcpy(&scale, &bits, sizeof scale);
    return x < lowest ? 0.0 : p * scale;
}

/* e^x in place over n numbers, each <= 0. */
SKGD_SIMD_CLONES static void skgd_exp_nonpos_f64(int n, double *restrict x)
{
    for (int k = 0; k < n; k++)
        x[k] = skgd_exp_nonpos(x[k]);
}

/* skgd_logistic_f32 in float64. */
SKGD_SIMD_CLONES static void skgd_logistic_f64(int n, double *restrict m, double *restrict slope)
{
    for (int k = 0; k < n; k++) {
        double mk = m[k];
        double am = mk < 0.0 ? -mk : mk;
        double r = skgd_exp_nonpos(-am);
        double inv = 1.0 / (1.0 + r);
        /* 2 atanh(s), s = r / (2 + r) <= 1/3, to s^35: the first term left
         * out is below 1e-17 of the sum. */
        double s = r / (2.0 + r);
        double s2 = s * s;
        double q = 1.0 / 35.0;
        for (int i = 16; i >= 0; i--)
            q = q * s2 + 1.0 / (2 * i + 1);
        m[k] = 2.0 * s * q + (mk < 0.0 ? -mk : 0.0);
        slope[k] = -(mk > 0.0 ? r * inv : inv);
    }
}

#endif
