/* schedule.c - groups, dependencies and the wavefront order of the encrypted pass (see
 * schedule.h), and the replay of that order that counts live ciphertext bytes. */
#include "nn/schedule.h"
#include <stdlib.h>
#include <string.h>
#include "nn/plan.h"

static void stage_free(beaa_nn_sched_stage *t)
{
    free(t->gstart);
    free(t->order);
    free(t->bstart);
    free(t->uses);
    free(t->pidx);
}

void beaa_nn_schedule_free(beaa_nn_schedule *s)
{
    if (!s) return;
    if (s->stages)
        for (uint32_t i = 0; i < s->nstages; i++) stage_free(&s->stages[i]);
    free(s->stages);
    free(s->step_stage);
    free(s->step_group);
    free(s);
}

static beaa_status stage_make(const beaa_nn_stage *s, beaa_nn_sched_stage *t)
{
    const size_t hw = (size_t)s->hout * s->wout, nin = (size_t)s->cin * s->hin * s->win;
    const size_t nout = (size_t)s->cout * hw;
    t->gstart = malloc(sizeof(int32_t) * (hw + 2));
    t->order = malloc(sizeof(int32_t) * (hw + 1));
    t->bstart = malloc(sizeof(int32_t) * (hw + 1));
    t->uses = calloc(nin + 1, sizeof(int32_t));
    t->pidx = malloc(sizeof(int32_t) * (nout + 1));
    if (!t->gstart || !t->order || !t->bstart || !t->uses || !t->pidx) return BEAA_ERR_NOMEM;
    /* blocks of each position are consecutive (fold.c builds them position by position) */
    for (size_t p = 0; p <= hw; p++) t->bstart[p] = -1;
    for (uint32_t b = s->nblocks; b-- > 0;) t->bstart[(size_t)s->blocks[b].out[0] % hw] = (int32_t)b;
    for (uint32_t b = 0; b < s->nblocks; b++)
        for (uint32_t c = 0; c < s->blocks[b].k; c++) t->uses[s->blocks[b].in[c]]++;
    for (size_t o = 0; o < nout; o++) {
        size_t p = o % hw, c = o / hw;
        if (!s->need[p]) { t->pidx[o] = -1; continue; }
        t->pidx[o] = s->pool_kh ? (int32_t)((c * s->ph + (p / s->wout) / s->pool_kh) * s->pw +
                                            (p % s->wout) / s->pool_kw)
                                : (int32_t)o;
    }
    /* groups of positions: pooling windows, or pairs in a row */
    size_t ng = 0, no = 0;
    if (s->pool_kh) {
        for (uint32_t py = 0; py < s->ph; py++)
            for (uint32_t px = 0; px < s->pw; px++) {
                t->gstart[ng] = (int32_t)no;
                for (uint32_t i = 0; i < s->pool_kh; i++)
                    for (uint32_t j = 0; j < s->pool_kw; j++) {
                        size_t p = ((size_t)py * s->pool_kh + i) * s->wout + px * s->pool_kw + j;
                        if (s->need[p]) t->order[no++] = (int32_t)p;
                    }
                if ((size_t)t->gstart[ng] < no) ng++;
            }
    } else {
        /* pairs of neighbours in a row (a row of odd length ends with one position): the two
         * share most of their inputs, which the linear map then reads while they are in cache;
         * no group spans two rows, so that a part of the pass (nn/partition.h) may visit them
         * row by row or column by column */
        for (size_t p = 0; p < hw; p++) {
            if (!s->need[p]) continue;
            if (ng == 0 || no - (size_t)t->gstart[ng - 1] == 2 ||
                (size_t)t->order[t->gstart[ng - 1]] / s->wout != p / s->wout)
                t->gstart[ng++] = (int32_t)no;
            t->order[no++] = (int32_t)p;
        }
    }
    t->gstart[ng] = (int32_t)no;
    t->ngroups = (uint32_t)ng;
    return BEAA_OK;
}

void beaa_nn_sched_group_blocks(const beaa_nn_net *net, const beaa_nn_schedule *sc, uint32_t si,
                                uint32_t g, void (*fn)(void *user, uint32_t b), void *user)
{
    const beaa_nn_stage *s = &net->stages[si];
    const beaa_nn_sched_stage *t = &sc->stages[si];
    const size_t hw = (size_t)s->hout * s->wout;
    for (int32_t oi = t->gstart[g]; oi < t->gstart[g + 1]; oi++) {
        size_t p = (size_t)t->order[oi];
        for (int32_t b = t->bstart[p]; b >= 0 && b < (int32_t)s->nblocks &&
             (size_t)s->blocks[b].out[0] % hw == p; b++)
            fn(user, (uint32_t)b);
    }
}

/* readiness check state */
typedef struct ready_ctx {
    const beaa_nn_stage *s;
    const uint8_t *have;
    int ok;
} ready_ctx;

static void ready_visit(void *user, uint32_t b)
{
    ready_ctx *r = user;
    const beaa_nn_fblock *bl = &r->s->blocks[b];
    for (uint32_t c = 0; c < bl->k && r->ok; c++)
        if (!r->have[bl->in[c]]) r->ok = 0;
}

typedef struct produce_ctx {
    const beaa_nn_stage *s;
    const int32_t *pidx;
    uint8_t *have;   /* next stage's inputs (NULL for the last stage) */
} produce_ctx;

static void produce_visit(void *user, uint32_t b)
{
    produce_ctx *p = user;
    const beaa_nn_fblock *bl = &p->s->blocks[b];
    if (!p->have) return;
    for (uint32_t r = 0; r < bl->m; r++) {
        int32_t e = p->pidx[bl->out[r]];
        if (e >= 0) p->have[e] = 1;
    }
}

beaa_status beaa_nn_schedule_make(const beaa_nn_net *net, beaa_nn_schedule **out)
{
    if (!net || !out) return BEAA_ERR_ARG;
    *out = NULL;
    const uint32_t L = net->nstages;
    beaa_nn_schedule *sc = calloc(1, sizeof *sc);
    if (!sc) return BEAA_ERR_NOMEM;
    sc->nstages = L;
    sc->stages = calloc(L ? L : 1, sizeof *sc->stages);
    uint8_t **have = calloc(L ? L : 1, sizeof *have);
    uint32_t *next = calloc(L ? L : 1, sizeof *next);
    beaa_status st = sc->stages && have && next ? BEAA_OK : BEAA_ERR_NOMEM;
    for (uint32_t si = 0; si < L && st == BEAA_OK; si++) {
        const beaa_nn_stage *s = &net->stages[si];
        st = stage_make(s, &sc->stages[si]);
        sc->nsteps += sc->stages[si].ngroups;
        size_t nin = (size_t)s->cin * s->hin * s->win;
        if (st == BEAA_OK && !(have[si] = calloc(nin + 1, 1))) st = BEAA_ERR_NOMEM;
        if (st == BEAA_OK && si == 0) memset(have[0], 1, nin);
    }
    if (st == BEAA_OK) {
        sc->step_stage = malloc(sizeof(uint32_t) * (sc->nsteps + 1));
        sc->step_group = malloc(sizeof(uint32_t) * (sc->nsteps + 1));
        if (!sc->step_stage || !sc->step_group) st = BEAA_ERR_NOMEM;
    }
    for (size_t k = 0; k < sc->nsteps && st == BEAA_OK; k++) {
        /* the next group of the last stage that has one ready */
        uint32_t si = L;
        for (uint32_t s2 = L; s2-- > 0;) {
            if (next[s2] >= sc->stages[s2].ngroups) continue;
            ready_ctx r = { &net->stages[s2], have[s2], 1 };
            beaa_nn_sched_group_blocks(net, sc, s2, next[s2], ready_visit, &r);
            if (r.ok) { si = s2; break; }
        }
        if (si == L) { st = BEAA_ERR_MODEL; break; }
        produce_ctx p = { &net->stages[si], sc->stages[si].pidx, si + 1 < L ? have[si + 1] : NULL };
        beaa_nn_sched_group_blocks(net, sc, si, next[si], produce_visit, &p);
        sc->step_stage[k] = si;
        sc->step_group[k] = next[si]++;
    }
    for (uint32_t si = 0; have && si < L; si++) free(have[si]);
    free(have);
    free(next);
    if (st != BEAA_OK) { beaa_nn_schedule_free(sc); return st; }
    *out = sc;
    return BEAA_OK;
}

/* replay state */
typedef struct replay_ctx {
    const beaa_nn_stage *s;
    const beaa_nn_sched_stage *t;
    int32_t *uses;            /* remaining reads of this stage's inputs */
    int32_t *next_uses;       /* remaining reads of the next stage's inputs (NULL: last stage) */
    uint8_t *made;            /* next stage inputs already counted */
    size_t freed, made_n, rows;
} replay_ctx;

static void replay_count(void *user, uint32_t b)
{
    replay_ctx *r = user;
    const beaa_nn_fblock *bl = &r->s->blocks[b];
    r->rows += bl->m;
    for (uint32_t i = 0; i < bl->m; i++) {
        int32_t e = r->t->pidx[bl->out[i]];
        if (e < 0) continue;
        /* logits stay; outputs no later block reads are freed at once */
        if ((!r->next_uses || r->next_uses[e] > 0) && !r->made[e]) {
            r->made[e] = 1;
            r->made_n++;
        }
    }
}

static void replay_release(void *user, uint32_t b)
{
    replay_ctx *r = user;
    const beaa_nn_fblock *bl = &r->s->blocks[b];
    for (uint32_t c = 0; c < bl->k; c++)
        if (--r->uses[bl->in[c]] == 0) r->freed++;
}

size_t beaa_nn_group_transient_bytes(const beaa_nn_stage *s, size_t rows, unsigned log_n,
                                     unsigned lvl, int threads)
{
    size_t units = s->pool_kh && s->cout < rows ? s->cout : rows;
    size_t n = (size_t)1 << log_n, span = n < BEAA_NN_FUSE_COLS ? n : BEAA_NN_FUSE_COLS;
    /* raw inputs: each row made at the inputs' level, then relinearized (nn/group.c group_rows;
     * x's rows: the few own u rows are not counted) */
    size_t made = s->raw_in ? rows * (beaa_nn_ct_bytes(log_n, 3, lvl + 1) + beaa_nn_ct_bytes(log_n, 2, lvl)) : 0;
    return units * beaa_nn_ct_bytes(log_n, 3, lvl) + (size_t)threads * (4 * rows + 3) * span * 8 + made;
}

size_t beaa_nn_schedule_peak_bytes(const beaa_nn_net *net, const beaa_nn_schedule *sc,
                                   unsigned log_n, int threads)
{
    if (!net || !sc) return 0;
    const uint32_t L = net->nstages;
    int32_t **uses = calloc(L ? L : 1, sizeof *uses);
    uint8_t **made = calloc((size_t)L + 1, sizeof *made); /* made[L]: the logits */
    size_t peak = 0, live = 0;
    int ok = uses && made;
    for (uint32_t si = 0; si < L && ok; si++) {
        const beaa_nn_stage *s = &net->stages[si];
        size_t nin = (size_t)s->cin * s->hin * s->win;
        uses[si] = malloc(sizeof(int32_t) * (nin + 1));
        made[si] = calloc(nin + 1, 1);
        if (!uses[si] || !made[si]) { ok = 0; break; }
        memcpy(uses[si], sc->stages[si].uses, sizeof(int32_t) * nin);
        if (si == 0)
            for (size_t i = 0; i < nin; i++) live += uses[0][i] > 0 ? beaa_nn_stage_in_bytes(net, 0, log_n) : 0;
    }
    if (ok && L > 0 && !(made[L] = calloc(beaa_nn_stage_out_count(&net->stages[L - 1]) + 1, 1))) ok = 0;
    peak = live;
    /* the pool (lib/pool.h) serves any request from the pages freed before it, whatever their
     * block sizes: the footprint is the largest sum of the live ciphertexts, the running
     * group's working set and its outputs */
    for (size_t k = 0; k < sc->nsteps && ok; k++) {
        uint32_t si = sc->step_stage[k], g = sc->step_group[k];
        unsigned lvl = L - si;
        replay_ctx r = { &net->stages[si], &sc->stages[si], uses[si], si + 1 < L ? uses[si + 1] : NULL,
                         made[si + 1], 0, 0, 0 };
        beaa_nn_sched_group_blocks(net, sc, si, g, replay_count, &r);
        size_t transient = beaa_nn_group_transient_bytes(&net->stages[si], r.rows, log_n, lvl, threads);
        size_t produced = r.made_n * (si + 1 < L ? beaa_nn_stage_in_bytes(net, si + 1, log_n)
                                                 : beaa_nn_ct_bytes(log_n, 2, 0));
        if (live + transient + produced > peak) peak = live + transient + produced;
        beaa_nn_sched_group_blocks(net, sc, si, g, replay_release, &r);
        live += produced;
        live -= r.freed * beaa_nn_stage_in_bytes(net, si, log_n);
    }
    for (uint32_t si = 0; si <= L; si++) {
        if (uses && si < L) free(uses[si]);
        if (made) free(made[si]);
    }
    free(uses);
    free(made);
    return ok ? peak : 0;
}
