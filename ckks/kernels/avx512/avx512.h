/* avx512.h - declarations of the AVX-512 IFMA kernels (semantics and ranges as in kernels.h).
 * Products use vpmadd52luq/vpmadd52huq for primes q < 2^50 (lazy values in [0, 4q) < 2^52);
 * larger primes go to the ref kernels. add/sub/neg work for every q < 2^61. */
#ifndef BEAA_KERNELS_AVX512_H
#define BEAA_KERNELS_AVX512_H
#include "ckks/kernels/kernels.h"

void beaa_ntt_fwd_avx512(const beaa_ntt_tables *t, uint64_t *a);
void beaa_ntt_fwd_lazy_avx512(const beaa_ntt_tables *t, uint64_t *a);
/* The forward transform (lazy != 0: ntt_fwd_lazy) with the schedule of primes 2^49 < q < 2^50
 * chosen by the caller: harvey != 0 Harvey's butterfly in every stage, else the one that
 * reduces X by two IFMA (ntt_avx512.c); beaa_ntt_fwd_avx512 picks by CPU vendor, the tests
 * check both on any IFMA CPU. */
void beaa_ntt_fwd_avx512_sched(const beaa_ntt_tables *t, uint64_t *a, int lazy, int harvey);
void beaa_ntt_inv_avx512(const beaa_ntt_tables *t, uint64_t *a);
void beaa_ntt_inv_lazy_avx512(const beaa_ntt_tables *t, uint64_t *a);
void beaa_ntt_inv_scaled_avx512(const beaa_ntt_tables *t, uint64_t *r, const uint64_t *a,
                             uint64_t w, uint64_t c);
/* The inverse transforms (mode 0: ntt_inv of r, 1: ntt_inv_lazy of r, 2: ntt_inv_scaled of a
 * into r with w, c) with the schedule of primes above 2^46-2^48 chosen by the caller: harvey != 0
 * Harvey's butterflies, else the ones that reduce by IFMA; picked by vendor and tested as the
 * forward one. */
void beaa_ntt_inv_avx512_sched(const beaa_ntt_tables *t, uint64_t *r, const uint64_t *a,
                               int mode, uint64_t w, uint64_t c, int harvey);

void beaa_add_mod_avx512(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n, uint64_t q);
void beaa_sub_mod_avx512(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n, uint64_t q);
void beaa_neg_mod_avx512(uint64_t *r, const uint64_t *a, size_t n, uint64_t q);
void beaa_mul_mod_avx512(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n,
                         const beaa_modulus *m);
void beaa_mac_mod_avx512(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n,
                         const beaa_modulus *m);
void beaa_mul_const_avx512(uint64_t *r, const uint64_t *a, size_t n, uint64_t w, uint64_t ws,
                           uint64_t q);
void beaa_mac_const_avx512(uint64_t *r, const uint64_t *a, size_t n, uint64_t w, uint64_t ws,
                           uint64_t q);
void beaa_sub_mul_const_avx512(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n,
                               uint64_t w, uint64_t ws, uint64_t q);
void beaa_tensor_avx512(uint64_t *r0, uint64_t *r1, uint64_t *r2, const uint64_t *a0,
                        const uint64_t *a1, const uint64_t *b0, const uint64_t *b1, size_t n,
                        const beaa_modulus *m, uint64_t w, uint64_t ws);
void beaa_lin_dot_avx512(uint64_t *const *r, const uint64_t *const *x, const uint64_t *w,
                         const uint64_t *bias, size_t m, size_t k, size_t n, const beaa_modulus *q);
/* The two tilings beaa_lin_dot_avx512 chooses between by CPU (dot_avx512.c): every row in plain
 * product tiles, or rows in multiples of 4 by Winograd's pairs of terms. Same results. */
void beaa_lin_dot_avx512_plain(uint64_t *const *r, const uint64_t *const *x, const uint64_t *w,
                               const uint64_t *bias, size_t m, size_t k, size_t n,
                               const beaa_modulus *q);
void beaa_lin_dot_avx512_pairs(uint64_t *const *r, const uint64_t *const *x, const uint64_t *w,
                               const uint64_t *bias, size_t m, size_t k, size_t n,
                               const beaa_modulus *q);
void beaa_uniform_seeded_avx512(uint64_t *const *out, const uint64_t *q, const uint64_t *domain,
                                size_t count, size_t n, const uint8_t *const *seed);
void beaa_shake256_x8_avx512(uint8_t *const *out, size_t outlen, const uint8_t *const *in,
                             size_t len);
void beaa_basis_conv_avx512(uint64_t *r, const uint64_t *const *x, const uint64_t *c, size_t n_in,
                            size_t n, const beaa_modulus *p);
void beaa_basis_conv_multi_avx512(uint64_t *const *r, const uint64_t *const *x,
                                  const uint64_t *const *c, size_t n_in, size_t n,
                                  const beaa_modulus *const *p, size_t n_out);
void beaa_basis_conv_sub_avx512(uint64_t *r, const uint64_t *const *x, const uint64_t *c,
                                size_t n_in, size_t n, const beaa_modulus *p, const uint8_t *u,
                                const uint64_t *corr);
void beaa_ks_dot2_avx512(uint64_t *r0, uint64_t *r1, const uint64_t *const *d,
                         const uint8_t *const *kb, const uint8_t *const *ka, size_t nd, size_t n,
                         const beaa_modulus *m, const uint64_t *c0, const uint64_t *c1,
                         uint64_t w);

#endif
