/* upload.h - the client's encrypted batch in the form it travels in, and the pass that reads it.
 * A fresh secret-key encryption is (c_0, c_1) with c_1 expanded from a 32-byte seed: what the
 * client sends (and what a ciphertext file holds) is c_0 and the seed, half the bytes, and c_0's
 * residues bit-packed to their primes' sizes (50 of 64 bits at the main job's primes). An upload
 * keeps every input position that way, c_0 packed in pool memory (lib/pool.h), and the pass
 * expands an input only when the schedule first reads it (nn/ooc.h plans the loads), releasing
 * its upload form then. In one process this holds the peak below that of `beaa infer`, which
 * reads its inputs from the file when first needed, instead of every input whole from the start
 * (the main job, N = 2^15: planned 2.96 GiB against 4.0 GiB). The logits are bit for bit those of
 * beaa_nn_forward on the ciphertexts of beaa_nn_pack_encrypt (same randomness, same engine). */
#ifndef BEAA_NN_UPLOAD_H
#define BEAA_NN_UPLOAD_H
#include <stddef.h>
#include "lib/status.h"
#include "ckks/ckks.h"
#include "nn/fold.h"
#include "nn/forward.h"
#include "nn/quant.h"

typedef struct beaa_nn_upload beaa_nn_upload;

/* Encrypts n images x[i*el + e] into an upload of el positions, as beaa_nn_pack_encrypt does
 * (position e holds pixel e of every image, image j in slot j; `level`, `scale`; the same
 * randomness per position). *out owned by the caller (beaa_nn_upload_free; NULL on error).
 * OpenMP over positions. Errors: those of beaa_nn_pack_encrypt. */
BEAA_MUST_CHECK beaa_status beaa_nn_upload_encrypt(const beaa_ckks_secret_key *sk, const double *x,
                                                   size_t n, size_t el, unsigned level,
                                                   double scale, beaa_nn_upload **out);

/* Positions of the upload, and those not yet taken. */
size_t beaa_nn_upload_positions(const beaa_nn_upload *u);
size_t beaa_nn_upload_pending(const beaa_nn_upload *u);
/* Bytes the upload holds now (c_0 of every position not yet taken). */
size_t beaa_nn_upload_bytes(const beaa_nn_upload *u);
/* Bytes of one position's c_0 as an upload holds it, at `level` of ctx: its limbs bit-packed to
 * their primes' sizes, as the ciphertext files store them (50 of every 64 bits at the main
 * job's primes). */
size_t beaa_nn_upload_c0_bytes(const beaa_ckks_context *ctx, unsigned level);

/* Position e as a new ciphertext in *ct (c_0 copied, c_1 expanded from its seed: has_seed set,
 * NTT form), the upload form released. Calls for distinct positions may run at once.
 * Errors: BEAA_ERR_ARG (u or ct NULL, e out of range, or e already taken), BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_nn_upload_take(beaa_nn_upload *u, size_t e,
                                                beaa_ckks_ciphertext **ct);

/* Frees the upload (NULL allowed), with every position not taken. */
void beaa_nn_upload_free(beaa_nn_upload *u);

/* The encrypted pass (beaa_nn_forward) on an upload of the network's C*H*W inputs, each taken
 * when the schedule first reads it (the inputs of a group expanded in parallel); an input no
 * group reads is never taken. logits, rk, opts, stats as for beaa_nn_forward (stats->io_s: the
 * seconds spent expanding inputs). The upload is consumed as the pass goes (also on error: what
 * is left is freed by beaa_nn_upload_free).
 * Errors: those of beaa_nn_forward (BEAA_ERR_ARG also for an upload with positions already
 * taken, or of another size than the network's input). */
BEAA_MUST_CHECK beaa_status beaa_nn_forward_upload(const beaa_nn_net *net, const beaa_nn_qnet *qn,
                                                   const beaa_ckks_relin_key *rk,
                                                   beaa_nn_upload *u, beaa_ckks_ciphertext **logits,
                                                   const beaa_nn_forward_opts *opts,
                                                   beaa_nn_forward_stats *stats);
#endif
