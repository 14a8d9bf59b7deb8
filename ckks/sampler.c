/* sampler.c - CKKS distributions (see sampler.h). The error is a rounded continuous normal of
 * deviation 3.2 cut at 6 sigma (the usual "rounded Gaussian" of HE libraries; SEAL clips at 6
 * sigma too), sampled by inverting its cumulative table (CDT): one 64-bit word per sample, a
 * comparison with every table entry (no branch or table index depends on the sample: constant
 * time), the top bit as the sign. The wide Gaussian of noise flooding is Box-Muller with
 * constant-time ln, sin and cos (no libm calls on the secret noise). */
#include <math.h>
#include <pthread.h>
#include <string.h>
#if defined(__x86_64__) || defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "lib/mem.h"
#include "ckks/context_internal.h"
#include "ckks/sampler.h"

void beaa_ckks_sample_ternary(beaa_xof *x, int8_t *out, size_t n)
{
    /* one 64-bit XOF word r per coefficient: t = floor(3 r / 2^64) (the high word of 3 r) is 0, 1
     * or 2, each with probability 1/3 within 2^-64 (statistical distance < 2^-63 per coefficient,
     * < 2^-47 for N = 2^16: the precision class of the error CDT). No rejection, and no branch or
     * memory index depends on the draw: constant time in the secret. */
    for (size_t i = 0; i < n; i++) {
        uint64_t r = beaa_xof_u64(x);
        out[i] = (int8_t)((int)(uint64_t)(((unsigned __int128)r * 3u) >> 64) - 1);
    }
}

/* a, b <- min(a, b), max(a, b) without a branch on the values */
static inline void cswap_u64(uint64_t *a, uint64_t *b)
{
    uint64_t x = *a, y = *b, d = (x ^ y) & (0 - (uint64_t)(x > y));
    *a = x ^ d;
    *b = y ^ d;
}

beaa_status beaa_ckks_sample_sparse(beaa_xof *x, int8_t *out, size_t n, unsigned h)
{
    /* Constant time: h words coding +-1 (random sign) and n - h coding 0, each under a random
     * 62-bit key in its high bits, sorted by a bitonic network (its compare-exchange sequence
     * depends on n only; min/max by masks): a uniformly random placement of the h nonzero
     * coefficients, up to key collisions (probability < n^2 / 2^63). */
    if (n == 0 || (n & (n - 1)) != 0) return BEAA_ERR_ARG;
    if (h > n) h = (unsigned)n;
    uint64_t *v = beaa_alloc(n * sizeof *v);
    if (!v) return BEAA_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = beaa_xof_u64(x);
        uint64_t code = i < h ? 1 + (r & 1) : 0; /* 1: +1, 2: -1 (i < h is public) */
        v[i] = (r & ~(uint64_t)3) | code;
    }
    for (size_t k = 2; k <= n; k <<= 1)
        for (size_t j = k >> 1; j > 0; j >>= 1)
            for (size_t i = 0; i < n; i++) {
                size_t l = i ^ j;
                if (l <= i) continue;
                if ((i & k) == 0) cswap_u64(&v[i], &v[l]);
                else cswap_u64(&v[l], &v[i]);
            }
    for (size_t i = 0; i < n; i++) {
        unsigned c = (unsigned)(v[i] & 3);
        out[i] = (int8_t)((int)(c & 1) - (int)(c >> 1));
    }
    beaa_free_secret(v, n * sizeof *v);
    return BEAA_OK;
}

/* ---- the wide Gaussian of noise flooding: Box-Muller in constant time ----
 * The flooding noise must stay secret (knowing it undoes the flooding), so no branch or memory
 * index depends on it: ln and sin/cos are evaluated here with fixed-length polynomials and the
 * quadrant is chosen with bit masks (libm's log/sin/cos branch on their argument and index
 * tables with it). Only multiplications, additions, one square root and conversions run on
 * the values; none sees a subnormal (x86-64 latencies of these do not depend on normal
 * operands). Accuracy ~1e-15 relative, far below the rounding to integers. */

static inline double dbl_from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static inline uint64_t bits_from_dbl(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* ln(t * 2^-53) for an integer 1 <= t <= 2^53: t = m * 2^(b-1) with m in [1, 2) (b the bit length
 * of t, from the leading-zero count), ln m = ln 1.5 + ln(1 + x), x = (m - 1.5) / 1.5 in
 * [-1/3, 1/3), by its Taylor series to x^34 (remainder < 3^-35 / 35 < 2^-60). */
#define LOG_TERMS 34
#define TRIG_TERMS 12
static double log_coef[LOG_TERMS + 1];             /* (-1)^(k+1) / k */
static double trig_cos[TRIG_TERMS], trig_sin[TRIG_TERMS]; /* (-1)^j / (2j)!, (-1)^j / (2j+1)! */
static pthread_once_t wide_once = PTHREAD_ONCE_INIT;

static void wide_init(void)
{
    for (int k = 1; k <= LOG_TERMS; k++) log_coef[k] = ((k & 1) ? 1.0 : -1.0) / (double)k;
    double f = 1.0;
    for (int j = 0; j < TRIG_TERMS; j++) {
        trig_cos[j] = ((j & 1) ? -1.0 : 1.0) / f;
        f *= (double)(2 * j + 1);
        trig_sin[j] = ((j & 1) ? -1.0 : 1.0) / f;
        f *= (double)(2 * j + 2);
    }
}

static double ct_log_u53(uint64_t t)
{
    const int b = 64 - __builtin_clzll(t); /* 1..54; t >= 1 */
    const double m = (double)t * dbl_from_bits((uint64_t)(1023 - (b - 1)) << 52); /* exact */
    const double x = (m - 1.5) * (2.0 / 3.0);
    double p = 0.0;
    for (int k = LOG_TERMS; k >= 1; k--) p = p * x + log_coef[k];
    p *= x;
    return 0.40546510810816438198 + p + (double)(b - 1 - 53) * 0.69314718055994530942;
}

/* (cos, sin) of 2*pi*k/2^53 for 0 <= k < 2^53: quadrant from the top 2 bits, the angle within
 * it (in [0, pi/2)) by Taylor series to degree 22/23 (remainder < 2e-17), the quadrant's
 * swap and signs applied with masks. */
static void ct_cos_sin_u53(uint64_t k, double *co, double *si)
{
    const uint64_t quad = (k >> 51) & 3;
    const double phi = (double)(k & (((uint64_t)1 << 51) - 1)) * 0x1p-51 * 1.57079632679489661923;
    const double p2 = phi * phi;
    double c = 0.0, s = 0.0;
    for (int j = TRIG_TERMS - 1; j >= 0; j--) {
        c = c * p2 + trig_cos[j];
        s = s * p2 + trig_sin[j];
    }
    s *= phi;
    /* q=0: (c, s); q=1: (-s, c); q=2: (-c, -s); q=3: (s, -c) */
    const uint64_t swap = 0 - (quad & 1), cb = bits_from_dbl(c), sb = bits_from_dbl(s);
    uint64_t ob = (cb & ~swap) | (sb & swap), eb = (sb & ~swap) | (cb & swap);
    ob ^= (((quad >> 1) ^ (quad & 1)) & 1) << 63;
    eb ^= ((quad >> 1) & 1) << 63;
    *co = dbl_from_bits(ob);
    *si = dbl_from_bits(eb);
}

/* sqrt(v) for v >= 0 without libm's errno path (sqrt() branches on v < 0 to set errno): the
 * SSE2 instruction on x86-64, sqrt() elsewhere */
static inline double ct_sqrt(double v)
{
#if defined(__x86_64__) || defined(__SSE2__)
    return _mm_cvtsd_f64(_mm_sqrt_sd(_mm_setzero_pd(), _mm_set_sd(v)));
#else
    return sqrt(v);
#endif
}

/* nearest integer to v (|v| < 2^62), ties away from zero, by truncation of v + copysign(1/2, v) */
static inline int64_t ct_round(double v)
{
    const double half = dbl_from_bits(bits_from_dbl(0.5) | (bits_from_dbl(v) & ((uint64_t)1 << 63)));
    return (int64_t)(v + half);
}

/* cdt[k] = floor(2^63 * P(|e| <= k)) for k < BOUND, e the rounded normal N(0, sigma^2) cut at
 * |e| <= BOUND: P(|e| = 0) = Phi(1/2s) - Phi(-1/2s), P(|e| = k) = 2 (Phi((k+1/2)/s) -
 * Phi((k-1/2)/s)), renormalized to the cut. Built once from erfc (53-bit probabilities). */
static uint64_t cdt[BEAA_CKKS_GAUSS_BOUND];
static pthread_once_t cdt_once = PTHREAD_ONCE_INIT;

static double phi_between(double lo, double hi) /* P(lo < Z < hi), Z standard normal */
{
    return 0.5 * (erfc(lo / sqrt(2.0)) - erfc(hi / sqrt(2.0)));
}

static void cdt_init(void)
{
    const double s = BEAA_CKKS_SIGMA;
    double p[BEAA_CKKS_GAUSS_BOUND + 1], total = 0;
    for (int k = 0; k <= BEAA_CKKS_GAUSS_BOUND; k++) {
        p[k] = k == 0 ? phi_between(-0.5 / s, 0.5 / s) : 2.0 * phi_between((k - 0.5) / s, (k + 0.5) / s);
        total += p[k];
    }
    double acc = 0;
    for (int k = 0; k < BEAA_CKKS_GAUSS_BOUND; k++) {
        acc += p[k] / total;
        cdt[k] = (uint64_t)(acc * 0x1p63);
    }
}

/* One error coefficient from one uniform 64-bit word: the low 63 bits against the table, the top
 * bit the sign (no branch or index on the word). */
static inline int8_t gauss_of_word(uint64_t r)
{
    uint64_t u = r & (UINT64_MAX >> 1);
    int m = 0;
    for (int k = 0; k < BEAA_CKKS_GAUSS_BOUND; k++) m += u >= cdt[k];
    int neg = (int)(r >> 63);
    return (int8_t)((m ^ -neg) + neg); /* m or -m without a branch */
}

void beaa_ckks_sample_gauss(beaa_xof *x, int8_t *out, size_t n)
{
    pthread_once(&cdt_once, cdt_init);
    for (size_t i = 0; i < n; i++) out[i] = gauss_of_word(beaa_xof_u64(x));
}

beaa_status beaa_ckks_sample_gauss_os(const beaa_ckks_context *ctx, uint64_t domain, int8_t *out,
                                      size_t n)
{
    enum { LANES = 8 };
    if (!ctx || !out || n % LANES != 0) return BEAA_ERR_ARG;
    if (n == 0) return BEAA_OK;
    uint8_t seed[BEAA_SEED_BYTES];
    uint64_t *w = beaa_alloc(n * sizeof *w);
    beaa_status st = w ? beaa_os_random(seed, sizeof seed) : BEAA_ERR_NOMEM;
    if (st == BEAA_OK) {
        uint64_t *lane[LANES], q[LANES], dom[LANES];
        const uint8_t *sd[LANES];
        for (size_t j = 0; j < LANES; j++) {
            lane[j] = w + j * (n / LANES);
            q[j] = 0; /* raw words */
            dom[j] = domain + j;
            sd[j] = seed;
        }
        ctx->kern->uniform_seeded(lane, q, dom, LANES, n / LANES, sd);
        pthread_once(&cdt_once, cdt_init);
        for (size_t i = 0; i < n; i++) out[i] = gauss_of_word(w[i]);
    }
    beaa_memzero(seed, sizeof seed);
    beaa_free_secret(w, n * sizeof *w);
    return st;
}

void beaa_ckks_sample_gauss_wide(beaa_xof *x, int64_t *out, size_t n, double sigma)
{
    /* Box-Muller on two 53-bit uniforms: r = sqrt(-2 ln u1), u1 in (0, 1], angle 2 pi u2, u2 in
     * [0, 1): both outputs used (independent). |z| <= sqrt(2 * 53 ln 2) < 8.6, so for
     * sigma <= 2^50 every |e| < 2^54: no cut, no redraw. */
    pthread_once(&wide_once, wide_init);
    for (size_t i = 0; i < n; i += 2) {
        uint64_t a = (beaa_xof_u64(x) >> 11) + 1, b = beaa_xof_u64(x) >> 11;
        uint64_t v = bits_from_dbl(-2.0 * ct_log_u53(a)); /* >= 0 up to rounding at u1 = 1 */
        v &= ~(0 - (v >> 63));                           /* -tiny -> +0 */
        double r = ct_sqrt(dbl_from_bits(v)) * sigma, co, si;
        ct_cos_sin_u53(b, &co, &si);
        out[i] = ct_round(r * co);
        if (i + 1 < n) out[i + 1] = ct_round(r * si);
    }
}

void beaa_ckks_sample_uniform_seeded(uint64_t *out, size_t n, const beaa_modulus *m,
                                     const uint8_t seed[BEAA_SEED_BYTES], uint64_t domain)
{
    beaa_xof x;
    beaa_xof_init(&x, seed, domain);
    for (size_t i = 0; i < n; i++) out[i] = beaa_xof_uniform(&x, m->q);
    beaa_xof_wipe(&x);
}

/* streams s < count of seed seeds[s] (seeds NULL: seed for all), in groups of 8 */
static void uniform_streams(const beaa_ckks_context *ctx, uint64_t *const *out,
                            const unsigned *prime, const uint64_t *domain, size_t count,
                            const uint8_t *const *seeds, const uint8_t *seed, int parallel)
{
    enum { GROUP = 8 };
    const int ngroups = (int)((count + GROUP - 1) / GROUP);
#pragma omp parallel for schedule(dynamic, 1) if (parallel && ngroups > 1 && ctx->n >= BEAA_CKKS_PAR_MIN_N)
    for (int g = 0; g < ngroups; g++) {
        size_t s0 = (size_t)g * GROUP, cnt = count - s0 < GROUP ? count - s0 : GROUP;
        uint64_t q[GROUP];
        const uint8_t *sd[GROUP];
        for (size_t s = 0; s < cnt; s++) {
            q[s] = ctx->mod[prime[s0 + s]].q;
            sd[s] = seeds ? seeds[s0 + s] : seed;
        }
        ctx->kern->uniform_seeded(out + s0, q, domain + s0, cnt, ctx->n, sd);
    }
}

void beaa_ckks_sample_uniform_seeded_limbs(const beaa_ckks_context *ctx, uint64_t *const *out,
                                           const unsigned *prime, const uint64_t *domain,
                                           size_t count, const uint8_t seed[BEAA_SEED_BYTES],
                                           int parallel)
{
    uniform_streams(ctx, out, prime, domain, count, NULL, seed, parallel);
}

void beaa_ckks_sample_uniform_streams(const beaa_ckks_context *ctx, uint64_t *const *out,
                                      const unsigned *prime, const uint64_t *domain,
                                      const uint8_t *const *seed, size_t count, int parallel)
{
    uniform_streams(ctx, out, prime, domain, count, seed, NULL, parallel);
}

void beaa_ckks_small_to_ntt(const beaa_ckks_context *ctx, const int8_t *s, unsigned k0,
                            unsigned count, uint64_t *out)
{
    const size_t n = ctx->n;
#pragma omp parallel for schedule(static) if (ctx->n >= BEAA_CKKS_PAR_MIN_N)
    for (int j = 0; j < (int)count; j++) {
        uint64_t q = ctx->mod[k0 + j].q, *o = out + (size_t)j * n;
        for (size_t i = 0; i < n; i++) o[i] = beaa_ckks_small_mod(s[i], q);
        ctx->kern->ntt_fwd(ctx->ntt[k0 + j], o);
    }
}
