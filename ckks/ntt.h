/* ntt.h - internal layout of the negacyclic NTT tables (beaa_ntt_tables, see kernels.h).
 * Only ckks/ntt.c and the kernels under ckks/kernels/ read these fields; everyone else uses the
 * opaque type and the accessors declared in kernels.h. */
#ifndef BEAA_NTT_H
#define BEAA_NTT_H
#include <stddef.h>
#include <stdint.h>
#include "ckks/modarith.h"

/* Index layout shared by every table below: entry m + i (1 <= m < n, 0 <= i < m) is the twiddle
 * of butterfly group i in the stage that has m groups, i.e. psi^brv(m + i) where brv reverses
 * log_n bits. Entry 0 is unused (holds 1). */
struct beaa_ntt_tables {
    beaa_modulus mod;
    size_t n;
    unsigned log_n;
    uint64_t psi;           /* the primitive 2n-th root of unity used (psi^n = -1 mod q) */
    uint64_t psi_inv;

    /* Portable / AVX2-integer form: 64-bit Shoup pairs. */
    uint64_t *fw, *fw_shoup; /* [n] fw[k] = psi^brv(k), fw_shoup[k] = floor(fw[k] 2^64 / q) */
    uint64_t *iv, *iv_shoup; /* [n] iv[k] = psi^-brv(k) = fw[k]^-1 */
    uint64_t n_inv, n_inv_shoup;     /* n^-1 mod q */
    uint64_t n_inv_w, n_inv_w_shoup; /* n^-1 * iv[1] mod q: merged into the last inverse stage */

    /* AVX-512 IFMA form (only when q < 2^50, n >= 16 and the CPU has IFMA; NULL otherwise):
     * 52-bit Shoup forms floor(w 2^52 / q) of the same twiddles, entries 1 .. n/2 - 1 at their
     * index; the last stage's (n/2 .. n-1) in the lane order of the IFMA pass over 16-value
     * chunks: fw_shoup52[n/2 + 8c + l] = the form of entry n/2 + 8c + {0,1,4,5,2,3,6,7}[l]. That
     * pass (distances 4, 2, 1; entries n/8 .. n-1) reads its twiddles from these alone (w = 1 +
     * floor(ws q / 2^52)). */
    uint64_t *fw_shoup52, *iv_shoup52; /* [n] */
    uint64_t n_inv_shoup52, n_inv_w_shoup52;

    /* AVX2 floating-point form (only when q < 2^50 and the CPU has AVX2+FMA; NULL otherwise):
     * each twiddle w as an exact double and w/q rounded to double. */
    double *fw_d, *fw_dq; /* [n] */
    double *iv_d, *iv_dq; /* [n] */
    /* The distance-2 stage (entries n/4 .. n/2-1) again, laid out for 8-value blocks: block B
     * (groups 2B and 2B+1) has [w w w' w'] at fw_d2[8B..8B+3] and the same for w/q at
     * fw_d2[8B+4..8B+7] (w = entry n/4 + 2B, w' = entry n/4 + 2B + 1); iv_d2 likewise. [n] */
    double *fw_d2, *iv_d2;
    double n_inv_d, n_inv_dq, n_inv_w_d, n_inv_w_dq;
};

/* Builds the IFMA form above (q < 2^50, n >= 16; ckks/ntt.c does it when the CPU has IFMA, the
 * kernel tests on any CPU). 0, or -1 when out of memory or the prime or size do not allow it. */
int beaa_ntt_tables_add_ifma52(struct beaa_ntt_tables *t);

/* Largest prime (exclusive bound) the 52-bit IFMA and the AVX2 double-precision paths accept. */
#define BEAA_NTT_SMALL_Q_BOUND (UINT64_C(1) << 50)

/* Reverses the low `bits` bits of x. */
static inline size_t beaa_ntt_bitrev(size_t x, unsigned bits)
{
    size_t r = 0;
    for (unsigned i = 0; i < bits; i++) {
        r = (r << 1) | (x & 1);
        x >>= 1;
    }
    return r;
}

#endif
