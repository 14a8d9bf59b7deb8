/* check_nn_part.c - the pieces under out-of-core and multi-process inference: the partition of
 * every stage by rows (ownership, readers, producers, halo counts, balance), the out-of-core
 * plan (lazy loads, Belady eviction under a budget, its refusal below the smallest budget), and
 * the engine of nn/exec.h: R parts simulated in one process (outputs handed between engines as
 * the MPI tool sends them) and the out-of-core pass with a tight budget give logit ciphertexts
 * bit for bit equal to beaa_nn_forward's; the engine's refusals. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ckks/ckks.h"
#include "nn/exec.h"
#include "nn/fold.h"
#include "nn/forward.h"
#include "nn/model.h"
#include "nn/ooc.h"
#include "nn/pack.h"
#include "nn/partition.h"
#include "nn/plain.h"
#include "nn/plan.h"
#include "nn/quant.h"
#include "nn/schedule.h"
#include "tests/test_models.h"
#include "tests/test_util.h"

#define HW 14

static double urand(double lo, double hi) { return lo + (hi - lo) * (test_rng_unit() + 1.0) / 2.0; }

/* test_small_model on 1xHWxHW inputs (7x7 after the first conv: rows of odd length), element-
 * wise activations in the first conv and the Fire, channel-wise after; 5 stages. */
static beaa_model *model(void)
{
    static const test_fill fill = { .wscale = 1.0, .wmul = 1.7f, .bias = 0.2,
                                    .a = { 0.02, 0.2 }, .b = { 0.4, 0.7 }, .c0 = { -0.1, 0.3 },
                                    .gamma = { 0.6, 1.4 }, .beta = { -0.5, 0.5 },
                                    .mean = { -0.3, 0.3 }, .var = { 0.5, 2.0 } };
    beaa_model *m = test_small_model(HW, &test_small_widths, BEAA_POLY_ELEMENT, BEAA_POLY_CHANNEL);
    test_rng_seed(42);
    test_model_fill(m, &fill, urand);
    return m;
}

/* ------------------------------------------------------------------ partition */

typedef struct collect {
    const beaa_nn_stage *s;
    uint8_t *mark;
    double cost;
} collect;

static void collect_visit(void *user, uint32_t b)
{
    collect *c = user;
    const beaa_nn_fblock *bl = &c->s->blocks[b];
    c->cost += (double)bl->m * (2.0 * bl->k + 130.0);
    if (c->mark)
        for (uint32_t i = 0; i < bl->k; i++) c->mark[bl->in[i]] = 1;
}

START_TEST(test_partition)
{
    beaa_model *m = model();
    beaa_nn_net *net = NULL;
    beaa_nn_schedule *sc = NULL;
    ck_assert_int_eq(beaa_nn_net_fold(m, &net), BEAA_OK);
    ck_assert_int_eq(beaa_nn_schedule_make(net, &sc), BEAA_OK);
    beaa_nn_partition *pt = NULL;
    ck_assert_int_eq(beaa_nn_partition_rows(net, sc, 0, &pt), BEAA_ERR_ARG);
    ck_assert_ptr_null(pt);
    ck_assert_int_eq(beaa_nn_partition_rows(net, sc, BEAA_NN_MAX_PARTS + 1, &pt), BEAA_ERR_ARG);
    uint32_t parts[] = { 1, 2, 3, 5, 40 }, seen_dummy[64];
    for (size_t pi = 0; pi < sizeof parts / sizeof parts[0]; pi++) {
        size_t col_bands = 0;
        uint32_t P = parts[pi];
        ck_assert_int_eq(beaa_nn_partition_rows(net, sc, P, &pt), BEAA_OK);
        for (uint32_t si = 0; si < net->nstages; si++) {
            const beaa_nn_stage *s = &net->stages[si];
            uint32_t ng = sc->stages[si].ngroups;
            size_t nin = (size_t)s->cin * s->hin * s->win;
            /* contiguous bands covering every group once */
            ck_assert_uint_eq(pt->gfirst[si][0], 0);
            ck_assert_uint_eq(pt->gfirst[si][P], ng);
            for (uint32_t p = 0; p < P; p++) ck_assert_uint_le(pt->gfirst[si][p], pt->gfirst[si][p + 1]);
            for (uint32_t g = 0; g < ng; g++) {
                uint32_t o = beaa_nn_partition_owner(pt, si, g);
                ck_assert(g >= pt->gfirst[si][o] && g < pt->gfirst[si][o + 1]);
            }
            /* balance: no band more than the ideal share plus one group's cost */
            double total = 0, gmax = 0;
            for (uint32_t g = 0; g < ng; g++) {
                collect c = { s, NULL, 0 };
                beaa_nn_sched_group_blocks(net, sc, si, g, collect_visit, &c);
                total += c.cost;
                if (c.cost > gmax) gmax = c.cost;
            }
            for (uint32_t p = 0; p < P; p++) {
                collect c = { s, NULL, 0 };
                for (uint32_t g = pt->gfirst[si][p]; g < pt->gfirst[si][p + 1]; g++)
                    beaa_nn_sched_group_blocks(net, sc, si, g, collect_visit, &c);
                ck_assert_msg(c.cost <= total / P + gmax + 1e-9, "stage %u part %u of %u: cost %g, ideal %g",
                              si, p, P, c.cost, total / P);
            }
            /* readers: exactly the parts whose groups read each input (brute force) */
            uint8_t *mk = calloc(nin + 1, 1);
            for (uint32_t p = 0; p < P; p++) {
                memset(mk, 0, nin + 1);
                collect c = { s, mk, 0 };
                for (uint32_t g = pt->gfirst[si][p]; g < pt->gfirst[si][p + 1]; g++)
                    beaa_nn_sched_group_blocks(net, sc, si, g, collect_visit, &c);
                uint8_t *mk2 = calloc(nin + 1, 1);
                beaa_nn_groups_inputs(net, sc, si, pt->gfirst[si][p], pt->gfirst[si][p + 1], mk2);
                ck_assert(memcmp(mk, mk2, nin) == 0);
                free(mk2);
                for (size_t e = 0; e < nin; e++) {
                    int listed = 0;
                    for (uint32_t r = pt->rstart[si][e]; r < pt->rstart[si][e + 1]; r++) {
                        listed += pt->readers[si][r] == p;
                        if (r > pt->rstart[si][e]) ck_assert_uint_lt(pt->readers[si][r - 1], pt->readers[si][r]);
                    }
                    ck_assert_int_eq(listed, mk[e]);
                }
            }
            free(mk);
            /* producers: an input of stage si >= 1 read by someone is made by exactly one part */
            if (si > 0)
                for (size_t e = 0; e < nin; e++)
                    if (pt->rstart[si][e + 1] > pt->rstart[si][e]) ck_assert_uint_lt(pt->producer[si][e], P);
        }
        /* halo counts: the sum over parts equals the (element, other reader) pairs */
        for (uint32_t si = 0; si + 1 < net->nstages; si++) {
            size_t want = 0, got = 0, nin = beaa_nn_stage_out_count(&net->stages[si]);
            for (size_t e = 0; e < nin; e++)
                for (uint32_t r = pt->rstart[si + 1][e]; r < pt->rstart[si + 1][e + 1]; r++)
                    want += pt->readers[si + 1][r] != pt->producer[si + 1][e];
            for (uint32_t p = 0; p < P; p++) got += beaa_nn_partition_sends(pt, net, si, p);
            ck_assert_uint_eq(got, want);
            if (P == 1) ck_assert_uint_eq(got, 0);
        }
        /* directions: neighbours start at their common boundary */
        ck_assert_int_eq(beaa_nn_partition_dir(pt, 0), P > 1 ? -1 : 1);
        if (P > 1) ck_assert_int_eq(beaa_nn_partition_dir(pt, 1), 1);
        /* visiting order: every own group once; one part: the schedule's order; a band shorter
         * than the map is wide: column by column, each column in the part's direction */
        for (uint32_t si = 0; si < net->nstages; si++) {
            const beaa_nn_stage *s = &net->stages[si];
            const uint32_t cols = s->pool_kh ? s->pw : s->wout, kh = s->pool_kh ? s->pool_kh : 1;
            for (uint32_t p = 0; p < P; p++) {
                uint32_t a = pt->gfirst[si][p], b = pt->gfirst[si][p + 1], ord[64], seen[64];
                ck_assert_uint_le(b - a, 64);
                ck_assert_int_eq(beaa_nn_partition_order(pt, net, sc, si, p, ord), BEAA_OK);
                memset(seen, 0, sizeof seen);
                uint32_t r0 = UINT32_MAX, r1 = 0;
                for (uint32_t i = 0; i < b - a; i++) {
                    ck_assert(ord[i] >= a && ord[i] < b);
                    ck_assert_uint_eq(seen[ord[i] - a]++, 0);
                    uint32_t r = (uint32_t)sc->stages[si].order[sc->stages[si].gstart[ord[i]]] / s->wout;
                    r0 = r < r0 ? r : r0;
                    r1 = r > r1 ? r : r1;
                }
                int by_cols = b > a && (r1 - r0) / kh + 1 < cols;
                if (P == 1) ck_assert(!by_cols);
                col_bands += (size_t)by_cols;
                for (uint32_t i = 1; i < b - a; i++) {
                    uint32_t q0 = (uint32_t)sc->stages[si].order[sc->stages[si].gstart[ord[i - 1]]];
                    uint32_t q1 = (uint32_t)sc->stages[si].order[sc->stages[si].gstart[ord[i]]];
                    int dir = beaa_nn_partition_dir(pt, p);
                    if (!by_cols) ck_assert_int_eq((int)ord[i] - (int)ord[i - 1], dir);
                    else if (q0 % s->wout == q1 % s->wout)
                        ck_assert(dir > 0 ? q1 / s->wout > q0 / s->wout : q1 / s->wout < q0 / s->wout);
                    else ck_assert_uint_lt(q0 % s->wout, q1 % s->wout);
                }
            }
            ck_assert_int_eq(beaa_nn_partition_order(pt, net, sc, si, P, seen_dummy), BEAA_ERR_ARG);
        }
        ck_assert_int_eq(beaa_nn_partition_order(pt, net, sc, net->nstages, 0, seen_dummy), BEAA_ERR_ARG);
        ck_assert_int_eq(beaa_nn_partition_order(pt, net, sc, 0, 0, NULL), BEAA_ERR_ARG);
        if (P == 2) ck_assert_uint_gt(col_bands, 0);
        uint8_t **own = NULL;
        ck_assert_int_eq(beaa_nn_partition_own(pt, sc, P, &own), BEAA_ERR_ARG);
        ck_assert_int_eq(beaa_nn_partition_own(pt, sc, P - 1, &own), BEAA_OK);
        for (uint32_t si = 0; si < net->nstages; si++)
            for (uint32_t g = 0; g < sc->stages[si].ngroups; g++)
                ck_assert_int_eq(own[si][g], beaa_nn_partition_owner(pt, si, g) == P - 1);
        free(own);
        beaa_nn_partition_free(pt);
        pt = NULL;
    }
    beaa_nn_schedule_free(sc);
    beaa_nn_net_free(net);
    beaa_model_free(m);
}
END_TEST

/* ------------------------------------------------------------------ out-of-core plan */

/* Replays a plan against its schedule: every input present when a group reads it, spilled
 * before reloaded, loads of absent ones only; returns the number of stage-0 loads. */
typedef struct check_ctx {
    const beaa_nn_stage *s;
    uint8_t *present;
    int ok;
} check_ctx;

static void check_visit(void *user, uint32_t b)
{
    check_ctx *c = user;
    const beaa_nn_fblock *bl = &c->s->blocks[b];
    for (uint32_t i = 0; i < bl->k; i++)
        if (!c->present[bl->in[i]]) c->ok = 0;
}

static void mark_out(void *user, uint32_t b)
{
    check_ctx *c = user;
    (void)c;
    (void)b;
}

static size_t replay_plan(const beaa_nn_net *net, const beaa_nn_schedule *sc, const beaa_nn_ooc_plan *p)
{
    uint32_t L = net->nstages;
    uint8_t *pres[16], *spilled[16];
    for (uint32_t si = 0; si < L; si++) {
        const beaa_nn_stage *s = &net->stages[si];
        size_t nin = (size_t)s->cin * s->hin * s->win;
        pres[si] = calloc(nin + 1, 1);
        spilled[si] = calloc(nin + 1, 1);
    }
    size_t loads = 0;
    for (size_t k = 0; k < sc->nsteps; k++) {
        for (size_t a = p->act_start[k]; a < p->act_start[k + 1]; a++) {
            const beaa_nn_ooc_action *ac = &p->acts[a];
            ck_assert_uint_lt(ac->si, L);
            switch (ac->kind) {
            case BEAA_NN_OOC_LOAD:
                ck_assert_uint_eq(ac->si, 0);
                ck_assert(!pres[0][ac->idx]);
                pres[0][ac->idx] = 1;
                loads++;
                break;
            case BEAA_NN_OOC_DROP:
                ck_assert_uint_eq(ac->si, 0);
                ck_assert(pres[0][ac->idx]);
                pres[0][ac->idx] = 0;
                break;
            case BEAA_NN_OOC_SPILL:
                ck_assert_uint_gt(ac->si, 0);
                ck_assert(pres[ac->si][ac->idx]);
                pres[ac->si][ac->idx] = 0;
                spilled[ac->si][ac->idx] = 1;
                break;
            case BEAA_NN_OOC_RELOAD:
                ck_assert(spilled[ac->si][ac->idx] && !pres[ac->si][ac->idx]);
                spilled[ac->si][ac->idx] = 0;
                pres[ac->si][ac->idx] = 1;
                break;
            default:
                ck_abort_msg("action kind %u", ac->kind);
            }
        }
        uint32_t si = sc->step_stage[k];
        check_ctx c = { &net->stages[si], pres[si], 1 };
        beaa_nn_sched_group_blocks(net, sc, si, sc->step_group[k], check_visit, &c);
        ck_assert_msg(c.ok, "step %zu reads an absent input", k);
        beaa_nn_sched_group_blocks(net, sc, si, sc->step_group[k], mark_out, &c);
        /* outputs become present (all of them; a few unread ones do not matter here) */
        if (si + 1 < L) {
            const beaa_nn_sched_stage *ts = &sc->stages[si];
            const beaa_nn_stage *s = &net->stages[si];
            size_t hw = (size_t)s->hout * s->wout;
            for (int32_t oi = ts->gstart[sc->step_group[k]]; oi < ts->gstart[sc->step_group[k] + 1]; oi++)
                for (uint32_t ch = 0; ch < s->cout; ch++) {
                    int32_t e = ts->pidx[ch * hw + (size_t)ts->order[oi]];
                    if (e >= 0) pres[si + 1][e] = 1;
                }
        }
    }
    for (uint32_t si = 0; si < L; si++) { free(pres[si]); free(spilled[si]); }
    return loads;
}

START_TEST(test_ooc_plan)
{
    beaa_model *m = model();
    beaa_nn_net *net = NULL;
    beaa_nn_schedule *sc = NULL;
    ck_assert_int_eq(beaa_nn_net_fold(m, &net), BEAA_OK);
    ck_assert_int_eq(beaa_nn_schedule_make(net, &sc), BEAA_OK);
    beaa_nn_ooc_plan *lazy = NULL, *p = NULL;
    ck_assert_int_eq(beaa_nn_ooc_plan_make(net, sc, 15, 2, 0, &lazy), BEAA_OK);
    /* no budget: every read input loaded exactly once, nothing evicted */
    size_t used = 0;
    for (size_t e = 0; e < (size_t)HW * HW; e++) used += sc->stages[0].uses[e] > 0;
    ck_assert_uint_eq(replay_plan(net, sc, lazy), used);
    ck_assert_uint_eq(lazy->input_reads, used);
    ck_assert_uint_eq(lazy->spills + lazy->reloads, 0);
    size_t resident = beaa_nn_schedule_peak_bytes(net, sc, 15, 2);
    ck_assert_uint_le(lazy->peak_bytes, resident);
    /* inputs held as c_0 until first read (nn/upload.h): the lazy peak plus at most every
     * input's c_0, and more than the lazy peak (the first group runs with the others unread) */
    size_t c0 = beaa_nn_ct_bytes(15, 1, net->nstages), nin = (size_t)net->in_c * HW * HW;
    ck_assert_uint_gt(lazy->peak_upload_bytes, lazy->peak_bytes);
    ck_assert_uint_le(lazy->peak_upload_bytes, lazy->peak_bytes + nin * c0);
    ck_assert_uint_lt(lazy->min_budget, lazy->peak_bytes);
    /* budgets between the smallest and the lazy peak: within budget, spills, valid */
    int spilled_any = 0;
    for (int i = 0; i < 4; i++) {
        size_t b = lazy->min_budget + (lazy->peak_bytes - lazy->min_budget) * (size_t)i / 4;
        ck_assert_int_eq(beaa_nn_ooc_plan_make(net, sc, 15, 2, b, &p), BEAA_OK);
        ck_assert_uint_le(p->peak_bytes, b);
        ck_assert_uint_ge(replay_plan(net, sc, p), used);
        ck_assert_uint_eq(p->reloads, p->spills);  /* every spilled output is read again */
        ck_assert_uint_le(p->scratch_peak_bytes, p->spill_bytes);
        spilled_any |= p->spills > 0;
        beaa_nn_ooc_plan_free(p);
        p = NULL;
    }
    ck_assert(spilled_any);
    /* below the smallest budget: refused, with the smallest budget to say */
    ck_assert_int_eq(beaa_nn_ooc_plan_make(net, sc, 15, 2, lazy->min_budget / 2, &p), BEAA_ERR_MEMORY_LIMIT);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->min_budget, lazy->min_budget);
    ck_assert_uint_eq(p->nacts, 0);
    beaa_nn_ooc_plan_free(p);
    ck_assert_int_eq(beaa_nn_ooc_plan_make(NULL, sc, 15, 2, 0, &p), BEAA_ERR_ARG);
    beaa_nn_ooc_plan_free(lazy);
    beaa_nn_schedule_free(sc);
    beaa_nn_net_free(net);
    beaa_model_free(m);
}
END_TEST

/* ------------------------------------------------------------------ the engine, encrypted */

typedef struct env {
    beaa_model *m;
    beaa_nn_net *net;
    beaa_nn_plan plan;
    beaa_ckks_context *ctx;
    beaa_ckks_secret_key *sk;
    beaa_ckks_relin_key *rk;
    beaa_nn_qnet *qn;
    beaa_nn_schedule *sc;
    beaa_ckks_ciphertext *in[HW * HW];
    beaa_ckks_ciphertext *ref[4];   /* beaa_nn_forward's logits */
} env;

static void env_make(env *e, size_t n)
{
    memset(e, 0, sizeof *e);
    e->m = model();
    ck_assert_int_eq(beaa_nn_net_fold(e->m, &e->net), BEAA_OK);
    beaa_nn_plan_opts o;
    beaa_nn_plan_opts_default(&o);
    o.batch = n;
    o.force_log_n = 12;
    o.allow_insecure = 1;
    ck_assert_int_eq(beaa_nn_plan_make(e->net, &o, &e->plan), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_context_new(&e->plan.spec, &e->ctx), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_secret_key_gen(e->ctx, &e->sk), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_relin_key_gen(e->sk, &e->rk), BEAA_OK);
    ck_assert_int_eq(beaa_nn_quantize(e->net, &e->plan, e->ctx, &e->qn), BEAA_OK);
    ck_assert_int_eq(beaa_nn_schedule_make(e->net, &e->sc), BEAA_OK);
    double *x = malloc(sizeof(double) * n * HW * HW);
    for (size_t i = 0; i < n * HW * HW; i++) x[i] = urand(-1.5, 1.5);
    ck_assert_int_eq(beaa_nn_pack_encrypt(e->sk, x, n, HW * HW, e->plan.levels, e->plan.in_scale, e->in), BEAA_OK);
    /* the reference: beaa_nn_forward on copies; and it decrypts to the plaintext network */
    beaa_ckks_ciphertext *cp[HW * HW];
    for (int i = 0; i < HW * HW; i++) ck_assert_int_eq(beaa_ckks_ciphertext_clone(e->in[i], &cp[i]), BEAA_OK);
    ck_assert_int_eq(beaa_nn_forward(e->net, e->qn, e->rk, cp, e->ref, NULL, NULL), BEAA_OK);
    double *got = malloc(sizeof(double) * n * 4), *want = malloc(sizeof(double) * n * 4);
    ck_assert_int_eq(beaa_nn_pack_decrypt(e->sk, e->ref, 4, n, got), BEAA_OK);
    ck_assert_int_eq(beaa_nn_plain_folded_forward(e->net, x, n, want), BEAA_OK);
    double maxref = 0, err = 0;
    for (size_t i = 0; i < n * 4; i++) {
        if (fabs(want[i]) > maxref) maxref = fabs(want[i]);
        if (fabs(got[i] - want[i]) > err) err = fabs(got[i] - want[i]);
    }
    ck_assert_msg(err <= 2e-2 * (1 + maxref), "logit error %g (max |logit| %g)", err, maxref);
    free(x); free(got); free(want);
}

static void env_free(env *e)
{
    for (int i = 0; i < HW * HW; i++) beaa_ckks_ciphertext_free(e->in[i]);
    for (int k = 0; k < 4; k++) beaa_ckks_ciphertext_free(e->ref[k]);
    beaa_nn_schedule_free(e->sc);
    beaa_nn_qnet_free(e->qn);
    beaa_ckks_relin_key_free(e->rk);
    beaa_ckks_secret_key_free(e->sk);
    beaa_ckks_context_free(e->ctx);
    beaa_nn_net_free(e->net);
    beaa_model_free(e->m);
}

static void same_logits(const env *e, beaa_ckks_ciphertext *const *lg)
{
    for (int k = 0; k < 4; k++) {
        ck_assert_ptr_nonnull(lg[k]);
        ck_assert_uint_eq(lg[k]->level, e->ref[k]->level);
        ck_assert(lg[k]->scale == e->ref[k]->scale);
        size_t words = 2 * (size_t)(lg[k]->level + 1) * beaa_ckks_context_n(e->ctx);
        ck_assert_msg(memcmp(lg[k]->data, e->ref[k]->data, words * 8) == 0, "logit %d differs", k);
    }
}

/* R engines in one process: each output goes (as a copy) to every other part that reads it. */
typedef struct sim {
    beaa_nn_exec *ex[8];
    const beaa_nn_partition *pt;
    uint32_t self;
    size_t sent;
} sim;

static sim g_sim;

static void sim_output(void *user, uint32_t si, uint32_t elem, beaa_ckks_ciphertext **ct, int here)
{
    uint32_t p = (uint32_t)(size_t)user;
    (void)here;
    if (si + 1 >= g_sim.pt->nstages) return;
    for (uint32_t r = g_sim.pt->rstart[si + 1][elem]; r < g_sim.pt->rstart[si + 1][elem + 1]; r++) {
        uint32_t q = g_sim.pt->readers[si + 1][r];
        if (q == p) continue;
        beaa_ckks_ciphertext *c = NULL;
        ck_assert_int_eq(beaa_ckks_ciphertext_clone(*ct, &c), BEAA_OK);
        ck_assert_int_eq(beaa_nn_exec_put(g_sim.ex[q], si + 1, elem, c), BEAA_OK);
        g_sim.sent++;
    }
}

START_TEST(test_parts_identical)
{
    env e;
    env_make(&e, 8);
    for (uint32_t run = 0; run < 6; run++) {
        /* runs 0-2: 1, 2, 3 parts, each running the ready group of its deepest stage in the
         * reverse of the schedule's order; runs 3-5: each part follows its visiting order
         * (beaa_nn_partition_order) stage by stage, as beaa-mpi does */
        const uint32_t P = run % 3 + 1;
        const int follow = run >= 3;
        beaa_nn_partition *pt = NULL;
        ck_assert_int_eq(beaa_nn_partition_rows(e.net, e.sc, P, &pt), BEAA_OK);
        memset(&g_sim, 0, sizeof g_sim);
        g_sim.pt = pt;
        uint8_t **own[8];
        for (uint32_t p = 0; p < P; p++) {
            ck_assert_int_eq(beaa_nn_partition_own(pt, e.sc, p, &own[p]), BEAA_OK);
            ck_assert_int_eq(beaa_nn_exec_new(e.net, e.qn, e.rk, e.sc, (const uint8_t *const *)own[p],
                                              1 + (int)(p % 2), sim_output, (void *)(size_t)p,
                                              &g_sim.ex[p]), BEAA_OK);
            for (int i = 0; i < HW * HW; i++) {
                if (beaa_nn_exec_uses(g_sim.ex[p], 0, (size_t)i) <= 0) continue;
                beaa_ckks_ciphertext *c = NULL;
                ck_assert_int_eq(beaa_ckks_ciphertext_clone(e.in[i], &c), BEAA_OK);
                ck_assert_int_eq(beaa_nn_exec_put(g_sim.ex[p], 0, (size_t)i, c), BEAA_OK);
            }
        }
        uint32_t ord[8][BEAA_NN_MAX_STAGES][HW * HW], pos[8][BEAA_NN_MAX_STAGES];
        memset(pos, 0, sizeof pos);
        for (uint32_t p = 0; p < P; p++)
            for (uint32_t si = 0; si < e.net->nstages; si++)
                ck_assert_int_eq(beaa_nn_partition_order(pt, e.net, e.sc, si, p, ord[p][si]), BEAA_OK);
        /* each round, every part runs one ready group of its deepest stage that has one */
        size_t left = e.sc->nsteps;
        while (left > 0) {
            size_t before = left;
            for (uint32_t p = 0; p < P; p++)
                for (uint32_t si = e.net->nstages; si-- > 0;) {
                    int ran = 0;
                    if (follow) {
                        uint32_t n = pt->gfirst[si][p + 1] - pt->gfirst[si][p];
                        if (pos[p][si] == n || !beaa_nn_exec_ready(g_sim.ex[p], si, ord[p][si][pos[p][si]]))
                            continue;
                        ck_assert_int_eq(beaa_nn_exec_run(g_sim.ex[p], si, ord[p][si][pos[p][si]++]), BEAA_OK);
                        left--;
                        break;
                    }
                    for (uint32_t g = pt->gfirst[si][p + 1]; g-- > pt->gfirst[si][p];) {
                        if (!own[p][si][g]) continue;
                        if (!beaa_nn_exec_ready(g_sim.ex[p], si, g)) continue;
                        beaa_status st = beaa_nn_exec_run(g_sim.ex[p], si, g);
                        if (st == BEAA_ERR_ARG) continue; /* already run */
                        ck_assert_int_eq(st, BEAA_OK);
                        own[p][si][g] = 0;
                        left--;
                        ran = 1;
                        break;
                    }
                    if (ran) break;
                }
            ck_assert_msg(left < before, "no part could run a group: the halos are incomplete");
        }
        if (P == 1) ck_assert_uint_eq(g_sim.sent, 0);
        else ck_assert_uint_gt(g_sim.sent, 0);
        beaa_ckks_ciphertext *lg[4] = { NULL, NULL, NULL, NULL };
        for (uint32_t p = 0; p < P; p++) {
            for (uint32_t k = 0; k < 4; k++) {
                beaa_ckks_ciphertext *c = NULL;
                if (beaa_nn_exec_take_logit(g_sim.ex[p], k, &c) == BEAA_OK) {
                    ck_assert_ptr_null(lg[k]);
                    lg[k] = c;
                }
            }
            /* everything was freed after its last read: only the logits were left */
            ck_assert_uint_eq(beaa_nn_exec_live_bytes(g_sim.ex[p]), 0);
            beaa_nn_exec_free(g_sim.ex[p]);
            free(own[p]);
        }
        same_logits(&e, lg);
        for (int k = 0; k < 4; k++) beaa_ckks_ciphertext_free(lg[k]);
        beaa_nn_partition_free(pt);
    }
    env_free(&e);
}
END_TEST

/* The out-of-core pass with an in-memory "scratch": bit-identical logits under budgets that
 * force spilling; a failing hook stops the pass with its error and no logits. */
typedef struct store {
    const env *e;
    beaa_ckks_ciphertext *sp[8][HW * HW * 8];
    size_t loads, spills, reloads;
    int fail_spill;
    size_t fail_load;          /* an input whose load fails (0: none; indices from 1) */
    size_t fail_slot_spill;    /* the spill through a slot that fails (0: none; counted from 1) */
    size_t fail_slot_reload;   /* the same for reloads */
    int busy[2];               /* a slot's call is running */
    size_t slot_loads[2], overlap; /* loads per slot; loads that began while the other ran */
    size_t slot_spills[2], slot_reloads[2]; /* spills and reloads per slot */
} store;

/* Frees what a pass left spilled (it stopped before reading it back) and empties the store. */
static void store_reset(store *s, const env *e)
{
    for (uint32_t si = 0; si < 8; si++)
        for (size_t j = 0; j < (size_t)HW * HW * 8; j++) beaa_ckks_ciphertext_free(s->sp[si][j]);
    memset(s, 0, sizeof *s);
    s->e = e;
}

/* Marks slot busy (no other running call may hold it) and counts a call that began while the
 * other slot's ran. */
static void slot_enter(store *s, unsigned slot)
{
    ck_assert_uint_lt(slot, 2);
    ck_assert_int_eq(__atomic_exchange_n(&s->busy[slot], 1, __ATOMIC_ACQ_REL), 0);
    if (__atomic_load_n(&s->busy[1 - slot], __ATOMIC_ACQUIRE)) __atomic_add_fetch(&s->overlap, 1, __ATOMIC_RELAXED);
}

static beaa_status st_load(void *user, size_t idx, beaa_ckks_ciphertext **ct)
{
    store *s = user;
    s->loads++;
    return beaa_ckks_ciphertext_clone(s->e->in[idx], ct);
}

/* load_input_slot: two slots; no two running calls may share one */
static beaa_status st_load_slot(void *user, unsigned slot, size_t idx, beaa_ckks_ciphertext **ct)
{
    store *s = user;
    slot_enter(s, slot);
    __atomic_add_fetch(&s->loads, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->slot_loads[slot], 1, __ATOMIC_RELAXED);
    beaa_status st = s->fail_load == idx + 1 ? BEAA_ERR_IO : beaa_ckks_ciphertext_clone(s->e->in[idx], ct);
    __atomic_store_n(&s->busy[slot], 0, __ATOMIC_RELEASE);
    return st;
}

/* spill_slot / reload_slot: the same store through two slots */
static beaa_status st_spill_slot(void *user, unsigned slot, uint32_t si, size_t idx,
                                 const beaa_ckks_ciphertext *ct)
{
    store *s = user;
    slot_enter(s, slot);
    size_t k = __atomic_add_fetch(&s->spills, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->slot_spills[slot], 1, __ATOMIC_RELAXED);
    beaa_status st = BEAA_ERR_IO;
    if (k != s->fail_slot_spill) {
        ck_assert_ptr_null(s->sp[si][idx]);
        st = beaa_ckks_ciphertext_clone(ct, &s->sp[si][idx]);
    }
    __atomic_store_n(&s->busy[slot], 0, __ATOMIC_RELEASE);
    return st;
}

static beaa_status st_reload_slot(void *user, unsigned slot, uint32_t si, size_t idx,
                                  beaa_ckks_ciphertext **ct)
{
    store *s = user;
    slot_enter(s, slot);
    size_t k = __atomic_add_fetch(&s->reloads, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->slot_reloads[slot], 1, __ATOMIC_RELAXED);
    ck_assert_ptr_nonnull(s->sp[si][idx]);
    beaa_status st = BEAA_ERR_IO;
    if (k != s->fail_slot_reload) {
        *ct = s->sp[si][idx];
        s->sp[si][idx] = NULL;
        st = BEAA_OK;
    }
    __atomic_store_n(&s->busy[slot], 0, __ATOMIC_RELEASE);
    return st;
}

static beaa_status st_spill(void *user, uint32_t si, size_t idx, const beaa_ckks_ciphertext *ct)
{
    store *s = user;
    if (s->fail_spill) return BEAA_ERR_IO;
    ck_assert_ptr_null(s->sp[si][idx]);
    s->spills++;
    return beaa_ckks_ciphertext_clone(ct, &s->sp[si][idx]);
}

static beaa_status st_reload(void *user, uint32_t si, size_t idx, beaa_ckks_ciphertext **ct)
{
    store *s = user;
    ck_assert_ptr_nonnull(s->sp[si][idx]);
    *ct = s->sp[si][idx];
    s->sp[si][idx] = NULL;
    s->reloads++;
    return BEAA_OK;
}

START_TEST(test_ooc_identical)
{
    env e;
    env_make(&e, 8);
    beaa_nn_ooc_plan *lazy = NULL;
    unsigned log_n = beaa_ckks_context_log_n(e.ctx);
    ck_assert_int_eq(beaa_nn_ooc_plan_make(e.net, e.sc, log_n, 2, 0, &lazy), BEAA_OK);
    for (int i = 0; i < 3; i++) {
        size_t b = i == 0 ? 0 : lazy->min_budget + (lazy->peak_bytes - lazy->min_budget) * (size_t)(i - 1) / 3;
        beaa_nn_ooc_plan *p = NULL;
        ck_assert_int_eq(beaa_nn_ooc_plan_make(e.net, e.sc, log_n, 2, b, &p), BEAA_OK);
        store s;
        memset(&s, 0, sizeof s);
        store_reset(&s, &e);
        beaa_nn_ooc_io io = { st_load, st_spill, st_reload, NULL, &s, NULL, 0, NULL, NULL, 0 };
        beaa_ckks_ciphertext *lg[4];
        beaa_nn_forward_opts fo = { 2, NULL, NULL };
        beaa_nn_forward_stats stt;
        ck_assert_int_eq(beaa_nn_forward_ooc(e.net, e.qn, e.rk, e.sc, p, &io, lg, &fo, &stt), BEAA_OK);
        same_logits(&e, lg);
        ck_assert_uint_eq(s.loads, p->input_reads);
        ck_assert_uint_eq(s.spills, p->spills);
        ck_assert_uint_eq(s.reloads, p->reloads);
        if (i > 0) ck_assert_uint_gt(s.spills, 0);
        for (int k = 0; k < 4; k++) beaa_ckks_ciphertext_free(lg[k]);
        /* the inputs a group needs read in parallel by two slots: the same logits and counts; a
         * load that fails among them: its error, no logits, nothing leaked (ASan) */
        store_reset(&s, &e);
        beaa_nn_ooc_io iop = { st_load, st_spill, st_reload, NULL, &s, st_load_slot, 2, NULL, NULL, 0 };
        ck_assert_int_eq(beaa_nn_forward_ooc(e.net, e.qn, e.rk, e.sc, p, &iop, lg, &fo, NULL), BEAA_OK);
        same_logits(&e, lg);
        ck_assert_uint_eq(s.loads, p->input_reads);
        /* runs of two or more loads through the slots, single ones through load_input */
        ck_assert_uint_le(s.slot_loads[0] + s.slot_loads[1], p->input_reads);
        ck_assert_uint_gt(s.slot_loads[0] + s.slot_loads[1], p->input_reads / 2);
        ck_assert_uint_gt(s.slot_loads[1], 0);
        for (int k = 0; k < 4; k++) beaa_ckks_ciphertext_free(lg[k]);
        store_reset(&s, &e);
        s.fail_load = (size_t)HW * 3 + 5; /* input HW * 3 + 4: read with others of its group */
        ck_assert_int_eq(beaa_nn_forward_ooc(e.net, e.qn, e.rk, e.sc, p, &iop, lg, &fo, NULL), BEAA_ERR_IO);
        for (int k = 0; k < 4; k++) ck_assert_ptr_null(lg[k]);
        /* a spill that fails: the hook's error, no logits, nothing leaked (ASan) */
        if (p->spills) {
            store_reset(&s, &e);
            s.fail_spill = 1;
            ck_assert_int_eq(beaa_nn_forward_ooc(e.net, e.qn, e.rk, e.sc, p, &io, lg, &fo, NULL), BEAA_ERR_IO);
            for (int k = 0; k < 4; k++) ck_assert_ptr_null(lg[k]);
        }
        /* spills and reloads through two slots as well: the same logits and counts, runs of
         * them on both slots; a spill or a reload that fails among parallel ones: its error,
         * no logits, nothing leaked (ASan) */
        beaa_nn_ooc_io ios = { st_load, st_spill, st_reload, NULL, &s, st_load_slot, 2,
                               st_spill_slot, st_reload_slot, 2 };
        store_reset(&s, &e);
        ck_assert_int_eq(beaa_nn_forward_ooc(e.net, e.qn, e.rk, e.sc, p, &ios, lg, &fo, NULL), BEAA_OK);
        same_logits(&e, lg);
        ck_assert_uint_eq(s.loads, p->input_reads);
        ck_assert_uint_eq(s.spills, p->spills);
        ck_assert_uint_eq(s.reloads, p->reloads);
        for (int k = 0; k < 4; k++) beaa_ckks_ciphertext_free(lg[k]);
        if (p->spills >= 8) {
            ck_assert_uint_gt(s.slot_spills[1], 0);
            ck_assert_uint_gt(s.slot_reloads[1], 0);
            ck_assert_uint_gt(s.slot_spills[0] + s.slot_spills[1], p->spills / 2);
            ck_assert_uint_gt(s.slot_reloads[0] + s.slot_reloads[1], p->reloads / 2);
            for (int f = 0; f < 2; f++) {
                store_reset(&s, &e);
                /* the third of a run: spills and reloads come in runs of two or more here */
                *(f ? &s.fail_slot_reload : &s.fail_slot_spill) = 3;
                ck_assert_int_eq(beaa_nn_forward_ooc(e.net, e.qn, e.rk, e.sc, p, &ios, lg, &fo, NULL),
                                 BEAA_ERR_IO);
                for (int k = 0; k < 4; k++) ck_assert_ptr_null(lg[k]);
            }
        }
        store_reset(&s, &e);
        beaa_nn_ooc_plan_free(p);
    }
    beaa_nn_ooc_plan_free(lazy);
    env_free(&e);
}
END_TEST

START_TEST(test_exec_refusals)
{
    env e;
    env_make(&e, 4);
    beaa_nn_exec *ex = NULL;
    ck_assert_int_eq(beaa_nn_exec_new(e.net, e.qn, NULL, e.sc, NULL, 1, NULL, NULL, &ex), BEAA_ERR_NO_KEY);
    ck_assert_ptr_null(ex);
    ck_assert_int_eq(beaa_nn_exec_new(e.net, e.qn, e.rk, e.sc, NULL, 1, NULL, NULL, &ex), BEAA_OK);
    beaa_ckks_ciphertext *c = NULL, *t = NULL;
    /* a group whose inputs are absent does not run */
    ck_assert(!beaa_nn_exec_ready(ex, 0, 0));
    ck_assert_int_eq(beaa_nn_exec_run(ex, 0, 0), BEAA_ERR_ARG);
    /* an input at the wrong level, for the wrong stage, twice, out of range */
    ck_assert_int_eq(beaa_ckks_ciphertext_clone(e.in[HW + 1], &c), BEAA_OK);
    ck_assert_int_eq(beaa_nn_exec_put(ex, 1, 0, c), BEAA_ERR_LEVEL_MISMATCH);
    ck_assert_int_eq(beaa_ckks_ciphertext_clone(e.in[HW + 1], &c), BEAA_OK);
    ck_assert_int_eq(beaa_nn_exec_put(ex, 0, (size_t)HW * HW, c), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_ckks_ciphertext_clone(e.in[HW + 1], &c), BEAA_OK);
    c->scale *= 2;
    ck_assert_int_eq(beaa_nn_exec_put(ex, 0, HW + 1, c), BEAA_ERR_SCALE_MISMATCH);
    ck_assert_int_eq(beaa_ckks_ciphertext_clone(e.in[HW + 1], &c), BEAA_OK);
    ck_assert_int_eq(beaa_nn_exec_put(ex, 0, HW + 1, c), BEAA_OK);
    ck_assert(beaa_nn_exec_has(ex, 0, HW + 1));
    ck_assert_uint_gt(beaa_nn_exec_live_bytes(ex), 0);
    ck_assert_int_eq(beaa_ckks_ciphertext_clone(e.in[HW + 1], &c), BEAA_OK);
    ck_assert_int_eq(beaa_nn_exec_put(ex, 0, HW + 1, c), BEAA_ERR_ARG);
    /* take gives it back to the caller; taking again refuses */
    ck_assert_int_eq(beaa_nn_exec_take(ex, 0, HW + 1, &t), BEAA_OK);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(beaa_nn_exec_live_bytes(ex), 0);
    ck_assert_int_eq(beaa_nn_exec_take(ex, 0, HW + 1, &c), BEAA_ERR_ARG);
    beaa_ckks_ciphertext_free(t);
    /* no logit before the last stage ran */
    ck_assert_int_eq(beaa_nn_exec_take_logit(ex, 0, &c), BEAA_ERR_ARG);
    beaa_nn_exec_free(ex);
    env_free(&e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nn_part");
    TCase *tc = tcase_create("part");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_partition);
    tcase_add_test(tc, test_ooc_plan);
    tcase_add_test(tc, test_parts_identical);
    tcase_add_test(tc, test_ooc_identical);
    tcase_add_test(tc, test_exec_refusals);
    suite_add_tcase(s, tc);
    return test_run_suite(s, 0);
}
