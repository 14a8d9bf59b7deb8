/* ntt_avx2.c - AVX2 negacyclic NTT for primes q < 2^50 in double precision (fp_avx2.h): the
 * polynomial is converted in place to doubles, every stage runs 4 exact FMA butterflies at a
 * time (stages with distance 2 and 1 shuffle in registers), and the result is converted back.
 * Larger primes (or tables without the double layout) use the ref kernels. */
#include "ckks/kernels/avx2/avx2.h"
#include "ckks/kernels/avx2/fp_avx2.h"
#include "ckks/kernels/ref/ref.h"
#include "ckks/ntt.h"

/* Range invariants (q < 2^50, so 2q < 2^51 keeps every quotient within the rounding trick):
 * forward: every value |a| <= 2q + 1 between stages;
 *   butterfly X <- X mod q (|X| <= 0.5q + 1), T = w Y mod q (|T| <= 0.75q), (X + T, X - T),
 *   so after a reducing stage |a| <= 1.25q + 1; every other stage skips the reduction of X
 *   (then |a| <= 1.25q + 1 + 0.75q); the first and the last two stages always reduce.
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

/* The same without reducing X first: allowed in a stage whose input is |a| <= 1.25q + 1 (the
 * previous stage reduced), giving |a| <= 2q + 1, which the next (reducing) stage accepts. */
static inline void fwd_bfly_noreduce(__m256d *x, __m256d *y, __m256d w, __m256d wq, __m256d q)
{
    __m256d X = *x;
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

/* Loads 4 values at p: doubles, or (conv) u64 in [0, 2^52) turned into doubles minus a shift
 * (off = 2^52 + shift). The first pass of each transform converts while it loads. */
static inline __m256d ld(const double *p, int conv, __m256d off)
{
    if (conv) return beaa_fp_from_u64(_mm256_load_si256((const __m256i *)(const void *)p), off);
    return _mm256_load_pd(p);
}

/* 4x4 transpose of doubles: lane b of out[k] = lane k of in[b] (its own inverse). */
static inline void transpose4(__m256d *v0, __m256d *v1, __m256d *v2, __m256d *v3)
{
    __m256d t0 = _mm256_unpacklo_pd(*v0, *v1), t1 = _mm256_unpackhi_pd(*v0, *v1);
    __m256d t2 = _mm256_unpacklo_pd(*v2, *v3), t3 = _mm256_unpackhi_pd(*v2, *v3);
    *v0 = _mm256_permute2f128_pd(t0, t2, 0x20);
    *v1 = _mm256_permute2f128_pd(t1, t3, 0x20);
    *v2 = _mm256_permute2f128_pd(t0, t2, 0x31);
    *v3 = _mm256_permute2f128_pd(t1, t3, 0x31);
}

/* Entries base, base+2, base+4, base+6 (even) or base+1, ... (odd) of a table as one vector. */
static inline __m256d even4(const double *p)
{
    return _mm256_permute4x64_pd(_mm256_unpacklo_pd(_mm256_loadu_pd(p), _mm256_loadu_pd(p + 4)), 0xd8);
}
static inline __m256d odd4(const double *p)
{
    return _mm256_permute4x64_pd(_mm256_unpackhi_pd(_mm256_loadu_pd(p), _mm256_loadu_pd(p + 4)), 0xd8);
}

typedef struct fp_consts {
    __m256d q, qinv, off;
} fp_consts;

/* Forward, one radix-2 stage with m groups of distance h >= 4. */
static void fwd_stage2(const beaa_ntt_tables *t, double *a, size_t m, size_t h, int conv,
                       const fp_consts *k)
{
    for (size_t i = 0; i < m; i++) {
        const __m256d w = _mm256_set1_pd(t->fw_d[m + i]), wq = _mm256_set1_pd(t->fw_dq[m + i]);
        double *x = a + 2 * i * h, *y = x + h;
        for (size_t j = 0; j < h; j += 4) {
            __m256d X = ld(x + j, conv, k->off), Y = ld(y + j, conv, k->off);
            fwd_bfly(&X, &Y, w, wq, k->q, k->qinv);
            _mm256_store_pd(x + j, X);
            _mm256_store_pd(y + j, Y);
        }
    }
}

/* Forward, two stages in one pass: m groups of distance h, then 2m groups of distance h/2 >= 4.
 * reduce_first says which of the two stages reduces X (the other one skips it). */
static void fwd_stage4(const beaa_ntt_tables *t, double *a, size_t m, size_t h, int conv,
                       int reduce_first, const fp_consts *k)
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
            if (reduce_first) {
                fwd_bfly(&x0, &x2, w1, wq1, k->q, k->qinv);
                fwd_bfly(&x1, &x3, w1, wq1, k->q, k->qinv);
                fwd_bfly_noreduce(&x0, &x1, w2, wq2, k->q);
                fwd_bfly_noreduce(&x2, &x3, w3, wq3, k->q);
            } else {
                fwd_bfly_noreduce(&x0, &x2, w1, wq1, k->q);
                fwd_bfly_noreduce(&x1, &x3, w1, wq1, k->q);
                fwd_bfly(&x0, &x1, w2, wq2, k->q, k->qinv);
                fwd_bfly(&x2, &x3, w3, wq3, k->q, k->qinv);
            }
            _mm256_store_pd(p + j, x0);
            _mm256_store_pd(p + h2 + j, x1);
            _mm256_store_pd(p + h + j, x2);
            _mm256_store_pd(p + h + h2 + j, x3);
        }
    }
}

/* Forward, the distance-2 and distance-1 stages in one pass over blocks of 4 values (block G is
 * group G of the distance-2 stage and groups 2G, 2G+1 of the distance-1 stage), transposed so
 * that each vector holds one position of 4 blocks; then back to u64 ([0, q), or [0, 4q) lazy). */
static void fwd_last(const beaa_ntt_tables *t, double *a, int lazy, const fp_consts *k)
{
    const size_t n = t->n, m2 = n >> 2, m1 = n >> 1;
    const __m256d two_q = _mm256_add_pd(k->q, k->q);
    for (size_t G = 0; G < m2; G += 4) {
        double *p = a + 4 * G;
        __m256d x0 = _mm256_load_pd(p), x1 = _mm256_load_pd(p + 4);
        __m256d x2 = _mm256_load_pd(p + 8), x3 = _mm256_load_pd(p + 12);
        transpose4(&x0, &x1, &x2, &x3);
        __m256d w = _mm256_loadu_pd(t->fw_d + m2 + G), wq = _mm256_loadu_pd(t->fw_dq + m2 + G);
        fwd_bfly(&x0, &x2, w, wq, k->q, k->qinv);
        fwd_bfly(&x1, &x3, w, wq, k->q, k->qinv);
        const double *e = t->fw_d + m1 + 2 * G, *eq = t->fw_dq + m1 + 2 * G;
        fwd_bfly(&x0, &x1, even4(e), even4(eq), k->q, k->qinv);
        fwd_bfly(&x2, &x3, odd4(e), odd4(eq), k->q, k->qinv);
        transpose4(&x0, &x1, &x2, &x3);
        __m256d v[4] = {x0, x1, x2, x3};
        for (int r = 0; r < 4; r++) {
            __m256d y = v[r]; /* |y| <= 1.25q + 1 */
            if (lazy) y = _mm256_add_pd(y, two_q); /* (0.75q - 1, 3.25q + 1) in [0, 4q) */
            else y = beaa_fp_make_positive(beaa_fp_reduce(y, k->q, k->qinv), k->q);
            _mm256_store_si256((__m256i *)(void *)(p + 4 * r), beaa_fp_to_u64(y));
        }
    }
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
    /* stages of distance n/2 .. 4 (log n - 2 of them), in pairs; an odd one first */
    size_t m = 1, h = n >> 1;
    int conv = 1, odd = (t->log_n - 2) & 1;
    if (odd) { /* stage 0 alone (reduces); the pairs are then (skip, reduce) */
        fwd_stage2(t, d, m, h, conv, &k);
        conv = 0;
        m <<= 1;
        h >>= 1;
    }
    for (; h >= 8; m <<= 2, h >>= 2) { /* pairs (reduce, skip) from stage 0 when even */
        if (odd) fwd_stage4(t, d, m, h, conv, 0, &k);
        else fwd_stage4(t, d, m, h, conv, 1, &k);
        conv = 0;
    }
    fwd_last(t, d, lazy, &k);
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

/* Inverse, the distance-1 and distance-2 stages in one pass (see fwd_last), converting the
 * u64 input ([0, 2q) -> [-q, q)) as it loads. */
static void inv_first(const beaa_ntt_tables *t, double *a, const fp_consts *k)
{
    const size_t n = t->n, m2 = n >> 2, m1 = n >> 1;
    for (size_t G = 0; G < m2; G += 4) {
        double *p = a + 4 * G;
        __m256d x0 = ld(p, 1, k->off), x1 = ld(p + 4, 1, k->off);
        __m256d x2 = ld(p + 8, 1, k->off), x3 = ld(p + 12, 1, k->off);
        transpose4(&x0, &x1, &x2, &x3);
        const double *e = t->iv_d + m1 + 2 * G, *eq = t->iv_dq + m1 + 2 * G;
        inv_bfly(&x0, &x1, even4(e), even4(eq), k->q, k->qinv);
        inv_bfly(&x2, &x3, odd4(e), odd4(eq), k->q, k->qinv);
        __m256d w = _mm256_loadu_pd(t->iv_d + m2 + G), wq = _mm256_loadu_pd(t->iv_dq + m2 + G);
        inv_bfly(&x0, &x2, w, wq, k->q, k->qinv);
        inv_bfly(&x1, &x3, w, wq, k->q, k->qinv);
        transpose4(&x0, &x1, &x2, &x3);
        _mm256_store_pd(p, x0);
        _mm256_store_pd(p + 4, x1);
        _mm256_store_pd(p + 8, x2);
        _mm256_store_pd(p + 12, x3);
    }
}

/* Inverse, one radix-2 stage: m >= 2 groups of distance h >= 4. */
static void inv_stage2(const beaa_ntt_tables *t, double *a, size_t m, size_t h,
                       const fp_consts *k)
{
    for (size_t i = 0; i < m; i++) {
        const __m256d w = _mm256_set1_pd(t->iv_d[m + i]), wq = _mm256_set1_pd(t->iv_dq[m + i]);
        double *x = a + 2 * i * h, *y = x + h;
        for (size_t j = 0; j < h; j += 4) {
            __m256d X = _mm256_load_pd(x + j), Y = _mm256_load_pd(y + j);
            inv_bfly(&X, &Y, w, wq, k->q, k->qinv);
            _mm256_store_pd(x + j, X);
            _mm256_store_pd(y + j, Y);
        }
    }
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
            inv_bfly(&x0, &x1, w0, wq0, k->q, k->qinv);
            inv_bfly(&x2, &x3, w1, wq1, k->q, k->qinv);
            if (!last) {
                inv_bfly(&x0, &x2, w2, wq2, k->q, k->qinv);
                inv_bfly(&x1, &x3, w2, wq2, k->q, k->qinv);
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
    inv_first(t, d, &k);
    /* stages of distance 4 .. n/2 (log n - 2 of them, the last one has m = 1): an odd one
     * first as a radix-2 stage (n >= 16, so then m = n/8 >= 2), the rest in pairs */
    size_t m = n >> 3, h = 4;
    if ((t->log_n - 2) & 1) {
        inv_stage2(t, d, m, h, &k);
        m >>= 1;
        h <<= 1;
    }
    for (; m >= 2; m >>= 2, h <<= 2) inv_stage4(t, d, m, h, lazy, &k);
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
