/* check_rng.c - tests of lib/rng: SHAKE256 against FIPS 202 / python3 hashlib.shake_256
 * vectors, XOF reproducibility and domain separation, rejection-sampled uniformity
 * (chi-square), and OS entropy sanity. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>
#include "ckks/sampler.h"
#include "ckks/ckks.h"
#include "nn/pack.h"
#include "lib/rng.h"
#include "tests/test_util.h"

static void hex_to_bytes(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void assert_bytes_hex(const uint8_t *got, const char *hex)
{
    size_t n = strlen(hex) / 2;
    uint8_t *want = malloc(n);
    ck_assert_ptr_nonnull(want);
    hex_to_bytes(hex, want, n);
    ck_assert_msg(memcmp(got, want, n) == 0, "digest differs from reference %s", hex);
    free(want);
}

/* FIPS 202 SHAKE256 of the empty message (64 bytes of output). */
START_TEST(test_shake256_empty)
{
    uint8_t out[64];
    beaa_shake256(out, sizeof out, NULL, 0);
    assert_bytes_hex(out, "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f"
                          "d75dc4ddd8c0f200cb05019d67b592f6fc821c49479ab48640292eacb3b7c4be");
}
END_TEST

/* "abc" and the 200 x 0xA3 message of the NIST examples (values from hashlib.shake_256). */
START_TEST(test_shake256_vectors)
{
    uint8_t out[32];
    beaa_shake256(out, 32, "abc", 3);
    assert_bytes_hex(out, "483366601360a8771c6863080cc4114d8db44530f8f1e1ee4f94ea37e78b5739");

    uint8_t msg[200];
    memset(msg, 0xA3, sizeof msg);
    beaa_shake256(out, 32, msg, sizeof msg);
    assert_bytes_hex(out, "cd8a920ed141aa0407a22d59288652e9d9f1a7ee0c1e7c1ca699424da84a904d");

    /* Same message absorbed in uneven pieces must give the same digest. */
    static const size_t pieces[] = {1, 7, 0, 64, 63, 1, 64};
    beaa_xof x;
    beaa_shake256_init(&x);
    size_t off = 0;
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        beaa_shake256_absorb(&x, msg + off, pieces[i]);
        off += pieces[i];
    }
    ck_assert_uint_eq(off, 200);
    beaa_shake256_final(&x);
    beaa_xof_read(&x, out, 32);
    assert_bytes_hex(out, "cd8a920ed141aa0407a22d59288652e9d9f1a7ee0c1e7c1ca699424da84a904d");
}
END_TEST

/* Messages around the 136-byte rate boundary (padding in the last byte, a full extra block);
 * message byte i is i mod 251; references from hashlib.shake_256. */
START_TEST(test_shake256_rate_boundaries)
{
    static const struct { size_t len; const char *hex; } v[] = {
        {135, "c45dae624ad8a2f5aa7bac9d7557737fd91c96eedb70a6be5574d57a844eade0"},
        {136, "b7ff4073b3f5a8eabd6e17705ca7f6761a31058f9df781a6a47e3a3063b9d67a"},
        {137, "01d90952c642a5eb2a8fc9d713f843a45d7ac05132dddcb2efc9bebc27e37bcb"},
        {272, "e3299fa992163e7ffc875aff708dac93d2157e9b4ccaa2a13ba1ca4ef0b40f29"},
    };
    uint8_t msg[272], out[32];
    for (size_t i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)(i % 251);
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        beaa_shake256(out, 32, msg, v[k].len);
        assert_bytes_hex(out, v[k].hex);
    }
}
END_TEST

/* beaa_xof_init(seed, domain) is SHAKE256(seed || domain_le64); reading across the 136-byte
 * squeeze boundary in odd chunks gives the same stream as one read. */
START_TEST(test_xof_stream_reference)
{
    uint8_t seed[BEAA_SEED_BYTES];
    for (int i = 0; i < BEAA_SEED_BYTES; i++) seed[i] = (uint8_t)i;
    beaa_xof x;
    uint8_t all[300], parts[300];
    beaa_xof_init(&x, seed, 7);
    beaa_xof_read(&x, all, sizeof all);
    assert_bytes_hex(all, "dd0566df0a3f090d2fa8e2cc92164d9b96d3fff9904c3a6202b1fee26302e39b");
    assert_bytes_hex(all + 130, "91a475a4d3261cfc3135535f4dc8f52582a9918b634cd8ce1899f6fb70df17c2"
                                "255815885b23f050");
    assert_bytes_hex(all + 284, "f6268bdc98b4f4e81a7eab3f4705a3a6");

    beaa_xof_init(&x, seed, 7);
    static const size_t chunk[] = {1, 3, 131, 1, 0, 136, 28};
    size_t off = 0;
    for (size_t i = 0; i < sizeof chunk / sizeof chunk[0]; i++) {
        beaa_xof_read(&x, parts + off, chunk[i]);
        off += chunk[i];
    }
    ck_assert_uint_eq(off, 300);
    ck_assert(memcmp(all, parts, sizeof all) == 0);

    /* u64 is the little-endian reading of the next 8 bytes. */
    beaa_xof_init(&x, seed, 7);
    uint64_t w = beaa_xof_u64(&x);
    uint64_t ref = 0;
    for (int i = 7; i >= 0; i--) ref = (ref << 8) | all[i];
    ck_assert_uint_eq(w, ref);
}
END_TEST

START_TEST(test_xof_reproducible_and_separated)
{
    uint8_t seed[BEAA_SEED_BYTES], seed2[BEAA_SEED_BYTES];
    memset(seed, 0x5a, sizeof seed);
    memcpy(seed2, seed, sizeof seed);
    seed2[31] ^= 1;
    beaa_xof a, b, c, d;
    beaa_xof_init(&a, seed, 1);
    beaa_xof_init(&b, seed, 1);
    beaa_xof_init(&c, seed, 2);
    beaa_xof_init(&d, seed2, 1);
    uint8_t ra[1000], rb[1000], rc[1000], rd[1000];
    beaa_xof_read(&a, ra, sizeof ra);
    beaa_xof_read(&b, rb, sizeof rb);
    beaa_xof_read(&c, rc, sizeof rc);
    beaa_xof_read(&d, rd, sizeof rd);
    ck_assert(memcmp(ra, rb, sizeof ra) == 0);
    /* Independent streams: count equal bytes, expected 1000/256 ~ 3.9; 40 would be absurd. */
    int eq_c = 0, eq_d = 0;
    for (int i = 0; i < 1000; i++) {
        eq_c += ra[i] == rc[i];
        eq_d += ra[i] == rd[i];
    }
    ck_assert_int_lt(eq_c, 40);
    ck_assert_int_lt(eq_d, 40);

    beaa_xof_wipe(&a);
    const uint8_t *p = (const uint8_t *)&a;
    for (size_t i = 0; i < sizeof a; i++) ck_assert_uint_eq(p[i], 0);
}
END_TEST

/* Chi-square of n draws of beaa_xof_uniform(bound) folded into k equal-probability buckets
 * (bucket = v * k / bound, requires bound % k == 0 for exact equal probability). */
static double chi_square_uniform(uint64_t bound, unsigned k, unsigned n, uint64_t domain)
{
    uint8_t seed[BEAA_SEED_BYTES];
    for (int i = 0; i < BEAA_SEED_BYTES; i++) seed[i] = (uint8_t)(3 * i + 1);
    beaa_xof x;
    beaa_xof_init(&x, seed, domain);
    unsigned *cnt = calloc(k, sizeof *cnt);
    ck_assert_ptr_nonnull(cnt);
    for (unsigned i = 0; i < n; i++) {
        uint64_t v = beaa_xof_uniform(&x, bound);
        ck_assert_uint_lt(v, bound);
        unsigned __int128 b = (unsigned __int128)v * k / bound;
        cnt[(unsigned)b]++;
    }
    double e = (double)n / k, chi = 0;
    for (unsigned j = 0; j < k; j++) chi += (cnt[j] - e) * (cnt[j] - e) / e;
    free(cnt);
    return chi;
}

/* Thresholds are the 0.9999 quantiles of chi-square (9 dof: 33.72; 15 dof: 44.26; 2 dof:
 * 18.42). Streams are seeded, so the test is deterministic; a modulo-biased sampler would fail
 * the bound 3 * 2^62 case by a huge margin (the lowest third would get twice the mass). */
START_TEST(test_xof_uniform_chi_square)
{
    unsigned n = getenv("BEAA_TEST_LIGHT") ? 60000 : 300000;
    ck_assert(chi_square_uniform(10, 10, n, 11) < 33.72);
    ck_assert(chi_square_uniform(3, 3, n, 12) < 18.42);
    ck_assert(chi_square_uniform(3ULL << 62, 3, n, 13) < 18.42);
    /* A bound just above 2^49 (the size of our NTT primes); a multiple of 16 so that the 16
     * buckets have exactly equal probability. */
    ck_assert(chi_square_uniform((1ULL << 49) + 16 * 12345, 16, n, 14) < 44.26);
    ck_assert(chi_square_uniform(1000, 10, n, 15) < 33.72);

    beaa_xof x;
    uint8_t seed[BEAA_SEED_BYTES] = {0};
    beaa_xof_init(&x, seed, 0);
    for (int i = 0; i < 100; i++) ck_assert_uint_eq(beaa_xof_uniform(&x, 1), 0);
    for (int i = 0; i < 1000; i++) ck_assert_uint_lt(beaa_xof_uniform(&x, UINT64_MAX), UINT64_MAX);
}
END_TEST

/* The CKKS samplers (ckks/sampler.c) on seeded streams, so the outcome is deterministic.
 * Ternary: chi-square of the 3 values (2 dof, 0.9999 quantile 18.42) and of the 9 pairs of
 * consecutive values (8 dof: 31.83), which catches trits of one byte that are not independent.
 * Gaussian (sigma 3.2): every value within the 6-sigma cut, mean within 5 standard errors of 0,
 * variance within 3% of the truncated normal's (the cut removes ~2e-9 of the mass, so 3.2^2),
 * the share of zeros within 5 standard errors of P(|z| < 0.5/3.2) = 0.12414, and a symmetric
 * histogram and no correlation between neighbours; the wide sampler the same for sigma = 2^20. Mutations checked to fail: ternary
 * from every byte (no 243 cut) or in base 2, Gaussian using the cosine half of a pair twice. */
/* The error distribution's moments and shape on n samples (5 standard errors). */
static void check_gauss_stats(const int8_t *t, size_t n)
{
    double sum = 0, sq = 0, zeros = 0, hist[2 * BEAA_CKKS_GAUSS_BOUND + 1] = {0};
    for (size_t i = 0; i < n; i++) {
        ck_assert(t[i] >= -BEAA_CKKS_GAUSS_BOUND && t[i] <= BEAA_CKKS_GAUSS_BOUND);
        sum += t[i];
        sq += (double)t[i] * t[i];
        zeros += (t[i] == 0);
        hist[t[i] + BEAA_CKKS_GAUSS_BOUND] += 1;
    }
    const double sigma = BEAA_CKKS_SIGMA, mean = sum / n, var = sq / n - mean * mean;
    /* rounding adds 1/12 to the variance of a continuous normal */
    const double var_expect = sigma * sigma + 1.0 / 12.0;
    ck_assert_msg(fabs(mean) < 5 * sigma / sqrt((double)n), "gauss mean %.4f", mean);
    ck_assert_msg(fabs(var / var_expect - 1) < 0.03, "gauss variance %.3f vs %.3f", var, var_expect);
    const double p0 = erf(0.5 / (sigma * sqrt(2.0)));
    ck_assert_msg(fabs(zeros / n - p0) < 5 * sqrt(p0 * (1 - p0) / n), "gauss zeros %.5f vs %.5f",
                  zeros / n, p0);
    double lag = 0; /* consecutive values (the two halves of a Box-Muller pair) uncorrelated */
    for (size_t i = 0; i + 1 < n; i++) lag += (t[i] - mean) * (t[i + 1] - mean);
    lag /= (n - 1) * var;
    ck_assert_msg(fabs(lag) < 5 / sqrt((double)n), "gauss lag-1 correlation %.4f", lag);
    for (int k = 1; k <= 8; k++) { /* |e| = k: the two signs within 5 standard errors */
        double a = hist[BEAA_CKKS_GAUSS_BOUND + k], b = hist[BEAA_CKKS_GAUSS_BOUND - k];
        ck_assert_msg(fabs(a - b) < 5 * sqrt(a + b) + 1, "gauss asymmetric at %d: %.0f %.0f", k, a, b);
    }

}

START_TEST(test_ckks_samplers)
{
    const size_t n = getenv("BEAA_TEST_LIGHT") ? 60000 : 300000;
    uint8_t seed[BEAA_SEED_BYTES];
    for (int i = 0; i < BEAA_SEED_BYTES; i++) seed[i] = (uint8_t)(3 * i + 1);
    beaa_xof x;
    int8_t *t = malloc(n);
    int64_t *w = malloc(n * sizeof *w);
    ck_assert(t && w);

    beaa_xof_init(&x, seed, 21);
    beaa_ckks_sample_ternary(&x, t, n);
    double c3[3] = {0, 0, 0}, c9[9] = {0};
    for (size_t i = 0; i < n; i++) {
        ck_assert(t[i] >= -1 && t[i] <= 1);
        c3[t[i] + 1] += 1;
        if (i + 1 < n) c9[(t[i] + 1) * 3 + (t[i + 1] + 1)] += 1;
    }
    double chi = 0, e = n / 3.0;
    for (int k = 0; k < 3; k++) chi += (c3[k] - e) * (c3[k] - e) / e;
    ck_assert_msg(chi < 18.42, "ternary chi-square %.2f", chi);
    chi = 0;
    e = (n - 1) / 9.0;
    for (int k = 0; k < 9; k++) chi += (c9[k] - e) * (c9[k] - e) / e;
    ck_assert_msg(chi < 31.83, "ternary pairs chi-square %.2f", chi);

    beaa_xof_init(&x, seed, 22);
    beaa_ckks_sample_gauss(&x, t, n);
    check_gauss_stats(t, n);

    beaa_xof_init(&x, seed, 23);
    const double sw = 0x1p20;
    beaa_ckks_sample_gauss_wide(&x, w, n, sw);
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) {
        sum += (double)w[i];
        sq += (double)w[i] * (double)w[i];
    }
    double mw = sum / n, vw = sq / n - mw * mw;
    ck_assert_msg(fabs(mw) < 5 * sw / sqrt((double)n), "wide mean %.1f", mw);
    ck_assert_msg(fabs(vw / (sw * sw) - 1) < 0.03, "wide variance ratio %.4f", vw / (sw * sw));
    beaa_xof_wipe(&x);
    free(t);
    free(w);
}
END_TEST

START_TEST(test_os_random)
{
    uint8_t a[64], b[64];
    ck_assert_int_eq(beaa_os_random(a, sizeof a), BEAA_OK);
    ck_assert_int_eq(beaa_os_random(b, sizeof b), BEAA_OK);
    ck_assert(memcmp(a, b, sizeof a) != 0);
    ck_assert_int_eq(beaa_os_random(NULL, 0), BEAA_OK);
    ck_assert_int_eq(beaa_os_random(NULL, 5), BEAA_ERR_ARG);

    /* 1 MiB in one call (exercises the chunked loop); byte histogram chi-square with 255 dof
     * (mean 255, sd 22.6): 420 is > 7 sd, so a false alarm is practically impossible. */
    size_t n = 1 << 20;
    uint8_t *big = malloc(n);
    ck_assert_ptr_nonnull(big);
    ck_assert_int_eq(beaa_os_random(big, n), BEAA_OK);
    unsigned cnt[256] = {0};
    for (size_t i = 0; i < n; i++) cnt[big[i]]++;
    double e = n / 256.0, chi = 0;
    for (int j = 0; j < 256; j++) chi += (cnt[j] - e) * (cnt[j] - e) / e;
    ck_assert_msg(chi < 420, "os random byte histogram chi2 = %f", chi);
    free(big);

    beaa_xof x1, x2;
    ck_assert_int_eq(beaa_xof_init_os(&x1, 5), BEAA_OK);
    ck_assert_int_eq(beaa_xof_init_os(&x2, 5), BEAA_OK);
    ck_assert(beaa_xof_u64(&x1) != beaa_xof_u64(&x2) || beaa_xof_u64(&x1) != beaa_xof_u64(&x2));
    ck_assert_int_eq(beaa_xof_init_os(NULL, 5), BEAA_ERR_ARG);
}
END_TEST

/* One client run: a secret key, then a batch of `el` positions encrypted by the parallel packer.
 * Returns the key's coefficients and every ciphertext's words, concatenated (caller frees). */
static uint64_t *client_run(const beaa_ckks_context *ctx, size_t el, size_t n, size_t *words)
{
    beaa_ckks_secret_key *sk = NULL;
    ck_assert_int_eq(beaa_ckks_secret_key_gen(ctx, &sk), BEAA_OK);
    double *x = malloc(sizeof(double) * n * el);
    beaa_ckks_ciphertext **cts = calloc(el, sizeof *cts);
    ck_assert(x && cts);
    for (size_t i = 0; i < n * el; i++) x[i] = (double)(i % 17) / 17.0 - 0.5;
    unsigned lv = beaa_ckks_context_max_level(ctx);
    ck_assert_int_eq(beaa_nn_pack_encrypt(sk, x, n, el, lv, 0x1p30, cts), BEAA_OK);
    size_t N = beaa_ckks_context_n(ctx), per = 2 * (size_t)(lv + 1) * N;
    *words = N + el * per;
    uint64_t *out = malloc(sizeof(uint64_t) * *words);
    ck_assert_ptr_nonnull(out);
    for (size_t k = 0; k < N; k++) out[k] = (uint64_t)(int64_t)sk->coeffs[k];
    for (size_t e = 0; e < el; e++) {
        memcpy(out + N + e * per, cts[e]->data, sizeof(uint64_t) * per);
        beaa_ckks_ciphertext_free(cts[e]);
    }
    beaa_ckks_secret_key_free(sk);
    free(cts);
    free(x);
    return out;
}

/* A 2^10 ring with 3 primes (insecure: tests only). */
static beaa_ckks_context *small_ctx(void)
{
    beaa_ckks_params_spec sp;
    unsigned bits[3] = {40, 30, 30};
    ck_assert_int_eq(beaa_ckks_params_spec_make(&sp, 10, bits, 3, 1, 40), BEAA_OK);
    sp.allow_insecure = 1;
    beaa_ckks_context *ctx = NULL;
    ck_assert_int_eq(beaa_ckks_context_new(&sp, &ctx), BEAA_OK);
    return ctx;
}

/* The 8-stream sampler (the kernel table's SHAKE256 lanes, OS seed): the same distribution, a
 * fresh draw each call, arguments checked. */
START_TEST(test_gauss_os)
{
    beaa_ckks_context *ctx = small_ctx();
    const size_t n = getenv("BEAA_TEST_LIGHT") ? 60000 : 300000;
    int8_t *t = malloc(n), *u = malloc(n);
    ck_assert(t && u);
    ck_assert_int_eq(beaa_ckks_sample_gauss_os(ctx, 0xe400, t, n), BEAA_OK);
    check_gauss_stats(t, n);
    /* the 8 streams are independent: the lanes' eighths are not copies of each other */
    const size_t e = n / 8;
    for (size_t j = 1; j < 8; j++) ck_assert(memcmp(t, t + j * e, e) != 0);
    ck_assert_int_eq(beaa_ckks_sample_gauss_os(ctx, 0xe400, u, n), BEAA_OK);
    ck_assert(memcmp(t, u, n) != 0); /* a new OS seed per call */
    ck_assert_int_eq(beaa_ckks_sample_gauss_os(ctx, 0xe400, u, 12), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_ckks_sample_gauss_os(NULL, 0xe400, u, 16), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_ckks_sample_gauss_os(ctx, 0xe400, u, 0), BEAA_OK);
    free(t);
    free(u);
    beaa_ckks_context_free(ctx);
}
END_TEST

/* The insecure experiment seed: the same seed gives the same key and bit-identical ciphertexts
 * even though the packer encrypts positions on several threads in a scheduler-chosen order; a
 * different seed, or OS entropy, gives different ones. */
START_TEST(test_insecure_seed_reproducible)
{
    beaa_ckks_context *ctx = small_ctx();
    const size_t el = 37, n = 5;
    uint8_t s1[BEAA_SEED_BYTES] = {1, 2, 3}, s2[BEAA_SEED_BYTES] = {1, 2, 4};
    size_t w1, w2, w3, w4, w5;

    ck_assert_int_eq(beaa_rng_is_seeded(), 0);
    ck_assert_int_eq(beaa_rng_set_insecure_seed(s1), BEAA_OK);
    ck_assert_int_eq(beaa_rng_is_seeded(), 1);
    uint8_t r1[40], r2[40];
    ck_assert_int_eq(beaa_os_random(r1, sizeof r1), BEAA_OK);
    uint64_t *a = client_run(ctx, el, n, &w1);
    ck_assert_int_eq(beaa_rng_set_insecure_seed(s1), BEAA_OK);
    ck_assert_int_eq(beaa_os_random(r2, sizeof r2), BEAA_OK);
    ck_assert(memcmp(r1, r2, sizeof r1) == 0);
    uint64_t *b = client_run(ctx, el, n, &w2);
    ck_assert_uint_eq(w1, w2);
    ck_assert_msg(memcmp(a, b, sizeof(uint64_t) * w1) == 0, "same seed, different ciphertexts");

    ck_assert_int_eq(beaa_rng_set_insecure_seed(s2), BEAA_OK);
    uint64_t *c = client_run(ctx, el, n, &w3);
    ck_assert_msg(memcmp(a, c, sizeof(uint64_t) * w1) != 0, "different seeds, same ciphertexts");

    ck_assert_int_eq(beaa_rng_set_insecure_seed(NULL), BEAA_OK);
    ck_assert_int_eq(beaa_rng_is_seeded(), 0);
    uint64_t *d = client_run(ctx, el, n, &w4), *e = client_run(ctx, el, n, &w5);
    ck_assert_msg(memcmp(d, e, sizeof(uint64_t) * w4) != 0, "OS entropy repeated itself");
    ck_assert_msg(memcmp(a, d, sizeof(uint64_t) * w4) != 0, "OS entropy equals the seeded run");
    /* outside a seed the stream calls change nothing */
    beaa_rng_stream_state sv;
    ck_assert(beaa_rng_fork() == 0);
    beaa_rng_stream_enter(7, 3, &sv);
    beaa_rng_stream_leave(&sv);
    free(a); free(b); free(c); free(d); free(e);
    beaa_ckks_context_free(ctx);
}
END_TEST

static Suite *rng_suite(void)
{
    Suite *s = suite_create("rng");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_shake256_empty);
    tcase_add_test(tc, test_shake256_vectors);
    tcase_add_test(tc, test_shake256_rate_boundaries);
    tcase_add_test(tc, test_xof_stream_reference);
    tcase_add_test(tc, test_xof_reproducible_and_separated);
    tcase_add_test(tc, test_xof_uniform_chi_square);
    tcase_add_test(tc, test_os_random);
    tcase_add_test(tc, test_ckks_samplers);
    tcase_add_test(tc, test_gauss_os);
    tcase_add_test(tc, test_insecure_seed_reproducible);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(rng_suite(), 0);
}
