/* forward.c - the encrypted BEAA forward pass (see forward.h). It follows the wavefront order of
 * nn/schedule.h (groups of all stages interleaved, so only bands of rows are alive). Linear
 * maps: exact integer GEMM over (polynomial, limb, coefficient range) tasks in parallel;
 * activations: one ct x ct multiply per activated element and one relinearize+rescale per
 * output, in parallel over output channels; pooling: sums of ciphertexts in a fixed order
 * (thread-count independent). */
#include "nn/forward.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lib/cpu.h"
#include "nn/schedule.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void set_err(beaa_status *err, beaa_status st)
{
    if (st == BEAA_OK) return;
#pragma omp critical(beaa_nn_fwd_err)
    {
        if (*err == BEAA_OK) *err = st;
    }
}

/* Applies the final affine logits = sc * raw + tt to a level-0 ciphertext in place. */
static beaa_status final_affine(beaa_ckks_ciphertext *ct, double sc, double tt)
{
    beaa_status st;
    if (!(sc != 0) || !isfinite(sc)) return BEAA_ERR_MODEL;
    if (sc < 0) {
        st = beaa_ckks_negate(ct, ct);
        if (st != BEAA_OK) return st;
    }
    ct->scale = ct->scale / fabs(sc);
    return beaa_ckks_add_const(ct, tt, ct);
}

/* One group's blocks and outputs, gathered by beaa_nn_sched_group_blocks. */
typedef struct group_ctx {
    const beaa_nn_stage *s;
    const beaa_nn_qstage *qs;
    beaa_nn_linblock *gb;
    int32_t *gout;
    size_t ngb, ngo;
} group_ctx;

static void group_visit(void *user, uint32_t b)
{
    group_ctx *g = user;
    g->gb[g->ngb++] = g->qs->blocks[b];
    for (uint32_t r = 0; r < g->s->blocks[b].m; r++) g->gout[g->ngo++] = g->s->blocks[b].out[r];
}

/* Per-stage state of the pass. */
typedef struct stage_state {
    beaa_ckks_ciphertext **in;   /* the stage's inputs (stage 0: the caller's array) */
    int32_t *uses;               /* remaining reads of each input */
    beaa_ckks_ciphertext **xu;   /* 2*nout: x and u of the running group */
    beaa_nn_linblock *gb;        /* the running group's blocks */
    int32_t *gout;               /* and outputs */
} stage_state;

/* The linear maps of one group: x and u of every output, exact integer GEMM over (polynomial,
 * limb, coefficient range) tasks. */
static beaa_status group_linear(const beaa_ckks_context *ctx, const beaa_nn_stage *s,
                                const beaa_nn_qstage *qs, stage_state *t, const group_ctx *gc,
                                unsigned lvl, int threads)
{
    const size_t N = beaa_ckks_context_n(ctx), nin = (size_t)s->cin * s->hin * s->win;
    const size_t nout = qs->nout, nch = N >= 8 * 512 ? 8 : 1, span = N / nch;
    beaa_status err = BEAA_OK;
    for (size_t i = 0; i < gc->ngo && err == BEAA_OK; i++) {
        err = beaa_ckks_ciphertext_new_uninit(ctx, 2, lvl, &t->xu[gc->gout[i]]);
        if (err == BEAA_OK) err = beaa_ckks_ciphertext_new_uninit(ctx, 2, lvl, &t->xu[nout + gc->gout[i]]);
    }
    if (err != BEAA_OK) return err;
    size_t ntask = 2 * (size_t)(lvl + 1) * nch;
    size_t wd = beaa_nn_linear_work_doubles(qs->kmax, qs->mmax);
#pragma omp parallel num_threads(threads)
    {
        double *work = malloc(sizeof(double) * wd);
        const uint64_t **ip = malloc(sizeof(uint64_t *) * (nin + 1));
        uint64_t **op = calloc(2 * nout + 1, sizeof(uint64_t *));
        if (!work || !ip || !op) set_err(&err, BEAA_ERR_NOMEM);
#pragma omp for schedule(dynamic, 1)
        for (size_t k = 0; k < ntask; k++) {
            if (!work || !ip || !op) continue;
            unsigned poly = (unsigned)(k / ((lvl + 1) * nch));
            unsigned limb = (unsigned)((k / nch) % (lvl + 1));
            size_t c = k % nch;
            for (size_t i = 0; i < nin; i++)
                ip[i] = t->in[i] ? beaa_ckks_ct_limb(t->in[i], poly, limb) : NULL;
            for (size_t i = 0; i < gc->ngo; i++) {
                op[gc->gout[i]] = beaa_ckks_ct_limb(t->xu[gc->gout[i]], poly, limb);
                op[nout + gc->gout[i]] = beaa_ckks_ct_limb(t->xu[nout + gc->gout[i]], poly, limb);
            }
            beaa_nn_linear_range(gc->gb, gc->ngb, op, ip, poly == 0, beaa_ckks_context_q(ctx, limb),
                                 c * span, (c + 1) * span, work);
        }
        free(work);
        free(ip);
        free(op);
    }
    for (size_t i = 0; i < gc->ngo; i++) {
        t->xu[gc->gout[i]]->scale = qs->sx[gc->gout[i]];
        t->xu[nout + gc->gout[i]]->scale = qs->su[gc->gout[i]];
    }
    return err;
}

/* The products of one group: z = x*u per output, summed over the pooling window, relinearized
 * and rescaled once (one rounding division by P*q) into a new ciphertext at lvl - 1 that goes to
 * out[pidx] (or is dropped when no later block reads it: want[pidx] == 0). Units are output
 * channels (pooled) or single outputs; threads take units. */
static beaa_status group_products(const beaa_ckks_context *ctx, const beaa_nn_stage *s,
                                  const beaa_nn_qstage *qs, const beaa_nn_sched_stage *ts,
                                  stage_state *t, const group_ctx *gc,
                                  const beaa_ckks_relin_key *rk, unsigned lvl,
                                  beaa_ckks_ciphertext **out, const int32_t *want, int threads)
{
    const size_t hw = (size_t)s->hout * s->wout, nout = qs->nout;
    size_t nunits = s->pool_kh ? s->cout : gc->ngo;
    beaa_status err = BEAA_OK;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (size_t un = 0; un < nunits; un++) {
        beaa_ckks_ciphertext *acc = NULL, *res = NULL;
        int32_t pidx = -1;
        beaa_status st = BEAA_OK;
        for (size_t i = 0; i < gc->ngo; i++) {
            int32_t o = gc->gout[i];
            if (s->pool_kh ? (size_t)o / hw != un : i != un) continue;
            pidx = ts->pidx[o];
            beaa_ckks_ciphertext *x = t->xu[o], *u = t->xu[nout + o];
            if (st == BEAA_OK && err == BEAA_OK) {
                if (!s->pool_kh) {
                    /* a single output: the fused multiply + relinearize + rescale */
                    st = beaa_ckks_ciphertext_new_uninit(ctx, 2, lvl - 1, &res);
                    if (st == BEAA_OK) st = beaa_ckks_mul_relin_rescale(x, u, rk, res);
                } else if (!acc) {
                    st = beaa_ckks_ciphertext_new_uninit(ctx, 3, lvl, &acc);
                    if (st == BEAA_OK) st = beaa_ckks_mul(x, u, acc);
                } else {
                    /* tensor product only (size 3); the window's sum is relinearized and
                     * rescaled once below (both are linear) */
                    beaa_ckks_ciphertext *z = NULL;
                    st = beaa_ckks_ciphertext_new_uninit(ctx, 3, lvl, &z);
                    if (st == BEAA_OK) st = beaa_ckks_mul(x, u, z);
                    if (st == BEAA_OK) st = beaa_ckks_add(acc, z, acc);
                    beaa_ckks_ciphertext_free(z);
                }
            }
            beaa_ckks_ciphertext_free(x);
            beaa_ckks_ciphertext_free(u);
            t->xu[o] = t->xu[nout + o] = NULL;
        }
        if (acc && st == BEAA_OK && err == BEAA_OK) {
            /* relinearize before (with) the rescale: the key-switching noise is then divided by
             * q too (measured: 5-10x smaller logit errors than rescale-then-relinearize) */
            st = beaa_ckks_ciphertext_new_uninit(ctx, 2, lvl - 1, &res);
            if (st == BEAA_OK) st = beaa_ckks_relin_rescale(acc, rk, res);
        }
        beaa_ckks_ciphertext_free(acc);
        set_err(&err, st);
        if (res && st == BEAA_OK && pidx >= 0 && (!want || want[pidx] > 0)) out[pidx] = res;
        else beaa_ckks_ciphertext_free(res);
    }
    return err;
}

static void stage_state_free(stage_state *t, size_t nin, size_t nxu, int own_in)
{
    if (t->in) {
        for (size_t i = 0; i < nin; i++) { beaa_ckks_ciphertext_free(t->in[i]); t->in[i] = NULL; }
        if (own_in) free(t->in);
    }
    if (t->xu) for (size_t i = 0; i < nxu; i++) beaa_ckks_ciphertext_free(t->xu[i]);
    free(t->xu);
    free(t->uses);
    free(t->gb);
    free(t->gout);
}

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
    stage_state *t = NULL;
    beaa_ckks_ciphertext **outs = NULL;   /* the last stage's (pooled) outputs */
    size_t nlast = 0;
    beaa_nn_schedule *sc = NULL;
    int blas_prev = 0; /* the caller's OpenBLAS thread count, restored at done (0: not changed) */

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

    int threads = opts && opts->threads > 0 ? opts->threads : beaa_cpu_threads();
    if (threads < 1) threads = 1;
    /* each task runs dgemm from its own thread: OpenBLAS single-threaded inside; this setting is
     * process-wide, so the caller's value is put back on every path out (at done) */
    blas_prev = openblas_get_num_threads();
    if (blas_prev < 1) blas_prev = 1;
    openblas_set_num_threads(1);
    double t_all = now_s();
    if (stats) { memset(stats, 0, sizeof *stats); stats->nstages = L; }

    err = beaa_nn_schedule_make(net, &sc);
    if (err != BEAA_OK) goto done;
    t = calloc(L, sizeof *t);
    nlast = beaa_nn_stage_out_count(&net->stages[L - 1]);
    outs = calloc(nlast ? nlast : 1, sizeof *outs);
    if (!t || !outs) { err = BEAA_ERR_NOMEM; goto done; }
    for (uint32_t si = 0; si < L && err == BEAA_OK; si++) {
        const beaa_nn_stage *s = &net->stages[si];
        const beaa_nn_qstage *qs = &qn->stages[si];
        size_t nin = (size_t)s->cin * s->hin * s->win;
        if (si > 0 && nin != beaa_nn_stage_out_count(&net->stages[si - 1])) { err = BEAA_ERR_INTERNAL; break; }
        t[si].in = si == 0 ? in : calloc(nin ? nin : 1, sizeof *t[si].in);
        t[si].uses = malloc(sizeof(int32_t) * (nin + 1));
        t[si].xu = calloc(2 * qs->nout + 1, sizeof *t[si].xu);
        t[si].gb = malloc(sizeof *t[si].gb * (qs->nblocks + 1));
        t[si].gout = malloc(sizeof(int32_t) * (qs->nout + 1));
        if (!t[si].in || !t[si].uses || !t[si].xu || !t[si].gb || !t[si].gout) { err = BEAA_ERR_NOMEM; break; }
        memcpy(t[si].uses, sc->stages[si].uses, sizeof(int32_t) * nin);
    }
    if (err != BEAA_OK) goto done;
    /* network inputs that no block reads */
    for (size_t i = 0; i < nin0; i++)
        if (t[0].uses[i] == 0) { beaa_ckks_ciphertext_free(in[i]); in[i] = NULL; }

    for (size_t k = 0; k < sc->nsteps && err == BEAA_OK; k++) {
        uint32_t si = sc->step_stage[k], g = sc->step_group[k];
        const beaa_nn_stage *s = &net->stages[si];
        const beaa_nn_qstage *qs = &qn->stages[si];
        const unsigned lvl = L - si;
        group_ctx gc = { s, qs, t[si].gb, t[si].gout, 0, 0 };
        beaa_nn_sched_group_blocks(net, sc, si, g, group_visit, &gc);
        double ta = now_s();
        err = group_linear(ctx, s, qs, &t[si], &gc, lvl, threads);
        double tb = now_s();
        if (err == BEAA_OK)
            err = group_products(ctx, s, qs, &sc->stages[si], &t[si], &gc, rk, lvl,
                                 si + 1 < L ? t[si + 1].in : outs, si + 1 < L ? t[si + 1].uses : NULL,
                                 threads);
        double tc = now_s();
        /* free inputs after their last use */
        for (size_t b = 0; b < gc.ngb; b++)
            for (int32_t c = 0; c < gc.gb[b].k; c++) {
                int32_t i = gc.gb[b].in[c];
                if (--t[si].uses[i] == 0) { beaa_ckks_ciphertext_free(t[si].in[i]); t[si].in[i] = NULL; }
            }
        if (stats) {
            stats->linear_s[si] += tb - ta;
            stats->act_s[si] += tc - tb;
            stats->stage_s[si] += now_s() - ta;
        }
        if (opts && opts->progress) opts->progress(opts->user, si, L, k + 1, sc->nsteps);
    }
    if (err == BEAA_OK) {
        if (nlast != net->num_classes) err = BEAA_ERR_INTERNAL;
        for (uint32_t k = 0; k < net->num_classes && err == BEAA_OK; k++) {
            if (!outs[k]) { err = BEAA_ERR_INTERNAL; break; }
            err = final_affine(outs[k], net->out_sc[k], net->out_tt[k]);
            if (err == BEAA_OK) { logits[k] = outs[k]; outs[k] = NULL; }
        }
        if (err != BEAA_OK)
            for (uint32_t k = 0; k < net->num_classes; k++) {
                beaa_ckks_ciphertext_free(logits[k]);
                logits[k] = NULL;
            }
    }
    if (stats) stats->total_s = now_s() - t_all;
done:
    if (t) {
        for (uint32_t si = 0; si < L; si++) {
            const beaa_nn_stage *s = &net->stages[si];
            stage_state_free(&t[si], (size_t)s->cin * s->hin * s->win, 2 * qn->stages[si].nout, si > 0);
        }
        free(t);
    } else {
        for (size_t i = 0; i < nin0; i++) { beaa_ckks_ciphertext_free(in[i]); in[i] = NULL; }
    }
    if (outs)
        for (size_t i = 0; i < nlast; i++) beaa_ckks_ciphertext_free(outs[i]);
    free(outs);
    beaa_nn_schedule_free(sc);
    if (blas_prev > 0) openblas_set_num_threads(blas_prev);
    return err;
}
