/* keys.h - CKKS keys and key generation: secret, public, relinearization and Galois keys.
 * All keys are made at the top level (all data primes q_0..q_L, plus the special primes for
 * switching keys) and work at every lower level. Uniform 'a' parts come from a stored XOF seed;
 * secrets and errors come from OS entropy. Layout like types.h: limb k of polynomial c is
 * data + (c * n_limbs + k) * N, NTT form, extended prime numbering (q_0..q_L then p_0..p_{alpha-1});
 * switching keys are held bit-packed (below). */
#ifndef BEAA_CKKS_KEYS_H
#define BEAA_CKKS_KEYS_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"
#include "lib/rng.h"
#include "ckks/params.h"

/* Secret key s: ternary coefficients (kept for serialization) and the NTT form over all L+1+alpha
 * primes. Wiped before free. */
typedef struct beaa_ckks_secret_key {
    const beaa_ckks_context *ctx;
    int8_t *coeffs;      /* N coefficients in {-1, 0, 1} */
    uint64_t *data;      /* (L+1+alpha) * N words, NTT form */
} beaa_ckks_secret_key;

/* Public key (b, a) = (-a*s + e, a) over q_0..q_L; a expanded from seed. */
typedef struct beaa_ckks_public_key {
    const beaa_ckks_context *ctx;
    uint64_t *data;      /* 2 * (L+1) * N words: b limbs then a limbs */
    uint8_t seed[BEAA_SEED_BYTES];
} beaa_ckks_public_key;

/* A key-switching key from s' to s, hybrid decomposition: dnum pairs (b_j, a_j) over q_0..q_L and
 * p_0..p_{alpha-1}, b_j = -a_j*s + e_j + P*[q in digit j]*s' (the gadget factor is P mod q_i for
 * the primes of digit j and 0 elsewhere). Held bit-packed: each limb's N residues at its prime's
 * bit size, the serialized limb form (serialize.h), which the key-switching inner product
 * unpacks as it reads (ks_dot2 in kernels.h): a 50-bit limb takes 22% fewer bytes than 64-bit
 * words, a 40-bit one 37%, and the inner product reads the key once per use. */
typedef struct beaa_ckks_switch_key {
    const beaa_ckks_context *ctx;
    unsigned dnum;       /* number of digits */
    unsigned n_limbs;    /* L+1+alpha */
    size_t row_bytes;    /* bytes of one polynomial: its n_limbs packed limbs */
    uint8_t *data;       /* dnum * 2 polynomials: digit j, poly c (0=b, 1=a) at
                            data + (j*2 + c) * row_bytes; its limb k at beaa_ckks_switch_key_limb */
    uint8_t seed[BEAA_SEED_BYTES]; /* a_j limb k from domain BEAA_CKKS_DOMAIN_SWK_A + j*256 + k */
    double *fp;          /* NULL, or the same residues as doubles for the kernel table's ks_dot2_fp:
                            digit j, poly c, limb k at fp + ((j*2 + c) * n_limbs + k) * N
                            (beaa_ckks_switch_key_make_fp) */
} beaa_ckks_switch_key;

/* Relinearization key: switches s^2 -> s. */
typedef struct beaa_ckks_relin_key {
    beaa_ckks_switch_key key;
} beaa_ckks_relin_key;

/* Galois keys: one switching key per Galois element g, from s to phi_g^-1(s) (phi_g: X -> X^g).
 * Switching c1 with it gives (e0, e1) with e0 + e1 phi_g^-1(s) ~ c1 s, so phi_g(c0 + e0) +
 * phi_g(e1) s ~ phi_g(c0 + c1 s): the rotated ciphertext, with the automorphism applied once to
 * the switched result instead of to every digit of the decomposition (no gathers in the inner
 * product). The equivalent textbook key (phi_g(s) -> s) is this one with phi_g applied. */
typedef struct beaa_ckks_galois_keys {
    const beaa_ckks_context *ctx;
    size_t count;
    uint64_t *elts;               /* count Galois elements (sorted ascending) */
    beaa_ckks_switch_key *keys;   /* count keys, keys[i] for elts[i] */
} beaa_ckks_galois_keys;

/* Generates a secret key from OS entropy (ternary or sparse per the spec).
 * BEAA_ERR_ARG, BEAA_ERR_NOMEM, BEAA_ERR_ENTROPY. */
BEAA_MUST_CHECK beaa_status beaa_ckks_secret_key_gen(const beaa_ckks_context *ctx,
                                                      beaa_ckks_secret_key **out);
/* Builds a secret key from N given coefficients in {-1,0,1} (deserialization, tests).
 * BEAA_ERR_VALUE if a coefficient is out of range. */
BEAA_MUST_CHECK beaa_status beaa_ckks_secret_key_from_coeffs(const beaa_ckks_context *ctx,
                                                              const int8_t *coeffs,
                                                              beaa_ckks_secret_key **out);
/* Wipes and frees (NULL allowed). */
void beaa_ckks_secret_key_free(beaa_ckks_secret_key *sk);

/* Public key from sk (fresh seed and error from OS entropy). */
BEAA_MUST_CHECK beaa_status beaa_ckks_public_key_gen(const beaa_ckks_secret_key *sk,
                                                      beaa_ckks_public_key **out);
/* Allocates an empty public key (for deserialization); fill data/seed, then
 * beaa_ckks_public_key_expand_seed regenerates the 'a' limbs from the seed. */
BEAA_MUST_CHECK beaa_status beaa_ckks_public_key_alloc(const beaa_ckks_context *ctx,
                                                        beaa_ckks_public_key **out);
void beaa_ckks_public_key_expand_seed(beaa_ckks_public_key *pk);
void beaa_ckks_public_key_free(beaa_ckks_public_key *pk);

/* Switching keys: allocation (deserialization), seed expansion (fills every a_j; BEAA_ERR_NOMEM
 * leaves them as they were), free of the contents (not the struct itself, which is usually
 * embedded). */
BEAA_MUST_CHECK beaa_status beaa_ckks_switch_key_alloc(const beaa_ckks_context *ctx,
                                                        beaa_ckks_switch_key *key);
BEAA_MUST_CHECK beaa_status beaa_ckks_switch_key_expand_seed(beaa_ckks_switch_key *key);
void beaa_ckks_switch_key_clear(beaa_ckks_switch_key *key);
/* Adds the copy of the key as doubles (key->fp) where the active kernel table reads such rows
 * faster (its ks_dot2_fp: AVX2, where unpacking the packed rows costs half the inner product)
 * and every prime is below 2^50; otherwise leaves key->fp NULL and returns BEAA_OK. The relin
 * key gets it from beaa_ckks_relin_key_gen and the relin key loaders: one key, read by every
 * multiplication (8 bytes per residue beside the packed 6.25 at 50 bits: 19 MB more at N = 2^15,
 * 12 extended primes, 3 digits). Galois keys stay packed only (there can be dozens). The rows
 * must be valid residues, as generation and the loaders leave them: the copy does not check
 * them (it runs inside key generation, where no branch may depend on the key's values). */
BEAA_MUST_CHECK beaa_status beaa_ckks_switch_key_make_fp(beaa_ckks_switch_key *key);
/* Bytes beaa_ckks_switch_key_make_fp adds for ctx (0 where it adds none). */
size_t beaa_ckks_switch_key_fp_bytes(const beaa_ckks_context *ctx);
/* The same for a context that would be built from spec with this process's kernel table
 * (planning before the context exists); 0 for NULL or a spec out of range. */
size_t beaa_ckks_switch_key_fp_bytes_spec(const beaa_ckks_params_spec *spec);
/* Residues of one switching key (dnum * 2 * n_limbs * N), and the bytes they take packed. */
size_t beaa_ckks_switch_key_words(const beaa_ckks_context *ctx);
size_t beaa_ckks_switch_key_bytes(const beaa_ckks_context *ctx);
/* Limb k (extended numbering) of polynomial c (0 = b, 1 = a) of digit j: its packed bytes, and
 * the residues unpacked into out[0..N) (nonzero when one is not below its prime: corrupted). */
const uint8_t *beaa_ckks_switch_key_limb(const beaa_ckks_switch_key *key, unsigned j, unsigned c,
                                         unsigned k);
int beaa_ckks_switch_key_get(const beaa_ckks_switch_key *key, unsigned j, unsigned c, unsigned k,
                             uint64_t *out);

/* Relinearization key from sk. */
BEAA_MUST_CHECK beaa_status beaa_ckks_relin_key_gen(const beaa_ckks_secret_key *sk,
                                                     beaa_ckks_relin_key **out);
BEAA_MUST_CHECK beaa_status beaa_ckks_relin_key_alloc(const beaa_ckks_context *ctx,
                                                       beaa_ckks_relin_key **out);
void beaa_ckks_relin_key_free(beaa_ckks_relin_key *rk);

/* Galois keys for rotations by each of steps[0..n_steps) (any sign, reduced mod N/2; step 0 and
 * duplicates ignored) and, if conj != 0, for conjugation. BEAA_ERR_ARG for NULL with n > 0. */
BEAA_MUST_CHECK beaa_status beaa_ckks_galois_keys_gen(const beaa_ckks_secret_key *sk,
                                                       const int *steps, size_t n_steps, int conj,
                                                       beaa_ckks_galois_keys **out);
/* Empty set of `count` keys for the given elements (deserialization; elts need not be sorted,
 * they are sorted here together with nothing else - fill keys[i] after this call by elts[i]). */
BEAA_MUST_CHECK beaa_status beaa_ckks_galois_keys_alloc(const beaa_ckks_context *ctx,
                                                         const uint64_t *elts, size_t count,
                                                         beaa_ckks_galois_keys **out);
/* The key for Galois element g, or NULL if absent. */
const beaa_ckks_switch_key *beaa_ckks_galois_keys_find(const beaa_ckks_galois_keys *gk, uint64_t g);
void beaa_ckks_galois_keys_free(beaa_ckks_galois_keys *gk);

#endif
