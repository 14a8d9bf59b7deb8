/* validate.h - the invariants every CKKS object made by this library satisfies, checked on an
 * object in memory. A deserialized object passes them (the loaders enforce each one), so a file
 * that loads is as safe to compute on as a freshly made object; the fuzz targets and
 * tests/check_roundtrip.c check exactly that. */
#ifndef BEAA_CKKS_VALIDATE_H
#define BEAA_CKKS_VALIDATE_H
#include "lib/status.h"
#include "ckks/types.h"
#include "ckks/keys.h"

/* 1 if `scale` is one that library operations can produce at `level`: finite, >= 1 (encoders,
 * products and rescales refuse smaller ones) and below Q_L = q_0 * ... * q_L, the top-level data
 * modulus (products are checked against Q_level / 2 <= Q_L, rescales divide, level drops keep
 * the scale). 0 otherwise, and for level > L. */
int beaa_ckks_scale_in_range(const beaa_ckks_context *ctx, unsigned level, double scale);

/* Each returns BEAA_OK, BEAA_ERR_ARG (NULL object, context or data) or BEAA_ERR_CORRUPT:
 * plaintext: level <= L, NTT flag 0/1, scale in range, every residue < its prime;
 * ciphertext: the same, size 2 or 3;
 * secret key: coefficients in {-1, 0, 1} (exactly h nonzero for a sparse secret), every residue
 *   of its NTT limbs < its prime (the coefficient/NTT agreement is not recomputed);
 * public key: every residue < its prime;
 * switching key (relinearization key, each Galois key): dnum and limb count of the context,
 *   every residue < its prime;
 * Galois keys: elements odd, < 2N, strictly ascending, at most N of them, each key valid. */
BEAA_MUST_CHECK beaa_status beaa_ckks_plaintext_validate(const beaa_ckks_plaintext *pt);
BEAA_MUST_CHECK beaa_status beaa_ckks_ciphertext_validate(const beaa_ckks_ciphertext *ct);
BEAA_MUST_CHECK beaa_status beaa_ckks_secret_key_validate(const beaa_ckks_secret_key *sk);
BEAA_MUST_CHECK beaa_status beaa_ckks_public_key_validate(const beaa_ckks_public_key *pk);
BEAA_MUST_CHECK beaa_status beaa_ckks_switch_key_validate(const beaa_ckks_switch_key *key);
BEAA_MUST_CHECK beaa_status beaa_ckks_relin_key_validate(const beaa_ckks_relin_key *rk);
BEAA_MUST_CHECK beaa_status beaa_ckks_galois_keys_validate(const beaa_ckks_galois_keys *gk);

#endif
