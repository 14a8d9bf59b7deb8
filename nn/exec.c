/* exec.c - the encrypted pass one group at a time (see exec.h). Linear maps: exact integer GEMM
 * over (polynomial, limb, coefficient range) tasks in parallel; activations: one ct x ct multiply
 * per activated element and one relinearize+rescale per output, in parallel over output
 * channels; pooling: sums of ciphertexts in a fixed order (thread-count independent). */
#include "nn/exec.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lib/cpu.h"
#include "nn/plan.h"

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
    beaa_ckks_ciphertext **in;   /* the stage's inputs present (NULL: absent) */
    int32_t *uses;               /* remaining reads of each input by own groups */
    beaa_ckks_ciphertext **xu;   /* 2*nout: x and u of the running group */
    beaa_nn_linblock *gb;        /* the running group's blocks */
    int32_t *gout;               /* and outputs */
    uint8_t *pending;            /* ngroups: 1 = own group not run yet */
    uint8_t *made;               /* outputs (next stage inputs) already produced */
    size_t nin;
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

struct beaa_nn_exec {
    const beaa_nn_net *net;
    const beaa_nn_qnet *qn;
    const beaa_ckks_relin_key *rk;
    const beaa_nn_schedule *sc;
    const beaa_ckks_context *ctx;
    int threads, failed;
    beaa_nn_exec_output_fn output;
    void *user;
    uint32_t L;
    stage_state *t;
    beaa_ckks_ciphertext **logits;  /* num_classes */
    size_t live;                    /* bytes of the ciphertexts held */
    beaa_nn_forward_stats stats;
};

static size_t ct_bytes(const beaa_nn_exec *ex, unsigned level)
{
    return beaa_nn_ct_bytes(beaa_ckks_context_log_n(ex->ctx), 2, level);
}

typedef struct use_ctx {
    const beaa_nn_stage *s;
    int32_t *uses;
} use_ctx;

static void use_visit(void *user, uint32_t b)
{
    use_ctx *u = user;
    const beaa_nn_fblock *bl = &u->s->blocks[b];
    for (uint32_t c = 0; c < bl->k; c++) u->uses[bl->in[c]]++;
}

void beaa_nn_exec_free(beaa_nn_exec *ex)
{
    if (!ex) return;
    if (ex->t)
        for (uint32_t si = 0; si < ex->L; si++) {
            stage_state *t = &ex->t[si];
            if (t->in)
                for (size_t i = 0; i < t->nin; i++) beaa_ckks_ciphertext_free(t->in[i]);
            if (t->xu)
                for (size_t i = 0; i < 2 * ex->qn->stages[si].nout; i++) beaa_ckks_ciphertext_free(t->xu[i]);
            free(t->in);
            free(t->xu);
            free(t->uses);
            free(t->gb);
            free(t->gout);
            free(t->pending);
            free(t->made);
        }
    free(ex->t);
    if (ex->logits)
        for (uint32_t k = 0; k < ex->net->num_classes; k++) beaa_ckks_ciphertext_free(ex->logits[k]);
    free(ex->logits);
    free(ex);
}

beaa_status beaa_nn_exec_new(const beaa_nn_net *net, const beaa_nn_qnet *qn,
                             const beaa_ckks_relin_key *rk, const beaa_nn_schedule *sc,
                             const uint8_t *const *own, int threads,
                             beaa_nn_exec_output_fn output, void *user, beaa_nn_exec **out)
{
    if (!out) return BEAA_ERR_ARG;
    *out = NULL;
    if (!net || !qn || !sc) return BEAA_ERR_ARG;
    if (!rk) return BEAA_ERR_NO_KEY;
    const uint32_t L = net->nstages;
    if (qn->nstages != L || sc->nstages != L || L == 0 || L > BEAA_NN_MAX_STAGES) return BEAA_ERR_ARG;
    if (beaa_ckks_context_max_level(rk->key.ctx) != L) return BEAA_ERR_PARAMS_MISMATCH;
    beaa_nn_exec *ex = calloc(1, sizeof *ex);
    if (!ex) return BEAA_ERR_NOMEM;
    ex->net = net; ex->qn = qn; ex->rk = rk; ex->sc = sc; ex->ctx = rk->key.ctx;
    ex->threads = threads > 0 ? threads : beaa_cpu_threads();
    if (ex->threads < 1) ex->threads = 1;
    ex->output = output;
    ex->user = user;
    ex->L = L;
    ex->stats.nstages = L;
    ex->t = calloc(L, sizeof *ex->t);
    ex->logits = calloc(net->num_classes ? net->num_classes : 1, sizeof *ex->logits);
    beaa_status st = ex->t && ex->logits ? BEAA_OK : BEAA_ERR_NOMEM;
    if (st == BEAA_OK && beaa_nn_stage_out_count(&net->stages[L - 1]) != net->num_classes) st = BEAA_ERR_ARG;
    for (uint32_t si = 0; si < L && st == BEAA_OK; si++) {
        const beaa_nn_stage *s = &net->stages[si];
        const beaa_nn_qstage *qs = &qn->stages[si];
        stage_state *t = &ex->t[si];
        size_t nin = (size_t)s->cin * s->hin * s->win, nnext = beaa_nn_stage_out_count(s);
        if (si > 0 && nin != beaa_nn_stage_out_count(&net->stages[si - 1])) { st = BEAA_ERR_ARG; break; }
        t->nin = nin;
        t->in = calloc(nin + 1, sizeof *t->in);
        t->uses = calloc(nin + 1, sizeof(int32_t));
        t->xu = calloc(2 * qs->nout + 1, sizeof *t->xu);
        t->gb = malloc(sizeof *t->gb * (qs->nblocks + 1));
        t->gout = malloc(sizeof(int32_t) * (qs->nout + 1));
        t->pending = calloc(sc->stages[si].ngroups + 1, 1);
        t->made = calloc(nnext + 1, 1);
        if (!t->in || !t->uses || !t->xu || !t->gb || !t->gout || !t->pending || !t->made) {
            st = BEAA_ERR_NOMEM;
            break;
        }
        use_ctx u = { s, t->uses };
        for (uint32_t g = 0; g < sc->stages[si].ngroups; g++) {
            if (own && !own[si][g]) continue;
            t->pending[g] = 1;
            beaa_nn_sched_group_blocks(net, sc, si, g, use_visit, &u);
        }
    }
    if (st != BEAA_OK) { beaa_nn_exec_free(ex); return st; }
    *out = ex;
    return BEAA_OK;
}

int32_t beaa_nn_exec_uses(const beaa_nn_exec *ex, uint32_t si, size_t idx)
{
    if (!ex || si >= ex->L || idx >= ex->t[si].nin) return 0;
    return ex->t[si].uses[idx];
}

int beaa_nn_exec_has(const beaa_nn_exec *ex, uint32_t si, size_t idx)
{
    if (!ex || si >= ex->L || idx >= ex->t[si].nin) return 0;
    return ex->t[si].in[idx] != NULL;
}

typedef struct miss_ctx {
    const beaa_nn_exec *ex;
    uint32_t si;
    void (*fn)(void *user, size_t idx);
    void *user;
    int all;
} miss_ctx;

static void miss_visit(void *user, uint32_t b)
{
    miss_ctx *m = user;
    const beaa_nn_fblock *bl = &m->ex->net->stages[m->si].blocks[b];
    beaa_ckks_ciphertext **in = m->ex->t[m->si].in;
    for (uint32_t c = 0; c < bl->k; c++)
        if (!in[bl->in[c]]) {
            m->all = 0;
            if (m->fn) m->fn(m->user, (size_t)bl->in[c]);
        }
}

void beaa_nn_exec_missing(const beaa_nn_exec *ex, uint32_t si, uint32_t g,
                          void (*fn)(void *user, size_t idx), void *user)
{
    if (!ex || si >= ex->L || g >= ex->sc->stages[si].ngroups) return;
    miss_ctx m = { ex, si, fn, user, 1 };
    beaa_nn_sched_group_blocks(ex->net, ex->sc, si, g, miss_visit, &m);
}

int beaa_nn_exec_ready(const beaa_nn_exec *ex, uint32_t si, uint32_t g)
{
    if (!ex || si >= ex->L || g >= ex->sc->stages[si].ngroups) return 0;
    miss_ctx m = { ex, si, NULL, NULL, 1 };
    beaa_nn_sched_group_blocks(ex->net, ex->sc, si, g, miss_visit, &m);
    return m.all;
}

beaa_status beaa_nn_exec_put(beaa_nn_exec *ex, uint32_t si, size_t idx, beaa_ckks_ciphertext *ct)
{
    beaa_status st = BEAA_OK;
    if (!ex || !ct || si >= ex->L || idx >= ex->t[si].nin || ex->t[si].in[idx] ||
        ex->t[si].uses[idx] <= 0)
        st = BEAA_ERR_ARG;
    else if (ct->ctx != ex->ctx) st = BEAA_ERR_PARAMS_MISMATCH;
    else if (ct->size != 2 || !ct->ntt_form) st = BEAA_ERR_SIZE;
    else if (ct->level != ex->L - si) st = BEAA_ERR_LEVEL_MISMATCH;
    else if (si == 0 && !(fabs(ct->scale / ex->qn->in_scale - 1.0) <= 1e-9)) st = BEAA_ERR_SCALE_MISMATCH;
    if (st != BEAA_OK) { beaa_ckks_ciphertext_free(ct); return st; }
    ex->t[si].in[idx] = ct;
    ex->live += ct_bytes(ex, ct->level);
    return BEAA_OK;
}

beaa_status beaa_nn_exec_take(beaa_nn_exec *ex, uint32_t si, size_t idx, beaa_ckks_ciphertext **ct)
{
    if (!ct) return BEAA_ERR_ARG;
    *ct = NULL;
    if (!ex || si >= ex->L || idx >= ex->t[si].nin || !ex->t[si].in[idx]) return BEAA_ERR_ARG;
    *ct = ex->t[si].in[idx];
    ex->t[si].in[idx] = NULL;
    ex->live -= ct_bytes(ex, (*ct)->level);
    return BEAA_OK;
}

beaa_status beaa_nn_exec_run(beaa_nn_exec *ex, uint32_t si, uint32_t g)
{
    if (!ex || ex->failed || si >= ex->L || g >= ex->sc->stages[si].ngroups || !ex->t[si].pending[g] ||
        !beaa_nn_exec_ready(ex, si, g))
        return BEAA_ERR_ARG;
    const beaa_nn_net *net = ex->net;
    const uint32_t L = ex->L;
    const beaa_nn_stage *s = &net->stages[si];
    const beaa_nn_qstage *qs = &ex->qn->stages[si];
    const beaa_nn_sched_stage *ts = &ex->sc->stages[si];
    const unsigned lvl = L - si;
    stage_state *t = &ex->t[si];
    int last = si + 1 == L;
    beaa_ckks_ciphertext **out = last ? ex->logits : ex->t[si + 1].in;
    /* each task runs dgemm from its own thread: OpenBLAS single-threaded inside; the setting is
     * process-wide, so the caller's value is put back before returning */
    int blas_prev = openblas_get_num_threads();
    if (blas_prev < 1) blas_prev = 1;
    openblas_set_num_threads(1);
    group_ctx gc = { s, qs, t->gb, t->gout, 0, 0 };
    beaa_nn_sched_group_blocks(net, ex->sc, si, g, group_visit, &gc);
    double ta = now_s();
    beaa_status err = group_linear(ex->ctx, s, qs, t, &gc, lvl, ex->threads);
    double tb = now_s();
    if (err == BEAA_OK)
        err = group_products(ex->ctx, s, qs, ts, t, &gc, ex->rk, lvl, out,
                             last ? NULL : ex->sc->stages[si + 1].uses, ex->threads);
    double tc = now_s();
    t->pending[g] = 0;
    /* the outputs: the final affine for logits, then the caller's hook, then kept when an own
     * group of the next stage reads them */
    for (size_t i = 0; i < gc.ngo; i++) {
        int32_t e = ts->pidx[gc.gout[i]];
        if (e < 0 || t->made[e] || !out[e]) continue;
        t->made[e] = 1;
        if (err == BEAA_OK && last) err = final_affine(out[e], net->out_sc[e], net->out_tt[e]);
        if (err != BEAA_OK) continue;
        int here = last || ex->t[si + 1].uses[e] > 0;
        if (ex->output) ex->output(ex->user, si, (uint32_t)e, &out[e], here);
        if (!here) { beaa_ckks_ciphertext_free(out[e]); out[e] = NULL; }
        else if (out[e]) ex->live += ct_bytes(ex, lvl - 1);
    }
    /* free inputs after their last use */
    for (size_t b = 0; b < gc.ngb; b++)
        for (int32_t c = 0; c < gc.gb[b].k; c++) {
            int32_t i = gc.gb[b].in[c];
            if (--t->uses[i] == 0 && t->in[i]) {
                beaa_ckks_ciphertext_free(t->in[i]);
                t->in[i] = NULL;
                ex->live -= ct_bytes(ex, lvl);
            }
        }
    ex->stats.linear_s[si] += tb - ta;
    ex->stats.act_s[si] += tc - tb;
    ex->stats.stage_s[si] += now_s() - ta;
    ex->stats.total_s += now_s() - ta;
    openblas_set_num_threads(blas_prev);
    if (err != BEAA_OK) ex->failed = 1;
    return err;
}

beaa_status beaa_nn_exec_take_logit(beaa_nn_exec *ex, uint32_t k, beaa_ckks_ciphertext **ct)
{
    if (!ct) return BEAA_ERR_ARG;
    *ct = NULL;
    if (!ex || k >= ex->net->num_classes || !ex->logits[k]) return BEAA_ERR_ARG;
    *ct = ex->logits[k];
    ex->logits[k] = NULL;
    ex->live -= ct_bytes(ex, 0);
    return BEAA_OK;
}

size_t beaa_nn_exec_live_bytes(const beaa_nn_exec *ex)
{
    return ex ? ex->live : 0;
}

void beaa_nn_exec_stats(const beaa_nn_exec *ex, beaa_nn_forward_stats *stats)
{
    if (!ex || !stats) return;
    *stats = ex->stats;
}
