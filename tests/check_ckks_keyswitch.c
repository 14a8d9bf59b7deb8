/* check_ckks_keyswitch.c - the key-switching internals against independent references: the
 * one-multiplication reduction of inner-product sums against 128-bit `%` (extreme and random
 * sums, every prime size 20..54 bits), and the rounding division by a product of dropped primes
 * (mod-down, mod-down merged with rescale; one or two polynomials, in place or into another
 * buffer) against GMP on random integers, with 1 and 2 threads giving the same bits; the
 * key-switching product raising digits to two slots per pass (one thread, inputs beyond 1 MiB)
 * against one slot at a time (two threads), bit for bit, and against plaintext products. */
#include <check.h>
#include <gmp.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "lib/beaa.h"
#include "lib/mem.h"
#include "ckks/keyswitch.h"
#include "ckks/kernels/kernels.h"

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static uint64_t rnd64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int light(void)
{
    const char *e = getenv("BEAA_TEST_LIGHT");
    return e && *e && strcmp(e, "0") != 0;
}

/* beaa_ckks_sum_reduce == s % q for sums up to the documented bound 49 q^2 + q */
START_TEST(test_sum_reduce)
{
    const int per = light() ? 20000 : 100000;
    long bad = 0;
    for (unsigned bits = 20; bits <= 54; bits++) {
        for (int qi = 0; qi < 12; qi++) {
            uint64_t top = UINT64_C(1) << (bits - 1);
            uint64_t q = qi == 0 ? top + 1 : qi == 1 ? (top << 1) - 1 : (top | (rnd64() & (top - 1))) | 1;
            beaa_ckks_sum_reducer r;
            ck_assert_int_eq(beaa_ckks_sum_reducer_init(&r, q), 1);
            beaa_u128 maxs = (beaa_u128)49 * (q - 1) * (q - 1) + (q - 1);
            for (int k = 0; k < per; k++) {
                beaa_u128 s;
                if (k < 500) s = maxs - (beaa_u128)k;                  /* the top of the range */
                else if (k < 1000) s = (beaa_u128)(k - 500);           /* the bottom */
                else if (k < 1500) s = (beaa_u128)q * (uint64_t)(k - 1000) + (uint64_t)(k & 1); /* multiples */
                else s = (((beaa_u128)rnd64() << 64) | rnd64()) % (maxs + 1);
                /* count here, assert once below: a Check assertion per sum would cost a syscall */
                if (beaa_ckks_sum_reduce(s, &r) != (uint64_t)(s % q)) bad++;
            }
            ck_assert_msg(bad == 0, "q %llu (%u bits): %ld wrong", (unsigned long long)q, bits, bad);
        }
    }
    beaa_ckks_sum_reducer r;
    ck_assert_int_eq(beaa_ckks_sum_reducer_init(&r, (UINT64_C(1) << 55) + 1), 0); /* too large: refused */
}
END_TEST

/* A small context: N = 2^12, 4 data primes, 2 special primes (insecure opt-out: tests only). */
static beaa_ckks_context *make_ctx(void)
{
    unsigned bits[4] = {50, 40, 40, 40};
    beaa_ckks_params_spec sp;
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 12, bits, 4, 2, 50), BEAA_OK);
    sp.allow_insecure = 1;
    beaa_ckks_context *ctx;
    ck_assert_int_eq(beaa_ckks_context_new(&sp, &ctx), BEAA_OK);
    return ctx;
}

/* x (limbs for the primes idx[0..nl), NTT form) = random integers X_k in [0, prod of those
 * primes); X[k] receives X_k. */
static void random_ext(const beaa_ckks_context *ctx, const unsigned *idx, unsigned nl, uint64_t *x,
                       mpz_t *X)
{
    const size_t n = beaa_ckks_context_n(ctx);
    const beaa_kernels *kern = beaa_ckks_context_kernels(ctx);
    mpz_t M, t;
    mpz_inits(M, t, NULL);
    mpz_set_ui(M, 1);
    for (unsigned j = 0; j < nl; j++) mpz_mul_ui(M, M, beaa_ckks_context_prime(ctx, idx[j])->q);
    for (size_t k = 0; k < n; k++) {
        mpz_set_ui(X[k], 0);
        for (int w = 0; w < 12; w++) { mpz_mul_2exp(X[k], X[k], 64); mpz_add_ui(X[k], X[k], rnd64()); }
        if (k < 4) mpz_sub_ui(X[k], M, k + 1);   /* the top of the range */
        else if (k < 8) mpz_set_ui(X[k], k - 4); /* the bottom */
        else mpz_mod(X[k], X[k], M);
        for (unsigned j = 0; j < nl; j++)
            x[(size_t)j * n + k] = mpz_fdiv_ui(X[k], beaa_ckks_context_prime(ctx, idx[j])->q);
    }
    for (unsigned j = 0; j < nl; j++) kern->ntt_fwd(beaa_ckks_context_ntt(ctx, idx[j]), x + (size_t)j * n);
    mpz_clears(M, t, NULL);
}

/* out (nk limbs, NTT form) must equal floor((X + (D-1)/2) / D) mod q_i, D = prod of the dropped
 * primes; the division's double-precision overflow estimate may rarely cost +-1: at most `slack`
 * such coefficients over the whole test. Returns the number of +-1 coefficients. */
static int check_div(const beaa_ckks_context *ctx, const uint64_t *out, unsigned nk, const unsigned *drop,
                     unsigned nd, mpz_t *X)
{
    const size_t n = beaa_ckks_context_n(ctx);
    const beaa_kernels *kern = beaa_ckks_context_kernels(ctx);
    uint64_t *c = beaa_alloc(n * sizeof *c);
    ck_assert_ptr_nonnull(c);
    mpz_t D, h, r;
    mpz_inits(D, h, r, NULL);
    mpz_set_ui(D, 1);
    for (unsigned j = 0; j < nd; j++) mpz_mul_ui(D, D, beaa_ckks_context_prime(ctx, drop[j])->q);
    mpz_sub_ui(h, D, 1);
    mpz_fdiv_q_2exp(h, h, 1);
    int off = 0;
    for (unsigned i = 0; i < nk; i++) {
        uint64_t q = beaa_ckks_context_prime(ctx, i)->q;
        memcpy(c, out + (size_t)i * n, n * sizeof *c);
        kern->ntt_inv(beaa_ckks_context_ntt(ctx, i), c);
        for (size_t k = 0; k < n; k++) {
            mpz_add(r, X[k], h);
            mpz_fdiv_q(r, r, D);
            uint64_t want = mpz_fdiv_ui(r, q);
            if (c[k] == want) continue;
            ck_assert_msg(c[k] == (want + 1) % q || want == (c[k] + 1) % q,
                          "limb %u coefficient %zu: got %llu want %llu", i, k,
                          (unsigned long long)c[k], (unsigned long long)want);
            off++;
        }
    }
    mpz_clears(D, h, r, NULL);
    beaa_free(c);
    return off;
}

/* mod-down (drop the special primes) and mod-down + rescale (drop q_l too), for one polynomial
 * in place and two polynomials into separate outputs; 1 and 2 threads bit-identical */
/* N = 2^15, 6 data primes, 2 special (8 slots, 3 digits; mod-up inputs 1.5 MiB): with one
 * thread ks_product raises the digits to two slots per basis_conv_multi pass, with two threads
 * one slot at a time (4 groups < 4 per thread): the same ciphertext bit for bit, and the product
 * decrypts to x*y within 2^-20. */
START_TEST(test_slot_groups)
{
    const unsigned bits[6] = {50, 40, 40, 40, 40, 40};
    beaa_ckks_params_spec sp;
    beaa_ckks_context *ctx;
    beaa_ckks_secret_key *sk;
    beaa_ckks_relin_key *rk;
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 15, bits, 6, 2, 50), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_context_new(&sp, &ctx), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_secret_key_gen(ctx, &sk), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_relin_key_gen(sk, &rk), BEAA_OK);
    const size_t S = beaa_ckks_context_slots(ctx);
    const unsigned L = beaa_ckks_context_max_level(ctx);
    double *x = malloc(S * sizeof *x), *y = malloc(S * sizeof *y), *z = malloc(S * sizeof *z);
    ck_assert(x && y && z);
    for (size_t i = 0; i < S; i++) {
        x[i] = (double)(rnd64() % 2001) / 1000.0 - 1.0;
        y[i] = (double)(rnd64() % 2001) / 1000.0 - 1.0;
    }
    beaa_ckks_ciphertext *a, *b, *r[2];
    ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx, 2, L, &a), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx, 2, L, &b), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_encrypt_sk_values(sk, x, S, 0x1p40, L, a), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_encrypt_sk_values(sk, y, S, 0x1p40, L, b), BEAA_OK);
    const int saved = omp_get_max_threads();
    for (int t = 0; t < 2; t++) {
        ck_assert_int_eq(beaa_ckks_ciphertext_new(ctx, 2, L, &r[t]), BEAA_OK);
        omp_set_num_threads(t + 1);
        ck_assert_int_eq(beaa_ckks_mul_relin_rescale(a, b, rk, r[t]), BEAA_OK);
    }
    omp_set_num_threads(saved);
    ck_assert_uint_eq(r[0]->level, L - 1);
    ck_assert_mem_eq(r[0]->data, r[1]->data, (size_t)2 * L * beaa_ckks_context_n(ctx) * 8);
    beaa_ckks_plaintext *pt;
    ck_assert_int_eq(beaa_ckks_plaintext_new(ctx, L - 1, &pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_decrypt(sk, r[0], pt), BEAA_OK);
    ck_assert_int_eq(beaa_ckks_decode_real(pt, z, S), BEAA_OK);
    double err = 0;
    for (size_t i = 0; i < S; i++) {
        double e = fabs(z[i] - x[i] * y[i]);
        if (e > err) err = e;
    }
    ck_assert_msg(err < 0x1p-20, "max error %g", err);
    beaa_ckks_plaintext_free(pt);
    beaa_ckks_ciphertext_free(a);
    beaa_ckks_ciphertext_free(b);
    beaa_ckks_ciphertext_free(r[0]);
    beaa_ckks_ciphertext_free(r[1]);
    free(x);
    free(y);
    free(z);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_secret_key_free(sk);
    beaa_ckks_context_free(ctx);
}
END_TEST

START_TEST(test_divide_vs_gmp)
{
    beaa_ckks_context *ctx = make_ctx();
    const size_t n = beaa_ckks_context_n(ctx);
    const unsigned L = beaa_ckks_context_max_level(ctx), alpha = beaa_ckks_context_n_special(ctx);
    const unsigned ns = L + 1 + alpha;
    mpz_t *X0 = malloc(n * sizeof *X0), *X1 = malloc(n * sizeof *X1);
    for (size_t k = 0; k < n; k++) { mpz_init(X0[k]); mpz_init(X1[k]); }
    uint64_t *x0 = beaa_alloc((size_t)ns * n * 8), *x1 = beaa_alloc((size_t)ns * n * 8);
    uint64_t *y0 = beaa_alloc((size_t)ns * n * 8), *y1 = beaa_alloc((size_t)ns * n * 8);
    uint64_t *o0 = beaa_alloc((size_t)ns * n * 8), *o1 = beaa_alloc((size_t)ns * n * 8);
    ck_assert(x0 && x1 && y0 && y1 && o0 && o1);
    int off = 0, saved = omp_get_max_threads();
    for (int rescale = 0; rescale <= 1; rescale++) {
        /* slots: data primes 0..nk-1 kept, then the dropped ones */
        unsigned nk = rescale ? L : L + 1, nd = 0, idx[16], drop[8];
        for (unsigned i = 0; i < nk; i++) idx[i] = i;
        if (rescale) drop[nd++] = L;
        for (unsigned j = 0; j < alpha; j++) drop[nd++] = L + 1 + j;
        for (unsigned j = 0; j < nd; j++) idx[nk + j] = drop[j];
        random_ext(ctx, idx, nk + nd, x0, X0);
        random_ext(ctx, idx, nk + nd, x1, X1);
        /* two polynomials into separate outputs, 1 and 2 threads */
        for (int t = 1; t <= 2; t++) {
            omp_set_num_threads(t);
            memcpy(y0, x0, (size_t)(nk + nd) * n * 8);
            memcpy(y1, x1, (size_t)(nk + nd) * n * 8);
            uint64_t *xs[2] = {y0, y1};
            uint64_t *os[2] = {o0, o1};
            if (t == 2) { os[0] = y0; os[1] = y1; } /* second pass: in place */
            ck_assert_int_eq(beaa_ckks_ks_divide2(ctx, xs, 2, nk, drop, nd, os), BEAA_OK);
        }
        omp_set_num_threads(saved);
        ck_assert_mem_eq(o0, y0, (size_t)nk * n * 8); /* 1 thread into o, 2 threads in place */
        ck_assert_mem_eq(o1, y1, (size_t)nk * n * 8);
        off += check_div(ctx, o0, nk, drop, nd, X0);
        off += check_div(ctx, o1, nk, drop, nd, X1);
        /* one polynomial in place through the single-polynomial entry point */
        memcpy(y0, x0, (size_t)(nk + nd) * n * 8);
        ck_assert_int_eq(beaa_ckks_ks_divide(ctx, y0, nk, drop, nd), BEAA_OK);
        ck_assert_mem_eq(o0, y0, (size_t)nk * n * 8);
        if (!rescale) {
            memcpy(y0, x0, (size_t)(nk + nd) * n * 8);
            memcpy(y1, x1, (size_t)(nk + nd) * n * 8);
            ck_assert_int_eq(beaa_ckks_ks_moddown2(ctx, y0, y1, L), BEAA_OK);
            ck_assert_mem_eq(o0, y0, (size_t)nk * n * 8);
            ck_assert_mem_eq(o1, y1, (size_t)nk * n * 8);
        }
        /* the rotation's form: + addend on the first polynomial, automorphism on both, against
         * the plain division followed by the add and permute kernels (1 and 2 threads) */
        {
            const beaa_kernels *kern = beaa_kernels_get();
            uint32_t *perm = malloc(n * sizeof *perm);
            uint64_t *ad = beaa_alloc((size_t)nk * n * 8), *e = beaa_alloc((size_t)nk * n * 8);
            ck_assert(perm && ad && e);
            ck_assert_int_eq(beaa_ckks_galois_perm(ctx, beaa_ckks_galois_elt(ctx, 3), perm), BEAA_OK);
            for (unsigned i = 0; i < nk; i++) {
                const uint64_t q = beaa_ckks_context_prime(ctx, i)->q;
                for (size_t k = 0; k < n; k++) ad[(size_t)i * n + k] = (k * 2654435761u + i) % q;
                kern->add_mod(e, o0 + (size_t)i * n, ad + (size_t)i * n, n, q);
                kern->permute(o0 + (size_t)i * n, e, perm, n);
                memcpy(e, o1 + (size_t)i * n, n * 8);
                kern->permute(o1 + (size_t)i * n, e, perm, n);
            }
            for (int t = 1; t <= 2; t++) {
                omp_set_num_threads(t);
                memcpy(y0, x0, (size_t)(nk + nd) * n * 8);
                memcpy(y1, x1, (size_t)(nk + nd) * n * 8);
                uint64_t *xs[2] = {y0, y1};
                const uint64_t *adds[2] = {ad, NULL};
                ck_assert_int_eq(beaa_ckks_ks_divide2_ex(ctx, xs, 2, nk, drop, nd, adds, perm, xs),
                                 BEAA_OK);
                ck_assert_mem_eq(o0, y0, (size_t)nk * n * 8);
                ck_assert_mem_eq(o1, y1, (size_t)nk * n * 8);
            }
            omp_set_num_threads(saved);
            free(perm);
            beaa_free(ad);
            beaa_free(e);
        }
    }
    /* the +-1 cases need the double sum within ~2^-45 of an integer: none expected here */
    ck_assert_int_le(off, 2);
    /* bad arguments */
    unsigned drop1[1] = {L};
    uint64_t *xs[2] = {x0, x1};
    ck_assert_int_eq(beaa_ckks_ks_divide2(ctx, xs, 3, L, drop1, 1, xs), BEAA_ERR_INTERNAL);
    ck_assert_int_eq(beaa_ckks_ks_divide2(ctx, xs, 1, 0, drop1, 1, xs), BEAA_ERR_INTERNAL);
    ck_assert_int_eq(beaa_ckks_ks_divide2(ctx, xs, 1, L, drop1, 0, xs), BEAA_ERR_INTERNAL);
    for (size_t k = 0; k < n; k++) { mpz_clear(X0[k]); mpz_clear(X1[k]); }
    free(X0); free(X1);
    beaa_free(x0); beaa_free(x1); beaa_free(y0); beaa_free(y1); beaa_free(o0); beaa_free(o1);
    beaa_ckks_scratch_release();
    beaa_ckks_context_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ckks_keyswitch");
    TCase *tc = tcase_create("keyswitch");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_sum_reduce);
    tcase_add_test(tc, test_divide_vs_gmp);
    tcase_add_test(tc, test_slot_groups);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK); /* libgomp's thread pool does not survive fork */
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
