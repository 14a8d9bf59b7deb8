/* validate.c - invariants of CKKS objects in memory (see validate.h). */
#include <math.h>
#include "ckks/context_internal.h"
#include "ckks/keys.h"
#include "ckks/serialize.h"
#include "ckks/validate.h"
#include "lib/mem.h"
#include "lib/ct.h"

int beaa_ckks_scale_in_range(const beaa_ckks_context *ctx, unsigned level, double scale)
{
    if (!ctx || level > ctx->L) return 0;
    return isfinite(scale) && scale >= 1.0 && log2(scale) < ctx->log2_q_cum[ctx->L];
}

/* 1 if every word of count limbs (extended primes k0, k0+1, ...) at data is below its prime. */
static int limbs_reduced(const beaa_ckks_context *c, const uint64_t *data, unsigned k0,
                         unsigned count)
{
    uint64_t bad = 0;
    for (unsigned j = 0; j < count; j++) {
        const uint64_t q = c->mod[k0 + j].q, *l = data + (size_t)j * c->n;
        for (size_t i = 0; i < c->n; i++) bad |= (uint64_t)(l[i] >= q);
    }
    return !beaa_ct_public(bad); /* secret-key limbs too: only the verdict is public */
}

beaa_status beaa_ckks_plaintext_validate(const beaa_ckks_plaintext *pt)
{
    if (!pt || !pt->ctx || !pt->data) return BEAA_ERR_ARG;
    const beaa_ckks_context *c = pt->ctx;
    if (pt->level > c->L || (pt->ntt_form != 0 && pt->ntt_form != 1) ||
        !beaa_ckks_scale_in_range(c, pt->level, pt->scale) ||
        !limbs_reduced(c, pt->data, 0, pt->level + 1))
        return BEAA_ERR_CORRUPT;
    return BEAA_OK;
}

beaa_status beaa_ckks_ciphertext_validate(const beaa_ckks_ciphertext *ct)
{
    if (!ct || !ct->ctx || !ct->data) return BEAA_ERR_ARG;
    const beaa_ckks_context *c = ct->ctx;
    if ((ct->size != 2 && ct->size != 3) || ct->level > c->L ||
        (ct->ntt_form != 0 && ct->ntt_form != 1) ||
        !beaa_ckks_scale_in_range(c, ct->level, ct->scale))
        return BEAA_ERR_CORRUPT;
    for (unsigned k = 0; k < ct->size; k++)
        if (!limbs_reduced(c, beaa_ckks_ct_limb(ct, k, 0), 0, ct->level + 1)) return BEAA_ERR_CORRUPT;
    return BEAA_OK;
}

beaa_status beaa_ckks_secret_key_validate(const beaa_ckks_secret_key *sk)
{
    if (!sk || !sk->ctx || !sk->coeffs || !sk->data) return BEAA_ERR_ARG;
    const beaa_ckks_context *c = sk->ctx;
    /* no branch on a coefficient: one validity bit at the end */
    unsigned bad = 0;
    size_t weight = 0;
    for (size_t i = 0; i < c->n; i++) {
        unsigned v = (unsigned)(uint8_t)(sk->coeffs[i] + 1); /* 0, 1, 2 when valid */
        bad |= v > 2;
        weight += (size_t)(v != 1);
    }
    if (c->spec.secret == BEAA_CKKS_SECRET_SPARSE) bad |= weight != c->spec.hamming_weight;
    if (beaa_ct_public(bad) || !limbs_reduced(c, sk->data, 0, c->n_ext)) return BEAA_ERR_CORRUPT;
    return BEAA_OK;
}

beaa_status beaa_ckks_public_key_validate(const beaa_ckks_public_key *pk)
{
    if (!pk || !pk->ctx || !pk->data) return BEAA_ERR_ARG;
    const beaa_ckks_context *c = pk->ctx;
    if (!limbs_reduced(c, pk->data, 0, c->L + 1) ||
        !limbs_reduced(c, pk->data + (size_t)(c->L + 1) * c->n, 0, c->L + 1))
        return BEAA_ERR_CORRUPT;
    return BEAA_OK;
}

beaa_status beaa_ckks_switch_key_validate(const beaa_ckks_switch_key *key)
{
    if (!key || !key->ctx || !key->data) return BEAA_ERR_ARG;
    const beaa_ckks_context *c = key->ctx;
    if (key->dnum != c->dnum || key->n_limbs != c->n_ext ||
        key->row_bytes != beaa_ckks_serial_limbs_bytes(c, 0, c->n_ext))
        return BEAA_ERR_CORRUPT;
    uint64_t *tmp = beaa_alloc(c->n * sizeof *tmp);
    if (!tmp) return BEAA_ERR_NOMEM;
    int bad = 0;
    for (unsigned j = 0; j < key->dnum && !bad; j++)
        for (unsigned p = 0; p < 2 && !bad; p++)
            for (unsigned k = 0; k < key->n_limbs && !bad; k++)
                bad = beaa_ckks_switch_key_get(key, j, p, k, tmp);
    beaa_free(tmp);
    return bad ? BEAA_ERR_CORRUPT : BEAA_OK;
}

beaa_status beaa_ckks_relin_key_validate(const beaa_ckks_relin_key *rk)
{
    if (!rk) return BEAA_ERR_ARG;
    return beaa_ckks_switch_key_validate(&rk->key);
}

beaa_status beaa_ckks_galois_keys_validate(const beaa_ckks_galois_keys *gk)
{
    if (!gk || !gk->ctx || (gk->count && (!gk->elts || !gk->keys))) return BEAA_ERR_ARG;
    const beaa_ckks_context *c = gk->ctx;
    if (gk->count > c->n) return BEAA_ERR_CORRUPT;
    for (size_t i = 0; i < gk->count; i++) {
        uint64_t g = gk->elts[i];
        if ((g & 1) == 0 || g >= 2 * (uint64_t)c->n || (i && g <= gk->elts[i - 1]))
            return BEAA_ERR_CORRUPT;
        if (gk->keys[i].ctx != c) return BEAA_ERR_CORRUPT;
        beaa_status st = beaa_ckks_switch_key_validate(&gk->keys[i]);
        if (st != BEAA_OK) return st;
    }
    return BEAA_OK;
}
