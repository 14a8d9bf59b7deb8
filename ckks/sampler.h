/* sampler.h - (internal) the distributions of CKKS: uniform ternary and sparse secrets, the
 * discrete Gaussian error (sigma 3.2), uniform residues from a seeded XOF, and conversion of
 * small signed polynomials to RNS/NTT form. Secrets and errors always come from OS entropy. */
#ifndef BEAA_CKKS_SAMPLER_H
#define BEAA_CKKS_SAMPLER_H
#include <stddef.h>
#include <stdint.h>
#include "lib/rng.h"
#include "lib/status.h"
#include "ckks/params.h"

#define BEAA_CKKS_SIGMA 3.2
#define BEAA_CKKS_GAUSS_BOUND 19 /* floor(6 * sigma): samples beyond are redrawn */

/* n coefficients uniform in {-1,0,1} from x (one 64-bit word each, constant time). */
void beaa_ckks_sample_ternary(beaa_xof *x, int8_t *out, size_t n);
/* Exactly h nonzero +-1 coefficients at uniformly random positions (h <= n), constant time (a
 * sorting network); n a power of two. BEAA_ERR_ARG (n not a power of two), BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_ckks_sample_sparse(beaa_xof *x, int8_t *out, size_t n, unsigned h);
/* Rounded normal of standard deviation BEAA_CKKS_SIGMA cut at |e| <= GAUSS_BOUND: inverse CDT,
 * one XOF word per sample, constant time. */
void beaa_ckks_sample_gauss(beaa_xof *x, int8_t *out, size_t n);
/* The same distribution from OS entropy, drawn 8 streams at a time: one OS seed, the raw words
 * of 8 SHAKE256 streams (domains domain .. domain + 7, stream j giving coefficients
 * j n/8 .. (j+1) n/8 - 1) expanded by ctx's kernel table (8 streams per Keccak permutation with
 * AVX-512: about 7x the one-stream sampler), each word mapped as beaa_ckks_sample_gauss maps
 * it. n a multiple of 8. BEAA_ERR_ARG, BEAA_ERR_NOMEM, BEAA_ERR_ENTROPY. */
BEAA_MUST_CHECK beaa_status beaa_ckks_sample_gauss_os(const beaa_ckks_context *ctx, uint64_t domain,
                                                      int8_t *out, size_t n);
/* Rounded normal of standard deviation sigma (any size, |result| < 2^62) into int64. */
void beaa_ckks_sample_gauss_wide(beaa_xof *x, int64_t *out, size_t n, double sigma);
/* One limb uniform in [0, q) from the XOF (seed, domain). */
void beaa_ckks_sample_uniform_seeded(uint64_t *out, size_t n, const beaa_modulus *m,
                                     const uint8_t seed[BEAA_SEED_BYTES], uint64_t domain);
/* count limbs of one seeded object: out[s] (n = ctx's ring size words) uniform modulo the
 * extended prime prime[s] of ctx from the XOF (seed, domain[s]): the same values as
 * beaa_ckks_sample_uniform_seeded, computed by the kernel table's uniform_seeded (8 streams per
 * Keccak permutation with AVX-512), groups of 8 streams on several threads when parallel != 0. */
void beaa_ckks_sample_uniform_seeded_limbs(const beaa_ckks_context *ctx, uint64_t *const *out,
                                           const unsigned *prime, const uint64_t *domain,
                                           size_t count, const uint8_t seed[BEAA_SEED_BYTES],
                                           int parallel);
/* The same for streams of several objects: out[s] from the XOF (seed[s], domain[s]). Lanes of
 * one Keccak group take streams of different seeds, so k objects of l limbs cost about k*l/8
 * groups instead of k*ceil(l/8) (9 limbs: 2 groups each alone, 9 per 8 objects together). */
void beaa_ckks_sample_uniform_streams(const beaa_ckks_context *ctx, uint64_t *const *out,
                                      const unsigned *prime, const uint64_t *domain,
                                      const uint8_t *const *seed, size_t count, int parallel);
/* v mod q for a small signed v (|v| < q), without a branch on v (secrets and errors). */
static inline uint64_t beaa_ckks_small_mod(int64_t v, uint64_t q)
{
    return (uint64_t)v + (q & (uint64_t)(v >> 63));
}
/* The small signed polynomial s (n coefficients) as limbs in NTT form for the extended primes
 * k0 .. k0+count-1 of ctx: out + j*n is the limb of prime k0+j. */
void beaa_ckks_small_to_ntt(const beaa_ckks_context *ctx, const int8_t *s, unsigned k0,
                            unsigned count, uint64_t *out);

#endif
