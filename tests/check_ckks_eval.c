/* check_ckks_eval.c - every CKKS evaluator operation against the same computation on plaintext
 * doubles, with stated bounds (N = 2^12, insecure opt-out for speed; scale 2^40, values in
 * [-1,1]): fresh error < 2^-20, after a multiply + rescale < 2^-18 (also the fused
 * mul_relin_rescale). Also: batched encryption (encrypt_sk_values_many), seed expansion,
 * flooded decryption, aliasing (out == input), thread-count independence, and each error status. */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lib/beaa.h"
#include "tests/test_util.h"

#define SCALE 0x1p40
#define FRESH_BOUND 0x1p-20 /* fresh encryption, additions, plaintext/constant products */
#define MUL_BOUND 0x1p-18   /* after ct x ct multiply + relinearize + rescale */

static beaa_ckks_context *ctx;
static beaa_ckks_secret_key *sk;
static beaa_ckks_public_key *pk;
static beaa_ckks_relin_key *rk;
static size_t S;
static unsigned L;
static double *x, *y, *want, *got;

static void setup(void)
{
    /* q0 50 bits, 4 x 40 bits, 2 special primes of 50 bits: dnum = 3 */
    unsigned bits[5] = {50, 40, 40, 40, 40};
    beaa_ckks_params_spec sp;
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 12, bits, 5, 2, 50), BEAA_OK);
    sp.allow_insecure = 1; /* 2^12 ring with 300 bits: tests only */
    ck_assert_int_eq(beaa_ckks_context_new(&sp, &ctx), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_secret_key_gen(ctx, &sk), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_public_key_gen(sk, &pk), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_relin_key_gen(sk, &rk), BEAA_OK);
    S = beaa_ckks_context_slots(ctx);
    L = beaa_ckks_context_max_level(ctx);
    x = malloc(S * sizeof *x);
    y = malloc(S * sizeof *y);
    want = malloc(S * sizeof *want);
    got = malloc(S * sizeof *got);
    for (size_t i = 0; i < S; i++) { x[i] = test_rng_unit(); y[i] = test_rng_unit(); }
}

static void teardown(void)
{
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_public_key_free(pk);
    beaa_ckks_secret_key_free(sk);
    beaa_ckks_context_free(ctx);
    free(x); free(y); free(want); free(got);
}

static beaa_ckks_ciphertext *enc(const double *v, double scale, unsigned level, int use_pk)
{
    beaa_ckks_plaintext *pt;
    beaa_ckks_ciphertext *ct;
    ck_assert_int_eq(beaa_ckks_plaintext_new(ctx, level, &pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_encode_real(ctx, v, S, scale, level, pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx, 2, level, &ct), BEAA_OK);
    if (use_pk) ck_assert_int_eq(beaa_ckks_encrypt_pk(pk, pt, ct), BEAA_OK);
    else ck_assert_int_eq(beaa_ckks_encrypt_sk(sk, pt, ct), BEAA_OK);
    beaa_ckks_plaintext_free(pt);
    return ct;
}

/* max |decrypt(ct) - want| */
static double err_of(const beaa_ckks_ciphertext *ct)
{
    beaa_ckks_plaintext *pt;
    ck_assert_int_eq(beaa_ckks_plaintext_new(ctx, 0, &pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_decrypt(sk, ct, pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_decode_real(pt, got, S), BEAA_OK);
    beaa_ckks_plaintext_free(pt);
    double m = 0;
    for (size_t i = 0; i < S; i++) m = fmax(m, fabs(got[i] - want[i]));
    return m;
}

START_TEST(test_encode_encrypt)
{
    beaa_ckks_plaintext *pt;
    ck_assert_int_eq(beaa_ckks_plaintext_new(ctx, L, &pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_encode_real(ctx, x, S, SCALE, L, pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_decode_real(pt, got, S), BEAA_OK);
    for (size_t i = 0; i < S; i++) ck_assert(fabs(got[i] - x[i]) < 0x1p-30);
    /* complex round trip */
    double *im = malloc(S * sizeof *im), *gim = malloc(S * sizeof *gim);
    for (size_t i = 0; i < S; i++) im[i] = test_rng_unit();
    ck_assert_int_eq(beaa_ckks_encode_complex(ctx, x, im, S, SCALE, 2, pt), BEAA_OK);
    ck_assert_uint_eq(pt->level, 2);
    ck_assert_int_eq(beaa_ckks_decode_complex(pt, got, gim, S), BEAA_OK);
    for (size_t i = 0; i < S; i++) ck_assert(fabs(got[i] - x[i]) < 0x1p-30 && fabs(gim[i] - im[i]) < 0x1p-30);
    free(im);
    free(gim);
    memcpy(want, x, S * sizeof *x);
    for (int use_pk = 0; use_pk < 2; use_pk++) {
        for (unsigned lvl = 0; lvl <= L; lvl += L) {
            beaa_ckks_ciphertext *ct = enc(x, SCALE, lvl, use_pk);
            ck_assert_uint_eq(ct->level, lvl);
            ck_assert_int_eq(ct->has_seed, !use_pk);
            ck_assert(err_of(ct) < FRESH_BOUND);
            beaa_ckks_ciphertext_free(ct);
        }
    }
    /* errors */
    double bad = NAN;
    ck_assert_int_eq(beaa_ckks_encode_real(ctx, &bad, 1, SCALE, L, pt), BEAA_ERR_VALUE);
    ck_assert_int_eq(beaa_ckks_encode_real(ctx, x, S + 1, SCALE, L, pt), BEAA_ERR_SLOTS);
    ck_assert_int_eq(beaa_ckks_encode_real(ctx, x, S, 0.5, L, pt), BEAA_ERR_SCALE_RANGE);
    ck_assert_int_eq(beaa_ckks_encode_real(ctx, x, S, 0x1p60, 0, pt), BEAA_ERR_SCALE_RANGE);
    ck_assert_int_eq(beaa_ckks_encode_real(ctx, x, S, SCALE, L + 1, pt), BEAA_ERR_LEVEL_EXHAUSTED);
    double big = 0x1p20;
    ck_assert_int_eq(beaa_ckks_encode_real(ctx, &big, 1, SCALE, 0, pt), BEAA_ERR_VALUE);
    beaa_ckks_plaintext_free(pt);
}
END_TEST

/* The fused client path: encode + encrypt with the error added before the NTT. Decrypts to the
 * values within the fresh-encryption bound at every level, is seed-compressed (c1 regenerates
 * from the seed), draws fresh randomness every call, and refuses what encode_real refuses. */
START_TEST(test_encrypt_sk_values)
{
    memcpy(want, x, S * sizeof *x);
    beaa_ckks_ciphertext *ct, *ct2, *cp;
    ck_assert_int_eq(beaa_ckks_ciphertext_new_uninit(ctx, 2, 0, &ct), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_new_uninit(ctx, 2, 0, &ct2), BEAA_OK);
    for (unsigned lvl = 0; lvl <= L; lvl++) {
        ck_assert_int_eq(beaa_ckks_encrypt_sk_values(sk, x, S, SCALE, lvl, ct), BEAA_OK);
        ck_assert_uint_eq(ct->level, lvl);
        ck_assert_int_eq(ct->has_seed, 1);
        ck_assert(ct->scale == SCALE);
        double e = err_of(ct);
        ck_assert_msg(e < FRESH_BOUND, "level %u: error %g", lvl, e);
    }
    /* the Gaussian error is really added: its slot error (sigma 3.2 per coefficient) is about
     * 11x the rounding error of encoding alone (uniform, sigma 0.29) */
    beaa_ckks_plaintext *pt;
    ck_assert_int_eq(beaa_ckks_plaintext_new(ctx, L, &pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_encode_real(ctx, x, S, SCALE, L, pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_decode_real(pt, got, S), BEAA_OK);
    double r_enc = 0, r_ct = 0;
    for (size_t i = 0; i < S; i++) r_enc += (got[i] - x[i]) * (got[i] - x[i]);
    ck_assert_int_eq(beaa_ckks_decrypt(sk, ct, pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_decode_real(pt, got, S), BEAA_OK);
    for (size_t i = 0; i < S; i++) r_ct += (got[i] - x[i]) * (got[i] - x[i]);
    ck_assert_msg(r_ct > 25 * r_enc, "error power %g vs encoding alone %g", r_ct, r_enc);
    beaa_ckks_plaintext_free(pt);
    /* fewer values than slots: the rest decrypt to 0 */
    ck_assert_int_eq(beaa_ckks_encrypt_sk_values(sk, x, 7, SCALE, L, ct), BEAA_OK);
    for (size_t i = 0; i < S; i++) want[i] = i < 7 ? x[i] : 0.0;
    ck_assert(err_of(ct) < FRESH_BOUND);
    /* seed compression and fresh randomness */
    ck_assert_int_eq(beaa_ckks_ciphertext_clone(ct, &cp), BEAA_OK);
    memset(beaa_ckks_ct_limb(cp, 1, 0), 0, (size_t)(L + 1) * beaa_ckks_context_n(ctx) * 8);
    ck_assert_int_eq(beaa_ckks_ciphertext_expand_seed(cp), BEAA_OK);
    ck_assert_mem_eq(cp->data, ct->data, (size_t)2 * (L + 1) * beaa_ckks_context_n(ctx) * 8);
    ck_assert_int_eq(beaa_ckks_encrypt_sk_values(sk, x, 7, SCALE, L, ct2), BEAA_OK);
    ck_assert(memcmp(ct2->seed, ct->seed, sizeof ct->seed) != 0);
    ck_assert(memcmp(ct2->data, ct->data, beaa_ckks_context_n(ctx) * 8) != 0);
    /* errors */
    double bad = NAN, big = 0x1p20;
    ck_assert_int_eq(beaa_ckks_encrypt_sk_values(sk, &bad, 1, SCALE, L, ct), BEAA_ERR_VALUE);
    ck_assert_int_eq(beaa_ckks_encrypt_sk_values(sk, x, S + 1, SCALE, L, ct), BEAA_ERR_SLOTS);
    ck_assert_int_eq(beaa_ckks_encrypt_sk_values(sk, x, S, 0.5, L, ct), BEAA_ERR_SCALE_RANGE);
    ck_assert_int_eq(beaa_ckks_encrypt_sk_values(sk, x, S, SCALE, L + 1, ct), BEAA_ERR_LEVEL_EXHAUSTED);
    ck_assert_int_eq(beaa_ckks_encrypt_sk_values(sk, &big, 1, SCALE, 0, ct), BEAA_ERR_VALUE);
    ck_assert_int_eq(beaa_ckks_encrypt_sk_values(NULL, x, S, SCALE, L, ct), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_ckks_encrypt_sk_values(sk, NULL, S, SCALE, L, ct), BEAA_ERR_ARG);
    beaa_ckks_ciphertext_free(cp);
    beaa_ckks_ciphertext_free(ct2);
    beaa_ckks_ciphertext_free(ct);
}
END_TEST

START_TEST(test_seed_and_flood)
{
    memcpy(want, x, S * sizeof *x);
    beaa_ckks_ciphertext *ct = enc(x, SCALE, L, 0), *cp;
    ck_assert_int_eq(beaa_ckks_ciphertext_clone(ct, &cp), BEAA_OK);
    /* a serializer stores only the seed: wipe c1 and regenerate it */
    memset(beaa_ckks_ct_limb(cp, 1, 0), 0, (size_t)(L + 1) * beaa_ckks_context_n(ctx) * 8);
    ck_assert_int_eq(beaa_ckks_ciphertext_expand_seed(cp), BEAA_OK);
    ck_assert_mem_eq(cp->data, ct->data, (size_t)2 * (L + 1) * beaa_ckks_context_n(ctx) * 8);
    /* flooded decryption: error grows with sigma but stays bounded (sigma 2^20 at scale 2^40:
     * slot error about sqrt(N) * 2^20 * 6 / 2^40 < 2^-8) */
    beaa_ckks_plaintext *pt;
    ck_assert_int_eq(beaa_ckks_plaintext_new(ctx, 0, &pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_decrypt_flooded(sk, ct, 20.0, pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_decode_real(pt, got, S), BEAA_OK);
    double m = 0;
    for (size_t i = 0; i < S; i++) m = fmax(m, fabs(got[i] - x[i]));
    ck_assert(m < 0x1p-8);
    ck_assert(m > 0x1p-22); /* and the flooding noise really is there */
    ck_assert_int_eq(beaa_ckks_decrypt_flooded(sk, ct, 51.0, pt), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_ckks_decrypt_flooded(sk, ct, NAN, pt), BEAA_ERR_ARG);
    beaa_ckks_plaintext_free(pt);
    beaa_ckks_ciphertext_free(ct);
    beaa_ckks_ciphertext_free(cp);
}
END_TEST

/* beaa_ckks_noise_measure against known values, and the flooding deviation formula */
START_TEST(test_noise_measure)
{
    beaa_ckks_ciphertext *ct = enc(x, SCALE, L, 0);
    double l2 = 0;
    /* a fresh secret-key encryption: error |e| <= 19 (6 sigma cut) plus the encoder's rounding */
    ck_assert_int_eq(beaa_ckks_noise_measure(sk, ct, x, S, &l2), BEAA_OK);
    ck_assert_msg(l2 >= 1.0 && l2 <= log2(19.5), "fresh noise 2^%.2f", l2);
    /* against values off by 2^-10 in one slot the difference is the offset: ~2^30 / N * 2 per
     * coefficient at scale 2^40, far above the noise */
    memcpy(want, x, S * sizeof *x);
    want[3] += 0x1p-10;
    ck_assert_int_eq(beaa_ckks_noise_measure(sk, ct, want, S, &l2), BEAA_OK);
    ck_assert_msg(l2 > 16.0 && l2 < 22.0, "offset noise 2^%.2f", l2);
    ck_assert_int_eq(beaa_ckks_noise_measure(NULL, ct, x, S, &l2), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_ckks_noise_measure(sk, ct, NULL, S, &l2), BEAA_ERR_ARG);
    /* log2 s = log2 B + stat_sec - 1 + (log2 q + log2 N) / 2 */
    const unsigned ln = beaa_ckks_context_log_n(ctx);
    ck_assert(fabs(beaa_ckks_flood_log2_sigma(ctx, 10.0, 30, 0.0) - (10.0 + 29.0 + ln / 2.0)) < 1e-12);
    ck_assert(fabs(beaa_ckks_flood_log2_sigma(ctx, 4.0, 40, 20.0) - (4.0 + 39.0 + (20.0 + ln) / 2.0)) < 1e-12);
    ck_assert(beaa_ckks_flood_log2_sigma(NULL, 10.0, 30, 0.0) == -1.0);
    ck_assert(beaa_ckks_flood_log2_sigma(ctx, 10.0, 30, -1.0) == -1.0);
    beaa_ckks_ciphertext_free(ct);
}
END_TEST

START_TEST(test_add_sub_neg)
{
    beaa_ckks_ciphertext *a = enc(x, SCALE, L, 1), *b = enc(y, SCALE, L, 0), *r;
    ck_assert_int_eq(beaa_ckks_add_new(a, b, &r), BEAA_OK);
    for (size_t i = 0; i < S; i++) want[i] = x[i] + y[i];
    ck_assert(err_of(r) < FRESH_BOUND);
    ck_assert_int_eq(r->has_seed, 0);
    ck_assert_int_eq(beaa_ckks_sub(a, b, r), BEAA_OK);
    for (size_t i = 0; i < S; i++) want[i] = x[i] - y[i];
    ck_assert(err_of(r) < FRESH_BOUND);
    ck_assert_int_eq(beaa_ckks_negate(r, r), BEAA_OK); /* in place */
    for (size_t i = 0; i < S; i++) want[i] = y[i] - x[i];
    ck_assert(err_of(r) < FRESH_BOUND);
    ck_assert_int_eq(beaa_ckks_add(r, a, r), BEAA_OK); /* out aliases a */
    memcpy(want, y, S * sizeof *y);
    ck_assert(err_of(r) < FRESH_BOUND);
    /* plaintext and constant */
    beaa_ckks_plaintext *pt;
    ck_assert_int_eq(beaa_ckks_plaintext_new(ctx, L, &pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_encode_real(ctx, x, S, SCALE, L, pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_add_plain(a, pt, r), BEAA_OK);
    for (size_t i = 0; i < S; i++) want[i] = 2 * x[i];
    ck_assert(err_of(r) < FRESH_BOUND);
    ck_assert_int_eq(beaa_ckks_sub_plain(b, pt, r), BEAA_OK);
    for (size_t i = 0; i < S; i++) want[i] = y[i] - x[i];
    ck_assert(err_of(r) < FRESH_BOUND);
    ck_assert_int_eq(beaa_ckks_add_const(r, -0.75, r), BEAA_OK);
    for (size_t i = 0; i < S; i++) want[i] = y[i] - x[i] - 0.75;
    ck_assert(err_of(r) < FRESH_BOUND);
    ck_assert_int_eq(beaa_ckks_add_const(r, INFINITY, r), BEAA_ERR_VALUE);
    /* mismatches */
    beaa_ckks_ciphertext *c = enc(x, SCALE, L - 1, 1), *d = enc(x, SCALE * 2, L, 1);
    ck_assert_int_eq(beaa_ckks_add(a, c, r), BEAA_ERR_LEVEL_MISMATCH);
    ck_assert_int_eq(beaa_ckks_add(a, d, r), BEAA_ERR_SCALE_MISMATCH);
    ck_assert_int_eq(beaa_ckks_sub(a, d, r), BEAA_ERR_SCALE_MISMATCH);
    ck_assert_int_eq(beaa_ckks_add_plain(d, pt, r), BEAA_ERR_SCALE_MISMATCH);
    ck_assert_int_eq(beaa_ckks_add_plain(a, NULL, r), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_ckks_add(a, NULL, r), BEAA_ERR_ARG);
    /* a plaintext below the ciphertext's level */
    ck_assert_int_eq(beaa_ckks_encode_real(ctx, x, S, SCALE, L - 1, pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_add_plain(a, pt, r), BEAA_ERR_LEVEL_MISMATCH);
    /* other parameter set */
    unsigned bits[2] = {50, 40};
    beaa_ckks_params_spec sp;
    beaa_ckks_context *ctx2;
    beaa_ckks_ciphertext *e;
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 12, bits, 2, 1, 50), BEAA_OK);
    sp.allow_insecure = 1;
    ck_assert_int_eq(beaa_ckks_context_new(&sp, &ctx2), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx2, 2, 1, &e), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_add(a, e, r), BEAA_ERR_PARAMS_MISMATCH);
    ck_assert_int_eq(beaa_ckks_decrypt(sk, e, pt), BEAA_ERR_PARAMS_MISMATCH);
    beaa_ckks_ciphertext_free(e);
    beaa_ckks_context_free(ctx2);
    beaa_ckks_plaintext_free(pt);
    beaa_ckks_ciphertext_free(a); beaa_ckks_ciphertext_free(b); beaa_ckks_ciphertext_free(c);
    beaa_ckks_ciphertext_free(d); beaa_ckks_ciphertext_free(r);
}
END_TEST

START_TEST(test_mul_plain_const_int)
{
    beaa_ckks_ciphertext *a = enc(x, SCALE, L, 1), *r;
    ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx, 2, L, &r), BEAA_OK);
    beaa_ckks_plaintext *pt;
    ck_assert_int_eq(beaa_ckks_plaintext_new(ctx, L, &pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_encode_real(ctx, y, S, SCALE, L, pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_mul_plain(a, pt, r), BEAA_OK);
    ck_assert(fabs(r->scale - SCALE * SCALE) == 0);
    ck_assert_int_eq(beaa_ckks_rescale(r, r), BEAA_OK);
    ck_assert_uint_eq(r->level, L - 1);
    ck_assert(r->scale == SCALE * SCALE / (double)beaa_ckks_context_q(ctx, L)->q);
    for (size_t i = 0; i < S; i++) want[i] = x[i] * y[i];
    ck_assert(err_of(r) < FRESH_BOUND);
    /* constant at a given scale */
    ck_assert_int_eq(beaa_ckks_mul_const(a, -0.3125, 0x1p30, r), BEAA_OK);
    ck_assert(r->scale == SCALE * 0x1p30);
    for (size_t i = 0; i < S; i++) want[i] = -0.3125 * x[i];
    ck_assert(err_of(r) < FRESH_BOUND);
    /* rescaled to scale ~2^30: the rescale rounding (about sqrt(N) * |s| / 2^30) dominates */
    ck_assert_int_eq(beaa_ckks_rescale(r, r), BEAA_OK);
    ck_assert(err_of(r) < 0x1p-16);
    /* integer constant keeps the scale */
    ck_assert_int_eq(beaa_ckks_mul_int(a, -3, r), BEAA_OK);
    ck_assert(r->scale == a->scale);
    for (size_t i = 0; i < S; i++) want[i] = -3 * x[i];
    ck_assert(err_of(r) < 4 * FRESH_BOUND);
    ck_assert_int_eq(beaa_ckks_mul_const(a, 1.0, 0.5, r), BEAA_ERR_SCALE_RANGE);
    ck_assert_int_eq(beaa_ckks_mul_const(a, NAN, 2.0, r), BEAA_ERR_VALUE);
    ck_assert_int_eq(beaa_ckks_mul_const(a, 0x1p40, 0x1p30, r), BEAA_ERR_VALUE);
    /* scale out of range: 2^40 * 2^200 exceeds Q_L */
    ck_assert_int_eq(beaa_ckks_mul_const(a, 0x1p-170, 0x1p200, r), BEAA_ERR_SCALE_RANGE);
    beaa_ckks_plaintext_free(pt);
    beaa_ckks_ciphertext_free(a);
    beaa_ckks_ciphertext_free(r);
}
END_TEST

START_TEST(test_mul_relin_rescale)
{
    beaa_ckks_ciphertext *a = enc(x, SCALE, L, 1), *b = enc(y, SCALE, L, 0), *r;
    ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx, 2, L, &r), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_mul(a, b, r), BEAA_OK);
    ck_assert_uint_eq(r->size, 3);
    for (size_t i = 0; i < S; i++) want[i] = x[i] * y[i];
    ck_assert(err_of(r) < MUL_BOUND); /* size-3 decryption works too */
    ck_assert_int_eq(beaa_ckks_add(r, a, r), BEAA_ERR_SCALE_MISMATCH);
    ck_assert_int_eq(beaa_ckks_relinearize(r, NULL, r), BEAA_ERR_NO_KEY);
    ck_assert_int_eq(beaa_ckks_rotate(r, 1, NULL, r), BEAA_ERR_SIZE);
    ck_assert_int_eq(beaa_ckks_mul(r, a, r), BEAA_ERR_SIZE);
    ck_assert_int_eq(beaa_ckks_relinearize(r, rk, r), BEAA_OK);
    ck_assert_uint_eq(r->size, 2);
    ck_assert(err_of(r) < MUL_BOUND);
    ck_assert_int_eq(beaa_ckks_rescale(r, r), BEAA_OK);
    ck_assert(err_of(r) < MUL_BOUND);
    /* square in place, down the chain to level 0, then the chain is exhausted */
    beaa_ckks_ciphertext *s = enc(x, SCALE, L, 1);
    memcpy(want, x, S * sizeof *x);
    for (unsigned lvl = L; lvl > 0; lvl--) {
        ck_assert_int_eq(beaa_ckks_square(s, s), BEAA_OK);
        ck_assert_int_eq(beaa_ckks_relinearize(s, rk, s), BEAA_OK);
        ck_assert_int_eq(beaa_ckks_rescale(s, s), BEAA_OK);
        ck_assert_uint_eq(s->level, lvl - 1);
        for (size_t i = 0; i < S; i++) want[i] *= want[i];
        ck_assert(err_of(s) < MUL_BOUND);
    }
    ck_assert_int_eq(beaa_ckks_rescale(s, s), BEAA_ERR_LEVEL_EXHAUSTED);
    ck_assert_int_eq(beaa_ckks_drop_level(s, 1, s), BEAA_ERR_LEVEL_EXHAUSTED);
    beaa_ckks_ciphertext_free(s);
    /* mul_relin_new + rescale_new */
    beaa_ckks_ciphertext *m, *m2;
    ck_assert_int_eq(beaa_ckks_mul_relin_new(a, b, rk, &m), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_rescale_new(m, &m2), BEAA_OK);
    for (size_t i = 0; i < S; i++) want[i] = x[i] * y[i];
    ck_assert(err_of(m2) < MUL_BOUND);
    ck_assert_int_eq(beaa_ckks_mul_relin(a, b, NULL, m), BEAA_ERR_NO_KEY);
    /* rescale of a scale-2^30 ciphertext by a 40-bit prime would leave scale < 1 */
    beaa_ckks_ciphertext *low = enc(x, 0x1p30, L, 1);
    ck_assert_int_eq(beaa_ckks_rescale(low, m), BEAA_ERR_SCALE_RANGE);
    beaa_ckks_ciphertext_free(low);
    /* drop_level: no division, scale kept; then operands at equal levels again */
    ck_assert_int_eq(beaa_ckks_drop_level(a, L - 1, r), BEAA_OK);
    ck_assert_uint_eq(r->level, L - 1);
    ck_assert(r->scale == a->scale);
    memcpy(want, x, S * sizeof *x);
    ck_assert(err_of(r) < FRESH_BOUND);
    ck_assert_int_eq(beaa_ckks_mul(m2, r, m), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_relinearize(m, rk, m), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_rescale(m, m), BEAA_OK);
    for (size_t i = 0; i < S; i++) want[i] = x[i] * y[i] * x[i];
    ck_assert(err_of(m) < MUL_BOUND);
    beaa_ckks_ciphertext *b2;
    ck_assert_int_eq(beaa_ckks_ciphertext_clone(b, &b2), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_drop_level(b2, 1, b2), BEAA_OK); /* in place */
    memcpy(want, y, S * sizeof *y);
    ck_assert(err_of(b2) < FRESH_BOUND);
    ck_assert_int_eq(beaa_ckks_mul(a, b2, m), BEAA_ERR_LEVEL_MISMATCH);
    beaa_ckks_ciphertext_free(b2);
    beaa_ckks_ciphertext_free(m);
    beaa_ckks_ciphertext_free(m2);
    beaa_ckks_ciphertext_free(a);
    beaa_ckks_ciphertext_free(b);
    beaa_ckks_ciphertext_free(r);
}
END_TEST

START_TEST(test_mul_relin_rescale_fused)
{
    beaa_ckks_ciphertext *a = enc(x, SCALE, L, 1), *b = enc(y, SCALE, L, 0), *r, *r2;
    ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx, 2, 0, &r), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx, 2, 0, &r2), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_mul_relin_rescale(a, b, rk, r), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_mul_relin(a, b, rk, r2), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_rescale(r2, r2), BEAA_OK);
    /* same level and exactly the same scale as the separate steps */
    ck_assert_uint_eq(r->level, L - 1);
    ck_assert_uint_eq(r->size, 2);
    ck_assert(r->scale == r2->scale);
    for (size_t i = 0; i < S; i++) want[i] = x[i] * y[i];
    ck_assert(err_of(r) < MUL_BOUND);
    ck_assert(err_of(r2) < MUL_BOUND);
    /* square, in place, down to level 0 */
    beaa_ckks_ciphertext *s = enc(x, SCALE, L, 1);
    memcpy(want, x, S * sizeof *x);
    for (unsigned lvl = L; lvl > 0; lvl--) {
        ck_assert_int_eq(beaa_ckks_mul_relin_rescale(s, s, rk, s), BEAA_OK);
        for (size_t i = 0; i < S; i++) want[i] *= want[i];
        ck_assert(err_of(s) < MUL_BOUND);
    }
    ck_assert_int_eq(beaa_ckks_mul_relin_rescale(s, s, rk, s), BEAA_ERR_LEVEL_EXHAUSTED);
    ck_assert_int_eq(beaa_ckks_mul_relin_rescale(a, b, NULL, r), BEAA_ERR_NO_KEY);
    ck_assert_int_eq(beaa_ckks_mul_relin_rescale(a, r2, rk, r), BEAA_ERR_LEVEL_MISMATCH);
    ck_assert_int_eq(beaa_ckks_mul(a, b, r2), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_mul_relin_rescale(r2, b, rk, r), BEAA_ERR_SIZE);
    beaa_ckks_ciphertext *low = enc(x, 0x1p15, L, 1);
    ck_assert_int_eq(beaa_ckks_mul_relin_rescale(low, low, rk, r), BEAA_ERR_SCALE_RANGE);
    beaa_ckks_ciphertext_free(low);
    beaa_ckks_ciphertext_free(s);
    beaa_ckks_ciphertext_free(a); beaa_ckks_ciphertext_free(b);
    beaa_ckks_ciphertext_free(r); beaa_ckks_ciphertext_free(r2);
}
END_TEST

/* relin_rescale on a sum of tensor products (the BEAA pattern) against the two separate calls
 * in both orders */
START_TEST(test_relin_rescale)
{
    beaa_ckks_ciphertext *a = enc(x, SCALE, L, 1), *b = enc(y, SCALE, L, 0), *t, *u, *r1, *r2, *r3;
    ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx, 3, L, &t), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx, 3, L, &u), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_mul(a, b, t), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_mul(a, a, u), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_add(t, u, t), BEAA_OK); /* x*y + x*x, size 3 */
    for (size_t i = 0; i < S; i++) want[i] = x[i] * y[i] + x[i] * x[i];
    ck_assert_int_eq(beaa_ckks_ciphertext_clone(t, &r1), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_clone(t, &r2), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_clone(t, &r3), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_relin_rescale(r1, rk, r1), BEAA_OK); /* in place */
    ck_assert_int_eq(beaa_ckks_relinearize(r2, rk, r2), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_rescale(r2, r2), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_rescale(r3, r3), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_relinearize(r3, rk, r3), BEAA_OK);
    ck_assert_uint_eq(r1->size, 2);
    ck_assert_uint_eq(r1->level, L - 1);
    ck_assert(r1->scale == r2->scale && r1->scale == r3->scale);
    double e1 = err_of(r1), e2 = err_of(r2), e3 = err_of(r3);
    ck_assert(e1 < MUL_BOUND && e2 < MUL_BOUND && e3 < MUL_BOUND);
    /* the fused form is at least as good as relinearize-then-rescale (one rounding instead of
     * two), up to noise: allow a factor 2 */
    ck_assert(e1 < 2 * e2);
    /* into another ciphertext; size 2 = plain rescale; errors */
    ck_assert_int_eq(beaa_ckks_relin_rescale(t, rk, u), BEAA_OK);
    ck_assert(err_of(u) < MUL_BOUND);
    ck_assert_int_eq(beaa_ckks_relin_rescale(t, NULL, u), BEAA_ERR_NO_KEY);
    ck_assert_int_eq(beaa_ckks_relin_rescale(r1, rk, r1), BEAA_OK);
    ck_assert_uint_eq(r1->level, L - 2);
    beaa_ckks_ciphertext_free(a); beaa_ckks_ciphertext_free(b);
    beaa_ckks_ciphertext_free(t); beaa_ckks_ciphertext_free(u);
    beaa_ckks_ciphertext_free(r1); beaa_ckks_ciphertext_free(r2); beaa_ckks_ciphertext_free(r3);
}
END_TEST

/* The relinearization key's copy as doubles (beaa_ckks_switch_key_make_fp): present exactly
 * where its size rule says (for the context and for the spec it was built from: the planner's
 * view), and the key switch reads it to the same ciphertext, bit for bit, as the packed rows
 * alone. A spec with a prime of 2^50 or more has no copy. */
START_TEST(test_relin_key_fp)
{
    unsigned bits[5] = {50, 40, 40, 40, 40};
    beaa_ckks_params_spec sp;
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 12, bits, 5, 2, 50), BEAA_OK);
    const size_t fb = beaa_ckks_switch_key_fp_bytes(ctx);
    ck_assert_uint_eq(beaa_ckks_switch_key_fp_bytes_spec(&sp), fb);
    ck_assert((rk->key.fp != NULL) == (fb > 0));
    if (fb) ck_assert_uint_eq(fb, beaa_ckks_switch_key_words(ctx) * sizeof(double));
    beaa_ckks_relin_key packed = *rk;
    packed.key.fp = NULL;
    beaa_ckks_ciphertext *a = enc(x, SCALE, L, 1), *t, *r1, *r2;
    ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx, 3, L, &t), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx, 2, L - 1, &r1), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx, 2, L - 1, &r2), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_mul(a, a, t), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_relin_rescale(t, rk, r1), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_relin_rescale(t, &packed, r2), BEAA_OK);
    ck_assert(memcmp(r1->data, r2->data, sizeof(uint64_t) * 2 * L * beaa_ckks_context_n(ctx)) == 0);
    /* making it again keeps the copy; no key, no copy */
    double *fp = rk->key.fp;
    ck_assert_int_eq(beaa_ckks_switch_key_make_fp(&rk->key), BEAA_OK);
    ck_assert_ptr_eq(rk->key.fp, fp);
    ck_assert_int_eq(beaa_ckks_switch_key_make_fp(NULL), BEAA_ERR_ARG);
    ck_assert_uint_eq(beaa_ckks_switch_key_fp_bytes(NULL), 0);
    ck_assert_uint_eq(beaa_ckks_switch_key_fp_bytes_spec(NULL), 0);
    /* a special prime of 51 bits: none, for the spec and for its context */
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 12, bits, 5, 2, 51), BEAA_OK);
    sp.allow_insecure = 1;
    beaa_ckks_context *c2 = NULL;
    ck_assert_int_eq(beaa_ckks_context_new(&sp, &c2), BEAA_OK);
    ck_assert_uint_eq(beaa_ckks_switch_key_fp_bytes_spec(&sp), 0);
    ck_assert_uint_eq(beaa_ckks_switch_key_fp_bytes(c2), 0);
    beaa_ckks_context_free(c2);
    beaa_ckks_ciphertext_free(a); beaa_ckks_ciphertext_free(t);
    beaa_ckks_ciphertext_free(r1); beaa_ckks_ciphertext_free(r2);
}
END_TEST

/* encrypt_sk_values_many: 11 ciphertexts (a group of 8 and one of 3 sharing Keccak lanes) are
 * bit for bit the ones encrypted one at a time from the same sub-streams, decrypt to their values,
 * carry seeds that re-expand to their c_1; bad arguments are refused. */
START_TEST(test_encrypt_values_many)
{
    enum { K = 11 };
    uint8_t seed[BEAA_SEED_BYTES] = { 42 };
    beaa_ckks_ciphertext *a[K], *b[K];
    const double *vals[K];
    uint64_t idx[K];
    double *v = malloc(sizeof(double) * S * K);
    ck_assert_ptr_nonnull(v);
    for (int j = 0; j < K; j++) {
        for (size_t i = 0; i < S; i++) v[(size_t)j * S + i] = test_rng_unit();
        vals[j] = v + (size_t)j * S;
        idx[j] = 1000 + 3 * (uint64_t)j;
        ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx, 2, 0, &a[j]), BEAA_OK);
        ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx, 2, 0, &b[j]), BEAA_OK);
    }
    ck_assert_int_eq(beaa_rng_set_insecure_seed(seed), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_encrypt_sk_values_many(sk, vals, S, SCALE, L, a, K, 77, idx), BEAA_OK);
    for (int j = 0; j < K; j++)
        ck_assert_int_eq(beaa_ckks_encrypt_sk_values_many(sk, vals + j, S, SCALE, L, b + j, 1, 77, idx + j), BEAA_OK);
    ck_assert_int_eq(beaa_rng_set_insecure_seed(NULL), BEAA_OK);
    const size_t words = (size_t)2 * (L + 1) * beaa_ckks_context_n(ctx);
    for (int j = 0; j < K; j++) {
        ck_assert(a[j]->size == 2 && a[j]->level == L && a[j]->ntt_form && a[j]->has_seed);
        ck_assert(a[j]->scale == SCALE);
        ck_assert_mem_eq(a[j]->data, b[j]->data, words * 8);
        memcpy(want, vals[j], S * sizeof *want);
        ck_assert(err_of(a[j]) < FRESH_BOUND);
    }
    /* distinct ciphertexts: distinct seeds and c_0 */
    ck_assert(memcmp(a[0]->seed, a[1]->seed, BEAA_SEED_BYTES) != 0);
    /* the seed re-expands to the same c_1 */
    beaa_ckks_ciphertext *r;
    ck_assert_int_eq(beaa_ckks_ciphertext_clone(a[9], &r), BEAA_OK);
    memset(beaa_ckks_ct_limb(r, 1, 0), 0, words / 2 * 8);
    ck_assert_int_eq(beaa_ckks_ciphertext_expand_seed(r), BEAA_OK);
    ck_assert_mem_eq(r->data, a[9]->data, words * 8);
    beaa_ckks_ciphertext_free(r);
    /* without streams: fresh randomness, still correct */
    ck_assert_int_eq(beaa_ckks_encrypt_sk_values_many(sk, vals, S, SCALE, L, b, 3, 0, NULL), BEAA_OK);
    memcpy(want, vals[2], S * sizeof *want);
    ck_assert(err_of(b[2]) < FRESH_BOUND);
    ck_assert(memcmp(b[0]->data, a[0]->data, words * 8) != 0);
    /* errors */
    beaa_ckks_ciphertext *dup[2] = {a[0], a[0]};
    ck_assert_int_eq(beaa_ckks_encrypt_sk_values_many(sk, vals, S, SCALE, L, dup, 2, 0, NULL), BEAA_ERR_ARG);
    const double *nv[2] = {vals[0], NULL};
    ck_assert_int_eq(beaa_ckks_encrypt_sk_values_many(sk, nv, S, SCALE, L, a, 2, 0, NULL), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_ckks_encrypt_sk_values_many(NULL, vals, S, SCALE, L, a, 2, 0, NULL), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_ckks_encrypt_sk_values_many(sk, vals, S, SCALE, L + 1, a, 2, 0, NULL), BEAA_ERR_LEVEL_EXHAUSTED);
    ck_assert_int_eq(beaa_ckks_encrypt_sk_values_many(sk, vals, S + 1, SCALE, L, a, 2, 0, NULL), BEAA_ERR_SLOTS);
    ck_assert_int_eq(beaa_ckks_encrypt_sk_values_many(sk, vals, S, 0.5, L, a, 2, 0, NULL), BEAA_ERR_SCALE_RANGE);
    ck_assert_int_eq(beaa_ckks_encrypt_sk_values_many(sk, vals, S, SCALE, L, a, 0, 0, NULL), BEAA_OK);
    /* a value too large to encode: the group's begun ciphertexts hold no trace of the values */
    v[5 * S + 7] = 1e300;
    ck_assert_int_eq(beaa_ckks_encrypt_sk_values_many(sk, vals, S, SCALE, L, a, 8, 0, NULL), BEAA_ERR_VALUE);
    for (int j = 0; j < 8; j++)
        for (size_t i = 0; i < words; i++) ck_assert_uint_eq(a[j]->data[i], 0);
    for (int j = 0; j < K; j++) { beaa_ckks_ciphertext_free(a[j]); beaa_ckks_ciphertext_free(b[j]); }
    free(v);
}
END_TEST

/* The same operations with 1 and 2 OpenMP threads give bit-identical ciphertexts. */
START_TEST(test_thread_independence)
{
    beaa_ckks_ciphertext *a = enc(x, SCALE, L, 1), *b = enc(y, SCALE, L, 0), *r1, *r2;
    ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx, 2, L, &r1), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx, 2, L, &r2), BEAA_OK);
    int saved = omp_get_max_threads();
    for (int t = 1; t <= 2; t++) {
        beaa_ckks_ciphertext *r = t == 1 ? r1 : r2;
        omp_set_num_threads(t);
        ck_assert_int_eq(beaa_ckks_mul_relin(a, b, rk, r), BEAA_OK);
        ck_assert_int_eq(beaa_ckks_rescale(r, r), BEAA_OK);
        ck_assert_int_eq(beaa_ckks_add_const(r, 0.5, r), BEAA_OK);
        ck_assert_int_eq(beaa_ckks_mul_relin_rescale(r, r, rk, r), BEAA_OK);
    }
    omp_set_num_threads(saved);
    ck_assert_uint_eq(r1->level, r2->level);
    ck_assert_mem_eq(r1->data, r2->data, (size_t)2 * (r1->level + 1) * beaa_ckks_context_n(ctx) * 8);
    beaa_ckks_ciphertext_free(a); beaa_ckks_ciphertext_free(b);
    beaa_ckks_ciphertext_free(r1); beaa_ckks_ciphertext_free(r2);
}
END_TEST

START_TEST(test_sparse_secret)
{
    unsigned bits[3] = {50, 40, 40};
    beaa_ckks_params_spec sp;
    beaa_ckks_context *c2;
    beaa_ckks_secret_key *s2;
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 12, bits, 3, 1, 50), BEAA_OK);
    sp.secret = BEAA_CKKS_SECRET_SPARSE;
    sp.hamming_weight = 64;
    sp.allow_insecure = 1;
    ck_assert_int_eq(beaa_ckks_context_new(&sp, &c2), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_secret_key_gen(c2, &s2), BEAA_OK);
    unsigned nz = 0;
    for (size_t i = 0; i < beaa_ckks_context_n(c2); i++) {
        ck_assert(s2->coeffs[i] >= -1 && s2->coeffs[i] <= 1);
        nz += s2->coeffs[i] != 0;
    }
    ck_assert_uint_eq(nz, 64);
    /* a ternary key from given coefficients; bad coefficients are refused */
    int8_t *co = calloc(beaa_ckks_context_n(c2), 1);
    beaa_ckks_secret_key *s3;
    co[3] = 2;
    ck_assert_int_eq(beaa_ckks_secret_key_from_coeffs(c2, co, &s3), BEAA_ERR_VALUE);
    co[3] = -1;
    ck_assert_int_eq(beaa_ckks_secret_key_from_coeffs(c2, co, &s3), BEAA_OK);
    beaa_ckks_secret_key_free(s3);
    free(co);
    beaa_ckks_secret_key_free(s2);
    beaa_ckks_context_free(c2);
}
END_TEST

int main(void)
{
    test_rng_seed(0x243f6a8885a308d3);
    Suite *s = suite_create("ckks_eval");
    TCase *tc = tcase_create("eval");
    tcase_set_timeout(tc, 300);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_encode_encrypt);
    tcase_add_test(tc, test_encrypt_sk_values);
    tcase_add_test(tc, test_seed_and_flood);
    tcase_add_test(tc, test_noise_measure);
    tcase_add_test(tc, test_add_sub_neg);
    tcase_add_test(tc, test_mul_plain_const_int);
    tcase_add_test(tc, test_mul_relin_rescale);
    tcase_add_test(tc, test_mul_relin_rescale_fused);
    tcase_add_test(tc, test_relin_rescale);
    tcase_add_test(tc, test_relin_key_fp);
    tcase_add_test(tc, test_encrypt_values_many);
    tcase_add_test(tc, test_thread_independence);
    tcase_add_test(tc, test_sparse_secret);
    suite_add_tcase(s, tc);
    return test_run_suite(s, 1);
}
