/* forward.c - the encrypted BEAA forward pass (see forward.h). Linear maps: exact integer GEMM
 * over (polynomial, limb, coefficient range) tasks in parallel; activations: one ct x ct
 * multiply, relinearization and a single rescale per activated element, in parallel over
 * output channels; pooling: sums of ciphertexts in a fixed order (thread-count independent). */
#include "nn/forward.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lib/cpu.h"

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

beaa_status beaa_nn_forward(const beaa_nn_net *net, const beaa_nn_qnet *qn,
                            const beaa_ckks_relin_key *rk, beaa_ckks_ciphertext **in,
                            beaa_ckks_ciphertext **logits, const beaa_nn_forward_opts *opts,
                            beaa_nn_forward_stats *stats)
{
    if (!net || !qn || !in || !logits) return BEAA_ERR_ARG;
    size_t nin0 = (size_t)net->in_c * net->in_h * net->in_w;
    beaa_status err = BEAA_OK;
    beaa_ckks_ciphertext **cur = in, **next = NULL, **xu = NULL;
    size_t ncur = nin0;
    const beaa_ckks_context *ctx = NULL;
    int32_t *uses = NULL, *order = NULL, *gstart = NULL, *bstart = NULL;
    beaa_nn_linblock *gb = NULL;
    int32_t *gout = NULL;
    int blas_prev = 0; /* the caller's OpenBLAS thread count, restored at done (0: not changed) */

    for (uint32_t k = 0; k < net->num_classes; k++) logits[k] = NULL;
    if (!rk) { err = BEAA_ERR_NO_KEY; goto done; }
    if (qn->nstages != net->nstages || net->nstages > BEAA_NN_MAX_STAGES) { err = BEAA_ERR_ARG; goto done; }
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
    const size_t N = beaa_ckks_context_n(ctx);
    const unsigned L = net->nstages;
    size_t nch = N >= 8 * 512 ? 8 : 1;
    size_t span = N / nch;
    double t_all = now_s();
    if (stats) { memset(stats, 0, sizeof *stats); stats->nstages = L; }

    for (uint32_t si = 0; si < L && err == BEAA_OK; si++) {
        const beaa_nn_stage *s = &net->stages[si];
        const beaa_nn_qstage *qs = &qn->stages[si];
        const unsigned lvl = L - si;
        const size_t nin = (size_t)s->cin * s->hin * s->win, hw = (size_t)s->hout * s->wout;
        const size_t nout = qs->nout, np = beaa_nn_stage_out_count(s);
        double t0 = now_s(), tlin = 0, tact = 0;
        if (nin != ncur) { err = BEAA_ERR_INTERNAL; break; }
        next = calloc(np ? np : 1, sizeof *next);
        xu = calloc(2 * nout, sizeof *xu);
        uses = calloc(nin, sizeof *uses);
        order = malloc(sizeof(int32_t) * (hw + 1));
        gstart = malloc(sizeof(int32_t) * (hw + 2));
        bstart = malloc(sizeof(int32_t) * (hw + 1));
        gb = malloc(sizeof *gb * (qs->nblocks + 1));
        gout = malloc(sizeof(int32_t) * (nout + 1));
        if (!next || !xu || !uses || !order || !gstart || !bstart || !gb || !gout) {
            err = BEAA_ERR_NOMEM; break;
        }
        /* blocks of each position are consecutive (fold.c builds them position by position) */
        for (size_t p = 0; p <= hw; p++) bstart[p] = -1;
        for (uint32_t b = qs->nblocks; b-- > 0;) {
            size_t p = (size_t)s->blocks[b].out[0] % hw;
            bstart[p] = (int32_t)b;
        }
        for (uint32_t b = 0; b < qs->nblocks; b++)
            for (uint32_t c = 0; c < s->blocks[b].k; c++) uses[s->blocks[b].in[c]]++;
        for (size_t i = 0; i < nin; i++)
            if (uses[i] == 0) { beaa_ckks_ciphertext_free(cur[i]); cur[i] = NULL; }
        /* groups of positions: pooling windows, or runs of 2 positions */
        size_t ng = 0, no = 0;
        if (s->pool_kh) {
            for (uint32_t py = 0; py < s->ph; py++)
                for (uint32_t px = 0; px < s->pw; px++) {
                    gstart[ng] = (int32_t)no;
                    for (uint32_t i = 0; i < s->pool_kh; i++)
                        for (uint32_t j = 0; j < s->pool_kw; j++) {
                            size_t p = ((size_t)py * s->pool_kh + i) * s->wout + px * s->pool_kw + j;
                            if (s->need[p]) order[no++] = (int32_t)p;
                        }
                    if ((size_t)gstart[ng] < no) ng++;
                }
        } else {
            for (size_t p = 0; p < hw; p++) {
                if (!s->need[p]) continue;
                if (no % 2 == 0) gstart[ng++] = (int32_t)no;
                order[no++] = (int32_t)p;
            }
        }
        gstart[ng] = (int32_t)no;

        for (size_t g = 0; g < ng && err == BEAA_OK; g++) {
            double ta = now_s();
            /* the group's blocks and outputs */
            size_t ngb = 0, ngo = 0;
            for (int32_t oi = gstart[g]; oi < gstart[g + 1]; oi++) {
                size_t p = (size_t)order[oi];
                for (int32_t b = bstart[p]; b >= 0 && b < (int32_t)qs->nblocks &&
                     (size_t)s->blocks[b].out[0] % hw == p; b++) {
                    gb[ngb++] = qs->blocks[b];
                    for (uint32_t r = 0; r < s->blocks[b].m; r++) gout[ngo++] = s->blocks[b].out[r];
                }
            }
            for (size_t i = 0; i < ngo && err == BEAA_OK; i++) {
                err = beaa_ckks_ciphertext_new(ctx, 2, lvl, &xu[gout[i]]);
                if (err == BEAA_OK) err = beaa_ckks_ciphertext_new(ctx, 2, lvl, &xu[nout + gout[i]]);
            }
            if (err != BEAA_OK) break;
            /* linear maps: tasks over (poly, limb, coefficient range) */
            size_t ntask = 2 * (size_t)(lvl + 1) * nch;
            size_t wd = beaa_nn_linear_work_doubles(qs->kmax, qs->mmax);
#pragma omp parallel num_threads(threads)
            {
                double *work = malloc(sizeof(double) * wd);
                const uint64_t **ip = malloc(sizeof(uint64_t *) * (nin + 1));
                uint64_t **op = calloc(2 * nout + 1, sizeof(uint64_t *));
                if (!work || !ip || !op) set_err(&err, BEAA_ERR_NOMEM);
#pragma omp for schedule(dynamic, 1)
                for (size_t t = 0; t < ntask; t++) {
                    if (!work || !ip || !op) continue;
                    unsigned poly = (unsigned)(t / ((lvl + 1) * nch));
                    unsigned limb = (unsigned)((t / nch) % (lvl + 1));
                    size_t c = t % nch;
                    for (size_t i = 0; i < nin; i++)
                        ip[i] = cur[i] ? beaa_ckks_ct_limb(cur[i], poly, limb) : NULL;
                    for (size_t i = 0; i < ngo; i++) {
                        op[gout[i]] = beaa_ckks_ct_limb(xu[gout[i]], poly, limb);
                        op[nout + gout[i]] = beaa_ckks_ct_limb(xu[nout + gout[i]], poly, limb);
                    }
                    beaa_nn_linear_range(gb, ngb, op, ip, poly == 0,
                                         beaa_ckks_context_q(ctx, limb), c * span, (c + 1) * span,
                                         work);
                }
                free(work);
                free(ip);
                free(op);
            }
            for (size_t i = 0; i < ngo; i++) {
                xu[gout[i]]->scale = qs->sx[gout[i]];
                xu[nout + gout[i]]->scale = qs->su[gout[i]];
            }
            double tb = now_s();
            tlin += tb - ta;
            if (err != BEAA_OK) break;
            /* activation products and pooling; units: channels (pooled) or outputs */
            size_t nunits = s->pool_kh ? s->cout : ngo;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
            for (size_t un = 0; un < nunits; un++) {
                beaa_ckks_ciphertext *acc = NULL;
                size_t pidx = 0;
                for (size_t i = 0; i < ngo; i++) {
                    int32_t o = gout[i];
                    if (s->pool_kh && (size_t)o / hw != un) continue;
                    if (!s->pool_kh && i != un) continue;
                    /* tensor product only (size 3, scale Sx*Su = D*q); the window's sum is
                     * rescaled and relinearized once below (both are linear) */
                    beaa_ckks_ciphertext *z = NULL;
                    beaa_status st = BEAA_OK;
                    if (err == BEAA_OK) st = beaa_ckks_ciphertext_new(ctx, 3, lvl, &z);
                    if (st == BEAA_OK && err == BEAA_OK) st = beaa_ckks_mul(xu[o], xu[nout + o], z);
                    beaa_ckks_ciphertext_free(xu[o]);
                    beaa_ckks_ciphertext_free(xu[nout + o]);
                    xu[o] = xu[nout + o] = NULL;
                    if (st == BEAA_OK && z && err == BEAA_OK) {
                        if (!acc) { acc = z; z = NULL; }
                        else st = beaa_ckks_add(acc, z, acc);
                    }
                    beaa_ckks_ciphertext_free(z);
                    set_err(&err, st);
                    size_t p = (size_t)o % hw, c = (size_t)o / hw;
                    if (s->pool_kh)
                        pidx = (c * s->ph + (p / s->wout) / s->pool_kh) * s->pw + (p % s->wout) / s->pool_kw;
                    else
                        pidx = (size_t)o;
                }
                if (acc && err == BEAA_OK) {
                    /* relinearize before the rescale: the key-switching noise is then divided
                     * by q too (measured: 5-10x smaller logit errors than the other order) */
                    beaa_status st = beaa_ckks_relinearize(acc, rk, acc);
                    if (st == BEAA_OK) st = beaa_ckks_rescale(acc, acc);
                    set_err(&err, st);
                }
                if (acc) next[pidx] = acc;
            }
            tact += now_s() - tb;
            /* free inputs after their last use */
            for (size_t b = 0; b < ngb; b++)
                for (int32_t c = 0; c < gb[b].k; c++) {
                    int32_t i = gb[b].in[c];
                    if (--uses[i] == 0) { beaa_ckks_ciphertext_free(cur[i]); cur[i] = NULL; }
                }
            if (opts && opts->progress) opts->progress(opts->user, si, L, g + 1, ng);
        }
        for (size_t i = 0; i < nin; i++) { beaa_ckks_ciphertext_free(cur[i]); cur[i] = NULL; }
        for (size_t i = 0; i < 2 * nout; i++) beaa_ckks_ciphertext_free(xu[i]);
        free(xu); xu = NULL;
        if (cur != in) free(cur);
        cur = next;
        ncur = np;
        next = NULL;
        free(uses); free(order); free(gstart); free(bstart); free(gb); free(gout);
        uses = order = gstart = bstart = gout = NULL;
        gb = NULL;
        if (stats) {
            stats->stage_s[si] = now_s() - t0;
            stats->linear_s[si] = tlin;
            stats->act_s[si] = tact;
        }
    }
    if (err == BEAA_OK) {
        for (uint32_t k = 0; k < net->num_classes && err == BEAA_OK; k++) {
            if (!cur[k]) { err = BEAA_ERR_INTERNAL; break; }
            err = final_affine(cur[k], net->out_sc[k], net->out_tt[k]);
            if (err == BEAA_OK) { logits[k] = cur[k]; cur[k] = NULL; }
        }
        if (err != BEAA_OK)
            for (uint32_t k = 0; k < net->num_classes; k++) {
                beaa_ckks_ciphertext_free(logits[k]);
                logits[k] = NULL;
            }
    }
    if (stats) stats->total_s = now_s() - t_all;
done:
    if (cur) {
        for (size_t i = 0; i < ncur; i++) { beaa_ckks_ciphertext_free(cur[i]); cur[i] = NULL; }
        if (cur != in) free(cur);
    }
    free(next); /* only non-NULL (and empty) when a stage's allocation failed */
    free(xu);
    free(uses); free(order); free(gstart); free(bstart); free(gb); free(gout);
    if (blas_prev > 0) openblas_set_num_threads(blas_prev);
    return err;
}
