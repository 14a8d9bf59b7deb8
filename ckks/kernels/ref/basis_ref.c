/* basis_ref.c - portable fast basis conversion (sum of limb * constant with 128-bit lazy
 * accumulation) and the automorphism permutation. */
#include "ckks/kernels/ref/ref.h"

/* Each term is < 2^61 * 2^61 = 2^122, so 32 terms fit in 2^127: fold the accumulator with one
 * Barrett reduction every 32 terms, so any n_in is safe. */
void beaa_basis_conv_ref(uint64_t *r, const uint64_t *const *x, const uint64_t *c, size_t n_in,
                         size_t n, const beaa_modulus *p)
{
    for (size_t k = 0; k < n; k++) {
        beaa_u128 acc = 0;
        for (size_t i = 0; i < n_in; i++) {
            acc += (beaa_u128)x[i][k] * c[i];
            if ((i & 31) == 31) acc = beaa_reduce128(acc, p);
        }
        r[k] = beaa_reduce128(acc, p);
    }
}

void beaa_basis_conv_multi_ref(uint64_t *const *r, const uint64_t *const *x,
                               const uint64_t *const *c, size_t n_in, size_t n,
                               const beaa_modulus *const *p, size_t n_out)
{
    for (size_t s = 0; s < n_out; s++) beaa_basis_conv_ref(r[s], x, c[s], n_in, n, p[s]);
}

void beaa_basis_conv_sub_ref(uint64_t *r, const uint64_t *const *x, const uint64_t *c,
                             size_t n_in, size_t n, const beaa_modulus *p, const uint8_t *u,
                             const uint64_t *corr)
{
    beaa_basis_conv_ref(r, x, c, n_in, n, p);
    for (size_t k = 0; k < n; k++) r[k] = beaa_sub_mod(r[k], corr[u[k]], p->q);
}

void beaa_conv_overflow_ref(uint8_t *u, const uint64_t *const *x, const double *rc, size_t n_in,
                            size_t n)
{
    for (size_t k = 0; k < n; k++) {
        double f = 0;
        for (size_t i = 0; i < n_in; i++) {
            double t = (double)x[i][k] * rc[i]; /* a statement of its own: never contracted */
            f = f + t;
        }
        u[k] = (uint8_t)f; /* 0 <= f < 256: truncation is the floor */
    }
}

void beaa_permute_ref(uint64_t *r, const uint64_t *a, const uint32_t *perm, size_t n)
{
    /* random reads over a whole limb: ask for the lines a few iterations ahead (a hint only,
     * it never faults) */
    size_t i = 0;
    for (; i + 32 < n; i++) {
        __builtin_prefetch(a + perm[i + 32]);
        r[i] = a[perm[i]];
    }
    for (; i < n; i++) r[i] = a[perm[i]];
}
