/* context_internal.h - the layout of beaa_ckks_context, shared by the ckks/ sources only.
 * Users go through the accessors of params.h. Extended prime index k: k <= L is q_k,
 * k = L+1+j is the special prime p_j. */
#ifndef BEAA_CKKS_CONTEXT_INTERNAL_H
#define BEAA_CKKS_CONTEXT_INTERNAL_H
#include "ckks/params.h"
#include "ckks/fft.h"

/* Limb loops run in parallel (OpenMP) only from this ring size on: below it the fork/join
 * costs more than the work. */
#define BEAA_CKKS_PAR_MIN_N 4096

#define BEAA_CKKS_MAX_EXT (BEAA_CKKS_MAX_PRIMES + BEAA_CKKS_MAX_SPECIAL)

struct beaa_ckks_context {
    beaa_ckks_params_spec spec;
    unsigned log_n;
    size_t n;
    unsigned L;                 /* max level = n_primes - 1 */
    unsigned alpha;             /* special primes = primes per digit */
    unsigned dnum;              /* ceil((L+1)/alpha) */
    unsigned n_ext;             /* L+1+alpha */
    beaa_modulus mod[BEAA_CKKS_MAX_EXT];
    beaa_ntt_tables *ntt[BEAA_CKKS_MAX_EXT];
    const beaa_kernels *kern;
    beaa_fft_tables *fft;
    /* rescale: q_l^{-1} mod q_i for i < l, at [l * (L+1) + i] (plain and Shoup) */
    uint64_t *rs_inv, *rs_inv_shoup;
    /* P mod q_i (i <= L): the gadget factor of switching keys */
    uint64_t p_mod[BEAA_CKKS_MAX_PRIMES];
    /* Galois: slot i of the NTT form is the evaluation at r^{exp[i]} (r a primitive 2N-th root,
     * exp odd); idx_of_exp[e] is the slot of exponent e (odd e < 2N). */
    uint32_t *exp_of_idx, *idx_of_exp;
    double log2_q_cum[BEAA_CKKS_MAX_PRIMES]; /* log2(q_0...q_l) */
    double log2_qp;
    uint8_t fingerprint[BEAA_CKKS_FINGERPRINT_BYTES];
};

#endif
