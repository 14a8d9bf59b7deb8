/* linear.c - exact integer linear maps over RNS limbs with OpenBLAS dgemm.
 * Each value v < q is split into lo = v mod 2^h and hi = v >> h (h = ceil(bits(q)/2)); the
 * products with small integer weights, summed, stay below 2^51 and are exact in double. */
#include "nn/linear.h"
#include <cblas.h>
#include <string.h>

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
    return (size_t)(kmax + mmax) * 2 * BEAA_NN_LIN_CHUNK;
}

/* v mod q for an exact integer v in double with |v| < 2^51, result in [0, q). */
static inline uint64_t dbl_mod(double v, uint64_t q, double qinv)
{
    int64_t t = (int64_t)v;
    int64_t qt = (int64_t)(v * qinv);          /* within 1 of trunc(v / q) */
    int64_t r = t - qt * (int64_t)q;           /* in (-2q, 2q) */
    if (r < 0) r += (int64_t)q;
    if (r < 0) r += (int64_t)q;
    if (r >= (int64_t)q) r -= (int64_t)q;
    return (uint64_t)r;
}

static inline uint64_t i64_mod(int64_t v, uint64_t q)
{
    if (v >= 0) return (uint64_t)v % q;
    uint64_t r = (uint64_t)(-(v + 1)) % q; /* -(v+1) avoids overflow at INT64_MIN */
    return q - 1 - r;
}

void beaa_nn_linear_range(const beaa_nn_linblock *blocks, size_t nb, uint64_t *const *out,
                          const uint64_t *const *in, int add_bias, const beaa_modulus *qm,
                          size_t lo, size_t hi, double *work)
{
    const uint64_t q = qm->q;
    const unsigned h = beaa_nn_linear_half_bits(q);
    const uint64_t mask = (1ull << h) - 1;
    const uint64_t R = (1ull << h) % q, Rs = beaa_shoup(R, q);
    const double qinv = 1.0 / (double)q;
    const size_t ld = 2 * BEAA_NN_LIN_CHUNK;

    for (size_t t0 = lo; t0 < hi; t0 += BEAA_NN_LIN_CHUNK) {
        size_t cs = hi - t0 < BEAA_NN_LIN_CHUNK ? hi - t0 : BEAA_NN_LIN_CHUNK;
        for (size_t b = 0; b < nb; b++) {
            const beaa_nn_linblock *blk = &blocks[b];
            double *B = work;                          /* k x ld: [lo halves | hi halves] */
            double *C = work + (size_t)(blk->k > 0 ? blk->k : 1) * ld; /* m x ld */
            for (int32_t c = 0; c < blk->k; c++) {
                const uint64_t *src = in[blk->in[c]] + t0;
                double *dl = B + (size_t)c * ld, *dh = dl + BEAA_NN_LIN_CHUNK;
                for (size_t t = 0; t < cs; t++) {
                    uint64_t v = src[t];
                    dl[t] = (double)(int32_t)(uint32_t)(v & mask);
                    dh[t] = (double)(int32_t)(uint32_t)(v >> h);
                }
                for (size_t t = cs; t < BEAA_NN_LIN_CHUNK; t++) dl[t] = dh[t] = 0.0;
            }
            if (blk->k > 0)
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blk->m, (int)ld, blk->k,
                            1.0, blk->w, blk->k, B, (int)ld, 0.0, C, (int)ld);
            for (int32_t r = 0; r < blk->m; r++) {
                uint64_t bias = (add_bias && blk->bias) ? i64_mod(blk->bias[r], q) : 0;
                uint64_t *dst = out[blk->out[r]] + t0;
                if (blk->k == 0) {
                    for (size_t t = 0; t < cs; t++) dst[t] = bias;
                    continue;
                }
                const double *cl = C + (size_t)r * ld, *ch = cl + BEAA_NN_LIN_CHUNK;
                for (size_t t = 0; t < cs; t++) {
                    uint64_t hm = dbl_mod(ch[t], q, qinv);
                    uint64_t lm = dbl_mod(cl[t], q, qinv);
                    uint64_t v = beaa_mul_shoup(hm, R, Rs, q);
                    v = beaa_add_mod(v, lm, q);
                    dst[t] = beaa_add_mod(v, bias, q);
                }
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
            uint64_t bias = (add_bias && blk->bias) ? i64_mod(blk->bias[r], q) : 0;
            for (size_t t = lo; t < hi; t++) {
                uint64_t acc = bias;
                for (int32_t c = 0; c < blk->k; c++) {
                    int64_t w = (int64_t)blk->w[(size_t)r * blk->k + c];
                    uint64_t wm = i64_mod(w, q);
                    acc = beaa_add_mod(acc, beaa_mul_mod(in[blk->in[c]][t], wm, qm), q);
                }
                out[blk->out[r]][t] = acc;
            }
        }
    }
}
