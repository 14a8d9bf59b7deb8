/* ooc.c - the out-of-core plan (a replay of the schedule with lazy loads and Belady eviction
 * under a byte budget) and the run that follows it (see ooc.h). */
#include "nn/ooc.h"
#include "nn/clock_internal.h"
#include <stdlib.h>
#include <string.h>
#include "lib/cpu.h"
#include "nn/exec.h"
#include "nn/plan.h"
#ifdef _OPENMP
#include <omp.h>
#endif

void beaa_nn_ooc_plan_free(beaa_nn_ooc_plan *p)
{
    if (!p) return;
    free(p->act_start);
    free(p->acts);
    free(p);
}

enum { ST_UNSEEN = 0, ST_RESIDENT, ST_EVICTED, ST_DEAD };

/* Replay state: every stage input (stage si, element e) is ciphertext id base[si] + e. */
typedef struct replay {
    const beaa_nn_net *net;
    const beaa_nn_schedule *sc;
    uint32_t L;
    size_t *base, nct;
    size_t *rd_start, *rd_step;  /* the steps that read each ciphertext, ascending, distinct */
    size_t *rd_pos;              /* reads done */
    uint8_t *state;
    size_t *res, *res_pos, nres; /* resident ciphertexts (swap-removal) */
    size_t *bytes;               /* per stage: bytes of one of its inputs */
    /* the running step */
    size_t step;
    size_t *need, nneed;         /* distinct inputs of the step */
    uint8_t *in_need;
    size_t rows, made;
    int fill;                    /* pass 2 of the read lists */
    const int32_t *next_uses;    /* the next stage's global use counts (NULL: last stage) */
    const int32_t *pidx;
    uint8_t *made_flag;          /* per ciphertext: produced already */
    size_t made_base;
} replay;

typedef struct visit_ctx {
    replay *r;
    uint32_t si;
} visit_ctx;

static void reads_visit(void *user, uint32_t b)
{
    visit_ctx *v = user;
    replay *r = v->r;
    const beaa_nn_fblock *bl = &r->net->stages[v->si].blocks[b];
    for (uint32_t c = 0; c < bl->k; c++) {
        size_t id = r->base[v->si] + (size_t)bl->in[c];
        if (r->in_need[id]) continue;
        r->in_need[id] = 1;
        r->need[r->nneed++] = id;
    }
}

static void out_visit(void *user, uint32_t b)
{
    visit_ctx *v = user;
    replay *r = v->r;
    const beaa_nn_fblock *bl = &r->net->stages[v->si].blocks[b];
    r->rows += bl->m;
    for (uint32_t i = 0; i < bl->m; i++) {
        int32_t e = r->pidx[bl->out[i]];
        if (e < 0) continue;
        if (r->next_uses && r->next_uses[e] <= 0) continue;
        size_t id = r->made_base + (size_t)e;
        if (r->made_flag[id]) continue;
        r->made_flag[id] = 1;
        r->made++;
        r->need[r->nneed + r->made - 1 + 0] = id; /* outputs listed after the inputs */
    }
}

/* Collects the step's distinct inputs (r->need[0 .. nneed)) and outputs (after them, r->made of
 * them; r->made_flag marks outputs once). */
static void step_collect(replay *r, uint32_t si, uint32_t g)
{
    for (size_t i = 0; i < r->nneed; i++) r->in_need[r->need[i]] = 0;
    r->nneed = 0;
    r->rows = 0;
    r->made = 0;
    visit_ctx v = { r, si };
    beaa_nn_sched_group_blocks(r->net, r->sc, si, g, reads_visit, &v);
    r->pidx = r->sc->stages[si].pidx;
    r->next_uses = si + 1 < r->L ? r->sc->stages[si + 1].uses : NULL;
    r->made_base = r->base[si + 1];
    beaa_nn_sched_group_blocks(r->net, r->sc, si, g, out_visit, &v);
}

static void res_add(replay *r, size_t id)
{
    r->state[id] = ST_RESIDENT;
    r->res_pos[id] = r->nres;
    r->res[r->nres++] = id;
}

static void res_del(replay *r, size_t id, uint8_t state)
{
    size_t p = r->res_pos[id], last = r->res[--r->nres];
    r->res[p] = last;
    r->res_pos[last] = p;
    r->state[id] = state;
}

static uint32_t stage_of(const replay *r, size_t id)
{
    uint32_t si = 0;
    while (si + 1 <= r->L && r->base[si + 1] <= id) si++;
    return si;
}

static void replay_free(replay *r)
{
    free(r->base);
    free(r->rd_start);
    free(r->rd_step);
    free(r->rd_pos);
    free(r->state);
    free(r->res);
    free(r->res_pos);
    free(r->bytes);
    free(r->need);
    free(r->in_need);
    free(r->made_flag);
}

static beaa_status replay_init(replay *r, const beaa_nn_net *net, const beaa_nn_schedule *sc,
                               unsigned log_n)
{
    memset(r, 0, sizeof *r);
    r->net = net;
    r->sc = sc;
    r->L = net->nstages;
    const uint32_t L = r->L;
    r->base = malloc(sizeof(size_t) * (L + 2));
    r->bytes = malloc(sizeof(size_t) * (L + 1));
    if (!r->base || !r->bytes) return BEAA_ERR_NOMEM;
    r->base[0] = 0;
    size_t maxin = 0;
    for (uint32_t si = 0; si < L; si++) {
        const beaa_nn_stage *s = &net->stages[si];
        size_t nin = (size_t)s->cin * s->hin * s->win;
        r->base[si + 1] = r->base[si] + nin;
        r->bytes[si] = beaa_nn_stage_in_bytes(net, si, log_n);
        if (nin > maxin) maxin = nin;
    }
    r->bytes[L] = beaa_nn_ct_bytes(log_n, 2, 0);
    r->base[L + 1] = r->base[L] + net->num_classes; /* the logits */
    r->nct = r->base[L + 1];
    size_t nct = r->nct;
    r->rd_start = calloc(nct + 2, sizeof(size_t));
    r->rd_pos = calloc(nct + 1, sizeof(size_t));
    r->state = calloc(nct + 1, 1);
    r->res = malloc(sizeof(size_t) * (nct + 1));
    r->res_pos = malloc(sizeof(size_t) * (nct + 1));
    r->need = malloc(sizeof(size_t) * (2 * nct + 1));
    r->in_need = calloc(nct + 1, 1);
    r->made_flag = calloc(nct + 1, 1);
    if (!r->rd_start || !r->rd_pos || !r->state || !r->res || !r->res_pos || !r->need ||
        !r->in_need || !r->made_flag)
        return BEAA_ERR_NOMEM;
    /* read lists: count, then fill */
    size_t *last = malloc(sizeof(size_t) * (nct + 1));
    if (!last) return BEAA_ERR_NOMEM;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i <= nct; i++) last[i] = SIZE_MAX;
        if (pass == 1) {
            for (size_t i = 0; i < nct; i++) r->rd_start[i + 1] += r->rd_start[i];
            r->rd_step = malloc(sizeof(size_t) * (r->rd_start[nct] + 1));
            if (!r->rd_step) { free(last); return BEAA_ERR_NOMEM; }
            memcpy(r->rd_pos, r->rd_start, sizeof(size_t) * nct);
        }
        for (size_t k = 0; k < sc->nsteps; k++) {
            memset(r->made_flag, 0, nct + 1);
            step_collect(r, sc->step_stage[k], sc->step_group[k]);
            for (size_t i = 0; i < r->nneed; i++) {
                size_t id = r->need[i];
                if (last[id] == k) continue;
                last[id] = k;
                if (pass == 0) r->rd_start[id + 1]++;
                else r->rd_step[r->rd_pos[id]++] = k;
            }
        }
    }
    free(last);
    memset(r->rd_pos, 0, sizeof(size_t) * (nct + 1));
    for (size_t i = 0; i < r->nneed; i++) r->in_need[r->need[i]] = 0;
    r->nneed = 0;
    memset(r->made_flag, 0, nct + 1);
    return BEAA_OK;
}

/* Next step that reads ciphertext id (SIZE_MAX: none). */
static size_t next_read(const replay *r, size_t id)
{
    size_t p = r->rd_start[id] + r->rd_pos[id];
    return p < r->rd_start[id + 1] ? r->rd_step[p] : SIZE_MAX;
}

/* The plan; c0_bytes: an unread input's bytes in its upload form (0: half a ciphertext). */
static beaa_status plan_make(const beaa_nn_net *net, const beaa_nn_schedule *sc, unsigned log_n,
                             int threads, size_t budget, size_t c0_bytes, beaa_nn_ooc_plan **out)
{
    if (!out) return BEAA_ERR_ARG;
    *out = NULL;
    if (!net || !sc || sc->nstages != net->nstages || net->nstages == 0 || log_n < 1 || log_n > 20)
        return BEAA_ERR_ARG;
    if (threads < 1) threads = 1;
    beaa_nn_ooc_plan *p = calloc(1, sizeof *p);
    if (!p) return BEAA_ERR_NOMEM;
    p->nsteps = sc->nsteps;
    p->budget = budget;
    replay r;
    beaa_status st = replay_init(&r, net, sc, log_n);
    const size_t c0b = c0_bytes ? c0_bytes : st == BEAA_OK ? r.bytes[0] / 2 : 0;
    const uint32_t L = net->nstages;
    size_t cap = 1024, live = 0, scratch = 0, unread = 0;
    p->act_start = malloc(sizeof(size_t) * (sc->nsteps + 1));
    p->acts = malloc(sizeof *p->acts * cap);
    if (st == BEAA_OK && (!p->act_start || !p->acts)) st = BEAA_ERR_NOMEM;
    /* pass 1 finds min_budget (no eviction can go below it); pass 2 plans */
    for (int pass = 0; pass < 2 && st == BEAA_OK; pass++) {
        memset(r.state, 0, r.nct + 1);
        memset(r.rd_pos, 0, sizeof(size_t) * (r.nct + 1));
        memset(r.made_flag, 0, r.nct + 1);
        r.nres = 0;
        live = scratch = 0;
        unread = r.base[1] * c0b; /* every input's c_0 until its first load */
        p->nacts = 0;
        p->peak_bytes = p->peak_upload_bytes = 0;
        p->input_reads = p->input_read_bytes = p->spills = p->spill_bytes = p->reloads = 0;
        p->scratch_peak_bytes = 0;
        for (size_t k = 0; k < sc->nsteps && st == BEAA_OK; k++) {
            uint32_t si = sc->step_stage[k];
            unsigned lvl = L - si;
            step_collect(&r, si, sc->step_group[k]);
            size_t transient = beaa_nn_group_transient_bytes(&net->stages[si], r.rows, log_n, lvl, threads);
            size_t produced = r.made * r.bytes[si + 1], need_all = 0, loads = 0;
            for (size_t i = 0; i < r.nneed; i++) {
                need_all += r.bytes[si];
                if (r.state[r.need[i]] != ST_RESIDENT) loads += r.bytes[si];
            }
            if (pass == 0) {
                size_t m = need_all + transient + produced + net->num_classes * r.bytes[L];
                if (m > p->min_budget) p->min_budget = m;
            }
            p->act_start[k] = p->nacts;
            /* evict (farthest next read first) until the step fits */
            while (pass == 1 && budget && live + loads + transient + produced > budget) {
                size_t best = SIZE_MAX, far = 0;
                for (size_t j = 0; j < r.nres; j++) {
                    size_t id = r.res[j];
                    if (r.in_need[id] || id >= r.base[L]) continue; /* needed now, or a logit */
                    size_t nr = next_read(&r, id);
                    /* prefer dropping a network input (no write) when the reads tie */
                    if (best == SIZE_MAX || nr > far || (nr == far && id < r.base[1])) {
                        best = id;
                        far = nr;
                    }
                }
                if (best == SIZE_MAX) { st = BEAA_ERR_MEMORY_LIMIT; break; }
                uint32_t es = stage_of(&r, best);
                res_del(&r, best, ST_EVICTED);
                live -= r.bytes[es];
                if (p->nacts == cap) {
                    beaa_nn_ooc_action *na = realloc(p->acts, sizeof *na * (cap *= 2));
                    if (!na) { st = BEAA_ERR_NOMEM; break; }
                    p->acts = na;
                }
                beaa_nn_ooc_action a = { es == 0 ? BEAA_NN_OOC_DROP : BEAA_NN_OOC_SPILL, 0,
                                         (uint16_t)es, (uint32_t)(best - r.base[es]) };
                p->acts[p->nacts++] = a;
                if (es > 0) {
                    p->spills++;
                    p->spill_bytes += r.bytes[es];
                    scratch += r.bytes[es];
                    if (scratch > p->scratch_peak_bytes) p->scratch_peak_bytes = scratch;
                }
            }
            if (st != BEAA_OK) break;
            /* loads of the step's inputs */
            for (size_t i = 0; i < r.nneed; i++) {
                size_t id = r.need[i];
                if (r.state[id] == ST_RESIDENT) continue;
                if (r.state[id] == ST_DEAD || (si > 0 && r.state[id] == ST_UNSEEN)) {
                    st = BEAA_ERR_INTERNAL; /* read after its last read, or before produced */
                    break;
                }
                int spilled = si > 0;
                if (p->nacts == cap) {
                    beaa_nn_ooc_action *na = realloc(p->acts, sizeof *na * (cap *= 2));
                    if (!na) { st = BEAA_ERR_NOMEM; break; }
                    p->acts = na;
                }
                beaa_nn_ooc_action a = { spilled ? BEAA_NN_OOC_RELOAD : BEAA_NN_OOC_LOAD, 0,
                                         (uint16_t)si, (uint32_t)(id - r.base[si]) };
                p->acts[p->nacts++] = a;
                if (spilled) { p->reloads++; scratch -= r.bytes[si]; }
                else {
                    if (r.state[id] == ST_UNSEEN) unread -= c0b;
                    p->input_reads++;
                    p->input_read_bytes += r.bytes[si];
                }
                res_add(&r, id);
                live += r.bytes[si];
            }
            if (st != BEAA_OK) break;
            if (live + transient + produced > p->peak_bytes) p->peak_bytes = live + transient + produced;
            if (live + transient + produced + unread > p->peak_upload_bytes)
                p->peak_upload_bytes = live + transient + produced + unread;
            /* after the step: inputs past their last read go, outputs are resident */
            for (size_t i = 0; i < r.nneed; i++) {
                size_t id = r.need[i];
                r.rd_pos[id]++;
                if (next_read(&r, id) == SIZE_MAX) {
                    res_del(&r, id, ST_DEAD);
                    live -= r.bytes[si];
                }
            }
            for (size_t i = 0; i < r.made; i++) {
                res_add(&r, r.need[r.nneed + i]);
                live += r.bytes[si + 1];
            }
        }
        p->act_start[sc->nsteps] = p->nacts;
        if (pass == 0 && st == BEAA_OK && budget && budget < p->min_budget) st = BEAA_ERR_MEMORY_LIMIT;
    }
    if (st == BEAA_ERR_MEMORY_LIMIT) {
        /* the plan is returned without actions, with min_budget for the message */
        p->nacts = 0;
        for (size_t k = 0; k <= sc->nsteps; k++) p->act_start[k] = 0;
        *out = p;
    } else if (st != BEAA_OK) {
        beaa_nn_ooc_plan_free(p);
    } else {
        *out = p;
    }
    replay_free(&r);
    return st;
}

beaa_status beaa_nn_ooc_plan_make(const beaa_nn_net *net, const beaa_nn_schedule *sc,
                                  unsigned log_n, int threads, size_t budget,
                                  beaa_nn_ooc_plan **out)
{
    return plan_make(net, sc, log_n, threads, budget, 0, out);
}

beaa_status beaa_nn_ooc_plan_make_upload(const beaa_nn_net *net, const beaa_nn_schedule *sc,
                                         unsigned log_n, int threads, size_t c0_bytes,
                                         beaa_nn_ooc_plan **out)
{
    return plan_make(net, sc, log_n, threads, 0, c0_bytes, out);
}

/* Threads for n calls on up to `slots` slots, and the slot of the calling thread (its number in
 * the parallel region: no two running calls share it). */
static int slot_threads(int threads, unsigned slots, size_t n)
{
    int nt = threads < (int)slots ? threads : (int)slots;
    return (size_t)nt > n ? (int)n : nt;
}

static unsigned this_slot(void)
{
#ifdef _OPENMP
    return (unsigned)omp_get_thread_num();
#else
    return 0;
#endif
}

/* The SPILL and DROP actions acts[0 .. n): every ciphertext taken from the engine in order (a
 * failure there means the plan is not this schedule's), then the spills run in parallel on up
 * to `threads` slots of io, each ciphertext freed when its spill is done; the first error in
 * action order is returned. */
static beaa_status spill_parallel(const beaa_nn_ooc_io *io, beaa_nn_exec *ex,
                                  const beaa_nn_ooc_action *acts, size_t n, int threads)
{
    beaa_ckks_ciphertext **cts = calloc(n, sizeof *cts);
    beaa_status *sts = malloc(sizeof *sts * n);
    if (!cts || !sts) { free(cts); free(sts); return BEAA_ERR_NOMEM; }
    beaa_status err = BEAA_OK;
    for (size_t i = 0; i < n && err == BEAA_OK; i++)
        if (beaa_nn_exec_take(ex, acts[i].si, acts[i].idx, &cts[i]) != BEAA_OK) err = BEAA_ERR_ARG;
#pragma omp parallel for num_threads(slot_threads(threads, io->scratch_slots, n)) schedule(dynamic, 1)
    for (size_t i = 0; i < n; i++) {
        sts[i] = BEAA_OK;
        if (err == BEAA_OK && acts[i].kind == BEAA_NN_OOC_SPILL)
            sts[i] = io->spill_slot(io->user, this_slot(), acts[i].si, acts[i].idx, cts[i]);
        beaa_ckks_ciphertext_free(cts[i]);
    }
    for (size_t i = 0; i < n && err == BEAA_OK; i++) err = sts[i];
    free(cts);
    free(sts);
    return err;
}

/* The LOAD or RELOAD actions acts[0 .. n) (all of one kind) read in parallel by up to `threads`
 * slots of io, then put into the engine in order; the first error in action order is returned,
 * every ciphertext not put freed. */
static beaa_status read_parallel(const beaa_nn_ooc_io *io, beaa_nn_exec *ex,
                                 const beaa_nn_ooc_action *acts, size_t n, int threads)
{
    const int load = acts[0].kind == BEAA_NN_OOC_LOAD;
    const unsigned slots = load ? io->load_slots : io->scratch_slots;
    beaa_ckks_ciphertext **cts = calloc(n, sizeof *cts);
    beaa_status *sts = malloc(sizeof *sts * n);
    if (!cts || !sts) { free(cts); free(sts); return BEAA_ERR_NOMEM; }
#pragma omp parallel for num_threads(slot_threads(threads, slots, n)) schedule(dynamic, 1)
    for (size_t i = 0; i < n; i++) {
        sts[i] = load ? io->load_input_slot(io->user, this_slot(), acts[i].idx, &cts[i])
                      : io->reload_slot(io->user, this_slot(), acts[i].si, acts[i].idx, &cts[i]);
    }
    beaa_status err = BEAA_OK;
    for (size_t i = 0; i < n; i++) {
        if (err == BEAA_OK) err = sts[i];
        if (err == BEAA_OK) err = beaa_nn_exec_put(ex, load ? 0 : acts[i].si, acts[i].idx, cts[i]);
        else beaa_ckks_ciphertext_free(cts[i]);
    }
    free(cts);
    free(sts);
    return err;
}

/* The end of the run of actions of a's kind that starts at a (spills and drops count as one kind). */
static size_t run_end(const beaa_nn_ooc_plan *plan, size_t a, size_t end)
{
    const beaa_nn_ooc_kind k = plan->acts[a].kind;
    const int spill = k == BEAA_NN_OOC_SPILL || k == BEAA_NN_OOC_DROP;
    size_t b = a + 1;
    while (b < end) {
        const beaa_nn_ooc_kind kb = plan->acts[b].kind;
        if (spill ? kb != BEAA_NN_OOC_SPILL && kb != BEAA_NN_OOC_DROP : kb != k) break;
        b++;
    }
    return b;
}

beaa_status beaa_nn_forward_ooc(const beaa_nn_net *net, const beaa_nn_qnet *qn,
                                const beaa_ckks_relin_key *rk, const beaa_nn_schedule *sc,
                                const beaa_nn_ooc_plan *plan, const beaa_nn_ooc_io *io,
                                beaa_ckks_ciphertext **logits, const beaa_nn_forward_opts *opts,
                                beaa_nn_forward_stats *stats)
{
    if (!net || !qn || !sc || !plan || !io || !logits || !io->load_input || !io->spill ||
        !io->reload)
        return BEAA_ERR_ARG;
    for (uint32_t k = 0; k < net->num_classes; k++) logits[k] = NULL;
    if (plan->nsteps != sc->nsteps || plan->act_start[sc->nsteps] != plan->nacts) return BEAA_ERR_ARG;
    if (plan->budget && !plan->nacts && plan->min_budget > plan->budget) return BEAA_ERR_MEMORY_LIMIT;
    const uint32_t L = net->nstages;
    double t_all = beaa_nn_now_s(), io_s = 0;
    if (stats) { memset(stats, 0, sizeof *stats); stats->nstages = L; }
    beaa_nn_exec *ex = NULL;
    beaa_status err = beaa_nn_exec_new(net, qn, rk, sc, NULL, opts ? opts->threads : 0, NULL, NULL, &ex);
    const int threads = opts && opts->threads > 0 ? opts->threads : beaa_cpu_threads();
    const int parallel_loads = io->load_input_slot && io->load_slots >= 2 && threads >= 2;
    const int parallel_scratch = io->spill_slot && io->reload_slot && io->scratch_slots >= 2 && threads >= 2;
    for (size_t k = 0; k < sc->nsteps && err == BEAA_OK; k++) {
        uint32_t si = sc->step_stage[k];
        if (io->check) err = io->check(io->user);
        double t0 = beaa_nn_now_s();
        for (size_t a = plan->act_start[k]; a < plan->act_start[k + 1] && err == BEAA_OK; a++) {
            const beaa_nn_ooc_action *ac = &plan->acts[a];
            beaa_ckks_ciphertext *ct = NULL;
            /* this action and the ones of its kind right after it at once (spills with drops) */
            const int par = ac->kind == BEAA_NN_OOC_LOAD ? parallel_loads : parallel_scratch;
            size_t b = par ? run_end(plan, a, plan->act_start[k + 1]) : a + 1, nsp = 0;
            for (size_t i = a; i < b; i++) nsp += plan->acts[i].kind == BEAA_NN_OOC_SPILL;
            if (b - a >= 2 && (ac->kind == BEAA_NN_OOC_LOAD || ac->kind == BEAA_NN_OOC_RELOAD || nsp >= 2)) {
                if (ac->kind == BEAA_NN_OOC_LOAD || ac->kind == BEAA_NN_OOC_RELOAD)
                    err = read_parallel(io, ex, ac, b - a, threads);
                else
                    err = spill_parallel(io, ex, ac, b - a, threads);
                a = b - 1;
                continue;
            }
            switch (ac->kind) {
            case BEAA_NN_OOC_DROP:
            case BEAA_NN_OOC_SPILL:
                err = beaa_nn_exec_take(ex, ac->si, ac->idx, &ct);
                if (err != BEAA_OK) err = BEAA_ERR_ARG; /* the plan is not this schedule's */
                else if (ac->kind == BEAA_NN_OOC_SPILL) err = io->spill(io->user, ac->si, ac->idx, ct);
                beaa_ckks_ciphertext_free(ct);
                break;
            case BEAA_NN_OOC_LOAD:
                err = io->load_input(io->user, ac->idx, &ct);
                if (err == BEAA_OK) err = beaa_nn_exec_put(ex, 0, ac->idx, ct);
                else beaa_ckks_ciphertext_free(ct);
                break;
            case BEAA_NN_OOC_RELOAD:
                err = io->reload(io->user, ac->si, ac->idx, &ct);
                if (err == BEAA_OK) err = beaa_nn_exec_put(ex, ac->si, ac->idx, ct);
                else beaa_ckks_ciphertext_free(ct);
                break;
            default:
                err = BEAA_ERR_ARG;
            }
        }
        io_s += beaa_nn_now_s() - t0;
        if (err == BEAA_OK) err = beaa_nn_exec_run(ex, si, sc->step_group[k]);
        if (err == BEAA_OK && opts && opts->progress) opts->progress(opts->user, si, L, k + 1, sc->nsteps);
    }
    for (uint32_t k = 0; k < net->num_classes && err == BEAA_OK; k++)
        if (beaa_nn_exec_take_logit(ex, k, &logits[k]) != BEAA_OK) err = BEAA_ERR_INTERNAL;
    if (err != BEAA_OK)
        for (uint32_t k = 0; k < net->num_classes; k++) {
            beaa_ckks_ciphertext_free(logits[k]);
            logits[k] = NULL;
        }
    if (stats && ex) {
        beaa_nn_exec_stats(ex, stats);
        stats->total_s = beaa_nn_now_s() - t_all;
        stats->io_s = io_s;
    }
    beaa_nn_exec_free(ex);
    return err;
}
