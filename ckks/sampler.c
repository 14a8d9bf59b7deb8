/* sampler.c - CKKS distributions (see sampler.h). The error is a rounded continuous normal of
 * deviation 3.2 cut at 6 sigma (the usual "rounded Gaussian" of HE libraries; SEAL clips at 6
 * sigma too), sampled by inverting its cumulative table (CDT): one 64-bit word per sample, a
 * comparison with every table entry (no branch or table index depends on the sample: constant
 * time), the top bit as the sign. The wide Gaussian of noise flooding keeps Box-Muller. */
#include <math.h>
#include <pthread.h>
#include "lib/mem.h"
#include "ckks/context_internal.h"
#include "ckks/sampler.h"

void beaa_ckks_sample_ternary(beaa_xof *x, int8_t *out, size_t n)
{
    /* a byte below 243 = 3^5 is 5 independent uniform trits (its base-3 digits); bytes 243..255
     * are skipped, so every trit is exactly uniform: about 0.21 XOF bytes per coefficient */
    uint8_t buf[64];
    size_t i = 0, pos = sizeof buf;
    while (i < n) {
        if (pos == sizeof buf) {
            beaa_xof_read(x, buf, sizeof buf);
            pos = 0;
        }
        unsigned b = buf[pos++];
        if (b >= 243) continue;
        for (int t = 0; t < 5 && i < n; t++, b /= 3) out[i++] = (int8_t)((int)(b % 3) - 1);
    }
    beaa_memzero(buf, sizeof buf); /* secret-key bits come from here */
}

void beaa_ckks_sample_sparse(beaa_xof *x, int8_t *out, size_t n, unsigned h)
{
    /* positions: the first h of a partial Fisher-Yates shuffle, done in place on a marker array */
    for (size_t i = 0; i < n; i++) out[i] = 0;
    if (h > n) h = (unsigned)n;
    for (unsigned k = 0; k < h; k++) {
        size_t pos;
        do {
            pos = (size_t)beaa_xof_uniform(x, n);
        } while (out[pos] != 0); /* rejection: uniform among free positions */
        out[pos] = (beaa_xof_u64(x) & 1) ? 1 : -1;
    }
}

static double uniform01(beaa_xof *x) /* in (0, 1] */
{
    return ((double)(beaa_xof_u64(x) >> 11) + 1.0) * 0x1p-53;
}

/* Box-Muller: two independent standard normals from two uniforms. */
static void normal2(beaa_xof *x, double *z0, double *z1)
{
    double u1 = uniform01(x), u2 = uniform01(x);
    double r = sqrt(-2.0 * log(u1)), t = 2.0 * 3.14159265358979323846 * u2;
    *z0 = r * cos(t);
    *z1 = r * sin(t);
}

/* n rounded normals of deviation sigma with |e| <= bound (redrawn beyond), both Box-Muller
 * outputs used (they are independent, so keeping one when the other is redrawn is fine) */
static void gauss_fill(beaa_xof *x, double sigma, double bound, int64_t *out, size_t n)
{
    size_t i = 0;
    while (i < n) {
        double z[2];
        normal2(x, &z[0], &z[1]);
        for (int k = 0; k < 2 && i < n; k++) {
            double e = nearbyint(z[k] * sigma);
            if (!(fabs(e) <= bound)) continue;
            out[i++] = (int64_t)e;
        }
    }
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

void beaa_ckks_sample_gauss(beaa_xof *x, int8_t *out, size_t n)
{
    pthread_once(&cdt_once, cdt_init);
    for (size_t i = 0; i < n; i++) {
        uint64_t r = beaa_xof_u64(x), u = r & (UINT64_MAX >> 1);
        int m = 0;
        for (int k = 0; k < BEAA_CKKS_GAUSS_BOUND; k++) m += u >= cdt[k];
        int neg = (int)(r >> 63);
        out[i] = (int8_t)((m ^ -neg) + neg); /* m or -m without a branch */
    }
}

void beaa_ckks_sample_gauss_wide(beaa_xof *x, int64_t *out, size_t n, double sigma)
{
    gauss_fill(x, sigma, 0x1p62 - 1024.0, out, n); /* |e| < 2^62 */
}

void beaa_ckks_sample_uniform_seeded(uint64_t *out, size_t n, const beaa_modulus *m,
                                     const uint8_t seed[BEAA_SEED_BYTES], uint64_t domain)
{
    beaa_xof x;
    beaa_xof_init(&x, seed, domain);
    for (size_t i = 0; i < n; i++) out[i] = beaa_xof_uniform(&x, m->q);
    beaa_xof_wipe(&x);
}

void beaa_ckks_sample_uniform_seeded_limbs(const beaa_ckks_context *ctx, uint64_t *const *out,
                                           const unsigned *prime, const uint64_t *domain,
                                           size_t count, const uint8_t seed[BEAA_SEED_BYTES],
                                           int parallel)
{
    enum { GROUP = 8 };
    const int ngroups = (int)((count + GROUP - 1) / GROUP);
#pragma omp parallel for schedule(dynamic, 1) if (parallel && ngroups > 1 && ctx->n >= BEAA_CKKS_PAR_MIN_N)
    for (int g = 0; g < ngroups; g++) {
        size_t s0 = (size_t)g * GROUP, cnt = count - s0 < GROUP ? count - s0 : GROUP;
        uint64_t q[GROUP];
        for (size_t s = 0; s < cnt; s++) q[s] = ctx->mod[prime[s0 + s]].q;
        ctx->kern->uniform_seeded(out + s0, q, domain + s0, cnt, ctx->n, seed);
    }
}

void beaa_ckks_small_to_ntt(const beaa_ckks_context *ctx, const int8_t *s, unsigned k0,
                            unsigned count, uint64_t *out)
{
    const size_t n = ctx->n;
#pragma omp parallel for schedule(static) if (ctx->n >= BEAA_CKKS_PAR_MIN_N)
    for (int j = 0; j < (int)count; j++) {
        uint64_t q = ctx->mod[k0 + j].q, *o = out + (size_t)j * n;
        for (size_t i = 0; i < n; i++) o[i] = s[i] < 0 ? q - (uint64_t)(-s[i]) : (uint64_t)s[i];
        ctx->kern->ntt_fwd(ctx->ntt[k0 + j], o);
    }
}
