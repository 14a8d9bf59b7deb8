/* check_nn.c - tests of nn/: exact integer linear maps vs a 128-bit reference, folding vs the
 * unfolded model forward (incl. border pixels), parameter planning and its refusals, and the
 * encrypted forward pass vs the plaintext folded reference on a small ring. */
#include <cblas.h>
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/mem.h"
#include "lib/rng.h"
#include "ckks/ckks.h"
#include "nn/exec.h"
#include "nn/fold.h"
#include "nn/forward.h"
#include "nn/linear.h"
#include "nn/model.h"
#include "nn/pack.h"
#include "nn/plain.h"
#include "nn/plan.h"
#include "nn/quant.h"
#include "nn/schedule.h"
#include "nn/upload.h"
#include "ckks/serialize.h"
#include "train/arch.h"
#include "tests/test_models.h"

static uint64_t rs = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
    return rs;
}
static double urand(double lo, double hi) { return lo + (hi - lo) * (double)(rnd() >> 11) / 9007199254740992.0; }
static int light(void) { return getenv("BEAA_TEST_LIGHT") != NULL; }

/* ------------------------------------------------------------------ linear maps */

static void linear_case(uint64_t q, int k, int m, size_t n)
{
    beaa_modulus qm;
    beaa_modulus_init(&qm, q);
    int nin = k + 3, nout = m + 2;
    uint64_t **in = malloc(sizeof(uint64_t *) * nin);
    uint64_t **o1 = malloc(sizeof(uint64_t *) * nout), **o2 = malloc(sizeof(uint64_t *) * nout);
    for (int i = 0; i < nin; i++) {
        in[i] = beaa_alloc(n * 8);
        for (size_t t = 0; t < n; t++) in[i][t] = rnd() % q;
        if (i == 0) { in[i][0] = q - 1; in[i][1] = 0; }
    }
    for (int i = 0; i < nout; i++) { o1[i] = beaa_calloc(n, 8); o2[i] = beaa_calloc(n, 8); }
    int32_t *ii = malloc(sizeof(int32_t) * k), *oo = malloc(sizeof(int32_t) * m);
    double *w = malloc(sizeof(double) * k * m);
    int64_t *bias = malloc(sizeof(int64_t) * m);
    double lim = beaa_nn_linear_l1_limit(q);
    for (int c = 0; c < k; c++) ii[c] = (c * 7 + 1) % nin;
    for (int r = 0; r < m; r++) {
        oo[r] = (r + 1) % nout;
        double wmax = floor(lim / k);
        for (int c = 0; c < k; c++) w[r * k + c] = (r == 0) ? wmax * ((c & 1) ? -1 : 1) : (double)((int64_t)(rnd() % (2 * (uint64_t)wmax + 1)) - (int64_t)wmax);
        bias[r] = (int64_t)(rnd() >> 2) * ((r & 1) ? -1 : 1);
    }
    beaa_nn_linblock b = { k, m, ii, oo, w, bias };
    double *work = malloc(sizeof(double) * beaa_nn_linear_work_doubles(k, m));
    beaa_nn_linear_range_ref(&b, 1, o2, (const uint64_t *const *)in, 1, &qm, 0, n);
    /* the dispatching entry, the dgemm path, the lin_dot path of the active kernel table (it
     * declines when q >= 2^50, n % 8 != 0 or the table has none: nothing to compare then) and
     * the AVX2 + FMA path (declines without AVX2, or for q outside (2^30, 2^51)) */
    for (int path = 0; path < 4; path++) {
        for (int i = 0; i < nout; i++) memset(o1[i], 0, n * 8);
        if (path == 0) beaa_nn_linear_range(&b, 1, o1, (const uint64_t *const *)in, 1, &qm, 0, n, work);
        else if (path == 1) beaa_nn_linear_range_gemm(&b, 1, o1, (const uint64_t *const *)in, 1, &qm, 0, n, work);
        else if (path == 2 && !beaa_nn_linear_range_dot(beaa_kernels_get(), &b, 1, o1,
                                                        (const uint64_t *const *)in, 1, &qm, 0, n, work))
            continue;
        else if (path == 3 && !beaa_nn_linear_range_fma(&b, 1, o1, (const uint64_t *const *)in, 1,
                                                        &qm, 0, n, work))
            continue;
        for (int r = 0; r < m; r++)
            for (size_t t = 0; t < n; t++)
                ck_assert_msg(o1[oo[r]][t] == o2[oo[r]][t], "path %d q=%llu k=%d row %d t %zu: %llu vs %llu",
                              path, (unsigned long long)q, k, r, t, (unsigned long long)o1[oo[r]][t],
                              (unsigned long long)o2[oo[r]][t]);
    }
    for (int i = 0; i < nin; i++) beaa_free(in[i]);
    for (int i = 0; i < nout; i++) { beaa_free(o1[i]); beaa_free(o2[i]); }
    free(in); free(o1); free(o2); free(ii); free(oo); free(w); free(bias); free(work);
}

START_TEST(test_linear_exact)
{
    /* primes of 40, 50, 55 and 61 bits (1 mod 2^13), max-size weights, odd lengths */
    uint64_t qs[4];
    ck_assert_int_eq(beaa_ckks_primes_generate(&qs[0], 1, 40, 12, NULL, 0), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_primes_generate(&qs[1], 1, 50, 12, NULL, 0), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_primes_generate(&qs[2], 1, 55, 12, NULL, 0), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_primes_generate(&qs[3], 1, 61, 12, NULL, 0), BEAA_OK);
    for (int i = 0; i < 4; i++) {
        linear_case(qs[i], 1, 3, 200);
        linear_case(qs[i], 25, 16, 300);
        linear_case(qs[i], 288, 64, 136);
        linear_case(qs[i], 7, 5, 203); /* a tail of 3 columns, a tile of 5 rows */
    }
}
END_TEST

/* ------------------------------------------------------------------ models */

/* Weights of the test models: BatchNorm gammas and activation a's of both signs. */
static const test_fill nn_fill = { .wscale = 1.0, .wmul = 1.7f, .bias = 0.2,
                                   .a = { 0.02, 0.2 }, .b = { 0.4, 0.7 }, .c0 = { -0.1, 0.3 },
                                   .a_neg_mod = 5, .a_neg_rem = 3,
                                   .gamma = { 0.6, 1.4 }, .beta = { -0.5, 0.5 },
                                   .mean = { -0.3, 0.3 }, .var = { 0.5, 2.0 },
                                   .gamma_neg_mod = 7, .gamma_neg_rem = 2 };

/* A small SqueezeNet-shaped model (test_models.h) on 1x11x11 inputs, one granularity. */
static beaa_model *small_model(beaa_poly_gran gran)
{
    beaa_model *m = test_small_model(11, &test_small_widths, gran, gran);
    test_model_fill(m, &nn_fill, urand);
    return m;
}

static void rand_images(uint8_t *px, size_t n) { for (size_t i = 0; i < n; i++) px[i] = (uint8_t)(rnd() & 255); }

START_TEST(test_fold_matches_model)
{
    beaa_poly_gran grans[3] = { BEAA_POLY_LAYER, BEAA_POLY_CHANNEL, BEAA_POLY_ELEMENT };
    for (int g = 0; g < 3; g++) {
        beaa_model *m = small_model(grans[g]);
        beaa_nn_net *net = NULL;
        ck_assert_int_eq(beaa_nn_net_fold(m, &net), BEAA_OK);
        ck_assert_uint_eq(net->nstages, 5);
        /* floor pooling 6x6 -> 3x3 uses every position; each stage's MAC count */
        size_t n = 20;
        uint8_t *px = malloc(n * 121);
        rand_images(px, n * 121);
        /* one all-white image: the border taps see large values */
        memset(px, 255, 121);
        double *x = malloc(sizeof(double) * n * 121), *l1 = malloc(sizeof(double) * n * 4),
               *l2 = malloc(sizeof(double) * n * 4);
        beaa_nn_normalize(m, px, n, x);
        ck_assert_int_eq(beaa_nn_plain_model_forward(m, x, n, l1), BEAA_OK);
        ck_assert_int_eq(beaa_nn_plain_folded_forward(net, x, n, l2), BEAA_OK);
        for (size_t i = 0; i < n * 4; i++)
            ck_assert_msg(fabs(l1[i] - l2[i]) <= 1e-9 * (1 + fabs(l1[i])), "gran %d logit %zu: %.15g vs %.15g",
                          g, i, l1[i], l2[i]);
        free(px); free(x); free(l1); free(l2);
        beaa_nn_net_free(net);
        beaa_model_free(m);
    }
}
END_TEST

/* Border pixels: with a BN shift folded into a padded 3x3 conv, the corner output's bias
 * counts 4 taps, the edge 6, the centre 9 (checked against a hand computation). */
START_TEST(test_fold_border_bias)
{
    beaa_model_desc d[3];
    memset(d, 0, sizeof d);
    d[0] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 1, .k = 1, .stride = 1, .pad = 0,
                              .act = BEAA_ACT_POLY, .gran = BEAA_POLY_LAYER };
    d[1] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 2, .k = 3, .stride = 1, .pad = 1,
                              .act = BEAA_ACT_POLY, .gran = BEAA_POLY_LAYER };
    d[2] = (beaa_model_desc){ .kind = BEAA_MODULE_GAP };
    beaa_model *m = NULL;
    ck_assert_int_eq(beaa_model_build(1, 4, 4, 2, d, 3, &m), BEAA_OK);
    /* stage 0: identity conv, act y = x*(0.5x+1) + 0.25, BN shift beta = 1 (gamma 1) */
    m->modules[0].conv[0].weight[0] = 1.0f;
    m->modules[0].act[0].a[0] = 0.5f;
    m->modules[0].act[0].c0[0] = 0.25f;
    m->modules[0].bn[0].beta[0] = 1.0f;
    for (int j = 0; j < 18; j++) m->modules[1].conv[0].weight[j] = 1.0f;
    m->modules[1].conv[0].bias[0] = m->modules[1].conv[0].bias[1] = 0.5f;
    m->modules[1].act[0].a[0] = 0.1f;
    beaa_nn_net *net = NULL;
    ck_assert_int_eq(beaa_nn_net_fold(m, &net), BEAA_OK);
    const beaa_nn_stage *s = &net->stages[1];
    double t = 0.25 * 1.0 / sqrt(1.0 + 1e-5) + 1.0; /* folded shift per input element */
    for (uint32_t b = 0; b < s->nblocks; b++) {
        int32_t p = s->blocks[b].out[0];
        int y = p / 4, x = p % 4;
        int ny = (y == 0 || y == 3) ? 2 : 3, nx = (x == 0 || x == 3) ? 2 : 3;
        ck_assert_uint_eq(s->blocks[b].k, (uint32_t)(ny * nx));
        ck_assert_msg(fabs(s->blocks[b].bias[0] - (0.5 + ny * nx * t)) < 1e-6, "pos %d bias %g", p,
                      s->blocks[b].bias[0]);
    }
    beaa_nn_net_free(net);
    beaa_model_free(m);
}
END_TEST

START_TEST(test_fold_refuses)
{
    beaa_model *m = small_model(BEAA_POLY_CHANNEL);
    beaa_nn_net *net = NULL;
    m->modules[0].act[0].kind = BEAA_ACT_RELU;
    m->modules[0].act[0].count = 0;
    /* a ReLU model (the teacher) cannot be folded for encryption */
    beaa_status st = beaa_nn_net_fold(m, &net);
    ck_assert(st == BEAA_ERR_MODEL);
    ck_assert_ptr_null(net);
    ck_assert_int_eq(beaa_nn_net_fold(NULL, &net), BEAA_ERR_ARG);
    beaa_model_free(m);
}
END_TEST

/* ------------------------------------------------------------------ planning */

static beaa_model *deep_model(int nconv)
{
    beaa_model_desc d[40];
    memset(d, 0, sizeof d);
    for (int i = 0; i < nconv; i++)
        d[i] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = i == nconv - 1 ? 10 : 2, .k = 1,
                                  .stride = 1, .pad = 0, .act = BEAA_ACT_POLY,
                                  .gran = BEAA_POLY_LAYER };
    d[nconv] = (beaa_model_desc){ .kind = BEAA_MODULE_GAP };
    beaa_model *m = NULL;
    ck_assert_int_eq(beaa_model_build(1, 2, 2, 10, d, (uint32_t)nconv + 1, &m), BEAA_OK);
    test_model_fill(m, &nn_fill, urand);
    return m;
}

START_TEST(test_plan)
{
    beaa_nn_plan_opts o;
    beaa_nn_plan p;
    beaa_nn_net *net = NULL;
    /* depth 8 with a 10,000 image batch: N = 2^15 */
    beaa_model *m = deep_model(8);
    ck_assert_int_eq(beaa_nn_net_fold(m, &net), BEAA_OK);
    beaa_nn_plan_opts_default(&o);
    o.batch = 10000;
    ck_assert_int_eq(beaa_nn_plan_make(net, &o, &p), BEAA_OK);
    ck_assert_uint_eq(p.spec.log_n, 15);
    ck_assert_uint_eq(p.spec.n_primes, 9);
    ck_assert_uint_le(p.total_bits, beaa_ckks_security_max_logqp(15));
    /* a batch of 8 fits N=2^14 slots, but depth 8 needs more than 438 bits: still 2^15 */
    o.batch = 8;
    ck_assert_int_eq(beaa_nn_plan_make(net, &o, &p), BEAA_OK);
    ck_assert_uint_eq(p.spec.log_n, 15);
    /* too many images */
    o.batch = 40000;
    ck_assert_int_eq(beaa_nn_plan_make(net, &o, &p), BEAA_ERR_SLOTS);
    ck_assert(strlen(p.msg) > 0);
    beaa_nn_net_free(net);
    beaa_model_free(m);
    /* depth 36: 50 + 36*50 + 50 > 1747 bits: refused with a message naming the depth */
    m = deep_model(36);
    ck_assert_int_eq(beaa_nn_net_fold(m, &net), BEAA_OK);
    o.batch = 1;
    ck_assert_int_eq(beaa_nn_plan_make(net, &o, &p), BEAA_ERR_DEPTH);
    ck_assert_ptr_nonnull(strstr(p.msg, "36 levels"));
    ck_assert_ptr_nonnull(strstr(p.msg, "at most 32 levels (N=2^16 allows 1747 bits)"));
    /* a forced ring: the levels that ring holds (109 bits at N=2^12: q0 and one special prime
     * leave room for no 50-bit stage prime) */
    o.force_log_n = 12;
    ck_assert_int_eq(beaa_nn_plan_make(net, &o, &p), BEAA_ERR_DEPTH);
    ck_assert_ptr_nonnull(
        strstr(p.msg, "for the forced ring holds at most 0 levels (N=2^12 allows 109 bits)"));
    o.force_log_n = 0;
    beaa_nn_net_free(net);
    beaa_model_free(m);
}
END_TEST

/* The wavefront schedule: every group once, in order within its stage, never before the groups
 * that produce its inputs; and it keeps far less alive than running the stages one after the
 * other (the same replay with the stage-by-stage order). */
typedef struct sched_chk {
    const beaa_nn_stage *s;
    const beaa_nn_sched_stage *t;
    const size_t *made_at;   /* step that produced each input of this stage (SIZE_MAX: none) */
    size_t *next_made_at;    /* the next stage's (NULL: last stage) */
    size_t step;
    int bad;
} sched_chk;

static void sched_visit(void *user, uint32_t b)
{
    sched_chk *c = user;
    const beaa_nn_fblock *bl = &c->s->blocks[b];
    for (uint32_t i = 0; i < bl->k; i++)
        if (c->made_at && !(c->made_at[bl->in[i]] < c->step)) c->bad++;
    for (uint32_t r = 0; r < bl->m && c->next_made_at; r++) {
        int32_t e = c->t->pidx[bl->out[r]];
        if (e >= 0) c->next_made_at[e] = c->step;
    }
}

START_TEST(test_schedule)
{
    for (int which = 0; which < 2; which++) {
        beaa_model *m = NULL;
        if (which == 0) m = small_model(BEAA_POLY_ELEMENT);
        else {
            ck_assert_int_eq(beaa_train_arch_squeezenet(1, 28, 28, 10, BEAA_ACT_POLY,
                                                        BEAA_POLY_ELEMENT, 0, &m), BEAA_OK);
            test_model_fill(m, &nn_fill, urand);
        }
        beaa_nn_net *net = NULL;
        beaa_nn_schedule *sc = NULL;
        ck_assert_int_eq(beaa_nn_net_fold(m, &net), BEAA_OK);
        ck_assert_int_eq(beaa_nn_schedule_make(net, &sc), BEAA_OK);
        const uint32_t L = net->nstages;
        size_t total = 0, **made = calloc(L + 1, sizeof *made);
        uint32_t *next = calloc(L, sizeof *next);
        ck_assert(made && next);
        for (uint32_t si = 0; si < L; si++) {
            const beaa_nn_stage *s = &net->stages[si];
            size_t nin = (size_t)s->cin * s->hin * s->win;
            total += sc->stages[si].ngroups;
            made[si] = malloc(sizeof(size_t) * nin);
            for (size_t i = 0; i < nin; i++) made[si][i] = si == 0 ? 0 : SIZE_MAX;
        }
        made[L] = malloc(sizeof(size_t) * (beaa_nn_stage_out_count(&net->stages[L - 1]) + 1));
        ck_assert_uint_eq(sc->nsteps, total);
        int bad = 0;
        for (size_t k = 0; k < sc->nsteps; k++) {
            uint32_t si = sc->step_stage[k], g = sc->step_group[k];
            ck_assert_uint_lt(si, L);
            ck_assert_uint_eq(g, next[si]);   /* each stage's groups once, in order */
            next[si]++;
            sched_chk c = { &net->stages[si], &sc->stages[si], si == 0 ? NULL : made[si], made[si + 1],
                            k + 1, 0 };
            beaa_nn_sched_group_blocks(net, sc, si, g, sched_visit, &c);
            bad += c.bad;
        }
        ck_assert_int_eq(bad, 0);
        for (uint32_t si = 0; si < L; si++) ck_assert_uint_eq(next[si], sc->stages[si].ngroups);
        /* the same replay for the stage-by-stage order */
        size_t wave = beaa_nn_schedule_peak_bytes(net, sc, 15, 2);
        size_t k = 0;
        for (uint32_t si = 0; si < L; si++)
            for (uint32_t g = 0; g < sc->stages[si].ngroups; g++, k++) {
                sc->step_stage[k] = si;
                sc->step_group[k] = g;
            }
        size_t staged = beaa_nn_schedule_peak_bytes(net, sc, 15, 2);
        ck_assert_uint_gt(wave, 0);
        ck_assert_uint_gt(staged, 0);
        if (which == 1) {
            ck_assert_uint_lt(wave, staged);
            /* 28x28: the 784 inputs (3.5 GiB at N=2^15) dominate the wavefront's peak (with the
             * stages' working sets, about a third more); stage by stage, the 1,568 first-stage
             * outputs come on top of them */
            size_t inputs = 784 * beaa_nn_ct_bytes(15, 2, L);
            ck_assert_uint_lt(wave, inputs + inputs / 2);
            ck_assert_uint_gt(staged, inputs + inputs / 2);
        }
        for (uint32_t si = 0; si <= L; si++) free(made[si]);
        free(made);
        free(next);
        beaa_nn_schedule_free(sc);
        beaa_nn_net_free(net);
        beaa_model_free(m);
    }
}
END_TEST

/* ------------------------------------------------------------------ encrypted */

typedef struct enc_env {
    beaa_model *m;
    beaa_nn_net *net;
    beaa_nn_plan plan;
    beaa_ckks_context *ctx;
    beaa_ckks_secret_key *sk;
    beaa_ckks_relin_key *rk;
    beaa_nn_qnet *qn;
} enc_env;

/* derive_max: beaa_nn_quantize_ex's threshold for deriving u from x (BEAA_NN_DERIVE_MAX: the
 * default, as beaa_nn_quantize); raw: bit si set makes stage si take raw inputs (fold.h; the
 * small model has none of its own) */
static void env_make_ex(enc_env *e, beaa_poly_gran gran, size_t batch, double derive_max, unsigned raw)
{
    memset(e, 0, sizeof *e);
    e->m = small_model(gran);
    ck_assert_int_eq(beaa_nn_net_fold(e->m, &e->net), BEAA_OK);
    for (uint32_t si = 0; si < e->net->nstages; si++) {
        ck_assert_uint_eq(e->net->stages[si].raw_in, 0);
        if (raw >> si & 1) e->net->stages[si].raw_in = 1;
    }
    beaa_nn_plan_opts o;
    beaa_nn_plan_opts_default(&o);
    o.batch = batch;
    o.force_log_n = 12;
    o.allow_insecure = 1;
    ck_assert_int_eq(beaa_nn_plan_make(e->net, &o, &e->plan), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_context_new(&e->plan.spec, &e->ctx), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_secret_key_gen(e->ctx, &e->sk), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_relin_key_gen(e->sk, &e->rk), BEAA_OK);
    /* the plan counts the relinearization key as the library holds it: packed, and the copy
     * as doubles where this kernel table has one */
    ck_assert_uint_eq(e->plan.key_bytes,
                      beaa_ckks_switch_key_bytes(e->ctx) + beaa_ckks_switch_key_fp_bytes(e->ctx));
    ck_assert((e->rk->key.fp != NULL) == (beaa_ckks_switch_key_fp_bytes(e->ctx) > 0));
    if (derive_max == BEAA_NN_DERIVE_MAX)
        ck_assert_int_eq(beaa_nn_quantize(e->net, &e->plan, e->ctx, &e->qn), BEAA_OK);
    else
        ck_assert_int_eq(beaa_nn_quantize_ex(e->net, &e->plan, e->ctx, derive_max, &e->qn), BEAA_OK);
    ck_assert(e->qn->worst_l1 <= 1.0);
}

static void env_make(enc_env *e, beaa_poly_gran gran, size_t batch)
{
    env_make_ex(e, gran, batch, BEAA_NN_DERIVE_MAX, 0);
}

static void env_free(enc_env *e)
{
    beaa_nn_qnet_free(e->qn);
    beaa_ckks_relin_key_free(e->rk);
    beaa_ckks_secret_key_free(e->sk);
    beaa_ckks_context_free(e->ctx);
    beaa_nn_net_free(e->net);
    beaa_model_free(e->m);
}

static void run_encrypted(beaa_poly_gran gran, int threads, double derive_max, unsigned raw)
{
    enc_env e;
    size_t n = light() ? 16 : 64;
    env_make_ex(&e, gran, n, derive_max, raw);
    uint8_t *px = malloc(n * 121);
    rand_images(px, n * 121);
    double *x = malloc(sizeof(double) * n * 121), *ref = malloc(sizeof(double) * n * 4),
           *got = malloc(sizeof(double) * n * 4);
    beaa_nn_normalize(e.m, px, n, x);
    ck_assert_int_eq(beaa_nn_plain_folded_forward(e.net, x, n, ref), BEAA_OK);
    beaa_ckks_ciphertext *in[121], *lg[4];
    ck_assert_int_eq(beaa_nn_pack_encrypt(e.sk, x, n, 121, e.plan.levels, e.plan.in_scale, in), BEAA_OK);
    beaa_nn_forward_opts fo = { threads, NULL, NULL };
    beaa_nn_forward_stats stt;
    ck_assert_int_eq(beaa_nn_forward(e.net, e.qn, e.rk, in, lg, &fo, &stt), BEAA_OK);
    for (int i = 0; i < 121; i++) ck_assert_ptr_null(in[i]);
    ck_assert_int_eq(beaa_nn_pack_decrypt(e.sk, lg, 4, n, got), BEAA_OK);
    double *qref = malloc(sizeof(double) * n * 4);
    ck_assert_int_eq(beaa_nn_quant_plain_forward(e.net, e.qn, x, n, qref), BEAA_OK);
    double err_noise = 0, err_quant = 0, maxref = 0;
    size_t agree = 0;
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < 4; k++) {
            double dn = fabs(got[i * 4 + k] - qref[i * 4 + k]);
            double dq = fabs(qref[i * 4 + k] - ref[i * 4 + k]);
            if (dn > err_noise) err_noise = dn;
            if (dq > err_quant) err_quant = dq;
            if (fabs(ref[i * 4 + k]) > maxref) maxref = fabs(ref[i * 4 + k]);
        }
        agree += beaa_nn_argmax(got + i * 4, 4) == beaa_nn_argmax(ref + i * 4, 4);
    }
    if (getenv("BEAA_TEST_VERBOSE"))
        fprintf(stderr, "encrypted nn: noise %.3g, quantization %.3g, max |logit| %.3g\n", err_noise,
                err_quant, maxref);
    /* stated bounds (scale 2^24, 50-bit primes, N = 2^12): encryption noise (encrypted vs the same
     * integer weights in plaintext) and weight quantization each below 1e-2 * (1 + max |logit|);
     * measured: noise 1e-5-3e-5, quantization 3e-5-4e-4 */
    ck_assert_msg(err_noise <= 1e-2 * (1 + maxref), "noise: max |enc - quantized plain| = %g (max |logit| %g)", err_noise, maxref);
    ck_assert_msg(err_quant <= 1e-2 * (1 + maxref), "quantization: max |quantized - plain| = %g", err_quant);
    ck_assert_uint_ge(agree, n - 1);
    free(qref);
    for (int k = 0; k < 4; k++) beaa_ckks_ciphertext_free(lg[k]);
    free(px); free(x); free(ref); free(got);
    env_free(&e);
}

START_TEST(test_encrypted_element) { run_encrypted(BEAA_POLY_ELEMENT, 2, BEAA_NN_DERIVE_MAX, 0); }
END_TEST
START_TEST(test_encrypted_channel) { run_encrypted(BEAA_POLY_CHANNEL, 1, BEAA_NN_DERIVE_MAX, 0); }
END_TEST

/* u from its own row for every product, and derived from x for every product: both within the
 * same bounds (the derived u's shift and sign are exact, so a wrong one would show as a logit
 * error of the order of the logits). The counts: none derived, all derived (the small model's
 * activations all have a != 0), the default in between or equal. */
/* Stages with raw inputs (fold.h). The rule on a model shaped like the tools' test model (conv1
 * 8 channels, squeeze 4: the squeeze reads its inputs raw) and the main network's pattern; then
 * the encrypted pass with raw inputs forced on stages 1, 3 and 4 (every stage after a
 * relinearized one, the last one too; 1..4 all raw: consecutive raw stages, own u rows with
 * derive_max 0) within the bounds against the quantized plaintext reference, and the engine's
 * checks of what goes into a raw stage. */
START_TEST(test_encrypted_raw_inputs)
{
    static const test_widths w = { 8, 4, 4, 4, 8, 10 };
    beaa_model *m = test_small_model(16, &w, BEAA_POLY_ELEMENT, BEAA_POLY_CHANNEL);
    beaa_nn_net *net = NULL;
    ck_assert_int_eq(beaa_nn_net_fold(m, &net), BEAA_OK);
    /* rows against the previous stage's outputs, by hand: conv1 8 x 8 x 8 = 512; squeeze 4 x 64 =
     * 256 <= 512 / 2: raw; expand 8 x 64 = 512 > 256 / 2; pooled to 8 x 4 x 4 = 128, conv3 8 x
     * 16 = 128 > 64; classes 10 x 16 = 160 > 64 */
    static const uint8_t want[5] = { 0, 1, 0, 0, 0 };
    ck_assert_uint_eq(net->nstages, 5);
    for (uint32_t si = 0; si < net->nstages; si++) {
        const beaa_nn_stage *s = &net->stages[si];
        ck_assert_uint_eq(s->raw_in, want[si]);
        ck_assert_uint_eq(beaa_nn_stage_in_size(s), s->raw_in ? 3 : 2);
        ck_assert_uint_eq(beaa_nn_stage_in_level(net, si), net->nstages - si + s->raw_in);
    }
    beaa_nn_net_free(net);
    beaa_model_free(m);

    run_encrypted(BEAA_POLY_ELEMENT, 2, BEAA_NN_DERIVE_MAX, 0x1a);
    run_encrypted(BEAA_POLY_CHANNEL, 1, 0, 0x1e);

    /* what a raw stage takes: size 3 at one level above the stage's */
    enc_env e;
    env_make_ex(&e, BEAA_POLY_ELEMENT, 8, BEAA_NN_DERIVE_MAX, 0x2);
    beaa_nn_schedule *sc = NULL;
    beaa_nn_exec *ex = NULL;
    ck_assert_int_eq(beaa_nn_schedule_make(e.net, &sc), BEAA_OK);
    ck_assert_int_eq(beaa_nn_exec_new(e.net, e.qn, e.rk, sc, NULL, 1, NULL, NULL, &ex), BEAA_OK);
    size_t idx = 0;
    while (beaa_nn_exec_uses(ex, 1, idx) <= 0) idx++;
    const unsigned L = e.net->nstages;
    beaa_ckks_ciphertext *c = NULL;
    ck_assert_int_eq(beaa_ckks_ciphertext_new(e.ctx, 2, L, &c), BEAA_OK);
    ck_assert_int_eq(beaa_nn_exec_put(ex, 1, idx, c), BEAA_ERR_SIZE);
    ck_assert_int_eq(beaa_ckks_ciphertext_new(e.ctx, 3, L - 1, &c), BEAA_OK);
    ck_assert_int_eq(beaa_nn_exec_put(ex, 1, idx, c), BEAA_ERR_LEVEL_MISMATCH);
    ck_assert_int_eq(beaa_ckks_ciphertext_new(e.ctx, 3, L, &c), BEAA_OK);
    ck_assert_int_eq(beaa_nn_exec_put(ex, 1, idx, c), BEAA_OK);
    ck_assert_uint_eq(beaa_nn_exec_live_bytes(ex), beaa_nn_stage_in_bytes(e.net, 1, 12));
    beaa_nn_exec_free(ex);
    beaa_nn_schedule_free(sc);
    env_free(&e);
}
END_TEST

START_TEST(test_encrypted_derived_u)
{
    size_t nd[3];
    const double dm[3] = { 0, BEAA_NN_DERIVE_MAX, 1e300 };
    for (int i = 0; i < 3; i++) {
        enc_env e;
        env_make_ex(&e, BEAA_POLY_ELEMENT, 8, dm[i], 0);
        nd[i] = e.qn->n_derived;
        /* each block: the x rows, then a u row for each output whose u is not derived */
        size_t macs = 0, rows = 0, derived = 0;
        for (uint32_t si = 0; si < e.net->nstages; si++) {
            const beaa_nn_stage *s = &e.net->stages[si];
            const beaa_nn_qstage *qs = &e.qn->stages[si];
            for (uint32_t b = 0; b < s->nblocks; b++) {
                uint32_t own = 0;
                for (uint32_t r = 0; r < s->blocks[b].m; r++) {
                    int8_t md = qs->umode[s->blocks[b].out[r]];
                    ck_assert(md >= -1 && md <= 1);
                    ck_assert((md < 0) == (s->a[s->blocks[b].out[r]] < 0) || md == 0);
                    own += md == 0;
                    derived += md != 0;
                }
                ck_assert_int_eq(qs->blocks[b].m, (int32_t)(s->blocks[b].m + own));
                macs += (size_t)s->blocks[b].k * (s->blocks[b].m + own);
                rows += s->blocks[b].m;
            }
        }
        ck_assert_uint_eq(e.qn->n_macs, macs);
        ck_assert_uint_eq(nd[i], derived);
        if (i == 2) ck_assert_uint_eq(nd[i], rows);
        env_free(&e);
    }
    ck_assert_uint_eq(nd[0], 0);
    ck_assert_uint_gt(nd[1], 0);
    ck_assert_uint_le(nd[1], nd[2]);
    run_encrypted(BEAA_POLY_ELEMENT, 2, 0, 0);
    run_encrypted(BEAA_POLY_ELEMENT, 2, 1e300, 0);
    run_encrypted(BEAA_POLY_LAYER, 1, 1e300, 0);
    enc_env e;
    beaa_nn_qnet *q = NULL;
    env_make(&e, BEAA_POLY_ELEMENT, 8);
    ck_assert_int_eq(beaa_nn_quantize_ex(e.net, &e.plan, e.ctx, -1, &q), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_nn_quantize_ex(e.net, &e.plan, e.ctx, NAN, &q), BEAA_ERR_ARG);
    ck_assert_ptr_null(q);
    env_free(&e);
}
END_TEST

/* An element-wise model's environment for a batch of 8 random images, normalized into x. */
static void env_batch8_raw(enc_env *e, double x[8 * 121], unsigned raw)
{
    env_make_ex(e, BEAA_POLY_ELEMENT, 8, BEAA_NN_DERIVE_MAX, raw);
    uint8_t px[8 * 121];
    rand_images(px, sizeof px);
    beaa_nn_normalize(e->m, px, 8, x);
}

static void env_batch8(enc_env *e, double x[8 * 121])
{
    env_batch8_raw(e, x, 0);
}

/* Same inputs, 1 and 2 threads: bit-identical logit ciphertexts (also with stages that take raw
 * inputs: _i == 1). */
START_TEST(test_encrypted_threads_identical)
{
    enc_env e;
    size_t n = 8;
    double x[8 * 121];
    env_batch8_raw(&e, x, _i ? 0x1a : 0);
    beaa_ckks_ciphertext *in[121], *in2[121], *l1[4], *l2[4];
    ck_assert_int_eq(beaa_nn_pack_encrypt(e.sk, x, n, 121, e.plan.levels, e.plan.in_scale, in), BEAA_OK);
    for (int i = 0; i < 121; i++) ck_assert_int_eq(beaa_ckks_ciphertext_clone(in[i], &in2[i]), BEAA_OK);
    beaa_nn_forward_opts f1 = { 1, NULL, NULL }, f2 = { 2, NULL, NULL };
    /* the pass runs OpenBLAS single-threaded but gives the caller's setting back */
    openblas_set_num_threads(2);
    ck_assert_int_eq(openblas_get_num_threads(), 2);
    ck_assert_int_eq(beaa_nn_forward(e.net, e.qn, e.rk, in, l1, &f1, NULL), BEAA_OK);
    ck_assert_int_eq(openblas_get_num_threads(), 2);
    ck_assert_int_eq(beaa_nn_forward(e.net, e.qn, e.rk, in2, l2, &f2, NULL), BEAA_OK);
    ck_assert_int_eq(openblas_get_num_threads(), 2);
    size_t words = 2 * (size_t)(l1[0]->level + 1) * beaa_ckks_context_n(e.ctx);
    for (int k = 0; k < 4; k++) {
        ck_assert(memcmp(l1[k]->data, l2[k]->data, words * 8) == 0);
        beaa_ckks_ciphertext_free(l1[k]);
        beaa_ckks_ciphertext_free(l2[k]);
    }
    env_free(&e);
}
END_TEST

/* The pass on an upload (inputs held as c_0 + seed, expanded when first read) gives logits bit
 * for bit those of the pass on the whole ciphertexts, under one experiment seed (the same
 * encryption randomness); taking a position twice, or a used upload, is refused. */
START_TEST(test_encrypted_upload_identical)
{
    enc_env e;
    size_t n = 8;
    double x[8 * 121];
    env_batch8(&e, x);
    uint8_t seed[BEAA_SEED_BYTES] = { 7 };
    beaa_ckks_ciphertext *in[121], *l1[4], *l2[4], *ct = NULL;
    beaa_nn_upload *up = NULL;
    ck_assert_int_eq(beaa_rng_set_insecure_seed(seed), BEAA_OK);
    ck_assert_int_eq(beaa_nn_pack_encrypt(e.sk, x, n, 121, e.plan.levels, e.plan.in_scale, in), BEAA_OK);
    ck_assert_int_eq(beaa_rng_set_insecure_seed(seed), BEAA_OK);
    ck_assert_int_eq(beaa_nn_upload_encrypt(e.sk, x, n, 121, e.plan.levels, e.plan.in_scale, &up), BEAA_OK);
    ck_assert_int_eq(beaa_rng_set_insecure_seed(NULL), BEAA_OK);
    size_t N = beaa_ckks_context_n(e.ctx), words = 2 * (size_t)(e.plan.levels + 1) * N;
    ck_assert_uint_eq(beaa_nn_upload_positions(up), 121);
    ck_assert_uint_eq(beaa_nn_upload_pending(up), 121);
    /* c_0 held bit-packed to the primes' sizes, as the files store it */
    size_t c0 = 0;
    for (unsigned i = 0; i <= e.plan.levels; i++)
        c0 += beaa_ckks_serial_limb_bytes(N, beaa_ckks_context_q(e.ctx, i)->bits);
    ck_assert_uint_lt(c0, words / 2 * 8);
    ck_assert_uint_eq(beaa_nn_upload_c0_bytes(e.ctx, e.plan.levels), c0);
    ck_assert_uint_eq(beaa_nn_upload_bytes(up), 121 * c0);
    /* one position taken: the very ciphertext beaa_nn_pack_encrypt made, then gone */
    ck_assert_int_eq(beaa_nn_upload_take(up, 60, &ct), BEAA_OK);
    ck_assert(ct->size == 2 && ct->level == e.plan.levels && ct->ntt_form && ct->has_seed);
    ck_assert(ct->scale == in[60]->scale);
    ck_assert(memcmp(ct->data, in[60]->data, words * 8) == 0);
    beaa_ckks_ciphertext *again = NULL;
    ck_assert_int_eq(beaa_nn_upload_take(up, 60, &again), BEAA_ERR_ARG);
    ck_assert_ptr_null(again);
    ck_assert_int_eq(beaa_nn_upload_take(up, 121, &again), BEAA_ERR_ARG);
    ck_assert_uint_eq(beaa_nn_upload_pending(up), 120);
    ck_assert_uint_eq(beaa_nn_upload_bytes(up), 120 * c0);
    /* an upload with a position taken is not a whole network input */
    ck_assert_int_eq(beaa_nn_forward_upload(e.net, e.qn, e.rk, up, l2, NULL, NULL), BEAA_ERR_ARG);
    beaa_ckks_ciphertext_free(ct);
    beaa_nn_upload_free(up);
    /* the whole pass, 2 threads (inputs expanded in parallel) */
    ck_assert_int_eq(beaa_rng_set_insecure_seed(seed), BEAA_OK);
    ck_assert_int_eq(beaa_nn_upload_encrypt(e.sk, x, n, 121, e.plan.levels, e.plan.in_scale, &up), BEAA_OK);
    ck_assert_int_eq(beaa_rng_set_insecure_seed(NULL), BEAA_OK);
    beaa_nn_forward_opts f2 = { 2, NULL, NULL };
    beaa_nn_forward_stats stt;
    ck_assert_int_eq(beaa_nn_forward(e.net, e.qn, e.rk, in, l1, &f2, NULL), BEAA_OK);
    ck_assert_int_eq(beaa_nn_forward_upload(e.net, e.qn, NULL, up, l2, &f2, NULL), BEAA_ERR_NO_KEY);
    ck_assert_int_eq(beaa_nn_forward_upload(e.net, e.qn, e.rk, up, l2, &f2, &stt), BEAA_OK);
    ck_assert_uint_lt(beaa_nn_upload_pending(up), 121); /* only inputs no group reads are left */
    ck_assert_uint_eq(beaa_nn_upload_bytes(up), beaa_nn_upload_pending(up) * words / 2 * 8);
    ck_assert(stt.io_s >= 0 && stt.total_s > 0);
    size_t lw = 2 * (size_t)(l1[0]->level + 1) * N;
    for (int k = 0; k < 4; k++) {
        ck_assert_uint_eq(l1[k]->level, l2[k]->level);
        ck_assert(l1[k]->scale == l2[k]->scale);
        ck_assert(memcmp(l1[k]->data, l2[k]->data, lw * 8) == 0);
        beaa_ckks_ciphertext_free(l1[k]);
        beaa_ckks_ciphertext_free(l2[k]);
    }
    /* a used upload cannot run again */
    ck_assert_int_eq(beaa_nn_forward_upload(e.net, e.qn, e.rk, up, l2, &f2, NULL), BEAA_ERR_ARG);
    beaa_nn_upload_free(up);
    /* an upload at the wrong level or scale */
    ck_assert_int_eq(beaa_nn_upload_encrypt(e.sk, x, n, 121, e.plan.levels - 1, e.plan.in_scale, &up), BEAA_OK);
    ck_assert_int_eq(beaa_nn_forward_upload(e.net, e.qn, e.rk, up, l2, NULL, NULL), BEAA_ERR_LEVEL_MISMATCH);
    beaa_nn_upload_free(up);
    ck_assert_int_eq(beaa_nn_upload_encrypt(e.sk, x, n, 121, e.plan.levels, e.plan.in_scale * 2, &up), BEAA_OK);
    ck_assert_int_eq(beaa_nn_forward_upload(e.net, e.qn, e.rk, up, l2, NULL, NULL), BEAA_ERR_SCALE_MISMATCH);
    beaa_nn_upload_free(up);
    /* a batch of the wrong shape, and bad arguments */
    ck_assert_int_eq(beaa_nn_upload_encrypt(e.sk, x, n, 100, e.plan.levels, e.plan.in_scale, &up), BEAA_OK);
    ck_assert_int_eq(beaa_nn_forward_upload(e.net, e.qn, e.rk, up, l2, NULL, NULL), BEAA_ERR_ARG);
    beaa_nn_upload_free(up);
    up = (beaa_nn_upload *)1;
    ck_assert_int_eq(beaa_nn_upload_encrypt(e.sk, NULL, n, 121, e.plan.levels, e.plan.in_scale, &up), BEAA_ERR_ARG);
    ck_assert_ptr_null(up);
    ck_assert_int_eq(beaa_nn_upload_encrypt(e.sk, x, 4096, 121, e.plan.levels, e.plan.in_scale, &up), BEAA_ERR_SLOTS);
    ck_assert_ptr_null(up);
    beaa_nn_upload_free(NULL);
    ck_assert_uint_eq(beaa_nn_upload_bytes(NULL), 0);
    env_free(&e);
}
END_TEST

START_TEST(test_encrypted_errors)
{
    enc_env e;
    size_t n = 4;
    env_make(&e, BEAA_POLY_LAYER, n);
    double x[4 * 121];
    for (size_t i = 0; i < 4 * 121; i++) x[i] = urand(-1, 1);
    beaa_ckks_ciphertext *in[121], *lg[4];
    /* no relinearization key */
    ck_assert_int_eq(beaa_nn_pack_encrypt(e.sk, x, n, 121, e.plan.levels, e.plan.in_scale, in), BEAA_OK);
    ck_assert_int_eq(beaa_nn_forward(e.net, e.qn, NULL, in, lg, NULL, NULL), BEAA_ERR_NO_KEY);
    for (int i = 0; i < 121; i++) ck_assert_ptr_null(in[i]); /* ownership taken even on error */
    /* inputs one level too low (a ciphertext file for a shallower chain) */
    ck_assert_int_eq(beaa_nn_pack_encrypt(e.sk, x, n, 121, e.plan.levels - 1, e.plan.in_scale, in), BEAA_OK);
    ck_assert_int_eq(beaa_nn_forward(e.net, e.qn, e.rk, in, lg, NULL, NULL), BEAA_ERR_LEVEL_MISMATCH);
    /* wrong input scale */
    ck_assert_int_eq(beaa_nn_pack_encrypt(e.sk, x, n, 121, e.plan.levels, e.plan.in_scale * 2, in), BEAA_OK);
    openblas_set_num_threads(2);
    ck_assert_int_eq(beaa_nn_forward(e.net, e.qn, e.rk, in, lg, NULL, NULL), BEAA_ERR_SCALE_MISMATCH);
    ck_assert_int_eq(openblas_get_num_threads(), 2); /* the caller's BLAS setting is untouched */
    /* more images than slots */
    double *big = calloc(2049 * 121, sizeof(double));
    ck_assert_int_eq(beaa_nn_pack_encrypt(e.sk, big, 2049, 121, e.plan.levels, e.plan.in_scale, in), BEAA_ERR_SLOTS);
    free(big);
    /* a model deeper than this context's chain */
    beaa_model *dm = deep_model(7);
    beaa_nn_net *dn = NULL;
    beaa_nn_qnet *dq = NULL;
    ck_assert_int_eq(beaa_nn_net_fold(dm, &dn), BEAA_OK);
    ck_assert_int_eq(beaa_nn_quantize(dn, &e.plan, e.ctx, &dq), BEAA_ERR_PARAMS_MISMATCH);
    beaa_nn_net_free(dn);
    beaa_model_free(dm);
    env_free(&e);
}
END_TEST

static Suite *nn_suite(void)
{
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_linear_exact);
    tcase_add_test(tc, test_fold_matches_model);
    tcase_add_test(tc, test_fold_border_bias);
    tcase_add_test(tc, test_fold_refuses);
    tcase_add_test(tc, test_plan);
    tcase_add_test(tc, test_schedule);
    tcase_add_test(tc, test_encrypted_element);
    tcase_add_test(tc, test_encrypted_channel);
    tcase_add_test(tc, test_encrypted_derived_u);
    tcase_add_test(tc, test_encrypted_raw_inputs);
    tcase_add_loop_test(tc, test_encrypted_threads_identical, 0, 2);
    tcase_add_test(tc, test_encrypted_upload_identical);
    tcase_add_test(tc, test_encrypted_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(nn_suite());
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf == 0 ? 0 : 1;
}
