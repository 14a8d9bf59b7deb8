/* params.h - RNS-CKKS parameter sets and the context built from them.
 * A spec names the ring size, the bit sizes of the data primes q_0..q_L and of the special
 * key-switching primes p_0..p_{alpha-1}; the context holds the generated primes, NTT tables,
 * rescale and key-switching constants and Galois permutations. Contexts are immutable. */
#ifndef BEAA_CKKS_PARAMS_H
#define BEAA_CKKS_PARAMS_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"
#include "ckks/modarith.h"
#include "ckks/kernels/kernels.h"

#define BEAA_CKKS_MIN_LOG_N 10
#define BEAA_CKKS_MAX_LOG_N 16
#define BEAA_CKKS_MAX_PRIMES 48  /* data primes (L+1) at most */
#define BEAA_CKKS_MAX_SPECIAL 8  /* special primes (alpha) at most */
#define BEAA_CKKS_MIN_PRIME_BITS 20
#define BEAA_CKKS_MAX_PRIME_BITS 61
#define BEAA_CKKS_FINGERPRINT_BYTES 32

/* Distribution of the secret key. */
typedef enum beaa_ckks_secret_dist {
    BEAA_CKKS_SECRET_TERNARY = 0, /* uniform in {-1,0,1}^N (the HE-standard assumption) */
    BEAA_CKKS_SECRET_SPARSE = 1   /* exactly h nonzero coefficients, each +-1 (explicit opt-in;
                                     the 128-bit table does not cover it: weaker, smaller noise) */
} beaa_ckks_secret_dist;

/* A parameter spec. Plain struct: fill it with beaa_ckks_params_spec_make or by hand.
 * Digits for hybrid key switching: the L+1 data primes are cut into dnum groups of alpha
 * consecutive primes (alpha = n_special), dnum = ceil((L+1)/alpha). Each special prime should be
 * at least as large as the largest data prime so that P >= every digit's product. */
typedef struct beaa_ckks_params_spec {
    unsigned log_n;                              /* ring degree N = 2^log_n, 10..16 */
    unsigned n_primes;                           /* L+1, number of data primes, 1..48 */
    unsigned prime_bits[BEAA_CKKS_MAX_PRIMES];   /* bit size of q_i (q_0 first), 20..61 */
    unsigned n_special;                          /* alpha, 1..8 */
    unsigned special_bits[BEAA_CKKS_MAX_SPECIAL];/* bit size of p_j, 20..61 */
    beaa_ckks_secret_dist secret;                /* secret distribution */
    unsigned hamming_weight;                     /* h for SPARSE (1..N), ignored otherwise */
    int allow_insecure;                          /* 1: skip the 128-bit check (tests, teaching) */
} beaa_ckks_params_spec;

/* Fills *spec for ring 2^log_n with data primes of the given bit sizes (q_0 first) and n_special
 * special primes of special_bits each; ternary secret, security check on. Returns BEAA_ERR_ARG for
 * NULL pointers, BEAA_ERR_PARAMS for counts/sizes outside the ranges above. Does not check
 * security (done when the context is built). */
BEAA_MUST_CHECK beaa_status beaa_ckks_params_spec_make(beaa_ckks_params_spec *spec, unsigned log_n,
                                                        const unsigned *prime_bits, unsigned n_primes,
                                                        unsigned n_special, unsigned special_bits);

/* The HomomorphicEncryption.org 128-bit bound on log2(Q*P) for N = 2^log_n (ternary secret,
 * sigma 3.2): 27, 54, 109, 218, 438, 881, 1747 for log_n 10..16; 0 for other log_n. */
unsigned beaa_ckks_security_max_logqp(unsigned log_n);

/* Checks a spec: ranges, then security. Returns BEAA_OK, BEAA_ERR_PARAMS, or BEAA_ERR_INSECURE
 * when the sum of requested prime bits exceeds the bound and allow_insecure is 0. */
BEAA_MUST_CHECK beaa_status beaa_ckks_params_spec_check(const beaa_ckks_params_spec *spec);

/* Deterministic NTT-friendly prime generation: writes count distinct primes p = 1 mod 2^(log_n+1)
 * with exactly `bits` bits, searching downward from 2^bits, skipping the `n_avoid` primes in avoid.
 * BEAA_ERR_NO_PRIMES if not enough exist, BEAA_ERR_ARG on bad arguments. */
BEAA_MUST_CHECK beaa_status beaa_ckks_primes_generate(uint64_t *out, unsigned count, unsigned bits,
                                                       unsigned log_n, const uint64_t *avoid,
                                                       unsigned n_avoid);
/* Deterministic Miller-Rabin for 64-bit n: 1 if prime. */
int beaa_is_prime_u64(uint64_t n);

/* The context: opaque, immutable after creation, shareable between threads. */
typedef struct beaa_ckks_context beaa_ckks_context;

/* Builds a context: checks the spec (BEAA_ERR_PARAMS / BEAA_ERR_INSECURE), generates primes
 * (BEAA_ERR_NO_PRIMES), precomputes tables (BEAA_ERR_NOMEM); BEAA_ERR_CPU if BEAA_ARCH names an
 * unknown ISA or one this CPU lacks (see kernels.h). On success *out owns the context;
 * free it with beaa_ckks_context_free after every object that references it. */
BEAA_MUST_CHECK beaa_status beaa_ckks_context_new(const beaa_ckks_params_spec *spec,
                                                   beaa_ckks_context **out);
/* Frees a context (NULL allowed). */
void beaa_ckks_context_free(beaa_ckks_context *ctx);

/* Accessors (ctx must be non-NULL). */
const beaa_ckks_params_spec *beaa_ckks_context_spec(const beaa_ckks_context *ctx);
unsigned beaa_ckks_context_log_n(const beaa_ckks_context *ctx);
size_t beaa_ckks_context_n(const beaa_ckks_context *ctx);         /* N */
size_t beaa_ckks_context_slots(const beaa_ckks_context *ctx);     /* N/2 */
unsigned beaa_ckks_context_max_level(const beaa_ckks_context *ctx); /* L = n_primes - 1 */
unsigned beaa_ckks_context_n_special(const beaa_ckks_context *ctx); /* alpha */
unsigned beaa_ckks_context_dnum(const beaa_ckks_context *ctx);    /* number of digits */
/* Data prime q_i, i <= L (NULL if out of range). */
const beaa_modulus *beaa_ckks_context_q(const beaa_ckks_context *ctx, unsigned i);
/* Special prime p_j, j < alpha (NULL if out of range). */
const beaa_modulus *beaa_ckks_context_p(const beaa_ckks_context *ctx, unsigned j);
/* Prime of "extended" index k: k <= L gives q_k, k = L+1+j gives p_j (NULL if out of range). */
const beaa_modulus *beaa_ckks_context_prime(const beaa_ckks_context *ctx, unsigned k);
/* NTT tables of extended prime index k (same numbering; NULL if out of range). */
const beaa_ntt_tables *beaa_ckks_context_ntt(const beaa_ckks_context *ctx, unsigned k);
/* The kernel table this context uses (beaa_kernels_get() at creation). */
const beaa_kernels *beaa_ckks_context_kernels(const beaa_ckks_context *ctx);
/* log2(q_0 * ... * q_level) (0 for level > L). */
double beaa_ckks_context_log2_q(const beaa_ckks_context *ctx, unsigned level);
/* log2(Q*P) of the whole parameter set (actual primes). */
double beaa_ckks_context_log2_qp(const beaa_ckks_context *ctx);
/* SHAKE256 over a canonical encoding of (log_n, primes, special primes, secret distribution,
 * hamming weight): equal for equal parameter sets; stored in files to refuse mismatches. */
const uint8_t *beaa_ckks_context_fingerprint(const beaa_ckks_context *ctx);

/* Galois element for a rotation by `step` slots (any sign; reduced mod N/2): 5^step mod 2N.
 * Conjugation is 2N-1 (beaa_ckks_galois_conj). */
uint64_t beaa_ckks_galois_elt(const beaa_ckks_context *ctx, int step);
uint64_t beaa_ckks_galois_conj(const beaa_ckks_context *ctx);
/* The Galois element of the inverse automorphism: g^-1 mod 2N (g odd; the result is odd). */
uint64_t beaa_ckks_galois_inverse(const beaa_ckks_context *ctx, uint64_t g);
/* Writes the NTT-form permutation of the automorphism X -> X^g (g odd, < 2N) into perm (N
 * entries): applying it with the `permute` kernel, r[i] = a[perm[i]], maps the NTT form of a(X)
 * to the NTT form of a(X^g) for every prime. BEAA_ERR_ARG if g is even or >= 2N. */
BEAA_MUST_CHECK beaa_status beaa_ckks_galois_perm(const beaa_ckks_context *ctx, uint64_t g,
                                                   uint32_t *perm);

#endif
