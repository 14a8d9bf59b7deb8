/* bench_encoder.c - timings of the CKKS encoder (ckks/encoder.c, ckks/fft.c): the special FFT
 * alone, encode (slots -> RNS limbs) and decode (limbs -> slots) at several N and limb counts.
 * Validates each configuration first (round-trip error), then times; prints CSV rows
 * "bench,op,N,limbs,usec_per_call,max_err" (best of 5 batches: the machine may be shared).
 * Usage: bench_encoder [max_log_n (default 15)]. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "lib/mem.h"
#include "ckks/modarith.h"
#include "ckks/fft.h"
#include "ckks/encoder.h"
#include "bench/common/bench_util.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

/* deterministic Miller-Rabin for 64-bit n (bases of Jaeschke / Sinclair) */
static int is_prime(uint64_t n)
{
    if (n < 2 || n % 2 == 0) return n == 2;
    beaa_modulus m;
    beaa_modulus_init(&m, n);
    uint64_t d = n - 1;
    unsigned s = 0;
    while (d % 2 == 0) {
        d /= 2;
        s++;
    }
    const uint64_t bases[] = {2, 325, 9375, 28178, 450775, 9780504, 1795265022};
    for (size_t i = 0; i < 7; i++) {
        uint64_t a = bases[i] % n;
        if (a == 0) continue;
        uint64_t x = beaa_pow_mod(a, d, &m);
        if (x == 1 || x == n - 1) continue;
        int composite = 1;
        for (unsigned r = 1; r < s && composite; r++) {
            x = beaa_mul_mod(x, x, &m);
            if (x == n - 1) composite = 0;
        }
        if (composite) return 0;
    }
    return 1;
}

static double xrand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) * 0x1p-52 - 1.0;
}

int main(int argc, char **argv)
{
    unsigned ml = 15;
    if (argc > 2) {
        fprintf(stderr, "bench_encoder: too many arguments (usage: bench_encoder [max_log_n])\n");
        return 2;
    }
    if (argc == 2 && bench_parse_uint("bench_encoder", "max_log_n", argv[1], 4, 17, &ml)) return 2;
    const int maxlog = (int)ml;
    const size_t max_limbs = 16;
    beaa_modulus mods[16];
    {
        /* 50-bit primes = 1 mod 2^18 (NTT-friendly up to N = 2^17), descending */
        uint64_t step = (uint64_t)1 << 18, q = ((uint64_t)1 << 50) + 1;
        for (size_t i = 0; i < max_limbs; i++) {
            do q -= step; while (!is_prime(q));
            beaa_modulus_init(&mods[i], q);
        }
    }
    const double scale = 0x1p40;
    uint64_t seed = 42;
    printf("bench,op,N,limbs,usec_per_call,max_err\n");
    for (int logn = 12; logn <= maxlog; logn++) {
        size_t n = (size_t)1 << logn, h = n / 2;
        beaa_fft_tables *t;
        if (beaa_fft_tables_new(n, &t) != BEAA_OK) return 1;
        double *re = malloc(h * sizeof *re), *im = malloc(h * sizeof *im);
        double *ore = malloc(h * sizeof *ore), *oim = malloc(h * sizeof *oim);
        double *work = beaa_alloc(n * sizeof(double));
        uint64_t *poly = beaa_alloc(max_limbs * n * sizeof(uint64_t));
        if (!re || !im || !ore || !oim || !work || !poly) return 1;
        for (size_t j = 0; j < h; j++) {
            re[j] = xrand(&seed);
            im[j] = xrand(&seed);
        }
        int reps = (int)(200000 >> (logn - 10)) / 200;
        if (reps < 5) reps = 5;

        /* FFT alone (slots -> coeffs -> slots) */
        double best_s2c = 1e300, best_c2s = 1e300;
        for (int b = 0; b < 5; b++) {
            double t0 = now_us();
            for (int r = 0; r < reps; r++) beaa_fft_slots_to_coeffs(t, re, im, h, work);
            double t1 = now_us();
            for (int r = 0; r < reps; r++) beaa_fft_coeffs_to_slots(t, work, ore, oim, h);
            double t2 = now_us();
            best_s2c = fmin(best_s2c, (t1 - t0) / reps);
            best_c2s = fmin(best_c2s, (t2 - t1) / reps);
        }
        printf("encoder,fft_slots_to_coeffs,%zu,0,%.1f,\n", n, best_s2c);
        printf("encoder,fft_coeffs_to_slots,%zu,0,%.1f,\n", n, best_c2s);

        size_t limbs_list[] = {1, 4, 16};
        for (size_t li = 0; li < 3; li++) {
            size_t L = limbs_list[li];
            /* validate */
            if (beaa_encoder_encode(t, re, im, h, scale, mods, L, poly) != BEAA_OK) return 1;
            if (beaa_encoder_decode(t, poly, mods, L, scale, ore, oim, h) != BEAA_OK) return 1;
            double err = 0;
            for (size_t j = 0; j < h; j++)
                err = fmax(err, fmax(fabs(ore[j] - re[j]), fabs(oim[j] - im[j])));
            if (!(err < (double)n / scale)) {
                fprintf(stderr, "validation failed: N=%zu limbs=%zu err=%g\n", n, L, err);
                return 1;
            }
            int rr = reps / (int)(L > 4 ? 4 : L);
            if (rr < 3) rr = 3;
            int dr = L > 4 ? (rr / 8 > 2 ? rr / 8 : 2) : rr;
            double best_enc = 1e300, best_dec = 1e300;
            for (int b = 0; b < 5; b++) {
                double t0 = now_us();
                for (int r = 0; r < rr; r++)
                    if (beaa_encoder_encode(t, re, im, h, scale, mods, L, poly) != BEAA_OK) return 1;
                double t1 = now_us();
                for (int r = 0; r < dr; r++)
                    if (beaa_encoder_decode(t, poly, mods, L, scale, ore, oim, h) != BEAA_OK) return 1;
                double t2 = now_us();
                best_enc = fmin(best_enc, (t1 - t0) / rr);
                best_dec = fmin(best_dec, (t2 - t1) / dr);
            }
            printf("encoder,encode,%zu,%zu,%.1f,%.3g\n", n, L, best_enc, err);
            printf("encoder,decode,%zu,%zu,%.1f,%.3g\n", n, L, best_dec, err);
        }
        free(re); free(im); free(ore); free(oim);
        beaa_free(work);
        beaa_free(poly);
        beaa_fft_tables_free(t);
    }
    return 0;
}
