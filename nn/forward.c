/* forward.c - the encrypted BEAA forward pass in one process with every input resident (see
 * forward.h): the engine of nn/exec.h runs every group in the wavefront order of
 * nn/schedule.h. */
#include "nn/forward.h"
#include "nn/clock_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "nn/exec.h"
#include "nn/schedule.h"

beaa_status beaa_nn_forward(const beaa_nn_net *net, const beaa_nn_qnet *qn,
                            const beaa_ckks_relin_key *rk, beaa_ckks_ciphertext **in,
                            beaa_ckks_ciphertext **logits, const beaa_nn_forward_opts *opts,
                            beaa_nn_forward_stats *stats)
{
    if (!net || !qn || !in || !logits) return BEAA_ERR_ARG;
    size_t nin0 = (size_t)net->in_c * net->in_h * net->in_w;
    beaa_status err = BEAA_OK;
    const beaa_ckks_context *ctx = NULL;
    const unsigned L = net->nstages;
    beaa_nn_schedule *sc = NULL;
    beaa_nn_exec *ex = NULL;

    for (uint32_t k = 0; k < net->num_classes; k++) logits[k] = NULL;
    if (!rk) { err = BEAA_ERR_NO_KEY; goto done; }
    if (qn->nstages != net->nstages || L == 0 || L > BEAA_NN_MAX_STAGES) { err = BEAA_ERR_ARG; goto done; }
    for (size_t i = 0; i < nin0; i++) {
        if (!in[i]) { err = BEAA_ERR_ARG; goto done; }
        if (!ctx) ctx = in[i]->ctx;
        if (in[i]->ctx != ctx) { err = BEAA_ERR_PARAMS_MISMATCH; goto done; }
        if (in[i]->size != 2 || !in[i]->ntt_form) { err = BEAA_ERR_SIZE; goto done; }
        if (in[i]->level != net->nstages) { err = BEAA_ERR_LEVEL_MISMATCH; goto done; }
        if (fabs(in[i]->scale / qn->in_scale - 1.0) > 1e-9) { err = BEAA_ERR_SCALE_MISMATCH; goto done; }
    }
    if (beaa_ckks_context_max_level(ctx) != net->nstages ||
        rk->key.ctx != ctx) { err = BEAA_ERR_PARAMS_MISMATCH; goto done; }

    double t_all = beaa_nn_now_s();
    if (stats) { memset(stats, 0, sizeof *stats); stats->nstages = L; }
    err = beaa_nn_schedule_make(net, &sc);
    if (err == BEAA_OK)
        err = beaa_nn_exec_new(net, qn, rk, sc, NULL, opts ? opts->threads : 0, NULL, NULL, &ex);
    if (err != BEAA_OK) goto done;
    for (size_t i = 0; i < nin0; i++) {
        beaa_ckks_ciphertext *ct = in[i];
        in[i] = NULL;
        /* an input no group reads (a border no later layer uses) is simply freed */
        if (beaa_nn_exec_uses(ex, 0, i) <= 0) { beaa_ckks_ciphertext_free(ct); continue; }
        if (err == BEAA_OK) err = beaa_nn_exec_put(ex, 0, i, ct);
        else beaa_ckks_ciphertext_free(ct);
    }
    for (size_t k = 0; k < sc->nsteps && err == BEAA_OK; k++) {
        uint32_t si = sc->step_stage[k];
        err = beaa_nn_exec_run(ex, si, sc->step_group[k]);
        if (err == BEAA_OK && opts && opts->progress) opts->progress(opts->user, si, L, k + 1, sc->nsteps);
    }
    for (uint32_t k = 0; k < net->num_classes && err == BEAA_OK; k++) {
        err = beaa_nn_exec_take_logit(ex, k, &logits[k]);
        if (err != BEAA_OK) err = BEAA_ERR_INTERNAL;
    }
    if (err != BEAA_OK)
        for (uint32_t k = 0; k < net->num_classes; k++) {
            beaa_ckks_ciphertext_free(logits[k]);
            logits[k] = NULL;
        }
    if (stats && ex) {
        beaa_nn_exec_stats(ex, stats);
        stats->total_s = beaa_nn_now_s() - t_all;
    }
done:
    for (size_t i = 0; i < nin0; i++) { beaa_ckks_ciphertext_free(in[i]); in[i] = NULL; }
    beaa_nn_exec_free(ex);
    beaa_nn_schedule_free(sc);
    return err;
}
