/* ntt_avx2.c - AVX2 negacyclic NTT for primes q < 2^50 in double precision (fp_avx2.h): the
 * polynomial is converted in place to doubles, every stage runs 4 exact FMA butterflies at a
 * time (stages with distance 2 and 1 shuffle in registers), and the result is converted back.
 * Larger primes (or tables without the double layout) use the ref kernels. */
#include "ckks/kernels/avx2/avx2.h"
#include "ckks/kernels/avx2/fp_avx2.h"
#include "ckks/kernels/ref/ref.h"
#include "ckks/ntt.h"

/* Range invariants (q < 2^50, so 2q < 2^51 keeps every quotient within the rounding trick):
 * forward: every value |a| <= 2q between stages (in fact <= 1.25q + 1 after the first stage);
 *   butterfly X <- X mod q (|X| <= 0.5q + 1), T = w Y mod q (|T| <= 0.75q), (X + T, X - T).
 * inverse: every value |a| <= q between stages;
 *   butterfly S = (U + V) mod q (|S| <= 0.5q + 1), T = w (U - V) mod q (|T| <= 0.75q). */

static inline void fwd_bfly(__m256d *x, __m256d *y, __m256d w, __m256d wq, __m256d q,
                            __m256d qinv)
{
    __m256d X = beaa_fp_reduce(*x, q, qinv);
    __m256d T = beaa_fp_mulmod(*y, w, wq, q);
    *x = _mm256_add_pd(X, T);
    *y = _mm256_sub_pd(X, T);
}

static inline void inv_bfly(__m256d *x, __m256d *y, __m256d w, __m256d wq, __m256d q,
                            __m256d qinv)
{
    __m256d U = *x, V = *y;
    *x = beaa_fp_reduce(_mm256_add_pd(U, V), q, qinv);
    *y = beaa_fp_mulmod(_mm256_sub_pd(U, V), w, wq, q);
}

/* a (u64 in [0, 2^52)) -> doubles a - shift, in place. */
static void to_double(uint64_t *a, size_t n, double shift)
{
    const __m256d off = _mm256_set1_pd(BEAA_FP_TWO52 + shift);
    for (size_t j = 0; j < n; j += 4) {
        __m256i v = _mm256_load_si256((const __m256i *)(a + j));
        _mm256_store_pd((double *)(a + j), beaa_fp_from_u64(v, off));
    }
}

static void fwd_double(const beaa_ntt_tables *t, double *a)
{
    const size_t n = t->n;
    const __m256d q = _mm256_set1_pd((double)t->mod.q);
    const __m256d qinv = _mm256_set1_pd(1.0 / (double)t->mod.q);
    size_t gap = n, m = 1;
    for (; gap > 4; m <<= 1) {
        gap >>= 1;
        for (size_t i = 0; i < m; i++) {
            const __m256d w = _mm256_set1_pd(t->fw_d[m + i]);
            const __m256d wq = _mm256_set1_pd(t->fw_dq[m + i]);
            double *x = a + 2 * i * gap, *y = x + gap;
            for (size_t j = 0; j < gap; j += 4) {
                __m256d X = _mm256_load_pd(x + j), Y = _mm256_load_pd(y + j);
                fwd_bfly(&X, &Y, w, wq, q, qinv);
                _mm256_store_pd(x + j, X);
                _mm256_store_pd(y + j, Y);
            }
        }
    }
    /* gap 2: m = n/4 groups of [x0 x1 y0 y1]; two groups per pair of vectors */
    for (size_t i = 0; i < m; i += 2) {
        double *p = a + 4 * i;
        __m256d v0 = _mm256_load_pd(p), v1 = _mm256_load_pd(p + 4);
        __m256d X = _mm256_permute2f128_pd(v0, v1, 0x20), Y = _mm256_permute2f128_pd(v0, v1, 0x31);
        __m256d w = _mm256_permute4x64_pd(_mm256_castpd128_pd256(_mm_loadu_pd(t->fw_d + m + i)), 0x50);
        __m256d wq = _mm256_permute4x64_pd(_mm256_castpd128_pd256(_mm_loadu_pd(t->fw_dq + m + i)), 0x50);
        fwd_bfly(&X, &Y, w, wq, q, qinv);
        _mm256_store_pd(p, _mm256_permute2f128_pd(X, Y, 0x20));
        _mm256_store_pd(p + 4, _mm256_permute2f128_pd(X, Y, 0x31));
    }
    m <<= 1;
    /* gap 1: m = n/2 groups [x y]; four groups per pair of vectors, lanes hold groups 0 2 1 3 */
    for (size_t i = 0; i < m; i += 4) {
        double *p = a + 2 * i;
        __m256d v0 = _mm256_load_pd(p), v1 = _mm256_load_pd(p + 4);
        __m256d X = _mm256_unpacklo_pd(v0, v1), Y = _mm256_unpackhi_pd(v0, v1);
        __m256d w = _mm256_permute4x64_pd(_mm256_loadu_pd(t->fw_d + m + i), 0xd8);
        __m256d wq = _mm256_permute4x64_pd(_mm256_loadu_pd(t->fw_dq + m + i), 0xd8);
        fwd_bfly(&X, &Y, w, wq, q, qinv);
        _mm256_store_pd(p, _mm256_unpacklo_pd(X, Y));
        _mm256_store_pd(p + 4, _mm256_unpackhi_pd(X, Y));
    }
}

static void ntt_fwd_common(const beaa_ntt_tables *t, uint64_t *a, int lazy)
{
    const size_t n = t->n;
    const double qd = (double)t->mod.q;
    to_double(a, n, 2 * qd); /* [0, 4q) -> [-2q, 2q) */
    double *d = (double *)(void *)a;
    fwd_double(t, d);
    const __m256d q = _mm256_set1_pd(qd), qinv = _mm256_set1_pd(1.0 / qd);
    const __m256d two_q = _mm256_set1_pd(2 * qd);
    for (size_t j = 0; j < n; j += 4) {
        __m256d v = _mm256_load_pd(d + j); /* |v| <= 1.25q + 1 */
        if (lazy) {
            v = _mm256_add_pd(v, two_q); /* (0.75q - 1, 3.25q + 1) in [0, 4q) */
        } else {
            v = beaa_fp_make_positive(beaa_fp_reduce(v, q, qinv), q);
        }
        _mm256_store_si256((__m256i *)(a + j), beaa_fp_to_u64(v));
    }
}

void beaa_ntt_fwd_avx2(const beaa_ntt_tables *t, uint64_t *a)
{
    if (!t->fw_d || t->n < 16) {
        beaa_ntt_fwd_ref(t, a);
        return;
    }
    ntt_fwd_common(t, a, 0);
}

void beaa_ntt_fwd_lazy_avx2(const beaa_ntt_tables *t, uint64_t *a)
{
    if (!t->fw_d || t->n < 16) {
        beaa_ntt_fwd_lazy_ref(t, a);
        return;
    }
    ntt_fwd_common(t, a, 1);
}

static void inv_double(const beaa_ntt_tables *t, double *a)
{
    const size_t n = t->n;
    const __m256d q = _mm256_set1_pd((double)t->mod.q);
    const __m256d qinv = _mm256_set1_pd(1.0 / (double)t->mod.q);
    size_t m = n >> 1;
    /* gap 1 */
    for (size_t i = 0; i < m; i += 4) {
        double *p = a + 2 * i;
        __m256d v0 = _mm256_load_pd(p), v1 = _mm256_load_pd(p + 4);
        __m256d X = _mm256_unpacklo_pd(v0, v1), Y = _mm256_unpackhi_pd(v0, v1);
        __m256d w = _mm256_permute4x64_pd(_mm256_loadu_pd(t->iv_d + m + i), 0xd8);
        __m256d wq = _mm256_permute4x64_pd(_mm256_loadu_pd(t->iv_dq + m + i), 0xd8);
        inv_bfly(&X, &Y, w, wq, q, qinv);
        _mm256_store_pd(p, _mm256_unpacklo_pd(X, Y));
        _mm256_store_pd(p + 4, _mm256_unpackhi_pd(X, Y));
    }
    m >>= 1;
    /* gap 2 */
    for (size_t i = 0; i < m; i += 2) {
        double *p = a + 4 * i;
        __m256d v0 = _mm256_load_pd(p), v1 = _mm256_load_pd(p + 4);
        __m256d X = _mm256_permute2f128_pd(v0, v1, 0x20), Y = _mm256_permute2f128_pd(v0, v1, 0x31);
        __m256d w = _mm256_permute4x64_pd(_mm256_castpd128_pd256(_mm_loadu_pd(t->iv_d + m + i)), 0x50);
        __m256d wq = _mm256_permute4x64_pd(_mm256_castpd128_pd256(_mm_loadu_pd(t->iv_dq + m + i)), 0x50);
        inv_bfly(&X, &Y, w, wq, q, qinv);
        _mm256_store_pd(p, _mm256_permute2f128_pd(X, Y, 0x20));
        _mm256_store_pd(p + 4, _mm256_permute2f128_pd(X, Y, 0x31));
    }
    m >>= 1;
    size_t gap = 4;
    for (; m > 1; m >>= 1, gap <<= 1) {
        for (size_t i = 0; i < m; i++) {
            const __m256d w = _mm256_set1_pd(t->iv_d[m + i]);
            const __m256d wq = _mm256_set1_pd(t->iv_dq[m + i]);
            double *x = a + 2 * i * gap, *y = x + gap;
            for (size_t j = 0; j < gap; j += 4) {
                __m256d X = _mm256_load_pd(x + j), Y = _mm256_load_pd(y + j);
                inv_bfly(&X, &Y, w, wq, q, qinv);
                _mm256_store_pd(x + j, X);
                _mm256_store_pd(y + j, Y);
            }
        }
    }
}

static void ntt_inv_common(const beaa_ntt_tables *t, uint64_t *a, int lazy)
{
    const size_t n = t->n, half = n >> 1;
    const double qd = (double)t->mod.q;
    to_double(a, n, qd); /* [0, 2q) -> [-q, q) */
    double *d = (double *)(void *)a;
    inv_double(t, d);
    /* last stage (one group, gap n/2) with n^-1 merged, then back to integers */
    const __m256d q = _mm256_set1_pd(qd);
    const __m256d ni = _mm256_set1_pd(t->n_inv_d), niq = _mm256_set1_pd(t->n_inv_dq);
    const __m256d nw = _mm256_set1_pd(t->n_inv_w_d), nwq = _mm256_set1_pd(t->n_inv_w_dq);
    for (size_t j = 0; j < half; j += 4) {
        __m256d U = _mm256_load_pd(d + j), V = _mm256_load_pd(d + half + j);
        __m256d X = beaa_fp_mulmod(_mm256_add_pd(U, V), ni, niq, q); /* |.| <= 0.75q */
        __m256d Y = beaa_fp_mulmod(_mm256_sub_pd(U, V), nw, nwq, q);
        if (lazy) {
            X = _mm256_add_pd(X, q); /* [0.25q, 1.75q] in [0, 2q) */
            Y = _mm256_add_pd(Y, q);
        } else {
            X = beaa_fp_make_positive(X, q);
            Y = beaa_fp_make_positive(Y, q);
        }
        _mm256_store_si256((__m256i *)(a + j), beaa_fp_to_u64(X));
        _mm256_store_si256((__m256i *)(a + half + j), beaa_fp_to_u64(Y));
    }
}

void beaa_ntt_inv_avx2(const beaa_ntt_tables *t, uint64_t *a)
{
    if (!t->iv_d || t->n < 16) {
        beaa_ntt_inv_ref(t, a);
        return;
    }
    ntt_inv_common(t, a, 0);
}

void beaa_ntt_inv_lazy_avx2(const beaa_ntt_tables *t, uint64_t *a)
{
    if (!t->iv_d || t->n < 16) {
        beaa_ntt_inv_lazy_ref(t, a);
        return;
    }
    ntt_inv_common(t, a, 1);
}
