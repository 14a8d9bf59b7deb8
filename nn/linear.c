/* linear.c - exact integer linear maps over RNS limbs with OpenBLAS dgemm.
 * Each value v < q is split into lo = v mod 2^h and hi = v >> h (h = ceil(bits(q)/2)); the
 * products with small integer weights, summed, stay below 2^51 and are exact in double. */
#include "nn/linear.h"
#include <cblas.h>
#include <string.h>
#include "lib/cpu.h"
#include "ckks/kernels/kernels.h"

/* The loop bodies below are forced inline into each clone so that every clone is compiled for
 * its own ISA; the AVX2 clones get their target attribute only from gcc/clang on x86 (elsewhere
 * they are plain copies of the generic loops, and use_avx2() is 0 there anyway). */
#if defined(__GNUC__) || defined(__clang__)
#define LIN_ALWAYS_INLINE __attribute__((always_inline))
#else
#define LIN_ALWAYS_INLINE
#endif
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define LIN_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define LIN_TARGET_AVX2
#endif

/* Largest |sum| a dgemm output may reach: the magic-number conversion below is exact to 2^51. */
#define LIN_SUM_LIMIT 2251799813685248.0 /* 2^51 */

unsigned beaa_nn_linear_half_bits(uint64_t q)
{
    unsigned bits = 0;
    while (bits < 64 && (q >> bits)) bits++;
    return (bits + 1) / 2;
}

double beaa_nn_linear_l1_limit(uint64_t q)
{
    unsigned h = beaa_nn_linear_half_bits(q);
    return LIN_SUM_LIMIT / (double)(1ull << h) - 1.0;
}

size_t beaa_nn_linear_work_doubles(int kmax, int mmax)
{
    if (kmax < 1) kmax = 1;
    if (mmax < 1) mmax = 1;
    size_t gemm = (size_t)(kmax + mmax) * 2 * BEAA_NN_LIN_CHUNK;
    /* the lin_dot path: weights mod q, biases mod q, input and output pointers */
    size_t dot = (size_t)mmax * kmax + 2 * (size_t)mmax + (size_t)kmax + 8;
    return gemm > dot ? gemm : dot;
}

/* Bit casts (compile to register moves; loops using them vectorize). */
static inline uint64_t dbits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static inline double bitsd(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }

#define TWO52_BITS 0x4330000000000000ull /* 2^52 as a double */
#define MAGIC 6755399441055744.0         /* 1.5 * 2^52: x + MAGIC has x in its low mantissa bits */

/* Splits cs values into lo = v mod 2^h and hi = v >> h as doubles (exact: both < 2^52), by
 * or-ing them into the mantissa of 2^52 and subtracting 2^52. */
static inline LIN_ALWAYS_INLINE void split_body(double *dl, double *dh, const uint64_t *src,
                                                size_t cs, unsigned h, uint64_t mask)
{
    const double two52 = bitsd(TWO52_BITS);
    for (size_t t = 0; t < cs; t++) {
        uint64_t v = src[t];
        dl[t] = bitsd((v & mask) | TWO52_BITS) - two52;
        dh[t] = bitsd((v >> h) | TWO52_BITS) - two52;
    }
}

/* dst[t] = (ch[t] * 2^h + cl[t] + bias) mod q, where ch, cl hold exact integers of magnitude
 * below 2^51. The quotient k is estimated in double; T - k*q is then computed exactly with
 * wrapping 64-bit integers (it is small), and corrected into [0, q). */
static inline LIN_ALWAYS_INLINE void combine_body(uint64_t *dst, const double *cl,
                                                  const double *ch, size_t cs, unsigned h,
                                                  uint64_t q, double qinv, uint64_t bias)
{
    const double scale = (double)(1ull << h);
    const uint64_t mbits = dbits(MAGIC);
    for (size_t t = 0; t < cs; t++) {
        double hd = ch[t], ld = cl[t];
        uint64_t hi = dbits(hd + MAGIC) - mbits;        /* exact int64 (two's complement) */
        uint64_t lo = dbits(ld + MAGIC) - mbits;
        double kd = (hd * scale + ld) * qinv;           /* |k| < 2^30 */
        uint64_t k = dbits(kd + MAGIC) - mbits;         /* nearest integer */
        uint64_t r = (hi << h) + lo - k * q;            /* exact T - k*q, |.| < 2q, mod 2^64 */
        r += (uint64_t)((int64_t)r >> 63) & q;          /* now in [0, 2q) (or < q + small) */
        r += (uint64_t)((int64_t)r >> 63) & q;
        r -= r >= q ? q : 0;
        r -= r >= q ? q : 0;
        r += bias;
        r -= r >= q ? q : 0;
        dst[t] = r;
    }
}

LIN_TARGET_AVX2 static void split_avx2(double *dl, double *dh, const uint64_t *src, size_t cs,
                                       unsigned h, uint64_t mask)
{
    split_body(dl, dh, src, cs, h, mask);
}
static void split_generic(double *dl, double *dh, const uint64_t *src, size_t cs, unsigned h,
                          uint64_t mask)
{
    split_body(dl, dh, src, cs, h, mask);
}
LIN_TARGET_AVX2 static void combine_avx2(uint64_t *dst, const double *cl, const double *ch,
                                         size_t cs, unsigned h, uint64_t q, double qinv,
                                         uint64_t bias)
{
    combine_body(dst, cl, ch, cs, h, q, qinv, bias);
}
static void combine_generic(uint64_t *dst, const double *cl, const double *ch, size_t cs,
                            unsigned h, uint64_t q, double qinv, uint64_t bias)
{
    combine_body(dst, cl, ch, cs, h, q, qinv, bias);
}

int beaa_nn_linear_avx2_ok(void)
{
    static int cached = -1;
    int c = cached;
    if (c < 0) {
        beaa_isa isa;
        c = beaa_cpu_selected_isa(&isa) == BEAA_OK && isa >= BEAA_ISA_AVX2 &&
            beaa_cpu_supports(BEAA_ISA_AVX2);
        cached = c;
    }
    return c;
}

/* The same map with the kernel table's lin_dot (AVX-512 IFMA: products of the residues and the
 * weights reduced mod q, no split into doubles). work: m*k + 2m + k + 8 words. */
int beaa_nn_linear_range_dot(const beaa_kernels *kern, const beaa_nn_linblock *blocks, size_t nb,
                             uint64_t *const *out, const uint64_t *const *in, int add_bias,
                             const beaa_modulus *qm, size_t lo, size_t hi, double *work)
{
    const uint64_t q = qm->q;
    if (!kern || !kern->lin_dot || q >= (UINT64_C(1) << 50) || (hi - lo) % 8) return 0;
    for (size_t b = 0; b < nb; b++)
        if (blocks[b].k > BEAA_LIN_DOT_MAX_K) return 0;
    for (size_t b = 0; b < nb; b++) {
        const beaa_nn_linblock *blk = &blocks[b];
        size_t m = (size_t)blk->m, k = (size_t)blk->k;
        uint64_t *w = (uint64_t *)work, *bias = w + m * k;
        const uint64_t **x = (const uint64_t **)(bias + m);
        uint64_t **r = (uint64_t **)(x + k);
        for (size_t j = 0; j < m; j++) {
            bias[j] = (add_bias && blk->bias) ? beaa_nn_i64_mod(blk->bias[j], q) : 0;
            r[j] = out[blk->out[j]] + lo;
        }
        if (k == 0) {
            for (size_t j = 0; j < m; j++)
                for (size_t t = 0; t < hi - lo; t++) r[j][t] = bias[j];
            continue;
        }
        for (size_t i = 0; i < m * k; i++) w[i] = beaa_nn_i64_mod((int64_t)blk->w[i], q);
        for (size_t c = 0; c < k; c++) x[c] = in[blk->in[c]] + lo;
        kern->lin_dot(r, x, w, add_bias && blk->bias ? bias : NULL, m, k, hi - lo, qm);
    }
    return 1;
}

void beaa_nn_linear_range(const beaa_nn_linblock *blocks, size_t nb, uint64_t *const *out,
                          const uint64_t *const *in, int add_bias, const beaa_modulus *qm,
                          size_t lo, size_t hi, double *work)
{
    if (!beaa_nn_linear_range_dot(beaa_kernels_get(), blocks, nb, out, in, add_bias, qm, lo, hi,
                                  work) &&
        !beaa_nn_linear_range_fma(blocks, nb, out, in, add_bias, qm, lo, hi, work))
        beaa_nn_linear_range_gemm(blocks, nb, out, in, add_bias, qm, lo, hi, work);
}

void beaa_nn_linear_range_gemm(const beaa_nn_linblock *blocks, size_t nb, uint64_t *const *out,
                               const uint64_t *const *in, int add_bias, const beaa_modulus *qm,
                               size_t lo, size_t hi, double *work)
{
    const uint64_t q = qm->q;
    const unsigned h = beaa_nn_linear_half_bits(q);
    const uint64_t mask = (1ull << h) - 1;
    const double qinv = 1.0 / (double)q;
    const size_t ld = 2 * BEAA_NN_LIN_CHUNK;
    const int avx2 = beaa_nn_linear_avx2_ok();

    for (size_t t0 = lo; t0 < hi; t0 += BEAA_NN_LIN_CHUNK) {
        size_t cs = hi - t0 < BEAA_NN_LIN_CHUNK ? hi - t0 : BEAA_NN_LIN_CHUNK;
        for (size_t b = 0; b < nb; b++) {
            const beaa_nn_linblock *blk = &blocks[b];
            double *B = work;                          /* k x ld: [lo halves | hi halves] */
            double *C = work + (size_t)(blk->k > 0 ? blk->k : 1) * ld; /* m x ld */
            for (int32_t c = 0; c < blk->k; c++) {
                const uint64_t *src = in[blk->in[c]] + t0;
                double *dl = B + (size_t)c * ld, *dh = dl + BEAA_NN_LIN_CHUNK;
                if (avx2) split_avx2(dl, dh, src, cs, h, mask);
                else split_generic(dl, dh, src, cs, h, mask);
                for (size_t t = cs; t < BEAA_NN_LIN_CHUNK; t++) dl[t] = dh[t] = 0.0;
            }
            if (blk->k > 0)
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blk->m, (int)ld, blk->k,
                            1.0, blk->w, blk->k, B, (int)ld, 0.0, C, (int)ld);
            for (int32_t r = 0; r < blk->m; r++) {
                uint64_t bias = (add_bias && blk->bias) ? beaa_nn_i64_mod(blk->bias[r], q) : 0;
                uint64_t *dst = out[blk->out[r]] + t0;
                if (blk->k == 0) {
                    for (size_t t = 0; t < cs; t++) dst[t] = bias;
                    continue;
                }
                const double *cl = C + (size_t)r * ld, *ch = cl + BEAA_NN_LIN_CHUNK;
                if (avx2) combine_avx2(dst, cl, ch, cs, h, q, qinv, bias);
                else combine_generic(dst, cl, ch, cs, h, q, qinv, bias);
            }
        }
    }
}

void beaa_nn_linear_range_ref(const beaa_nn_linblock *blocks, size_t nb, uint64_t *const *out,
                              const uint64_t *const *in, int add_bias, const beaa_modulus *qm,
                              size_t lo, size_t hi)
{
    const uint64_t q = qm->q;
    for (size_t b = 0; b < nb; b++) {
        const beaa_nn_linblock *blk = &blocks[b];
        for (int32_t r = 0; r < blk->m; r++) {
            uint64_t bias = (add_bias && blk->bias) ? beaa_nn_i64_mod(blk->bias[r], q) : 0;
            for (size_t t = lo; t < hi; t++) {
                uint64_t acc = bias;
                for (int32_t c = 0; c < blk->k; c++) {
                    int64_t w = (int64_t)blk->w[(size_t)r * blk->k + c];
                    uint64_t wm = beaa_nn_i64_mod(w, q);
                    acc = beaa_add_mod(acc, beaa_mul_mod(in[blk->in[c]][t], wm, qm), q);
                }
                out[blk->out[r]][t] = acc;
            }
        }
    }
}
