/* group.h - one group of a stage on ciphertexts, the engine's step (nn/exec.h): the group's
 * exact integer linear maps and ciphertext products in one pass, their sums over the pooling
 * windows, and the key switches (one per unit; with raw inputs, nn/fold.h, one per row). */
#ifndef BEAA_NN_GROUP_H
#define BEAA_NN_GROUP_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"
#include "ckks/ckks.h"
#include "nn/fold.h"
#include "nn/quant.h"

/* One group's blocks (the quantized ones, qs->blocks) and outputs (output indices of the stage),
 * as beaa_nn_sched_group_blocks visits them. */
typedef struct beaa_nn_group {
    const beaa_nn_stage *s;
    const beaa_nn_qstage *qs;
    beaa_nn_linblock *gb;
    int32_t *gout;
    size_t ngb, ngo;
} beaa_nn_group;

/* Runs group gc of a stage at level lvl (its products' level) on the stage's inputs in[] (every
 * input its blocks read present; D the scale between stages). Per output, z = x*u, summed over
 * the pooling window into a unit (an output channel when pooled, else the output), relinearized
 * and rescaled once (one rounding division by P*q) into a new ciphertext at lvl - 1 that goes to
 * out[pidx_of[o]] (dropped, and not computed, when no later block reads it: pidx_of[o] < 0 or
 * want[pidx] <= 0, want NULL: all wanted); raw_out (the next stage takes raw inputs): the sum
 * itself goes there, size 3 at lvl. A stage with raw inputs first makes its rows as ciphertexts
 * and relinearizes and rescales each. Times: linear maps and products added to *lin_s, key
 * switches to *ks_s, their count to *nks. Errors: evaluator errors, BEAA_ERR_NOMEM; out[] then
 * holds what was made. */
BEAA_MUST_CHECK beaa_status beaa_nn_group_run(const beaa_ckks_context *ctx, const beaa_nn_group *gc,
                                              double D, const int32_t *pidx_of,
                                              beaa_ckks_ciphertext *const *in,
                                              const beaa_ckks_relin_key *rk, unsigned lvl,
                                              beaa_ckks_ciphertext **out, const int32_t *want,
                                              int raw_out, int threads, double *lin_s,
                                              double *ks_s, size_t *nks);

#endif
