/* partition.c - bands of rows per part, the readers of every stage input, its producer (see
 * partition.h). */
#include "nn/partition.h"
#include <stdlib.h>
#include <string.h>

void beaa_nn_partition_free(beaa_nn_partition *pt)
{
    if (!pt) return;
    for (uint32_t si = 0; si < pt->nstages; si++) {
        if (pt->gfirst) free(pt->gfirst[si]);
        if (pt->rstart) free(pt->rstart[si]);
        if (pt->readers) free(pt->readers[si]);
        if (pt->producer) free(pt->producer[si]);
    }
    free(pt->gfirst);
    free(pt->rstart);
    free(pt->readers);
    free(pt->producer);
    free(pt);
}

typedef struct mark_ctx {
    const beaa_nn_stage *s;
    uint8_t *mark;
    size_t added;
    double cost;
} mark_ctx;

static void mark_visit(void *user, uint32_t b)
{
    mark_ctx *m = user;
    const beaa_nn_fblock *bl = &m->s->blocks[b];
    m->cost += (double)bl->m * (2.0 * bl->k + 130.0);
    if (!m->mark) return;
    for (uint32_t c = 0; c < bl->k; c++)
        if (!m->mark[bl->in[c]]) { m->mark[bl->in[c]] = 1; m->added++; }
}

size_t beaa_nn_groups_inputs(const beaa_nn_net *net, const beaa_nn_schedule *sc, uint32_t si,
                             uint32_t g0, uint32_t g1, uint8_t *mark)
{
    if (!net || !sc || !mark || si >= net->nstages) return 0;
    mark_ctx m = { &net->stages[si], mark, 0, 0 };
    for (uint32_t g = g0; g < g1 && g < sc->stages[si].ngroups; g++)
        beaa_nn_sched_group_blocks(net, sc, si, g, mark_visit, &m);
    return m.added;
}

typedef struct prod_ctx {
    const beaa_nn_stage *s;
    const int32_t *pidx;
    uint32_t *producer;
    uint32_t part;
} prod_ctx;

static void prod_visit(void *user, uint32_t b)
{
    prod_ctx *p = user;
    const beaa_nn_fblock *bl = &p->s->blocks[b];
    for (uint32_t r = 0; r < bl->m; r++) {
        int32_t e = p->pidx[bl->out[r]];
        if (e >= 0) p->producer[e] = p->part;
    }
}

beaa_status beaa_nn_partition_rows(const beaa_nn_net *net, const beaa_nn_schedule *sc,
                                   uint32_t nparts, beaa_nn_partition **out)
{
    if (!out) return BEAA_ERR_ARG;
    *out = NULL;
    if (!net || !sc || nparts == 0 || nparts > BEAA_NN_MAX_PARTS || sc->nstages != net->nstages)
        return BEAA_ERR_ARG;
    const uint32_t L = net->nstages;
    beaa_nn_partition *pt = calloc(1, sizeof *pt);
    if (!pt) return BEAA_ERR_NOMEM;
    pt->nparts = nparts;
    pt->nstages = L;
    pt->gfirst = calloc(L ? L : 1, sizeof *pt->gfirst);
    pt->rstart = calloc(L ? L : 1, sizeof *pt->rstart);
    pt->readers = calloc(L ? L : 1, sizeof *pt->readers);
    pt->producer = calloc(L ? L : 1, sizeof *pt->producer);
    beaa_status st = pt->gfirst && pt->rstart && pt->readers && pt->producer ? BEAA_OK : BEAA_ERR_NOMEM;
    double *cost = NULL;
    uint8_t *mark = NULL;
    for (uint32_t si = 0; si < L && st == BEAA_OK; si++) {
        const beaa_nn_stage *s = &net->stages[si];
        const uint32_t ng = sc->stages[si].ngroups;
        const size_t nin = (size_t)s->cin * s->hin * s->win;
        /* bands: cumulative cost */
        free(cost);
        cost = malloc(sizeof(double) * (ng + 1));
        pt->gfirst[si] = malloc(sizeof(uint32_t) * (nparts + 1));
        if (!cost || !pt->gfirst[si]) { st = BEAA_ERR_NOMEM; break; }
        cost[0] = 0;
        for (uint32_t g = 0; g < ng; g++) {
            mark_ctx m = { s, NULL, 0, 0 };
            beaa_nn_sched_group_blocks(net, sc, si, g, mark_visit, &m);
            cost[g + 1] = cost[g] + m.cost;
        }
        uint32_t g = 0;
        for (uint32_t p = 0; p <= nparts; p++) {
            double target = cost[ng] * (double)p / (double)nparts;
            /* the first group whose middle lies at or after the target */
            while (g < ng && (cost[g] + cost[g + 1]) / 2 < target) g++;
            pt->gfirst[si][p] = p == nparts ? ng : g;
        }
        pt->gfirst[si][0] = 0;
        /* readers of every input: per part the inputs its groups read, counted then listed */
        free(mark);
        mark = malloc(nin + 1);
        pt->rstart[si] = calloc(nin + 2, sizeof(uint32_t));
        if (!mark || !pt->rstart[si]) { st = BEAA_ERR_NOMEM; break; }
        for (int pass = 0; pass < 2 && st == BEAA_OK; pass++) {
            uint32_t *fill = NULL;
            if (pass == 1) {
                for (size_t e = 0; e < nin; e++) pt->rstart[si][e + 1] += pt->rstart[si][e];
                pt->readers[si] = malloc(sizeof(uint32_t) * (pt->rstart[si][nin] + 1));
                fill = malloc(sizeof(uint32_t) * (nin + 1));
                if (!pt->readers[si] || !fill) { free(fill); st = BEAA_ERR_NOMEM; break; }
                memcpy(fill, pt->rstart[si], sizeof(uint32_t) * nin);
            }
            for (uint32_t p = 0; p < nparts; p++) {
                memset(mark, 0, nin + 1);
                beaa_nn_groups_inputs(net, sc, si, pt->gfirst[si][p], pt->gfirst[si][p + 1], mark);
                for (size_t e = 0; e < nin; e++) {
                    if (!mark[e]) continue;
                    if (pass == 0) pt->rstart[si][e + 1]++;
                    else pt->readers[si][fill[e]++] = p;
                }
            }
            free(fill);
        }
        /* producers of the next stage's inputs */
        if (st == BEAA_OK && si + 1 < L) {
            size_t nnext = beaa_nn_stage_out_count(s);
            pt->producer[si + 1] = malloc(sizeof(uint32_t) * (nnext + 1));
            if (!pt->producer[si + 1]) { st = BEAA_ERR_NOMEM; break; }
            for (size_t e = 0; e <= nnext; e++) pt->producer[si + 1][e] = UINT32_MAX;
            for (uint32_t p = 0; p < nparts; p++) {
                prod_ctx pc = { s, sc->stages[si].pidx, pt->producer[si + 1], p };
                for (uint32_t gg = pt->gfirst[si][p]; gg < pt->gfirst[si][p + 1]; gg++)
                    beaa_nn_sched_group_blocks(net, sc, si, gg, prod_visit, &pc);
            }
        }
    }
    free(cost);
    free(mark);
    if (st != BEAA_OK) { beaa_nn_partition_free(pt); return st; }
    *out = pt;
    return BEAA_OK;
}

uint32_t beaa_nn_partition_owner(const beaa_nn_partition *pt, uint32_t si, uint32_t g)
{
    uint32_t p = 0;
    if (!pt || si >= pt->nstages) return 0;
    while (p + 1 < pt->nparts && g >= pt->gfirst[si][p + 1]) p++;
    return p;
}

beaa_status beaa_nn_partition_own(const beaa_nn_partition *pt, const beaa_nn_schedule *sc,
                                  uint32_t p, uint8_t ***out)
{
    if (!out) return BEAA_ERR_ARG;
    *out = NULL;
    if (!pt || !sc || p >= pt->nparts || sc->nstages != pt->nstages) return BEAA_ERR_ARG;
    size_t total = 0;
    for (uint32_t si = 0; si < pt->nstages; si++) total += sc->stages[si].ngroups + 1;
    uint8_t **own = calloc(1, sizeof(uint8_t *) * (pt->nstages + 1) + total);
    if (!own) return BEAA_ERR_NOMEM;
    uint8_t *flags = (uint8_t *)(own + pt->nstages + 1);
    for (uint32_t si = 0; si < pt->nstages; si++) {
        own[si] = flags;
        for (uint32_t g = pt->gfirst[si][p]; g < pt->gfirst[si][p + 1]; g++) own[si][g] = 1;
        flags += sc->stages[si].ngroups + 1;
    }
    *out = own;
    return BEAA_OK;
}

int beaa_nn_partition_dir(const beaa_nn_partition *pt, uint32_t p)
{
    if (!pt || pt->nparts < 2) return 1;
    return p % 2 == 0 ? -1 : 1;
}

typedef struct visit_key {
    uint32_t col, row, g;
} visit_key;

static int visit_cmp(const void *a, const void *b)
{
    const visit_key *x = a, *y = b;
    if (x->col != y->col) return x->col < y->col ? -1 : 1;
    if (x->row != y->row) return x->row < y->row ? -1 : 1;
    return (x->g > y->g) - (x->g < y->g);
}

beaa_status beaa_nn_partition_order(const beaa_nn_partition *pt, const beaa_nn_net *net,
                                    const beaa_nn_schedule *sc, uint32_t si, uint32_t p,
                                    uint32_t *order)
{
    if (!pt || !net || !sc || !order || p >= pt->nparts || si >= pt->nstages ||
        sc->nstages != pt->nstages || net->nstages != pt->nstages)
        return BEAA_ERR_ARG;
    const beaa_nn_stage *s = &net->stages[si];
    const beaa_nn_sched_stage *t = &sc->stages[si];
    const uint32_t a = pt->gfirst[si][p], b = pt->gfirst[si][p + 1], w = s->wout;
    const int dir = beaa_nn_partition_dir(pt, p);
    if (a == b) return BEAA_OK;
    /* the rows the band's groups start in (a group is one row, or one row of pooling windows) */
    uint32_t r0 = UINT32_MAX, r1 = 0;
    for (uint32_t g = a; g < b; g++) {
        uint32_t r = (uint32_t)t->order[t->gstart[g]] / w;
        if (r < r0) r0 = r;
        if (r > r1) r1 = r;
    }
    /* the band's rows and the map's columns, counted in groups (pooling windows or positions) */
    const uint32_t rows = (r1 - r0) / (s->pool_kh ? s->pool_kh : 1) + 1;
    const uint32_t cols = s->pool_kh ? s->pw : s->wout;
    if (rows >= cols) {
        for (uint32_t i = 0; i < b - a; i++) order[i] = dir > 0 ? a + i : b - 1 - i;
        return BEAA_OK;
    }
    visit_key *k = malloc(sizeof *k * (b - a));
    if (!k) return BEAA_ERR_NOMEM;
    for (uint32_t g = a; g < b; g++) {
        uint32_t q = (uint32_t)t->order[t->gstart[g]], r = q / w;
        k[g - a] = (visit_key){ q % w, dir > 0 ? r : UINT32_MAX - r, g };
    }
    qsort(k, b - a, sizeof *k, visit_cmp);
    for (uint32_t i = 0; i < b - a; i++) order[i] = k[i].g;
    free(k);
    return BEAA_OK;
}

size_t beaa_nn_partition_sends(const beaa_nn_partition *pt, const beaa_nn_net *net, uint32_t si,
                               uint32_t p)
{
    if (!pt || !net || si + 1 >= pt->nstages || net->nstages != pt->nstages) return 0;
    const beaa_nn_stage *s = &net->stages[si + 1];
    const size_t nin = (size_t)s->cin * s->hin * s->win;
    const uint32_t *prod = pt->producer[si + 1], *rs = pt->rstart[si + 1], *rd = pt->readers[si + 1];
    size_t n = 0;
    for (size_t e = 0; e < nin; e++) {
        if (prod[e] != p) continue;
        for (uint32_t r = rs[e]; r < rs[e + 1]; r++) n += rd[r] != p;
    }
    return n;
}
