/* check_ckks_chain.c - depth test of the CKKS core: 10 successive multiply + relinearize +
 * rescale steps at N = 2^15 with a 128-bit secure chain (q0 60 bits, 10 primes of 40 bits,
 * 3 special primes of 60 bits: 640 <= 881 bits), scale 2^40, against the same products in
 * doubles (odd steps mul_relin + rescale, even steps the fused mul_relin_rescale); asserts >= 15 bits of precision (max error < 2^-15) after every step.
 * Under BEAA_TEST_LIGHT=1 (sanitizer run) it uses N = 2^14 with the same primes, which is NOT
 * 128-bit secure (640 > 438 bits): allowed only here through the explicit opt-out. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/beaa.h"
#include "tests/test_util.h"

START_TEST(test_chain_10)
{
    const unsigned log_n = test_light() ? 14 : 15;
    unsigned bits[11];
    bits[0] = 60;
    for (int i = 1; i < 11; i++) bits[i] = 40;
    beaa_ckks_params_spec sp;
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, log_n, bits, 11, 3, 60), BEAA_OK);
    if (test_light()) sp.allow_insecure = 1; /* see the header comment */
    beaa_ckks_context *ctx;
    ck_assert_int_eq(beaa_ckks_context_new(&sp, &ctx), BEAA_OK);
    beaa_ckks_secret_key *sk;
    beaa_ckks_public_key *pk;
    beaa_ckks_relin_key *rk;
    ck_assert_int_eq(beaa_ckks_secret_key_gen(ctx, &sk), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_public_key_gen(sk, &pk), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_relin_key_gen(sk, &rk), BEAA_OK);
    const size_t S = beaa_ckks_context_slots(ctx);
    const unsigned L = beaa_ckks_context_max_level(ctx);
    double *want = malloc(S * sizeof *want), *y = malloc(S * sizeof *y), *got = malloc(S * sizeof *got);
    for (size_t i = 0; i < S; i++) want[i] = test_rng_unit();
    beaa_ckks_plaintext *pt;
    beaa_ckks_ciphertext *x, *cy;
    ck_assert_int_eq(beaa_ckks_plaintext_new(ctx, L, &pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx, 2, L, &x), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx, 2, L, &cy), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_encode_real(ctx, want, S, 0x1p40, L, pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_encrypt_pk(pk, pt, x), BEAA_OK);
    for (unsigned step = 1; step <= 10; step++) {
        /* factor: |y| in [0.9, 1] with a random sign, so the product stays O(1) */
        for (size_t i = 0; i < S; i++) {
            y[i] = 0.95 + 0.05 * test_rng_unit();
            if (test_rng_u64() & 1) y[i] = -y[i];
            want[i] *= y[i];
        }
        /* encrypt y at x's level and exact (drifted) scale, so the operands match */
        ck_assert_int_eq(beaa_ckks_encode_real(ctx, y, S, x->scale, x->level, pt), BEAA_OK);
        ck_assert_int_eq(beaa_ckks_encrypt_pk(pk, pt, cy), BEAA_OK);
        if (step % 2) { /* odd steps: separate operations; even steps: the fused one */
            ck_assert_int_eq(beaa_ckks_mul_relin(x, cy, rk, x), BEAA_OK);
            ck_assert_int_eq(beaa_ckks_rescale(x, x), BEAA_OK);
        } else {
            ck_assert_int_eq(beaa_ckks_mul_relin_rescale(x, cy, rk, x), BEAA_OK);
        }
        ck_assert_uint_eq(x->level, L - step);
        /* the scale drifts (s^2/q with q slightly below 2^40), tracked exactly: stays near 2^40 */
        ck_assert(fabs(log2(x->scale) - 40.0) < 0.5);
        ck_assert_int_eq(beaa_ckks_decrypt(sk, x, pt), BEAA_OK);
        ck_assert_int_eq(beaa_ckks_decode_real(pt, got, S), BEAA_OK);
        double m = 0;
        for (size_t i = 0; i < S; i++) m = fmax(m, fabs(got[i] - want[i]));
        fprintf(stderr, "chain N=2^%u step %2u level %2u: log2 max error %.2f\n", log_n, step, x->level, log2(m));
        ck_assert_msg(m < 0x1p-15, "step %u: error 2^%.2f", step, log2(m));
    }
    /* the chain is used up: one more rescale is refused */
    ck_assert_int_eq(beaa_ckks_rescale(x, x), BEAA_ERR_LEVEL_EXHAUSTED);
    beaa_ckks_plaintext_free(pt);
    beaa_ckks_ciphertext_free(x);
    beaa_ckks_ciphertext_free(cy);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_public_key_free(pk);
    beaa_ckks_secret_key_free(sk);
    beaa_ckks_context_free(ctx);
    free(want); free(y); free(got);
}
END_TEST

int main(void)
{
    test_rng_seed(0xa4093822299f31d0);
    Suite *s = suite_create("ckks_chain");
    TCase *tc = tcase_create("chain");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_chain_10);
    suite_add_tcase(s, tc);
    return test_run_suite(s, 1);
}
