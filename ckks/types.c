/* types.c - allocation, re-shaping and copying of CKKS plaintexts and ciphertexts, and the
 * expansion of a seeded ciphertext's c_1. One 64-byte aligned block per object. */
#include <string.h>
#include "lib/mem.h"
#include "lib/pool.h"
#include "ckks/context_internal.h"
#include "ckks/sampler.h"
#include "ckks/types.h"

/* The limbs of plaintexts and ciphertexts come from lib/pool (reused multi-megabyte blocks). */
uint64_t *beaa_ckks_data_alloc(size_t words, int zero)
{
    if (words == 0 || words > SIZE_MAX / sizeof(uint64_t)) return NULL;
    int fresh = 0;
    uint64_t *p = beaa_pool_alloc(words * sizeof *p, &fresh);
    if (p && zero && !fresh) memset(p, 0, words * sizeof *p);
    return p;
}

void beaa_ckks_data_free(uint64_t *data, size_t words, int secret)
{
    if (!data) return;
    if (secret) beaa_memzero(data, words * sizeof *data);
    beaa_pool_free(data);
}

static beaa_status grow(uint64_t **data, size_t *cap, size_t words, int secret)
{
    if (words <= *cap) return BEAA_OK;
    uint64_t *p = beaa_ckks_data_alloc(words, 0);
    if (!p) return BEAA_ERR_NOMEM;
    beaa_ckks_data_free(*data, *cap, secret);
    *data = p;
    *cap = words;
    return BEAA_OK;
}

beaa_status beaa_ckks_plaintext_new(const beaa_ckks_context *ctx, unsigned level,
                                    beaa_ckks_plaintext **out)
{
    if (!ctx || !out) return BEAA_ERR_ARG;
    *out = NULL;
    if (level > ctx->L) return BEAA_ERR_LEVEL_EXHAUSTED;
    beaa_ckks_plaintext *pt = beaa_calloc(1, sizeof *pt);
    if (!pt) return BEAA_ERR_NOMEM;
    pt->ctx = ctx;
    pt->level = level;
    pt->ntt_form = 1;
    pt->scale = 1.0;
    pt->capacity = (size_t)(level + 1) * ctx->n;
    pt->data = beaa_ckks_data_alloc(pt->capacity, 1);
    if (!pt->data) { beaa_free(pt); return BEAA_ERR_NOMEM; }
    *out = pt;
    return BEAA_OK;
}

void beaa_ckks_plaintext_free(beaa_ckks_plaintext *pt)
{
    if (!pt) return;
    beaa_ckks_data_free(pt->data, pt->capacity, 1);
    beaa_free(pt);
}

beaa_status beaa_ckks_plaintext_resize(beaa_ckks_plaintext *pt, unsigned level)
{
    if (!pt || !pt->ctx) return BEAA_ERR_ARG;
    if (level > pt->ctx->L) return BEAA_ERR_LEVEL_EXHAUSTED;
    beaa_status st = grow(&pt->data, &pt->capacity, (size_t)(level + 1) * pt->ctx->n, 1);
    if (st != BEAA_OK) return st;
    pt->level = level;
    return BEAA_OK;
}

static beaa_status ct_new(const beaa_ckks_context *ctx, unsigned size, unsigned level, int zero,
                          beaa_ckks_ciphertext **out)
{
    if (!ctx || !out) return BEAA_ERR_ARG;
    *out = NULL;
    if (size != 2 && size != 3) return BEAA_ERR_SIZE;
    if (level > ctx->L) return BEAA_ERR_LEVEL_EXHAUSTED;
    beaa_ckks_ciphertext *ct = beaa_calloc(1, sizeof *ct);
    if (!ct) return BEAA_ERR_NOMEM;
    ct->ctx = ctx;
    ct->size = size;
    ct->level = level;
    ct->ntt_form = 1;
    ct->scale = 1.0;
    ct->capacity = (size_t)size * (level + 1) * ctx->n;
    ct->data = beaa_ckks_data_alloc(ct->capacity, zero);
    if (!ct->data) { beaa_free(ct); return BEAA_ERR_NOMEM; }
    *out = ct;
    return BEAA_OK;
}

beaa_status beaa_ckks_ciphertext_new(const beaa_ckks_context *ctx, unsigned size, unsigned level,
                                     beaa_ckks_ciphertext **out)
{
    return ct_new(ctx, size, level, 1, out);
}

beaa_status beaa_ckks_ciphertext_new_uninit(const beaa_ckks_context *ctx, unsigned size,
                                            unsigned level, beaa_ckks_ciphertext **out)
{
    return ct_new(ctx, size, level, 0, out);
}

void beaa_ckks_ciphertext_free(beaa_ckks_ciphertext *ct)
{
    if (!ct) return;
    beaa_ckks_data_free(ct->data, ct->capacity, 0);
    beaa_free(ct);
}

beaa_status beaa_ckks_ciphertext_resize(beaa_ckks_ciphertext *ct, unsigned size, unsigned level)
{
    if (!ct || !ct->ctx) return BEAA_ERR_ARG;
    if (size != 2 && size != 3) return BEAA_ERR_SIZE;
    if (level > ct->ctx->L) return BEAA_ERR_LEVEL_EXHAUSTED;
    beaa_status st = grow(&ct->data, &ct->capacity, (size_t)size * (level + 1) * ct->ctx->n, 0);
    if (st != BEAA_OK) return st;
    ct->size = size;
    ct->level = level;
    ct->has_seed = 0;
    return BEAA_OK;
}

beaa_status beaa_ckks_ciphertext_copy(beaa_ckks_ciphertext *dst, const beaa_ckks_ciphertext *src)
{
    if (!dst || !src || !src->ctx) return BEAA_ERR_ARG;
    if (dst == src) return BEAA_OK;
    dst->ctx = src->ctx;
    beaa_status st = beaa_ckks_ciphertext_resize(dst, src->size, src->level);
    if (st != BEAA_OK) return st;
    memcpy(dst->data, src->data, (size_t)src->size * (src->level + 1) * src->ctx->n * sizeof *dst->data);
    dst->ntt_form = src->ntt_form;
    dst->scale = src->scale;
    dst->has_seed = src->has_seed;
    memcpy(dst->seed, src->seed, sizeof dst->seed);
    return BEAA_OK;
}

beaa_status beaa_ckks_ciphertext_clone(const beaa_ckks_ciphertext *src, beaa_ckks_ciphertext **out)
{
    if (!src || !out || !src->ctx) return BEAA_ERR_ARG;
    beaa_status st = beaa_ckks_ciphertext_new(src->ctx, src->size, src->level, out);
    if (st != BEAA_OK) return st;
    st = beaa_ckks_ciphertext_copy(*out, src);
    if (st != BEAA_OK) { beaa_ckks_ciphertext_free(*out); *out = NULL; }
    return st;
}

beaa_status beaa_ckks_ciphertext_expand_seed(beaa_ckks_ciphertext *ct)
{
    if (!ct || !ct->ctx || !ct->data) return BEAA_ERR_ARG;
    if (ct->size != 2) return BEAA_ERR_SIZE;
    const beaa_ckks_context *c = ct->ctx;
    uint64_t *out[BEAA_CKKS_MAX_PRIMES], dom[BEAA_CKKS_MAX_PRIMES];
    unsigned prime[BEAA_CKKS_MAX_PRIMES];
    for (unsigned i = 0; i <= ct->level; i++) {
        out[i] = beaa_ckks_ct_limb(ct, 1, i);
        prime[i] = i;
        dom[i] = BEAA_CKKS_DOMAIN_CT_A + i;
    }
    beaa_ckks_sample_uniform_seeded_limbs(c, out, prime, dom, ct->level + 1, ct->seed, 1);
    ct->has_seed = 1;
    ct->ntt_form = 1;
    return BEAA_OK;
}
