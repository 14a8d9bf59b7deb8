/* check_ckks_params.c - tests of CKKS parameters and context: Miller-Rabin against GMP,
 * generated primes (1 mod 2N, exact bit size, distinct, searched downward), the 128-bit security
 * table and its refusal, spec errors, fingerprints, and the NTT-form Galois permutation against
 * the naive coefficient-form automorphism X -> X^g. */
#include <check.h>
#include <gmp.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lib/beaa.h"
#include "tests/test_util.h"

static int gmp_is_prime(uint64_t n)
{
    mpz_t z;
    mpz_init(z);
    mpz_import(z, 1, 1, sizeof n, 0, 0, &n);
    int r = mpz_probab_prime_p(z, 40) != 0;
    mpz_clear(z);
    return r;
}

START_TEST(test_is_prime_vs_gmp)
{
    for (uint64_t n = 0; n < 3000; n++) ck_assert_int_eq(beaa_is_prime_u64(n), gmp_is_prime(n));
    for (int i = 0; i < 3000; i++) {
        uint64_t n = test_rng_u64() >> (test_rng_u64() % 40);
        n |= 1;
        ck_assert_int_eq(beaa_is_prime_u64(n), gmp_is_prime(n));
    }
    /* strong pseudoprimes to several bases and Carmichael numbers */
    const uint64_t comp[] = {561, 1105, 3215031751ull, 2152302898747ull, 3474749660383ull,
                             341550071728321ull, 3825123056546413051ull};
    for (size_t i = 0; i < sizeof comp / sizeof comp[0]; i++) ck_assert_int_eq(beaa_is_prime_u64(comp[i]), 0);
    ck_assert_int_eq(beaa_is_prime_u64(2305843009213693951ull), 1); /* 2^61 - 1 */
}
END_TEST

START_TEST(test_primes_generate)
{
    for (unsigned log_n = 10; log_n <= 16; log_n += 3) {
        for (unsigned bits = 30; bits <= 61; bits += 10) {
            uint64_t p[6];
            ck_assert_int_eq(beaa_ckks_primes_generate(p, 6, bits, log_n, NULL, 0), BEAA_OK);
            uint64_t m = (uint64_t)1 << (log_n + 1);
            for (int i = 0; i < 6; i++) {
                ck_assert(gmp_is_prime(p[i]));
                ck_assert_uint_eq(p[i] % m, 1);
                ck_assert_uint_eq(p[i] >> (bits - 1), 1); /* exactly `bits` bits */
                if (i) ck_assert(p[i] < p[i - 1]);    /* downward, distinct */
            }
            /* nothing skipped: no prime = 1 mod 2N between p[0] and 2^bits */
            for (uint64_t c = p[0] + m; c < ((uint64_t)1 << bits); c += m) ck_assert(!gmp_is_prime(c));
            /* avoid list is honoured */
            uint64_t q[2];
            ck_assert_int_eq(beaa_ckks_primes_generate(q, 2, bits, log_n, p, 1), BEAA_OK);
            ck_assert_uint_eq(q[0], p[1]);
            ck_assert_uint_eq(q[1], p[2]);
        }
    }
    uint64_t p[200];
    /* 20-bit primes = 1 mod 2^17: at most (2^19 / 2^17) = 4 candidates */
    ck_assert_int_eq(beaa_ckks_primes_generate(p, 200, 20, 16, NULL, 0), BEAA_ERR_NO_PRIMES);
    ck_assert_int_eq(beaa_ckks_primes_generate(p, 1, 63, 10, NULL, 0), BEAA_ERR_ARG);
}
END_TEST

START_TEST(test_security_table)
{
    const unsigned expect[] = {27, 54, 109, 218, 438, 881, 1747};
    for (unsigned i = 0; i < 7; i++) ck_assert_uint_eq(beaa_ckks_security_max_logqp(10 + i), expect[i]);
    ck_assert_uint_eq(beaa_ckks_security_max_logqp(9), 0);
    beaa_ckks_params_spec sp;
    unsigned bits[16];
    for (int i = 0; i < 16; i++) bits[i] = 40;
    bits[0] = 60;
    beaa_ckks_context *ctx = NULL;
    /* N=2^15: 60 + 10*40 + 3*60 = 640 <= 881: accepted */
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 15, bits, 11, 3, 60), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_params_spec_check(&sp), BEAA_OK);
    /* N=2^14: 640 > 438: refused unless opted out */
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 14, bits, 11, 3, 60), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_params_spec_check(&sp), BEAA_ERR_INSECURE);
    ck_assert_int_eq(beaa_ckks_context_new(&sp, &ctx), BEAA_ERR_INSECURE);
    ck_assert_ptr_null(ctx);
    /* the bound includes P: 438 exactly is fine, 439 is not */
    unsigned b2[8] = {60, 40, 40, 40, 40, 40, 40, 40}; /* 340 */
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 14, b2, 8, 2, 49), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_params_spec_check(&sp), BEAA_OK);
    b2[0] = 61;
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 14, b2, 8, 2, 49), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_params_spec_check(&sp), BEAA_ERR_INSECURE);
    sp.allow_insecure = 1;
    ck_assert_int_eq(beaa_ckks_params_spec_check(&sp), BEAA_OK);
    /* malformed */
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 14, b2, 0, 2, 49), BEAA_ERR_PARAMS);
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 14, b2, 8, 0, 49), BEAA_ERR_PARAMS);
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 9, b2, 8, 1, 49), BEAA_ERR_PARAMS);
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 17, b2, 8, 1, 49), BEAA_ERR_PARAMS);
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 14, b2, 8, 1, 62), BEAA_ERR_PARAMS);
    ck_assert_int_eq(beaa_ckks_params_spec_make(NULL, 14, b2, 8, 1, 40), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 14, b2, 8, 1, 40), BEAA_OK);
    sp.secret = BEAA_CKKS_SECRET_SPARSE;
    sp.hamming_weight = 0;
    ck_assert_int_eq(beaa_ckks_params_spec_check(&sp), BEAA_ERR_PARAMS);
    sp.hamming_weight = 64;
    ck_assert_int_eq(beaa_ckks_params_spec_check(&sp), BEAA_OK);
}
END_TEST

static beaa_ckks_context *small_ctx(unsigned log_n, unsigned n_primes, unsigned alpha, int sparse)
{
    unsigned bits[8] = {50, 40, 40, 40, 40, 40, 40, 40};
    beaa_ckks_params_spec sp;
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, log_n, bits, n_primes, alpha, 50), BEAA_OK);
    sp.allow_insecure = 1;
    if (sparse) { sp.secret = BEAA_CKKS_SECRET_SPARSE; sp.hamming_weight = 64; }
    beaa_ckks_context *ctx = NULL;
    ck_assert_int_eq(beaa_ckks_context_new(&sp, &ctx), BEAA_OK);
    return ctx;
}

START_TEST(test_context_and_fingerprint)
{
    beaa_ckks_context *a = small_ctx(10, 5, 2, 0), *b = small_ctx(10, 5, 2, 0);
    beaa_ckks_context *c = small_ctx(10, 4, 2, 0), *d = small_ctx(10, 5, 2, 1);
    ck_assert_uint_eq(beaa_ckks_context_n(a), 1024);
    ck_assert_uint_eq(beaa_ckks_context_slots(a), 512);
    ck_assert_uint_eq(beaa_ckks_context_max_level(a), 4);
    ck_assert_uint_eq(beaa_ckks_context_n_special(a), 2);
    ck_assert_uint_eq(beaa_ckks_context_dnum(a), 3); /* ceil(5/2) */
    ck_assert_ptr_null(beaa_ckks_context_q(a, 5));
    ck_assert_ptr_null(beaa_ckks_context_p(a, 2));
    ck_assert_ptr_nonnull(beaa_ckks_context_prime(a, 6));
    ck_assert_ptr_null(beaa_ckks_context_prime(a, 7));
    /* all 7 primes distinct, right sizes */
    for (unsigned k = 0; k < 7; k++) {
        uint64_t q = beaa_ckks_context_prime(a, k)->q;
        ck_assert_uint_eq(q >> (k == 0 || k >= 5 ? 49 : 39), 1);
        for (unsigned j = 0; j < k; j++) ck_assert_uint_ne(q, beaa_ckks_context_prime(a, j)->q);
    }
    double l2 = 0;
    for (unsigned k = 0; k < 5; k++) l2 += log2((double)beaa_ckks_context_q(a, k)->q);
    ck_assert_double_eq_tol(beaa_ckks_context_log2_q(a, 4), l2, 1e-9);
    ck_assert(beaa_ckks_context_log2_qp(a) > l2 + 99.0);
    ck_assert_mem_eq(beaa_ckks_context_fingerprint(a), beaa_ckks_context_fingerprint(b), 32);
    ck_assert(memcmp(beaa_ckks_context_fingerprint(a), beaa_ckks_context_fingerprint(c), 32) != 0);
    ck_assert(memcmp(beaa_ckks_context_fingerprint(a), beaa_ckks_context_fingerprint(d), 32) != 0);
    ck_assert_int_eq(beaa_ckks_context_new(NULL, &a), BEAA_ERR_ARG);
    beaa_ckks_context_free(a);
    beaa_ckks_context_free(b);
    beaa_ckks_context_free(c);
    beaa_ckks_context_free(d);
    beaa_ckks_context_free(NULL);
}
END_TEST

/* naive automorphism in coefficient form: X^k -> X^(g k mod 2N), with X^N = -1 */
static void naive_auto(uint64_t *r, const uint64_t *a, size_t n, uint64_t g, uint64_t q)
{
    for (size_t k = 0; k < n; k++) {
        uint64_t e = (g * k) % (2 * n);
        if (e < n) r[e] = a[k];
        else r[e - n] = a[k] ? q - a[k] : 0;
    }
}

START_TEST(test_galois_perm)
{
    beaa_ckks_context *ctx = small_ctx(10, 3, 1, 0);
    const size_t n = beaa_ckks_context_n(ctx);
    const beaa_kernels *K = beaa_ckks_context_kernels(ctx);
    uint64_t *a = beaa_alloc(n * 8), *r1 = beaa_alloc(n * 8), *r2 = beaa_alloc(n * 8);
    uint32_t *perm = malloc(n * sizeof *perm);
    ck_assert_uint_eq(beaa_ckks_galois_elt(ctx, 0), 1);
    ck_assert_uint_eq(beaa_ckks_galois_elt(ctx, 1), 5);
    ck_assert_uint_eq(beaa_ckks_galois_elt(ctx, 2), 25);
    ck_assert_uint_eq(beaa_ckks_galois_elt(ctx, 512), 1);
    ck_assert_uint_eq((beaa_ckks_galois_elt(ctx, -1) * 5) % (2 * n), 1);
    /* inverse elements: every odd g < 2N (the rotation keys are made for g^-1) */
    for (uint64_t g = 1; g < 2 * n; g += 2) {
        uint64_t gi = beaa_ckks_galois_inverse(ctx, g);
        ck_assert(gi < 2 * n && (gi & 1) == 1);
        ck_assert_uint_eq((g * gi) % (2 * n), 1);
    }
    ck_assert_uint_eq(beaa_ckks_galois_inverse(ctx, 5), beaa_ckks_galois_elt(ctx, -1));
    ck_assert_uint_eq(beaa_ckks_galois_conj(ctx), 2 * n - 1);
    const uint64_t gs[] = {5, 25, 3125 % 2048, 2 * 1024 - 1, beaa_ckks_galois_elt(ctx, -7), 1};
    for (unsigned k = 0; k < 3; k++) {
        const beaa_ntt_tables *t = beaa_ckks_context_ntt(ctx, k);
        uint64_t q = beaa_ckks_context_q(ctx, k)->q;
        for (size_t gi = 0; gi < sizeof gs / sizeof gs[0]; gi++) {
            for (size_t i = 0; i < n; i++) a[i] = test_rng_u64() % q;
            naive_auto(r1, a, n, gs[gi], q);
            K->ntt_fwd(t, r1);
            K->ntt_fwd(t, a);
            ck_assert_int_eq(beaa_ckks_galois_perm(ctx, gs[gi], perm), BEAA_OK);
            K->permute(r2, a, perm, n);
            ck_assert_mem_eq(r1, r2, n * 8);
        }
    }
    ck_assert_int_eq(beaa_ckks_galois_perm(ctx, 4, perm), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_ckks_galois_perm(ctx, 2 * n + 1, perm), BEAA_ERR_ARG);
    beaa_free(a);
    beaa_free(r1);
    beaa_free(r2);
    free(perm);
    beaa_ckks_context_free(ctx);
}
END_TEST

int main(void)
{
    test_rng_seed(0x9e3779b97f4a7c15);
    Suite *s = suite_create("ckks_params");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_is_prime_vs_gmp);
    tcase_add_test(tc, test_primes_generate);
    tcase_add_test(tc, test_security_table);
    tcase_add_test(tc, test_context_and_fingerprint);
    tcase_add_test(tc, test_galois_perm);
    suite_add_tcase(s, tc);
    return test_run_suite(s, 0);
}
