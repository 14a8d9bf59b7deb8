/* codec.c - encode/decode of CKKS plaintexts: wraps the encoder (ckks/encoder.h, coefficient form)
 * with the context's primes and FFT tables and moves limbs to/from NTT form. */
#include <math.h>
#include <string.h>
#include "lib/mem.h"
#include "ckks/context_internal.h"
#include "ckks/encoder.h"
#include "ckks/types.h"

beaa_status beaa_ckks_encode_complex(const beaa_ckks_context *c, const double *re, const double *im,
                                     size_t n, double scale, unsigned level, beaa_ckks_plaintext *pt)
{
    if (!c || !re || !pt) return BEAA_ERR_ARG;
    if (pt->ctx != c) return BEAA_ERR_PARAMS_MISMATCH;
    if (level > c->L) return BEAA_ERR_LEVEL_EXHAUSTED;
    if (n > c->n / 2) return BEAA_ERR_SLOTS;
    if (!(scale >= 1.0) || !isfinite(scale) || log2(scale) >= c->log2_q_cum[level] - 1.0)
        return BEAA_ERR_SCALE_RANGE;
    beaa_status st = beaa_ckks_plaintext_resize(pt, level);
    if (st != BEAA_OK) return st;
    st = beaa_encoder_encode(c->fft, re, im, n, scale, c->mod, level + 1, pt->data);
    if (st != BEAA_OK) return st;
#pragma omp parallel for schedule(static) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    for (int i = 0; i <= (int)level; i++) c->kern->ntt_fwd(c->ntt[i], pt->data + (size_t)i * c->n);
    pt->ntt_form = 1;
    pt->scale = scale;
    return BEAA_OK;
}

beaa_status beaa_ckks_encode_real(const beaa_ckks_context *c, const double *vals, size_t n,
                                  double scale, unsigned level, beaa_ckks_plaintext *pt)
{
    return beaa_ckks_encode_complex(c, vals, NULL, n, scale, level, pt);
}

beaa_status beaa_ckks_decode_complex(const beaa_ckks_plaintext *pt, double *re, double *im, size_t n)
{
    if (!pt || !pt->ctx || !pt->data || !re) return BEAA_ERR_ARG;
    const beaa_ckks_context *c = pt->ctx;
    if (pt->level > c->L) return BEAA_ERR_ARG;
    if (n > c->n / 2) return BEAA_ERR_SLOTS;
    size_t words = (size_t)(pt->level + 1) * c->n;
    uint64_t *tmp = beaa_alloc(words * sizeof *tmp);
    if (!tmp) return BEAA_ERR_NOMEM;
    memcpy(tmp, pt->data, words * sizeof *tmp);
    if (pt->ntt_form) {
#pragma omp parallel for schedule(static) if (c->n >= BEAA_CKKS_PAR_MIN_N)
        for (int i = 0; i <= (int)pt->level; i++) c->kern->ntt_inv(c->ntt[i], tmp + (size_t)i * c->n);
    }
    beaa_status st = beaa_encoder_decode(c->fft, tmp, c->mod, pt->level + 1, pt->scale, re, im, n);
    beaa_free_secret(tmp, words * sizeof *tmp);
    return st;
}

beaa_status beaa_ckks_decode_real(const beaa_ckks_plaintext *pt, double *vals, size_t n)
{
    return beaa_ckks_decode_complex(pt, vals, NULL, n);
}
