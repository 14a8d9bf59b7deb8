/* ref.h - the portable reference kernels, declared so the dispatch table and the SIMD kernels
 * (which fall back to them for primes they cannot handle) can call them directly.
 * Semantics and ranges of each function are those of the same-named field in kernels.h. */
#ifndef BEAA_KERNELS_REF_H
#define BEAA_KERNELS_REF_H
#include <string.h>
#include "ckks/kernels/kernels.h"

/* One group of a bit-packed row (kernels.h ks_dot2): the 8 residues of bits (1 to 61) bits each
 * stored little-endian in exactly g[0 .. bits), into v[0..7]. The group as 64-bit words (one
 * copy; byte by byte on a big-endian host), then each residue from one or two of them. */
static inline void beaa_unpack8_ref(const uint8_t *g, unsigned bits, uint64_t *v)
{
    uint64_t w[9] = {0};
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(w, g, bits);
#else
    for (unsigned i = 0; i < bits; i++) w[i / 8] |= (uint64_t)g[i] << (8 * (i % 8));
#endif
    const uint64_t mask = ((uint64_t)1 << bits) - 1;
    for (unsigned k = 0, pos = 0; k < 8; k++, pos += bits) {
        const unsigned wi = pos / 64, sh = pos % 64;
        uint64_t x = w[wi] >> sh;
        if (sh + bits > 64) x |= w[wi + 1] << (64 - sh);
        v[k] = x & mask;
    }
}

/* The unreduced sums of ks_dot2 (kernels.h) for the 8 outputs from i (a multiple of 8):
 * s0[t] = (c0 ? c0[i+t] w : 0) + sum_j d[j][i+t] kb_j[i+t] in 128 bits (terms < 2^122, at most
 * 64 of them), s1 the same with c1 and ka; the key rows packed at bits per residue. */
static inline void beaa_ks_sums8_ref(beaa_u128 *s0, beaa_u128 *s1, const uint64_t *const *d,
                                     const uint8_t *const *kb, const uint8_t *const *ka,
                                     size_t nd, size_t i, unsigned bits, const uint64_t *c0,
                                     const uint64_t *c1, uint64_t w)
{
    const size_t off = i / 8 * bits;
    for (size_t t = 0; t < 8; t++) {
        s0[t] = c0 ? (beaa_u128)c0[i + t] * w : 0;
        s1[t] = c1 ? (beaa_u128)c1[i + t] * w : 0;
    }
    for (size_t j = 0; j < nd; j++) {
        uint64_t b[8], a[8];
        beaa_unpack8_ref(kb[j] + off, bits, b);
        beaa_unpack8_ref(ka[j] + off, bits, a);
        for (size_t t = 0; t < 8; t++) {
            uint64_t v = d[j][i + t];
            s0[t] += (beaa_u128)v * b[t];
            s1[t] += (beaa_u128)v * a[t];
        }
    }
}

void beaa_ntt_fwd_ref(const beaa_ntt_tables *t, uint64_t *a);
void beaa_ntt_fwd_lazy_ref(const beaa_ntt_tables *t, uint64_t *a);
void beaa_ntt_inv_ref(const beaa_ntt_tables *t, uint64_t *a);
void beaa_ntt_inv_lazy_ref(const beaa_ntt_tables *t, uint64_t *a);
void beaa_ntt_inv_scaled_ref(const beaa_ntt_tables *t, uint64_t *r, const uint64_t *a,
                             uint64_t w, uint64_t c);

void beaa_add_mod_ref(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n, uint64_t q);
void beaa_sub_mod_ref(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n, uint64_t q);
void beaa_neg_mod_ref(uint64_t *r, const uint64_t *a, size_t n, uint64_t q);
void beaa_mul_mod_ref(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n,
                      const beaa_modulus *m);
void beaa_mac_mod_ref(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n,
                      const beaa_modulus *m);
void beaa_mul_const_ref(uint64_t *r, const uint64_t *a, size_t n, uint64_t w, uint64_t ws,
                        uint64_t q);
void beaa_mac_const_ref(uint64_t *r, const uint64_t *a, size_t n, uint64_t w, uint64_t ws,
                        uint64_t q);
void beaa_sub_mul_const_ref(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n,
                            uint64_t w, uint64_t ws, uint64_t q);
void beaa_tensor_ref(uint64_t *r0, uint64_t *r1, uint64_t *r2, const uint64_t *a0,
                     const uint64_t *a1, const uint64_t *b0, const uint64_t *b1, size_t n,
                     const beaa_modulus *m, uint64_t w, uint64_t ws);
void beaa_basis_conv_ref(uint64_t *r, const uint64_t *const *x, const uint64_t *c, size_t n_in,
                         size_t n, const beaa_modulus *p);
void beaa_basis_conv_multi_ref(uint64_t *const *r, const uint64_t *const *x,
                               const uint64_t *const *c, size_t n_in, size_t n,
                               const beaa_modulus *const *p, size_t n_out);
void beaa_basis_conv_sub_ref(uint64_t *r, const uint64_t *const *x, const uint64_t *c,
                             size_t n_in, size_t n, const beaa_modulus *p, const uint8_t *u,
                             const uint64_t *corr);
void beaa_conv_overflow_ref(uint8_t *u, const uint64_t *const *x, const double *rc, size_t n_in,
                            size_t n);
void beaa_ks_dot2_ref(uint64_t *r0, uint64_t *r1, const uint64_t *const *d,
                      const uint8_t *const *kb, const uint8_t *const *ka, size_t nd, size_t n,
                      const beaa_modulus *m, const uint64_t *c0, const uint64_t *c1,
                      uint64_t w);
/* ks_dot2_fp (kernels.h) in 128-bit integers: the oracle of the SIMD versions (not in the ref
 * table, which has no key rows as doubles). */
void beaa_ks_dot2_fp_ref(uint64_t *r0, uint64_t *r1, const uint64_t *const *d,
                         const double *const *kb, const double *const *ka, size_t nd, size_t n,
                         const beaa_modulus *m, const uint64_t *c0, const uint64_t *c1,
                         uint64_t w);
void beaa_lin_dot_ref(uint64_t *const *r, const uint64_t *const *x, const uint64_t *w,
                      const uint64_t *bias, size_t m, size_t k, size_t n, const beaa_modulus *q);
void beaa_uniform_seeded_ref(uint64_t *const *out, const uint64_t *q, const uint64_t *domain,
                             size_t count, size_t n, const uint8_t *const *seed);
void beaa_shake256_x8_ref(uint8_t *const *out, size_t outlen, const uint8_t *const *in, size_t len);
void beaa_permute_ref(uint64_t *r, const uint64_t *a, const uint32_t *perm, size_t n);

#endif
