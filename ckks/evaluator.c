/* evaluator.c - homomorphic operations on CKKS ciphertexts: additions, products with
 * ciphertexts, plaintexts and constants, relinearization, rescale, level drop, rotations and
 * conjugation (single and hoisted). Metadata is validated once here; limb loops go through the
 * kernel table, parallel across RNS limbs (each limb computed independently: thread-count
 * independent results). */
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdlib.h>
#include <string.h>
#include "lib/mem.h"
#include "ckks/context_internal.h"
#include "ckks/encoder.h"
#include "ckks/evaluator.h"
#include "ckks/keyswitch.h"
#include "ckks/scratch.h"

#define SCALE_REL_TOL 0x1p-40

/* ---- validation ---- */

static beaa_status check_ct(const beaa_ckks_ciphertext *a)
{
    if (!a || !a->ctx || !a->data) return BEAA_ERR_ARG;
    if (a->size != 2 && a->size != 3) return BEAA_ERR_SIZE;
    if (a->level > a->ctx->L) return BEAA_ERR_LEVEL_EXHAUSTED;
    if (!a->ntt_form) return BEAA_ERR_ARG;
    return BEAA_OK;
}

int beaa_ckks_scales_equal(double x, double y)
{
    return fabs(x - y) <= SCALE_REL_TOL * fabs(x);
}

static beaa_status check_pair(const beaa_ckks_ciphertext *a, const beaa_ckks_ciphertext *b, int need_scale)
{
    beaa_status st = check_ct(a);
    if (st == BEAA_OK) st = check_ct(b);
    if (st != BEAA_OK) return st;
    if (a->ctx != b->ctx) return BEAA_ERR_PARAMS_MISMATCH;
    if (a->level != b->level) return BEAA_ERR_LEVEL_MISMATCH;
    if (need_scale && !beaa_ckks_scales_equal(a->scale, b->scale)) return BEAA_ERR_SCALE_MISMATCH;
    return BEAA_OK;
}

static beaa_status check_pt(const beaa_ckks_ciphertext *a, const beaa_ckks_plaintext *pt, int need_scale)
{
    beaa_status st = check_ct(a);
    if (st != BEAA_OK) return st;
    if (!pt || !pt->data || !pt->ntt_form) return BEAA_ERR_ARG;
    if (pt->ctx != a->ctx) return BEAA_ERR_PARAMS_MISMATCH;
    if (pt->level < a->level) return BEAA_ERR_LEVEL_MISMATCH;
    if (need_scale && !beaa_ckks_scales_equal(a->scale, pt->scale)) return BEAA_ERR_SCALE_MISMATCH;
    return BEAA_OK;
}

beaa_status beaa_ckks_product_scale_check(const beaa_ckks_context *c, unsigned level, double s)
{
    if (!(s >= 1.0) || !isfinite(s) || log2(s) >= c->log2_q_cum[level] - 1.0) return BEAA_ERR_SCALE_RANGE;
    return BEAA_OK;
}

/* ---- output handling: `out` may alias an input; when the result's layout differs from the
 * input it aliases, the result is built in a fresh buffer and moved in at the end ---- */

typedef struct outbuf {
    beaa_ckks_ciphertext *out;
    beaa_ckks_ciphertext tmp;
    beaa_ckks_ciphertext *r; /* where to write */
} outbuf;

static beaa_status out_begin(outbuf *ob, beaa_ckks_ciphertext *out, const beaa_ckks_ciphertext *a,
                             const beaa_ckks_ciphertext *b, unsigned size, unsigned level, int inplace_ok)
{
    if (!out) return BEAA_ERR_ARG;
    ob->out = out;
    int alias = (out == a) || (b && out == b);
    if (alias && !inplace_ok) {
        memset(&ob->tmp, 0, sizeof ob->tmp);
        ob->tmp.ctx = a->ctx;
        ob->r = &ob->tmp;
    } else {
        out->ctx = a->ctx;
        ob->r = out;
    }
    return beaa_ckks_ciphertext_resize(ob->r, size, level);
}

static void out_end(outbuf *ob, beaa_status st, double scale)
{
    if (ob->r == &ob->tmp) {
        if (st == BEAA_OK) {
            beaa_ckks_data_free(ob->out->data, ob->out->capacity, 0);
            ob->out->data = ob->tmp.data;
            ob->out->capacity = ob->tmp.capacity;
            ob->out->size = ob->tmp.size;
            ob->out->level = ob->tmp.level;
            ob->out->ctx = ob->tmp.ctx;
        } else {
            beaa_ckks_data_free(ob->tmp.data, ob->tmp.capacity, 0);
        }
    }
    if (st == BEAA_OK) {
        ob->out->scale = scale;
        ob->out->ntt_form = 1;
        ob->out->has_seed = 0;
    }
}

/* ---- additions ---- */

static beaa_status add_sub(const beaa_ckks_ciphertext *a, const beaa_ckks_ciphertext *b,
                           beaa_ckks_ciphertext *out, int sub)
{
    beaa_status st = check_pair(a, b, 1);
    if (st != BEAA_OK) return st;
    const beaa_ckks_context *c = a->ctx;
    unsigned size = a->size > b->size ? a->size : b->size, l = a->level;
    outbuf ob;
    /* same level: limb offsets do not depend on size, so aliasing is fine unless it must grow */
    unsigned alias_size = out == a ? a->size : out == b ? b->size : size;
    st = out_begin(&ob, out, a, b, size, l, alias_size == size);
    if (st != BEAA_OK) return st;
    const double scale = a->scale;
    const size_t n = c->n;
    const int total = (int)(size * (l + 1));
#pragma omp parallel for schedule(static) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    for (int w = 0; w < total; w++) {
        unsigned k = (unsigned)w / (l + 1), i = (unsigned)w % (l + 1);
        uint64_t q = c->mod[i].q, *r = beaa_ckks_ct_limb(ob.r, k, i);
        const uint64_t *x = k < a->size ? beaa_ckks_ct_limb(a, k, i) : NULL;
        const uint64_t *y = k < b->size ? beaa_ckks_ct_limb(b, k, i) : NULL;
        if (x && y) {
            if (sub) c->kern->sub_mod(r, x, y, n, q); else c->kern->add_mod(r, x, y, n, q);
        } else if (x) {
            if (r != x) memcpy(r, x, n * sizeof *r);
        } else {
            if (sub) c->kern->neg_mod(r, y, n, q); else if (r != y) memcpy(r, y, n * sizeof *r);
        }
    }
    out_end(&ob, BEAA_OK, scale);
    return BEAA_OK;
}

beaa_status beaa_ckks_add(const beaa_ckks_ciphertext *a, const beaa_ckks_ciphertext *b,
                          beaa_ckks_ciphertext *out)
{
    return add_sub(a, b, out, 0);
}

beaa_status beaa_ckks_sub(const beaa_ckks_ciphertext *a, const beaa_ckks_ciphertext *b,
                          beaa_ckks_ciphertext *out)
{
    return add_sub(a, b, out, 1);
}

beaa_status beaa_ckks_negate(const beaa_ckks_ciphertext *a, beaa_ckks_ciphertext *out)
{
    beaa_status st = check_ct(a);
    if (st != BEAA_OK) return st;
    const beaa_ckks_context *c = a->ctx;
    unsigned l = a->level;
    const double scale = a->scale;
    outbuf ob;
    st = out_begin(&ob, out, a, NULL, a->size, l, 1);
    if (st != BEAA_OK) return st;
    const int total = (int)(a->size * (l + 1));
#pragma omp parallel for schedule(static) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    for (int w = 0; w < total; w++) {
        unsigned k = (unsigned)w / (l + 1), i = (unsigned)w % (l + 1);
        c->kern->neg_mod(beaa_ckks_ct_limb(ob.r, k, i), beaa_ckks_ct_limb(a, k, i), c->n, c->mod[i].q);
    }
    out_end(&ob, BEAA_OK, scale);
    return BEAA_OK;
}

static beaa_status plain_add_sub(const beaa_ckks_ciphertext *a, const beaa_ckks_plaintext *pt,
                                 beaa_ckks_ciphertext *out, int sub)
{
    beaa_status st = check_pt(a, pt, 1);
    if (st != BEAA_OK) return st;
    if (out != a) {
        st = beaa_ckks_ciphertext_copy(out, a);
        if (st != BEAA_OK) return st;
    }
    const beaa_ckks_context *c = a->ctx;
    const size_t n = c->n;
#pragma omp parallel for schedule(static) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    for (int i = 0; i <= (int)out->level; i++) {
        uint64_t q = c->mod[i].q, *r = beaa_ckks_ct_limb(out, 0, (unsigned)i);
        const uint64_t *p = pt->data + (size_t)i * n;
        if (sub) c->kern->sub_mod(r, r, p, n, q); else c->kern->add_mod(r, r, p, n, q);
    }
    out->has_seed = 0;
    return BEAA_OK;
}

beaa_status beaa_ckks_add_plain(const beaa_ckks_ciphertext *a, const beaa_ckks_plaintext *pt,
                                beaa_ckks_ciphertext *out)
{
    return plain_add_sub(a, pt, out, 0);
}

beaa_status beaa_ckks_sub_plain(const beaa_ckks_ciphertext *a, const beaa_ckks_plaintext *pt,
                                beaa_ckks_ciphertext *out)
{
    return plain_add_sub(a, pt, out, 1);
}

beaa_status beaa_ckks_add_const(const beaa_ckks_ciphertext *a, double v, beaa_ckks_ciphertext *out)
{
    beaa_status st = check_ct(a);
    if (st != BEAA_OK) return st;
    if (!out) return BEAA_ERR_ARG;
    if (!isfinite(v) || fabs(v * a->scale) >= 0x1p62) return BEAA_ERR_VALUE;
    const beaa_ckks_context *c = a->ctx;
    uint64_t cst[BEAA_CKKS_MAX_PRIMES];
    st = beaa_encoder_const_encode(v, a->scale, c->mod, a->level + 1, cst);
    if (st != BEAA_OK) return st;
    if (out != a) {
        st = beaa_ckks_ciphertext_copy(out, a);
        if (st != BEAA_OK) return st;
    }
    const size_t n = c->n;
    /* a constant polynomial is the same value in every NTT slot */
#pragma omp parallel for schedule(static) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    for (int i = 0; i <= (int)out->level; i++) {
        uint64_t q = c->mod[i].q, w = cst[i], *r = beaa_ckks_ct_limb(out, 0, (unsigned)i);
        for (size_t k = 0; k < n; k++) r[k] = beaa_add_mod(r[k], w, q);
    }
    out->has_seed = 0;
    return BEAA_OK;
}

/* ---- products with plaintexts and constants ---- */

beaa_status beaa_ckks_mul_plain(const beaa_ckks_ciphertext *a, const beaa_ckks_plaintext *pt,
                                beaa_ckks_ciphertext *out)
{
    beaa_status st = check_pt(a, pt, 0);
    if (st != BEAA_OK) return st;
    const beaa_ckks_context *c = a->ctx;
    const double scale = a->scale * pt->scale;
    st = beaa_ckks_product_scale_check(c, a->level, scale);
    if (st != BEAA_OK) return st;
    unsigned l = a->level;
    outbuf ob;
    st = out_begin(&ob, out, a, NULL, a->size, l, 1);
    if (st != BEAA_OK) return st;
    const int total = (int)(a->size * (l + 1));
#pragma omp parallel for schedule(static) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    for (int w = 0; w < total; w++) {
        unsigned k = (unsigned)w / (l + 1), i = (unsigned)w % (l + 1);
        c->kern->mul_mod(beaa_ckks_ct_limb(ob.r, k, i), beaa_ckks_ct_limb(a, k, i),
                         pt->data + (size_t)i * c->n, c->n, &c->mod[i]);
    }
    out_end(&ob, BEAA_OK, scale);
    return BEAA_OK;
}

/* out = a * (per-limb constant cst[i]) with the given output scale */
static beaa_status mul_limb_consts(const beaa_ckks_ciphertext *a, const uint64_t *cst, double scale,
                                   beaa_ckks_ciphertext *out)
{
    const beaa_ckks_context *c = a->ctx;
    unsigned l = a->level;
    outbuf ob;
    beaa_status st = out_begin(&ob, out, a, NULL, a->size, l, 1);
    if (st != BEAA_OK) return st;
    const int total = (int)(a->size * (l + 1));
#pragma omp parallel for schedule(static) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    for (int w = 0; w < total; w++) {
        unsigned k = (unsigned)w / (l + 1), i = (unsigned)w % (l + 1);
        uint64_t q = c->mod[i].q;
        c->kern->mul_const(beaa_ckks_ct_limb(ob.r, k, i), beaa_ckks_ct_limb(a, k, i), c->n, cst[i],
                           beaa_shoup(cst[i], q), q);
    }
    out_end(&ob, BEAA_OK, scale);
    return BEAA_OK;
}

beaa_status beaa_ckks_mul_const(const beaa_ckks_ciphertext *a, double v, double c_scale,
                                beaa_ckks_ciphertext *out)
{
    beaa_status st = check_ct(a);
    if (st != BEAA_OK) return st;
    if (!out) return BEAA_ERR_ARG;
    if (!isfinite(v) || !isfinite(c_scale)) return BEAA_ERR_VALUE;
    if (!(c_scale >= 1.0)) return BEAA_ERR_SCALE_RANGE;
    if (fabs(v * c_scale) >= 0x1p62) return BEAA_ERR_VALUE;
    const double scale = a->scale * c_scale;
    st = beaa_ckks_product_scale_check(a->ctx, a->level, scale);
    if (st != BEAA_OK) return st;
    uint64_t cst[BEAA_CKKS_MAX_PRIMES];
    st = beaa_encoder_const_encode(v, c_scale, a->ctx->mod, a->level + 1, cst);
    if (st != BEAA_OK) return st;
    return mul_limb_consts(a, cst, scale, out);
}

beaa_status beaa_ckks_mul_int(const beaa_ckks_ciphertext *a, int64_t k, beaa_ckks_ciphertext *out)
{
    beaa_status st = check_ct(a);
    if (st != BEAA_OK) return st;
    if (!out) return BEAA_ERR_ARG;
    uint64_t cst[BEAA_CKKS_MAX_PRIMES];
    st = beaa_encoder_int_encode(k, a->ctx->mod, a->level + 1, cst);
    if (st != BEAA_OK) return st;
    return mul_limb_consts(a, cst, a->scale, out);
}

/* ---- ciphertext products ---- */

beaa_status beaa_ckks_mul(const beaa_ckks_ciphertext *a, const beaa_ckks_ciphertext *b,
                          beaa_ckks_ciphertext *out)
{
    beaa_status st = check_pair(a, b, 0);
    if (st != BEAA_OK) return st;
    if (a->size != 2 || b->size != 2) return BEAA_ERR_SIZE;
    const beaa_ckks_context *c = a->ctx;
    const double scale = a->scale * b->scale;
    st = beaa_ckks_product_scale_check(c, a->level, scale);
    if (st != BEAA_OK) return st;
    unsigned l = a->level;
    outbuf ob;
    st = out_begin(&ob, out, a, b, 3, l, 0);
    if (st != BEAA_OK) return st;
    const size_t n = c->n;
    const int square = (a == b);
#pragma omp parallel for schedule(static) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    for (int i = 0; i <= (int)l; i++) {
        const beaa_modulus *m = &c->mod[i];
        const uint64_t *a0 = beaa_ckks_ct_limb(a, 0, (unsigned)i), *a1 = beaa_ckks_ct_limb(a, 1, (unsigned)i);
        const uint64_t *b0 = beaa_ckks_ct_limb(b, 0, (unsigned)i), *b1 = beaa_ckks_ct_limb(b, 1, (unsigned)i);
        uint64_t *r0 = beaa_ckks_ct_limb(ob.r, 0, (unsigned)i), *r1 = beaa_ckks_ct_limb(ob.r, 1, (unsigned)i),
                 *r2 = beaa_ckks_ct_limb(ob.r, 2, (unsigned)i);
        if (square) {
            c->kern->mul_mod(r0, a0, b0, n, m);
            c->kern->mul_mod(r1, a0, a1, n, m);
            c->kern->add_mod(r1, r1, r1, n, m->q);
            c->kern->mul_mod(r2, a1, b1, n, m);
        } else {
            /* one pass over the four operand limbs (the tensor kernel with w = 1) instead of
             * four (mul_mod, mul_mod, mac_mod, mul_mod): the product is memory-bound */
            c->kern->tensor(r0, r1, r2, a0, a1, b0, b1, n, m, 1, beaa_shoup(1, m->q));
        }
    }
    out_end(&ob, BEAA_OK, scale);
    return BEAA_OK;
}

beaa_status beaa_ckks_square(const beaa_ckks_ciphertext *a, beaa_ckks_ciphertext *out)
{
    return beaa_ckks_mul(a, a, out);
}

beaa_status beaa_ckks_relinearize(const beaa_ckks_ciphertext *a, const beaa_ckks_relin_key *rk,
                                  beaa_ckks_ciphertext *out)
{
    beaa_status st = check_ct(a);
    if (st != BEAA_OK) return st;
    if (!out) return BEAA_ERR_ARG;
    if (!rk || !rk->key.data) return BEAA_ERR_NO_KEY;
    if (rk->key.ctx != a->ctx) return BEAA_ERR_PARAMS_MISMATCH;
    if (a->size == 2) return beaa_ckks_ciphertext_copy(out, a);
    const beaa_ckks_context *c = a->ctx;
    const unsigned l = a->level, ns = l + 1 + c->alpha;
    const size_t n = c->n;
    const double scale = a->scale;
    uint64_t *acc = beaa_ckks_scratch_get(BEAA_SCRATCH_ACC, (size_t)2 * ns * n);
    if (!acc) return BEAA_ERR_NOMEM;
    /* acc_k = P * c_k on the data primes + <decomposition of c_2, key> (one pass); dividing
     * by P with rounding then gives c_k + round(<...>/P) */
    st = beaa_ckks_ks_product(c, beaa_ckks_ct_limb(a, 2, 0), l, &rk->key, acc,
                              acc + (size_t)ns * n, beaa_ckks_ct_limb(a, 0, 0),
                              beaa_ckks_ct_limb(a, 1, 0), 1);
    if (st != BEAA_OK) return st;
    /* a is fully consumed now (c0, c1 are in acc): the mod-down writes straight into out.
     * polys 0 and 1 keep their offsets when size drops from 3 to 2: in place is fine */
    outbuf ob;
    st = out_begin(&ob, out, a, NULL, 2, l, 1);
    if (st != BEAA_OK) return st;
    unsigned drop[BEAA_CKKS_MAX_SPECIAL];
    for (unsigned j = 0; j < c->alpha; j++) drop[j] = c->L + 1 + j;
    uint64_t *xs[2] = {acc, acc + (size_t)ns * n};
    uint64_t *os[2] = {beaa_ckks_ct_limb(ob.r, 0, 0), beaa_ckks_ct_limb(ob.r, 1, 0)};
    st = beaa_ckks_ks_divide2(c, xs, 2, l + 1, drop, c->alpha, os);
    out_end(&ob, st, scale);
    return st;
}

beaa_status beaa_ckks_mul_relin(const beaa_ckks_ciphertext *a, const beaa_ckks_ciphertext *b,
                                const beaa_ckks_relin_key *rk, beaa_ckks_ciphertext *out)
{
    if (!rk || !rk->key.data) return BEAA_ERR_NO_KEY;
    beaa_status st = beaa_ckks_mul(a, b, out);
    if (st != BEAA_OK) return st;
    return beaa_ckks_relinearize(out, rk, out);
}

/* The end of every "relinearize + rescale": acc (2 blocks of l+1+alpha limbs) gets
 * f * (c0, c1) + <decomposition of c2, rk> on the data limbs (f = P with times_p, else 1: c0,
 * c1 may be acc's own blocks, holding P*c0, P*c1 already), which is divided by P*q_l with
 * rounding; the size-2 result at level l-1 goes to out. c0, c1, c2 must not overlap acc except
 * as said; out may be the ciphertext they belong to (it is written last). */
static beaa_status relin_rescale_finish(const beaa_ckks_context *c, unsigned l, const uint64_t *c0,
                                        const uint64_t *c1, int times_p, const uint64_t *c2,
                                        const beaa_ckks_relin_key *rk, uint64_t *acc,
                                        beaa_ckks_ciphertext *out, double scale)
{
    const unsigned ns = l + 1 + c->alpha;
    const size_t n = c->n;
    beaa_status st = beaa_ckks_ks_product(c, c2, l, &rk->key, acc, acc + (size_t)ns * n, c0, c1,
                                          times_p);
    if (st != BEAA_OK) return st;
    unsigned drop[BEAA_CKKS_MAX_SPECIAL + 1];
    drop[0] = l;
    for (unsigned j = 0; j < c->alpha; j++) drop[j + 1] = c->L + 1 + j;
    /* the inputs are consumed: the division writes straight into out (shrinking keeps its
     * buffer, so an out that aliased the input is fine) */
    out->ctx = c;
    st = beaa_ckks_ciphertext_resize(out, 2, l - 1);
    if (st != BEAA_OK) return st;
    uint64_t *xs[2] = {acc, acc + (size_t)ns * n};
    uint64_t *os[2] = {beaa_ckks_ct_limb(out, 0, 0), beaa_ckks_ct_limb(out, 1, 0)};
    st = beaa_ckks_ks_divide2(c, xs, 2, l, drop, c->alpha + 1, os);
    if (st != BEAA_OK) return st;
    out->scale = scale;
    out->ntt_form = 1;
    out->has_seed = 0;
    return BEAA_OK;
}

beaa_status beaa_ckks_relin_rescale(const beaa_ckks_ciphertext *a, const beaa_ckks_relin_key *rk,
                                    beaa_ckks_ciphertext *out)
{
    beaa_status st = check_ct(a);
    if (st != BEAA_OK) return st;
    if (!out) return BEAA_ERR_ARG;
    if (a->size == 2) return beaa_ckks_rescale(a, out);
    if (!rk || !rk->key.data) return BEAA_ERR_NO_KEY;
    if (rk->key.ctx != a->ctx) return BEAA_ERR_PARAMS_MISMATCH;
    const beaa_ckks_context *c = a->ctx;
    const unsigned l = a->level;
    if (l == 0) return BEAA_ERR_LEVEL_EXHAUSTED;
    const double scale = a->scale / (double)c->mod[l].q;
    if (!(scale >= 1.0)) return BEAA_ERR_SCALE_RANGE;
    const unsigned ns = l + 1 + c->alpha;
    const size_t n = c->n;
    uint64_t *acc = beaa_ckks_scratch_get(BEAA_SCRATCH_ACC, (size_t)2 * ns * n);
    if (!acc) return BEAA_ERR_NOMEM;
    /* P * c0, P * c1 join the key-switching sum in the inner product's pass */
    return relin_rescale_finish(c, l, beaa_ckks_ct_limb(a, 0, 0), beaa_ckks_ct_limb(a, 1, 0), 1,
                                beaa_ckks_ct_limb(a, 2, 0), rk, acc, out, scale);
}

beaa_status beaa_ckks_mul_relin_rescale(const beaa_ckks_ciphertext *a, const beaa_ckks_ciphertext *b,
                                        const beaa_ckks_relin_key *rk, beaa_ckks_ciphertext *out)
{
    beaa_status st = check_pair(a, b, 0);
    if (st != BEAA_OK) return st;
    if (!out) return BEAA_ERR_ARG;
    if (a->size != 2 || b->size != 2) return BEAA_ERR_SIZE;
    if (!rk || !rk->key.data) return BEAA_ERR_NO_KEY;
    if (rk->key.ctx != a->ctx) return BEAA_ERR_PARAMS_MISMATCH;
    const beaa_ckks_context *c = a->ctx;
    const unsigned l = a->level;
    if (l == 0) return BEAA_ERR_LEVEL_EXHAUSTED;
    st = beaa_ckks_product_scale_check(c, l, a->scale * b->scale);
    if (st != BEAA_OK) return st;
    const double scale = a->scale * b->scale / (double)c->mod[l].q;
    if (!(scale >= 1.0)) return BEAA_ERR_SCALE_RANGE;
    const unsigned ns = l + 1 + c->alpha;
    const size_t n = c->n, lw = (size_t)(l + 1) * n;
    uint64_t *d2 = beaa_ckks_scratch_get(BEAA_SCRATCH_TENSOR, lw); /* a1*b1, to be key-switched */
    uint64_t *acc = beaa_ckks_scratch_get(BEAA_SCRATCH_ACC, (size_t)2 * ns * n);
    if (!d2 || !acc) return BEAA_ERR_NOMEM;
    /* tensor product: acc_0 = P*a0*b0, acc_1 = P*(a0*b1 + a1*b0) on the data primes (P = 0 on the
     * special primes), d2 = a1*b1 */
#pragma omp parallel for schedule(static) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    for (int i = 0; i <= (int)l; i++) {
        const beaa_modulus *m = &c->mod[i];
        const uint64_t q = m->q, pm = c->p_mod[i], pms = beaa_shoup(pm, q);
        const uint64_t *a0 = beaa_ckks_ct_limb(a, 0, (unsigned)i), *a1 = beaa_ckks_ct_limb(a, 1, (unsigned)i);
        const uint64_t *b0 = beaa_ckks_ct_limb(b, 0, (unsigned)i), *b1 = beaa_ckks_ct_limb(b, 1, (unsigned)i);
        uint64_t *r0 = acc + (size_t)i * n, *r1 = acc + ((size_t)ns + i) * n, *r2 = d2 + (size_t)i * n;
        /* one pass over the operands (a square reads the same limbs twice: cached) */
        c->kern->tensor(r0, r1, r2, a0, a1, b0, b1, n, m, pm, pms);
    }
    return relin_rescale_finish(c, l, acc, acc + (size_t)ns * n, 0, d2, rk, acc, out, scale);
}

/* ---- rescale and level drop ---- */

beaa_status beaa_ckks_rescale(const beaa_ckks_ciphertext *a, beaa_ckks_ciphertext *out)
{
    beaa_status st = check_ct(a);
    if (st != BEAA_OK) return st;
    if (!out) return BEAA_ERR_ARG;
    if (a->level == 0) return BEAA_ERR_LEVEL_EXHAUSTED;
    const beaa_ckks_context *c = a->ctx;
    const unsigned l = a->level, size = a->size;
    const double scale = a->scale / (double)c->mod[l].q;
    if (!(scale >= 1.0)) return BEAA_ERR_SCALE_RANGE;
    const size_t n = c->n;
    const uint64_t ql = c->mod[l].q, half = ql >> 1;
    const int inplace = (out == a);
    int nthreads = 1;
#ifdef _OPENMP
    if (n >= BEAA_CKKS_PAR_MIN_N) nthreads = omp_get_max_threads();
#endif
    uint64_t *last = beaa_ckks_scratch_get(BEAA_SCRATCH_TENSOR, (size_t)size * n);
    uint64_t *scratch = beaa_ckks_scratch_get(BEAA_SCRATCH_ROUND, (size_t)nthreads * n);
    if (!last || !scratch) return BEAA_ERR_NOMEM;
    /* last limb to coefficient form, shifted by floor(q_l/2) so the division rounds */
#pragma omp parallel for schedule(static) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    for (int k = 0; k < (int)size; k++) {
        uint64_t *t = last + (size_t)k * n;
        c->kern->ntt_inv_scaled(c->ntt[l], t, beaa_ckks_ct_limb(a, (unsigned)k, l), 1, half);
    }
    if (!inplace) {
        out->ctx = c;
        st = beaa_ckks_ciphertext_resize(out, size, l - 1);
        if (st != BEAA_OK) return st;
    }
    /* r(k,i) = (a(k,i) - NTT_i((t_k mod q_i) - half)) * q_l^{-1}; in place this writes limb (k,i)
     * at its old position and the limbs are compacted afterwards */
#pragma omp parallel for schedule(static) num_threads(nthreads) if (c->n >= BEAA_CKKS_PAR_MIN_N)
    for (int w = 0; w < (int)(size * l); w++) {
        unsigned k = (unsigned)w / l, i = (unsigned)w % l;
        const beaa_modulus *m = &c->mod[i];
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        uint64_t *b = scratch + (size_t)tid * n;
        const uint64_t *t = last + (size_t)k * n;
        const uint64_t q = m->q, h = half % q;
        if (ql < 2 * q) { /* t < q_l < 2q: one conditional subtraction reduces it */
            for (size_t j = 0; j < n; j++) b[j] = beaa_sub_mod(t[j] >= q ? t[j] - q : t[j], h, q);
        } else {
            const uint64_t *x[1] = {t};
            const uint64_t one = 1;
            c->kern->basis_conv(b, x, &one, 1, n, m);
            for (size_t j = 0; j < n; j++) b[j] = beaa_sub_mod(b[j], h, q);
        }
        c->kern->ntt_fwd(c->ntt[i], b);
        size_t idx = (size_t)l * (c->L + 1) + i;
        uint64_t *src = beaa_ckks_ct_limb(a, k, i);
        uint64_t *dst = inplace ? src : beaa_ckks_ct_limb(out, k, i);
        c->kern->sub_mul_const(dst, src, b, n, c->rs_inv[idx], c->rs_inv_shoup[idx], q);
    }
    if (inplace) {
        for (unsigned k = 1; k < size; k++)
            for (unsigned i = 0; i < l; i++)
                memmove(out->data + ((size_t)k * l + i) * n, out->data + ((size_t)k * (l + 1) + i) * n,
                        n * sizeof *out->data);
        out->level = l - 1;
    }
    out->scale = scale;
    out->ntt_form = 1;
    out->has_seed = 0;
    return st;
}

beaa_status beaa_ckks_drop_level(const beaa_ckks_ciphertext *a, unsigned level, beaa_ckks_ciphertext *out)
{
    beaa_status st = check_ct(a);
    if (st != BEAA_OK) return st;
    if (!out) return BEAA_ERR_ARG;
    if (level > a->level) return BEAA_ERR_LEVEL_EXHAUSTED;
    if (level == a->level) return beaa_ckks_ciphertext_copy(out, a);
    const size_t n = a->ctx->n;
    const unsigned old_l = a->level, size = a->size;
    const double scale = a->scale;
    if (out == a) {
        /* move limbs down in increasing order: destinations never overtake sources */
        for (unsigned k = 1; k < size; k++)
            for (unsigned i = 0; i <= level; i++)
                memmove(out->data + ((size_t)k * (level + 1) + i) * n,
                        out->data + ((size_t)k * (old_l + 1) + i) * n, n * sizeof *out->data);
        out->level = level;
        out->has_seed = 0;
        return BEAA_OK;
    }
    out->ctx = a->ctx;
    st = beaa_ckks_ciphertext_resize(out, size, level);
    if (st != BEAA_OK) return st;
    for (unsigned k = 0; k < size; k++)
        memcpy(beaa_ckks_ct_limb(out, k, 0), beaa_ckks_ct_limb(a, k, 0), (size_t)(level + 1) * n * sizeof *out->data);
    out->scale = scale;
    out->ntt_form = 1;
    out->has_seed = 0;
    return BEAA_OK;
}

/* ---- automorphisms ---- */

/* out = (phi(c0 + e0), phi(e1)) where (e0, e1) = moddown(acc) and acc = <decomposition of c1,
 * key> is already computed, the key switching s to phi^-1(s) (keys.h); perm is phi's
 * permutation (NULL = identity). out must not alias a. */
static beaa_status galois_finish(const beaa_ckks_ciphertext *a, const uint32_t *perm, uint64_t *acc,
                                 beaa_ckks_ciphertext *out)
{
    const beaa_ckks_context *c = a->ctx;
    const unsigned l = a->level, ns = l + 1 + c->alpha;
    const size_t n = c->n;
    const double scale = a->scale;
    out->ctx = c;
    beaa_status st = beaa_ckks_ciphertext_resize(out, 2, l);
    if (st != BEAA_OK) return st;
    /* mod-down of both accumulators in one pass; c0 added and phi applied to each limb as it is
     * finished, written straight into out */
    unsigned drop[BEAA_CKKS_MAX_SPECIAL];
    for (unsigned j = 0; j < c->alpha; j++) drop[j] = c->L + 1 + j;
    uint64_t *xs[2] = {acc, acc + (size_t)ns * n};
    uint64_t *os[2] = {beaa_ckks_ct_limb(out, 0, 0), beaa_ckks_ct_limb(out, 1, 0)};
    const uint64_t *adds[2] = {beaa_ckks_ct_limb(a, 0, 0), NULL};
    st = beaa_ckks_ks_divide2_ex(c, xs, 2, l + 1, drop, c->alpha, adds, perm, os);
    if (st != BEAA_OK) return st;
    out->scale = scale;
    out->ntt_form = 1;
    out->has_seed = 0;
    return BEAA_OK;
}

static beaa_status check_key(const beaa_ckks_ciphertext *a, const beaa_ckks_switch_key *k)
{
    if (!k || !k->data) return BEAA_ERR_NO_KEY;
    if (k->ctx != a->ctx || k->dnum != a->ctx->dnum || k->n_limbs != a->ctx->n_ext)
        return BEAA_ERR_PARAMS_MISMATCH;
    return BEAA_OK;
}

beaa_status beaa_ckks_apply_galois(const beaa_ckks_ciphertext *a, uint64_t g,
                                   const beaa_ckks_switch_key *k, beaa_ckks_ciphertext *out)
{
    beaa_status st = check_ct(a);
    if (st != BEAA_OK) return st;
    if (!out) return BEAA_ERR_ARG;
    if (a->size != 2) return BEAA_ERR_SIZE;
    st = check_key(a, k);
    if (st != BEAA_OK) return st;
    const beaa_ckks_context *c = a->ctx;
    if ((g & 1) == 0 || g >= 2 * (uint64_t)c->n) return BEAA_ERR_ARG;
    const unsigned l = a->level, ns = l + 1 + c->alpha;
    const size_t n = c->n;
    uint64_t *acc = beaa_ckks_scratch_get(BEAA_SCRATCH_ACC, (size_t)2 * ns * n);
    uint32_t *perm = g == 1 ? NULL : malloc(n * sizeof *perm);
    beaa_ckks_ciphertext tmp;
    memset(&tmp, 0, sizeof tmp);
    if (!acc || (g != 1 && !perm)) { st = BEAA_ERR_NOMEM; goto done; }
    if (perm) {
        st = beaa_ckks_galois_perm(c, g, perm);
        if (st != BEAA_OK) goto done;
    }
    st = beaa_ckks_ks_product(c, beaa_ckks_ct_limb(a, 1, 0), l, k, acc, acc + (size_t)ns * n, NULL,
                              NULL, 0);
    if (st != BEAA_OK) goto done;
    beaa_ckks_ciphertext *dst = out == a ? &tmp : out;
    st = galois_finish(a, perm, acc, dst);
    if (st == BEAA_OK && dst == &tmp) {
        beaa_ckks_data_free(out->data, out->capacity, 0);
        *out = tmp;
        tmp.data = NULL;
    }
done:
    beaa_ckks_data_free(tmp.data, tmp.capacity, 0);
    free(perm);
    return st;
}

beaa_status beaa_ckks_rotate(const beaa_ckks_ciphertext *a, int step, const beaa_ckks_galois_keys *gk,
                             beaa_ckks_ciphertext *out)
{
    beaa_status st = check_ct(a);
    if (st != BEAA_OK) return st;
    if (!out) return BEAA_ERR_ARG;
    if (a->size != 2) return BEAA_ERR_SIZE;
    uint64_t g = beaa_ckks_galois_elt(a->ctx, step);
    if (g == 1) return beaa_ckks_ciphertext_copy(out, a);
    if (gk && gk->ctx != a->ctx) return BEAA_ERR_PARAMS_MISMATCH;
    return beaa_ckks_apply_galois(a, g, beaa_ckks_galois_keys_find(gk, g), out);
}

beaa_status beaa_ckks_conjugate(const beaa_ckks_ciphertext *a, const beaa_ckks_galois_keys *gk,
                                beaa_ckks_ciphertext *out)
{
    beaa_status st = check_ct(a);
    if (st != BEAA_OK) return st;
    if (gk && gk->ctx != a->ctx) return BEAA_ERR_PARAMS_MISMATCH;
    uint64_t g = beaa_ckks_galois_conj(a->ctx);
    return beaa_ckks_apply_galois(a, g, beaa_ckks_galois_keys_find(gk, g), out);
}

beaa_status beaa_ckks_rotate_hoisted(const beaa_ckks_ciphertext *a, const int *steps, size_t cnt,
                                     const beaa_ckks_galois_keys *gk, beaa_ckks_ciphertext *const *out)
{
    beaa_status st = check_ct(a);
    if (st != BEAA_OK) return st;
    if ((!steps || !out) && cnt) return BEAA_ERR_ARG;
    if (a->size != 2) return BEAA_ERR_SIZE;
    if (gk && gk->ctx != a->ctx) return BEAA_ERR_PARAMS_MISMATCH;
    const beaa_ckks_context *c = a->ctx;
    /* validate everything before doing work */
    for (size_t s = 0; s < cnt; s++) {
        if (!out[s] || out[s] == a) return BEAA_ERR_ARG;
        uint64_t g = beaa_ckks_galois_elt(c, steps[s]);
        if (g != 1) {
            st = check_key(a, beaa_ckks_galois_keys_find(gk, g));
            if (st != BEAA_OK) return st;
        }
    }
    const unsigned l = a->level, ns = l + 1 + c->alpha;
    const size_t n = c->n;
    uint64_t *dec = beaa_alloc(beaa_ckks_ks_decomp_words(c, l) * sizeof *dec);
    uint64_t *acc = beaa_ckks_scratch_get(BEAA_SCRATCH_ACC, (size_t)2 * ns * n);
    uint32_t *perm = malloc(n * sizeof *perm);
    if (!dec || !acc || !perm) { st = BEAA_ERR_NOMEM; goto done; }
    st = beaa_ckks_ks_decompose(c, beaa_ckks_ct_limb(a, 1, 0), l, dec);
    for (size_t s = 0; s < cnt && st == BEAA_OK; s++) {
        uint64_t g = beaa_ckks_galois_elt(c, steps[s]);
        if (g == 1) { st = beaa_ckks_ciphertext_copy(out[s], a); continue; }
        st = beaa_ckks_galois_perm(c, g, perm);
        if (st == BEAA_OK) {
            beaa_ckks_ks_inner(c, dec, l, beaa_ckks_galois_keys_find(gk, g), acc, acc + (size_t)ns * n);
            st = galois_finish(a, perm, acc, out[s]);
        }
    }
done:
    beaa_free(dec);
    free(perm);
    return st;
}

/* ---- allocating variants ---- */

beaa_status beaa_ckks_add_new(const beaa_ckks_ciphertext *a, const beaa_ckks_ciphertext *b,
                              beaa_ckks_ciphertext **out)
{
    if (!out || !a || !a->ctx) return BEAA_ERR_ARG;
    *out = NULL;
    beaa_status st = beaa_ckks_ciphertext_new(a->ctx, 2, 0, out);
    if (st == BEAA_OK) st = beaa_ckks_add(a, b, *out);
    if (st != BEAA_OK) { beaa_ckks_ciphertext_free(*out); *out = NULL; }
    return st;
}

beaa_status beaa_ckks_mul_relin_new(const beaa_ckks_ciphertext *a, const beaa_ckks_ciphertext *b,
                                    const beaa_ckks_relin_key *rk, beaa_ckks_ciphertext **out)
{
    if (!out || !a || !a->ctx) return BEAA_ERR_ARG;
    *out = NULL;
    beaa_status st = beaa_ckks_ciphertext_new(a->ctx, 2, 0, out);
    if (st == BEAA_OK) st = beaa_ckks_mul_relin(a, b, rk, *out);
    if (st != BEAA_OK) { beaa_ckks_ciphertext_free(*out); *out = NULL; }
    return st;
}

beaa_status beaa_ckks_rescale_new(const beaa_ckks_ciphertext *a, beaa_ckks_ciphertext **out)
{
    if (!out || !a || !a->ctx) return BEAA_ERR_ARG;
    *out = NULL;
    beaa_status st = beaa_ckks_ciphertext_new(a->ctx, 2, 0, out);
    if (st == BEAA_OK) st = beaa_ckks_rescale(a, *out);
    if (st != BEAA_OK) { beaa_ckks_ciphertext_free(*out); *out = NULL; }
    return st;
}

beaa_status beaa_ckks_rotate_new(const beaa_ckks_ciphertext *a, int step, const beaa_ckks_galois_keys *gk,
                                 beaa_ckks_ciphertext **out)
{
    if (!out || !a || !a->ctx) return BEAA_ERR_ARG;
    *out = NULL;
    beaa_status st = beaa_ckks_ciphertext_new(a->ctx, 2, 0, out);
    if (st == BEAA_OK) st = beaa_ckks_rotate(a, step, gk, *out);
    if (st != BEAA_OK) { beaa_ckks_ciphertext_free(*out); *out = NULL; }
    return st;
}
