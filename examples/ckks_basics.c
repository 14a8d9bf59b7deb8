/* ckks_basics.c - a first tour of the CKKS layer of libbeaa: parameters, keys, encode, encrypt,
 * add, multiply, relinearize, rescale, rotate, decrypt; after each step it prints the precision
 * (log2 of the largest error against the same computation in doubles).
 * Build: make examples; run: build/examples/ckks_basics */
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

/* decrypts ct, decodes the first n slots and prints log2 max |got - want| */
static int report(const char *step, const beaa_ckks_secret_key *sk, const beaa_ckks_ciphertext *ct,
                  const double *want, size_t n, double *got)
{
    beaa_ckks_plaintext *pt;
    TRY(beaa_ckks_plaintext_new(ct->ctx, 0, &pt));
    TRY(beaa_ckks_decrypt(sk, ct, pt));
    TRY(beaa_ckks_decode_real(pt, got, n));
    beaa_ckks_plaintext_free(pt);
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(got[i] - want[i]));
    printf("%-28s level %2u  log2(scale) %6.2f  slot0 %+.6f (want %+.6f)  log2 max error %7.2f\n",
           step, ct->level, log2(ct->scale), got[0], want[0], log2(m));
    return 0;
}

int main(void)
{
    /* 1. Parameters: N = 2^14 (8192 slots), q0 of 50 bits, 4 primes of 40 bits for 4 rescales,
     *    2 special primes of 50 bits for key switching: 50+160+100 = 310 <= 438 bits, so the
     *    128-bit security check passes. */
    unsigned bits[5] = {50, 40, 40, 40, 40};
    beaa_ckks_params_spec spec;
    beaa_ckks_context *ctx;
    TRY(beaa_ckks_params_spec_make(&spec, 14, bits, 5, 2, 50));
    TRY(beaa_ckks_context_new(&spec, &ctx));
    printf("N = %zu, slots = %zu, levels = %u, digits (dnum) = %u, log2(QP) = %.1f\n",
           beaa_ckks_context_n(ctx), beaa_ckks_context_slots(ctx), beaa_ckks_context_max_level(ctx),
           beaa_ckks_context_dnum(ctx), beaa_ckks_context_log2_qp(ctx));

    /* 2. Keys: secret (client only), public, relinearization, rotation by 1 and by -3. */
    beaa_ckks_secret_key *sk;
    beaa_ckks_public_key *pk;
    beaa_ckks_relin_key *rk;
    beaa_ckks_galois_keys *gk;
    const int steps[2] = {1, -3};
    TRY(beaa_ckks_secret_key_gen(ctx, &sk));
    TRY(beaa_ckks_public_key_gen(sk, &pk));
    TRY(beaa_ckks_relin_key_gen(sk, &rk));
    TRY(beaa_ckks_galois_keys_gen(sk, steps, 2, 0, &gk));

    /* 3. Data: two vectors of values in [-1, 1]. */
    const size_t n = beaa_ckks_context_slots(ctx);
    const unsigned top = beaa_ckks_context_max_level(ctx);
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    double *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    if (!x || !y || !want || !got) return 1;
    for (size_t i = 0; i < n; i++) {
        x[i] = sin(0.001 * (double)i);
        y[i] = cos(0.003 * (double)i);
    }

    /* 4. Encode at scale 2^40 and encrypt with the public key. */
    beaa_ckks_plaintext *pt;
    beaa_ckks_ciphertext *cx, *cy, *r;
    TRY(beaa_ckks_plaintext_new(ctx, top, &pt));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, top, &cx));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, top, &cy));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, top, &r));
    TRY(beaa_ckks_encode_real(ctx, x, n, 0x1p40, top, pt));
    TRY(beaa_ckks_decode_real(pt, got, n));
    {
        double m = 0;
        for (size_t i = 0; i < n; i++) m = fmax(m, fabs(got[i] - x[i]));
        printf("%-28s log2 max error %7.2f\n", "encode/decode only", log2(m));
    }
    TRY(beaa_ckks_encrypt_pk(pk, pt, cx));
    if (report("encrypt x", sk, cx, x, n, got)) return 1;
    TRY(beaa_ckks_encode_real(ctx, y, n, 0x1p40, top, pt));
    TRY(beaa_ckks_encrypt_pk(pk, pt, cy));

    /* 5. Add. */
    TRY(beaa_ckks_add(cx, cy, r));
    for (size_t i = 0; i < n; i++) want[i] = x[i] + y[i];
    if (report("x + y", sk, r, want, n, got)) return 1;

    /* 6. Multiply: the product has 3 parts and scale 2^80; relinearize back to 2 parts, then
     *    rescale (divide by the last prime) back to scale ~2^40, one level down. */
    TRY(beaa_ckks_mul(cx, cy, r));
    for (size_t i = 0; i < n; i++) want[i] = x[i] * y[i];
    if (report("x * y (size 3)", sk, r, want, n, got)) return 1;
    TRY(beaa_ckks_relinearize(r, rk, r));
    if (report("relinearize", sk, r, want, n, got)) return 1;
    TRY(beaa_ckks_rescale(r, r));
    if (report("rescale", sk, r, want, n, got)) return 1;

    /* 7. Rotate the product left by 1 and right by 3. */
    beaa_ckks_ciphertext *rot;
    TRY(beaa_ckks_rotate_new(r, 1, gk, &rot));
    for (size_t i = 0; i < n; i++) want[i] = x[(i + 1) % n] * y[(i + 1) % n];
    if (report("rotate by 1", sk, rot, want, n, got)) return 1;
    TRY(beaa_ckks_rotate(r, -3, gk, rot));
    for (size_t i = 0; i < n; i++) want[i] = x[(i + n - 3) % n] * y[(i + n - 3) % n];
    if (report("rotate by -3", sk, rot, want, n, got)) return 1;

    /* 8. A missing key is an error value, not a crash. */
    beaa_status st = beaa_ckks_rotate(r, 2, gk, rot);
    printf("rotate by 2 without its key: %s\n", beaa_strerror(st));

    beaa_ckks_ciphertext_free(rot);
    beaa_ckks_ciphertext_free(r);
    beaa_ckks_ciphertext_free(cy);
    beaa_ckks_ciphertext_free(cx);
    beaa_ckks_plaintext_free(pt);
    beaa_ckks_galois_keys_free(gk);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_public_key_free(pk);
    beaa_ckks_secret_key_free(sk);
    beaa_ckks_context_free(ctx);
    free(x); free(y); free(want); free(got);
    return 0;
}
