/* dot_avx2.c - AVX2 key-switching inner product (ks_dot2 in kernels.h) for q < 2^50 in exact
 * double-precision arithmetic (fp_avx2.h): each digit value v is the multiplier of both key
 * products (its quotient v/q computed once), every term is exact in [-0.75q, 0.75q] and the sums
 * are folded every 4 digits. Larger primes or more than 63 digits go to the ref kernel. */
#include "ckks/kernels/avx2/avx2.h"
#include "ckks/kernels/avx2/fp_avx2.h"
#include "ckks/kernels/ref/ref.h"
#include "ckks/ntt.h"

void beaa_ks_dot2_avx2(uint64_t *r0, uint64_t *r1, const uint64_t *const *d,
                       const uint64_t *const *kb, const uint64_t *const *ka, size_t nd, size_t n,
                       const beaa_modulus *m, const uint64_t *c0, const uint64_t *c1, uint64_t w)
{
    if (m->q >= BEAA_NTT_SMALL_Q_BOUND || nd == 0 || nd > 63 || (n & 3) != 0) {
        beaa_ks_dot2_ref(r0, r1, d, kb, ka, nd, n, m, c0, c1, w);
        return;
    }
    const double pd = (double)m->q;
    const __m256d vp = _mm256_set1_pd(pd), vpinv = _mm256_set1_pd(1.0 / pd);
    const __m256d off = _mm256_set1_pd(BEAA_FP_TWO52);
    /* the multiplier of c0, c1 and its quotient by q (as for a digit below) */
    const __m256d wv = _mm256_set1_pd((double)w), wq = _mm256_mul_pd(wv, vpinv);
    for (size_t k = 0; k < n; k += 4) {
        __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
        if (c0) {
            acc0 = beaa_fp_from_u64(_mm256_loadu_si256((const __m256i *)(c0 + k)), off);
            acc1 = beaa_fp_from_u64(_mm256_loadu_si256((const __m256i *)(c1 + k)), off);
            if (w != 1) { /* one more exact term in [-0.75q, 0.75q] */
                acc0 = beaa_fp_mulmod(acc0, wv, wq, vp);
                acc1 = beaa_fp_mulmod(acc1, wv, wq, vp);
            }
        }
        for (size_t j = 0; j < nd; j++) {
            const __m256i vi = _mm256_loadu_si256((const __m256i *)(d[j] + k));
            /* v, key < q < 2^50. vq = fl(v * fl(1/q)) is within 2^-52 relative of v/q, so
             * key * vq is within 0.25 of key*v/q: the rounded quotient is off by <= 0.75 and
             * each term is exact in [-0.75q, 0.75q] (same argument as beaa_fp_mulmod). */
            __m256d v = beaa_fp_from_u64(vi, off);
            __m256d vq = _mm256_mul_pd(v, vpinv);
            __m256d b = beaa_fp_from_u64(_mm256_loadu_si256((const __m256i *)(kb[j] + k)), off);
            __m256d a = beaa_fp_from_u64(_mm256_loadu_si256((const __m256i *)(ka[j] + k)), off);
            acc0 = _mm256_add_pd(acc0, beaa_fp_mulmod(b, v, vq, vp));
            acc1 = _mm256_add_pd(acc1, beaa_fp_mulmod(a, v, vq, vp));
            /* |acc| <= q (start or after a fold) + 4 * 0.75q < 2^53 */
            if ((j & 3) == 3) {
                acc0 = beaa_fp_reduce(acc0, vp, vpinv);
                acc1 = beaa_fp_reduce(acc1, vp, vpinv);
            }
        }
        acc0 = beaa_fp_make_positive(beaa_fp_reduce(acc0, vp, vpinv), vp);
        acc1 = beaa_fp_make_positive(beaa_fp_reduce(acc1, vp, vpinv), vp);
        _mm256_storeu_si256((__m256i *)(r0 + k), beaa_fp_to_u64(acc0));
        _mm256_storeu_si256((__m256i *)(r1 + k), beaa_fp_to_u64(acc1));
    }
}
