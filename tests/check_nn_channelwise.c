/* check_nn_channelwise.c - tests of the channel-wise baseline (nn/channelwise.h): decrypted
 * logits of tiny random models (conv stride 1 and 2, Fire, pool, global pool; layer-, channel-
 * and element-wise activations) against the unfolded plaintext model, the rotation steps against
 * a hand derivation, parameter choice, and the refusals (ReLU, too deep, missing key, bad input). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ckks/ckks.h"
#include "nn/channelwise.h"
#include "nn/model.h"
#include "nn/plain.h"
#include "tests/test_models.h"

static uint64_t rs = 0x243f6a8885a308d3ull;
static double urand(double lo, double hi)
{
    rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
    return lo + (hi - lo) * (double)(rs >> 11) / 9007199254740992.0;
}

/* Random weights, BatchNorm statistics and activations near a*x^2 + b*x + c, a in [0.05,0.2]. */
static void fill_random(beaa_model *m)
{
    static const test_fill fill = { .wscale = 1.5, .wmul = 1.0f, .bias = 0.2,
                                    .a = { 0.05, 0.2 }, .b = { 0.4, 0.7 }, .c0 = { -0.1, 0.2 },
                                    .gamma = { -1.3, 1.3 }, .beta = { -0.3, 0.3 },
                                    .mean = { -0.2, 0.4 }, .var = { 0.5, 1.5 } };
    test_model_fill(m, &fill, urand);
}

/* 1x8x8 -> conv3x3 s1 (3) -> conv3x3 s2 (4, 4x4) -> Fire(2; 2+2) -> avgpool 2 -> conv1x1 (3)
 * -> GAP: 5 stages. Activation granularities g0 (first conv, Fire) and g1 (others). */
static beaa_model *tiny_model(beaa_poly_gran g0, beaa_poly_gran g1, beaa_act_kind act)
{
    beaa_model_desc d[6];
    memset(d, 0, sizeof d);
    d[0] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 3, .k = 3, .stride = 1, .pad = 1, .act = act, .gran = g0 };
    d[1] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 4, .k = 3, .stride = 2, .pad = 1, .act = act, .gran = g1 };
    d[2] = (beaa_model_desc){ .kind = BEAA_MODULE_FIRE, .squeeze = 2, .expand1 = 2, .expand3 = 2, .k3 = 3, .act = act, .gran = g0 };
    d[3] = (beaa_model_desc){ .kind = BEAA_MODULE_AVGPOOL, .k = 2, .stride = 2 };
    d[4] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 3, .k = 1, .stride = 1, .pad = 0, .act = act, .gran = g1 };
    d[5] = (beaa_model_desc){ .kind = BEAA_MODULE_GAP };
    beaa_model *m = NULL;
    ck_assert_int_eq(beaa_model_build(1, 8, 8, 3, d, 6, &m), BEAA_OK);
    fill_random(m);
    return m;
}

/* Encrypts, runs and decrypts n images of model m at N=2^10 (insecure: test ring); returns
 * the largest |encrypted logit - plaintext logit| and checks argmax agreement. */
static double run_encrypted(const beaa_model *m, size_t n)
{
    beaa_nn_cw_net *cw = NULL;
    ck_assert_int_eq(beaa_nn_cw_compile(m, &cw), BEAA_OK);
    beaa_nn_cw_opts o;
    beaa_nn_cw_opts_default(&o);
    o.force_log_n = 10;
    o.allow_insecure = 1;
    beaa_nn_cw_plan plan;
    ck_assert_msg(beaa_nn_cw_plan_make(cw, &o, &plan) == BEAA_OK, "%s", plan.msg);
    ck_assert_uint_eq(plan.levels, 2 * beaa_nn_cw_stages(cw));
    beaa_ckks_context *ctx = NULL;
    beaa_ckks_secret_key *sk = NULL;
    beaa_ckks_relin_key *rk = NULL;
    beaa_ckks_galois_keys *gk = NULL;
    ck_assert_int_eq(beaa_ckks_context_new(&plan.spec, &ctx), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_secret_key_gen(ctx, &sk), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_relin_key_gen(sk, &rk), BEAA_OK);
    size_t ns = 0;
    const int *steps = beaa_nn_cw_rotation_steps(cw, &ns);
    ck_assert_int_eq(beaa_ckks_galois_keys_gen(sk, steps, ns, 0, &gk), BEAA_OK);
    ck_assert_int_eq(beaa_nn_cw_prepare(cw, &plan, ctx), BEAA_OK);
    size_t el = (size_t)m->in_c * m->in_h * m->in_w, nc = m->num_classes;
    double *x = malloc(sizeof(double) * n * el), *ref = malloc(sizeof(double) * n * nc);
    double *got = malloc(sizeof(double) * nc);
    for (size_t i = 0; i < n * el; i++) x[i] = urand(-1.0, 2.0);
    ck_assert_int_eq(beaa_nn_plain_model_forward(m, x, n, ref), BEAA_OK);
    double maxerr = 0;
    for (size_t i = 0; i < n; i++) {
        beaa_ckks_ciphertext *in[BEAA_MODEL_MAX_IN_C] = { 0 }, *lg[8] = { 0 };
        ck_assert_int_eq(beaa_nn_cw_encrypt(cw, sk, x + i * el, in), BEAA_OK);
        beaa_nn_cw_stats stt;
        beaa_status st = beaa_nn_cw_forward(cw, rk, gk, in, lg, &stt);
        ck_assert_msg(st == BEAA_OK, "forward: %s", beaa_strerror(st));
        ck_assert_ptr_null(in[0]); /* ownership taken */
        ck_assert_uint_gt(stt.rotations, 0);
        ck_assert_int_eq(beaa_nn_cw_decrypt(sk, lg, nc, got), BEAA_OK);
        for (size_t k = 0; k < nc; k++) {
            double d = fabs(got[k] - ref[i * nc + k]);
            if (d > maxerr) maxerr = d;
            beaa_ckks_ciphertext_free(lg[k]);
        }
    }
    free(x); free(ref); free(got);
    beaa_ckks_galois_keys_free(gk);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_secret_key_free(sk);
    beaa_nn_cw_net_free(cw);
    beaa_ckks_context_free(ctx);
    return maxerr;
}

/* Bound: D = 2^25 scale, 2^16-step integer weights (|w| quantization 2^-17) and CKKS noise of
 * a few units at scale D through 5 stages: measured 5e-6 on the logits (magnitude ~1-10); bound 1e-4. */
#define LOGIT_TOL 1e-4

START_TEST(test_cw_layer_channel)
{
    beaa_model *m = tiny_model(BEAA_POLY_CHANNEL, BEAA_POLY_LAYER, BEAA_ACT_POLY);
    double e = run_encrypted(m, 3);
    ck_assert_msg(e < LOGIT_TOL, "max logit error %g", e);
    beaa_model_free(m);
}
END_TEST

START_TEST(test_cw_element)
{
    /* element-wise activations are supported with plaintext coefficient vectors */
    beaa_model *m = tiny_model(BEAA_POLY_ELEMENT, BEAA_POLY_CHANNEL, BEAA_ACT_POLY);
    double e = run_encrypted(m, 2);
    ck_assert_msg(e < LOGIT_TOL, "max logit error %g", e);
    beaa_model_free(m);
}
END_TEST

START_TEST(test_cw_steps)
{
    /* hand derivation: 3x3 taps on the 8-wide image: +-1, +-7, +-8, +-9 (stages 0 and 1);
     * after stride 2 the layout is (SH,SW) = (16,2): Fire's 3x3 taps +-2, +-14, +-16, +-18,
     * the 2x2 pool 2 and 16; then (32,4): the 1x1 conv none, the 2x2 global pool 4 and 32. */
    static const int want[] = { -18, -16, -14, -9, -8, -7, -2, -1, 1, 2, 4, 7, 8, 9, 14, 16, 18, 32 };
    beaa_model *m = tiny_model(BEAA_POLY_CHANNEL, BEAA_POLY_LAYER, BEAA_ACT_POLY);
    beaa_nn_cw_net *cw = NULL;
    ck_assert_int_eq(beaa_nn_cw_compile(m, &cw), BEAA_OK);
    ck_assert_uint_eq(beaa_nn_cw_stages(cw), 5);
    size_t n = 0;
    const int *s = beaa_nn_cw_rotation_steps(cw, &n);
    ck_assert_uint_eq(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++) ck_assert_int_eq(s[i], want[i]);
    beaa_nn_cw_net_free(cw);
    beaa_model_free(m);
}
END_TEST

START_TEST(test_cw_plan_secure)
{
    /* the default Fashion-MNIST SqueezeNet shape: 8 stages = 16 levels. 45 + 8*(42+45) = 741
     * data bits + special primes of 46 bits: N=2^14 allows 438, so N=2^15 (881): 3 special. */
    beaa_model_desc d[9];
    memset(d, 0, sizeof d);
    beaa_act_kind P = BEAA_ACT_POLY;
    beaa_poly_gran C = BEAA_POLY_CHANNEL;
    d[0] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 4, .k = 5, .stride = 2, .pad = 2, .act = P, .gran = C };
    d[1] = (beaa_model_desc){ .kind = BEAA_MODULE_FIRE, .squeeze = 2, .expand1 = 2, .expand3 = 2, .k3 = 3, .act = P, .gran = C };
    d[2] = (beaa_model_desc){ .kind = BEAA_MODULE_AVGPOOL, .k = 2, .stride = 2 };
    d[3] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 4, .k = 3, .stride = 1, .pad = 1, .act = P, .gran = C };
    d[4] = (beaa_model_desc){ .kind = BEAA_MODULE_FIRE, .squeeze = 2, .expand1 = 2, .expand3 = 2, .k3 = 3, .act = P, .gran = C };
    d[5] = (beaa_model_desc){ .kind = BEAA_MODULE_AVGPOOL, .k = 2, .stride = 2 };
    d[6] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 4, .k = 3, .stride = 1, .pad = 1, .act = P, .gran = C };
    d[7] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 10, .k = 1, .stride = 1, .pad = 0, .act = P, .gran = C };
    d[8] = (beaa_model_desc){ .kind = BEAA_MODULE_GAP };
    beaa_model *m = NULL;
    ck_assert_int_eq(beaa_model_build(1, 28, 28, 10, d, 9, &m), BEAA_OK);
    fill_random(m);
    beaa_nn_cw_net *cw = NULL;
    ck_assert_int_eq(beaa_nn_cw_compile(m, &cw), BEAA_OK);
    ck_assert_uint_eq(beaa_nn_cw_stages(cw), 8);
    beaa_nn_cw_plan plan;
    ck_assert_msg(beaa_nn_cw_plan_make(cw, NULL, &plan) == BEAA_OK, "%s", plan.msg);
    ck_assert_uint_eq(plan.spec.log_n, 15);
    ck_assert_uint_eq(plan.spec.n_primes, 17);
    ck_assert_uint_eq(plan.spec.n_special, 3);
    ck_assert_uint_eq(plan.total_bits, 741 + 3 * 46);
    ck_assert_uint_le(plan.total_bits, beaa_ckks_security_max_logqp(15));
    ck_assert_int_eq(beaa_ckks_params_spec_check(&plan.spec), BEAA_OK);
    /* forcing a ring that is too small for the chain is a depth refusal */
    beaa_nn_cw_opts o;
    beaa_nn_cw_opts_default(&o);
    o.force_log_n = 14;
    ck_assert_int_eq(beaa_nn_cw_plan_make(cw, &o, &plan), BEAA_ERR_DEPTH);
    /* and one with too few slots for a 28x28 image */
    o.force_log_n = 10;
    ck_assert_int_eq(beaa_nn_cw_plan_make(cw, &o, &plan), BEAA_ERR_SLOTS);
    beaa_nn_cw_net_free(cw);
    beaa_model_free(m);
}
END_TEST

START_TEST(test_cw_refusals)
{
    /* ReLU model: not foldable, refused at compile time */
    beaa_model *m = tiny_model(BEAA_POLY_LAYER, BEAA_POLY_LAYER, BEAA_ACT_RELU);
    beaa_nn_cw_net *cw = NULL;
    ck_assert_int_eq(beaa_nn_cw_compile(m, &cw), BEAA_ERR_MODEL);
    ck_assert_ptr_null(cw);
    beaa_model_free(m);
    ck_assert_int_eq(beaa_nn_cw_compile(NULL, &cw), BEAA_ERR_ARG);

    /* too deep: 21 conv stages = 42 levels, 45 + 21*87 = 1872 bits > 1747 (N=2^16) */
    beaa_model_desc d[22];
    memset(d, 0, sizeof d);
    for (int i = 0; i < 21; i++)
        d[i] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = i == 20 ? 2 : 2, .k = 1,
                                  .stride = 1, .pad = 0, .act = BEAA_ACT_POLY, .gran = BEAA_POLY_LAYER };
    d[21] = (beaa_model_desc){ .kind = BEAA_MODULE_GAP };
    ck_assert_int_eq(beaa_model_build(1, 4, 4, 2, d, 22, &m), BEAA_OK);
    fill_random(m);
    ck_assert_int_eq(beaa_nn_cw_compile(m, &cw), BEAA_OK);
    beaa_nn_cw_plan plan;
    ck_assert_int_eq(beaa_nn_cw_plan_make(cw, NULL, &plan), BEAA_ERR_DEPTH);
    ck_assert_msg(strstr(plan.msg, "42 levels") != NULL, "%s", plan.msg);
    beaa_nn_cw_net_free(cw);
    beaa_model_free(m);

    /* at run time: a missing rotation key, a wrong level; inputs are always taken */
    m = tiny_model(BEAA_POLY_CHANNEL, BEAA_POLY_LAYER, BEAA_ACT_POLY);
    ck_assert_int_eq(beaa_nn_cw_compile(m, &cw), BEAA_OK);
    beaa_nn_cw_opts o;
    beaa_nn_cw_opts_default(&o);
    o.force_log_n = 10;
    o.allow_insecure = 1;
    ck_assert_int_eq(beaa_nn_cw_plan_make(cw, &o, &plan), BEAA_OK);
    beaa_ckks_context *ctx = NULL;
    beaa_ckks_secret_key *sk = NULL;
    beaa_ckks_relin_key *rk = NULL;
    beaa_ckks_galois_keys *gk = NULL;
    ck_assert_int_eq(beaa_ckks_context_new(&plan.spec, &ctx), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_secret_key_gen(ctx, &sk), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_relin_key_gen(sk, &rk), BEAA_OK);
    size_t ns = 0;
    const int *steps = beaa_nn_cw_rotation_steps(cw, &ns);
    ck_assert_int_eq(beaa_ckks_galois_keys_gen(sk, steps, ns - 1, 0, &gk), BEAA_OK); /* one short */
    beaa_ckks_ciphertext *in[1] = { NULL }, *lg[3] = { NULL };
    double x[64];
    for (int i = 0; i < 64; i++) x[i] = urand(0, 1);
    ck_assert_int_eq(beaa_nn_cw_encrypt(cw, sk, x, in), BEAA_ERR_ARG); /* not prepared */
    ck_assert_int_eq(beaa_nn_cw_prepare(cw, &plan, ctx), BEAA_OK);
    ck_assert_int_eq(beaa_nn_cw_encrypt(cw, sk, x, in), BEAA_OK);
    ck_assert_int_eq(beaa_nn_cw_forward(cw, rk, gk, in, lg, NULL), BEAA_ERR_NO_KEY);
    ck_assert_ptr_null(in[0]);
    ck_assert_ptr_null(lg[0]);
    ck_assert_int_eq(beaa_nn_cw_encrypt(cw, sk, x, in), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_drop_level(in[0], plan.levels - 1, in[0]), BEAA_OK);
    ck_assert_int_eq(beaa_nn_cw_forward(cw, rk, gk, in, lg, NULL), BEAA_ERR_LEVEL_MISMATCH);
    ck_assert_ptr_null(in[0]);
    ck_assert_int_eq(beaa_nn_cw_encrypt(cw, sk, x, in), BEAA_OK);
    ck_assert_int_eq(beaa_nn_cw_forward(cw, NULL, gk, in, lg, NULL), BEAA_ERR_NO_KEY);
    ck_assert_ptr_null(in[0]);
    beaa_ckks_galois_keys_free(gk);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_secret_key_free(sk);
    beaa_nn_cw_net_free(cw);
    beaa_ckks_context_free(ctx);
    beaa_model_free(m);
}
END_TEST

static Suite *cw_suite(void)
{
    Suite *s = suite_create("nn_channelwise");
    TCase *tc = tcase_create("channelwise");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_cw_steps);
    tcase_add_test(tc, test_cw_plan_secure);
    tcase_add_test(tc, test_cw_refusals);
    tcase_add_test(tc, test_cw_layer_channel);
    tcase_add_test(tc, test_cw_element);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cw_suite());
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf == 0 ? 0 : 1;
}
