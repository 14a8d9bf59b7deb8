/* ch05_relin_keyswitch.c - chapter 5 of the course (docs/course/05-mul-relin-keyswitch.md):
 * ciphertext multiplication, relinearization and hybrid key switching.
 * For three parameter sets with the same data primes (N = 2^14, q_0 50 bits + four 40-bit
 * primes) and different special primes:
 *   A: two 50-bit special primes  -> 3 digits, P = 2^100 > every digit's product;
 *   B: one 50-bit special prime   -> 5 digits, P about the size of the 50-bit digit q_0;
 *   C: one 30-bit special prime   -> 5 digits, P far below the digits (a bad choice);
 * it multiplies two ciphertexts (size 3, decrypts under (1, s, s^2)), relinearizes (size 2),
 * and measures exactly the noise the key switch added: decrypt(relinearized) minus
 * decrypt(size 3), coefficient by coefficient. Model: the rounding of the division by P,
 * (1 + 2N/3)/12 in variance, plus sum_j d_j e_j / P with d_j uniform below the digit's product
 * Q_j: (N/3) sigma^2 sum_j (Q_j/P)^2.
 * Run: build/examples/ch05_relin_keyswitch */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "lib/beaa.h"

#define TRY(x)                                                                  \
    do {                                                                        \
        beaa_status s_ = (x);                                                   \
        if (s_ != BEAA_OK) {                                                    \
            fprintf(stderr, "%s failed: %s\n", #x, beaa_strerror(s_));           \
            return 1;                                                           \
        }                                                                       \
    } while (0)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* rms of the centered coefficients of (a - b) mod q_0 (limb 0, NTT form in, coefficients out) */
static double diff_rms(const beaa_ckks_plaintext *a, const beaa_ckks_plaintext *b)
{
    const beaa_ckks_context *ctx = a->ctx;
    const size_t n = beaa_ckks_context_n(ctx);
    const uint64_t q = beaa_ckks_context_q(ctx, 0)->q;
    const beaa_kernels *kern = beaa_ckks_context_kernels(ctx);
    uint64_t *d = beaa_alloc(n * sizeof *d);
    if (!d) return -1;
    kern->sub_mod(d, beaa_ckks_pt_limb(a, 0), beaa_ckks_pt_limb(b, 0), n, q);
    kern->ntt_inv(beaa_ckks_context_ntt(ctx, 0), d);
    double ss = 0;
    for (size_t k = 0; k < n; k++) {
        double v = d[k] > q / 2 ? -(double)(q - d[k]) : (double)d[k];
        ss += v * v;
    }
    beaa_free_secret(d, n * sizeof *d);
    return sqrt(ss / (double)n);
}

/* The model of the key-switching noise for ctx at the top level (see the header comment). */
static double ks_model(const beaa_ckks_context *ctx)
{
    const double n = (double)beaa_ckks_context_n(ctx), sigma = 3.2;
    const unsigned L = beaa_ckks_context_max_level(ctx), alpha = beaa_ckks_context_n_special(ctx);
    double log2p = 0, sum = 0;
    for (unsigned j = 0; j < alpha; j++) log2p += log2((double)beaa_ckks_context_p(ctx, j)->q);
    for (unsigned d = 0; d * alpha <= L; d++) {
        double log2qj = 0;
        for (unsigned i = d * alpha; i < (d + 1) * alpha && i <= L; i++)
            log2qj += log2((double)beaa_ckks_context_q(ctx, i)->q);
        sum += exp2(2 * (log2qj - log2p));
    }
    return sqrt((1 + 2 * n / 3) / 12 + n / 3 * sigma * sigma * sum);
}

static int run(const char *name, unsigned n_special, unsigned special_bits)
{
    unsigned bits[5] = {50, 40, 40, 40, 40};
    beaa_ckks_params_spec spec;
    beaa_ckks_context *ctx;
    TRY(beaa_ckks_params_spec_make(&spec, 14, bits, 5, n_special, special_bits));
    TRY(beaa_ckks_context_new(&spec, &ctx));
    const size_t n = beaa_ckks_context_n(ctx), slots = n / 2;
    const unsigned top = beaa_ckks_context_max_level(ctx);
    printf("%s: %u special prime(s) of %u bits, %u digits of %u primes, log2(QP) = %.0f, "
           "relinearization key %.1f MiB\n", name, n_special, special_bits,
           beaa_ckks_context_dnum(ctx), n_special, beaa_ckks_context_log2_qp(ctx),
           (double)beaa_ckks_switch_key_bytes(ctx) / 1048576.0);

    beaa_ckks_secret_key *sk;
    beaa_ckks_relin_key *rk;
    TRY(beaa_ckks_secret_key_gen(ctx, &sk));
    TRY(beaa_ckks_relin_key_gen(sk, &rk));
    double *x = malloc(slots * sizeof *x), *y = malloc(slots * sizeof *y),
           *got = malloc(slots * sizeof *got);
    if (!x || !y || !got) return 1;
    for (size_t j = 0; j < slots; j++) {
        x[j] = sin(0.002 * (double)j);
        y[j] = cos(0.003 * (double)j);
    }
    beaa_ckks_ciphertext *cx, *cy, *prod, *rel;
    beaa_ckks_plaintext *d3, *d2;
    TRY(beaa_ckks_ciphertext_new(ctx, 2, top, &cx));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, top, &cy));
    TRY(beaa_ckks_ciphertext_new(ctx, 3, top, &prod));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, top, &rel));
    TRY(beaa_ckks_plaintext_new(ctx, top, &d3));
    TRY(beaa_ckks_plaintext_new(ctx, top, &d2));
    TRY(beaa_ckks_encrypt_sk_values(sk, x, slots, 0x1p40, top, cx));
    TRY(beaa_ckks_encrypt_sk_values(sk, y, slots, 0x1p40, top, cy));

    /* (a0, a1) x (b0, b1) = (a0 b0, a0 b1 + a1 b0, a1 b1): three parts, scale 2^80. */
    TRY(beaa_ckks_mul(cx, cy, prod));
    TRY(beaa_ckks_decrypt(sk, prod, d3)); /* c0 + c1 s + c2 s^2 */
    TRY(beaa_ckks_decode_real(d3, got, slots));
    double mx = 0;
    for (size_t j = 0; j < slots; j++) mx = fmax(mx, fabs(got[j] - x[j] * y[j]));
    printf("  x*y: size %u, level %u, scale 2^%.2f, slot 1 = %.10f (want %.10f), error 2^%.1f\n",
           prod->size, prod->level, log2(prod->scale), got[1], x[1] * y[1], log2(mx));

    /* Relinearize: key-switch c2 from s^2 to s, add to (c0, c1). Time the best of 5. */
    double best = 1e9;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        TRY(beaa_ckks_relinearize(prod, rk, rel));
        best = fmin(best, now() - t0);
    }
    TRY(beaa_ckks_decrypt(sk, rel, d2));
    double ks = diff_rms(d2, d3), model = ks_model(ctx);
    printf("  relinearize: size %u, %.2f ms; noise it added: rms 2^%.2f (model 2^%.2f)\n",
           rel->size, 1e3 * best, log2(ks), log2(model));
    printf("check: %s_ks_noise_bits %.3f\n", name, log2(ks));
    printf("check: %s_ks_noise_bits_minus_model %.3f\n", name, log2(ks) - log2(model));

    /* Rescale back to about 2^40 and read the product. */
    TRY(beaa_ckks_rescale(rel, rel));
    TRY(beaa_ckks_decrypt(sk, rel, d2));
    TRY(beaa_ckks_decode_real(d2, got, slots));
    mx = 0;
    for (size_t j = 0; j < slots; j++) mx = fmax(mx, fabs(got[j] - x[j] * y[j]));
    printf("  rescale: level %u, scale 2^%.4f, slot 1 = %.10f, %.1f bits of precision\n",
           rel->level, log2(rel->scale), got[1], -log2(mx));
    printf("check: %s_product_precision_bits %.2f\n", name, -log2(mx));

    beaa_ckks_plaintext_free(d2);
    beaa_ckks_plaintext_free(d3);
    beaa_ckks_ciphertext_free(rel);
    beaa_ckks_ciphertext_free(prod);
    beaa_ckks_ciphertext_free(cy);
    beaa_ckks_ciphertext_free(cx);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_secret_key_free(sk);
    beaa_ckks_context_free(ctx);
    free(x);
    free(y);
    free(got);
    return 0;
}

int main(void)
{
    if (run("A", 2, 50) || run("B", 1, 50) || run("C", 1, 30)) return 1;
    /* Without a key there is no relinearization: a status, not a crash. */
    unsigned bits[2] = {50, 40};
    beaa_ckks_params_spec spec;
    beaa_ckks_context *ctx;
    beaa_ckks_ciphertext *ct;
    TRY(beaa_ckks_params_spec_make(&spec, 14, bits, 2, 1, 50));
    TRY(beaa_ckks_context_new(&spec, &ctx));
    TRY(beaa_ckks_ciphertext_new(ctx, 3, 1, &ct));
    beaa_status st = beaa_ckks_relinearize(ct, NULL, ct);
    printf("relinearize without a key: %s\n", beaa_strerror(st));
    printf("check: status_no_key %d\n", (int)st);
    beaa_ckks_ciphertext_free(ct);
    beaa_ckks_context_free(ctx);
    return 0;
}
