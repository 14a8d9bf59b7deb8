/* linear_fma.c - the linear maps of encrypted inference (nn/linear.h) on AVX2 + FMA in one pass,
 * for CPUs without the IFMA lin_dot and primes 2^30 < q < 2^51.
 *
 * The dgemm path of linear.c writes every input's two halves to a buffer, lets dgemm pack and
 * multiply them and writes the sums to a second buffer that a third pass reduces mod q: for the
 * small blocks of a convolution (k = 8..288 inputs, m = 8..64 outputs) those three passes cost
 * as much as the multiplications. Here, for every 4 columns, the k inputs are split once into
 * their 25-bit halves as doubles (the same exact conversion as linear.c: or into the mantissa of
 * 2^52, subtract 2^52) in a small buffer that stays in L1; then tiles of up to LF_ROWS output
 * rows keep their 2 x LF_ROWS accumulators in registers while they run through the k inputs,
 * two FMAs per input with the row's broadcast weight. The bias starts the low accumulator. The
 * sums are exact integers below 2^52 (the caller's L1 bound, beaa_nn_linear_l1_limit, and a
 * bias below q < 2^51), and the reduction mod q stays in double too:
 *   T = hi * 2^h + lo (rounded; |T| < 2^(52+h)), k = round(T / q) via one multiply by 1/q,
 *   r = fma(-k, q, hi * 2^h) + lo.
 * With q >= 2^(b-1) for a b-bit q and h = ceil(b/2), |T / q| < 2^(53.5 - b/2) <= 2^38 for
 * q > 2^30, and the three roundings (T, 1/q, the product; 2^-53 each) move the estimate by
 * less than 2^-13: |T - k q| < 0.51 q. The true value hi * 2^h - k q = (T - k q) - lo is then an
 * integer of magnitude below 0.51 q + 2^52 < 2^53, so the fused multiply-add returns it exactly,
 * and so does the addition of lo: r = T - k q exactly. One conditional add of q puts r in
 * [0, q), converted to an integer by the 2^52 bit trick. No 64-bit integer multiply (AVX2 has
 * none).
 * Test oracle: beaa_nn_linear_range_ref (tests/check_nn.c, bit for bit). */
#include "nn/linear.h"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>
#define LF_HAVE 1
#define LF_TARGET __attribute__((target("avx2,fma")))
#define LF_INLINE inline __attribute__((always_inline))

#define LF_ROWS 6 /* output rows per register tile: 12 accumulators + 2 halves + 1 weight */
/* Prefetch distance in coefficients (256 bytes, 8 column steps) for the inputs; see lf_split */
#define LF_PF 32
#define LF_TWO52 0x4330000000000000ull /* 2^52 as a double */

typedef struct lf_consts {
    __m256i mask, two52i;
    __m128i h;
    __m256d two52, scale, qinv, qd;
} lf_consts;

/* The k inputs' 4 columns at t split into halves: buf[8c .. 8c+3] the low, [8c+4 .. 8c+7] the
 * high ones, as doubles (one contiguous stream for the row tiles that follow). In the pass the
 * inputs come from memory: a task reads k streams of 4 KiB at once (k up to 288), more than the
 * hardware prefetchers follow, and a window starts cold at every page, so each input is
 * prefetched LF_PF coefficients ahead (a prefetch never faults, also past the end of a limb).
 * Zen 3, the main job: the first stage's linear maps and products 6.2 / 5.5 -> 4.4 / 4.5 s. */
static LF_TARGET LF_INLINE void lf_split(double *buf, const uint64_t *const *x, size_t k, size_t t,
                                          const lf_consts *cs)
{
    for (size_t c = 0; c < k; c++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(x[c] + t));
        _mm_prefetch((const char *)(x[c] + t + LF_PF), _MM_HINT_T0);
        __m256d vl = _mm256_sub_pd(
            _mm256_castsi256_pd(_mm256_or_si256(_mm256_and_si256(v, cs->mask), cs->two52i)),
            cs->two52);
        __m256d vh = _mm256_sub_pd(
            _mm256_castsi256_pd(_mm256_or_si256(_mm256_srl_epi64(v, cs->h), cs->two52i)),
            cs->two52);
        _mm256_storeu_pd(buf + 8 * c, vl);
        _mm256_storeu_pd(buf + 8 * c + 4, vh);
    }
}

/* R rows (R <= LF_ROWS) of one block at the 4 columns split into buf: dst[r] are the rows'
 * outputs at those columns, w the first row's weights (rows k apart), bias[r] in [0, q). */
static LF_TARGET LF_INLINE void lf_rows(const int R, uint64_t *const *dst, const double *buf,
                                         const double *w, size_t k, const double *bias,
                                         const lf_consts *cs)
{
    __m256d lo[LF_ROWS], hi[LF_ROWS];
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) {
        lo[r] = _mm256_set1_pd(bias[r]);
        hi[r] = _mm256_setzero_pd();
    }
    for (size_t c = 0; c < k; c++) {
        __m256d vl = _mm256_loadu_pd(buf + 8 * c), vh = _mm256_loadu_pd(buf + 8 * c + 4);
        const double *wc = w + c;
#pragma GCC unroll 6
        for (int r = 0; r < R; r++) {
            __m256d wr = _mm256_broadcast_sd(wc + (size_t)r * k);
            lo[r] = _mm256_fmadd_pd(wr, vl, lo[r]);
            hi[r] = _mm256_fmadd_pd(wr, vh, hi[r]);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) {
        __m256d th = _mm256_mul_pd(hi[r], cs->scale);
        __m256d kd = _mm256_round_pd(_mm256_mul_pd(_mm256_add_pd(th, lo[r]), cs->qinv),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m256d rr = _mm256_add_pd(_mm256_fnmadd_pd(kd, cs->qd, th), lo[r]);
        __m256d neg = _mm256_cmp_pd(rr, _mm256_setzero_pd(), _CMP_LT_OQ);
        rr = _mm256_add_pd(rr, _mm256_and_pd(neg, cs->qd));
        __m256i u = _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(rr, cs->two52)),
                                     cs->two52i);
        _mm256_storeu_si256((__m256i *)(void *)dst[r], u);
    }
}

/* A row tile of R rows: the constant R lets the compiler keep the accumulators in registers. */
static LF_TARGET void lf_tile(int R, uint64_t *const *dst, const double *buf, const double *w,
                              size_t k, const double *bias, const lf_consts *cs)
{
    switch (R) {
    case 1: lf_rows(1, dst, buf, w, k, bias, cs); break;
    case 2: lf_rows(2, dst, buf, w, k, bias, cs); break;
    case 3: lf_rows(3, dst, buf, w, k, bias, cs); break;
    case 4: lf_rows(4, dst, buf, w, k, bias, cs); break;
    case 5: lf_rows(5, dst, buf, w, k, bias, cs); break;
    default: lf_rows(6, dst, buf, w, k, bias, cs); break;
    }
}

/* Every block over columns [lo, lo + n4) (n4 a multiple of 4); work: 9 k + m doubles. */
static LF_TARGET void lf_range(const beaa_nn_linblock *blocks, size_t nb, uint64_t *const *out,
                               const uint64_t *const *in, int add_bias, uint64_t q, size_t lo,
                               size_t n4, double *work)
{
    const unsigned h = beaa_nn_linear_half_bits(q);
    lf_consts cs;
    cs.mask = _mm256_set1_epi64x((long long)((1ull << h) - 1));
    cs.two52i = _mm256_set1_epi64x((long long)LF_TWO52);
    cs.h = _mm_cvtsi32_si128((int)h);
    cs.two52 = _mm256_set1_pd(4503599627370496.0);
    cs.scale = _mm256_set1_pd((double)(1ull << h));
    cs.qinv = _mm256_set1_pd(1.0 / (double)q);
    cs.qd = _mm256_set1_pd((double)q);
    for (size_t b = 0; b < nb; b++) {
        const beaa_nn_linblock *blk = &blocks[b];
        const size_t k = (size_t)blk->k, m = (size_t)blk->m;
        /* tiles of nearly equal height: m = 8 as 4 + 4, not 6 + 2 */
        const size_t ntiles = (m + LF_ROWS - 1) / LF_ROWS;
        double *buf = work, *bias = work + 8 * k;
        const uint64_t **xp = (const uint64_t **)(void *)(bias + m);
        for (size_t c = 0; c < k; c++) xp[c] = in[blk->in[c]] + lo;
        for (size_t r = 0; r < m; r++) {
            const int64_t b = add_bias && blk->bias ? blk->bias[r] : 0;
            bias[r] = (double)beaa_nn_i64_mod(b, q); /* in [0, q) */
        }
        for (size_t t = 0; t < n4; t += 4) {
            lf_split(buf, xp, k, t, &cs);
            for (size_t i = 0, r0 = 0; i < ntiles; i++) {
                const size_t r1 = m * (i + 1) / ntiles;
                const int R = (int)(r1 - r0);
                uint64_t *dst[LF_ROWS];
                for (int r = 0; r < R; r++) dst[r] = out[blk->out[r0 + (size_t)r]] + lo + t;
                lf_tile(R, dst, buf, blk->w + r0 * k, k, bias + r0, &cs);
                r0 = r1;
            }
        }
    }
}
#endif

int beaa_nn_linear_range_fma(const beaa_nn_linblock *blocks, size_t nb, uint64_t *const *out,
                             const uint64_t *const *in, int add_bias, const beaa_modulus *qm,
                             size_t lo, size_t hi, double *work)
{
#ifdef LF_HAVE
    const uint64_t q = qm->q;
    if (q <= (UINT64_C(1) << 30) || q >= (UINT64_C(1) << 51) || !beaa_nn_linear_avx2_ok())
        return 0;
    for (size_t b = 0; b < nb; b++)
        if (blocks[b].k == 0) return 0; /* no inputs: the dgemm path writes the biases */
    /* work: the split inputs (8 k doubles), the biases (m) and the input pointers (k) of one
     * block, within the 256 (k + m) doubles of beaa_nn_linear_work_doubles */
    size_t n4 = (hi - lo) & ~(size_t)3;
    lf_range(blocks, nb, out, in, add_bias, q, lo, n4, work);
    if (lo + n4 < hi)
        beaa_nn_linear_range_gemm(blocks, nb, out, in, add_bias, qm, lo + n4, hi, work);
    return 1;
#else
    (void)blocks; (void)nb; (void)out; (void)in; (void)add_bias; (void)qm; (void)lo; (void)hi;
    (void)work;
    return 0;
#endif
}
