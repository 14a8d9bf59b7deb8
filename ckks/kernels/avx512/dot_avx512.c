/* dot_avx512.c - AVX-512 IFMA small-weight dot products (lin_dot, kernels.h): the linear maps
 * of encrypted inference straight on the 50-bit residues. Each product x*w of two values below
 * q < 2^50 is split by vpmadd52luq / vpmadd52huq into its low 52 bits and the bits above, and
 * both halves are summed without reduction (k <= 4095 low halves stay below 2^64, the high
 * halves below 2^60): two multiply-adds per product and 8 lanes per instruction, the same
 * arithmetic rate as double-precision FMA, without splitting the residues into doubles and
 * rebuilding them (the exact dgemm path of nn/linear.c). One reduction per output:
 * T = L + H 2^52 = t0 + t1 2^52 + t2 2^104 (52-bit digits), each digit times 2^(52i) mod q by a
 * 52-bit Shoup product, then a few conditional subtractions.
 * Rows in multiples of 4 (of maps with 2 inputs or more) take the terms in pairs (Winograd's
 * inner product, ld5_tile_pairs): one product per pair of terms. Blocks of 64 columns, so the
 * inputs a tile reads stay in cache for the next; register tiles of 8 rows x 8 coefficients for
 * the pairs, 2 rows x 32 coefficients for the plain products. */
#include "ckks/kernels/avx512/avx512.h"
#include "ckks/kernels/ref/ref.h"
#ifndef BEAA_IFMA_EMULATE
#include <immintrin.h>
#endif

/* Register tile: LD5_R rows x LD5_C vectors of 8 columns (16 accumulators). Measured on Zen 4
 * (bench_linear): 2 x 4 and 8 x 1 tie, 4 x 2 and 4 x 3 are 5-15% slower. */
#define LD5_R 2
#define LD5_C 4
#define LD5_TILE 8   /* largest R ld5_tile unrolls */
#define LD5_CW 4     /* largest CW ld5_tile unrolls */
#define LD5_COLS 64
#define LD5_M52 ((UINT64_C(1) << 52) - 1)
#define LD5_M50 ((UINT64_C(1) << 50) - 1)

/* A constant c < q with its 52-bit Shoup form c' = floor(c 2^52 / q). */
typedef struct ld5_const {
    __m512i c, cs;
} ld5_const;

static ld5_const ld5_make(uint64_t c, uint64_t q)
{
    ld5_const k;
    k.c = _mm512_set1_epi64((long long)c);
    k.cs = _mm512_set1_epi64((long long)(uint64_t)(((beaa_u128)c << 52) / q));
    return k;
}

/* a c mod q in [0, 2q) for a < 2^52: the quotient estimate hi52(a c') is floor(a c / q) or one
 * less, and a c - qe q < 2q < 2^51 is exact in the low 52 bits. */
static inline __m512i ld5_shoup(__m512i a, const ld5_const *k, __m512i vq, __m512i m52)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i qe = _mm512_madd52hi_epu64(zero, a, k->cs);
    __m512i r = _mm512_sub_epi64(_mm512_madd52lo_epu64(zero, a, k->c),
                                 _mm512_madd52lo_epu64(zero, qe, vq));
    return _mm512_and_si512(r, m52);
}

/* a mod q in [0, 2q) for a < 2^52: ld5_shoup by c = 1 (k = ld5_make(1, q)), whose product a c
 * is a itself and whose difference a - qe q needs no mask. The same value, two instructions less. */
static inline __m512i ld5_mod1(__m512i a, const ld5_const *k, __m512i vq)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i qe = _mm512_madd52hi_epu64(zero, a, k->cs);
    return _mm512_sub_epi64(a, _mm512_madd52lo_epu64(zero, qe, vq));
}

static inline __m512i ld5_csub(__m512i x, __m512i c)
{
    return _mm512_min_epu64(x, _mm512_sub_epi64(x, c));
}

/* (L + H 2^52 + b) mod q for L < 2^64, H < 2^60, b < q. */
typedef struct ld5_red {
    __m512i q, q2, q4, m52, s52;
    ld5_const one, c1, c2;
} ld5_red;

static inline __m512i ld5_reduce(__m512i L, __m512i H, __m512i b, const ld5_red *k)
{
    __m512i t0 = _mm512_and_si512(L, k->m52);
    __m512i t1 = _mm512_add_epi64(_mm512_srlv_epi64(L, k->s52), _mm512_and_si512(H, k->m52));
    __m512i t2 = _mm512_add_epi64(_mm512_srlv_epi64(H, k->s52), _mm512_srlv_epi64(t1, k->s52));
    t1 = _mm512_and_si512(t1, k->m52);
    __m512i s = _mm512_add_epi64(ld5_mod1(t0, &k->one, k->q), ld5_shoup(t1, &k->c1, k->q, k->m52));
    s = _mm512_add_epi64(s, ld5_shoup(t2, &k->c2, k->q, k->m52));
    s = _mm512_add_epi64(s, b); /* < 7q < 2^53 */
    s = ld5_csub(s, k->q4);
    s = ld5_csub(s, k->q2);
    return ld5_csub(s, k->q);
}

/* The same for sums of at most 15 products (H + L/2^52 < 2^52): two 52-bit digits, two Shoup
 * products. */
static inline __m512i ld5_reduce2(__m512i L, __m512i H, __m512i b, const ld5_red *k)
{
    __m512i t0 = _mm512_and_si512(L, k->m52);
    __m512i t1 = _mm512_add_epi64(_mm512_srlv_epi64(L, k->s52), H);
    __m512i s = _mm512_add_epi64(ld5_mod1(t0, &k->one, k->q), ld5_shoup(t1, &k->c1, k->q, k->m52));
    s = _mm512_add_epi64(s, b); /* < 5q */
    s = ld5_csub(s, k->q4);
    s = ld5_csub(s, k->q2);
    return ld5_csub(s, k->q);
}

static ld5_red ld5_make_red(uint64_t q)
{
    ld5_red red;
    red.q = _mm512_set1_epi64((long long)q);
    red.q2 = _mm512_set1_epi64((long long)(2 * q));
    red.q4 = _mm512_set1_epi64((long long)(4 * q));
    red.m52 = _mm512_set1_epi64((long long)LD5_M52);
    red.s52 = _mm512_set1_epi64(52);
    uint64_t c1 = (uint64_t)(((beaa_u128)1 << 52) % q);
    red.one = ld5_make(1 % q, q);
    red.c1 = ld5_make(c1, q);
    red.c2 = ld5_make((uint64_t)((beaa_u128)c1 * c1 % q), q);
    return red;
}

/* One tile of R rows x (8 CW) columns over the columns [t0, t1) (t1 - t0 a multiple of 8 CW):
 * 2 R CW accumulators, CW input vectors and one broadcast weight in registers. Inlined with
 * constant R and CW, so the loops unroll and the accumulators stay in registers. A broadcast
 * costs an issue slot like a multiply-add, so each weight serves CW vectors. */
static inline __attribute__((always_inline)) void
ld5_tile(uint64_t *const *r, const uint64_t *const *x, const uint64_t *w, const uint64_t *bias,
         size_t R, size_t CW, size_t k, size_t t0, size_t t1, const ld5_red *red)
{
    const __m512i zero = _mm512_setzero_si512();
    for (size_t t = t0; t < t1; t += 8 * CW) {
        __m512i lo[LD5_TILE][LD5_CW], hi[LD5_TILE][LD5_CW];
#pragma GCC unroll 8
        for (size_t j = 0; j < LD5_TILE; j++)
#pragma GCC unroll 4
            for (size_t v = 0; v < LD5_CW; v++) lo[j][v] = hi[j][v] = zero;
        for (size_t c = 0; c < k; c++) {
            __m512i xv[LD5_CW];
#pragma GCC unroll 4
            for (size_t v = 0; v < LD5_CW; v++) {
                if (v >= CW) break;
                xv[v] = _mm512_loadu_si512((const void *)(x[c] + t + 8 * v));
            }
            const uint64_t *wc = w + c;
#pragma GCC unroll 8
            for (size_t j = 0; j < LD5_TILE; j++) {
                if (j >= R) break;
                __m512i wv = _mm512_set1_epi64((long long)wc[j * k]);
#pragma GCC unroll 4
                for (size_t v = 0; v < LD5_CW; v++) {
                    if (v >= CW) break;
                    lo[j][v] = _mm512_madd52lo_epu64(lo[j][v], xv[v], wv);
                    hi[j][v] = _mm512_madd52hi_epu64(hi[j][v], xv[v], wv);
                }
            }
        }
        for (size_t j = 0; j < R; j++) {
            __m512i b = _mm512_set1_epi64((long long)(bias ? bias[j] : 0));
            for (size_t v = 0; v < CW; v++)
                _mm512_storeu_si512((void *)(r[j] + t + 8 * v), ld5_reduce(lo[j][v], hi[j][v], b, red));
        }
    }
}

/* Winograd's inner product (1968): for a pair of terms a, b of a row,
 *   x_a w_a + x_b w_b = (x_a + w_b)(x_b + w_a) - x_a x_b - w_a w_b,
 * so a row takes one product per pair. The input term X = sum over pairs of x_a x_b is the same
 * for every row (computed once per column block: ld5_pairs_x), the weight term W = sum of
 * w_a w_b once per row (folded into its bias). With w, x < q the factors are below 2q < 2^51
 * (IFMA takes 52 bits) and their products below 2^102: 2,048 low halves stay below 2^63.
 * Per pair and 8 columns two vpaddq (the weight an embedded broadcast) and two IFMA, where the
 * plain tile takes four IFMA: the adds run on the pipes IFMA leaves free (Zen 4). The last term
 * of an odd k is a plain product. Tile: R <= LD5_PAIR_R rows x 8 columns (2 R accumulators);
 * measured on Zen 4 (bench_linear), 8 rows x 8 columns beat 2 x 32, 4 x 16 and 4 x 8; below 4
 * rows the plain tile is faster. */
#define LD5_PAIR_R 8
static inline __attribute__((always_inline)) void
ld5_tile_pairs(uint64_t *const *r, const uint64_t *const *x, const uint64_t *w, const uint64_t *bw,
               const uint64_t *xx, size_t R, size_t k, size_t nc, const ld5_red *red)
{
    const __m512i zero = _mm512_setzero_si512();
    for (size_t t = 0; t < nc; t += 8) {
        __m512i lo[LD5_PAIR_R], hi[LD5_PAIR_R];
#pragma GCC unroll 8
        for (size_t j = 0; j < LD5_PAIR_R; j++) lo[j] = hi[j] = zero;
        for (size_t c = 0; c + 1 < k; c += 2) {
            const __m512i xa = _mm512_loadu_si512((const void *)(x[c] + t));
            const __m512i xb = _mm512_loadu_si512((const void *)(x[c + 1] + t));
#pragma GCC unroll 8
            for (size_t j = 0; j < LD5_PAIR_R; j++) {
                if (j >= R) break;
                __m512i a = _mm512_add_epi64(xa, _mm512_set1_epi64((long long)w[j * k + c + 1]));
                __m512i b = _mm512_add_epi64(xb, _mm512_set1_epi64((long long)w[j * k + c]));
                lo[j] = _mm512_madd52lo_epu64(lo[j], a, b);
                hi[j] = _mm512_madd52hi_epu64(hi[j], a, b);
            }
        }
        if (k & 1) {
            const __m512i xv = _mm512_loadu_si512((const void *)(x[k - 1] + t));
#pragma GCC unroll 8
            for (size_t j = 0; j < LD5_PAIR_R; j++) {
                if (j >= R) break;
                __m512i wv = _mm512_set1_epi64((long long)w[j * k + k - 1]);
                lo[j] = _mm512_madd52lo_epu64(lo[j], xv, wv);
                hi[j] = _mm512_madd52hi_epu64(hi[j], xv, wv);
            }
        }
        const __m512i xt = _mm512_loadu_si512((const void *)(xx + t));
        for (size_t j = 0; j < R; j++) {
            const __m512i b = _mm512_set1_epi64((long long)bw[j]);
            __m512i d = _mm512_sub_epi64(ld5_reduce(lo[j], hi[j], b, red), xt);
            d = _mm512_min_epu64(d, _mm512_add_epi64(d, red->q));
            _mm512_storeu_si512((void *)(r[j] + t), d);
        }
    }
}

/* xx[t] = sum over pairs of x[c][t] x[c + 1][t] mod q (c even, c + 1 < k), for t < nc. */
static void ld5_pairs_x(uint64_t *xx, const uint64_t *const *x, size_t k, size_t nc,
                        const ld5_red *red)
{
    const __m512i zero = _mm512_setzero_si512();
    for (size_t t = 0; t < nc; t += 8) {
        __m512i lo = zero, hi = zero;
        for (size_t c = 0; c + 1 < k; c += 2) {
            __m512i a = _mm512_loadu_si512((const void *)(x[c] + t));
            __m512i b = _mm512_loadu_si512((const void *)(x[c + 1] + t));
            lo = _mm512_madd52lo_epu64(lo, a, b);
            hi = _mm512_madd52hi_epu64(hi, a, b);
        }
        _mm512_storeu_si512((void *)(xx + t), ld5_reduce(lo, hi, zero, red));
    }
}

/* Rows per call of lin_dot_pairs (their adjusted biases sit on the stack). */
#define LD5_PAIR_ROWS 64

/* lin_dot for m <= LD5_PAIR_ROWS rows (a multiple of 4) and k >= 2 by Winograd's pairs. */
static void lin_dot_pairs(uint64_t *const *r, const uint64_t *const *x, const uint64_t *w,
                          const uint64_t *bias, size_t m, size_t k, size_t n, const beaa_modulus *q,
                          const ld5_red *red)
{
    /* bw[j] = bias_j - sum over pairs of w_a w_b, mod q */
    uint64_t bw[LD5_PAIR_ROWS];
    for (size_t j = 0; j < m; j++) {
        const uint64_t *wj = w + j * k;
        beaa_u128 acc = 0;
        for (size_t c = 0; c + 1 < k; c += 2) {
            acc += (beaa_u128)wj[c] * wj[c + 1];
            if ((c & 62) == 62) acc = beaa_reduce128(acc, q); /* every 32 products */
        }
        uint64_t ww = beaa_reduce128(acc, q), b = bias ? bias[j] : 0;
        bw[j] = b >= ww ? b - ww : b + q->q - ww;
    }
    uint64_t xx[LD5_COLS];
    const uint64_t *xp[BEAA_LIN_DOT_MAX_K];
    for (size_t t0 = 0; t0 < n; t0 += LD5_COLS) {
        size_t t1 = n - t0 < LD5_COLS ? n : t0 + LD5_COLS, nc = t1 - t0;
        for (size_t c = 0; c < k; c++) {
            xp[c] = x[c] + t0;
            if (t1 < n) /* the next block of every input (see beaa_lin_dot_avx512) */
                for (size_t l = 0; l < LD5_COLS && t1 + l < n; l += 8)
                    __builtin_prefetch(x[c] + t1 + l, 0, 2);
        }
        ld5_pairs_x(xx, xp, k, nc, red);
        /* tiles of 8 rows, then 4 (m is a multiple of 4) */
        uint64_t *rj[LD5_PAIR_R];
        size_t j = 0;
        for (size_t R = LD5_PAIR_R; R >= 4; R /= 2)
            for (; j + R <= m; j += R) {
                for (size_t i = 0; i < R; i++) rj[i] = r[j + i] + t0;
                if (R == 8) ld5_tile_pairs(rj, xp, w + j * k, bw + j, xx, 8, k, nc, red);
                else ld5_tile_pairs(rj, xp, w + j * k, bw + j, xx, 4, k, nc, red);
            }
    }
}

void beaa_lin_dot_avx512(uint64_t *const *r, const uint64_t *const *x, const uint64_t *w,
                         const uint64_t *bias, size_t m, size_t k, size_t n, const beaa_modulus *q)
{
    if (q->q >= (UINT64_C(1) << 50) || k == 0 || k > BEAA_LIN_DOT_MAX_K || n % 8) {
        beaa_lin_dot_ref(r, x, w, bias, m, k, n, q);
        return;
    }
    const ld5_red red = ld5_make_red(q->q);
    /* rows in multiples of 4 by pairs; fewer than 4 rows (or the last m % 4) by the plain tile,
     * which measured faster there (the input term of the pairs is shared by too few rows) */
    const size_t mp = k >= 2 ? m / 4 * 4 : 0;
    for (size_t j = 0; j < mp; j += LD5_PAIR_ROWS) {
        size_t mj = mp - j < LD5_PAIR_ROWS ? mp - j : LD5_PAIR_ROWS;
        lin_dot_pairs(r + j, x, w + j * k, bias ? bias + j : NULL, mj, k, n, q, &red);
    }
    if (mp == m) return;
    r += mp;
    w += mp * k;
    if (bias) bias += mp;
    m -= mp;
    /* column blocks of LD5_COLS: the k x LD5_COLS inputs a block reads stay in L1/L2 while
     * every tile of rows reads them (packing them into one buffer first measured slower) */
    const uint64_t *xp[BEAA_LIN_DOT_MAX_K];
    for (size_t t0 = 0; t0 < n; t0 += LD5_COLS) {
        size_t t1 = n - t0 < LD5_COLS ? n : t0 + LD5_COLS, nc = t1 - t0;
        for (size_t c = 0; c < k; c++) {
            xp[c] = x[c] + t0;
            /* the next block of every input: k streams megabytes apart are more than the
             * hardware prefetchers follow, and in the encrypted pass they come from DRAM */
            if (t1 < n)
                for (size_t l = 0; l < LD5_COLS && t1 + l < n; l += 8) __builtin_prefetch(x[c] + t1 + l, 0, 2);
        }
        size_t tw = nc / (8 * LD5_C) * (8 * LD5_C); /* whole steps of LD5_C vectors */
        uint64_t *rj[LD5_R];
        size_t j = 0;
        for (; j + LD5_R <= m; j += LD5_R) {
            for (size_t i = 0; i < LD5_R; i++) rj[i] = r[j + i] + t0;
            ld5_tile(rj, xp, w + j * k, bias ? bias + j : NULL, LD5_R, LD5_C, k, 0, tw, &red);
            if (tw < nc) ld5_tile(rj, xp, w + j * k, bias ? bias + j : NULL, LD5_R, 1, k, tw, nc, &red);
        }
        for (; j < m; j++) {
            rj[0] = r[j] + t0;
            ld5_tile(rj, xp, w + j * k, bias ? bias + j : NULL, 1, 1, k, 0, nc, &red);
        }
    }
}

/* ---- key switching: fast basis conversion and the digit inner product on IFMA ---- */

/* 8 bytes u[0..7] as 8 lanes (zero-extended). */
static inline __m512i ld5_bytes8(const uint8_t *u)
{
#ifdef BEAA_IFMA_EMULATE
    __m512i r;
    for (int i = 0; i < 8; i++) r.v[i] = u[i];
    return r;
#else
    return _mm512_cvtepu8_epi64(_mm_loadl_epi64((const __m128i *)(const void *)u));
#endif
}

/* The basis conversion body for 16 outputs at k: lo/hi halves of x[i][k..k+15] * c[i] summed
 * (n_in <= 255: below 2^60 and 2^58), then reduced; 0 when an input is >= 2^52 (the 52-bit
 * multiplier would drop its top bits: the caller takes the ref kernel for the block). With
 * corr, subtracts corr[u[k]] (the mod-down's overflow correction, n_in + 1 <= 8 values). */
static inline int ld5_conv16(uint64_t *r, const uint64_t *const *x, const uint64_t *c, size_t n_in,
                             size_t k, const ld5_red *red, const uint8_t *u, __m512i corrv)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i lo0 = zero, hi0 = zero, lo1 = zero, hi1 = zero, big = zero;
    for (size_t i = 0; i < n_in; i++) {
        __m512i x0 = _mm512_loadu_si512((const void *)(x[i] + k));
        __m512i x1 = _mm512_loadu_si512((const void *)(x[i] + k + 8));
        __m512i w = _mm512_set1_epi64((long long)c[i]);
        big = _mm512_or_si512(big, _mm512_or_si512(x0, x1));
        lo0 = _mm512_madd52lo_epu64(lo0, x0, w);
        hi0 = _mm512_madd52hi_epu64(hi0, x0, w);
        lo1 = _mm512_madd52lo_epu64(lo1, x1, w);
        hi1 = _mm512_madd52hi_epu64(hi1, x1, w);
    }
    /* two digits suffice for at most 15 terms of inputs below 2^50 (H + L / 2^52 < 15 * 2^48 +
     * 15); inputs up to 2^52 (residues of larger primes) make the high halves 4x larger */
    __m512i r0, r1;
    const __m512i above50 = _mm512_set1_epi64((long long)~(uint64_t)LD5_M50);
    if (n_in <= 15 && !_mm512_test_epi64_mask(big, above50)) {
        r0 = ld5_reduce2(lo0, hi0, zero, red);
        r1 = ld5_reduce2(lo1, hi1, zero, red);
    } else {
        if (_mm512_test_epi64_mask(big, _mm512_set1_epi64((long long)~(uint64_t)LD5_M52))) return 0;
        r0 = ld5_reduce(lo0, hi0, zero, red);
        r1 = ld5_reduce(lo1, hi1, zero, red);
    }
    if (u) {
        /* r - corr[u] mod q */
        __m512i g0 = _mm512_permutexvar_epi64(ld5_bytes8(u + k), corrv);
        __m512i g1 = _mm512_permutexvar_epi64(ld5_bytes8(u + k + 8), corrv);
        __m512i d0 = _mm512_sub_epi64(r0, g0), d1 = _mm512_sub_epi64(r1, g1);
        r0 = _mm512_min_epu64(d0, _mm512_add_epi64(d0, red->q));
        r1 = _mm512_min_epu64(d1, _mm512_add_epi64(d1, red->q));
    }
    _mm512_storeu_si512((void *)(r + k), r0);
    _mm512_storeu_si512((void *)(r + k + 8), r1);
    return 1;
}

/* The same body for n_in <= LD5_SHOUP_MAX inputs: each term x c mod p by its own 52-bit Shoup
 * product (cs[i] = floor(c[i] 2^52 / p)), in [0, 2p), the sum (< 2 n_in p) brought into [0, p)
 * by conditional subtractions. Per 8 outputs 3 IFMA per term and n_in vpminuq (with the
 * correction one more), where the lo/hi sum takes 2 per term and 8 for its reduction: 8 instead
 * of 12 on the IFMA pipes for the mod-up's 2-limb digits, 12 instead of 14 for 3 inputs. */
#define LD5_SHOUP_MAX 3
static inline int ld5_conv16_shoup(uint64_t *r, const uint64_t *const *x, const ld5_const *cs,
                                   size_t n_in, size_t k, const ld5_red *red, const uint8_t *u,
                                   __m512i corrv)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i s0 = zero, s1 = zero, big = zero;
    for (size_t i = 0; i < n_in; i++) {
        __m512i x0 = _mm512_loadu_si512((const void *)(x[i] + k));
        __m512i x1 = _mm512_loadu_si512((const void *)(x[i] + k + 8));
        big = _mm512_or_si512(big, _mm512_or_si512(x0, x1));
        s0 = _mm512_add_epi64(s0, ld5_shoup(x0, &cs[i], red->q, red->m52));
        s1 = _mm512_add_epi64(s1, ld5_shoup(x1, &cs[i], red->q, red->m52));
    }
    if (_mm512_test_epi64_mask(big, _mm512_set1_epi64((long long)~(uint64_t)LD5_M52))) return 0;
    if (n_in == 3) { /* < 6p */
        s0 = ld5_csub(s0, red->q4);
        s1 = ld5_csub(s1, red->q4);
    }
    if (n_in >= 2) { /* < 4p */
        s0 = ld5_csub(s0, red->q2);
        s1 = ld5_csub(s1, red->q2);
    }
    if (u) {
        /* s - corr[u] mod p from s in [0, 2p): s - corr in (-p, 2p), then into [0, p) */
        __m512i d0 = _mm512_sub_epi64(s0, _mm512_permutexvar_epi64(ld5_bytes8(u + k), corrv));
        __m512i d1 = _mm512_sub_epi64(s1, _mm512_permutexvar_epi64(ld5_bytes8(u + k + 8), corrv));
        d0 = _mm512_min_epu64(d0, _mm512_add_epi64(d0, red->q));
        d1 = _mm512_min_epu64(d1, _mm512_add_epi64(d1, red->q));
        s0 = ld5_csub(d0, red->q);
        s1 = ld5_csub(d1, red->q);
    } else {
        s0 = ld5_csub(s0, red->q);
        s1 = ld5_csub(s1, red->q);
    }
    _mm512_storeu_si512((void *)(r + k), s0);
    _mm512_storeu_si512((void *)(r + k + 8), s1);
    return 1;
}

static void ld5_conv(uint64_t *r, const uint64_t *const *x, const uint64_t *c, size_t n_in,
                     size_t n, const beaa_modulus *p, const uint8_t *u, const uint64_t *corr)
{
    const ld5_red red = ld5_make_red(p->q);
    uint64_t cpad[8] = {0};
    if (u)
        for (size_t i = 0; i <= n_in; i++) cpad[i] = corr[i];
    const __m512i corrv = _mm512_loadu_si512((const void *)cpad);
    const int shoup = n_in <= LD5_SHOUP_MAX;
    ld5_const cs[LD5_SHOUP_MAX];
    for (size_t i = 0; shoup && i < n_in; i++) cs[i] = ld5_make(c[i] % p->q, p->q);
    size_t k = 0;
    for (; k + 16 <= n; k += 16) {
        if (shoup ? ld5_conv16_shoup(r, x, cs, n_in, k, &red, u, corrv)
                  : ld5_conv16(r, x, c, n_in, k, &red, u, corrv))
            continue;
        /* an input >= 2^52 in this block: the ref kernel for it */
        const uint64_t *xs[255];
        for (size_t i = 0; i < n_in; i++) xs[i] = x[i] + k;
        if (u) beaa_basis_conv_sub_ref(r + k, xs, c, n_in, 16, p, u + k, corr);
        else beaa_basis_conv_ref(r + k, xs, c, n_in, 16, p);
    }
    if (k < n) {
        const uint64_t *xs[255];
        for (size_t i = 0; i < n_in; i++) xs[i] = x[i] + k;
        if (u) beaa_basis_conv_sub_ref(r + k, xs, c, n_in, n - k, p, u + k, corr);
        else beaa_basis_conv_ref(r + k, xs, c, n_in, n - k, p);
    }
}

/* basis_conv (kernels.h) for p < 2^50 on IFMA: two multiply-adds per term, one reduction per
 * output; inputs are normally residues of < 2^50 primes, and a 16-value block holding one of
 * 2^52 or more (a context that mixes larger primes) goes to the ref kernel. */
void beaa_basis_conv_avx512(uint64_t *r, const uint64_t *const *x, const uint64_t *c, size_t n_in,
                            size_t n, const beaa_modulus *p)
{
    if (p->q >= (UINT64_C(1) << 50) || n_in == 0 || n_in > 255) {
        beaa_basis_conv_ref(r, x, c, n_in, n, p);
        return;
    }
    ld5_conv(r, x, c, n_in, n, p, NULL, NULL);
}

void beaa_basis_conv_sub_avx512(uint64_t *r, const uint64_t *const *x, const uint64_t *c,
                                size_t n_in, size_t n, const beaa_modulus *p, const uint8_t *u,
                                const uint64_t *corr)
{
    if (p->q >= (UINT64_C(1) << 50) || n_in == 0 || n_in > 7) {
        beaa_basis_conv_sub_ref(r, x, c, n_in, n, p, u, corr);
        return;
    }
    ld5_conv(r, x, c, n_in, n, p, u, corr);
}

/* ks_dot2 (kernels.h) for q < 2^50 on IFMA: per output, the lo/hi halves of the nd products
 * summed (nd <= 63 plus the added residue stay below 2^58 and 2^54), one reduction each. */
void beaa_ks_dot2_avx512(uint64_t *r0, uint64_t *r1, const uint64_t *const *d,
                         const uint64_t *const *kb, const uint64_t *const *ka, size_t nd, size_t n,
                         const beaa_modulus *m, int add)
{
    if (m->q >= (UINT64_C(1) << 50) || nd == 0 || nd > 63 || n % 8) {
        beaa_ks_dot2_ref(r0, r1, d, kb, ka, nd, n, m, add);
        return;
    }
    const ld5_red red = ld5_make_red(m->q);
    const __m512i zero = _mm512_setzero_si512();
    for (size_t i = 0; i < n; i += 8) {
        __m512i lb = add ? _mm512_loadu_si512((const void *)(r0 + i)) : zero, hb = zero;
        __m512i la = add ? _mm512_loadu_si512((const void *)(r1 + i)) : zero, ha = zero;
        for (size_t j = 0; j < nd; j++) {
            __m512i dv = _mm512_loadu_si512((const void *)(d[j] + i));
            __m512i bv = _mm512_loadu_si512((const void *)(kb[j] + i));
            __m512i av = _mm512_loadu_si512((const void *)(ka[j] + i));
            lb = _mm512_madd52lo_epu64(lb, dv, bv);
            hb = _mm512_madd52hi_epu64(hb, dv, bv);
            la = _mm512_madd52lo_epu64(la, dv, av);
            ha = _mm512_madd52hi_epu64(ha, dv, av);
        }
        if (nd <= 14) { /* plus the added residue: at most 15 terms */
            _mm512_storeu_si512((void *)(r0 + i), ld5_reduce2(lb, hb, zero, &red));
            _mm512_storeu_si512((void *)(r1 + i), ld5_reduce2(la, ha, zero, &red));
        } else {
            _mm512_storeu_si512((void *)(r0 + i), ld5_reduce(lb, hb, zero, &red));
            _mm512_storeu_si512((void *)(r1 + i), ld5_reduce(la, ha, zero, &red));
        }
    }
}
