/* exec.c - the encrypted pass one group at a time (see exec.h): the inputs present, their
 * remaining reads, the outputs handed on; each group's computation is nn/group.c. */
#include "nn/exec.h"
#include "nn/clock_internal.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lib/cpu.h"
#include "nn/group.h"
#include "nn/plan.h"

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

static void group_visit(void *user, uint32_t b)
{
    beaa_nn_group *g = user;
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

static size_t ct_bytes(const beaa_nn_exec *ex, const beaa_ckks_ciphertext *ct)
{
    return beaa_nn_ct_bytes(beaa_ckks_context_log_n(ex->ctx), ct->size, ct->level);
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
    else if (ct->size != beaa_nn_stage_in_size(&ex->net->stages[si]) || !ct->ntt_form) st = BEAA_ERR_SIZE;
    else if (ct->level != beaa_nn_stage_in_level(ex->net, si)) st = BEAA_ERR_LEVEL_MISMATCH;
    else if (si == 0 && !(fabs(ct->scale / ex->qn->in_scale - 1.0) <= 1e-9)) st = BEAA_ERR_SCALE_MISMATCH;
    if (st != BEAA_OK) { beaa_ckks_ciphertext_free(ct); return st; }
    ex->t[si].in[idx] = ct;
    ex->live += ct_bytes(ex, ct);
    return BEAA_OK;
}

beaa_status beaa_nn_exec_take(beaa_nn_exec *ex, uint32_t si, size_t idx, beaa_ckks_ciphertext **ct)
{
    if (!ct) return BEAA_ERR_ARG;
    *ct = NULL;
    if (!ex || si >= ex->L || idx >= ex->t[si].nin || !ex->t[si].in[idx]) return BEAA_ERR_ARG;
    *ct = ex->t[si].in[idx];
    ex->t[si].in[idx] = NULL;
    ex->live -= ct_bytes(ex, *ct);
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
    beaa_nn_group gc = { s, qs, t->gb, t->gout, 0, 0 };
    beaa_nn_sched_group_blocks(net, ex->sc, si, g, group_visit, &gc);
    double ta = beaa_nn_now_s(), lin_s = 0, ks_s = 0;
    beaa_status err = beaa_nn_group_run(ex->ctx, &gc, ex->qn->scale, ts->pidx, t->in, ex->rk, lvl,
                                        out, last ? NULL : ex->sc->stages[si + 1].uses,
                                        !last && net->stages[si + 1].raw_in, ex->threads, &lin_s,
                                        &ks_s, &ex->stats.key_switches[si]);
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
        else if (out[e]) ex->live += ct_bytes(ex, out[e]);
    }
    /* free inputs after their last use */
    for (size_t b = 0; b < gc.ngb; b++)
        for (int32_t c = 0; c < gc.gb[b].k; c++) {
            int32_t i = gc.gb[b].in[c];
            if (--t->uses[i] == 0 && t->in[i]) {
                ex->live -= ct_bytes(ex, t->in[i]);
                beaa_ckks_ciphertext_free(t->in[i]);
                t->in[i] = NULL;
            }
        }
    ex->stats.linear_s[si] += lin_s;
    ex->stats.act_s[si] += ks_s;
    ex->stats.stage_s[si] += beaa_nn_now_s() - ta;
    ex->stats.total_s += beaa_nn_now_s() - ta;
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
    ex->live -= ct_bytes(ex, *ct);
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
