/* ch07_rotations.c - chapter 7 of the course (docs/course/07-rotations.md): rotations, Galois
 * keys and hoisting.
 * 1. the Galois element of a rotation by k slots is 5^k mod 2N (conjugation: 2N - 1);
 * 2. rotating by 1 moves slot j+1 to slot j; a step without a key is refused, but rotations
 *    compose (3 = 1 + 2);
 * 3. the sum of all N/2 slots in log2(N/2) rotate-and-add steps (keys for the powers of two);
 * 4. conjugation of complex slots;
 * 5. hoisted rotations (one decomposition, several keys) give the same bits as single ones,
 *    faster.
 * Run: build/examples/ch07_rotations */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#define NSTEPS 13 /* 1, 2, 4, ..., 4096 = N/4 for N = 2^14 */
#define NHOIST 4

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* decrypts ct; log2 of the largest |slot - want| (want_im NULL: real parts only) */
static double err_bits(const beaa_ckks_secret_key *sk, const beaa_ckks_ciphertext *ct,
                       const double *want, const double *want_im, double *re, double *im,
                       size_t n)
{
    beaa_ckks_plaintext *pt = NULL;
    double mx = INFINITY;
    if (beaa_ckks_plaintext_new(ct->ctx, 0, &pt) == BEAA_OK && beaa_ckks_decrypt(sk, ct, pt) == BEAA_OK &&
        beaa_ckks_decode_complex(pt, re, im, n) == BEAA_OK) {
        mx = 0;
        for (size_t j = 0; j < n; j++) {
            mx = fmax(mx, fabs(re[j] - want[j]));
            if (want_im) mx = fmax(mx, fabs(im[j] - want_im[j]));
        }
    }
    beaa_ckks_plaintext_free(pt);
    return log2(mx);
}

int main(void)
{
    /* N = 2^14, q_0 50 bits + two 40-bit primes, two 50-bit special primes: 230 <= 438 bits.
     * P = 2^100 is above every digit's product (chapter 5): the key switches add little noise. */
    unsigned bits[3] = {50, 40, 40};
    beaa_ckks_params_spec spec;
    beaa_ckks_context *ctx;
    TRY(beaa_ckks_params_spec_make(&spec, 14, bits, 3, 2, 50));
    TRY(beaa_ckks_context_new(&spec, &ctx));
    const size_t n = beaa_ckks_context_n(ctx), slots = n / 2;
    const unsigned top = beaa_ckks_context_max_level(ctx);

    /* 1. Galois elements. */
    printf("N = %zu: rotate by 1 -> X^%llu, by 2 -> X^%llu, by -1 -> X^%llu; conjugate -> X^%llu\n",
           n, (unsigned long long)beaa_ckks_galois_elt(ctx, 1),
           (unsigned long long)beaa_ckks_galois_elt(ctx, 2),
           (unsigned long long)beaa_ckks_galois_elt(ctx, -1),
           (unsigned long long)beaa_ckks_galois_conj(ctx));

    /* Keys: secret, and one Galois key per power of two plus conjugation. */
    int steps[NSTEPS];
    for (int i = 0; i < NSTEPS; i++) steps[i] = 1 << i;
    beaa_ckks_secret_key *sk;
    beaa_ckks_galois_keys *gk;
    TRY(beaa_ckks_secret_key_gen(ctx, &sk));
    double t0 = now();
    TRY(beaa_ckks_galois_keys_gen(sk, steps, NSTEPS, 1, &gk));
    printf("%zu Galois keys (%d powers of two + conjugation) in %.2f s, %.1f MiB each\n",
           gk->count, NSTEPS, now() - t0,
           (double)beaa_ckks_switch_key_bytes(ctx) / 1048576.0);

    double *x = malloc(slots * sizeof *x), *want = malloc(slots * sizeof *want),
           *wim = malloc(slots * sizeof *wim), *re = malloc(slots * sizeof *re),
           *im = malloc(slots * sizeof *im), *xi = malloc(slots * sizeof *xi);
    if (!x || !want || !wim || !re || !im || !xi) return 1;
    for (size_t j = 0; j < slots; j++) {
        x[j] = (double)(j % 100) / 100.0;
        xi[j] = 0.25 * sin(0.01 * (double)j);
    }
    beaa_ckks_plaintext *pt;
    beaa_ckks_ciphertext *ct, *r, *r2;
    TRY(beaa_ckks_plaintext_new(ctx, top, &pt));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, top, &ct));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, top, &r));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, top, &r2));
    TRY(beaa_ckks_encrypt_sk_values(sk, x, slots, 0x1p40, top, ct));

    /* 2. Rotate by 1: new slot j = old slot j+1 (indices mod N/2). */
    TRY(beaa_ckks_rotate(ct, 1, gk, r));
    for (size_t j = 0; j < slots; j++) want[j] = x[(j + 1) % slots];
    double e = err_bits(sk, r, want, NULL, re, im, slots);
    printf("rotate by 1: slots 0..2 = %.4f %.4f %.4f (were %.4f %.4f %.4f), error 2^%.1f\n", re[0],
           re[1], re[2], x[0], x[1], x[2], e);
    printf("check: rotate1_error_bits %.2f\n", e);
    beaa_status st = beaa_ckks_rotate(ct, 3, gk, r);
    printf("rotate by 3 (no key for 3): %s\n", beaa_strerror(st));
    printf("check: status_no_key %d\n", (int)st);
    TRY(beaa_ckks_rotate(ct, 1, gk, r));
    TRY(beaa_ckks_rotate(r, 2, gk, r)); /* in place */
    for (size_t j = 0; j < slots; j++) want[j] = x[(j + 3) % slots];
    e = err_bits(sk, r, want, NULL, re, im, slots);
    printf("rotate by 1 then by 2: slot 0 = %.4f (= old slot 3, %.4f), error 2^%.1f\n", re[0], x[3], e);
    printf("check: rotate3_composed_error_bits %.2f\n", e);

    /* 3. Sum of all slots: after adding the rotations by 1, 2, 4, ..., N/4, every slot holds
     *    the total. */
    TRY(beaa_ckks_ciphertext_copy(r, ct));
    for (int i = 0; i < NSTEPS; i++) {
        TRY(beaa_ckks_rotate(r, steps[i], gk, r2));
        TRY(beaa_ckks_add(r, r2, r));
    }
    double total = 0;
    for (size_t j = 0; j < slots; j++) total += x[j];
    for (size_t j = 0; j < slots; j++) want[j] = total;
    e = err_bits(sk, r, want, NULL, re, im, slots);
    printf("sum of %zu slots by %d rotations: slot 0 = %.6f, slot %zu = %.6f (exact %.6f), error "
           "2^%.1f\n", slots, NSTEPS, re[0], slots - 1, re[slots - 1], total, e);
    printf("check: slot_sum_error_bits %.2f\n", e);

    /* 4. Conjugation of complex slots. */
    TRY(beaa_ckks_encode_complex(ctx, x, xi, slots, 0x1p40, top, pt));
    TRY(beaa_ckks_encrypt_sk(sk, pt, r));
    TRY(beaa_ckks_conjugate(r, gk, r2));
    for (size_t j = 0; j < slots; j++) wim[j] = -xi[j];
    e = err_bits(sk, r2, x, wim, re, im, slots);
    printf("conjugate: slot 5 = %.4f%+.4fi (was %.4f%+.4fi), error 2^%.1f\n", re[5], im[5], x[5],
           xi[5], e);
    printf("check: conjugate_error_bits %.2f\n", e);

    /* 5. Hoisting: four rotations of one ciphertext. Single rotations decompose c1 four times;
     *    rotate_hoisted decomposes it once. Same bits; time the best of 7 each. */
    beaa_ckks_ciphertext *single[NHOIST], *hoist[NHOIST];
    for (int i = 0; i < NHOIST; i++) {
        TRY(beaa_ckks_ciphertext_new(ctx, 2, top, &single[i]));
        TRY(beaa_ckks_ciphertext_new(ctx, 2, top, &hoist[i]));
    }
    double t_single = 1e9, t_hoist = 1e9;
    for (int rep = 0; rep < 7; rep++) {
        t0 = now();
        for (int i = 0; i < NHOIST; i++) TRY(beaa_ckks_rotate(ct, steps[i], gk, single[i]));
        t_single = fmin(t_single, now() - t0);
        t0 = now();
        TRY(beaa_ckks_rotate_hoisted(ct, steps, NHOIST, gk, hoist));
        t_hoist = fmin(t_hoist, now() - t0);
    }
    size_t differ = 0;
    for (int i = 0; i < NHOIST; i++)
        differ += memcmp(single[i]->data, hoist[i]->data,
                         (size_t)2 * (top + 1) * n * sizeof(uint64_t)) != 0;
    printf("4 rotations: single %.2f ms, hoisted %.2f ms; results differ in %zu of 4\n",
           1e3 * t_single, 1e3 * t_hoist, differ);
    printf("check: hoisted_vs_single_differences %zu\n", differ);

    for (int i = 0; i < NHOIST; i++) {
        beaa_ckks_ciphertext_free(single[i]);
        beaa_ckks_ciphertext_free(hoist[i]);
    }
    beaa_ckks_ciphertext_free(r2);
    beaa_ckks_ciphertext_free(r);
    beaa_ckks_ciphertext_free(ct);
    beaa_ckks_plaintext_free(pt);
    beaa_ckks_galois_keys_free(gk);
    beaa_ckks_secret_key_free(sk);
    beaa_ckks_context_free(ctx);
    free(x); free(want); free(wim); free(re); free(im); free(xi);
    return 0;
}
