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

void beaa_permute_ref(uint64_t *r, const uint64_t *a, const uint32_t *perm, size_t n)
{
    for (size_t i = 0; i < n; i++) r[i] = a[perm[i]];
}
