/* fft.c - the special FFT of CKKS (see fft.h for the slot orientation contract).
 * With n = N/2 and w_j = zeta^(5^j mod 2N), m(w_j) = p(w_j) for the complex polynomial
 * p(X) = sum_{k<n} (c_k + i*c_{k+n}) X^k (since w_j^n = i). The points w_j are exactly
 * zeta^(4t+1), t < n, so decoding is: twist by zeta^k, one length-n DFT, and a fixed slot
 * permutation (folded into the bit-reversed output order). Encoding runs it backwards. */
#include "ckks/fft.h"
#include <stdint.h>
#include <string.h>
#include <math.h>
#include "lib/mem.h"

struct beaa_fft_tables {
    size_t n;          /* ring degree N */
    size_t h;          /* slots N/2 = DFT length */
    double *root_re;   /* stage roots: [len/2 + k] = exp(+2*pi*i*k/len), 2 <= len <= h, k < len/2 */
    double *root_im;
    double *twist_re;  /* zeta^k, k < h */
    double *twist_im;
    uint32_t *perm;    /* slot j lives at DFT position perm[j] (bit-reversed order) */
    void *block;       /* the one allocation holding all arrays */
};

/* zeta^m = exp(2*pi*i*m/M) for M = 2N (a multiple of 8): cos/sin in long double on an angle
 * reduced to [0, pi/4], then exact quadrant/octant symmetries, one rounding to double. */
static void root_of_unity(size_t m, size_t M, double *re, double *im)
{
    const long double two_pi = 6.283185307179586476925286766559005768L;
    size_t quarter = M / 4, eighth = M / 8;
    m %= M;
    size_t quad = m / quarter, r = m % quarter;
    double c, s;
    if (r <= eighth) {
        long double a = two_pi * (long double)r / (long double)M;
        c = (double)cosl(a);
        s = (double)sinl(a);
    } else {
        long double a = two_pi * (long double)(quarter - r) / (long double)M;
        c = (double)sinl(a);
        s = (double)cosl(a);
    }
    switch (quad) {
    case 0: *re = c; *im = s; break;
    case 1: *re = -s; *im = c; break;
    case 2: *re = -c; *im = -s; break;
    default: *re = s; *im = -c; break;
    }
}

static uint32_t bit_reverse(uint32_t x, unsigned bits)
{
    uint32_t r = 0;
    for (unsigned b = 0; b < bits; b++) {
        r = (r << 1) | (x & 1u);
        x >>= 1;
    }
    return r;
}

beaa_status beaa_fft_tables_new(size_t n, beaa_fft_tables **out)
{
    if (!out) return BEAA_ERR_ARG;
    *out = NULL;
    if (n < BEAA_FFT_MIN_N || n > BEAA_FFT_MAX_N || (n & (n - 1)) != 0) return BEAA_ERR_ARG;
    beaa_fft_tables *t = beaa_calloc(1, sizeof *t);
    if (!t) return BEAA_ERR_NOMEM;
    size_t h = n / 2, M = 2 * n;
    /* 4 double arrays of h, one uint32 array of h; each padded to 64 bytes */
    size_t dbytes = (h * sizeof(double) + 63) / 64 * 64;
    size_t pbytes = (h * sizeof(uint32_t) + 63) / 64 * 64;
    unsigned char *b = beaa_alloc(4 * dbytes + pbytes);
    if (!b) {
        beaa_free(t);
        return BEAA_ERR_NOMEM;
    }
    t->block = b;
    t->n = n;
    t->h = h;
    t->root_re = (double *)(void *)b;
    t->root_im = (double *)(void *)(b + dbytes);
    t->twist_re = (double *)(void *)(b + 2 * dbytes);
    t->twist_im = (double *)(void *)(b + 3 * dbytes);
    t->perm = (uint32_t *)(void *)(b + 4 * dbytes);

    /* stage roots: exp(2*pi*i*k/len) = zeta^(k * M/len) */
    t->root_re[0] = 1.0;
    t->root_im[0] = 0.0;
    for (size_t half = 1; half < h; half <<= 1) {
        size_t len = 2 * half;
        for (size_t k = 0; k < half; k++)
            root_of_unity(k * (M / len), M, &t->root_re[half + k], &t->root_im[half + k]);
    }
    for (size_t k = 0; k < h; k++) root_of_unity(k, M, &t->twist_re[k], &t->twist_im[k]);

    unsigned logh = 0;
    while (((size_t)1 << logh) < h) logh++;
    size_t g = 1; /* 5^j mod 2N */
    for (size_t j = 0; j < h; j++) {
        size_t tj = (g - 1) / 4; /* 5^j = 4*t + 1 mod 2N */
        t->perm[j] = bit_reverse((uint32_t)tj, logh);
        g = (g * 5) % M;
    }
    *out = t;
    return BEAA_OK;
}

void beaa_fft_tables_free(beaa_fft_tables *t)
{
    if (!t) return;
    beaa_free(t->block);
    beaa_free(t);
}

size_t beaa_fft_tables_degree(const beaa_fft_tables *t) { return t ? t->n : 0; }
size_t beaa_fft_tables_slots(const beaa_fft_tables *t) { return t ? t->h : 0; }

/* One DIF butterfly group: (a, b) <- (a + b, (a - b) * w) for k < half (half % 4 == 0).
 * Unrolled by 4 with restrict pointers so the compiler vectorizes it at -O2 (SSE2/AVX). */
static inline void dif_group(double *restrict ar, double *restrict ai, double *restrict br,
                             double *restrict bi, const double *restrict wr,
                             const double *restrict wi, size_t half)
{
    for (size_t k = 0; k < half; k += 4) {
        for (size_t u = 0; u < 4; u++) {
            double xr = ar[k + u], xi = ai[k + u], yr = br[k + u], yi = bi[k + u];
            double dr = xr - yr, di = xi - yi;
            ar[k + u] = xr + yr;
            ai[k + u] = xi + yi;
            br[k + u] = dr * wr[k + u] - di * wi[k + u];
            bi[k + u] = dr * wi[k + u] + di * wr[k + u];
        }
    }
}

/* One DIT butterfly group: (a, b) <- (a + b*conj(w), a - b*conj(w)) for k < half (half % 4 == 0). */
static inline void dit_group(double *restrict ar, double *restrict ai, double *restrict br,
                             double *restrict bi, const double *restrict wr,
                             const double *restrict wi, size_t half)
{
    for (size_t k = 0; k < half; k += 4) {
        for (size_t u = 0; u < 4; u++) {
            double yr = br[k + u] * wr[k + u] + bi[k + u] * wi[k + u];
            double yi = bi[k + u] * wr[k + u] - br[k + u] * wi[k + u];
            double xr = ar[k + u], xi = ai[k + u];
            ar[k + u] = xr + yr;
            ai[k + u] = xi + yi;
            br[k + u] = xr - yr;
            bi[k + u] = xi - yi;
        }
    }
}

/* The whole transform for h == 2: (x, y) -> (x + y, x - y), its own inverse up to a factor 2. */
static inline void dft2(double *re, double *im)
{
    double xr = re[0], xi = im[0], yr = re[1], yi = im[1];
    re[0] = xr + yr;
    im[0] = xi + yi;
    re[1] = xr - yr;
    im[1] = xi - yi;
}

/* In-place DFT with the + sign, X_t = sum_k x_k exp(+2*pi*i*k*t/h): natural order in,
 * bit-reversed order out (decimation in frequency, Gentleman-Sande butterflies).
 * The last two stages (len 4 and 2, roots 1 and i) are fused without multiplications. */
static void dft_forward_dif(const beaa_fft_tables *t, double *restrict re, double *restrict im)
{
    const size_t h = t->h;
    for (size_t len = h; len >= 8; len >>= 1) {
        size_t half = len / 2;
        for (size_t s = 0; s < h; s += len)
            dif_group(re + s, im + s, re + s + half, im + s + half, t->root_re + half,
                      t->root_im + half, half);
    }
    if (h >= 4) {
        for (size_t s = 0; s < h; s += 4) {
            /* len 4: (a0, a1, a2, a3) -> (a0 + a2, a1 + a3, a0 - a2, (a1 - a3) * i) */
            double r0 = re[s] + re[s + 2], i0 = im[s] + im[s + 2];
            double r1 = re[s + 1] + re[s + 3], i1 = im[s + 1] + im[s + 3];
            double r2 = re[s] - re[s + 2], i2 = im[s] - im[s + 2];
            double r3 = -(im[s + 1] - im[s + 3]), i3 = re[s + 1] - re[s + 3];
            /* len 2 on both halves */
            re[s] = r0 + r1;
            im[s] = i0 + i1;
            re[s + 1] = r0 - r1;
            im[s + 1] = i0 - i1;
            re[s + 2] = r2 + r3;
            im[s + 2] = i2 + i3;
            re[s + 3] = r2 - r3;
            im[s + 3] = i2 - i3;
        }
    } else { /* h == 2 */
        dft2(re, im);
    }
}

/* In-place DFT with the - sign (unnormalized): bit-reversed order in, natural order out
 * (decimation in time, Cooley-Tukey butterflies). Inverse of dft_forward_dif up to a factor h.
 * The first two stages (len 2 and 4, roots 1 and -i) are fused without multiplications. */
static void dft_inverse_dit(const beaa_fft_tables *t, double *restrict re, double *restrict im)
{
    const size_t h = t->h;
    if (h >= 4) {
        for (size_t s = 0; s < h; s += 4) {
            /* len 2 on both pairs */
            double r0 = re[s] + re[s + 1], i0 = im[s] + im[s + 1];
            double r1 = re[s] - re[s + 1], i1 = im[s] - im[s + 1];
            double r2 = re[s + 2] + re[s + 3], i2 = im[s + 2] + im[s + 3];
            double r3 = re[s + 2] - re[s + 3], i3 = im[s + 2] - im[s + 3];
            /* len 4: b * conj(w) with w = 1 for k = 0 and w = i for k = 1 (times -i) */
            double t3r = i3, t3i = -r3;
            re[s] = r0 + r2;
            im[s] = i0 + i2;
            re[s + 2] = r0 - r2;
            im[s + 2] = i0 - i2;
            re[s + 1] = r1 + t3r;
            im[s + 1] = i1 + t3i;
            re[s + 3] = r1 - t3r;
            im[s + 3] = i1 - t3i;
        }
    } else { /* h == 2 */
        dft2(re, im);
    }
    for (size_t len = 8; len <= h; len <<= 1) {
        size_t half = len / 2;
        for (size_t s = 0; s < h; s += len)
            dit_group(re + s, im + s, re + s + half, im + s + half, t->root_re + half,
                      t->root_im + half, half);
    }
}

/* x_k <- x_k * w_k * f (sign > 0) or x_k * conj(w_k) * f (sign < 0), k < h; f a power of two. */
static void twist_multiply(double *restrict xr, double *restrict xi, const double *restrict wr,
                           const double *restrict wi, size_t h, int sign, double f)
{
    /* h is even; the explicit pairs let -O2 vectorize */
    if (sign > 0) {
        for (size_t k = 0; k < h; k += 2) {
            double a0 = xr[k], b0 = xi[k], a1 = xr[k + 1], b1 = xi[k + 1];
            xr[k] = (a0 * wr[k] - b0 * wi[k]) * f;
            xr[k + 1] = (a1 * wr[k + 1] - b1 * wi[k + 1]) * f;
            xi[k] = (a0 * wi[k] + b0 * wr[k]) * f;
            xi[k + 1] = (a1 * wi[k + 1] + b1 * wr[k + 1]) * f;
        }
    } else {
        for (size_t k = 0; k < h; k += 2) {
            double a0 = xr[k], b0 = xi[k], a1 = xr[k + 1], b1 = xi[k + 1];
            xr[k] = (a0 * wr[k] + b0 * wi[k]) * f;
            xr[k + 1] = (a1 * wr[k + 1] + b1 * wi[k + 1]) * f;
            xi[k] = (b0 * wr[k] - a0 * wi[k]) * f;
            xi[k + 1] = (b1 * wr[k + 1] - a1 * wi[k + 1]) * f;
        }
    }
}

void beaa_fft_slots_to_coeffs(const beaa_fft_tables *t, const double *re, const double *im,
                              size_t count, double *coeffs)
{
    size_t h = t->h;
    double *xr = coeffs, *xi = coeffs + h;
    if (count > h) count = h;
    memset(coeffs, 0, t->n * sizeof(double));
    for (size_t j = 0; j < count; j++) {
        uint32_t p = t->perm[j];
        xr[p] = re[j];
        xi[p] = im ? im[j] : 0.0;
    }
    dft_inverse_dit(t, xr, xi);
    /* z_k = Y_k * conj(zeta^k) / h; c_k = Re z_k, c_{k+h} = Im z_k (1/h is exact) */
    twist_multiply(xr, xi, t->twist_re, t->twist_im, h, -1, 1.0 / (double)h);
}

void beaa_fft_coeffs_to_slots(const beaa_fft_tables *t, double *coeffs, double *re, double *im,
                              size_t count)
{
    size_t h = t->h;
    double *xr = coeffs, *xi = coeffs + h;
    if (count > h) count = h;
    /* z_k = (c_k + i*c_{k+h}) * zeta^k */
    twist_multiply(xr, xi, t->twist_re, t->twist_im, h, 1, 1.0);
    dft_forward_dif(t, xr, xi);
    for (size_t j = 0; j < count; j++) {
        uint32_t p = t->perm[j];
        re[j] = xr[p];
        if (im) im[j] = xi[p];
    }
}
