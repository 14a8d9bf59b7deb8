/* keyswitch.h - (internal) hybrid key switching in three steps: decompose a polynomial into
 * dnum digits raised to Q_l*P (mod-up), inner product with a switching key (128-bit lazy
 * accumulation), and division by P (mod-down; for rotations it also applies the automorphism). "Slot" t numbers the limbs of Q_l*P: t <= l is q_t, t = l+1+j is p_j. */
#ifndef BEAA_CKKS_KEYSWITCH_H
#define BEAA_CKKS_KEYSWITCH_H
#include <stdint.h>
#include "lib/status.h"
#include "ckks/keys.h"
#include "ckks/params.h"
#include "ckks/modarith.h"

/* Reduction of the inner product's 128-bit sums s < 2^(b+62) (q of b <= 54 bits; a sum of up to
 * 49 products of residues < q and one more residue stays below 49 q^2 < 2^(b+62)): a shifted
 * Barrett with one multiplication. t = s >> (b-2) fits 64 bits, mu = floor(2^(b+62)/q) < 2^63,
 * and qh = (t*mu) >> 64 undershoots floor(s/q) by less than 3 (the truncation of s costs < 1/2,
 * that of mu < 1, the floor 1), so s - qh*q is in [0, 3q): two conditional subtractions. */
typedef struct beaa_ckks_sum_reducer {
    uint64_t q, mu;
    unsigned sh;
} beaa_ckks_sum_reducer;

/* Fills r for q; returns 1 if q < 2^54 (the reducer may be used), else 0. */
static inline int beaa_ckks_sum_reducer_init(beaa_ckks_sum_reducer *r, uint64_t q)
{
    unsigned bits = 64 - (unsigned)__builtin_clzll(q | 1);
    r->q = q;
    r->sh = bits >= 2 ? bits - 2 : 0;
    r->mu = 0;
    if (bits < 2 || bits > 54) return 0;
    r->mu = (uint64_t)(((beaa_u128)1 << (bits + 62)) / q);
    return 1;
}

/* s mod q in [0, q) for s < 2^(b+62) (see above). */
static inline uint64_t beaa_ckks_sum_reduce(beaa_u128 s, const beaa_ckks_sum_reducer *r)
{
    uint64_t t = (uint64_t)(s >> r->sh);
    uint64_t qh = (uint64_t)(((beaa_u128)t * r->mu) >> 64);
    uint64_t x = (uint64_t)s - qh * r->q;
    x = x >= r->q ? x - r->q : x;
    return x >= r->q ? x - r->q : x;
}

/* Digits of a level-l polynomial: ceil((l+1)/alpha). */
unsigned beaa_ckks_ks_digits(const beaa_ckks_context *ctx, unsigned level);
/* Words of a decomposition at level l: digits * (l+1+alpha) * N. */
size_t beaa_ckks_ks_decomp_words(const beaa_ckks_context *ctx, unsigned level);
/* in: l+1 limbs, NTT form (not modified). out: decomposition (beaa_ckks_ks_decomp_words), digit
 * j slot t at out + (j*(l+1+alpha) + t)*N, NTT form. BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_ckks_ks_decompose(const beaa_ckks_context *ctx, const uint64_t *in,
                                                    unsigned level, uint64_t *out);
/* acc0/acc1 (l+1+alpha limbs each) = sum_j dec_j * (b_j, a_j). */
void beaa_ckks_ks_inner(const beaa_ckks_context *ctx, const uint64_t *dec, unsigned level,
                        const beaa_ckks_switch_key *key, uint64_t *acc0, uint64_t *acc1);
/* Decompose + inner product in one pass, slot by slot, without storing the decomposition (less
 * memory and cache traffic): same result as decompose followed by inner. With add0, add1 (l+1
 * limbs each in [0, q); both NULL = nothing) the data slots (t <= l) get add0[t] * f_t,
 * add1[t] * f_t added, f_t = P mod q_t with times_p, else 1: a relinearization's P * c_k joins
 * the sum that the mod-down divides by P without a pass of its own, and add0 = acc0, add1 = acc1
 * with times_p = 0 accumulates onto acc. The special slots hold the inner product alone.
 * in must not overlap acc0/acc1. BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_ckks_ks_product(const beaa_ckks_context *ctx, const uint64_t *in,
                                                  unsigned level, const beaa_ckks_switch_key *key,
                                                  uint64_t *acc0, uint64_t *acc1, const uint64_t *add0,
                                                  const uint64_t *add1, int times_p);
/* General rounding division: x holds nk limbs for the data primes q_0..q_{nk-1} followed by nd
 * limbs for the extended primes drop[0..nd) (all NTT form; destroyed). The first nk limbs become
 * round(x / D) mod q_i, D = prod of the dropped primes. Used with drop = {q_l, p_0..} to merge
 * the key-switch mod-down with a rescale. BEAA_ERR_NOMEM, BEAA_ERR_INTERNAL (bad nd). */
BEAA_MUST_CHECK beaa_status beaa_ckks_ks_divide(const beaa_ckks_context *ctx, uint64_t *x, unsigned nk,
                                                 const unsigned *drop, unsigned nd);
/* The same division for np (1 or 2) polynomials at once (both in one parallel loop per step, so
 * two threads stay busy): x[p] as above (destroyed); the first nk limbs of the result go to
 * out[p] (nk limbs; out[p] == x[p] allowed, else no overlap with any x). BEAA_ERR_NOMEM,
 * BEAA_ERR_INTERNAL (bad np/nd/nk). */
BEAA_MUST_CHECK beaa_status beaa_ckks_ks_divide2(const beaa_ckks_context *ctx, uint64_t *const *x,
                                                  unsigned np, unsigned nk, const unsigned *drop,
                                                  unsigned nd, uint64_t *const *out);
/* beaa_ckks_ks_divide2, then for each polynomial p: add[p] (nk limbs, NULL = nothing; add may be
 * NULL) is added to the result and the automorphism perm (NULL = none, see the permute kernel)
 * applied, both while the limb is in the thread's cache: out[p] = perm(round(x[p] / D) + add[p]).
 * The rotation's last step. out[p] == x[p] allowed; add[p] must not overlap x or out except at
 * the same limb. */
BEAA_MUST_CHECK beaa_status beaa_ckks_ks_divide2_ex(const beaa_ckks_context *ctx, uint64_t *const *x,
                                                     unsigned np, unsigned nk, const unsigned *drop,
                                                     unsigned nd, const uint64_t *const *add,
                                                     const uint32_t *perm, uint64_t *const *out);
/* Mod-down (division by P) of both accumulators of a key switch in one pass, and of one: the
 * first l+1 limbs become round(acc / P) mod q_i (exact up to the rare double-precision
 * misjudgement of the conversion overflow, which costs +-1). BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_ckks_ks_moddown2(const beaa_ckks_context *ctx, uint64_t *acc0,
                                                   uint64_t *acc1, unsigned level);
BEAA_MUST_CHECK beaa_status beaa_ckks_ks_moddown(const beaa_ckks_context *ctx, uint64_t *acc,
                                                  unsigned level);

#endif
