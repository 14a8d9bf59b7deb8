/* dot_avx512.c - AVX-512 IFMA small-weight dot products (lin_dot, kernels.h): the linear maps
 * of encrypted inference straight on the 50-bit residues. Each product x*w of two values below
 * q < 2^50 is split by vpmadd52luq / vpmadd52huq into its low 52 bits and the bits above, and
 * both halves are summed without reduction (k <= 4095 low halves stay below 2^64, the high
 * halves below 2^60): two multiply-adds per product and 8 lanes per instruction, the same
 * arithmetic rate as double-precision FMA, without splitting the residues into doubles and
 * rebuilding them (the exact dgemm path of nn/linear.c). One reduction per output (ifma52.h).
 * On AMD cores, rows in multiples of 4 (of maps with 2 inputs or more) take the terms in pairs
 * (Winograd's inner product, ld5_tile_pairs): one product per pair of terms; on other cores
 * every row takes plain products (beaa_lin_dot_avx512 at the end). Blocks of 64 columns, so the
 * inputs a tile reads stay in cache for the next; register tiles of 8 rows x 8 coefficients for
 * the pairs, 2 rows x 32 coefficients for the plain products. */
#include "ckks/kernels/avx512/avx512.h"
#include "ckks/kernels/ref/ref.h"
#include "ckks/kernels/avx512/ifma52.h"
#include "lib/cpu.h"

/* Register tile: LD5_R rows x LD5_C vectors of 8 columns (16 accumulators). Measured on Zen 4
 * (bench_linear): 2 x 4 and 8 x 1 tie, 4 x 2 and 4 x 3 are 5-15% slower. */
#define LD5_R 2
#define LD5_C 4
#define LD5_TILE 8   /* largest R ld5_tile unrolls */
#define LD5_CW 4     /* largest CW ld5_tile unrolls */
#define LD5_COLS 64
/* The largest k whose sums the two-digit reduction takes (ld5_reduce2 needs H + L / 2^52 <
 * 2^52): with q < 2^50 a product of two residues is at most (2^50 - 2)^2, its high half at most
 * 2^48 - 1, so 16 of them (and their 16 low halves' carries) fit; a pair's product, factors
 * below 2q, at most 4 (2^50 - 2)^2, high half at most 2^50 - 4: 4 pairs fit, not a fifth term.
 * Small maps spend most of their time in the reduction (k = 4: 4 IFMA of products, 8 of
 * reduction per 8 outputs; ld5_reduce2 takes 5). */
#define LD5_TWO_DIGITS 16
#define LD5_PAIR_TWO_DIGITS 8

/* One tile of R rows x (8 CW) columns over the columns [t0, t1) (t1 - t0 a multiple of 8 CW):
 * 2 R CW accumulators, CW input vectors and one broadcast weight in registers. Inlined with
 * constant R and CW, so the loops unroll and the accumulators stay in registers. A broadcast
 * costs an issue slot like a multiply-add, so each weight serves CW vectors. */
static inline __attribute__((always_inline)) void
ld5_tile(uint64_t *const *r, const uint64_t *const *x, const uint64_t *w, const uint64_t *bias,
         size_t R, size_t CW, size_t k, size_t t0, size_t t1, const ld5_red *red, int two)
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
                _mm512_storeu_si512((void *)(r[j] + t + 8 * v),
                                    two ? ld5_reduce2(lo[j][v], hi[j][v], b, red)
                                        : ld5_reduce(lo[j][v], hi[j][v], b, red));
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
               const uint64_t *xx, size_t R, size_t k, size_t nc, const ld5_red *red, int two)
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
            __m512i d = _mm512_sub_epi64(two ? ld5_reduce2(lo[j], hi[j], b, red)
                                             : ld5_reduce(lo[j], hi[j], b, red), xt);
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
                const uint64_t *wj = w + j * k;
                if (k <= LD5_PAIR_TWO_DIGITS) { /* constant R and reduction: unrolled apart */
                    if (R == 8) ld5_tile_pairs(rj, xp, wj, bw + j, xx, 8, k, nc, red, 1);
                    else ld5_tile_pairs(rj, xp, wj, bw + j, xx, 4, k, nc, red, 1);
                } else {
                    if (R == 8) ld5_tile_pairs(rj, xp, wj, bw + j, xx, 8, k, nc, red, 0);
                    else ld5_tile_pairs(rj, xp, wj, bw + j, xx, 4, k, nc, red, 0);
                }
            }
    }
}

/* Every row of the plain tiles over one column block [t0, t0 + nc) (xp: the inputs at t0); two:
 * the sums take the two-digit reduction (a constant after inlining). */
static inline __attribute__((always_inline)) void
ld5_rows(uint64_t *const *r, const uint64_t *const *xp, const uint64_t *w, const uint64_t *bias,
         size_t m, size_t k, size_t t0, size_t nc, const ld5_red *red, int two)
{
    size_t tw = nc / (8 * LD5_C) * (8 * LD5_C); /* whole steps of LD5_C vectors */
    uint64_t *rj[LD5_R];
    size_t j = 0;
    for (; j + LD5_R <= m; j += LD5_R) {
        for (size_t i = 0; i < LD5_R; i++) rj[i] = r[j + i] + t0;
        ld5_tile(rj, xp, w + j * k, bias ? bias + j : NULL, LD5_R, LD5_C, k, 0, tw, red, two);
        if (tw < nc) ld5_tile(rj, xp, w + j * k, bias ? bias + j : NULL, LD5_R, 1, k, tw, nc, red, two);
    }
    for (; j < m; j++) {
        rj[0] = r[j] + t0;
        ld5_tile(rj, xp, w + j * k, bias ? bias + j : NULL, 1, 1, k, 0, nc, red, two);
    }
}

/* lin_dot with every row in the plain tiles (pairs = 0) or the rows in multiples of 4 by
 * Winograd's pairs (pairs = 1; fewer than 4 rows, or the last m % 4, by the plain tile, which
 * measured faster there: the input term of the pairs is shared by too few rows). */
static void lin_dot(uint64_t *const *r, const uint64_t *const *x, const uint64_t *w,
                    const uint64_t *bias, size_t m, size_t k, size_t n, const beaa_modulus *q,
                    int pairs)
{
    if (q->q >= (UINT64_C(1) << 50) || k == 0 || k > BEAA_LIN_DOT_MAX_K || n % 8) {
        beaa_lin_dot_ref(r, x, w, bias, m, k, n, q);
        return;
    }
    const ld5_red red = ld5_make_red(q->q);
    const size_t mp = pairs && k >= 2 ? m / 4 * 4 : 0;
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
        if (k <= LD5_TWO_DIGITS) ld5_rows(r, xp, w, bias, m, k, t0, nc, &red, 1);
        else ld5_rows(r, xp, w, bias, m, k, t0, nc, &red, 0);
    }
}

void beaa_lin_dot_avx512_plain(uint64_t *const *r, const uint64_t *const *x, const uint64_t *w,
                               const uint64_t *bias, size_t m, size_t k, size_t n,
                               const beaa_modulus *q)
{
    lin_dot(r, x, w, bias, m, k, n, q, 0);
}

void beaa_lin_dot_avx512_pairs(uint64_t *const *r, const uint64_t *const *x, const uint64_t *w,
                               const uint64_t *bias, size_t m, size_t k, size_t n,
                               const beaa_modulus *q)
{
    lin_dot(r, x, w, bias, m, k, n, q, 1);
}

/* Which tiling runs depends on how the core issues 512-bit instructions. AMD's Zen 4 runs IFMA
 * in one pipe and vector adds in others: the pairs (two adds and two IFMA per two products, the
 * adds beside the IFMA) beat the plain tiles (four IFMA). Intel's server cores run every 512-bit
 * instruction on the same two ports, so the pairs' adds take IFMA slots: measured on an Emerald
 * Rapids Xeon (single thread, the main job's block shapes in cache, n = 4096), the plain tiles
 * are 5% (k = 96) to 37% (k = 15) faster. Pairs on AMD cores, plain tiles elsewhere. */
void beaa_lin_dot_avx512(uint64_t *const *r, const uint64_t *const *x, const uint64_t *w,
                         const uint64_t *bias, size_t m, size_t k, size_t n, const beaa_modulus *q)
{
    lin_dot(r, x, w, bias, m, k, n, q, beaa_cpu_vendor_get() == BEAA_CPU_VENDOR_AMD);
}
