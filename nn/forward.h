/* forward.h - the encrypted BEAA forward pass (server side, element-wise packing).
 * Each group of output positions (a pooling window, or two neighbours in a row) gets its x and u
 * from the exact integer linear map and z = x*u summed over the window in the same pass (x and u
 * stay in cache, nn/group.c), then z relinearized and rescaled once. Groups of all stages run interleaved in the wavefront order of
 * nn/schedule.h, and every ciphertext is freed after its last use: only bands of rows of each
 * feature map are ever resident, and the network inputs go as the first convolution passes.
 * nn/upload.h runs the same pass on inputs held as the client sends them (c_0 and a seed: half
 * the bytes), each expanded when first read: the same logits at a quarter less peak memory. */
#ifndef BEAA_NN_FORWARD_H
#define BEAA_NN_FORWARD_H
#include <stddef.h>
#include "lib/status.h"
#include "ckks/ckks.h"
#include "nn/fold.h"
#include "nn/quant.h"

#define BEAA_NN_MAX_STAGES 48

/* Progress: called from the calling thread after each group: si is the stage of the group just
 * finished (of nstages), done of total the groups finished over the whole pass. */
typedef void (*beaa_nn_progress_fn)(void *user, unsigned si, unsigned nstages, size_t done,
                                    size_t total);

typedef struct beaa_nn_forward_opts {
    int threads;                    /* 0: beaa_cpu_threads() (BEAA_THREADS) */
    beaa_nn_progress_fn progress;   /* may be NULL */
    void *user;
} beaa_nn_forward_opts;

/* Seconds spent, per stage: total; in the pass of the integer linear maps and the ciphertext
 * products summed over the pooling windows (one pass: nn/group.c); in relinearize+rescale; the
 * whole pass; and (out of core, nn/ooc.h) in loading, spilling and reloading. */
typedef struct beaa_nn_forward_stats {
    unsigned nstages;
    double stage_s[BEAA_NN_MAX_STAGES];
    double linear_s[BEAA_NN_MAX_STAGES];
    double act_s[BEAA_NN_MAX_STAGES];
    size_t key_switches[BEAA_NN_MAX_STAGES];  /* relinearizations (each with a rescale) */
    double total_s;
    double io_s;
} beaa_nn_forward_stats;

/* Runs the encrypted pass. in: the C*H*W input ciphertexts (element (c,h,w) at index
 * (c*H+h)*W+w, size 2, level L = net->nstages, scale qn->in_scale); OWNERSHIP IS TAKEN: every
 * in[i] is freed (and set to NULL) during the pass, also on error. logits: num_classes pointers,
 * set to new ciphertexts (level 0) that decrypt to the logits of every image (slot j = image j);
 * owned by the caller. rk: the relinearization key (the server needs no other key).
 * Results are identical for any thread count. stats may be NULL.
 * OpenBLAS: the pass calls dgemm from its own threads and sets OpenBLAS to one thread
 * (openblas_set_num_threads(1)) while it runs; the previous value (openblas_get_num_threads) is
 * restored before returning, on success and on every error. The setting is process-wide: BLAS
 * calls made by other threads of the process during the pass run single-threaded, and two passes
 * started concurrently from different threads may leave the count at 1 (start them from one
 * thread, or set the count yourself afterwards).
 * Errors: BEAA_ERR_ARG, BEAA_ERR_PARAMS_MISMATCH (inputs of another context), BEAA_ERR_LEVEL_MISMATCH
 * (inputs not at level L), BEAA_ERR_SCALE_MISMATCH (input scale differs from the plan),
 * BEAA_ERR_SIZE, BEAA_ERR_NO_KEY (rk NULL), BEAA_ERR_NOMEM, evaluator errors. */
BEAA_MUST_CHECK beaa_status beaa_nn_forward(const beaa_nn_net *net, const beaa_nn_qnet *qn,
                                            const beaa_ckks_relin_key *rk,
                                            beaa_ckks_ciphertext **in, beaa_ckks_ciphertext **logits,
                                            const beaa_nn_forward_opts *opts,
                                            beaa_nn_forward_stats *stats);

#endif
