/* cw_forward.c - the channel-wise encrypted pass of one image (server) and its client side:
 * per stage, hoisted rotations of every input channel by the tap offsets, masks, integer-weight
 * accumulation over (ci, tap), one rescale, bias, activation x*(a*x+b), sum-pool by rotations. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "nn/cw_internal.h"
#include "nn/clock_internal.h"

static void free_cts(beaa_ckks_ciphertext **c, size_t n)
{
    if (!c) return;
    for (size_t i = 0; i < n; i++) { beaa_ckks_ciphertext_free(c[i]); c[i] = NULL; }
}

beaa_status beaa_nn_cw_encrypt(const beaa_nn_cw_net *cw, const beaa_ckks_secret_key *sk,
                               const double *x, beaa_ckks_ciphertext **out)
{
    if (!cw || !sk || !x || !out) return BEAA_ERR_ARG;
    for (uint32_t c = 0; c < cw->in_c; c++) out[c] = NULL;
    if (!cw->ctx) return BEAA_ERR_ARG;
    if (sk->ctx != cw->ctx) return BEAA_ERR_PARAMS_MISMATCH;
    beaa_ckks_plaintext *pt = NULL;
    beaa_status st = beaa_ckks_plaintext_new(cw->ctx, cw->levels, &pt);
    for (uint32_t c = 0; c < cw->in_c && st == BEAA_OK; c++) {
        /* channel c: slot h*W + w = pixel (c,h,w), the other slots zero */
        st = beaa_ckks_encode_real(cw->ctx, x + (size_t)c * cw->span, cw->span, cw->scale,
                                   cw->levels, pt);
        if (st == BEAA_OK) st = beaa_ckks_ciphertext_new(cw->ctx, 2, cw->levels, &out[c]);
        if (st == BEAA_OK) st = beaa_ckks_encrypt_sk(sk, pt, out[c]);
    }
    beaa_ckks_plaintext_free(pt);
    if (st != BEAA_OK) free_cts(out, cw->in_c);
    return st;
}

beaa_status beaa_nn_cw_decrypt(const beaa_ckks_secret_key *sk, beaa_ckks_ciphertext *const *logits,
                               size_t nc, double *out)
{
    if (!sk || !logits || !out || nc == 0) return BEAA_ERR_ARG;
    beaa_ckks_plaintext *pt = NULL;
    beaa_status st = beaa_ckks_plaintext_new(sk->ctx, 0, &pt);
    for (size_t k = 0; k < nc && st == BEAA_OK; k++) {
        if (!logits[k]) { st = BEAA_ERR_ARG; break; }
        st = beaa_ckks_decrypt(sk, logits[k], pt);
        if (st == BEAA_OK) st = beaa_ckks_decode_real(pt, &out[k], 1);
    }
    beaa_ckks_plaintext_free(pt);
    return st;
}

/* acc += w * r on every limb of both polynomials (w a signed integer; r in [0,q), acc lazy:
 * each term adds < 2q, the caller reduces before 2^63 could be reached). */
static void mac_int(beaa_ckks_ciphertext *acc, const beaa_ckks_ciphertext *r, int64_t w)
{
    const size_t n = beaa_ckks_context_n(acc->ctx);
    for (unsigned i = 0; i <= acc->level; i++) {
        const beaa_modulus *m = beaa_ckks_context_q(acc->ctx, i);
        uint64_t q = m->q;
        uint64_t wm = w >= 0 ? (uint64_t)w % q : (q - (uint64_t)(-w) % q) % q;
        uint64_t ws = beaa_shoup(wm, q);
        for (unsigned k = 0; k < 2; k++) {
            uint64_t *a = beaa_ckks_ct_limb(acc, k, i);
            const uint64_t *b = beaa_ckks_ct_limb(r, k, i);
            for (size_t j = 0; j < n; j++) a[j] += beaa_mul_shoup_lazy(b[j], wm, ws, q);
        }
    }
}

static void reduce_acc(beaa_ckks_ciphertext *acc)
{
    const size_t n = beaa_ckks_context_n(acc->ctx);
    for (unsigned i = 0; i <= acc->level; i++) {
        const beaa_modulus *m = beaa_ckks_context_q(acc->ctx, i);
        for (unsigned k = 0; k < 2; k++) {
            uint64_t *a = beaa_ckks_ct_limb(acc, k, i);
            for (size_t j = 0; j < n; j++) a[j] = beaa_reduce64(a[j], m);
        }
    }
}

/* z += sum_{j=1..cnt-1} rot(z, j*step), by hoisted rotations (one decomposition). */
static beaa_status rot_sum(beaa_ckks_ciphertext *z, uint32_t cnt, size_t step,
                           const beaa_ckks_galois_keys *gk, beaa_ckks_ciphertext **tmp, int *steps,
                           size_t *nrot)
{
    if (cnt <= 1) return BEAA_OK;
    beaa_status st = BEAA_OK;
    for (uint32_t j = 1; j < cnt && st == BEAA_OK; j++) {
        steps[j - 1] = (int)(j * step);
        if (!tmp[j - 1]) st = beaa_ckks_ciphertext_new(z->ctx, 2, z->level, &tmp[j - 1]);
    }
    if (st == BEAA_OK) st = beaa_ckks_rotate_hoisted(z, steps, cnt - 1, gk, tmp);
    for (uint32_t j = 1; j < cnt && st == BEAA_OK; j++) st = beaa_ckks_add(z, tmp[j - 1], z);
    *nrot += cnt - 1;
    return st;
}

/* One stage: in[cin] (taken) -> out[cout] (pooled). */
static beaa_status stage_run(const beaa_nn_cw_net *cw, uint32_t si, const beaa_ckks_relin_key *rk,
                             const beaa_ckks_galois_keys *gk, beaa_ckks_ciphertext **in,
                             beaa_ckks_ciphertext **out, beaa_nn_cw_stats *stt)
{
    const beaa_nn_cw_stage *s = &cw->st[si];
    const beaa_ckks_context *ctx = cw->ctx;
    const unsigned l = cw->levels - 2 * si;
    const double D = cw->scale;
    const double qa = (double)beaa_ckks_context_q(ctx, l - 1)->q;
    const uint32_t nt = s->ntaps;
    beaa_status st = BEAA_OK;
    beaa_ckks_ciphertext **rot = calloc(nt ? nt : 1, sizeof *rot);
    beaa_ckks_ciphertext **acc = calloc(s->cout, sizeof *acc);
    uint32_t pmax = s->pool_kh > s->pool_kw ? s->pool_kh : s->pool_kw;
    beaa_ckks_ciphertext **tmp = calloc(pmax + 1, sizeof *tmp);
    int *steps = malloc(sizeof(int) * (pmax + 1));
    uint32_t *nterm = calloc(s->cout, sizeof(uint32_t));
    if (!rot || !acc || !tmp || !steps || !nterm) { st = BEAA_ERR_NOMEM; goto done; }
    for (uint32_t t = 0; t < nt && st == BEAA_OK; t++)
        st = beaa_ckks_ciphertext_new(ctx, 2, l, &rot[t]);
    for (uint32_t c = 0; c < s->cout && st == BEAA_OK; c++)
        st = beaa_ckks_ciphertext_new(ctx, 2, l, &acc[c]); /* zero */
    if (st != BEAA_OK) goto done;
    /* the largest q decides how many lazy terms fit below 2^63 */
    uint64_t qmax = 0;
    for (unsigned i = 0; i <= l; i++)
        if (beaa_ckks_context_q(ctx, i)->q > qmax) qmax = beaa_ckks_context_q(ctx, i)->q;
    const uint32_t lazy_max = (uint32_t)(((uint64_t)1 << 62) / (2 * qmax) - 1);
    double rot_scale = 0;
    for (uint32_t ci = 0; ci < s->cin && st == BEAA_OK; ci++) {
        if (!in[ci] || in[ci]->ctx != ctx) { st = in[ci] ? BEAA_ERR_PARAMS_MISMATCH : BEAA_ERR_ARG; break; }
        double t0 = beaa_nn_now_s();
        st = beaa_ckks_rotate_hoisted(in[ci], s->off, nt, gk, rot);
        for (uint32_t t = 0; t < nt; t++) stt->rotations += s->off[t] != 0;
        beaa_ckks_ciphertext_free(in[ci]);
        in[ci] = NULL;
        double t1 = beaa_nn_now_s();
        for (uint32_t t = 0; t < nt && st == BEAA_OK; t++)
            st = beaa_ckks_mul_plain(rot[t], s->pmask[t], rot[t]);
        if (st != BEAA_OK) break;
        rot_scale = rot[0]->scale;
        double t2 = beaa_nn_now_s();
        /* acc[co] += w[co,ci,t] * rot[t]: plain integer MACs, parallel over output channels */
#pragma omp parallel for schedule(dynamic, 1)
        for (uint32_t co = 0; co < s->cout; co++) {
            for (uint32_t t = 0; t < nt; t++) {
                int64_t w = s->wint[((size_t)co * s->cin + ci) * nt + t];
                if (!w) continue;
                if (nterm[co] >= lazy_max) { reduce_acc(acc[co]); nterm[co] = 0; }
                mac_int(acc[co], rot[t], w);
                nterm[co]++;
            }
        }
        double t3 = beaa_nn_now_s();
        stt->rotate_s += t1 - t0;
        stt->mask_s += t2 - t1;
        stt->accumulate_s += t3 - t2;
    }
    if (st != BEAA_OK) goto done;
    free_cts(rot, nt);
    for (uint32_t co = 0; co < s->cout && st == BEAA_OK; co++) {
        double t0 = beaa_nn_now_s();
        beaa_ckks_ciphertext *x = acc[co];
        reduce_acc(x);
        x->scale = rot_scale * ldexp(1.0, (int)cw->wb); /* = D * q_l */
        st = beaa_ckks_rescale(x, x);                   /* scale D, level l-1 */
        if (st == BEAA_OK) st = beaa_ckks_add_plain(x, s->pbias[co], x);
        /* u = a*x + b at scale q_{l-1}; z = x*u rescaled by q_{l-1}: scale D, level l-2 */
        beaa_ckks_ciphertext *u = NULL;
        if (st == BEAA_OK) st = beaa_ckks_ciphertext_new(ctx, 2, l - 1, &u);
        if (st == BEAA_OK) {
            if (s->act_const[co]) {
                st = beaa_ckks_mul_const(x, s->ca[co], qa / D, u);
                if (st == BEAA_OK) st = beaa_ckks_add_const(u, s->cb[co], u);
            } else {
                st = beaa_ckks_mul_plain(x, s->pa[co], u);
                if (st == BEAA_OK) st = beaa_ckks_add_plain(u, s->pb[co], u);
            }
        }
        if (st == BEAA_OK) st = beaa_ckks_mul_relin_rescale(x, u, rk, x);
        beaa_ckks_ciphertext_free(u);
        stt->products++;
        double t1 = beaa_nn_now_s();
        stt->act_s += t1 - t0;
        if (st == BEAA_OK && s->pool_kh) {
            /* sum-pool: along w (steps j*SW), then along h (steps i*SH) */
            st = rot_sum(x, s->pool_kw, s->out_sw, gk, tmp, steps, &stt->rotations);
            if (st == BEAA_OK) st = rot_sum(x, s->pool_kh, s->out_sh, gk, tmp, steps, &stt->rotations);
        }
        stt->pool_s += beaa_nn_now_s() - t1;
        out[co] = x;
        acc[co] = NULL;
    }
done:
    if (rot) free_cts(rot, nt);
    if (acc) free_cts(acc, s->cout);
    if (tmp) free_cts(tmp, pmax + 1);
    free(rot); free(acc); free(tmp); free(steps); free(nterm);
    for (uint32_t ci = 0; ci < s->cin; ci++) { beaa_ckks_ciphertext_free(in[ci]); in[ci] = NULL; }
    return st;
}

beaa_status beaa_nn_cw_forward(const beaa_nn_cw_net *cw, const beaa_ckks_relin_key *rk,
                               const beaa_ckks_galois_keys *gk, beaa_ckks_ciphertext **in,
                               beaa_ckks_ciphertext **logits, beaa_nn_cw_stats *stats)
{
    beaa_nn_cw_stats loc;
    beaa_nn_cw_stats *stt = stats ? stats : &loc;
    memset(stt, 0, sizeof *stt);
    if (!cw || !in) return BEAA_ERR_ARG;
    beaa_status st = BEAA_OK;
    beaa_ckks_ciphertext **cur = NULL, **nxt = NULL;
    uint32_t ncur = cw->in_c;
    if (!logits || !cw->ctx) { st = BEAA_ERR_ARG; goto fail_in; }
    for (uint32_t k = 0; k < cw->num_classes; k++) logits[k] = NULL;
    if (!rk) { st = BEAA_ERR_NO_KEY; goto fail_in; }
    if (rk->key.ctx != cw->ctx || (gk && gk->ctx != cw->ctx)) { st = BEAA_ERR_PARAMS_MISMATCH; goto fail_in; }
    for (uint32_t c = 0; c < cw->in_c; c++) {
        if (!in[c]) { st = BEAA_ERR_ARG; goto fail_in; }
        if (in[c]->ctx != cw->ctx) { st = BEAA_ERR_PARAMS_MISMATCH; goto fail_in; }
        if (in[c]->size != 2) { st = BEAA_ERR_SIZE; goto fail_in; }
        if (in[c]->level != cw->levels) { st = BEAA_ERR_LEVEL_MISMATCH; goto fail_in; }
        if (fabs(in[c]->scale - cw->scale) > 1e-9 * cw->scale) { st = BEAA_ERR_SCALE_MISMATCH; goto fail_in; }
    }
    /* every rotation key must be there before any work */
    for (size_t i = 0; i < cw->nsteps; i++)
        if (!beaa_ckks_galois_keys_find(gk, beaa_ckks_galois_elt(cw->ctx, cw->steps[i]))) {
            st = BEAA_ERR_NO_KEY;
            goto fail_in;
        }
    double t0 = beaa_nn_now_s();
    stt->nstages = cw->nstages;
    cur = calloc(ncur, sizeof *cur);
    if (!cur) { st = BEAA_ERR_NOMEM; goto fail_in; }
    for (uint32_t c = 0; c < ncur; c++) { cur[c] = in[c]; in[c] = NULL; }
    for (uint32_t si = 0; si < cw->nstages && st == BEAA_OK; si++) {
        const beaa_nn_cw_stage *s = &cw->st[si];
        if (s->cin != ncur) { st = BEAA_ERR_INTERNAL; break; }
        nxt = calloc(s->cout, sizeof *nxt);
        if (!nxt) { st = BEAA_ERR_NOMEM; break; }
        st = stage_run(cw, si, rk, gk, cur, nxt, stt);
        free(cur);
        cur = nxt;
        nxt = NULL;
        ncur = s->cout;
    }
    /* final affine: logits = out_sc * raw + out_tt (the scale absorbs |out_sc|) */
    for (uint32_t k = 0; k < cw->num_classes && st == BEAA_OK; k++) {
        double sc = cw->out_sc[k];
        if (!(fabs(sc) > 0)) { st = BEAA_ERR_MODEL; break; }
        if (sc < 0) st = beaa_ckks_negate(cur[k], cur[k]);
        cur[k]->scale /= fabs(sc);
        if (st == BEAA_OK) st = beaa_ckks_add_const(cur[k], cw->out_tt[k], cur[k]);
    }
    if (st == BEAA_OK) {
        for (uint32_t k = 0; k < cw->num_classes; k++) { logits[k] = cur[k]; cur[k] = NULL; }
    }
    if (cur) free_cts(cur, ncur);
    free(cur);
    stt->total_s = beaa_nn_now_s() - t0;
    return st;
fail_in:
    for (uint32_t c = 0; c < cw->in_c; c++) { beaa_ckks_ciphertext_free(in[c]); in[c] = NULL; }
    return st;
}
