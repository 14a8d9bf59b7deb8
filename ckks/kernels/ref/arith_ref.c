/* arith_ref.c - portable element-wise modular kernels (add, sub, neg, Barrett products,
 * Shoup constant products, the rescale step). Reference semantics for the SIMD versions. */
#include "ckks/kernels/ref/ref.h"

void beaa_add_mod_ref(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n, uint64_t q)
{
    for (size_t i = 0; i < n; i++) r[i] = beaa_add_mod(a[i], b[i], q);
}

void beaa_sub_mod_ref(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n, uint64_t q)
{
    for (size_t i = 0; i < n; i++) r[i] = beaa_sub_mod(a[i], b[i], q);
}

void beaa_neg_mod_ref(uint64_t *r, const uint64_t *a, size_t n, uint64_t q)
{
    for (size_t i = 0; i < n; i++) r[i] = beaa_neg_mod(a[i], q);
}

void beaa_mul_mod_ref(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n,
                      const beaa_modulus *m)
{
    for (size_t i = 0; i < n; i++) r[i] = beaa_mul_mod(a[i], b[i], m);
}

void beaa_mac_mod_ref(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n,
                      const beaa_modulus *m)
{
    for (size_t i = 0; i < n; i++)
        r[i] = beaa_reduce128((beaa_u128)a[i] * b[i] + r[i], m);
}

void beaa_mul_const_ref(uint64_t *r, const uint64_t *a, size_t n, uint64_t w, uint64_t ws,
                        uint64_t q)
{
    for (size_t i = 0; i < n; i++) r[i] = beaa_mul_shoup(a[i], w, ws, q);
}

void beaa_mac_const_ref(uint64_t *r, const uint64_t *a, size_t n, uint64_t w, uint64_t ws,
                        uint64_t q)
{
    for (size_t i = 0; i < n; i++) r[i] = beaa_add_mod(r[i], beaa_mul_shoup(a[i], w, ws, q), q);
}

/* a in [0, q), b in [0, 2q): a + 2q - b in (0, 3q), then a Shoup product (any input < 2^64). */
void beaa_sub_mul_const_ref(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n,
                            uint64_t w, uint64_t ws, uint64_t q)
{
    for (size_t i = 0; i < n; i++) r[i] = beaa_mul_shoup(a[i] + 2 * q - b[i], w, ws, q);
}

void beaa_tensor_ref(uint64_t *r0, uint64_t *r1, uint64_t *r2, const uint64_t *a0,
                     const uint64_t *a1, const uint64_t *b0, const uint64_t *b1, size_t n,
                     const beaa_modulus *m, uint64_t w, uint64_t ws)
{
    const uint64_t q = m->q;
    for (size_t i = 0; i < n; i++) {
        uint64_t t1 = beaa_add_mod(beaa_mul_mod(a0[i], b1[i], m), beaa_mul_mod(a1[i], b0[i], m),
                                   q);
        r0[i] = beaa_mul_shoup(beaa_mul_mod(a0[i], b0[i], m), w, ws, q);
        r1[i] = beaa_mul_shoup(t1, w, ws, q);
        r2[i] = beaa_mul_mod(a1[i], b1[i], m);
    }
}
