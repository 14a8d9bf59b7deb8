/* check_ckks_rotate.c - CKKS rotations and conjugation against the same permutation of plaintext
 * complex slots: every step 1..N/2-1 (and negative steps) at N = 2^10 (insecure opt-out: tests
 * only), sampled steps at N = 2^14 (128-bit secure set), hoisted rotations equal to single ones,
 * conjugation, the missing-key status, and bit-identical results for 1, 2 and 3 threads (also
 * after the per-thread scratch buffers were released). Bound: max slot error < 2^-20 at scale 2^40. */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "lib/beaa.h"
#include "tests/test_util.h"

#define SCALE 0x1p40
#define BOUND 0x1p-20

typedef struct env {
    beaa_ckks_context *ctx;
    beaa_ckks_secret_key *sk;
    size_t S;
    double *re, *im, *gre, *gim;
    beaa_ckks_ciphertext *ct;
} env;

static void env_make(env *e, unsigned log_n, unsigned n_primes, int insecure)
{
    unsigned bits[4] = {50, 40, 40, 40};
    beaa_ckks_params_spec sp;
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, log_n, bits, n_primes, 1, 60), BEAA_OK);
    sp.allow_insecure = insecure;
    ck_assert_int_eq(beaa_ckks_context_new(&sp, &e->ctx), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_secret_key_gen(e->ctx, &e->sk), BEAA_OK);
    e->S = beaa_ckks_context_slots(e->ctx);
    e->re = malloc(e->S * sizeof(double));
    e->im = malloc(e->S * sizeof(double));
    e->gre = malloc(e->S * sizeof(double));
    e->gim = malloc(e->S * sizeof(double));
    for (size_t i = 0; i < e->S; i++) { e->re[i] = test_rng_unit(); e->im[i] = test_rng_unit(); }
    beaa_ckks_plaintext *pt;
    unsigned L = beaa_ckks_context_max_level(e->ctx);
    ck_assert_int_eq(beaa_ckks_plaintext_new(e->ctx, L, &pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_encode_complex(e->ctx, e->re, e->im, e->S, SCALE, L, pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_new(e->ctx, 2, L, &e->ct), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_encrypt_sk(e->sk, pt, e->ct), BEAA_OK);
    beaa_ckks_plaintext_free(pt);
}

static void env_free(env *e)
{
    beaa_ckks_ciphertext_free(e->ct);
    beaa_ckks_secret_key_free(e->sk);
    beaa_ckks_context_free(e->ctx);
    free(e->re); free(e->im); free(e->gre); free(e->gim);
}

/* max error of ct against the input rotated left by step (conj: conjugated instead) */
static double rot_err(env *e, const beaa_ckks_ciphertext *ct, int step, int conj)
{
    beaa_ckks_plaintext *pt;
    ck_assert_int_eq(beaa_ckks_plaintext_new(e->ctx, 0, &pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_decrypt(e->sk, ct, pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_decode_complex(pt, e->gre, e->gim, e->S), BEAA_OK);
    beaa_ckks_plaintext_free(pt);
    double m = 0;
    long S = (long)e->S;
    for (long j = 0; j < S; j++) {
        long src = ((j + step) % S + S) % S;
        double wr = conj ? e->re[j] : e->re[src], wi = conj ? -e->im[j] : e->im[src];
        m = fmax(m, fmax(fabs(e->gre[j] - wr), fabs(e->gim[j] - wi)));
    }
    return m;
}

START_TEST(test_every_step_small)
{
    env e;
    env_make(&e, 10, 3, 1); /* N = 2^10 with 190 bits: insecure, allowed for this test */
    const int S = (int)e.S, chunk = 64;
    int steps[64];
    beaa_ckks_ciphertext *outs[64];
    for (int i = 0; i < chunk; i++) ck_assert_int_eq(beaa_ckks_ciphertext_new(e.ctx, 2, 0, &outs[i]), BEAA_OK);
    for (int s0 = 1; s0 < S; s0 += chunk) {
        int cnt = s0 + chunk <= S ? chunk : S - s0;
        for (int i = 0; i < cnt; i++) steps[i] = s0 + i;
        beaa_ckks_galois_keys *gk;
        ck_assert_int_eq(beaa_ckks_galois_keys_gen(e.sk, steps, (size_t)cnt, 0, &gk), BEAA_OK);
        ck_assert_uint_eq(gk->count, (size_t)cnt);
        ck_assert_int_eq(beaa_ckks_rotate_hoisted(e.ct, steps, (size_t)cnt, gk, outs), BEAA_OK);
        for (int i = 0; i < cnt; i++) ck_assert_msg(rot_err(&e, outs[i], steps[i], 0) < BOUND, "step %d", steps[i]);
        /* the same key rotates by step - S (negative step) */
        ck_assert_int_eq(beaa_ckks_rotate(e.ct, steps[0] - S, gk, outs[0]), BEAA_OK);
        ck_assert(rot_err(&e, outs[0], steps[0], 0) < BOUND);
        /* hoisted == single rotation, bit for bit */
        beaa_ckks_ciphertext *single;
        ck_assert_int_eq(beaa_ckks_rotate_new(e.ct, steps[cnt - 1], gk, &single), BEAA_OK);
        ck_assert_int_eq(beaa_ckks_rotate_hoisted(e.ct, &steps[cnt - 1], 1, gk, outs), BEAA_OK);
        ck_assert_mem_eq(single->data, outs[0]->data, (size_t)2 * (single->level + 1) * 1024 * 8);
        beaa_ckks_ciphertext_free(single);
        beaa_ckks_galois_keys_free(gk);
    }
    /* step 0 and step S copy */
    ck_assert_int_eq(beaa_ckks_rotate(e.ct, S, NULL, outs[0]), BEAA_OK);
    ck_assert_mem_eq(outs[0]->data, e.ct->data, (size_t)2 * (e.ct->level + 1) * 1024 * 8);
    for (int i = 0; i < chunk; i++) beaa_ckks_ciphertext_free(outs[i]);
    env_free(&e);
}
END_TEST

START_TEST(test_sampled_steps_secure)
{
    env e;
    env_make(&e, 14, 4, 0); /* N = 2^14, 230 bits <= 438: 128-bit secure; 4 digits */
    const int all[] = {1, -1, 2, 3, -5, 100, -1000, 4095, 8191, 5000};
    size_t n = test_light() ? 4 : sizeof all / sizeof all[0];
    beaa_ckks_galois_keys *gk;
    ck_assert_int_eq(beaa_ckks_galois_keys_gen(e.sk, all, n, 1, &gk), BEAA_OK);
    beaa_ckks_ciphertext *r;
    ck_assert_int_eq(beaa_ckks_ciphertext_new(e.ctx, 2, 0, &r), BEAA_OK);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(beaa_ckks_rotate(e.ct, all[i], gk, r), BEAA_OK);
        { double er = rot_err(&e, r, all[i], 0); ck_assert_msg(er < BOUND, "step %d err 2^%g", all[i], log2(er)); }
    }
    ck_assert_int_eq(beaa_ckks_conjugate(e.ct, gk, r), BEAA_OK);
    ck_assert(rot_err(&e, r, 0, 1) < BOUND);
    /* rotate in place (out == in), after a rescale-free level drop */
    ck_assert_int_eq(beaa_ckks_drop_level(e.ct, 1, r), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_rotate(r, 1, gk, r), BEAA_OK);
    ck_assert_uint_eq(r->level, 1);
    ck_assert(rot_err(&e, r, 1, 0) < BOUND);
    /* missing keys */
    ck_assert_int_eq(beaa_ckks_rotate(e.ct, 7, gk, r), BEAA_ERR_NO_KEY);
    ck_assert_int_eq(beaa_ckks_rotate(e.ct, 7, NULL, r), BEAA_ERR_NO_KEY);
    ck_assert_int_eq(beaa_ckks_conjugate(e.ct, NULL, r), BEAA_ERR_NO_KEY);
    int bad[2] = {1, 7};
    beaa_ckks_ciphertext *outs[2] = {r, r};
    ck_assert_int_eq(beaa_ckks_rotate_hoisted(e.ct, bad, 2, gk, outs), BEAA_ERR_NO_KEY);
    beaa_ckks_ciphertext_free(r);
    beaa_ckks_galois_keys_free(gk);
    env_free(&e);
}
END_TEST

/* Rotations (single and hoisted) give the same bits for 1, 2 and 3 OpenMP threads: every limb
 * is computed by the same code whatever the thread and the scratch it uses. */
START_TEST(test_threads_identical)
{
    env e;
    env_make(&e, 14, 4, 0);
    const int steps[2] = {3, -7};
    beaa_ckks_galois_keys *gk;
    ck_assert_int_eq(beaa_ckks_galois_keys_gen(e.sk, steps, 2, 0, &gk), BEAA_OK);
    const size_t words = (size_t)2 * 4 * beaa_ckks_context_n(e.ctx);
    beaa_ckks_ciphertext *r[3][2];
    int saved = omp_get_max_threads();
    for (int t = 0; t < 3; t++) {
        omp_set_num_threads(t + 1);
        if (t == 2) beaa_ckks_scratch_release(); /* the buffers come back on the next call */
        ck_assert_int_eq(beaa_ckks_ciphertext_new(e.ctx, 2, 0, &r[t][0]), BEAA_OK);
        ck_assert_int_eq(beaa_ckks_ciphertext_new(e.ctx, 2, 0, &r[t][1]), BEAA_OK);
        ck_assert_int_eq(beaa_ckks_rotate(e.ct, steps[0], gk, r[t][0]), BEAA_OK);
        beaa_ckks_ciphertext *outs[1] = {r[t][1]};
        ck_assert_int_eq(beaa_ckks_rotate_hoisted(e.ct, &steps[1], 1, gk, outs), BEAA_OK);
    }
    omp_set_num_threads(saved);
    ck_assert(rot_err(&e, r[0][0], steps[0], 0) < BOUND);
    ck_assert(rot_err(&e, r[0][1], steps[1], 0) < BOUND);
    for (int t = 1; t < 3; t++)
        for (int k = 0; k < 2; k++) {
            ck_assert_uint_eq(r[t][k]->level, r[0][k]->level);
            ck_assert_mem_eq(r[t][k]->data, r[0][k]->data, words * sizeof(uint64_t));
        }
    for (int t = 0; t < 3; t++) { beaa_ckks_ciphertext_free(r[t][0]); beaa_ckks_ciphertext_free(r[t][1]); }
    beaa_ckks_galois_keys_free(gk);
    env_free(&e);
}
END_TEST

int main(void)
{
    test_rng_seed(0x13198a2e03707344);
    Suite *s = suite_create("ckks_rotate");
    TCase *tc = tcase_create("rotate");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_every_step_small);
    tcase_add_test(tc, test_sampled_steps_secure);
    tcase_add_test(tc, test_threads_identical);
    suite_add_tcase(s, tc);
    return test_run_suite(s, 1);
}
