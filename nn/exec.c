/* exec.c - the encrypted pass one group at a time (see exec.h). Linear maps and activations in
 * one pass over (limb, coefficient range) tasks in parallel: the exact integer linear maps give x
 * and u of every output of the group in the thread's cache, and their tensor product x*u goes
 * straight into the unit's size-3 sum (a pooling window's outputs summed: exact, so the order
 * does not matter); then one relinearize+rescale per unit, in parallel over units. */
#include "nn/exec.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lib/cpu.h"
#include "lib/mem.h"
#include "ckks/kernels/kernels.h"
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
    beaa_nn_linblock *gb;        /* the running group's blocks */
    int32_t *gout;               /* and outputs */
    uint8_t *pending;            /* ngroups: 1 = own group not run yet */
    uint8_t *made;               /* outputs (next stage inputs) already produced */
    size_t nin;
} stage_state;

/* u = +-(x + c) mod q (neg: minus), the u of an output whose u is derived from x (quant.h);
 * x in [0, q), c < q. */
static void derive_u(uint64_t *u, const uint64_t *x, uint64_t c, int neg, size_t n, uint64_t q)
{
    if (neg) {
        for (size_t i = 0; i < n; i++) {
            uint64_t t = x[i] + c;
            t -= t >= q ? q : 0;
            u[i] = t ? q - t : 0;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            uint64_t t = x[i] + c;
            u[i] = t - (t >= q ? q : 0);
        }
    }
}

/* The linear maps and the ciphertext products of one group in one pass. Tasks are (RNS limb,
 * range of BEAA_NN_FUSE_COLS coefficients): for both polynomials, x and u of every output of the group
 * go into the thread's buffer (exact integer linear maps), and their tensor product, summed over
 * the unit's pooling window, into z[unit] (size 3, level lvl). x and u never leave the cache:
 * the pass writes 3 polynomials per unit instead of 4 per output, and reads none back. unit[i]
 * is the unit of group output i (SIZE_MAX: dropped, no product), first[i] whether it is the
 * unit's first. */
static beaa_status group_fused(const beaa_ckks_context *ctx, const beaa_nn_stage *s,
                               const beaa_nn_qstage *qs, const stage_state *t, const group_ctx *gc,
                               const size_t *unit, const uint8_t *first,
                               beaa_ckks_ciphertext *const *z, unsigned lvl, int threads)
{
    const size_t N = beaa_ckks_context_n(ctx), nin = (size_t)s->cin * s->hin * s->win;
    const size_t nout = qs->nout, G = gc->ngo, span = N < BEAA_NN_FUSE_COLS ? N : BEAA_NN_FUSE_COLS, nch = N / span;
    const size_t ntask = (size_t)(lvl + 1) * nch;
    const size_t wd = beaa_nn_linear_work_doubles(qs->kmax, qs->mmax);
    const beaa_kernels *kern = beaa_ckks_context_kernels(ctx);
    beaa_status err = BEAA_OK;
#pragma omp parallel num_threads(threads)
    {
        double *work = malloc(sizeof(double) * wd);
        const uint64_t **ip = calloc(nin + 1, sizeof(uint64_t *));
        uint64_t **op = calloc(2 * nout + 1, sizeof(uint64_t *));
        /* x of poly 0, u of poly 0, x of poly 1, u of poly 1 for each output; a product */
        uint64_t *buf = beaa_alloc(sizeof(uint64_t) * (4 * G + 3) * span);
        if (!work || !ip || !op || !buf) set_err(&err, BEAA_ERR_NOMEM);
#pragma omp for schedule(dynamic, 1)
        for (size_t k = 0; k < ntask; k++) {
            if (!work || !ip || !op || !buf) continue;
            const unsigned limb = (unsigned)(k / nch);
            const size_t lo = (k % nch) * span;
            const beaa_modulus *m = beaa_ckks_context_q(ctx, limb);
            for (unsigned poly = 0; poly < 2; poly++) {
                for (size_t b = 0; b < gc->ngb; b++)
                    for (int32_t c = 0; c < gc->gb[b].k; c++) {
                        int32_t i = gc->gb[b].in[c];
                        ip[i] = t->in[i] ? beaa_ckks_ct_limb(t->in[i], poly, limb) + lo : NULL;
                    }
                for (size_t i = 0; i < G; i++) {
                    op[gc->gout[i]] = buf + ((2 * poly) * G + i) * span;
                    op[nout + gc->gout[i]] = buf + ((2 * poly + 1) * G + i) * span;
                }
                beaa_nn_linear_range(gc->gb, gc->ngb, op, ip, poly == 0, m, 0, span, work);
                /* the derived u: +-(x + shift) on poly 0, +-x on poly 1 (x itself when +) */
                for (size_t i = 0; i < G; i++) {
                    const int32_t o = gc->gout[i];
                    const int md = qs->umode[o];
                    if (!md || unit[i] == SIZE_MAX || (poly == 1 && md > 0)) continue;
                    uint64_t c = 0;
                    if (poly == 0) {
                        int64_t v = qs->ushift[o] % (int64_t)m->q;
                        c = (uint64_t)(v < 0 ? v + (int64_t)m->q : v);
                    }
                    derive_u(op[nout + o], op[o], c, md < 0, span, m->q);
                }
            }
            uint64_t *tmp = buf + 4 * G * span;
            const uint64_t one_s = beaa_shoup(1, m->q);
            for (size_t i = 0; i < G; i++) {
                if (unit[i] == SIZE_MAX) continue;
                const uint64_t *x0 = buf + i * span, *u0 = buf + (G + i) * span;
                const uint64_t *x1 = buf + (2 * G + i) * span;
                const uint64_t *u1 = qs->umode[gc->gout[i]] > 0 ? x1 : buf + (3 * G + i) * span;
                uint64_t *r[3];
                for (unsigned p = 0; p < 3; p++) r[p] = beaa_ckks_ct_limb(z[unit[i]], p, limb) + lo;
                if (first[i]) {
                    kern->tensor(r[0], r[1], r[2], x0, x1, u0, u1, span, m, 1, one_s);
                } else {
                    kern->tensor(tmp, tmp + span, tmp + 2 * span, x0, x1, u0, u1, span, m, 1, one_s);
                    for (unsigned p = 0; p < 3; p++) kern->add_mod(r[p], r[p], tmp + p * span, span, m->q);
                }
            }
        }
        free(work);
        free(ip);
        free(op);
        beaa_free(buf);
    }
    return err;
}

/* The products of one group: z = x*u per output, summed over the pooling window (group_fused),
 * relinearized and rescaled once (one rounding division by P*q) into a new ciphertext at lvl - 1
 * that goes to out[pidx] (dropped, and not computed, when no later block reads it: want[pidx] ==
 * 0). Units are output channels (pooled) or single outputs. */
static beaa_status group_products(const beaa_ckks_context *ctx, const beaa_nn_stage *s,
                                  const beaa_nn_qstage *qs, const beaa_nn_sched_stage *ts,
                                  stage_state *t, const group_ctx *gc,
                                  const beaa_ckks_relin_key *rk, unsigned lvl,
                                  beaa_ckks_ciphertext **out, const int32_t *want, int threads,
                                  double *lin_s)
{
    const size_t hw = (size_t)s->hout * s->wout, G = gc->ngo;
    const size_t nunits = s->pool_kh ? s->cout : G;
    double t0 = now_s();
    size_t *unit = malloc(sizeof(size_t) * (G + 1));
    uint8_t *first = malloc(G + 1);
    int32_t *pidx = malloc(sizeof(int32_t) * (nunits + 1));
    beaa_ckks_ciphertext **z = calloc(nunits + 1, sizeof *z);
    beaa_status err = unit && first && pidx && z ? BEAA_OK : BEAA_ERR_NOMEM;
    for (size_t i = 0; i < nunits && err == BEAA_OK; i++) pidx[i] = -1;
    /* units, their first outputs and scales (as beaa_ckks_mul and beaa_ckks_add check them) */
    for (size_t i = 0; i < G && err == BEAA_OK; i++) {
        int32_t o = gc->gout[i];
        size_t un = s->pool_kh ? (size_t)o / hw : i;
        const double sc = qs->sx[o] * qs->su[o];
        unit[i] = un;
        pidx[un] = ts->pidx[o];
        err = beaa_ckks_product_scale_check(ctx, lvl, sc);
        if (err != BEAA_OK) break;
        if (pidx[un] < 0 || (want && want[pidx[un]] <= 0)) { /* no later block reads it */
            unit[i] = SIZE_MAX;
            continue;
        }
        first[i] = !z[un];
        if (!z[un]) {
            err = beaa_ckks_ciphertext_new_uninit(ctx, 3, lvl, &z[un]);
            if (err == BEAA_OK) z[un]->scale = sc;
        } else if (!beaa_ckks_scales_equal(z[un]->scale, sc))
            err = BEAA_ERR_SCALE_MISMATCH;
    }
    if (err == BEAA_OK) err = group_fused(ctx, s, qs, t, gc, unit, first, z, lvl, threads);
    *lin_s = now_s() - t0;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (size_t un = 0; un < (z ? nunits : 0); un++) {
        beaa_ckks_ciphertext *res = NULL;
        beaa_status st = BEAA_OK;
        if (z[un] && err == BEAA_OK) {
            /* relinearize before (with) the rescale: the key-switching noise is then divided by
             * q too (measured: 5-10x smaller logit errors than rescale-then-relinearize) */
            st = beaa_ckks_ciphertext_new_uninit(ctx, 2, lvl - 1, &res);
            if (st == BEAA_OK) st = beaa_ckks_relin_rescale(z[un], rk, res);
            set_err(&err, st);
            if (st == BEAA_OK) out[pidx[un]] = res;
            else beaa_ckks_ciphertext_free(res);
        }
        beaa_ckks_ciphertext_free(z[un]);
    }
    free(unit);
    free(first);
    free(pidx);
    free(z);
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
            free(t->in);
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
        t->gb = malloc(sizeof *t->gb * (qs->nblocks + 1));
        t->gout = malloc(sizeof(int32_t) * (qs->nout + 1));
        t->pending = calloc(sc->stages[si].ngroups + 1, 1);
        t->made = calloc(nnext + 1, 1);
        if (!t->in || !t->uses || !t->gb || !t->gout || !t->pending || !t->made) {
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
    double ta = now_s(), lin_s = 0;
    beaa_status err = group_products(ex->ctx, s, qs, ts, t, &gc, ex->rk, lvl, out,
                                     last ? NULL : ex->sc->stages[si + 1].uses, ex->threads, &lin_s);
    double tc = now_s(), tb = ta + lin_s;
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
