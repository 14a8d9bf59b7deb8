/* pack.h - element-wise packing (client side): a batch of n <= N/2 images becomes one
 * ciphertext per input element (c,h,w), image j in slot j; and the way back: the num_classes
 * logit ciphertexts decrypt to one row of logits per image. */
#ifndef BEAA_NN_PACK_H
#define BEAA_NN_PACK_H
#include <stddef.h>
#include "lib/status.h"
#include "ckks/ckks.h"

/* Encrypts n images given as normalized values x[i*el + e] (e < el elements per image) into
 * out[0..el): out[e] slot j = x[j*el + e], at `level` and `scale`, with the secret key
 * (symmetric, seed-compressed 'a': half the upload). out[e] are new ciphertexts owned by the
 * caller (all NULL on error). OpenMP over elements.
 * Errors: BEAA_ERR_ARG, BEAA_ERR_SLOTS (n > N/2), encoder/encryptor errors, BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_nn_pack_encrypt(const beaa_ckks_secret_key *sk, const double *x,
                                                 size_t n, size_t el, unsigned level, double scale,
                                                 beaa_ckks_ciphertext **out);

/* Decrypts nc ciphertexts (one per class) and writes logits[i*nc + k] = slot i of cts[k] for
 * i < n. Errors: BEAA_ERR_ARG, BEAA_ERR_SLOTS, BEAA_ERR_PARAMS_MISMATCH, decoder errors. */
BEAA_MUST_CHECK beaa_status beaa_nn_pack_decrypt(const beaa_ckks_secret_key *sk,
                                                 beaa_ckks_ciphertext *const *cts, size_t nc,
                                                 size_t n, double *logits);

/* Same, each decryption flooded with Gaussian noise of deviation 2^log2_sigma (coefficient
 * units; beaa_ckks_decrypt_flooded): for logits shown to anyone but the key owner (IND-CPA-D,
 * docs/security.md). log2_sigma in [0, 50]. */
BEAA_MUST_CHECK beaa_status beaa_nn_pack_decrypt_flooded(const beaa_ckks_secret_key *sk,
                                                         beaa_ckks_ciphertext *const *cts,
                                                         size_t nc, size_t n, double log2_sigma,
                                                         double *logits);

#endif
