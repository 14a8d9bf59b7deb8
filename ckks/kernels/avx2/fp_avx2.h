/* fp_avx2.h - exact modular arithmetic on 4 doubles with FMA (after D. Harvey, "Faster
 * arithmetic for number-theoretic transforms", 2014), for primes q < 2^50. Integers below 2^53
 * are exact doubles; a product Y*w is split exactly into h + l (h = fl(Y*w), l = fma(Y,w,-h));
 * the quotient is round(Y * (w/q)) with the 1.5*2^52 rounding trick. Only for AVX2 files. */
#ifndef BEAA_FP_AVX2_H
#define BEAA_FP_AVX2_H
#include <immintrin.h>
#include <stdint.h>

/* No contraction of a separate multiply and add into an FMA: h = fl(Y w) must stay rounded.
 * (No mul -> add pattern below could be fused harmfully anyway; GCC does not contract in ISO
 * C mode, and clang honours the standard pragma.) */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define BEAA_FP_TWO52 4503599627370496.0      /* 2^52 */
#define BEAA_FP_RND   6755399441055744.0      /* 1.5 * 2^52: x + RND - RND = round(x), |x| < 2^51 */

/* u64 lanes in [0, 2^52) -> doubles, minus `shift` (an integer < 2^52 as double). */
static inline __m256d beaa_fp_from_u64(__m256i x, __m256d two52_plus_shift)
{
    const __m256i bits = _mm256_set1_epi64x(0x4330000000000000LL); /* 2^52 */
    return _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(x, bits)), two52_plus_shift);
}
/* doubles holding integers in [0, 2^52) -> u64 lanes. */
static inline __m256i beaa_fp_to_u64(__m256d x)
{
    const __m256d two52 = _mm256_set1_pd(BEAA_FP_TWO52);
    return _mm256_xor_si256(_mm256_castpd_si256(_mm256_add_pd(x, two52)),
                            _mm256_castpd_si256(two52));
}
/* Y * w mod q in [-0.75q, 0.75q], exactly, for integers |Y| <= 2^51 (and |Y w / q| < 2^51),
 * 0 <= w < q < 2^50, wq = fl(w / q). */
static inline __m256d beaa_fp_mulmod(__m256d y, __m256d w, __m256d wq, __m256d q)
{
    const __m256d rnd = _mm256_set1_pd(BEAA_FP_RND);
    __m256d h = _mm256_mul_pd(y, w);
    __m256d l = _mm256_fmsub_pd(y, w, h);                       /* exact: y*w = h + l */
    __m256d qd = _mm256_sub_pd(_mm256_fmadd_pd(y, wq, rnd), rnd); /* round(y w / q) +- 0.25 */
    return _mm256_add_pd(_mm256_fnmadd_pd(qd, q, h), l);        /* exact, |.| <= 0.75q */
}
/* x mod q in [-0.5q - 1, 0.5q + 1] for integers |x| < 2^53 (x is its own rounding error). */
static inline __m256d beaa_fp_reduce(__m256d x, __m256d q, __m256d qinv)
{
    const __m256d rnd = _mm256_set1_pd(BEAA_FP_RND);
    __m256d qd = _mm256_sub_pd(_mm256_fmadd_pd(x, qinv, rnd), rnd);
    return _mm256_fnmadd_pd(qd, q, x);
}
/* x + q where x < 0 (x in (-q, q) -> [0, q)). */
static inline __m256d beaa_fp_make_positive(__m256d x, __m256d q)
{
    __m256d neg = _mm256_cmp_pd(x, _mm256_setzero_pd(), _CMP_LT_OQ);
    return _mm256_add_pd(x, _mm256_and_pd(neg, q));
}
/* x - q where x >= q (x in [0, 2q) -> [0, q)). */
static inline __m256d beaa_fp_sub_if_ge(__m256d x, __m256d q)
{
    __m256d ge = _mm256_cmp_pd(x, q, _CMP_GE_OQ);
    return _mm256_sub_pd(x, _mm256_and_pd(ge, q));
}

#endif
