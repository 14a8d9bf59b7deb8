/* ntt_avx2.c - AVX2 negacyclic NTT for primes q < 2^50 in double precision (fp_avx2.h): the
 * polynomial is converted in place to doubles, the stages run in radix-4 passes (two stages per
 * pass over memory, 4 exact FMA butterflies per vector) and the 2 or 3 stages of distance < 8
 * (forward: last; inverse: first) in one pass over 8-value blocks shuffled in registers, where
 * the result is converted back. Larger primes (or tables without the double layout) use the ref
 * kernels. */
#include "ckks/kernels/avx2/avx2.h"
#include "ckks/kernels/avx2/fp_avx2.h"
#include "ckks/kernels/ref/ref.h"
#include "ckks/ntt.h"

/* Range invariants (q < 2^50, so 2q < 2^51 keeps every quotient within the rounding trick):
 * forward: every value |a| <= 2q + 1 between stages;
 *   butterfly X <- X mod q (|X| <= 0.5q + 1), T = w Y mod q (|T| <= 0.75q), (X + T, X - T),
 *   so after a reducing stage |a| <= 1.25q + 1; the second stage of each radix-4 pass skips the
 *   reduction of X (then |a| <= 1.25q + 1 + 0.75q); every stage of the tail pass reduces.
 * inverse: every value |a| <= q between stages;
 *   butterfly S = (U + V) mod q (|S| <= 0.5q + 1), T = w (U - V) mod q (|T| <= 0.75q). */

/* Two independent butterflies (forward: X <- X mod q when reduce, T = w Y mod q, (X + T, X - T);
 * inverse: (U + V mod q, w (U - V) mod q)), every step issued for both before the next. One
 * butterfly is a dependency chain of about 17 cycles; written out side by side, two of them keep
 * the FMA units busier: on the development machine the forward NTT measured 7-11% faster than
 * with one butterfly after the other (the inverse about the same). */
static inline void fwd_bfly2(__m256d *x0, __m256d *y0, __m256d w0, __m256d wq0, __m256d *x1,
                             __m256d *y1, __m256d w1, __m256d wq1, int reduce, __m256d q,
                             __m256d qinv)
{
    const __m256d rnd = _mm256_set1_pd(BEAA_FP_RND);
    __m256d r0 = _mm256_setzero_pd(), r1 = _mm256_setzero_pd();
    if (reduce) {
        r0 = _mm256_fmadd_pd(*x0, qinv, rnd);
        r1 = _mm256_fmadd_pd(*x1, qinv, rnd);
    }
    __m256d h0 = _mm256_mul_pd(*y0, w0), h1 = _mm256_mul_pd(*y1, w1);
    __m256d q0 = _mm256_fmadd_pd(*y0, wq0, rnd), q1 = _mm256_fmadd_pd(*y1, wq1, rnd);
    __m256d l0 = _mm256_fmsub_pd(*y0, w0, h0), l1 = _mm256_fmsub_pd(*y1, w1, h1);
    __m256d X0 = *x0, X1 = *x1;
    if (reduce) {
        X0 = _mm256_fnmadd_pd(_mm256_sub_pd(r0, rnd), q, X0);
        X1 = _mm256_fnmadd_pd(_mm256_sub_pd(r1, rnd), q, X1);
    }
    q0 = _mm256_sub_pd(q0, rnd);
    q1 = _mm256_sub_pd(q1, rnd);
    h0 = _mm256_add_pd(_mm256_fnmadd_pd(q0, q, h0), l0);
    h1 = _mm256_add_pd(_mm256_fnmadd_pd(q1, q, h1), l1);
    *x0 = _mm256_add_pd(X0, h0);
    *y0 = _mm256_sub_pd(X0, h0);
    *x1 = _mm256_add_pd(X1, h1);
    *y1 = _mm256_sub_pd(X1, h1);
}

static inline void inv_bfly2(__m256d *x0, __m256d *y0, __m256d w0, __m256d wq0, __m256d *x1,
                             __m256d *y1, __m256d w1, __m256d wq1, __m256d q, __m256d qinv)
{
    const __m256d rnd = _mm256_set1_pd(BEAA_FP_RND);
    __m256d s0 = _mm256_add_pd(*x0, *y0), s1 = _mm256_add_pd(*x1, *y1);
    __m256d d0 = _mm256_sub_pd(*x0, *y0), d1 = _mm256_sub_pd(*x1, *y1);
    __m256d r0 = _mm256_fmadd_pd(s0, qinv, rnd), r1 = _mm256_fmadd_pd(s1, qinv, rnd);
    __m256d h0 = _mm256_mul_pd(d0, w0), h1 = _mm256_mul_pd(d1, w1);
    __m256d q0 = _mm256_fmadd_pd(d0, wq0, rnd), q1 = _mm256_fmadd_pd(d1, wq1, rnd);
    __m256d l0 = _mm256_fmsub_pd(d0, w0, h0), l1 = _mm256_fmsub_pd(d1, w1, h1);
    r0 = _mm256_sub_pd(r0, rnd);
    r1 = _mm256_sub_pd(r1, rnd);
    q0 = _mm256_sub_pd(q0, rnd);
    q1 = _mm256_sub_pd(q1, rnd);
    *x0 = _mm256_fnmadd_pd(r0, q, s0);
    *x1 = _mm256_fnmadd_pd(r1, q, s1);
    *y0 = _mm256_add_pd(_mm256_fnmadd_pd(q0, q, h0), l0);
    *y1 = _mm256_add_pd(_mm256_fnmadd_pd(q1, q, h1), l1);
}

/* Loads 4 values at p: doubles, or (conv) u64 in [0, 2^52) turned into doubles minus a shift
 * (off = 2^52 + shift). The first pass of each transform converts while it loads. */
static inline __m256d ld(const double *p, int conv, __m256d off)
{
    if (conv) return beaa_fp_from_u64(_mm256_load_si256((const __m256i *)(const void *)p), off);
    return _mm256_load_pd(p);
}

/* Shuffles of an 8-value block held in two vectors v0 = [a0 a1 a2 a3], v1 = [a4 a5 a6 a7]:
 * halves() gives [a0 a1 a4 a5], [a2 a3 a6 a7] (the distance-2 pairs lane by lane; its own
 * inverse), evens_odds() gives [a0 a2 a4 a6], [a1 a3 a5 a7] from the halves() form (the distance-1
 * pairs; applied again it returns the halves() form). */
static inline void halves(__m256d *v0, __m256d *v1)
{
    __m256d x = _mm256_permute2f128_pd(*v0, *v1, 0x20), y = _mm256_permute2f128_pd(*v0, *v1, 0x31);
    *v0 = x;
    *v1 = y;
}
static inline void evens_odds(__m256d *v0, __m256d *v1)
{
    __m256d x = _mm256_unpacklo_pd(*v0, *v1), y = _mm256_unpackhi_pd(*v0, *v1);
    *v0 = x;
    *v1 = y;
}

typedef struct fp_consts {
    __m256d q, qinv, off;
} fp_consts;

/* Forward, two stages in one pass: m groups of distance h, then 2m groups of distance h/2 >= 4.
 * The first stage reduces X, the second skips it (input |a| <= 2q + 1, output too). */
static inline __attribute__((always_inline)) void fwd_stage4_body(const beaa_ntt_tables *t,
                                                                  double *a, size_t m, size_t h,
                                                                  int conv, const fp_consts *k)
{
    const size_t h2 = h >> 1;
    for (size_t i = 0; i < m; i++) {
        const __m256d w1 = _mm256_set1_pd(t->fw_d[m + i]), wq1 = _mm256_set1_pd(t->fw_dq[m + i]);
        const __m256d w2 = _mm256_set1_pd(t->fw_d[2 * m + 2 * i]);
        const __m256d wq2 = _mm256_set1_pd(t->fw_dq[2 * m + 2 * i]);
        const __m256d w3 = _mm256_set1_pd(t->fw_d[2 * m + 2 * i + 1]);
        const __m256d wq3 = _mm256_set1_pd(t->fw_dq[2 * m + 2 * i + 1]);
        double *p = a + 2 * i * h;
        for (size_t j = 0; j < h2; j += 4) {
            __m256d x0 = ld(p + j, conv, k->off), x1 = ld(p + h2 + j, conv, k->off);
            __m256d x2 = ld(p + h + j, conv, k->off), x3 = ld(p + h + h2 + j, conv, k->off);
            fwd_bfly2(&x0, &x2, w1, wq1, &x1, &x3, w1, wq1, 1, k->q, k->qinv);
            fwd_bfly2(&x0, &x1, w2, wq2, &x2, &x3, w3, wq3, 0, k->q, k->qinv);
            _mm256_store_pd(p + j, x0);
            _mm256_store_pd(p + h2 + j, x1);
            _mm256_store_pd(p + h + j, x2);
            _mm256_store_pd(p + h + h2 + j, x3);
        }
    }
}

static void fwd_stage4(const beaa_ntt_tables *t, double *a, size_t m, size_t h, int conv,
                       const fp_consts *k)
{
    if (conv) fwd_stage4_body(t, a, m, h, 1, k); /* the first pass converts u64 as it loads */
    else fwd_stage4_body(t, a, m, h, 0, k);
}

/* Forward, the last 2 stages (distances 2, 1; three = 0) or 3 stages (distances 4, 2, 1) on
 * 8-value blocks, two blocks per iteration, in registers; then back to u64 ([0, q), or [0, 4q)
 * lazy). Every stage here reduces (the input may be |a| <= 2q + 1), so the output is within
 * 1.25q + 1. Block B: distance-4 group B (entry n/8 + B), distance-2 groups 2B, 2B + 1 (fw_d2),
 * distance-1 groups 4B .. 4B + 3 (entries n/2 + 4B .., contiguous in the evens_odds() form). */
static inline void fwd_tail_store(double *p, __m256d y, int lazy, const fp_consts *k)
{
    /* |y| <= 1.25q + 1 */
    if (lazy) y = _mm256_add_pd(y, _mm256_add_pd(k->q, k->q)); /* (0.75q - 1, 3.25q + 1) */
    else y = beaa_fp_make_positive(beaa_fp_reduce(y, k->q, k->qinv), k->q);
    _mm256_store_si256((__m256i *)(void *)p, beaa_fp_to_u64(y));
}

static inline __attribute__((always_inline)) void fwd_tail_body(const beaa_ntt_tables *t,
                                                                double *a, int three, int lazy,
                                                                const fp_consts *k)
{
    const size_t n = t->n;
    for (size_t B = 0; B < n / 8; B += 2) { /* blocks B (v0, v1) and B + 1 (v2, v3) */
        double *p = a + 8 * B;
        __m256d v0 = _mm256_load_pd(p), v1 = _mm256_load_pd(p + 4);
        __m256d v2 = _mm256_load_pd(p + 8), v3 = _mm256_load_pd(p + 12);
        if (three) {
            const double *w = t->fw_d + n / 8 + B, *wq = t->fw_dq + n / 8 + B;
            fwd_bfly2(&v0, &v1, _mm256_broadcast_sd(w), _mm256_broadcast_sd(wq), &v2, &v3,
                      _mm256_broadcast_sd(w + 1), _mm256_broadcast_sd(wq + 1), 1, k->q, k->qinv);
        }
        halves(&v0, &v1);
        halves(&v2, &v3);
        const double *d2 = t->fw_d2 + 8 * B;
        fwd_bfly2(&v0, &v1, _mm256_load_pd(d2), _mm256_load_pd(d2 + 4), &v2, &v3,
                  _mm256_load_pd(d2 + 8), _mm256_load_pd(d2 + 12), 1, k->q, k->qinv);
        evens_odds(&v0, &v1);
        evens_odds(&v2, &v3);
        const double *w = t->fw_d + n / 2 + 4 * B, *wq = t->fw_dq + n / 2 + 4 * B;
        fwd_bfly2(&v0, &v1, _mm256_loadu_pd(w), _mm256_loadu_pd(wq), &v2, &v3,
                  _mm256_loadu_pd(w + 4), _mm256_loadu_pd(wq + 4), 1, k->q, k->qinv);
        evens_odds(&v0, &v1);
        evens_odds(&v2, &v3);
        halves(&v0, &v1);
        halves(&v2, &v3);
        fwd_tail_store(p, v0, lazy, k);
        fwd_tail_store(p + 4, v1, lazy, k);
        fwd_tail_store(p + 8, v2, lazy, k);
        fwd_tail_store(p + 12, v3, lazy, k);
    }
}

static void fwd_tail(const beaa_ntt_tables *t, double *a, int three, int lazy, const fp_consts *k)
{
    if (three) fwd_tail_body(t, a, 1, lazy, k);
    else fwd_tail_body(t, a, 0, lazy, k);
}

static void ntt_fwd_common(const beaa_ntt_tables *t, uint64_t *a, int lazy)
{
    const size_t n = t->n;
    const double qd = (double)t->mod.q;
    fp_consts k;
    k.q = _mm256_set1_pd(qd);
    k.qinv = _mm256_set1_pd(1.0 / qd);
    k.off = _mm256_set1_pd(BEAA_FP_TWO52 + 2 * qd); /* input [0, 4q) -> [-2q, 2q) */
    double *d = (double *)(void *)a;
    /* log n stages: pairs (reduce, skip) of distance n/2 .. down to 8 (log n even) or 16 (odd),
     * then the 2 or 3 remaining stages in the tail (n >= 16: at least one pair, which converts) */
    const int three = t->log_n & 1;
    const size_t h_end = three ? 16 : 8;
    int conv = 1;
    for (size_t m = 1, h = n >> 1; h >= h_end; m <<= 2, h >>= 2) {
        fwd_stage4(t, d, m, h, conv, &k);
        conv = 0;
    }
    fwd_tail(t, d, three, lazy, &k);
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

/* Inverse, the first 2 stages (distances 1, 2) or 3 (distances 1, 2, 4; three != 0) on 8-value
 * blocks, two per iteration, converting the u64 input ([0, 2q) -> [-q, q)) as it loads (the
 * mirror of fwd_tail_block). */
static inline __attribute__((always_inline)) void inv_head_body(const beaa_ntt_tables *t,
                                                                double *a, int three,
                                                                const fp_consts *k)
{
    const size_t n = t->n;
    for (size_t B = 0; B < n / 8; B += 2) { /* blocks B (v0, v1) and B + 1 (v2, v3) */
        double *p = a + 8 * B;
        __m256d v0 = ld(p, 1, k->off), v1 = ld(p + 4, 1, k->off);
        __m256d v2 = ld(p + 8, 1, k->off), v3 = ld(p + 12, 1, k->off);
        halves(&v0, &v1);
        halves(&v2, &v3);
        evens_odds(&v0, &v1);
        evens_odds(&v2, &v3);
        const double *w = t->iv_d + n / 2 + 4 * B, *wq = t->iv_dq + n / 2 + 4 * B;
        inv_bfly2(&v0, &v1, _mm256_loadu_pd(w), _mm256_loadu_pd(wq), &v2, &v3,
                  _mm256_loadu_pd(w + 4), _mm256_loadu_pd(wq + 4), k->q, k->qinv);
        evens_odds(&v0, &v1);
        evens_odds(&v2, &v3);
        const double *d2 = t->iv_d2 + 8 * B;
        inv_bfly2(&v0, &v1, _mm256_load_pd(d2), _mm256_load_pd(d2 + 4), &v2, &v3,
                  _mm256_load_pd(d2 + 8), _mm256_load_pd(d2 + 12), k->q, k->qinv);
        halves(&v0, &v1);
        halves(&v2, &v3);
        if (three) {
            const double *w4 = t->iv_d + n / 8 + B, *wq4 = t->iv_dq + n / 8 + B;
            inv_bfly2(&v0, &v1, _mm256_broadcast_sd(w4), _mm256_broadcast_sd(wq4), &v2, &v3,
                      _mm256_broadcast_sd(w4 + 1), _mm256_broadcast_sd(wq4 + 1), k->q, k->qinv);
        }
        _mm256_store_pd(p, v0);
        _mm256_store_pd(p + 4, v1);
        _mm256_store_pd(p + 8, v2);
        _mm256_store_pd(p + 12, v3);
    }
}

static void inv_head(const beaa_ntt_tables *t, double *a, int three, const fp_consts *k)
{
    if (three) inv_head_body(t, a, 1, k);
    else inv_head_body(t, a, 0, k);
}

/* Output of the last inverse stage back to u64: |v| <= 0.75q -> [0, q) or (lazy) [0, 2q). */
static inline void inv_store(double *p, __m256d v, int lazy, __m256d q)
{
    v = lazy ? _mm256_add_pd(v, q) : beaa_fp_make_positive(v, q);
    _mm256_store_si256((__m256i *)(void *)p, beaa_fp_to_u64(v));
}

/* Inverse, two stages in one pass: m groups of distance h >= 4, then m/2 groups of distance 2h.
 * When m == 2 the second stage is the last one: n^-1 is merged in and the output converted. */
static void inv_stage4(const beaa_ntt_tables *t, double *a, size_t m, size_t h, int lazy,
                       const fp_consts *k)
{
    const int last = (m == 2);
    for (size_t i = 0; i < m / 2; i++) {
        const __m256d w0 = _mm256_set1_pd(t->iv_d[m + 2 * i]);
        const __m256d wq0 = _mm256_set1_pd(t->iv_dq[m + 2 * i]);
        const __m256d w1 = _mm256_set1_pd(t->iv_d[m + 2 * i + 1]);
        const __m256d wq1 = _mm256_set1_pd(t->iv_dq[m + 2 * i + 1]);
        const __m256d w2 = _mm256_set1_pd(last ? t->n_inv_w_d : t->iv_d[m / 2 + i]);
        const __m256d wq2 = _mm256_set1_pd(last ? t->n_inv_w_dq : t->iv_dq[m / 2 + i]);
        const __m256d ni = _mm256_set1_pd(t->n_inv_d), niq = _mm256_set1_pd(t->n_inv_dq);
        double *p = a + 4 * i * h;
        for (size_t j = 0; j < h; j += 4) {
            __m256d x0 = _mm256_load_pd(p + j), x1 = _mm256_load_pd(p + h + j);
            __m256d x2 = _mm256_load_pd(p + 2 * h + j), x3 = _mm256_load_pd(p + 3 * h + j);
            inv_bfly2(&x0, &x1, w0, wq0, &x2, &x3, w1, wq1, k->q, k->qinv);
            if (!last) {
                inv_bfly2(&x0, &x2, w2, wq2, &x1, &x3, w2, wq2, k->q, k->qinv);
                _mm256_store_pd(p + j, x0);
                _mm256_store_pd(p + h + j, x1);
                _mm256_store_pd(p + 2 * h + j, x2);
                _mm256_store_pd(p + 3 * h + j, x3);
            } else {
                /* (U, V) -> (n^-1 (U + V), n^-1 w (U - V)), |.| <= 0.75q */
                __m256d y0 = beaa_fp_mulmod(_mm256_add_pd(x0, x2), ni, niq, k->q);
                __m256d y2 = beaa_fp_mulmod(_mm256_sub_pd(x0, x2), w2, wq2, k->q);
                __m256d y1 = beaa_fp_mulmod(_mm256_add_pd(x1, x3), ni, niq, k->q);
                __m256d y3 = beaa_fp_mulmod(_mm256_sub_pd(x1, x3), w2, wq2, k->q);
                inv_store(p + j, y0, lazy, k->q);
                inv_store(p + h + j, y1, lazy, k->q);
                inv_store(p + 2 * h + j, y2, lazy, k->q);
                inv_store(p + 3 * h + j, y3, lazy, k->q);
            }
        }
    }
}

static void ntt_inv_common(const beaa_ntt_tables *t, uint64_t *a, int lazy)
{
    const size_t n = t->n;
    const double qd = (double)t->mod.q;
    fp_consts k;
    k.q = _mm256_set1_pd(qd);
    k.qinv = _mm256_set1_pd(1.0 / qd);
    k.off = _mm256_set1_pd(BEAA_FP_TWO52 + qd); /* input [0, 2q) -> [-q, q) */
    double *d = (double *)(void *)a;
    /* the first 2 (log n even) or 3 (odd) stages in the head, then pairs of stages from distance
     * 4 or 8 up to n/2 (n >= 16: at least one pair; the one with m == 2 is the last) */
    const int three = t->log_n & 1;
    inv_head(t, d, three, &k);
    for (size_t m = n >> (three ? 4 : 3), h = three ? 8 : 4; m >= 2; m >>= 2, h <<= 2)
        inv_stage4(t, d, m, h, lazy, &k);
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
