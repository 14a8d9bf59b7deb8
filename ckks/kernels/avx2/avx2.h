/* avx2.h - declarations of the AVX2 kernels (semantics and ranges as in kernels.h). They use the
 * double-precision FMA path for primes q < 2^50 and call the ref kernels for larger primes. */
#ifndef BEAA_KERNELS_AVX2_H
#define BEAA_KERNELS_AVX2_H
#include "ckks/kernels/kernels.h"

void beaa_ntt_fwd_avx2(const beaa_ntt_tables *t, uint64_t *a);
void beaa_ntt_fwd_lazy_avx2(const beaa_ntt_tables *t, uint64_t *a);
void beaa_ntt_inv_avx2(const beaa_ntt_tables *t, uint64_t *a);
void beaa_ntt_inv_lazy_avx2(const beaa_ntt_tables *t, uint64_t *a);
void beaa_ntt_inv_scaled_avx2(const beaa_ntt_tables *t, uint64_t *r, const uint64_t *a,
                             uint64_t w, uint64_t c);

void beaa_add_mod_avx2(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n, uint64_t q);
void beaa_sub_mod_avx2(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n, uint64_t q);
void beaa_neg_mod_avx2(uint64_t *r, const uint64_t *a, size_t n, uint64_t q);
void beaa_mul_mod_avx2(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n,
                       const beaa_modulus *m);
void beaa_mac_mod_avx2(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n,
                       const beaa_modulus *m);
void beaa_mul_const_avx2(uint64_t *r, const uint64_t *a, size_t n, uint64_t w, uint64_t ws,
                         uint64_t q);
void beaa_mac_const_avx2(uint64_t *r, const uint64_t *a, size_t n, uint64_t w, uint64_t ws,
                         uint64_t q);
void beaa_sub_mul_const_avx2(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n,
                             uint64_t w, uint64_t ws, uint64_t q);
void beaa_tensor_avx2(uint64_t *r0, uint64_t *r1, uint64_t *r2, const uint64_t *a0,
                      const uint64_t *a1, const uint64_t *b0, const uint64_t *b1, size_t n,
                      const beaa_modulus *m, uint64_t w, uint64_t ws);
/* Exact FMA path for p < 2^50 and inputs x < 2^51 (checked per block of 4 outputs); ref else. */
void beaa_basis_conv_avx2(uint64_t *r, const uint64_t *const *x, const uint64_t *c, size_t n_in,
                          size_t n, const beaa_modulus *p);
void beaa_basis_conv_multi_avx2(uint64_t *const *r, const uint64_t *const *x,
                                const uint64_t *const *c, size_t n_in, size_t n,
                                const beaa_modulus *const *p, size_t n_out);
void beaa_basis_conv_sub_avx2(uint64_t *r, const uint64_t *const *x, const uint64_t *c,
                              size_t n_in, size_t n, const beaa_modulus *p, const uint8_t *u,
                              const uint64_t *corr);
void beaa_conv_overflow_avx2(uint8_t *u, const uint64_t *const *x, const double *rc, size_t n_in,
                             size_t n);
/* Exact FMA path for q < 2^50 (the ref kernel else). */
void beaa_ks_dot2_avx2(uint64_t *r0, uint64_t *r1, const uint64_t *const *d,
                       const uint8_t *const *kb, const uint8_t *const *ka, size_t nd, size_t n,
                       const beaa_modulus *m, const uint64_t *c0, const uint64_t *c1,
                       uint64_t w);
void beaa_ks_dot2_fp_avx2(uint64_t *r0, uint64_t *r1, const uint64_t *const *d,
                          const double *const *kb, const double *const *ka, size_t nd, size_t n,
                          const beaa_modulus *m, const uint64_t *c0, const uint64_t *c1,
                          uint64_t w);
/* Keccak-f[1600] on 4 states per permutation (one per 64-bit lane); bit-identical to ref. */
void beaa_uniform_seeded_avx2(uint64_t *const *out, const uint64_t *q, const uint64_t *domain,
                              size_t count, size_t n, const uint8_t *const *seed);
void beaa_shake256_x8_avx2(uint8_t *const *out, size_t outlen, const uint8_t *const *in,
                           size_t len);

#endif
