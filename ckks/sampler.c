/* sampler.c - CKKS distributions (see sampler.h). The Gaussian is a rounded continuous normal
 * (Box-Muller on 53-bit uniforms from the XOF) cut at 6 sigma by redrawing; this is the usual
 * "rounded Gaussian" of HE libraries (SEAL clips at 6 sigma too). */
#include <math.h>
#include "ckks/context_internal.h"
#include "ckks/sampler.h"

void beaa_ckks_sample_ternary(beaa_xof *x, int8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = (int8_t)((int)beaa_xof_uniform(x, 3) - 1);
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

static double normal(beaa_xof *x)
{
    double u1 = uniform01(x), u2 = uniform01(x);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

void beaa_ckks_sample_gauss(beaa_xof *x, int8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double e;
        do {
            e = nearbyint(normal(x) * BEAA_CKKS_SIGMA);
        } while (fabs(e) > BEAA_CKKS_GAUSS_BOUND);
        out[i] = (int8_t)e;
    }
}

void beaa_ckks_sample_gauss_wide(beaa_xof *x, int64_t *out, size_t n, double sigma)
{
    for (size_t i = 0; i < n; i++) {
        double e;
        do {
            e = nearbyint(normal(x) * sigma);
        } while (fabs(e) >= 0x1p62);
        out[i] = (int64_t)e;
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
