/* check_encoder.c - tests of the special FFT (ckks/fft.c) and the RNS encoder (ckks/encoder.c):
 * FFT against O(N^2) long-double evaluation at the roots zeta^(5^j); encode/decode round trips
 * with stated bounds; the rotation/conjugation contract; CRT lift and scaled rounding against GMP;
 * rejections. BEAA_TEST_LIGHT=1 shrinks the sizes (sanitizer run). */
#include <check.h>
#include <gmp.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/mem.h"
#include "ckks/modarith.h"
#include "ckks/fft.h"
#include "ckks/encoder.h"
#include "tests/test_util.h"

/* `count` distinct primes of `bits` bits (random, via GMP). */
static void make_primes(beaa_modulus *mods, size_t count, unsigned bits)
{
    mpz_t p;
    mpz_init(p);
    for (size_t i = 0; i < count; i++) {
        for (;;) {
            uint64_t start = (test_rng_u64() >> (64 - bits)) | ((uint64_t)1 << (bits - 1));
            mpz_set_ui(p, start);
            mpz_nextprime(p, p);
            uint64_t q = mpz_get_ui(p);
            int dup = (mpz_sizeinbase(p, 2) != bits);
            for (size_t j = 0; j < i; j++) dup |= (mods[j].q == q);
            if (!dup) {
                beaa_modulus_init(&mods[i], q);
                break;
            }
        }
    }
    mpz_clear(p);
}

/* exact 2N-th roots of unity in long double: z[m] = exp(i*pi*m/N), m < 2N */
static void root_table(size_t n, long double *zr, long double *zi)
{
    const long double pi = 3.141592653589793238462643383279502884L;
    for (size_t m = 0; m < 2 * n; m++) {
        zr[m] = cosl(pi * (long double)m / (long double)n);
        zi[m] = sinl(pi * (long double)m / (long double)n);
    }
}

/* direct O(N^2) evaluation: slot_j = sum_k c_k zeta^(5^j k mod 2N) */
static void direct_decode(size_t n, const double *c, const long double *zr, const long double *zi,
                          long double *sr, long double *si)
{
    size_t M = 2 * n, g = 1;
    for (size_t j = 0; j < n / 2; j++) {
        long double ar = 0, ai = 0;
        for (size_t k = 0; k < n; k++) {
            size_t e = (g * k) % M;
            ar += c[k] * zr[e];
            ai += c[k] * zi[e];
        }
        sr[j] = ar;
        si[j] = ai;
        g = (g * 5) % M;
    }
}

/* direct inverse: c_k = (2/N) Re sum_j s_j * zeta^(-5^j k) */
static void direct_encode(size_t n, const double *sr, const double *si, const long double *zr,
                          const long double *zi, long double *c)
{
    size_t M = 2 * n;
    for (size_t k = 0; k < n; k++) {
        long double acc = 0;
        size_t g = 1;
        for (size_t j = 0; j < n / 2; j++) {
            size_t e = (M - (g * k) % M) % M;
            acc += sr[j] * zr[e] - si[j] * zi[e];
            g = (g * 5) % M;
        }
        c[k] = 2 * acc / (long double)n;
    }
}

START_TEST(test_fft_tables_args)
{
    beaa_fft_tables *t = (beaa_fft_tables *)1;
    ck_assert_int_eq(beaa_fft_tables_new(0, &t), BEAA_ERR_ARG);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(beaa_fft_tables_new(2, &t), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_fft_tables_new(48, &t), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_fft_tables_new(2 * BEAA_FFT_MAX_N, &t), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_fft_tables_new(16, NULL), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_fft_tables_new(16, &t), BEAA_OK);
    ck_assert_uint_eq(beaa_fft_tables_degree(t), 16);
    ck_assert_uint_eq(beaa_fft_tables_slots(t), 8);
    beaa_fft_tables_free(t);
    beaa_fft_tables_free(NULL);
}
END_TEST

/* FFT (both directions) against O(N^2) long-double evaluation at zeta^(5^j).
 * Bound per output: 2^-50 * log2(N) * ||input||_2 (scaled to the output's normalization): the
 * usual FFT error model (a few ulps of the 2-norm per stage) with an 8x margin on eps = 2^-53.
 * Measured: 2.8e-14 at N = 2^12 for coefficients in [-1, 1] (bound 3.9e-13). */
START_TEST(test_fft_vs_direct)
{
    size_t maxlog = test_light() ? 9 : 11;
    for (size_t logn = 2; logn <= maxlog; logn++) {
        size_t n = (size_t)1 << logn, h = n / 2;
        beaa_fft_tables *t;
        ck_assert_int_eq(beaa_fft_tables_new(n, &t), BEAA_OK);
        long double *zr = malloc(2 * n * sizeof *zr), *zi = malloc(2 * n * sizeof *zi);
        long double *sr = malloc(h * sizeof *sr), *si = malloc(h * sizeof *si);
        long double *cref = malloc(n * sizeof *cref);
        double *c = malloc(n * sizeof *c), *work = malloc(n * sizeof *work);
        double *re = malloc(h * sizeof *re), *im = malloc(h * sizeof *im);
        root_table(n, zr, zi);

        /* coefficients -> slots */
        double l2 = 0;
        for (size_t k = 0; k < n; k++) {
            c[k] = test_rng_unit();
            l2 += c[k] * c[k];
        }
        l2 = sqrt(l2);
        direct_decode(n, c, zr, zi, sr, si);
        memcpy(work, c, n * sizeof *c);
        beaa_fft_coeffs_to_slots(t, work, re, im, h);
        double bound = 0x1p-50 * (double)logn * l2, worst = 0;
        for (size_t j = 0; j < h; j++) {
            double e = fmax(fabs(re[j] - (double)sr[j]), fabs(im[j] - (double)si[j]));
            worst = fmax(worst, e);
        }
        ck_assert_msg(worst <= bound, "decode N=%zu err %g > %g", n, worst, bound);

        /* slots -> coefficients */
        double sl2 = 0;
        for (size_t j = 0; j < h; j++) {
            re[j] = test_rng_unit();
            im[j] = test_rng_unit();
            sl2 += re[j] * re[j] + im[j] * im[j];
        }
        sl2 = sqrt(sl2);
        direct_encode(n, re, im, zr, zi, cref);
        beaa_fft_slots_to_coeffs(t, re, im, h, c);
        worst = 0;
        for (size_t k = 0; k < n; k++) worst = fmax(worst, fabs(c[k] - (double)cref[k]));
        bound = 0x1p-50 * (double)logn * sl2 * 2.0 / (double)n;
        ck_assert_msg(worst <= bound, "encode N=%zu err %g > %g", n, worst, bound);

        /* the encoded polynomial evaluates back to the slots (direct evaluation) */
        direct_decode(n, c, zr, zi, sr, si);
        worst = 0;
        for (size_t j = 0; j < h; j++)
            worst = fmax(worst, fmax(fabs(re[j] - (double)sr[j]), fabs(im[j] - (double)si[j])));
        ck_assert_msg(worst <= 0x1p-50 * (double)logn * 4.0, "eval N=%zu err %g", n, worst);

        /* fewer slots: the rest are zero; real-only input gives zero imaginary parts */
        size_t cnt = h / 2 + 1;
        beaa_fft_slots_to_coeffs(t, re, NULL, cnt, c);
        direct_decode(n, c, zr, zi, sr, si);
        for (size_t j = 0; j < h; j++) {
            double want = j < cnt ? re[j] : 0.0;
            ck_assert(fabs((double)sr[j] - want) <= 1e-13);
            ck_assert(fabs((double)si[j]) <= 1e-13);
        }
        free(zr); free(zi); free(sr); free(si); free(cref); free(c); free(work); free(re); free(im);
        beaa_fft_tables_free(t);
    }
}
END_TEST

/* The N = 4 case by hand: slots are m(zeta) and m(zeta^5) = m(-zeta) with zeta = exp(i*pi/4).
 * m = X: slots (zeta, -zeta). */
START_TEST(test_fft_n4_by_hand)
{
    beaa_fft_tables *t;
    ck_assert_int_eq(beaa_fft_tables_new(4, &t), BEAA_OK);
    double c[4] = {0, 1, 0, 0}, re[2], im[2];
    beaa_fft_coeffs_to_slots(t, c, re, im, 2);
    double s = sqrt(0.5);
    ck_assert(fabs(re[0] - s) < 1e-15 && fabs(im[0] - s) < 1e-15);
    ck_assert(fabs(re[1] + s) < 1e-15 && fabs(im[1] + s) < 1e-15);
    /* X^(N/2) = X^2 is i in every slot */
    double c2[4] = {0, 0, 1, 0};
    beaa_fft_coeffs_to_slots(t, c2, re, im, 2);
    ck_assert(fabs(re[0]) < 1e-15 && fabs(im[0] - 1) < 1e-15);
    ck_assert(fabs(re[1]) < 1e-15 && fabs(im[1] - 1) < 1e-15);
    beaa_fft_tables_free(t);
}
END_TEST

/* Encode -> decode at N = 2^4 .. 2^15 and scales 2^20 .. 2^100.
 * Error sources: rounding each coefficient (|d_k| <= 1/2, so a slot moves by <= N/(2*scale) in
 * the worst case; as a sum of N roughly independent uniform errors its real and imaginary parts
 * have standard deviation <= sqrt(N/12)/scale) and the two FFTs (2^-48 * log2(N) for values in
 * [-1, 1], 32x the measured 1e-15). Tested bound: min(8 standard deviations, worst case) + the
 * FFT term.
 * Measured at N = 2^15: 1.4e-10 at scale 2^40 (bound 4.1e-10), 1.0e-15 at 2^60 and 2^100. */
START_TEST(test_round_trip)
{
    /* scales: powers of two, and scales that are not (as after a rescale: Delta^2 / q) */
    struct { double scale; unsigned bits; size_t limbs; } cfg[] = {
        {0x1p20, 40, 1}, {0x1p40, 61, 1}, {0x1p40, 30, 3}, {0x1p60, 61, 2}, {0x1p100, 61, 3},
        {0x1p100, 50, 20}, {0x1p80 / 1099511922689.0, 45, 1}, {1.2345 * 0x1p55, 40, 3},
    };
    size_t maxlog = test_light() ? 12 : 15;
    for (size_t logn = 4; logn <= maxlog; logn++) {
        size_t n = (size_t)1 << logn, h = n / 2;
        beaa_fft_tables *t;
        ck_assert_int_eq(beaa_fft_tables_new(n, &t), BEAA_OK);
        double *re = malloc(h * sizeof *re), *im = malloc(h * sizeof *im);
        double *ore = malloc(h * sizeof *ore), *oim = malloc(h * sizeof *oim);
        uint64_t *poly = beaa_alloc(20 * n * sizeof(uint64_t));
        for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
            if (cfg[c].limbs > 3 && logn > 12) continue; /* 20 limbs: keep the runner fast */
            beaa_modulus mods[20];
            make_primes(mods, cfg[c].limbs, cfg[c].bits);
            double scale = cfg[c].scale;
            for (size_t j = 0; j < h; j++) {
                re[j] = test_rng_unit();
                im[j] = test_rng_unit();
            }
            ck_assert_int_eq(beaa_encoder_encode(t, re, im, h, scale, mods, cfg[c].limbs, poly),
                             BEAA_OK);
            for (size_t i = 0; i < cfg[c].limbs; i++)
                for (size_t k = 0; k < n; k++) ck_assert_uint_lt(poly[i * n + k], mods[i].q);
            ck_assert_int_eq(beaa_encoder_decode(t, poly, mods, cfg[c].limbs, scale, ore, oim, h),
                             BEAA_OK);
            double fft_err = 0x1p-48 * (double)logn;
            double round_err = fmin(8.0 * sqrt((double)n / 12.0), (double)n / 2.0) / scale;
            double bound = round_err + fft_err, worst = 0;
            for (size_t j = 0; j < h; j++)
                worst = fmax(worst, fmax(fabs(ore[j] - re[j]), fabs(oim[j] - im[j])));
            ck_assert_msg(worst <= bound, "N=2^%zu scale=2^%g limbs=%zu err %g > %g", logn,
                          log2(scale), cfg[c].limbs, worst, bound);

            /* real convenience and partial slot counts */
            size_t cnt = h > 3 ? h - 3 : h;
            ck_assert_int_eq(beaa_encoder_encode_real(t, re, cnt, scale, mods, cfg[c].limbs, poly),
                             BEAA_OK);
            ck_assert_int_eq(beaa_encoder_decode(t, poly, mods, cfg[c].limbs, scale, ore, oim, h),
                             BEAA_OK);
            for (size_t j = 0; j < h; j++) {
                ck_assert(fabs(ore[j] - (j < cnt ? re[j] : 0.0)) <= bound);
                ck_assert(fabs(oim[j]) <= bound);
            }
            ck_assert_int_eq(beaa_encoder_decode_real(t, poly, mods, cfg[c].limbs, scale, ore, 5),
                             BEAA_OK);
            for (size_t j = 0; j < 5; j++) ck_assert(fabs(ore[j] - re[j]) <= bound);
        }
        free(re); free(im); free(ore); free(oim);
        beaa_free(poly);
        beaa_fft_tables_free(t);
    }
}
END_TEST

/* Applies X -> X^g to every limb of an integer polynomial (negacyclic: X^N = -1). */
static void automorphism(const uint64_t *in, uint64_t *out, size_t n, size_t g,
                         const beaa_modulus *mods, size_t limbs)
{
    for (size_t i = 0; i < limbs; i++) {
        for (size_t k = 0; k < n; k++) {
            size_t e = (k * g) % (2 * n);
            uint64_t v = in[i * n + k];
            if (e < n) out[i * n + e] = v;
            else out[i * n + e - n] = beaa_neg_mod(v, mods[i].q);
        }
    }
}

/* The contract of fft.h: X -> X^(5^k) shifts slots left by k; X -> X^(2N-1) conjugates. */
START_TEST(test_rotation_contract)
{
    size_t logs[] = {3, 6, 12};
    for (size_t li = 0; li < sizeof logs / sizeof logs[0]; li++) {
        size_t n = (size_t)1 << logs[li], h = n / 2;
        beaa_fft_tables *t;
        ck_assert_int_eq(beaa_fft_tables_new(n, &t), BEAA_OK);
        beaa_modulus mods[2];
        make_primes(mods, 2, 55);
        double scale = 0x1p40;
        double *re = malloc(h * sizeof *re), *im = malloc(h * sizeof *im);
        double *ore = malloc(h * sizeof *ore), *oim = malloc(h * sizeof *oim);
        uint64_t *poly = malloc(2 * n * sizeof *poly), *rot = malloc(2 * n * sizeof *rot);
        for (size_t j = 0; j < h; j++) {
            re[j] = test_rng_unit();
            im[j] = test_rng_unit();
        }
        ck_assert_int_eq(beaa_encoder_encode(t, re, im, h, scale, mods, 2, poly), BEAA_OK);
        const double tol = 1e-9;
        size_t ks[] = {0, 1, 2, 3, h - 1, h / 2};
        for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
            size_t k = ks[ki] % h, g = 1;
            for (size_t s = 0; s < k; s++) g = (g * 5) % (2 * n);
            automorphism(poly, rot, n, g, mods, 2);
            ck_assert_int_eq(beaa_encoder_decode(t, rot, mods, 2, scale, ore, oim, h), BEAA_OK);
            for (size_t j = 0; j < h; j++) {
                ck_assert_msg(fabs(ore[j] - re[(j + k) % h]) < tol &&
                                  fabs(oim[j] - im[(j + k) % h]) < tol,
                              "rotation by %zu, N=%zu, slot %zu", k, n, j);
            }
        }
        automorphism(poly, rot, n, 2 * n - 1, mods, 2);
        ck_assert_int_eq(beaa_encoder_decode(t, rot, mods, 2, scale, ore, oim, h), BEAA_OK);
        for (size_t j = 0; j < h; j++)
            ck_assert(fabs(ore[j] - re[j]) < tol && fabs(oim[j] + im[j]) < tol);
        free(re); free(im); free(ore); free(oim); free(poly); free(rot);
        beaa_fft_tables_free(t);
    }
}
END_TEST

/* Reference: out = x mod m_i per limb for an mpz x. */
static void mpz_to_limbs(const mpz_t x, const beaa_modulus *mods, size_t limbs, size_t n,
                         size_t k, uint64_t *poly)
{
    mpz_t r;
    mpz_init(r);
    for (size_t i = 0; i < limbs; i++) {
        mpz_fdiv_r_ui(r, x, mods[i].q);
        poly[i * n + k] = mpz_get_ui(r);
    }
    mpz_clear(r);
}

/* CRT lift against GMP: uniform residues (values up to Q/2) and small signed values, up to 20
 * limbs of 61 bits. Reference x / 2^s from mpz_get_d (truncation: 1 ulp); bound 2^-51 relative. */
START_TEST(test_crt_lift_gmp)
{
    const size_t n = test_light() ? 64 : 256;
    mpz_t Q, x, half, tmp;
    mpz_inits(Q, x, half, tmp, NULL);
    uint64_t *poly = malloc(20 * n * sizeof *poly);
    double *out = malloc(n * sizeof *out);
    double *outs = malloc(n * sizeof *outs);
    mpf_t fx, fs;
    mpf_init2(fx, 2048);
    mpf_init2(fs, 2048);
    mpz_t *xs = malloc(n * sizeof *xs);
    for (size_t k = 0; k < n; k++) mpz_init(xs[k]);
    size_t sizes[] = {1, 2, 3, 5, 8, 13, 20};
    unsigned bitsv[] = {61, 50, 36};
    for (size_t bi = 0; bi < 3; bi++) {
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            size_t L = sizes[si];
            beaa_modulus mods[20];
            make_primes(mods, L, bitsv[bi]);
            mpz_set_ui(Q, 1);
            for (size_t i = 0; i < L; i++) mpz_mul_ui(Q, Q, mods[i].q);
            mpz_fdiv_q_2exp(half, Q, 1);
            size_t qbits = mpz_sizeinbase(Q, 2);
            /* (a) uniform residues; scale keeps the result inside the double range */
            int logscale = qbits > 900 ? (int)qbits - 900 : 0;
            const double odd_scale = ldexp(1.7320508075688772, logscale);
            mpf_set_d(fs, odd_scale);
            for (size_t k = 0; k < n; k++)
                for (size_t i = 0; i < L; i++) poly[i * n + k] = test_rng_u64() % mods[i].q;
            ck_assert_int_eq(beaa_encoder_lift_centered(poly, n, mods, L, ldexp(1.0, logscale), out),
                             BEAA_OK);
            for (size_t k = 0; k < n; k++) {
                /* CRT by GMP: x = sum r_i * (Q/q_i) * ((Q/q_i)^-1 mod q_i) mod Q, centered */
                mpz_set_ui(x, 0);
                for (size_t i = 0; i < L; i++) {
                    mpz_t Mi, inv, qi;
                    mpz_inits(Mi, inv, qi, NULL);
                    mpz_set_ui(qi, mods[i].q);
                    mpz_divexact(Mi, Q, qi);
                    ck_assert(mpz_invert(inv, Mi, qi));
                    mpz_mul_ui(tmp, inv, poly[i * n + k]);
                    mpz_mul(tmp, tmp, Mi);
                    mpz_add(x, x, tmp);
                    mpz_clears(Mi, inv, qi, NULL);
                }
                mpz_mod(x, x, Q);
                if (mpz_cmp(x, half) > 0) mpz_sub(x, x, Q);
                long ex;
                double ref = mpz_get_d_2exp(&ex, x); /* truncated: 1 ulp */
                ref = ldexp(ref, (int)ex - logscale);
                ck_assert(isfinite(ref));
                ck_assert_msg(fabs(out[k] - ref) <= 0x1p-51 * fabs(ref), "L=%zu k=%zu %.17g vs %.17g",
                              L, k, out[k], ref);
                /* a scale that is not a power of two (long double division path) */
                mpf_set_z(fx, x);
                mpf_div(fx, fx, fs);
                double ref2 = mpf_get_d_2exp(&ex, fx);
                ref2 = ldexp(ref2, (int)ex);
                ck_assert(isfinite(ref2));
                outs[k] = ref2;
            }
            ck_assert_int_eq(beaa_encoder_lift_centered(poly, n, mods, L, odd_scale, out), BEAA_OK);
            for (size_t k = 0; k < n; k++)
                ck_assert_msg(fabs(out[k] - outs[k]) <= 0x1p-51 * fabs(outs[k]), "L=%zu odd scale", L);
            /* (b) small signed values of every size below Q/2: the centered lift must find
             * them; below 2^53 the result at scale 1 is exact */
            for (size_t k = 0; k < n; k++) {
                size_t b = 1 + test_rng_u64() % (qbits - 1);
                mpz_set_ui(x, 0);
                for (size_t w = 0; w * 60 < b; w++) {
                    mpz_mul_2exp(x, x, 60);
                    mpz_add_ui(x, x, test_rng_u64() >> 4);
                }
                mpz_fdiv_r_2exp(x, x, b - 1 < 1 ? 1 : b - 1);
                if (test_rng_u64() & 1) mpz_neg(x, x);
                mpz_set(xs[k], x);
                mpz_to_limbs(x, mods, L, n, k, poly);
            }
            ck_assert_int_eq(beaa_encoder_lift_centered(poly, n, mods, L, ldexp(1.0, logscale),
                                                        out), BEAA_OK);
            for (size_t k = 0; k < n; k++) {
                long ex;
                double ref = mpz_get_d_2exp(&ex, xs[k]); /* truncated: 1 ulp */
                ref = ldexp(ref, (int)ex - logscale);
                if (logscale == 0 && mpz_sizeinbase(xs[k], 2) <= 53) ck_assert(out[k] == ref);
                else ck_assert_msg(fabs(out[k] - ref) <= 0x1p-51 * fabs(ref), "L=%zu small k=%zu", L, k);
            }
        }
    }
    /* the extremes, for 1, 2, 3 and 20 limbs: residues of (Q-1)/2 must lift to +(Q-1)/2 and
     * residues of (Q+1)/2 (= -(Q-1)/2 mod Q) to -(Q-1)/2; likewise +-(q_0*q_1 -+ 1)/2, the edges
     * of the two-limb window */
    size_t ext_limbs[] = {1, 2, 3, 20};
    for (size_t ei = 0; ei < 4; ei++) {
        size_t L = ext_limbs[ei];
        beaa_modulus mods[20];
        make_primes(mods, L, 61);
        mpz_set_ui(Q, 1);
        for (size_t i = 0; i < L; i++) mpz_mul_ui(Q, Q, mods[i].q);
        mpz_fdiv_q_2exp(half, Q, 1); /* (Q-1)/2 */
        mpz_to_limbs(half, mods, L, 4, 0, poly);
        mpz_add_ui(x, half, 1);      /* (Q+1)/2 */
        mpz_to_limbs(x, mods, L, 4, 1, poly);
        /* window edges: W = q_0*q_1 (or q_0), values (W+1)/2 and -(W+1)/2 (inside (-Q/2, Q/2]
         * when L > 2) */
        mpz_set_ui(tmp, mods[0].q);
        if (L > 1) mpz_mul_ui(tmp, tmp, mods[1].q);
        mpz_add_ui(tmp, tmp, 1);
        mpz_fdiv_q_2exp(tmp, tmp, 1);
        mpz_to_limbs(tmp, mods, L, 4, 2, poly);
        mpz_neg(x, tmp);
        mpz_to_limbs(x, mods, L, 4, 3, poly);
        int logscale = (int)mpz_sizeinbase(Q, 2) - 600;
        if (logscale < 0) logscale = 0;
        ck_assert_int_eq(beaa_encoder_lift_centered(poly, 4, mods, L, ldexp(1.0, logscale), out),
                         BEAA_OK);
        long ex;
        double ref = mpz_get_d_2exp(&ex, half);
        ref = ldexp(ref, (int)ex - logscale);
        ck_assert(isfinite(ref) && ref > 1.0);
        ck_assert_msg(fabs(out[0] - ref) <= 0x1p-51 * ref, "L=%zu +(Q-1)/2", L);
        ck_assert_msg(fabs(out[1] + ref) <= 0x1p-51 * ref, "L=%zu -(Q-1)/2", L);
        if (L > 2) {
            double w = mpz_get_d_2exp(&ex, tmp);
            w = ldexp(w, (int)ex - logscale);
            ck_assert_msg(fabs(out[2] - w) <= 0x1p-51 * w, "L=%zu +(W+1)/2", L);
            ck_assert_msg(fabs(out[3] + w) <= 0x1p-51 * w, "L=%zu -(W+1)/2", L);
        }
        if (L == 20) {
            /* at scale 1 this overflows a double: BEAA_ERR_VALUE */
            ck_assert_int_eq(beaa_encoder_lift_centered(poly, 4, mods, L, 1.0, out),
                             BEAA_ERR_VALUE);
            /* a word >= q is refused */
            poly[4 * 3] = mods[3].q;
            ck_assert_int_eq(beaa_encoder_lift_centered(poly, 4, mods, L, 1.0, out), BEAA_ERR_ARG);
        }
    }
    for (size_t k = 0; k < n; k++) mpz_clear(xs[k]);
    free(xs);
    free(outs);
    mpf_clears(fx, fs, NULL);
    free(poly);
    free(out);
    mpz_clears(Q, x, half, tmp, NULL);
}
END_TEST

/* Exact round(c * scale) by GMP for a double c and a double scale (both exact rationals). */
static void mpz_round_product(mpz_t r, double c, double scale)
{
    int ec, es;
    double mc = frexp(c, &ec), ms = frexp(scale, &es);
    int64_t ic = (int64_t)ldexp(mc, 53), is = (int64_t)ldexp(ms, 53);
    mpz_t a;
    mpz_init(a);
    mpz_set_si(r, ic);
    mpz_set_si(a, is);
    mpz_mul(r, r, a); /* c*scale = r * 2^(ec+es-106) */
    long sh = (long)ec + es - 106;
    if (sh >= 0) {
        mpz_mul_2exp(r, r, (mp_bitcnt_t)sh);
    } else {
        /* round half away from zero: (|r| + 2^(-sh-1)) >> -sh */
        int neg = mpz_sgn(r) < 0;
        mpz_abs(r, r);
        mpz_set_ui(a, 1);
        mpz_mul_2exp(a, a, (mp_bitcnt_t)(-sh - 1));
        mpz_add(r, r, a);
        mpz_fdiv_q_2exp(r, r, (mp_bitcnt_t)(-sh));
        if (neg) mpz_neg(r, r);
    }
    mpz_clear(a);
}

/* Is (c*scale) exactly halfway between two integers? (ties may round either way) */
static int is_tie(double c, double scale)
{
    /* c*scale = r * 2^sh with r = (53-bit mantissa of c) * (53-bit mantissa of scale); it is a
     * half-integer iff 2*c*scale is an odd integer, i.e. r's lowest set bit is at -(sh+1) */
    int ec, es;
    double mc = frexp(c, &ec), ms = frexp(scale, &es);
    mpz_t r;
    mpz_init(r);
    mpz_set_si(r, (long)ldexp(mc, 53));
    mpz_mul_si(r, r, (long)ldexp(ms, 53));
    long sh = (long)ec + es - 106 + 1; /* 2*c*scale = r * 2^sh */
    int tie = mpz_sgn(r) != 0 && sh <= 0 && mpz_scan1(r, 0) == (mp_bitcnt_t)(-sh);
    mpz_clear(r);
    return tie;
}

/* Scaled rounding into limbs against GMP: coefficients at huge scales (>= 2^63, 128-bit path),
 * non-power-of-two scales (two-product path), and constants. */
START_TEST(test_scaled_rounding_gmp)
{
    const size_t n = 512;
    beaa_modulus mods[4];
    make_primes(mods, 4, 61);
    double *c = malloc(n * sizeof *c);
    uint64_t *poly = malloc(4 * n * sizeof *poly), want[4];
    double scales[] = {0x1p40, 0x1p70, 0x1p100, 0x1p120, 3.0 * 0x1p60 + 0x1p9, 1234567.890625,
                       0.75 * 0x1p110 + 0x1p58};
    mpz_t r;
    mpz_init(r);
    for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++) {
        double scale = scales[si];
        for (size_t k = 0; k < n; k++) {
            c[k] = test_rng_unit() * ldexp(1.0, -(int)(test_rng_u64() % 20));
            if (k % 7 == 0) c[k] = rint(c[k] * 1000) / 1024; /* some exactly representable */
        }
        c[0] = 0.0;
        c[1] = -0.5 / scale; /* a tie or near-tie */
        ck_assert_int_eq(beaa_encoder_coeffs_encode(c, n, scale, mods, 4, poly), BEAA_OK);
        for (size_t k = 0; k < n; k++) {
            if (is_tie(c[k], scale)) continue; /* both neighbours are correct */
            mpz_round_product(r, c[k], scale);
            mpz_to_limbs(r, mods, 4, 1, 0, want);
            for (size_t i = 0; i < 4; i++)
                ck_assert_msg(poly[i * n + k] == want[i], "scale %g k %zu limb %zu", scale, k, i);
        }
        /* the constant encoder gives the same per-limb values */
        for (size_t k = 2; k < 40; k++) {
            uint64_t cst[4];
            ck_assert_int_eq(beaa_encoder_const_encode(c[k], scale, mods, 4, cst), BEAA_OK);
            if (is_tie(c[k], scale)) continue;
            for (size_t i = 0; i < 4; i++) ck_assert_uint_eq(cst[i], poly[i * n + k]);
        }
    }
    /* round_encode: 2.5e30 (>= 2^63) and a negative non-integer */
    uint64_t out[4];
    double xs[] = {2.5e30, -123456789.75, -0x1p100 - 0x1p60, 0.49, -0.51};
    for (size_t xi = 0; xi < sizeof xs / sizeof xs[0]; xi++) {
        ck_assert_int_eq(beaa_encoder_round_encode(xs[xi], mods, 4, out), BEAA_OK);
        mpz_round_product(r, xs[xi], 1.0);
        mpz_to_limbs(r, mods, 4, 1, 0, want);
        for (size_t i = 0; i < 4; i++) ck_assert_uint_eq(out[i], want[i]);
    }
    /* int_encode, including INT64_MIN */
    int64_t vs[] = {0, 1, -1, INT64_MAX, INT64_MIN, -4096, 1234567890123};
    for (size_t vi = 0; vi < sizeof vs / sizeof vs[0]; vi++) {
        ck_assert_int_eq(beaa_encoder_int_encode(vs[vi], mods, 4, out), BEAA_OK);
        mpz_set_si(r, vs[vi]);
        mpz_to_limbs(r, mods, 4, 1, 0, want);
        for (size_t i = 0; i < 4; i++) ck_assert_uint_eq(out[i], want[i]);
    }
    mpz_clear(r);
    free(c);
    free(poly);
}
END_TEST

/* Encode at scale 2^100 on 3 limbs and check every limb against GMP rounding of the FFT
 * coefficients (the encode path = slots_to_coeffs + exact scaled rounding). */
START_TEST(test_encode_limbs_gmp)
{
    const size_t n = 1024, h = n / 2;
    beaa_fft_tables *t;
    ck_assert_int_eq(beaa_fft_tables_new(n, &t), BEAA_OK);
    beaa_modulus mods[3];
    make_primes(mods, 3, 61);
    double *re = malloc(h * sizeof *re), *c = malloc(n * sizeof *c);
    uint64_t *poly = malloc(3 * n * sizeof *poly), want[3];
    for (size_t j = 0; j < h; j++) re[j] = 3.0 * test_rng_unit();
    ck_assert_int_eq(beaa_encoder_encode_real(t, re, h, 0x1p100, mods, 3, poly), BEAA_OK);
    beaa_fft_slots_to_coeffs(t, re, NULL, h, c);
    mpz_t r;
    mpz_init(r);
    for (size_t k = 0; k < n; k++) {
        mpz_round_product(r, c[k], 0x1p100);
        mpz_to_limbs(r, mods, 3, 1, 0, want);
        for (size_t i = 0; i < 3; i++) ck_assert_uint_eq(poly[i * n + k], want[i]);
    }
    mpz_clear(r);
    free(re); free(c); free(poly);
    beaa_fft_tables_free(t);
}
END_TEST

/* encode_noisy: (round(scale * c_k) + noise[k]) mod q_i against encode plus the noise in the
 * int64 path (scale 2^40, 50-bit primes, values beyond q, so the reduction's general branch
 * runs) and against GMP too in the 128-bit path (scale 2^100), noise over the whole int8 range;
 * NULL noise = encode. */
START_TEST(test_encode_noisy_gmp)
{
    const size_t n = 1024, h = n / 2;
    beaa_fft_tables *t;
    ck_assert_int_eq(beaa_fft_tables_new(n, &t), BEAA_OK);
    beaa_modulus mods[3];
    double *re = malloc(h * sizeof *re), *c = malloc(n * sizeof *c);
    uint64_t *poly = malloc(3 * n * sizeof *poly), *plain = malloc(3 * n * sizeof *plain), want[3];
    uint64_t *ref = malloc(3 * n * sizeof *ref);
    int8_t *e = malloc(n);
    for (size_t k = 0; k < n; k++) e[k] = (int8_t)(k < 256 ? (int)k - 128 : (int)(test_rng_u64() % 256) - 128);
    const double scales[2] = {0x1p40, 0x1p100};
    const unsigned bits[2] = {50, 61};
    mpz_t r;
    mpz_init(r);
    for (int si = 0; si < 2; si++) {
        make_primes(mods, 3, bits[si]);
        for (size_t j = 0; j < h; j++) re[j] = (si ? 3.0 : 2000.0) * test_rng_unit();
        ck_assert_int_eq(beaa_encoder_encode_noisy(t, re, NULL, h, scales[si], mods, 3, e, poly), BEAA_OK);
        ck_assert_int_eq(beaa_encoder_encode_noisy(t, re, NULL, h, scales[si], mods, 3, NULL, plain), BEAA_OK);
        ck_assert_int_eq(beaa_encoder_encode_real(t, re, h, scales[si], mods, 3, ref), BEAA_OK);
        ck_assert_mem_eq(ref, plain, 3 * n * sizeof *ref);
        beaa_fft_slots_to_coeffs(t, re, NULL, h, c);
        for (size_t k = 0; k < n; k++) {
            mpz_round_product(r, c[k], scales[si]);
            if (e[k] >= 0) mpz_add_ui(r, r, (unsigned long)e[k]);
            else mpz_sub_ui(r, r, (unsigned long)(-(int)e[k]));
            mpz_to_limbs(r, mods, 3, 1, 0, want);
            for (size_t i = 0; i < 3; i++) {
                /* at 2^40 some products are ties, which GMP's rounding may break the other way */
                if (si == 1) ck_assert_uint_eq(poly[i * n + k], want[i]);
                uint64_t q = mods[i].q, ek = e[k] < 0 ? q - (uint64_t)(-(int)e[k]) : (uint64_t)e[k];
                ck_assert_uint_eq(poly[i * n + k], (plain[i * n + k] + ek) % q);
            }
        }
    }
    mpz_clear(r);
    free(re); free(c); free(poly); free(plain); free(ref); free(e);
    beaa_fft_tables_free(t);
}
END_TEST

START_TEST(test_rejections)
{
    const size_t n = 64, h = 32;
    beaa_fft_tables *t;
    ck_assert_int_eq(beaa_fft_tables_new(n, &t), BEAA_OK);
    beaa_modulus mods[3];
    make_primes(mods, 3, 50);
    double re[40], im[40];
    uint64_t poly[3 * 64], cst[3];
    for (size_t j = 0; j < 40; j++) re[j] = im[j] = 0.25;
    /* too many slots */
    ck_assert_int_eq(beaa_encoder_encode(t, re, im, h + 1, 0x1p30, mods, 1, poly), BEAA_ERR_SLOTS);
    ck_assert_int_eq(beaa_encoder_decode(t, poly, mods, 1, 0x1p30, re, im, h + 1), BEAA_ERR_SLOTS);
    /* NaN / inf in real or imaginary parts */
    re[3] = NAN;
    ck_assert_int_eq(beaa_encoder_encode(t, re, im, h, 0x1p30, mods, 1, poly), BEAA_ERR_VALUE);
    re[3] = INFINITY;
    ck_assert_int_eq(beaa_encoder_encode_real(t, re, h, 0x1p30, mods, 1, poly), BEAA_ERR_VALUE);
    re[3] = 0.25;
    im[7] = -INFINITY;
    ck_assert_int_eq(beaa_encoder_encode(t, re, im, h, 0x1p30, mods, 1, poly), BEAA_ERR_VALUE);
    im[7] = 0.25;
    ck_assert_int_eq(beaa_encoder_encode(t, re, im, h, 0x1p30, mods, 1, poly), BEAA_OK);
    /* too large for Q/2 (one 50-bit prime: 2^49 limit) but fine with 3 limbs */
    re[0] = 1e9;
    ck_assert_int_eq(beaa_encoder_encode(t, re, im, h, 0x1p30, mods, 1, poly), BEAA_ERR_VALUE);
    ck_assert_int_eq(beaa_encoder_encode(t, re, im, h, 0x1p30, mods, 3, poly), BEAA_OK);
    /* beyond 2^126 even though Q is large */
    re[0] = 1e30;
    ck_assert_int_eq(beaa_encoder_encode(t, re, im, h, 0x1p100, mods, 3, poly), BEAA_ERR_VALUE);
    /* finite values whose scaled coefficients overflow */
    re[0] = 1e300;
    ck_assert_int_eq(beaa_encoder_encode(t, re, im, h, 0x1p100, mods, 3, poly), BEAA_ERR_VALUE);
    re[0] = 0.25;
    /* scales */
    ck_assert_int_eq(beaa_encoder_encode(t, re, im, h, NAN, mods, 1, poly), BEAA_ERR_SCALE_RANGE);
    ck_assert_int_eq(beaa_encoder_encode(t, re, im, h, 0.0, mods, 1, poly), BEAA_ERR_SCALE_RANGE);
    ck_assert_int_eq(beaa_encoder_encode(t, re, im, h, -0x1p30, mods, 1, poly),
                     BEAA_ERR_SCALE_RANGE);
    ck_assert_int_eq(beaa_encoder_decode(t, poly, mods, 1, INFINITY, re, im, h),
                     BEAA_ERR_SCALE_RANGE);
    /* bad moduli: even, duplicate, too many limbs, NULLs */
    beaa_modulus bad[2] = {mods[0], mods[0]};
    ck_assert_int_eq(beaa_encoder_encode(t, re, im, h, 0x1p30, bad, 2, poly), BEAA_ERR_ARG);
    beaa_modulus_init(&bad[1], 1024);
    ck_assert_int_eq(beaa_encoder_encode(t, re, im, h, 0x1p30, bad, 2, poly), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_encoder_encode(t, re, im, h, 0x1p30, mods, 0, poly), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_encoder_encode(NULL, re, im, h, 0x1p30, mods, 1, poly), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_encoder_encode(t, NULL, im, h, 0x1p30, mods, 1, poly), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_encoder_encode(t, re, im, h, 0x1p30, mods, 1, NULL), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_encoder_encode(t, re, im, h, 0x1p30, NULL, 1, poly), BEAA_ERR_ARG);
    /* zero values encode to zero */
    ck_assert_int_eq(beaa_encoder_encode(t, NULL, NULL, 0, 0x1p30, mods, 3, poly), BEAA_OK);
    for (size_t k = 0; k < 3 * n; k++) ck_assert_uint_eq(poly[k], 0);
    /* decode: unreduced words, overflow of a double */
    poly[5] = mods[0].q;
    ck_assert_int_eq(beaa_encoder_decode(t, poly, mods, 1, 0x1p30, re, im, h), BEAA_ERR_ARG);
    poly[5] = mods[0].q / 2;
    ck_assert_int_eq(beaa_encoder_decode(t, poly, mods, 1, 0x1p-1070, re, im, h), BEAA_ERR_VALUE);
    /* constants */
    ck_assert_int_eq(beaa_encoder_const_encode(NAN, 0x1p30, mods, 3, cst), BEAA_ERR_VALUE);
    ck_assert_int_eq(beaa_encoder_const_encode(-INFINITY, 0x1p30, mods, 3, cst), BEAA_ERR_VALUE);
    ck_assert_int_eq(beaa_encoder_const_encode(1e10, 0x1p40, mods, 1, cst), BEAA_ERR_VALUE);
    ck_assert_int_eq(beaa_encoder_const_encode(1e10, 0x1p40, mods, 3, cst), BEAA_OK);
    ck_assert_int_eq(beaa_encoder_const_encode(1.0, 0.0, mods, 3, cst), BEAA_ERR_SCALE_RANGE);
    ck_assert_int_eq(beaa_encoder_round_encode(0x1p126, mods, 3, cst), BEAA_ERR_VALUE);
    ck_assert_int_eq(beaa_encoder_round_encode(NAN, mods, 3, cst), BEAA_ERR_VALUE);
    ck_assert_int_eq(beaa_encoder_int_encode(5, mods, 3, NULL), BEAA_ERR_ARG);
    ck_assert_int_eq(beaa_encoder_coeffs_encode(re, 0, 0x1p30, mods, 1, poly), BEAA_ERR_ARG);
    beaa_fft_tables_free(t);
}
END_TEST

/* Q/2 boundary on one prime: round(v*scale) = (q-1)/2 is accepted, (q+1)/2 is refused. */
START_TEST(test_q_half_boundary)
{
    beaa_modulus m;
    make_primes(&m, 1, 40);
    uint64_t out;
    double top = (double)((m.q - 1) / 2); /* exact: < 2^53 */
    ck_assert_int_eq(beaa_encoder_round_encode(top, &m, 1, &out), BEAA_OK);
    ck_assert_uint_eq(out, (m.q - 1) / 2);
    ck_assert_int_eq(beaa_encoder_round_encode(-top, &m, 1, &out), BEAA_OK);
    ck_assert_uint_eq(out, (m.q + 1) / 2);
    ck_assert_int_eq(beaa_encoder_round_encode(top + 1, &m, 1, &out), BEAA_ERR_VALUE);
    ck_assert_int_eq(beaa_encoder_round_encode(-top - 1, &m, 1, &out), BEAA_ERR_VALUE);
    ck_assert_int_eq(beaa_encoder_const_encode(top / 1024, 1024, &m, 1, &out), BEAA_OK);
    ck_assert_int_eq(beaa_encoder_const_encode((top + 1) / 1024, 1024, &m, 1, &out),
                     BEAA_ERR_VALUE);
}
END_TEST

static Suite *encoder_suite(void)
{
    Suite *s = suite_create("encoder");
    TCase *tc = tcase_create("fft");
    tcase_add_test(tc, test_fft_tables_args);
    tcase_add_test(tc, test_fft_n4_by_hand);
    tcase_add_test(tc, test_fft_vs_direct);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("encoder");
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_rotation_contract);
    tcase_add_test(tc, test_crt_lift_gmp);
    tcase_add_test(tc, test_scaled_rounding_gmp);
    tcase_add_test(tc, test_encode_limbs_gmp);
    tcase_add_test(tc, test_encode_noisy_gmp);
    tcase_add_test(tc, test_rejections);
    tcase_add_test(tc, test_q_half_boundary);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    test_rng_seed(0x0123456789abcdef);
    return test_run_suite(encoder_suite(), 0);
}
