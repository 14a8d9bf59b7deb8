/* ch04_noise.c - chapter 4 of the course (docs/course/04-keys-noise.md): keys, encryption,
 * decryption, and the noise, measured.
 * The noise of a ciphertext of the plaintext m is e = (c0 + c1*s) - m: decrypt, subtract the
 * plaintext limb by limb (NTT form is linear), take limb 0 back to coefficients with the inverse
 * NTT and read the centered coefficients. Measured for a secret-key encryption, a public-key
 * encryption, a sum, and a noise-flooded decryption, each against its model.
 * Run: build/examples/ch04_noise */
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

#define SIGMA 3.2 /* the error distribution's standard deviation (ckks/sampler.h) */

typedef struct { double max, rms; } noise;

/* The noise of `dec` (a decryption) against the plaintext m, both at the same level, from
 * limb 0: (dec - m) mod q_0, inverse NTT, centered. */
static beaa_status measure(const beaa_ckks_plaintext *dec, const beaa_ckks_plaintext *m, noise *out)
{
    const beaa_ckks_context *ctx = dec->ctx;
    const size_t n = beaa_ckks_context_n(ctx);
    const beaa_modulus *q0 = beaa_ckks_context_q(ctx, 0);
    const beaa_kernels *kern = beaa_ckks_context_kernels(ctx);
    uint64_t *d = beaa_alloc(n * sizeof *d);
    if (!d) return BEAA_ERR_NOMEM;
    kern->sub_mod(d, beaa_ckks_pt_limb(dec, 0), beaa_ckks_pt_limb(m, 0), n, q0->q);
    kern->ntt_inv(beaa_ckks_context_ntt(ctx, 0), d);
    double mx = 0, ss = 0;
    for (size_t k = 0; k < n; k++) {
        double v = d[k] > q0->q / 2 ? -(double)(q0->q - d[k]) : (double)d[k];
        mx = fmax(mx, fabs(v));
        ss += v * v;
    }
    beaa_free_secret(d, n * sizeof *d);
    out->max = mx;
    out->rms = sqrt(ss / (double)n);
    return BEAA_OK;
}

static void show(const char *what, noise e, double model_rms)
{
    printf("%-34s noise rms 2^%5.2f (model 2^%5.2f), max |e| 2^%5.2f\n", what, log2(e.rms),
           log2(model_rms), log2(e.max));
}

int main(void)
{
    /* N = 2^13, q_0 50 bits, q_1 40 bits, one 50-bit special prime: 140 <= 218 bits. */
    unsigned bits[2] = {50, 40};
    beaa_ckks_params_spec spec;
    beaa_ckks_context *ctx;
    TRY(beaa_ckks_params_spec_make(&spec, 13, bits, 2, 1, 50));
    TRY(beaa_ckks_context_new(&spec, &ctx));
    const size_t n = beaa_ckks_context_n(ctx), slots = n / 2;
    const unsigned top = beaa_ckks_context_max_level(ctx);
    const double dn = (double)n, scale = 0x1p40;

    /* Keys. The secret s is ternary: about a third each of -1, 0, +1. */
    beaa_ckks_secret_key *sk;
    beaa_ckks_public_key *pk;
    TRY(beaa_ckks_secret_key_gen(ctx, &sk));
    TRY(beaa_ckks_public_key_gen(sk, &pk));
    size_t cnt[3] = {0, 0, 0};
    for (size_t k = 0; k < n; k++) cnt[sk->coeffs[k] + 1]++;
    printf("secret key: %zu x (-1), %zu x 0, %zu x (+1) of N = %zu coefficients\n", cnt[0], cnt[1],
           cnt[2], n);
    printf("public key (b, a) = (-a*s + e, a): %zu limbs of N words, 'a' stored as a 32-byte seed\n",
           (size_t)2 * (top + 1));

    /* A message: values in [-1, 1] at scale 2^40. */
    double *x = malloc(slots * sizeof *x), *got = malloc(slots * sizeof *got);
    if (!x || !got) return 1;
    for (size_t j = 0; j < slots; j++) x[j] = sin(0.01 * (double)j);
    beaa_ckks_plaintext *m, *dec;
    beaa_ckks_ciphertext *ca, *cb, *sum;
    TRY(beaa_ckks_plaintext_new(ctx, top, &m));
    TRY(beaa_ckks_plaintext_new(ctx, top, &dec));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, top, &ca));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, top, &cb));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, top, &sum));
    TRY(beaa_ckks_encode_real(ctx, x, slots, scale, top, m));
    noise e;

    /* Secret-key encryption: (c0, c1) = (-a*s + e + m, a): the noise is e itself. */
    const double m_sk = SIGMA;
    TRY(beaa_ckks_encrypt_sk(sk, m, ca));
    TRY(beaa_ckks_decrypt(sk, ca, dec));
    TRY(measure(dec, m, &e));
    show("fresh secret-key encryption", e, m_sk);
    printf("check: sk_noise_bits_minus_model %.3f\n", log2(e.rms) - log2(m_sk));
    TRY(beaa_ckks_decode_real(dec, got, slots));
    double mx = 0;
    for (size_t j = 0; j < slots; j++) mx = fmax(mx, fabs(got[j] - x[j]));
    printf("  decrypted slot 1 = %.12f (want %.12f); max slot error 2^%.1f: %.1f bits of "
           "precision at scale 2^40\n", got[1], x[1], log2(mx), -log2(mx));
    printf("check: sk_precision_bits %.2f\n", -log2(mx));

    /* Public-key encryption: v*(b, a) + (m + e0, e1) decrypts to m + v*e + e0 + e1*s. With v and
     * s ternary (2/3 of the coefficients nonzero) every product coefficient sums N terms:
     * variance (2N/3 + 2N/3 + 1) sigma^2. */
    const double m_pk = SIGMA * sqrt(4 * dn / 3 + 1);
    TRY(beaa_ckks_encrypt_pk(pk, m, cb));
    TRY(beaa_ckks_decrypt(sk, cb, dec));
    TRY(measure(dec, m, &e));
    show("fresh public-key encryption", e, m_pk);
    printf("check: pk_noise_bits_minus_model %.3f\n", log2(e.rms) - log2(m_pk));

    /* A sum: the noises add (independent: the variances add). The message is 2m. */
    TRY(beaa_ckks_add(ca, cb, sum));
    beaa_ckks_plaintext *m2; /* m + m, limb by limb */
    TRY(beaa_ckks_plaintext_new(ctx, top, &m2));
    for (unsigned i = 0; i <= top; i++)
        beaa_ckks_context_kernels(ctx)->add_mod(beaa_ckks_pt_limb(m2, i), beaa_ckks_pt_limb(m, i),
                                                beaa_ckks_pt_limb(m, i), n,
                                                beaa_ckks_context_q(ctx, i)->q);
    m2->scale = scale;
    TRY(beaa_ckks_decrypt(sk, sum, dec));
    TRY(measure(dec, m2, &e));
    const double m_sum = sqrt(m_sk * m_sk + m_pk * m_pk);
    show("sum of the two", e, m_sum);
    printf("check: sum_noise_bits_minus_model %.3f\n", log2(e.rms) - log2(m_sum));

    /* Flooding: a decryption shown to others gets an extra wide Gaussian (IND-CPA-D). */
    TRY(beaa_ckks_decrypt_flooded(sk, ca, 30.0, dec));
    TRY(measure(dec, m, &e));
    show("secret-key encryption, flooded 2^30", e, ldexp(1.0, 30));
    printf("check: flood_noise_bits %.3f\n", log2(e.rms));

    /* Decrypting with the wrong key gives garbage, not an error: there is no way to tell. */
    beaa_ckks_secret_key *other;
    TRY(beaa_ckks_secret_key_gen(ctx, &other));
    TRY(beaa_ckks_decrypt(other, ca, dec));
    TRY(measure(dec, m, &e));
    printf("%-34s noise rms 2^%5.2f: uniform mod q_0 (q_0 has %u bits)\n",
           "decrypted with another secret key", log2(e.rms), beaa_ckks_context_q(ctx, 0)->bits);
    printf("check: wrong_key_noise_bits %.3f\n", log2(e.rms));

    beaa_ckks_secret_key_free(other);
    beaa_ckks_plaintext_free(m2);
    beaa_ckks_ciphertext_free(sum);
    beaa_ckks_ciphertext_free(cb);
    beaa_ckks_ciphertext_free(ca);
    beaa_ckks_plaintext_free(dec);
    beaa_ckks_plaintext_free(m);
    beaa_ckks_public_key_free(pk);
    beaa_ckks_secret_key_free(sk);
    beaa_ckks_context_free(ctx);
    free(x);
    free(got);
    return 0;
}
