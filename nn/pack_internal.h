/* pack_internal.h - the client's encryption loop of nn/pack.c, shared with nn/upload.c (which
 * keeps each ciphertext in its upload form instead of whole). Not installed, not public. */
#ifndef BEAA_NN_PACK_INTERNAL_H
#define BEAA_NN_PACK_INTERNAL_H
#include <stddef.h>
#include "lib/status.h"
#include "ckks/ckks.h"

/* Receives position e's ciphertext: takes it (sets *ct to NULL) or leaves it to be reused for
 * the next position of the same thread. Called from the encrypting threads at once, each with
 * distinct positions. Anything but BEAA_OK stops the loop with it. */
typedef beaa_status (*beaa_nn_pack_sink)(void *user, size_t e, beaa_ckks_ciphertext **ct);

/* Encrypts position e < el (slot j = x[j*el + e]) as beaa_nn_pack_encrypt does, with the same
 * randomness per position, and hands each ciphertext to sink. OpenMP over positions. Errors:
 * those of beaa_nn_pack_encrypt and of the sink (the first one met). */
BEAA_MUST_CHECK beaa_status beaa_nn_pack_encrypt_each(const beaa_ckks_secret_key *sk,
                                                      const double *x, size_t n, size_t el,
                                                      unsigned level, double scale,
                                                      beaa_nn_pack_sink sink, void *user);
#endif
