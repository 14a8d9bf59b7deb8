/* model.c - building, checking, loading and saving BEAA model files (format in nn/model.h).
 * The reader is bounded: every count is checked against the limits and the bytes left before
 * anything is allocated; the writer goes through a temporary file and rename(). */
#include "nn/model.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "lib/fileio.h"
#include "lib/mem.h"

#define HDR_BYTES 24
#define MAX_FILE_BYTES ((size_t)1 << 30)

/* ---------------------------------------------------------------- shapes and allocation */

static uint32_t conv_out(uint32_t n, uint32_t k, uint32_t s, uint32_t p)
{
    /* caller guarantees n + 2p >= k and s >= 1 */
    return (n + 2 * p - k) / s + 1;
}

static int conv_shape_ok(const beaa_model_conv *c)
{
    if (c->cin == 0 || c->cin > BEAA_MODEL_MAX_CH || c->cout == 0 ||
        c->cout > BEAA_MODEL_MAX_CH)
        return 0;
    if (c->kh == 0 || c->kh > BEAA_MODEL_MAX_K || c->kw == 0 || c->kw > BEAA_MODEL_MAX_K)
        return 0;
    if (c->stride == 0 || c->stride > BEAA_MODEL_MAX_K || c->pad > BEAA_MODEL_MAX_K)
        return 0;
    if (c->in_h + 2 * c->pad < c->kh || c->in_w + 2 * c->pad < c->kw)
        return 0;
    return 1;
}

static size_t conv_floats(const beaa_model_conv *c)
{
    return (size_t)c->cout * c->cin * c->kh * c->kw + c->cout;
}

static size_t act_floats(const beaa_model_act *a) { return 3 * (size_t)a->count; }
static size_t bn_floats(const beaa_model_bn *b) { return 4 * (size_t)b->channels; }

static uint32_t act_count_for(beaa_act_kind k, beaa_poly_gran g, uint32_t c, uint32_t h,
                              uint32_t w)
{
    if (k == BEAA_ACT_RELU) return 0;
    if (g == BEAA_POLY_LAYER) return 1;
    if (g == BEAA_POLY_CHANNEL) return c;
    return c * h * w;
}

/* Derives shapes of module md given its input (c,h,w); sets in/out fields and sub-shapes.
 * Conv cin/cout/k/stride/pad and act kind/gran/count, bn channels must already be set. */
static int module_derive(beaa_model_module *md, uint32_t c, uint32_t h, uint32_t w)
{
    md->in_c = c; md->in_h = h; md->in_w = w;
    switch (md->kind) {
    case BEAA_MODULE_CONV: {
        beaa_model_conv *cv = &md->conv[0];
        cv->in_h = h; cv->in_w = w;
        if (cv->cin != c || !conv_shape_ok(cv)) return 0;
        cv->out_h = conv_out(h, cv->kh, cv->stride, cv->pad);
        cv->out_w = conv_out(w, cv->kw, cv->stride, cv->pad);
        md->out_c = cv->cout; md->out_h = cv->out_h; md->out_w = cv->out_w;
        md->act[0].c = md->out_c; md->act[0].h = md->out_h; md->act[0].w = md->out_w;
        if (md->bn[0].channels != md->out_c) return 0;
        break;
    }
    case BEAA_MODULE_FIRE: {
        beaa_model_conv *sq = &md->conv[0], *e1 = &md->conv[1], *e3 = &md->conv[2];
        sq->in_h = h; sq->in_w = w;
        if (sq->cin != c || !conv_shape_ok(sq)) return 0;
        sq->out_h = conv_out(h, sq->kh, sq->stride, sq->pad);
        sq->out_w = conv_out(w, sq->kw, sq->stride, sq->pad);
        md->act[0].c = sq->cout; md->act[0].h = sq->out_h; md->act[0].w = sq->out_w;
        if (md->bn[0].channels != sq->cout) return 0;
        for (int i = 1; i <= 2; i++) {
            beaa_model_conv *e = &md->conv[i];
            e->in_h = sq->out_h; e->in_w = sq->out_w;
            if (e->cin != sq->cout || !conv_shape_ok(e)) return 0;
            e->out_h = conv_out(e->in_h, e->kh, e->stride, e->pad);
            e->out_w = conv_out(e->in_w, e->kw, e->stride, e->pad);
        }
        if (e1->out_h != e3->out_h || e1->out_w != e3->out_w) return 0;
        if ((uint64_t)e1->cout + e3->cout > BEAA_MODEL_MAX_CH) return 0;
        md->out_c = e1->cout + e3->cout; md->out_h = e1->out_h; md->out_w = e1->out_w;
        md->act[1].c = md->out_c; md->act[1].h = md->out_h; md->act[1].w = md->out_w;
        if (md->bn[1].channels != md->out_c) return 0;
        break;
    }
    case BEAA_MODULE_AVGPOOL:
        if (md->pool_k == 0 || md->pool_k > BEAA_MODEL_MAX_K || md->pool_stride == 0 ||
            md->pool_stride > BEAA_MODEL_MAX_K || md->pool_k > h || md->pool_k > w)
            return 0;
        md->out_c = c;
        md->out_h = (h - md->pool_k) / md->pool_stride + 1;
        md->out_w = (w - md->pool_k) / md->pool_stride + 1;
        break;
    case BEAA_MODULE_GAP:
        md->out_c = c; md->out_h = 1; md->out_w = 1;
        break;
    default:
        return 0;
    }
    int na = beaa_model_module_nact(md);
    for (int i = 0; i < na; i++) {
        beaa_model_act *a = &md->act[i];
        if (a->kind != BEAA_ACT_RELU && a->kind != BEAA_ACT_POLY) return 0;
        if (a->kind == BEAA_ACT_POLY && a->gran != BEAA_POLY_LAYER &&
            a->gran != BEAA_POLY_CHANNEL && a->gran != BEAA_POLY_ELEMENT)
            return 0;
        if (a->kind == BEAA_ACT_RELU && a->gran != 0) return 0;
        if (a->count != act_count_for(a->kind, a->gran, a->c, a->h, a->w)) return 0;
    }
    return 1;
}

static size_t model_floats(const beaa_model *m)
{
    size_t n = 0;
    for (uint32_t i = 0; i < m->n_modules; i++) {
        const beaa_model_module *md = &m->modules[i];
        for (int j = 0; j < beaa_model_module_nconv(md); j++) n += conv_floats(&md->conv[j]);
        for (int j = 0; j < beaa_model_module_nact(md); j++) n += act_floats(&md->act[j]);
        for (int j = 0; j < beaa_model_module_nact(md); j++) n += bn_floats(&md->bn[j]);
    }
    return n;
}

/* Points every array into m->params (already allocated with model_floats floats). */
static void model_assign(beaa_model *m)
{
    float *p = m->params;
    for (uint32_t i = 0; i < m->n_modules; i++) {
        beaa_model_module *md = &m->modules[i];
        for (int j = 0; j < beaa_model_module_nconv(md); j++) {
            beaa_model_conv *c = &md->conv[j];
            c->weight = p; p += (size_t)c->cout * c->cin * c->kh * c->kw;
            c->bias = p; p += c->cout;
        }
        for (int j = 0; j < beaa_model_module_nact(md); j++) {
            beaa_model_act *a = &md->act[j];
            a->a = p; p += a->count;
            a->b = p; p += a->count;
            a->c0 = p; p += a->count;
            beaa_model_bn *b = &md->bn[j];
            b->gamma = p; p += b->channels;
            b->beta = p; p += b->channels;
            b->mean = p; p += b->channels;
            b->var = p; p += b->channels;
        }
    }
}

/* Derives all shapes; returns 1 when the chain is valid and ends in (num_classes,1,1). */
static int model_derive(beaa_model *m)
{
    if (m->in_c == 0 || m->in_c > BEAA_MODEL_MAX_IN_C || m->in_h == 0 ||
        m->in_h > BEAA_MODEL_MAX_DIM || m->in_w == 0 || m->in_w > BEAA_MODEL_MAX_DIM)
        return 0;
    if (m->num_classes < 2 || m->num_classes > BEAA_MODEL_MAX_CLASSES) return 0;
    if (m->n_modules == 0 || m->n_modules > BEAA_MODEL_MAX_MODULES) return 0;
    uint32_t c = m->in_c, h = m->in_h, w = m->in_w;
    for (uint32_t i = 0; i < m->n_modules; i++) {
        if (!module_derive(&m->modules[i], c, h, w)) return 0;
        c = m->modules[i].out_c; h = m->modules[i].out_h; w = m->modules[i].out_w;
        if ((uint64_t)c * h * w > (uint64_t)BEAA_MODEL_MAX_CH * 64 * 64) return 0;
    }
    return c == m->num_classes && h == 1 && w == 1;
}

static beaa_model *model_alloc(uint32_t n_modules)
{
    beaa_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->modules = calloc(n_modules ? n_modules : 1, sizeof *m->modules);
    if (!m->modules) { free(m); return NULL; }
    m->n_modules = n_modules;
    return m;
}

void beaa_model_free(beaa_model *m)
{
    if (!m) return;
    free(m->params);
    free(m->modules);
    free(m);
}

static void conv_set(beaa_model_conv *c, uint32_t cin, uint32_t cout, uint32_t k,
                     uint32_t stride, uint32_t pad)
{
    c->cin = cin; c->cout = cout; c->kh = k; c->kw = k; c->stride = stride; c->pad = pad;
}

static void act_set(beaa_model_act *a, beaa_act_kind k, beaa_poly_gran g, uint32_t c,
                    uint32_t h, uint32_t w)
{
    a->kind = k;
    a->gran = k == BEAA_ACT_POLY ? g : BEAA_POLY_LAYER;
    a->c = c; a->h = h; a->w = w;
    a->count = act_count_for(a->kind, a->gran, c, h, w);
}

beaa_status beaa_model_build(uint32_t in_c, uint32_t in_h, uint32_t in_w, uint32_t num_classes,
                             const beaa_model_desc *d, uint32_t n, beaa_model **out)
{
    if (!d || !out) return BEAA_ERR_ARG;
    *out = NULL;
    if (n == 0 || n > BEAA_MODEL_MAX_MODULES) return BEAA_ERR_MODEL;
    beaa_model *m = model_alloc(n);
    if (!m) return BEAA_ERR_NOMEM;
    m->in_c = in_c; m->in_h = in_h; m->in_w = in_w; m->num_classes = num_classes;
    for (uint32_t c = 0; c < BEAA_MODEL_MAX_IN_C; c++) { m->in_mean[c] = 0; m->in_std[c] = 1; }
    if (in_c == 0 || in_c > BEAA_MODEL_MAX_IN_C || in_h == 0 || in_h > BEAA_MODEL_MAX_DIM ||
        in_w == 0 || in_w > BEAA_MODEL_MAX_DIM) {
        beaa_model_free(m);
        return BEAA_ERR_MODEL;
    }
    /* First pass: set conv/act/bn descriptors while tracking shapes. */
    uint32_t c = in_c, h = in_h, w = in_w;
    for (uint32_t i = 0; i < n; i++) {
        beaa_model_module *md = &m->modules[i];
        const beaa_model_desc *e = &d[i];
        md->kind = e->kind;
        if (e->kind == BEAA_MODULE_CONV) {
            conv_set(&md->conv[0], c, e->cout, e->k, e->stride, e->pad);
            md->conv[0].in_h = h; md->conv[0].in_w = w;
            if (!conv_shape_ok(&md->conv[0])) { beaa_model_free(m); return BEAA_ERR_MODEL; }
            uint32_t oh = conv_out(h, e->k, e->stride, e->pad);
            uint32_t ow = conv_out(w, e->k, e->stride, e->pad);
            act_set(&md->act[0], e->act, e->gran, e->cout, oh, ow);
            md->bn[0].channels = e->cout;
        } else if (e->kind == BEAA_MODULE_FIRE) {
            conv_set(&md->conv[0], c, e->squeeze, 1, 1, 0);
            conv_set(&md->conv[1], e->squeeze, e->expand1, 1, 1, 0);
            conv_set(&md->conv[2], e->squeeze, e->expand3, e->k3, 1, e->k3 / 2);
            act_set(&md->act[0], e->act, e->gran, e->squeeze, h, w);
            md->bn[0].channels = e->squeeze;
            md->bn[1].channels = e->expand1 + e->expand3;
            act_set(&md->act[1], e->act, e->gran, e->expand1 + e->expand3, h, w);
        } else {
            md->pool_k = e->k; md->pool_stride = e->stride;
        }
        if (!module_derive(md, c, h, w)) { beaa_model_free(m); return BEAA_ERR_MODEL; }
        c = md->out_c; h = md->out_h; w = md->out_w;
    }
    if (!model_derive(m)) { beaa_model_free(m); return BEAA_ERR_MODEL; }
    m->n_params = model_floats(m);
    if (m->n_params > BEAA_MODEL_MAX_PARAMS) { beaa_model_free(m); return BEAA_ERR_MODEL; }
    m->params = calloc(m->n_params ? m->n_params : 1, sizeof(float));
    if (!m->params) { beaa_model_free(m); return BEAA_ERR_NOMEM; }
    model_assign(m);
    for (uint32_t i = 0; i < n; i++) {
        beaa_model_module *md = &m->modules[i];
        for (int j = 0; j < beaa_model_module_nact(md); j++) {
            for (uint32_t k = 0; k < md->act[j].count; k++) md->act[j].b[k] = 1.0f;
            md->bn[j].eps = 1e-5f;
            for (uint32_t k = 0; k < md->bn[j].channels; k++) {
                md->bn[j].gamma[k] = 1.0f;
                md->bn[j].var[k] = 1.0f;
            }
        }
    }
    *out = m;
    return BEAA_OK;
}

beaa_status beaa_model_clone(const beaa_model *m, beaa_model **out)
{
    if (!m || !out) return BEAA_ERR_ARG;
    *out = NULL;
    beaa_model *c = model_alloc(m->n_modules);
    if (!c) return BEAA_ERR_NOMEM;
    beaa_model_module *mods = c->modules;
    memcpy(c, m, sizeof *c);
    c->modules = mods;
    memcpy(c->modules, m->modules, m->n_modules * sizeof *m->modules);
    c->params = malloc((m->n_params ? m->n_params : 1) * sizeof(float));
    if (!c->params) { free(c->modules); free(c); return BEAA_ERR_NOMEM; }
    memcpy(c->params, m->params, m->n_params * sizeof(float));
    model_assign(c);
    *out = c;
    return BEAA_OK;
}

static int all_finite(const float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p[i])) return 0;
    return 1;
}

beaa_status beaa_model_check(const beaa_model *m)
{
    if (!m || !m->modules || !m->params) return BEAA_ERR_MODEL;
    /* derive into a scratch copy of the module list so a const model is not modified */
    beaa_model tmp = *m;
    tmp.modules = malloc(m->n_modules ? m->n_modules * sizeof *m->modules : 1);
    if (!tmp.modules) return BEAA_ERR_NOMEM;
    if (m->n_modules) memcpy(tmp.modules, m->modules, m->n_modules * sizeof *m->modules);
    int ok = model_derive(&tmp) && model_floats(&tmp) == m->n_params &&
             m->n_params <= BEAA_MODEL_MAX_PARAMS;
    free(tmp.modules);
    if (!ok) return BEAA_ERR_MODEL;
    if (!all_finite(m->params, m->n_params)) return BEAA_ERR_MODEL;
    for (uint32_t c = 0; c < m->in_c; c++)
        if (!isfinite(m->in_mean[c]) || !isfinite(m->in_std[c]) || !(m->in_std[c] > 0))
            return BEAA_ERR_MODEL;
    for (uint32_t i = 0; i < m->n_modules; i++) {
        const beaa_model_module *md = &m->modules[i];
        for (int j = 0; j < beaa_model_module_nact(md); j++) {
            const beaa_model_bn *b = &md->bn[j];
            if (!(b->eps > 0) || !isfinite(b->eps)) return BEAA_ERR_MODEL;
            for (uint32_t k = 0; k < b->channels; k++)
                if (!(b->var[k] >= 0)) return BEAA_ERR_MODEL;
        }
    }
    return BEAA_OK;
}

uint32_t beaa_model_act_layers(const beaa_model *m)
{
    uint32_t n = 0;
    if (!m) return 0;
    for (uint32_t i = 0; i < m->n_modules; i++) n += (uint32_t)beaa_model_module_nact(&m->modules[i]);
    return n;
}

size_t beaa_model_act_elements(const beaa_model *m)
{
    size_t n = 0;
    if (!m) return 0;
    for (uint32_t i = 0; i < m->n_modules; i++) {
        const beaa_model_module *md = &m->modules[i];
        for (int j = 0; j < beaa_model_module_nact(md); j++)
            n += (size_t)md->act[j].c * md->act[j].h * md->act[j].w;
    }
    return n;
}

size_t beaa_model_trainable_params(const beaa_model *m)
{
    size_t n = 0;
    if (!m) return 0;
    for (uint32_t i = 0; i < m->n_modules; i++) {
        const beaa_model_module *md = &m->modules[i];
        for (int j = 0; j < beaa_model_module_nconv(md); j++) n += conv_floats(&md->conv[j]);
        for (int j = 0; j < beaa_model_module_nact(md); j++)
            n += act_floats(&md->act[j]) + 2 * (size_t)md->bn[j].channels;
    }
    return n;
}

/* ---------------------------------------------------------------- bounded reader */

typedef struct rd {
    const uint8_t *p;
    size_t left;
    beaa_status err;        /* first error, sticky */
} rd;

static uint32_t rd_u32(rd *r)
{
    if (r->err) return 0;
    if (r->left < 4) { r->err = BEAA_ERR_TRUNCATED; return 0; }
    uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
                 (uint32_t)r->p[3] << 24;
    r->p += 4; r->left -= 4;
    return v;
}

static float rd_f32(rd *r)
{
    uint32_t u = rd_u32(r);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Reads n floats into dst; n already bounded by the caller's limits. */
static void rd_f32s(rd *r, float *dst, size_t n)
{
    if (r->err) return;
    if (n > r->left / 4) { r->err = BEAA_ERR_TRUNCATED; return; }
    for (size_t i = 0; i < n; i++) dst[i] = rd_f32(r);
}

/* Checks that n floats fit in what is left (before allocating for them). */
static void rd_need(rd *r, size_t nfloats)
{
    if (!r->err && nfloats > r->left / 4) r->err = BEAA_ERR_TRUNCATED;
}

static void rd_conv_hdr(rd *r, beaa_model_conv *c)
{
    c->cin = rd_u32(r); c->cout = rd_u32(r); c->kh = rd_u32(r); c->kw = rd_u32(r);
    c->stride = rd_u32(r); c->pad = rd_u32(r);
    if (r->err) return;
    if (c->cin == 0 || c->cin > BEAA_MODEL_MAX_CH || c->cout == 0 ||
        c->cout > BEAA_MODEL_MAX_CH || c->kh == 0 || c->kh > BEAA_MODEL_MAX_K || c->kw == 0 ||
        c->kw > BEAA_MODEL_MAX_K || c->stride == 0 || c->stride > BEAA_MODEL_MAX_K ||
        c->pad > BEAA_MODEL_MAX_K) {
        r->err = BEAA_ERR_MODEL;
        return;
    }
    size_t n = conv_floats(c);
    if (n > BEAA_MODEL_MAX_PARAMS) { r->err = BEAA_ERR_MODEL; return; }
    rd_need(r, n);
    if (!r->err) { r->p += 4 * n; r->left -= 4 * n; }   /* values read in the second pass */
}

static void rd_act_hdr(rd *r, beaa_model_act *a)
{
    uint32_t k = rd_u32(r), g = rd_u32(r), cnt = rd_u32(r);
    if (r->err) return;
    if (k > BEAA_ACT_POLY || g > BEAA_POLY_ELEMENT || cnt > BEAA_MODEL_MAX_PARAMS / 3) {
        r->err = BEAA_ERR_MODEL;
        return;
    }
    a->kind = (beaa_act_kind)k; a->gran = (beaa_poly_gran)g; a->count = cnt;
    rd_need(r, 3 * (size_t)cnt);
    if (!r->err) { r->p += 12 * (size_t)cnt; r->left -= 12 * (size_t)cnt; }
}

static void rd_bn_hdr(rd *r, beaa_model_bn *b)
{
    b->channels = rd_u32(r);
    (void)rd_f32(r);   /* eps, read in the second pass */
    if (r->err) return;
    if (b->channels == 0 || b->channels > BEAA_MODEL_MAX_CH) { r->err = BEAA_ERR_MODEL; return; }
    rd_need(r, 4 * (size_t)b->channels);
    if (!r->err) { r->p += 16 * (size_t)b->channels; r->left -= 16 * (size_t)b->channels; }
}

static void rd_conv_vals(rd *r, beaa_model_conv *c)
{
    for (int i = 0; i < 6; i++) (void)rd_u32(r);
    rd_f32s(r, c->weight, (size_t)c->cout * c->cin * c->kh * c->kw);
    rd_f32s(r, c->bias, c->cout);
}

static void rd_act_vals(rd *r, beaa_model_act *a)
{
    for (int i = 0; i < 3; i++) (void)rd_u32(r);
    rd_f32s(r, a->a, a->count);
    rd_f32s(r, a->b, a->count);
    rd_f32s(r, a->c0, a->count);
}

static void rd_bn_vals(rd *r, beaa_model_bn *b)
{
    (void)rd_u32(r);
    b->eps = rd_f32(r);
    rd_f32s(r, b->gamma, b->channels);
    rd_f32s(r, b->beta, b->channels);
    rd_f32s(r, b->mean, b->channels);
    rd_f32s(r, b->var, b->channels);
}

/* Walks the module records. Pass 0 reads headers (kinds, shapes) into m->modules; pass 1 reads
 * the values into the allocated arrays. */
static void rd_modules(rd *r, beaa_model *m, int pass)
{
    for (uint32_t i = 0; i < m->n_modules && !r->err; i++) {
        beaa_model_module *md = &m->modules[i];
        uint32_t kind = rd_u32(r);
        if (r->err) return;
        if (pass == 0) {
            if (kind < BEAA_MODULE_CONV || kind > BEAA_MODULE_GAP) { r->err = BEAA_ERR_MODEL; return; }
            md->kind = (beaa_module_kind)kind;
        }
        switch (md->kind) {
        case BEAA_MODULE_CONV:
            if (pass == 0) {
                rd_conv_hdr(r, &md->conv[0]); rd_act_hdr(r, &md->act[0]); rd_bn_hdr(r, &md->bn[0]);
            } else {
                rd_conv_vals(r, &md->conv[0]); rd_act_vals(r, &md->act[0]); rd_bn_vals(r, &md->bn[0]);
            }
            break;
        case BEAA_MODULE_FIRE:
            if (pass == 0) {
                rd_conv_hdr(r, &md->conv[0]); rd_act_hdr(r, &md->act[0]); rd_bn_hdr(r, &md->bn[0]);
                rd_conv_hdr(r, &md->conv[1]); rd_conv_hdr(r, &md->conv[2]);
                rd_act_hdr(r, &md->act[1]); rd_bn_hdr(r, &md->bn[1]);
            } else {
                rd_conv_vals(r, &md->conv[0]); rd_act_vals(r, &md->act[0]); rd_bn_vals(r, &md->bn[0]);
                rd_conv_vals(r, &md->conv[1]); rd_conv_vals(r, &md->conv[2]);
                rd_act_vals(r, &md->act[1]); rd_bn_vals(r, &md->bn[1]);
            }
            break;
        case BEAA_MODULE_AVGPOOL:
            md->pool_k = rd_u32(r); md->pool_stride = rd_u32(r);
            break;
        case BEAA_MODULE_GAP:
            break;
        }
    }
}

beaa_status beaa_model_load_mem(const uint8_t *buf, size_t len, beaa_model **out)
{
    if (!buf || !out) return BEAA_ERR_ARG;
    *out = NULL;
    if (len < 8) return BEAA_ERR_TRUNCATED;
    if (memcmp(buf, BEAA_MODEL_MAGIC, 8) != 0) return BEAA_ERR_MODEL;
    if (len < HDR_BYTES) return BEAA_ERR_TRUNCATED;
    rd r = { buf + 8, len - 8, BEAA_OK };
    uint32_t version = rd_u32(&r), flags = rd_u32(&r);
    uint64_t plen = (uint64_t)rd_u32(&r);
    plen |= (uint64_t)rd_u32(&r) << 32;
    if (version != BEAA_MODEL_VERSION || flags != 0) return BEAA_ERR_MODEL;
    if (plen > MAX_FILE_BYTES) return BEAA_ERR_MODEL;
    if (len - HDR_BYTES < plen + 4) return BEAA_ERR_TRUNCATED;
    if (len - HDR_BYTES > plen + 4) return BEAA_ERR_MODEL;   /* trailing garbage */
    size_t body = HDR_BYTES + (size_t)plen;
    uLong crc = crc32(0L, Z_NULL, 0);
    /* zlib takes uInt lengths: feed in chunks */
    for (size_t off = 0; off < body;) {
        size_t n = body - off > (1u << 30) ? (1u << 30) : body - off;
        crc = crc32(crc, buf + off, (uInt)n);
        off += n;
    }
    uint32_t stored = (uint32_t)buf[body] | (uint32_t)buf[body + 1] << 8 |
                      (uint32_t)buf[body + 2] << 16 | (uint32_t)buf[body + 3] << 24;
    if ((uint32_t)crc != stored) return BEAA_ERR_CHECKSUM;

    rd p = { buf + HDR_BYTES, (size_t)plen, BEAA_OK };
    if (p.left < BEAA_MODEL_DESC_LEN) return BEAA_ERR_TRUNCATED;
    char desc[BEAA_MODEL_DESC_LEN];
    memcpy(desc, p.p, BEAA_MODEL_DESC_LEN);
    /* NUL-padded, as beaa_model_save writes it: one encoding per model (a file that loads saves
     * back to the same bytes) */
    size_t dl = strnlen(desc, BEAA_MODEL_DESC_LEN);
    if (dl == BEAA_MODEL_DESC_LEN) return BEAA_ERR_MODEL;
    for (size_t i = dl; i < BEAA_MODEL_DESC_LEN; i++)
        if (desc[i] != 0) return BEAA_ERR_MODEL;
    p.p += BEAA_MODEL_DESC_LEN; p.left -= BEAA_MODEL_DESC_LEN;
    uint32_t in_c = rd_u32(&p), in_h = rd_u32(&p), in_w = rd_u32(&p), ncls = rd_u32(&p);
    if (p.err) return p.err;
    if (in_c == 0 || in_c > BEAA_MODEL_MAX_IN_C) return BEAA_ERR_MODEL;
    float mean[BEAA_MODEL_MAX_IN_C], sd[BEAA_MODEL_MAX_IN_C];
    rd_f32s(&p, mean, in_c);
    rd_f32s(&p, sd, in_c);
    uint32_t nmod = rd_u32(&p);
    if (p.err) return p.err;
    if (nmod == 0 || nmod > BEAA_MODEL_MAX_MODULES) return BEAA_ERR_MODEL;
    beaa_model *m = model_alloc(nmod);
    if (!m) return BEAA_ERR_NOMEM;
    memcpy(m->desc, desc, sizeof desc);
    m->in_c = in_c; m->in_h = in_h; m->in_w = in_w; m->num_classes = ncls;
    for (uint32_t c = 0; c < BEAA_MODEL_MAX_IN_C; c++) {
        m->in_mean[c] = c < in_c ? mean[c] : 0.0f;
        m->in_std[c] = c < in_c ? sd[c] : 1.0f;
    }
    rd hdrs = p;
    rd_modules(&hdrs, m, 0);
    if (hdrs.err) { beaa_status s = hdrs.err; beaa_model_free(m); return s; }
    if (hdrs.left != 0) { beaa_model_free(m); return BEAA_ERR_MODEL; }
    if (!model_derive(m)) { beaa_model_free(m); return BEAA_ERR_MODEL; }
    m->n_params = model_floats(m);
    if (m->n_params > BEAA_MODEL_MAX_PARAMS) { beaa_model_free(m); return BEAA_ERR_MODEL; }
    m->params = calloc(m->n_params ? m->n_params : 1, sizeof(float));
    if (!m->params) { beaa_model_free(m); return BEAA_ERR_NOMEM; }
    model_assign(m);
    rd_modules(&p, m, 1);
    if (p.err) { beaa_status s = p.err; beaa_model_free(m); return s; }
    beaa_status s = beaa_model_check(m);
    if (s) { beaa_model_free(m); return s; }
    *out = m;
    return BEAA_OK;
}

beaa_status beaa_model_load(const char *path, beaa_model **out)
{
    if (!path || !out) return BEAA_ERR_ARG;
    *out = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    /* bounded, regular files only (a FIFO or directory is refused instead of blocking) */
    beaa_status s = beaa_file_read_all(path, MAX_FILE_BYTES, &buf, &len);
    if (s == BEAA_ERR_MEMORY_LIMIT) return BEAA_ERR_MODEL;
    if (s) return s;
    s = beaa_model_load_mem(buf, len, out);
    beaa_free(buf);
    return s;
}

/* ---------------------------------------------------------------- writer */

typedef struct wr { uint8_t *p; size_t pos; } wr;

static void wr_u32(wr *w, uint32_t v)
{
    w->p[w->pos++] = (uint8_t)v; w->p[w->pos++] = (uint8_t)(v >> 8);
    w->p[w->pos++] = (uint8_t)(v >> 16); w->p[w->pos++] = (uint8_t)(v >> 24);
}
static void wr_f32(wr *w, float f) { uint32_t u; memcpy(&u, &f, 4); wr_u32(w, u); }
static void wr_f32s(wr *w, const float *f, size_t n) { for (size_t i = 0; i < n; i++) wr_f32(w, f[i]); }

static void wr_conv(wr *w, const beaa_model_conv *c)
{
    wr_u32(w, c->cin); wr_u32(w, c->cout); wr_u32(w, c->kh); wr_u32(w, c->kw);
    wr_u32(w, c->stride); wr_u32(w, c->pad);
    wr_f32s(w, c->weight, (size_t)c->cout * c->cin * c->kh * c->kw);
    wr_f32s(w, c->bias, c->cout);
}
static void wr_act(wr *w, const beaa_model_act *a)
{
    wr_u32(w, (uint32_t)a->kind); wr_u32(w, (uint32_t)a->gran); wr_u32(w, a->count);
    wr_f32s(w, a->a, a->count); wr_f32s(w, a->b, a->count); wr_f32s(w, a->c0, a->count);
}
static void wr_bn(wr *w, const beaa_model_bn *b)
{
    wr_u32(w, b->channels); wr_f32(w, b->eps);
    wr_f32s(w, b->gamma, b->channels); wr_f32s(w, b->beta, b->channels);
    wr_f32s(w, b->mean, b->channels); wr_f32s(w, b->var, b->channels);
}

beaa_status beaa_model_save_mem(const beaa_model *m, uint8_t **buf, size_t *len)
{
    if (!m || !buf || !len) return BEAA_ERR_ARG;
    *buf = NULL; *len = 0;
    beaa_status s = beaa_model_check(m);
    if (s) return s;
    /* payload size: desc + 4 u32 + 2*in_c + n_modules + per module kind + headers + floats */
    size_t words = 4 + 2 * (size_t)m->in_c + 1 + m->n_params;
    for (uint32_t i = 0; i < m->n_modules; i++) {
        const beaa_model_module *md = &m->modules[i];
        words += 1 + 6 * (size_t)beaa_model_module_nconv(md) + 5 * (size_t)beaa_model_module_nact(md);
        if (md->kind == BEAA_MODULE_AVGPOOL) words += 2;
    }
    size_t plen = BEAA_MODEL_DESC_LEN + 4 * words;
    size_t total = HDR_BYTES + plen + 4;
    uint8_t *b = calloc(1, total);
    if (!b) return BEAA_ERR_NOMEM;
    wr w = { b, 0 };
    memcpy(b, BEAA_MODEL_MAGIC, 8);
    w.pos = 8;
    wr_u32(&w, BEAA_MODEL_VERSION); wr_u32(&w, 0);
    wr_u32(&w, (uint32_t)plen); wr_u32(&w, (uint32_t)((uint64_t)plen >> 32));
    size_t dl = strnlen(m->desc, BEAA_MODEL_DESC_LEN - 1);
    memcpy(b + w.pos, m->desc, dl);
    w.pos += BEAA_MODEL_DESC_LEN;
    wr_u32(&w, m->in_c); wr_u32(&w, m->in_h); wr_u32(&w, m->in_w); wr_u32(&w, m->num_classes);
    wr_f32s(&w, m->in_mean, m->in_c);
    wr_f32s(&w, m->in_std, m->in_c);
    wr_u32(&w, m->n_modules);
    for (uint32_t i = 0; i < m->n_modules; i++) {
        const beaa_model_module *md = &m->modules[i];
        wr_u32(&w, (uint32_t)md->kind);
        switch (md->kind) {
        case BEAA_MODULE_CONV:
            wr_conv(&w, &md->conv[0]); wr_act(&w, &md->act[0]); wr_bn(&w, &md->bn[0]);
            break;
        case BEAA_MODULE_FIRE:
            wr_conv(&w, &md->conv[0]); wr_act(&w, &md->act[0]); wr_bn(&w, &md->bn[0]);
            wr_conv(&w, &md->conv[1]); wr_conv(&w, &md->conv[2]);
            wr_act(&w, &md->act[1]); wr_bn(&w, &md->bn[1]);
            break;
        case BEAA_MODULE_AVGPOOL:
            wr_u32(&w, md->pool_k); wr_u32(&w, md->pool_stride);
            break;
        case BEAA_MODULE_GAP:
            break;
        }
    }
    if (w.pos != HDR_BYTES + plen) { free(b); return BEAA_ERR_INTERNAL; }
    uLong crc = crc32(crc32(0L, Z_NULL, 0), b, (uInt)w.pos);
    wr_u32(&w, (uint32_t)crc);
    *buf = b;
    *len = total;
    return BEAA_OK;
}

beaa_status beaa_model_save(const beaa_model *m, const char *path, int overwrite)
{
    if (!m || !path || !*path) return BEAA_ERR_ARG;
    uint8_t *buf;
    size_t len;
    beaa_status s = beaa_model_save_mem(m, &buf, &len);
    if (s) return s;
    /* temp file + fsync + link (never replaces an existing file) or rename (overwrite) */
    s = beaa_file_write_atomic(path, buf, len, overwrite);
    free(buf);
    return s;
}
