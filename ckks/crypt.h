/* crypt.h - CKKS encryption (public or secret key) and decryption (optionally noise-flooded).
 * Encryption noise is a discrete Gaussian (sigma 3.2) from OS entropy; the secret-key variant
 * draws c_1 from a fresh XOF seed kept in the ciphertext (seed-compressed serialization). */
#ifndef BEAA_CKKS_CRYPT_H
#define BEAA_CKKS_CRYPT_H
#include "lib/status.h"
#include "ckks/types.h"
#include "ckks/keys.h"

/* Encrypts pt (any level <= L, NTT form) with the public key into ct (re-shaped to size 2 at
 * pt's level, scale = pt's scale). ct = (v*b + e0 + m, v*a + e1), v ternary.
 * BEAA_ERR_ARG, BEAA_ERR_PARAMS_MISMATCH, BEAA_ERR_ENTROPY, BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_ckks_encrypt_pk(const beaa_ckks_public_key *pk,
                                                  const beaa_ckks_plaintext *pt,
                                                  beaa_ckks_ciphertext *ct);
/* Encrypts with the secret key: ct = (-a*s + e + m, a), a from a fresh seed (ct->has_seed = 1). */
BEAA_MUST_CHECK beaa_status beaa_ckks_encrypt_sk(const beaa_ckks_secret_key *sk,
                                                  const beaa_ckks_plaintext *pt,
                                                  beaa_ckks_ciphertext *ct);
/* Encodes n <= N/2 real values (slot j = vals[j], other slots 0) at `scale` and `level` and
 * encrypts them with the secret key in one pass: ct = (-a*s + e + m, a) as encode_real followed
 * by encrypt_sk, with the same distribution, but the error is added to the encoded integer
 * coefficients before the forward NTT (one NTT per limb instead of two, no plaintext object).
 * The client's path of element-wise packing (nn/pack.c). Errors as encode_real and encrypt_sk. */
BEAA_MUST_CHECK beaa_status beaa_ckks_encrypt_sk_values(const beaa_ckks_secret_key *sk,
                                                         const double *vals, size_t n,
                                                         double scale, unsigned level,
                                                         beaa_ckks_ciphertext *ct);
/* Decrypts ct (size 2 or 3) into pt (re-shaped to ct's level, scale = ct's scale, NTT form). */
BEAA_MUST_CHECK beaa_status beaa_ckks_decrypt(const beaa_ckks_secret_key *sk,
                                               const beaa_ckks_ciphertext *ct,
                                               beaa_ckks_plaintext *pt);
/* Decrypts and adds a fresh rounded Gaussian of standard deviation 2^log2_sigma (in units of the
 * integer coefficients, i.e. an error of 2^log2_sigma / scale on the values) to every coefficient
 * before returning. Under IND-CPA-D (Li-Micciancio 2020) plain CKKS decryptions that are shown to
 * someone else leak the key through the noise; flooding with sigma ~ 2^(stat. security) times the
 * noise bound closes that. log2_sigma in [0, 50]: BEAA_ERR_ARG otherwise. */
BEAA_MUST_CHECK beaa_status beaa_ckks_decrypt_flooded(const beaa_ckks_secret_key *sk,
                                                       const beaa_ckks_ciphertext *ct,
                                                       double log2_sigma, beaa_ckks_plaintext *pt);

#endif
