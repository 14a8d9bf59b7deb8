/* ch03_encoding.c - chapter 3 of the course (docs/course/03-encoding.md): the canonical
 * embedding, slots, the scale and the precision of encoding.
 * 1. N = 16: 8 complex slot values -> the real polynomial m (beaa_fft_slots_to_coeffs), then
 *    m evaluated directly at zeta^(5^j) (slot j) and at zeta^(-5^j) (its conjugate);
 * 2. the constant i in every slot is the monomial X^(N/2);
 * 3. encode/decode at N = 2^13 with scales 2^20, 2^30, 2^40: the error against the model
 *    sqrt(N/12)/scale (each integer coefficient is off by at most 1/2 after rounding);
 * 4. what the encoder refuses: a value too large for the modulus, NaN, too many values.
 * Run: build/examples/ch03_encoding */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "lib/beaa.h"
#include "ckks/fft.h"

#define TRY(x)                                                                  \
    do {                                                                        \
        beaa_status s_ = (x);                                                   \
        if (s_ != BEAA_OK) {                                                    \
            fprintf(stderr, "%s failed: %s\n", #x, beaa_strerror(s_));           \
            return 1;                                                           \
        }                                                                       \
    } while (0)

#define SMALL_N 16

static uint64_t rng = 0x9e3779b97f4a7c15ull; /* demo inputs only */
static double unit(void) /* uniform in [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1p-52 - 1.0;
}

int main(void)
{
    /* 1. The canonical embedding at N = 16: slot j = m(zeta^(5^j mod 2N)), zeta = e^(i pi/N). */
    beaa_fft_tables *ft;
    TRY(beaa_fft_tables_new(SMALL_N, &ft));
    double re[SMALL_N / 2], im[SMALL_N / 2], coeffs[SMALL_N];
    for (int j = 0; j < SMALL_N / 2; j++) {
        re[j] = j + 1;          /* slots 1, 2, ..., 8 */
        im[j] = j % 2 ? 0.5 : 0;
    }
    beaa_fft_slots_to_coeffs(ft, re, im, SMALL_N / 2, coeffs);
    printf("N = %d: slots 1, 2+0.5i, 3, 4+0.5i, ... become the real polynomial\n  m(X) =", SMALL_N);
    for (int k = 0; k < SMALL_N; k++) printf(" %+.3f X^%d", coeffs[k], k);
    printf("\n");
    double worst = 0, worst_conj = 0;
    unsigned e = 1; /* 5^j mod 2N */
    for (int j = 0; j < SMALL_N / 2; j++) {
        double complex z = cexp(I * M_PI * e / SMALL_N), zc = conj(z), v = 0, vc = 0;
        for (int k = SMALL_N; k-- > 0;) {
            v = v * z + coeffs[k];
            vc = vc * zc + coeffs[k];
        }
        double complex want = re[j] + I * im[j];
        worst = fmax(worst, cabs(v - want));
        worst_conj = fmax(worst_conj, cabs(vc - conj(want)));
        if (j < 3)
            printf("  slot %d: m(zeta^%2u) = %+.6f %+.6fi   m(zeta^-%u) = %+.6f %+.6fi\n", j, e,
                   creal(v), cimag(v), e, creal(vc), cimag(vc));
        e = (e * 5) % (2 * SMALL_N);
    }
    printf("direct evaluation vs the slots: max error %.2e (conjugate orbit %.2e)\n", worst,
           worst_conj);
    printf("check: embedding_error %.3e\n", fmax(worst, worst_conj));

    /* 2. i in every slot is X^(N/2): zeta^(5^j N/2) = i^(5^j) = i. */
    for (int j = 0; j < SMALL_N / 2; j++) { re[j] = 0; im[j] = 1; }
    beaa_fft_slots_to_coeffs(ft, re, im, SMALL_N / 2, coeffs);
    double off = 0;
    for (int k = 0; k < SMALL_N; k++) off = fmax(off, fabs(coeffs[k] - (k == SMALL_N / 2)));
    printf("i in every slot -> coefficient of X^%d = %.3f, all others 0 (max deviation %.1e)\n",
           SMALL_N / 2, coeffs[SMALL_N / 2], off);
    printf("check: i_is_monomial_error %.3e\n", off);
    beaa_fft_tables_free(ft);

    /* 3. The scale. N = 2^13 (4096 slots), q_0 50 bits + q_1 40 bits + one 50-bit special
     *    prime: 140 <= 218 bits, secure. Encode at level 1 (both primes), decode, compare. */
    unsigned bits[2] = {50, 40};
    beaa_ckks_params_spec spec;
    beaa_ckks_context *ctx;
    TRY(beaa_ckks_params_spec_make(&spec, 13, bits, 2, 1, 50));
    TRY(beaa_ckks_context_new(&spec, &ctx));
    const size_t n = beaa_ckks_context_n(ctx), slots = n / 2;
    double *x = malloc(slots * sizeof *x), *got = malloc(slots * sizeof *got);
    if (!x || !got) return 1;
    for (size_t j = 0; j < slots; j++) x[j] = unit();
    beaa_ckks_plaintext *pt;
    TRY(beaa_ckks_plaintext_new(ctx, 1, &pt));
    const int log_scales[3] = {20, 30, 40};
    for (int s = 0; s < 3; s++) {
        double scale = ldexp(1.0, log_scales[s]);
        TRY(beaa_ckks_encode_real(ctx, x, slots, scale, 1, pt));
        TRY(beaa_ckks_decode_real(pt, got, slots));
        double mx = 0, ss = 0;
        for (size_t j = 0; j < slots; j++) {
            double d = got[j] - x[j];
            mx = fmax(mx, fabs(d));
            ss += d * d;
        }
        double model = sqrt((double)n / 12) / scale;
        printf("scale 2^%d: slot 0 = %+.12f (was %+.12f), max error %.2e = 2^%.1f (%.1f bits of "
               "precision), rms %.2e; model sqrt(N/12)/scale = %.2e\n",
               log_scales[s], got[0], x[0], mx, log2(mx), -log2(mx), sqrt(ss / slots), model);
        printf("check: encode_error_over_model_2^%d %.3f\n", log_scales[s], mx / model);
        printf("check: precision_bits_2^%d %.2f\n", log_scales[s], -log2(mx));
    }

    /* 4. Refusals: each a status, nothing written out of range. */
    double big = 0x1p60; /* 2^60 * 2^40 >= q_0/2 at level 0 */
    beaa_status st = beaa_ckks_encode_real(ctx, &big, 1, 0x1p40, 0, pt);
    printf("2^60 at scale 2^40 in one 50-bit prime: %s\n", beaa_strerror(st));
    printf("check: status_too_large %d\n", (int)st);
    double nan_v = NAN;
    st = beaa_ckks_encode_real(ctx, &nan_v, 1, 0x1p40, 1, pt);
    printf("NaN: %s\n", beaa_strerror(st));
    printf("check: status_nan %d\n", (int)st);
    st = beaa_ckks_encode_real(ctx, x, slots + 1, 0x1p40, 1, pt);
    printf("%zu values into %zu slots: %s\n", slots + 1, slots, beaa_strerror(st));
    printf("check: status_too_many %d\n", (int)st);

    beaa_ckks_plaintext_free(pt);
    beaa_ckks_context_free(ctx);
    free(x);
    free(got);
    return 0;
}
