/* basis_avx2.c - AVX2 fast basis conversion r[k] = sum_i x[i][k] c[i] mod p for p < 2^50, in
 * exact double-precision arithmetic (fp_avx2.h): each term is reduced with one FMA modular
 * product (|term| <= 0.75p), the sum is kept exact in a double and folded every 8 terms.
 * Needs x < 2^51 (true in key switching, where x are residues mod other < 2^50 primes): a block
 * of 4 outputs with a larger input, p >= 2^50 or more than 64 inputs goes to the ref code. */
#include <string.h>
#include "ckks/kernels/avx2/avx2.h"
#include "ckks/kernels/avx2/fp_avx2.h"
#include "ckks/kernels/ref/ref.h"
#include "ckks/ntt.h"

#define BASIS_MAX_IN 64

/* Scalar version of one output (the same sum as beaa_basis_conv_ref). */
static uint64_t basis_one(const uint64_t *const *x, const uint64_t *c, size_t n_in, size_t k,
                          const beaa_modulus *p)
{
    beaa_u128 acc = 0;
    for (size_t i = 0; i < n_in; i++) {
        acc += (beaa_u128)x[i][k] * c[i];
        if ((i & 31) == 31) acc = beaa_reduce128(acc, p);
    }
    return beaa_reduce128(acc, p);
}

/* The body of both conversions: with sub, corr[u[k]] is subtracted from output k (before the
 * final reduction: |acc - corr| stays far below 2^53). */
static inline __attribute__((always_inline)) void
basis_body(uint64_t *r, const uint64_t *const *x, const uint64_t *c, size_t n_in, size_t n,
           const beaa_modulus *p, const uint8_t *u, const uint64_t *corr, int sub)
{
    const double pd = (double)p->q;
    double cd[BASIS_MAX_IN], cq[BASIS_MAX_IN], crd[BASIS_MAX_IN + 1];
    for (size_t i = 0; i < n_in; i++) {
        cd[i] = (double)c[i]; /* c < p < 2^50: exact */
        cq[i] = (double)c[i] / pd;
    }
    if (sub)
        for (size_t i = 0; i <= n_in; i++) crd[i] = (double)corr[i];
    const __m256d vp = _mm256_set1_pd(pd), vpinv = _mm256_set1_pd(1.0 / pd);
    const __m256d off = _mm256_set1_pd(BEAA_FP_TWO52), rnd = _mm256_set1_pd(BEAA_FP_RND);
    const __m256i high = _mm256_set1_epi64x((long long)~((UINT64_C(1) << 51) - 1));
    size_t k = 0;
    /* Two 4-lane blocks at a time, every step of beaa_fp_mulmod issued for both before the next:
     * the same arithmetic as one block at a time (bit for bit), but two independent dependency
     * chains side by side, which measured 1.16-1.18x faster (4 inputs, N = 2^14). */
    for (; k + 8 <= n; k += 8) {
        __m256i big = _mm256_setzero_si256();
        __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
        for (size_t i = 0; i < n_in; i++) {
            const __m256d w = _mm256_broadcast_sd(cd + i), wq = _mm256_broadcast_sd(cq + i);
            __m256i x0 = _mm256_loadu_si256((const __m256i *)(x[i] + k));
            __m256i x1 = _mm256_loadu_si256((const __m256i *)(x[i] + k + 4));
            big = _mm256_or_si256(big, _mm256_or_si256(x0, x1));
            /* for x >= 2^51 a lane's value is garbage (maybe NaN); the block is redone below */
            __m256d y0 = beaa_fp_from_u64(x0, off), y1 = beaa_fp_from_u64(x1, off);
            __m256d h0 = _mm256_mul_pd(y0, w), h1 = _mm256_mul_pd(y1, w);
            __m256d q0 = _mm256_fmadd_pd(y0, wq, rnd), q1 = _mm256_fmadd_pd(y1, wq, rnd);
            __m256d l0 = _mm256_fmsub_pd(y0, w, h0), l1 = _mm256_fmsub_pd(y1, w, h1);
            q0 = _mm256_sub_pd(q0, rnd);
            q1 = _mm256_sub_pd(q1, rnd);
            h0 = _mm256_fnmadd_pd(q0, vp, h0);
            h1 = _mm256_fnmadd_pd(q1, vp, h1);
            /* each term exact in [-0.75p, 0.75p]; |acc| <= 0.5p + 1 + 8 * 0.75p < 2^53 */
            a0 = _mm256_add_pd(a0, _mm256_add_pd(h0, l0));
            a1 = _mm256_add_pd(a1, _mm256_add_pd(h1, l1));
            if ((i & 7) == 7) {
                a0 = beaa_fp_reduce(a0, vp, vpinv);
                a1 = beaa_fp_reduce(a1, vp, vpinv);
            }
        }
        if (sub) {
            uint64_t u8;
            memcpy(&u8, u + k, 8);
            const __m128i iu = _mm_cvtsi64_si128((long long)u8);
            const __m128i i0 = _mm_cvtepu8_epi32(iu), i1 = _mm_cvtepu8_epi32(_mm_srli_si128(iu, 4));
            a0 = _mm256_sub_pd(a0, _mm256_i32gather_pd(crd, i0, 8));
            a1 = _mm256_sub_pd(a1, _mm256_i32gather_pd(crd, i1, 8));
        }
        a0 = beaa_fp_make_positive(beaa_fp_reduce(a0, vp, vpinv), vp);
        a1 = beaa_fp_make_positive(beaa_fp_reduce(a1, vp, vpinv), vp);
        _mm256_storeu_si256((__m256i *)(r + k), beaa_fp_to_u64(a0));
        _mm256_storeu_si256((__m256i *)(r + k + 4), beaa_fp_to_u64(a1));
        if (!_mm256_testz_si256(big, high))
            for (size_t j = k; j < k + 8; j++) {
                r[j] = basis_one(x, c, n_in, j, p);
                if (sub) r[j] = beaa_sub_mod(r[j], corr[u[j]], p->q);
            }
    }
    /* the last n mod 8 values (none for the power-of-two lengths of CKKS) */
    for (; k < n; k++) {
        r[k] = basis_one(x, c, n_in, k, p);
        if (sub) r[k] = beaa_sub_mod(r[k], corr[u[k]], p->q);
    }
}

void beaa_basis_conv_avx2(uint64_t *r, const uint64_t *const *x, const uint64_t *c, size_t n_in,
                          size_t n, const beaa_modulus *p)
{
    if (p->q >= BEAA_NTT_SMALL_Q_BOUND || n_in > BASIS_MAX_IN || n_in == 0) {
        beaa_basis_conv_ref(r, x, c, n_in, n, p);
        return;
    }
    basis_body(r, x, c, n_in, n, p, NULL, NULL, 0);
}

void beaa_basis_conv_sub_avx2(uint64_t *r, const uint64_t *const *x, const uint64_t *c,
                              size_t n_in, size_t n, const beaa_modulus *p, const uint8_t *u,
                              const uint64_t *corr)
{
    if (p->q >= BEAA_NTT_SMALL_Q_BOUND || n_in > BASIS_MAX_IN || n_in == 0) {
        beaa_basis_conv_sub_ref(r, x, c, n_in, n, p, u, corr);
        return;
    }
    basis_body(r, x, c, n_in, n, p, u, corr, 1);
}

void beaa_conv_overflow_avx2(uint8_t *u, const uint64_t *const *x, const double *rc, size_t n_in,
                             size_t n)
{
    if (n_in > BASIS_MAX_IN) {
        beaa_conv_overflow_ref(u, x, rc, n_in, n);
        return;
    }
    const __m256d off = _mm256_set1_pd(BEAA_FP_TWO52);
    const __m256i high = _mm256_set1_epi64x((long long)~((UINT64_C(1) << 52) - 1));
    const uint64_t *xs[BASIS_MAX_IN];
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256i big = _mm256_setzero_si256();
        __m256d f0 = _mm256_setzero_pd(), f1 = _mm256_setzero_pd();
        for (size_t i = 0; i < n_in; i++) {
            const __m256d w = _mm256_broadcast_sd(rc + i);
            __m256i x0 = _mm256_loadu_si256((const __m256i *)(x[i] + k));
            __m256i x1 = _mm256_loadu_si256((const __m256i *)(x[i] + k + 4));
            big = _mm256_or_si256(big, _mm256_or_si256(x0, x1));
            /* x < 2^52: exact doubles (else the block is redone below); product then sum, as
             * in the ref kernel */
            __m256d y0 = beaa_fp_from_u64(x0, off), y1 = beaa_fp_from_u64(x1, off);
            f0 = _mm256_add_pd(f0, _mm256_mul_pd(y0, w));
            f1 = _mm256_add_pd(f1, _mm256_mul_pd(y1, w));
        }
        /* truncate (the floor: f >= 0) to 8 int32 < 256, then to bytes */
        __m128i w16 = _mm_packs_epi32(_mm256_cvttpd_epi32(f0), _mm256_cvttpd_epi32(f1));
        _mm_storel_epi64((__m128i *)(void *)(u + k), _mm_packus_epi16(w16, w16));
        if (!_mm256_testz_si256(big, high)) { /* residues of primes >= 2^52 */
            for (size_t i = 0; i < n_in; i++) xs[i] = x[i] + k;
            beaa_conv_overflow_ref(u + k, xs, rc, n_in, 8);
        }
    }
    if (k < n) {
        for (size_t i = 0; i < n_in; i++) xs[i] = x[i] + k;
        beaa_conv_overflow_ref(u + k, xs, rc, n_in, n - k);
    }
}

/* basis_conv_multi: one output after the other (the double-precision conversion of 4-lane
 * blocks has no cheaper way to share its input reads here) */
void beaa_basis_conv_multi_avx2(uint64_t *const *r, const uint64_t *const *x,
                                const uint64_t *const *c, size_t n_in, size_t n,
                                const beaa_modulus *const *p, size_t n_out)
{
    for (size_t s = 0; s < n_out; s++) beaa_basis_conv_avx2(r[s], x, c[s], n_in, n, p[s]);
}
