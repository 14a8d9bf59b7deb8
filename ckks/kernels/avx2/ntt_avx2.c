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

/* Range invariants (q < 2^50). A butterfly's multiplication needs |Y| <= 2^51 (fp_avx2.h);
 * sums stay far below 2^53, so every value is an exact double. The transforms track a bound b on
 * |a| between passes and leave out the reductions that b allows (lazy reduction): for the 40-bit
 * primes of our parameter sets almost none are needed, for q near 2^50 every other stage.
 * forward: butterfly X <- X mod q when reducing (|X| <= 0.5q + 1), T = w Y mod q (|T| <= 0.75q),
 *   (X + T, X - T): a stage adds 0.75q to b, or sets it to 1.25q + 1 when it reduces. A radix-4
 *   pass either reduces in its first stage (b -> 2q + 1) or in neither (b -> b + 1.5q); the tail
 *   reduces in its last stage always (output within 1.25q + 1), in the others as needed.
 * inverse: butterfly S = U + V, reduced mod q (|S| <= 0.5q + 1) or not (|S| <= 2b),
 *   T = w (U - V) mod q (|T| <= 0.75q): |U - V| <= 2b must stay <= 2^51. */
#define FP_LIMIT 2251799813685248.0 /* 2^51 */

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
                             __m256d *y1, __m256d w1, __m256d wq1, int reduce, __m256d q,
                             __m256d qinv)
{
    const __m256d rnd = _mm256_set1_pd(BEAA_FP_RND);
    __m256d s0 = _mm256_add_pd(*x0, *y0), s1 = _mm256_add_pd(*x1, *y1);
    __m256d d0 = _mm256_sub_pd(*x0, *y0), d1 = _mm256_sub_pd(*x1, *y1);
    __m256d r0 = _mm256_setzero_pd(), r1 = _mm256_setzero_pd();
    if (reduce) {
        r0 = _mm256_fmadd_pd(s0, qinv, rnd);
        r1 = _mm256_fmadd_pd(s1, qinv, rnd);
    }
    __m256d h0 = _mm256_mul_pd(d0, w0), h1 = _mm256_mul_pd(d1, w1);
    __m256d q0 = _mm256_fmadd_pd(d0, wq0, rnd), q1 = _mm256_fmadd_pd(d1, wq1, rnd);
    __m256d l0 = _mm256_fmsub_pd(d0, w0, h0), l1 = _mm256_fmsub_pd(d1, w1, h1);
    q0 = _mm256_sub_pd(q0, rnd);
    q1 = _mm256_sub_pd(q1, rnd);
    if (reduce) {
        s0 = _mm256_fnmadd_pd(_mm256_sub_pd(r0, rnd), q, s0);
        s1 = _mm256_fnmadd_pd(_mm256_sub_pd(r1, rnd), q, s1);
    }
    *x0 = s0;
    *x1 = s1;
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
    /* inverse only: the last stage's factors n^-1 s and n^-1 iv[1] s (s = 1, or the scaled
     * kernel's w) with their quotients by q, and the scaled kernel's additive c */
    __m256d ni, niq, nw, nwq, c;
} fp_consts;

/* Forward, two stages in one pass: m groups of distance h, then 2m groups of distance h/2 >= 4.
 * The first stage reduces X when red, the second never (see the range invariants). */
static inline __attribute__((always_inline)) void fwd_stage4_body(const beaa_ntt_tables *t,
                                                                  double *a, size_t m, size_t h,
                                                                  int conv, int red,
                                                                  const fp_consts *k)
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
            fwd_bfly2(&x0, &x2, w1, wq1, &x1, &x3, w1, wq1, red, k->q, k->qinv);
            fwd_bfly2(&x0, &x1, w2, wq2, &x2, &x3, w3, wq3, 0, k->q, k->qinv);
            _mm256_store_pd(p + j, x0);
            _mm256_store_pd(p + h2 + j, x1);
            _mm256_store_pd(p + h + j, x2);
            _mm256_store_pd(p + h + h2 + j, x3);
        }
    }
}

/* (each pass kind its own function: inlined into one, the loops measured slower) */
static __attribute__((noinline)) void fwd_stage4(const beaa_ntt_tables *t, double *a, size_t m,
                                                 size_t h, int conv, int red, const fp_consts *k)
{
    /* the first pass converts u64 as it loads */
    if (conv) {
        if (red) fwd_stage4_body(t, a, m, h, 1, 1, k);
        else fwd_stage4_body(t, a, m, h, 1, 0, k);
    } else {
        if (red) fwd_stage4_body(t, a, m, h, 0, 1, k);
        else fwd_stage4_body(t, a, m, h, 0, 0, k);
    }
}

/* Forward, the last 2 stages (distances 2, 1; three = 0) or 3 stages (distances 4, 2, 1) on
 * 8-value blocks, two blocks per iteration, in registers; then back to u64 ([0, q), or [0, 4q)
 * lazy). The stages before the last reduce X when red. The last one reduces X when lazy (output
 * within 1.25q + 1, moved into [0, 4q) by adding 2q); else the store reduces every value anyway
 * (|a| <= 2^51 + 0.75q there, exact), so X needs no reduction before. Block B: distance-4 group
 * B (entry n/8 + B), distance-2 groups 2B, 2B + 1 (fw_d2), distance-1 groups 4B .. 4B + 3
 * (entries n/2 + 4B .., contiguous in the evens_odds() form). */
static inline void fwd_tail_store(double *p, __m256d y, int lazy, const fp_consts *k)
{
    /* lazy: |y| <= 1.25q + 1; else |y| <= 2^51 + 0.75q (reduced here) */
    if (lazy) y = _mm256_add_pd(y, _mm256_add_pd(k->q, k->q)); /* (0.75q - 1, 3.25q + 1) */
    else y = beaa_fp_make_positive(beaa_fp_reduce(y, k->q, k->qinv), k->q);
    _mm256_store_si256((__m256i *)(void *)p, beaa_fp_to_u64(y));
}

/* The tail of block pair B in two halves. front: load, the distance-4 stage (three) and the
 * distance-2 stage; back: the distance-1 stage and the store. */
static inline __attribute__((always_inline)) void fwd_tail_front(const beaa_ntt_tables *t,
                                                                 const double *a, size_t B,
                                                                 int three, int red,
                                                                 const fp_consts *k, __m256d *v)
{
    const size_t n = t->n;
    const double *p = a + 8 * B;
    v[0] = _mm256_load_pd(p);
    v[1] = _mm256_load_pd(p + 4);
    v[2] = _mm256_load_pd(p + 8);
    v[3] = _mm256_load_pd(p + 12);
    if (three) {
        const double *w = t->fw_d + n / 8 + B, *wq = t->fw_dq + n / 8 + B;
        fwd_bfly2(&v[0], &v[1], _mm256_broadcast_sd(w), _mm256_broadcast_sd(wq), &v[2], &v[3],
                  _mm256_broadcast_sd(w + 1), _mm256_broadcast_sd(wq + 1), red, k->q, k->qinv);
    }
    halves(&v[0], &v[1]);
    halves(&v[2], &v[3]);
    const double *d2 = t->fw_d2 + 8 * B;
    fwd_bfly2(&v[0], &v[1], _mm256_load_pd(d2), _mm256_load_pd(d2 + 4), &v[2], &v[3],
              _mm256_load_pd(d2 + 8), _mm256_load_pd(d2 + 12), red, k->q, k->qinv);
    evens_odds(&v[0], &v[1]);
    evens_odds(&v[2], &v[3]);
}

static inline __attribute__((always_inline)) void fwd_tail_back(const beaa_ntt_tables *t,
                                                                double *a, size_t B, int lazy,
                                                                const fp_consts *k, __m256d *v)
{
    const size_t n = t->n;
    double *p = a + 8 * B;
    const double *w = t->fw_d + n / 2 + 4 * B, *wq = t->fw_dq + n / 2 + 4 * B;
    fwd_bfly2(&v[0], &v[1], _mm256_loadu_pd(w), _mm256_loadu_pd(wq), &v[2], &v[3],
              _mm256_loadu_pd(w + 4), _mm256_loadu_pd(wq + 4), lazy, k->q, k->qinv);
    evens_odds(&v[0], &v[1]);
    evens_odds(&v[2], &v[3]);
    halves(&v[0], &v[1]);
    halves(&v[2], &v[3]);
    fwd_tail_store(p, v[0], lazy, k);
    fwd_tail_store(p + 4, v[1], lazy, k);
    fwd_tail_store(p + 8, v[2], lazy, k);
    fwd_tail_store(p + 12, v[3], lazy, k);
}

/* Software-pipelined: an iteration runs the front of pair B and the back of pair B - 2, two
 * independent dependency chains of about 40 cycles each. In one chain of about 80 cycles and
 * 130 instructions per pair, the reorder window held barely two pairs: the tail measured about
 * 10 cycles per 4-lane butterfly against 3 in the radix-4 passes (Zen 3). */
static inline __attribute__((always_inline)) void fwd_tail_body(const beaa_ntt_tables *t,
                                                                double *a, int three, int lazy,
                                                                int red, const fp_consts *k)
{
    const size_t nb = t->n / 8; /* blocks B (v0, v1) and B + 1 (v2, v3) per pair */
    __m256d cur[4];
    fwd_tail_front(t, a, 0, three, red, k, cur);
    for (size_t B = 2; B < nb; B += 2) {
        __m256d nxt[4];
        fwd_tail_front(t, a, B, three, red, k, nxt);
        fwd_tail_back(t, a, B - 2, lazy, k, cur);
        cur[0] = nxt[0];
        cur[1] = nxt[1];
        cur[2] = nxt[2];
        cur[3] = nxt[3];
    }
    fwd_tail_back(t, a, nb - 2, lazy, k, cur);
}

static __attribute__((noinline)) void fwd_tail(const beaa_ntt_tables *t, double *a, int three,
                                               int lazy, int red, const fp_consts *k)
{
    switch ((three << 2) | (lazy << 1) | red) { /* each combination its own loop */
    case 0: fwd_tail_body(t, a, 0, 0, 0, k); break;
    case 1: fwd_tail_body(t, a, 0, 0, 1, k); break;
    case 2: fwd_tail_body(t, a, 0, 1, 0, k); break;
    case 3: fwd_tail_body(t, a, 0, 1, 1, k); break;
    case 4: fwd_tail_body(t, a, 1, 0, 0, k); break;
    case 5: fwd_tail_body(t, a, 1, 0, 1, k); break;
    case 6: fwd_tail_body(t, a, 1, 1, 0, k); break;
    default: fwd_tail_body(t, a, 1, 1, 1, k); break;
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
    /* log n stages: pairs of distance n/2 .. down to 8 (log n even) or 16 (odd), then the 2 or 3
     * remaining stages in the tail (n >= 16: at least one pair, which converts). b bounds |a|
     * (plus a margin of 2 per stage for the +1 of the reductions); a pass leaves its reduction
     * out when b allows (see the range invariants) */
    const int three = t->log_n & 1;
    const size_t h_end = three ? 16 : 8;
    double b = 2 * qd + 2;
    int conv = 1;
    for (size_t m = 1, h = n >> 1; h >= h_end; m <<= 2, h >>= 2) {
        const int red = !(b + 1.5 * qd + 4 <= FP_LIMIT);
        fwd_stage4(t, d, m, h, conv, red, &k);
        b = red ? 2 * qd + 4 : b + 1.5 * qd + 4;
        conv = 0;
    }
    /* the tail's multiplications see at most b + 0.75q per stage before the last */
    fwd_tail(t, d, three, lazy, !(b + (three ? 1.5 : 0.75) * qd + 4 <= FP_LIMIT), &k);
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
                                                                double *a, const double *src,
                                                                int three, int red,
                                                                const fp_consts *k)
{
    const size_t n = t->n;
    for (size_t B = 0; B < n / 8; B += 2) { /* blocks B (v0, v1) and B + 1 (v2, v3) */
        double *p = a + 8 * B;
        const double *s = src + 8 * B;
        __m256d v0 = ld(s, 1, k->off), v1 = ld(s + 4, 1, k->off);
        __m256d v2 = ld(s + 8, 1, k->off), v3 = ld(s + 12, 1, k->off);
        halves(&v0, &v1);
        halves(&v2, &v3);
        evens_odds(&v0, &v1);
        evens_odds(&v2, &v3);
        const double *w = t->iv_d + n / 2 + 4 * B, *wq = t->iv_dq + n / 2 + 4 * B;
        inv_bfly2(&v0, &v1, _mm256_loadu_pd(w), _mm256_loadu_pd(wq), &v2, &v3,
                  _mm256_loadu_pd(w + 4), _mm256_loadu_pd(wq + 4), red, k->q, k->qinv);
        evens_odds(&v0, &v1);
        evens_odds(&v2, &v3);
        const double *d2 = t->iv_d2 + 8 * B;
        inv_bfly2(&v0, &v1, _mm256_load_pd(d2), _mm256_load_pd(d2 + 4), &v2, &v3,
                  _mm256_load_pd(d2 + 8), _mm256_load_pd(d2 + 12), red, k->q, k->qinv);
        halves(&v0, &v1);
        halves(&v2, &v3);
        if (three) {
            const double *w4 = t->iv_d + n / 8 + B, *wq4 = t->iv_dq + n / 8 + B;
            inv_bfly2(&v0, &v1, _mm256_broadcast_sd(w4), _mm256_broadcast_sd(wq4), &v2, &v3,
                      _mm256_broadcast_sd(w4 + 1), _mm256_broadcast_sd(wq4 + 1), red, k->q,
                      k->qinv);
        }
        _mm256_store_pd(p, v0);
        _mm256_store_pd(p + 4, v1);
        _mm256_store_pd(p + 8, v2);
        _mm256_store_pd(p + 12, v3);
    }
}

/* (src: the u64 input, == a for the in-place transforms) */
static __attribute__((noinline)) void inv_head(const beaa_ntt_tables *t, double *a,
                                               const double *src, int three, int red,
                                               const fp_consts *k)
{
    if (three) {
        if (red) inv_head_body(t, a, src, 1, 1, k);
        else inv_head_body(t, a, src, 1, 0, k);
    } else {
        if (red) inv_head_body(t, a, src, 0, 1, k);
        else inv_head_body(t, a, src, 0, 0, k);
    }
}

/* How the last inverse stage leaves its output: */
enum { INV_NORMAL, INV_LAZY, INV_AFFINE };

/* Output of the last inverse stage back to u64: |v| <= 0.75q -> [0, q) (INV_NORMAL),
 * [0, 2q) (INV_LAZY), or v + c mod q in [0, q) (INV_AFFINE, 0 <= c < q). */
static inline void inv_store(double *p, __m256d v, int mode, const fp_consts *k)
{
    if (mode == INV_LAZY) {
        v = _mm256_add_pd(v, k->q);
    } else if (mode == INV_AFFINE) { /* v + c in (-0.75q, 1.75q) */
        v = beaa_fp_sub_if_ge(beaa_fp_make_positive(_mm256_add_pd(v, k->c), k->q), k->q);
    } else {
        v = beaa_fp_make_positive(v, k->q);
    }
    _mm256_store_si256((__m256i *)(void *)p, beaa_fp_to_u64(v));
}

/* Inverse, two stages in one pass: m groups of distance h >= 4, then m/2 groups of distance 2h,
 * S reduced in the first stage when r1, in the second when r2. When last (m == 2) the second
 * stage is the last one: n^-1 is merged in and the output converted. */
static inline __attribute__((always_inline)) void inv_stage4_body(const beaa_ntt_tables *t,
                                                                  double *a, size_t m, size_t h,
                                                                  int mode, int r1, int r2,
                                                                  int last, const fp_consts *k)
{
    for (size_t i = 0; i < m / 2; i++) {
        const __m256d w0 = _mm256_set1_pd(t->iv_d[m + 2 * i]);
        const __m256d wq0 = _mm256_set1_pd(t->iv_dq[m + 2 * i]);
        const __m256d w1 = _mm256_set1_pd(t->iv_d[m + 2 * i + 1]);
        const __m256d wq1 = _mm256_set1_pd(t->iv_dq[m + 2 * i + 1]);
        const __m256d w2 = last ? k->nw : _mm256_set1_pd(t->iv_d[m / 2 + i]);
        const __m256d wq2 = last ? k->nwq : _mm256_set1_pd(t->iv_dq[m / 2 + i]);
        double *p = a + 4 * i * h;
        for (size_t j = 0; j < h; j += 4) {
            __m256d x0 = _mm256_load_pd(p + j), x1 = _mm256_load_pd(p + h + j);
            __m256d x2 = _mm256_load_pd(p + 2 * h + j), x3 = _mm256_load_pd(p + 3 * h + j);
            inv_bfly2(&x0, &x1, w0, wq0, &x2, &x3, w1, wq1, r1, k->q, k->qinv);
            if (!last) {
                inv_bfly2(&x0, &x2, w2, wq2, &x1, &x3, w2, wq2, r2, k->q, k->qinv);
                _mm256_store_pd(p + j, x0);
                _mm256_store_pd(p + h + j, x1);
                _mm256_store_pd(p + 2 * h + j, x2);
                _mm256_store_pd(p + 3 * h + j, x3);
            } else {
                /* (U, V) -> (n^-1 s (U + V), n^-1 s w (U - V)), |.| <= 0.75q */
                __m256d y0 = beaa_fp_mulmod(_mm256_add_pd(x0, x2), k->ni, k->niq, k->q);
                __m256d y2 = beaa_fp_mulmod(_mm256_sub_pd(x0, x2), w2, wq2, k->q);
                __m256d y1 = beaa_fp_mulmod(_mm256_add_pd(x1, x3), k->ni, k->niq, k->q);
                __m256d y3 = beaa_fp_mulmod(_mm256_sub_pd(x1, x3), w2, wq2, k->q);
                inv_store(p + j, y0, mode, k);
                inv_store(p + h + j, y1, mode, k);
                inv_store(p + 2 * h + j, y2, mode, k);
                inv_store(p + 3 * h + j, y3, mode, k);
            }
        }
    }
}

/* The pass kinds used: (r1, r2) = (1, 1), (0, 1), (0, 0); the last pass: r1 = 1 or 0, in each
 * output mode. */
static __attribute__((noinline)) void inv_stage4(const beaa_ntt_tables *t, double *a, size_t m,
                                                 size_t h, int mode, int r1, int r2,
                                                 const fp_consts *k)
{
    if (m == 2) {
        if (mode == INV_LAZY) {
            if (r1) inv_stage4_body(t, a, m, h, INV_LAZY, 1, 0, 1, k);
            else inv_stage4_body(t, a, m, h, INV_LAZY, 0, 0, 1, k);
        } else if (mode == INV_AFFINE) {
            if (r1) inv_stage4_body(t, a, m, h, INV_AFFINE, 1, 0, 1, k);
            else inv_stage4_body(t, a, m, h, INV_AFFINE, 0, 0, 1, k);
        } else {
            if (r1) inv_stage4_body(t, a, m, h, INV_NORMAL, 1, 0, 1, k);
            else inv_stage4_body(t, a, m, h, INV_NORMAL, 0, 0, 1, k);
        }
    } else if (r1) {
        inv_stage4_body(t, a, m, h, 0, 1, 1, 0, k);
    } else if (r2) {
        inv_stage4_body(t, a, m, h, 0, 0, 1, 0, k);
    } else {
        inv_stage4_body(t, a, m, h, 0, 0, 0, 0, k);
    }
}

/* ni = n^-1 s, nw = n^-1 iv[1] s mod q (s = 1 or the scaled kernel's w); c < q added in
 * INV_AFFINE mode. */
static void ntt_inv_common(const beaa_ntt_tables *t, uint64_t *a, const uint64_t *src, int mode,
                           uint64_t ni, uint64_t nw, uint64_t c)
{
    const size_t n = t->n;
    const double qd = (double)t->mod.q;
    fp_consts k;
    k.q = _mm256_set1_pd(qd);
    k.qinv = _mm256_set1_pd(1.0 / qd);
    k.off = _mm256_set1_pd(BEAA_FP_TWO52 + qd); /* input [0, 2q) -> [-q, q) */
    k.ni = _mm256_set1_pd((double)ni);
    k.niq = _mm256_set1_pd((double)ni / qd);
    k.nw = _mm256_set1_pd((double)nw);
    k.nwq = _mm256_set1_pd((double)nw / qd);
    k.c = _mm256_set1_pd((double)c);
    double *d = (double *)(void *)a;
    /* the first 2 (log n even) or 3 (odd) stages in the head, then pairs of stages from distance
     * 4 or 8 up to n/2 (n >= 16: at least one pair; the one with m == 2 is the last). b bounds
     * |a| between passes, always with 2b <= 2^51 (the next multiplication's input); a stage
     * without reduction takes b to 2b (T <= 0.75q <= 2b), one with it to 0.75q (+ margin) */
    const int three = t->log_n & 1;
    const double hs = three ? 8 : 4, br = 0.75 * qd + 4;
    double b = qd + 1;
    const int hred = !(2 * hs * b <= FP_LIMIT);
    inv_head(t, d, (const double *)(const void *)src, three, hred, &k);
    b = hred ? br : hs * b;
    for (size_t m = n >> (three ? 4 : 3), h = three ? 8 : 4; m >= 2; m >>= 2, h <<= 2) {
        if (m == 2) { /* the last stage multiplies U + V and U - V: both within 2b */
            inv_stage4(t, d, m, h, mode, !(4 * b <= FP_LIMIT), 1, &k);
        } else if (8 * b <= FP_LIMIT) {
            inv_stage4(t, d, m, h, mode, 0, 0, &k);
            b *= 4;
        } else {
            inv_stage4(t, d, m, h, mode, !(4 * b <= FP_LIMIT), 1, &k);
            b = br;
        }
    }
}

void beaa_ntt_inv_avx2(const beaa_ntt_tables *t, uint64_t *a)
{
    if (!t->iv_d || t->n < 16) {
        beaa_ntt_inv_ref(t, a);
        return;
    }
    ntt_inv_common(t, a, a, INV_NORMAL, t->n_inv, t->n_inv_w, 0);
}

void beaa_ntt_inv_lazy_avx2(const beaa_ntt_tables *t, uint64_t *a)
{
    if (!t->iv_d || t->n < 16) {
        beaa_ntt_inv_lazy_ref(t, a);
        return;
    }
    ntt_inv_common(t, a, a, INV_LAZY, t->n_inv, t->n_inv_w, 0);
}

void beaa_ntt_inv_scaled_avx2(const beaa_ntt_tables *t, uint64_t *r, const uint64_t *a,
                              uint64_t w, uint64_t c)
{
    if (!t->iv_d || t->n < 16) {
        beaa_ntt_inv_scaled_ref(t, r, a, w, c);
        return;
    }
    ntt_inv_common(t, r, a, INV_AFFINE, beaa_mul_mod(t->n_inv, w, &t->mod),
                   beaa_mul_mod(t->n_inv_w, w, &t->mod), c);
}
