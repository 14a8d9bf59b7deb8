/* ch02_rns_crt.c - chapter 2 of the course (docs/course/02-rns-crt.md): RNS, the modulus chain
 * and the Chinese remainder theorem, with GMP as the independent checker.
 * 1. builds a context and prints its modulus chain (data primes q_0..q_L, special primes,
 *    log2 Q at each level, the size of a ciphertext at each level);
 * 2. takes random integers x, y with |x|, |y| < Q/2 (GMP), stores them as residues mod q_i,
 *    multiplies residue by residue, and rebuilds x*y mod Q with the textbook CRT in GMP;
 * 3. rebuilds x from its residues with the library's exact centered lift
 *    (beaa_encoder_lift_centered, Garner with balanced digits) and compares with GMP.
 * Run: build/examples/ch02_rns_crt (links GMP: -lgmp). */
#include <gmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "lib/beaa.h"
#include "ckks/encoder.h"

#define TRY(x)                                                                  \
    do {                                                                        \
        beaa_status s_ = (x);                                                   \
        if (s_ != BEAA_OK) {                                                    \
            fprintf(stderr, "%s failed: %s\n", #x, beaa_strerror(s_));           \
            return 1;                                                           \
        }                                                                       \
    } while (0)

#define MAXL 8

/* x mod q in [0, q) for a signed GMP integer */
static uint64_t residue(const mpz_t x, uint64_t q)
{
    return (uint64_t)mpz_fdiv_ui(x, (unsigned long)q);
}

/* Textbook CRT: X = sum_i r_i * Q_i * (Q_i^-1 mod q_i) mod Q with Q_i = Q / q_i, then centered
 * into (-Q/2, Q/2]. */
static void crt(mpz_t out, const uint64_t *r, const uint64_t *q, unsigned k, const mpz_t Q)
{
    mpz_t Qi, inv, qi, t;
    mpz_inits(Qi, inv, qi, t, NULL);
    mpz_set_ui(out, 0);
    for (unsigned i = 0; i < k; i++) {
        mpz_set_ui(qi, (unsigned long)q[i]);
        mpz_divexact(Qi, Q, qi);
        mpz_invert(inv, Qi, qi);
        mpz_mul_ui(t, Qi, (unsigned long)r[i]);
        mpz_mul(t, t, inv);
        mpz_add(out, out, t);
    }
    mpz_mod(out, out, Q);
    mpz_fdiv_q_2exp(t, Q, 1);
    if (mpz_cmp(out, t) > 0) mpz_sub(out, out, Q);
    mpz_clears(Qi, inv, qi, t, NULL);
}

int main(void)
{
    /* 1. The chain: N = 2^14, q_0 of 50 bits (holds the final result), four 40-bit primes (one
     *    per rescale), two 50-bit special primes for key switching: 310 <= 438 bits, secure. */
    unsigned bits[5] = {50, 40, 40, 40, 40};
    beaa_ckks_params_spec spec;
    beaa_ckks_context *ctx;
    TRY(beaa_ckks_params_spec_make(&spec, 14, bits, 5, 2, 50));
    TRY(beaa_ckks_context_new(&spec, &ctx));
    const unsigned L = beaa_ckks_context_max_level(ctx);
    const size_t n = beaa_ckks_context_n(ctx);
    uint64_t q[MAXL];
    beaa_modulus mods[MAXL]; /* the primes with their Barrett constants, as the encoder takes them */
    printf("N = %zu, L = %u (%u data primes), %u special primes, %u digits\n", n, L, L + 1,
           beaa_ckks_context_n_special(ctx), beaa_ckks_context_dnum(ctx));
    for (unsigned i = 0; i <= L; i++) {
        q[i] = beaa_ckks_context_q(ctx, i)->q;
        mods[i] = *beaa_ckks_context_q(ctx, i);
        printf("  q_%u = %llu (%u bits, = 1 mod 2N: %s)  level %u: log2 Q = %.2f, a ciphertext "
               "holds %u limbs = %zu KiB\n", i, (unsigned long long)q[i],
               beaa_ckks_context_q(ctx, i)->bits, q[i] % (2 * n) == 1 ? "yes" : "no", i,
               beaa_ckks_context_log2_q(ctx, i), i + 1, (size_t)2 * (i + 1) * n * 8 / 1024);
    }
    for (unsigned j = 0; j < beaa_ckks_context_n_special(ctx); j++)
        printf("  p_%u = %llu (special)\n", j, (unsigned long long)beaa_ckks_context_p(ctx, j)->q);
    printf("log2(Q*P) = %.2f, 128-bit bound for N = 2^14: %u\n", beaa_ckks_context_log2_qp(ctx),
           beaa_ckks_security_max_logqp(14));
    printf("check: log2_qp %.3f\n", beaa_ckks_context_log2_qp(ctx));

    /* 2. RNS arithmetic: a product of residues is the residue of the product. */
    mpz_t Q, half, x, y, xy, back;
    mpz_inits(Q, half, x, y, xy, back, NULL);
    mpz_set_ui(Q, 1);
    for (unsigned i = 0; i <= L; i++) mpz_mul_ui(Q, Q, (unsigned long)q[i]);
    mpz_fdiv_q_2exp(half, Q, 1);
    gmp_randstate_t rs;
    gmp_randinit_default(rs);
    gmp_randseed_ui(rs, 2);
    size_t crt_bad = 0, prod_bad = 0;
    double worst_rel = 0;
    const int trials = 2000;
    for (int t = 0; t < trials; t++) {
        mpz_urandomm(x, rs, Q);
        mpz_sub(x, x, half); /* uniform in [-Q/2, Q/2) */
        mpz_urandomm(y, rs, Q);
        mpz_sub(y, y, half);
        uint64_t rx[MAXL], ry[MAXL], rxy[MAXL];
        for (unsigned i = 0; i <= L; i++) {
            rx[i] = residue(x, q[i]);
            ry[i] = residue(y, q[i]);
            rxy[i] = beaa_mul_mod(rx[i], ry[i], &mods[i]); /* one 64-bit product per limb */
        }
        crt(back, rx, q, L + 1, Q);
        crt_bad += mpz_cmp(back, x) != 0;
        mpz_mul(xy, x, y);
        mpz_mod(xy, xy, Q);
        if (mpz_cmp(xy, half) > 0) mpz_sub(xy, xy, Q);
        crt(back, rxy, q, L + 1, Q);
        prod_bad += mpz_cmp(back, xy) != 0;

        /* 3. The library's lift: the residues, one per limb (n = 1 coefficient), back to the
         *    centered integer as a double (scale 1). */
        double lifted;
        TRY(beaa_encoder_lift_centered(rx, 1, mods, L + 1, 1.0, &lifted));
        double exact = mpz_get_d(x);
        double rel = fabs(lifted - exact) / fabs(exact);
        if (rel > worst_rel) worst_rel = rel;
        if (t == 0) {
            gmp_printf("x = %Zd (%zu bits)\n", x, mpz_sizeinbase(x, 2));
            printf("  residues:");
            for (unsigned i = 0; i <= L; i++) printf(" %llu", (unsigned long long)rx[i]);
            printf("\n  lifted by the library: %.17g\n", lifted);
        }
    }
    printf("%d random x: textbook CRT (GMP) rebuilds x exactly %d times\n", trials,
           trials - (int)crt_bad);
    printf("check: crt_mismatches %zu\n", crt_bad);
    printf("%d random products x*y mod Q computed limb by limb: %d correct\n", trials,
           trials - (int)prod_bad);
    printf("check: rns_product_mismatches %zu\n", prod_bad);
    printf("library lift vs GMP: worst relative error 2^%.1f\n",
           worst_rel > 0 ? log2(worst_rel) : -1074.0);
    printf("check: lift_rel_error_log2 %.2f\n", worst_rel > 0 ? log2(worst_rel) : -1074.0);

    /* A small negative number is stored as q_i - 5 in every limb and lifts back to -5 exactly:
     * the centered lift is how decryption recovers signed messages. */
    uint64_t r5[MAXL];
    for (unsigned i = 0; i <= L; i++) r5[i] = q[i] - 5;
    double minus5;
    TRY(beaa_encoder_lift_centered(r5, 1, mods, L + 1, 1.0, &minus5));
    printf("residues q_i - 5 lift to %.1f\n", minus5);
    printf("check: small_negative_lift %.1f\n", minus5);

    gmp_randclear(rs);
    mpz_clears(Q, half, x, y, xy, back, NULL);
    beaa_ckks_context_free(ctx);
    return 0;
}
