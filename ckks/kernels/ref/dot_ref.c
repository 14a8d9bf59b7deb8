/* dot_ref.c - portable dot products with 128-bit lazy accumulation and one Barrett reduction
 * per output: the key-switching inner product over the digits (ks_dot2, and ks_dot2_fp with
 * the key rows as doubles) and the small-weight
 * rows of the encrypted linear maps (lin_dot, the oracle of its SIMD versions; kernels.h). */
#include "ckks/kernels/ref/ref.h"

void beaa_ks_dot2_ref(uint64_t *r0, uint64_t *r1, const uint64_t *const *d,
                      const uint8_t *const *kb, const uint8_t *const *ka, size_t nd, size_t n,
                      const beaa_modulus *m, const uint64_t *c0, const uint64_t *c1, uint64_t w)
{
    /* terms < q^2 < 2^122 and nd <= 63: nd + 1 terms stay below 2^128. Groups of 8 residues:
     * one group of each packed key row at a time (m->bits bytes each). */
    for (size_t i = 0; i < n; i += 8) {
        beaa_u128 s0[8], s1[8];
        beaa_ks_sums8_ref(s0, s1, d, kb, ka, nd, i, m->bits, c0, c1, w);
        for (size_t t = 0; t < 8; t++) {
            r0[i + t] = beaa_reduce128(s0[t], m);
            r1[i + t] = beaa_reduce128(s1[t], m);
        }
    }
}

void beaa_ks_dot2_fp_ref(uint64_t *r0, uint64_t *r1, const uint64_t *const *d,
                         const double *const *kb, const double *const *ka, size_t nd, size_t n,
                         const beaa_modulus *m, const uint64_t *c0, const uint64_t *c1,
                         uint64_t w)
{
    /* the same sums as beaa_ks_dot2_ref; the key's doubles are exact integers below q */
    for (size_t i = 0; i < n; i++) {
        beaa_u128 s0 = 0, s1 = 0;
        if (c0) {
            s0 = (beaa_u128)c0[i] * w;
            s1 = (beaa_u128)c1[i] * w;
        }
        for (size_t j = 0; j < nd; j++) {
            s0 += (beaa_u128)d[j][i] * (uint64_t)kb[j][i];
            s1 += (beaa_u128)d[j][i] * (uint64_t)ka[j][i];
        }
        r0[i] = beaa_reduce128(s0, m);
        r1[i] = beaa_reduce128(s1, m);
    }
}

void beaa_lin_dot_ref(uint64_t *const *r, const uint64_t *const *x, const uint64_t *w,
                      const uint64_t *bias, size_t m, size_t k, size_t n, const beaa_modulus *q)
{
    /* k <= 4095 terms < q^2 < 2^122: the sum stays below 2^128 */
    for (size_t j = 0; j < m; j++) {
        const uint64_t *wj = w + j * k;
        uint64_t b = bias ? bias[j] : 0;
        for (size_t t = 0; t < n; t++) {
            beaa_u128 s = b;
            for (size_t c = 0; c < k; c++) s += (beaa_u128)wj[c] * x[c][t];
            r[j][t] = beaa_reduce128(s, q);
        }
    }
}
