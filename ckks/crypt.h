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
/* beaa_ckks_encrypt_sk_values for k ciphertexts: cts[j] <- vals[j] (n values each, same scale
 * and level; distinct ciphertexts). Their c_1 = a are expanded together, BEAA_CKKS_ENCRYPT_GROUP
 * ciphertexts at a time: the SHAKE256 streams of all their limbs fill the 8 lanes of each Keccak
 * group (a ciphertext of 9 limbs alone needs 2 groups, 8 of them 9). With stream != NULL,
 * ciphertext j draws its seed and error from sub-stream (stream_base, stream[j]) (lib/rng.h:
 * reproducible under an insecure experiment seed whatever thread encrypts it; no effect
 * otherwise). Errors as beaa_ckks_encrypt_sk_values (on an error, ciphertexts not finished hold
 * no valid encryption). */
#define BEAA_CKKS_ENCRYPT_GROUP 8
BEAA_MUST_CHECK beaa_status beaa_ckks_encrypt_sk_values_many(const beaa_ckks_secret_key *sk,
                                                              const double *const *vals, size_t n,
                                                              double scale, unsigned level,
                                                              beaa_ckks_ciphertext *const *cts,
                                                              size_t k, uint64_t stream_base,
                                                              const uint64_t *stream);
/* Decrypts ct (size 2 or 3) into pt (re-shaped to ct's level, scale = ct's scale, NTT form). */
BEAA_MUST_CHECK beaa_status beaa_ckks_decrypt(const beaa_ckks_secret_key *sk,
                                               const beaa_ckks_ciphertext *ct,
                                               beaa_ckks_plaintext *pt);
/* Decrypts and adds a fresh rounded Gaussian of standard deviation 2^log2_sigma (in units of the
 * integer coefficients, i.e. an error of about 2^log2_sigma * sqrt(N/2) / scale on each slot
 * value) to every coefficient before returning; the noise comes from OS entropy and is sampled in
 * constant time. When to use it: a CKKS decryption reveals m + e, and e is a linear function of
 * the secret key, so decrypted values shown to anyone else let them recover the key (IND-CPA-D,
 * Li-Micciancio, Eurocrypt 2021; practical key recovery even against average-case flooding
 * estimates: Guo et al., USENIX Security 2024). Results kept by the key owner need none.
 * Choose log2_sigma with beaa_ckks_flood_log2_sigma from a noise bound that holds for the worst
 * ciphertext (beaa_ckks_noise_measure on known inputs, with a margin). log2_sigma in [0, 50]:
 * BEAA_ERR_ARG otherwise. On any error pt is zeroed (never left un-flooded). */
BEAA_MUST_CHECK beaa_status beaa_ckks_decrypt_flooded(const beaa_ckks_secret_key *sk,
                                                       const beaa_ckks_ciphertext *ct,
                                                       double log2_sigma, beaa_ckks_plaintext *pt);


/* log2 of the flooding deviation that makes the flooded decryptions of up to 2^log2_queries
 * ciphertexts, each with noise of infinity norm at most 2^log2_noise (coefficient units),
 * statistically indistinguishable within 2^-stat_sec from flooded decryptions of noise-free
 * ones: per coefficient, KL(N(e, s^2) || N(0, s^2)) = e^2 / (2 s^2); over N coefficients and q
 * decryptions KL <= q N B^2 / (2 s^2), and Pinsker gives a statistical distance <= sqrt(q N) B /
 * (2 s); so s = 2^(stat_sec - 1) sqrt(q N) B:
 *     log2 s = log2_noise + stat_sec - 1 + (log2_queries + log2 N) / 2.
 * Returns that value (the caller checks it against 50, the limit of beaa_ckks_decrypt_flooded,
 * and against the precision it can lose), or -1 for a NULL context or negative arguments. */
double beaa_ckks_flood_log2_sigma(const beaa_ckks_context *ctx, double log2_noise,
                                  unsigned stat_sec, double log2_queries);

/* The noise of ct against the values it should hold (an estimation run on known inputs): ct is
 * decrypted, the n real slot values (others 0) are encoded at ct's scale and level and
 * subtracted, and *log2_inf receives log2 of the largest |coefficient| of the difference
 * (coefficient units; -inf when it is exactly 0). Errors as decrypt and encode_real. */
BEAA_MUST_CHECK beaa_status beaa_ckks_noise_measure(const beaa_ckks_secret_key *sk,
                                                     const beaa_ckks_ciphertext *ct,
                                                     const double *values, size_t n,
                                                     double *log2_inf);

#endif
