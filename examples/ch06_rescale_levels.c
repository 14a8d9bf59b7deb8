/* ch06_rescale_levels.c - chapter 6 of the course (docs/course/06-rescale-levels.md):
 * rescaling, levels, and why the modulus chain is the multiplicative depth.
 * 1. squares x again and again (x, x^2, x^4, ...) with the fused multiply + relinearize +
 *    rescale: every product uses up one prime; after L of them the ciphertext is at level 0
 *    and one more product is refused (BEAA_ERR_LEVEL_EXHAUSTED);
 * 2. the scale after a rescale is Delta^2 / q_l exactly, not Delta: it drifts slightly;
 * 3. without rescaling the scale grows as Delta^k until it no longer fits Q_l
 *    (BEAA_ERR_SCALE_RANGE);
 * 4. operands at different levels or scales are refused (LEVEL_MISMATCH, SCALE_MISMATCH);
 *    drop_level and encoding at the ciphertext's exact scale line them up.
 * Run: build/examples/ch06_rescale_levels */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "lib/beaa.h"

#define TRY(x)                                                                  \
    do {                                                                        \
        beaa_status s_ = (x);                                                   \
        if (s_ != BEAA_OK) {                                                    \
            fprintf(stderr, "%s failed: %s\n", #x, beaa_strerror(s_));           \
            return 1;                                                           \
        }                                                                       \
    } while (0)

static const beaa_ckks_secret_key *g_sk;
static size_t g_slots;
static double *g_got;

/* decrypts ct and returns log2 of the largest slot error against want[] */
static double err_bits(const beaa_ckks_ciphertext *ct, const double *want)
{
    beaa_ckks_plaintext *pt = NULL;
    if (beaa_ckks_plaintext_new(ct->ctx, 0, &pt) != BEAA_OK) return 0;
    double mx = INFINITY;
    if (beaa_ckks_decrypt(g_sk, ct, pt) == BEAA_OK &&
        beaa_ckks_decode_real(pt, g_got, g_slots) == BEAA_OK) {
        mx = 0;
        for (size_t j = 0; j < g_slots; j++) mx = fmax(mx, fabs(g_got[j] - want[j]));
    }
    beaa_ckks_plaintext_free(pt);
    return log2(mx);
}

int main(void)
{
    /* N = 2^14: q_0 of 50 bits + six 40-bit primes (L = 6) + two 50-bit special primes:
     * 390 <= 438 bits. Delta = 2^40: each 40-bit prime takes one factor Delta back off. */
    unsigned bits[7] = {50, 40, 40, 40, 40, 40, 40};
    beaa_ckks_params_spec spec;
    beaa_ckks_context *ctx;
    TRY(beaa_ckks_params_spec_make(&spec, 14, bits, 7, 2, 50));
    TRY(beaa_ckks_context_new(&spec, &ctx));
    const unsigned L = beaa_ckks_context_max_level(ctx);
    const size_t slots = beaa_ckks_context_slots(ctx);
    beaa_ckks_secret_key *sk;
    beaa_ckks_relin_key *rk;
    TRY(beaa_ckks_secret_key_gen(ctx, &sk));
    TRY(beaa_ckks_relin_key_gen(sk, &rk));
    g_sk = sk;
    g_slots = slots;
    double *x = malloc(slots * sizeof *x), *want = malloc(slots * sizeof *want);
    g_got = malloc(slots * sizeof *g_got);
    if (!x || !want || !g_got) return 1;
    for (size_t j = 0; j < slots; j++) x[j] = want[j] = 0.5 + 0.5 * cos(0.001 * (double)j);

    /* 1. Repeated squaring down the chain. */
    beaa_ckks_ciphertext *ct, *tmp;
    TRY(beaa_ckks_ciphertext_new(ctx, 2, L, &ct));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, L, &tmp));
    TRY(beaa_ckks_encrypt_sk_values(sk, x, slots, 0x1p40, L, ct));
    double worst_bits = err_bits(ct, want);
    printf("x        level %u  log2(scale) %.6f  log2 Q_l %.1f  slot 0 = %.8f  error 2^%.1f\n",
           ct->level, log2(ct->scale), beaa_ckks_context_log2_q(ctx, ct->level), g_got[0],
           worst_bits);
    unsigned squarings = 0;
    while (ct->level > 0) {
        TRY(beaa_ckks_mul_relin_rescale(ct, ct, rk, ct)); /* in place is allowed */
        for (size_t j = 0; j < slots; j++) want[j] *= want[j];
        squarings++;
        double e = err_bits(ct, want);
        worst_bits = fmax(worst_bits, e);
        printf("x^%-6u level %u  log2(scale) %.6f  log2 Q_l %.1f  slot 0 = %.8f  error 2^%.1f\n",
               1u << squarings, ct->level, log2(ct->scale), beaa_ckks_context_log2_q(ctx, ct->level),
               g_got[0], e);
    }
    printf("check: squarings %u\n", squarings);
    printf("check: worst_error_bits %.2f\n", worst_bits);
    beaa_status st = beaa_ckks_mul_relin_rescale(ct, ct, rk, tmp);
    printf("one more product at level 0: %s\n", beaa_strerror(st));
    printf("check: status_exhausted %d\n", (int)st);

    /* 2. Scale drift: q_l is a prime near 2^40, not 2^40, so Delta^2/q_l is not Delta. */
    printf("q_%u = 2^%.8f, so after the first rescale the scale is 2^%.8f, not 2^40\n", L,
           log2((double)beaa_ckks_context_q(ctx, L)->q), 80 - log2((double)beaa_ckks_context_q(ctx, L)->q));

    /* 3. No rescale: the scale grows 2^40, 2^80, 2^120 ... until it reaches Q_l. At level 1
     *    Q_1 is about 2^90: 2^80 fits, 2^120 does not. */
    beaa_ckks_ciphertext *c1, *sq;
    TRY(beaa_ckks_ciphertext_new(ctx, 2, L, &c1));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, L, &sq));
    TRY(beaa_ckks_encrypt_sk_values(sk, x, slots, 0x1p40, 1, c1));
    TRY(beaa_ckks_mul_relin(c1, c1, rk, sq));
    printf("level 1, log2 Q_1 = %.1f: x*x has scale 2^%.0f\n", beaa_ckks_context_log2_q(ctx, 1),
           log2(sq->scale));
    st = beaa_ckks_mul_relin(sq, c1, rk, tmp);
    printf("x*x*x without rescaling (scale 2^120): %s\n", beaa_strerror(st));
    printf("check: status_scale_range %d\n", (int)st);

    /* 4. Adding x (level L) to x^2 (level L-1): levels differ; after dropping x to L-1 the
     *    scales differ (2^40 vs 2^80/q_L); x encrypted at x^2's exact scale adds fine. */
    beaa_ckks_ciphertext *a, *b;
    TRY(beaa_ckks_ciphertext_new(ctx, 2, L, &a));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, L, &b));
    TRY(beaa_ckks_encrypt_sk_values(sk, x, slots, 0x1p40, L, a));
    TRY(beaa_ckks_mul_relin_rescale(a, a, rk, b)); /* x^2 at level L-1 */
    st = beaa_ckks_add(a, b, tmp);
    printf("x (level %u) + x^2 (level %u): %s\n", a->level, b->level, beaa_strerror(st));
    printf("check: status_level_mismatch %d\n", (int)st);
    TRY(beaa_ckks_drop_level(a, b->level, a));
    st = beaa_ckks_add(a, b, tmp);
    printf("after drop_level: scales 2^%.8f and 2^%.8f: %s\n", log2(a->scale), log2(b->scale),
           beaa_strerror(st));
    printf("check: status_scale_mismatch %d\n", (int)st);
    TRY(beaa_ckks_encrypt_sk_values(sk, x, slots, b->scale, b->level, a));
    TRY(beaa_ckks_add(a, b, tmp));
    for (size_t j = 0; j < slots; j++) want[j] = x[j] + x[j] * x[j];
    double e = err_bits(tmp, want);
    printf("x encrypted at x^2's exact scale: x + x^2, slot 0 = %.8f (want %.8f), error 2^%.1f\n",
           g_got[0], want[0], e);
    printf("check: aligned_add_error_bits %.2f\n", e);

    beaa_ckks_ciphertext_free(a);
    beaa_ckks_ciphertext_free(b);
    beaa_ckks_ciphertext_free(c1);
    beaa_ckks_ciphertext_free(sq);
    beaa_ckks_ciphertext_free(ct);
    beaa_ckks_ciphertext_free(tmp);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_secret_key_free(sk);
    beaa_ckks_context_free(ctx);
    free(x);
    free(want);
    free(g_got);
    return 0;
}
