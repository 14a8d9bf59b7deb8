/* net.c - forward and backward of a whole BEAA network (Conv, Fire, AvgPool, GAP modules)
 * for training, over CBHW batches, using the layers in train/layers.h. */
#include "train/net.h"

#include <stdlib.h>
#include <string.h>
#include "train/layers.h"

float *beaa_train_net_grad_of(beaa_train_net *n, const float *p)
{
    return n->grads + (p - n->m->params);
}

static size_t act_size(const beaa_model_act *a, int B) { return (size_t)a->c * B * a->h * a->w; }

/* Lays out (base == NULL: only counts) every buffer; returns total floats. */
static size_t layout(beaa_train_net *n, float *base)
{
    const beaa_model *m = n->m;
    const int B = n->max_batch;
    size_t off = 0, maxcols = 0;
#define TAKE(ptr, cnt) do { size_t c_ = (cnt); if (base) (ptr) = base + off; \
                            off += (c_ + 15) & ~(size_t)15; } while (0)
    for (uint32_t i = 0; i < m->n_modules; i++) {
        const beaa_model_module *md = &m->modules[i];
        beaa_train_modbuf *b = &n->buf[i];
        for (int j = 0; j < beaa_model_module_nconv(md); j++) {
            size_t cs = beaa_train_conv_cols_size(&md->conv[j], B);
            if (cs) TAKE(b->cols[j], cs);
            if (cs > maxcols) maxcols = cs;
        }
        for (int j = 0; j < beaa_model_module_nact(md); j++) {
            size_t s = act_size(&md->act[j], B);
            TAKE(b->z[j], s); TAKE(b->a[j], s); TAKE(b->xh[j], s);
            TAKE(b->dz[j], s); TAKE(b->da[j], s);
            TAKE(b->inv[j], md->act[j].c);
        }
        size_t os = (size_t)md->out_c * B * md->out_h * md->out_w;
        if (md->kind == BEAA_MODULE_FIRE) {
            TAKE(b->mid, act_size(&md->act[0], B));
            TAKE(b->dmid, act_size(&md->act[0], B));
        }
        TAKE(b->out, os);
        TAKE(b->dout, os);
    }
    TAKE(n->dcols, maxcols ? maxcols : 1);
    TAKE(n->logits, (size_t)B * m->num_classes);
    TAKE(n->dlogits, (size_t)B * m->num_classes);
#undef TAKE
    return off;
}

beaa_status beaa_train_net_new(beaa_model *m, int max_batch, beaa_train_net **out)
{
    if (!m || !out || max_batch < 1 || max_batch > 65536) return BEAA_ERR_ARG;
    *out = NULL;
    beaa_status s = beaa_model_check(m);
    if (s) return s;
    beaa_train_net *n = calloc(1, sizeof *n);
    if (!n) return BEAA_ERR_NOMEM;
    n->m = m;
    n->max_batch = max_batch;
    n->bn_momentum = 0.1f;
    n->buf = calloc(m->n_modules, sizeof *n->buf);
    n->grads = calloc(m->n_params ? m->n_params : 1, sizeof(float));
    n->mask = calloc(m->n_params ? m->n_params : 1, 1);
    if (!n->buf || !n->grads || !n->mask) { beaa_train_net_free(n); return BEAA_ERR_NOMEM; }
    n->arena_floats = layout(n, NULL);
    n->arena = calloc(n->arena_floats, sizeof(float));
    if (!n->arena) { beaa_train_net_free(n); return BEAA_ERR_NOMEM; }
    layout(n, n->arena);
    /* trainable mask */
    for (uint32_t i = 0; i < m->n_modules; i++) {
        const beaa_model_module *md = &m->modules[i];
        for (int j = 0; j < beaa_model_module_nconv(md); j++) {
            const beaa_model_conv *c = &md->conv[j];
            size_t k = (size_t)(c->weight - m->params);
            size_t cnt = (size_t)c->cout * c->cin * c->kh * c->kw + c->cout;
            memset(n->mask + k, BEAA_TRAIN_WEIGHT, cnt);
        }
        for (int j = 0; j < beaa_model_module_nact(md); j++) {
            const beaa_model_act *a = &md->act[j];
            if (a->count) {
                memset(n->mask + (a->a - m->params), BEAA_TRAIN_POLY, a->count);
                memset(n->mask + (a->b - m->params), BEAA_TRAIN_POLY, a->count);
                memset(n->mask + (a->c0 - m->params), BEAA_TRAIN_POLY, a->count);
            }
            const beaa_model_bn *bn = &md->bn[j];
            memset(n->mask + (bn->gamma - m->params), BEAA_TRAIN_WEIGHT, bn->channels);
            memset(n->mask + (bn->beta - m->params), BEAA_TRAIN_WEIGHT, bn->channels);
        }
    }
    *out = n;
    return BEAA_OK;
}

void beaa_train_net_free(beaa_train_net *n)
{
    if (!n) return;
    free(n->arena);
    free(n->buf);
    free(n->grads);
    free(n->mask);
    free(n);
}

void beaa_train_net_zero_grad(beaa_train_net *n)
{
    memset(n->grads, 0, n->m->n_params * sizeof(float));
}

/* act then BN: a = act(z); y = bn(a) */
static void act_bn_forward(beaa_train_net *n, float *y, beaa_train_modbuf *b, int j,
                           beaa_model_act *a, beaa_model_bn *bn, int B, int train)
{
    size_t hw = (size_t)a->h * a->w, sz = (size_t)a->c * B * hw;
    if (a->kind == BEAA_ACT_RELU)
        beaa_train_relu_forward(b->a[j], b->z[j], sz);
    else
        beaa_train_poly_forward(b->a[j], b->z[j], a->a, a->b, a->c0, a->gran, (int)a->c, B,
                                (int)hw);
    beaa_train_bn_forward(y, b->xh[j], b->inv[j], b->a[j], bn->gamma, bn->beta, bn->mean,
                          bn->var, bn->eps, n->bn_momentum, (int)bn->channels, B * hw, train);
}

/* gradient dy of BN output -> accumulates dz (gradient of the activation input) */
static void act_bn_backward(beaa_train_net *n, const float *dy, beaa_train_modbuf *b, int j,
                            beaa_model_act *a, beaa_model_bn *bn, int B)
{
    size_t hw = (size_t)a->h * a->w, sz = (size_t)a->c * B * hw;
    memset(b->da[j], 0, sz * sizeof(float));
    memset(b->dz[j], 0, sz * sizeof(float));
    float *gg = beaa_train_net_grad_of(n, bn->gamma), *gb = beaa_train_net_grad_of(n, bn->beta);
    if (n->last_train)
        beaa_train_bn_backward(b->da[j], gg, gb, dy, b->xh[j], b->inv[j], bn->gamma,
                               (int)bn->channels, B * hw);
    else
        beaa_train_bn_backward_eval(b->da[j], gg, gb, dy, b->xh[j], b->inv[j], bn->gamma,
                                    (int)bn->channels, B * hw);
    if (a->kind == BEAA_ACT_RELU)
        beaa_train_relu_backward(b->dz[j], b->da[j], b->z[j], sz);
    else
        beaa_train_poly_backward(b->dz[j], beaa_train_net_grad_of(n, a->a),
                                 beaa_train_net_grad_of(n, a->b),
                                 beaa_train_net_grad_of(n, a->c0), b->da[j], b->z[j], a->a,
                                 a->b, a->gran, (int)a->c, B, (int)hw);
}

const float *beaa_train_net_forward(beaa_train_net *n, const float *x, int B, int train)
{
    beaa_model *m = n->m;
    const float *in = x;
    n->last_train = train;
    n->last_batch = B;
    n->last_x = x;
    for (uint32_t i = 0; i < m->n_modules; i++) {
        beaa_model_module *md = &m->modules[i];
        beaa_train_modbuf *b = &n->buf[i];
        switch (md->kind) {
        case BEAA_MODULE_CONV: {
            beaa_model_conv *c = &md->conv[0];
            beaa_train_conv_forward(b->z[0], b->cols[0], in, c->weight, c->bias, c, B);
            act_bn_forward(n, b->out, b, 0, &md->act[0], &md->bn[0], B, train);
            break;
        }
        case BEAA_MODULE_FIRE: {
            beaa_model_conv *sq = &md->conv[0], *e1 = &md->conv[1], *e3 = &md->conv[2];
            beaa_train_conv_forward(b->z[0], b->cols[0], in, sq->weight, sq->bias, sq, B);
            float *mid = b->mid;
            act_bn_forward(n, mid, b, 0, &md->act[0], &md->bn[0], B, train);
            size_t n1 = (size_t)e1->cout * B * e1->out_h * e1->out_w;
            beaa_train_conv_forward(b->z[1], b->cols[1], mid, e1->weight, e1->bias, e1, B);
            beaa_train_conv_forward(b->z[1] + n1, b->cols[2], mid, e3->weight, e3->bias, e3, B);
            act_bn_forward(n, b->out, b, 1, &md->act[1], &md->bn[1], B, train);
            break;
        }
        case BEAA_MODULE_AVGPOOL:
            beaa_train_avgpool_forward(b->out, in, (int)(md->in_c * B), (int)md->in_h,
                                       (int)md->in_w, (int)md->pool_k, (int)md->pool_stride);
            break;
        case BEAA_MODULE_GAP:
            beaa_train_gap_forward(b->out, in, (int)md->in_c, B, (int)(md->in_h * md->in_w));
            break;
        }
        in = b->out;
    }
    /* last output is (K, B) channel-major: transpose to (B, K) */
    const int K = (int)m->num_classes;
    for (int k = 0; k < K; k++)
        for (int bi = 0; bi < B; bi++) n->logits[(size_t)bi * K + k] = in[(size_t)k * B + bi];
    return n->logits;
}

void beaa_train_net_backward(beaa_train_net *n)
{
    beaa_model *m = n->m;
    const int B = n->last_batch, K = (int)m->num_classes;
    beaa_train_modbuf *last = &n->buf[m->n_modules - 1];
    for (int k = 0; k < K; k++)
        for (int bi = 0; bi < B; bi++) last->dout[(size_t)k * B + bi] = n->dlogits[(size_t)bi * K + k];
    for (uint32_t i = 0; i < m->n_modules - 1; i++) {
        const beaa_model_module *md = &m->modules[i];
        memset(n->buf[i].dout, 0, (size_t)md->out_c * B * md->out_h * md->out_w * sizeof(float));
    }
    for (uint32_t ii = m->n_modules; ii-- > 0;) {
        beaa_model_module *md = &m->modules[ii];
        beaa_train_modbuf *b = &n->buf[ii];
        const float *in = ii ? n->buf[ii - 1].out : n->last_x;
        float *din = ii ? n->buf[ii - 1].dout : NULL;
        switch (md->kind) {
        case BEAA_MODULE_CONV: {
            beaa_model_conv *c = &md->conv[0];
            act_bn_backward(n, b->dout, b, 0, &md->act[0], &md->bn[0], B);
            beaa_train_conv_backward(din, beaa_train_net_grad_of(n, c->weight),
                                     beaa_train_net_grad_of(n, c->bias), n->dcols, b->dz[0],
                                     b->cols[0], in, c->weight, c, B);
            break;
        }
        case BEAA_MODULE_FIRE: {
            beaa_model_conv *sq = &md->conv[0], *e1 = &md->conv[1], *e3 = &md->conv[2];
            act_bn_backward(n, b->dout, b, 1, &md->act[1], &md->bn[1], B);
            size_t n1 = (size_t)e1->cout * B * e1->out_h * e1->out_w;
            const float *mid = b->mid;
            size_t msz = act_size(&md->act[0], B);
            float *dmid = b->dmid;
            memset(dmid, 0, msz * sizeof(float));
            beaa_train_conv_backward(dmid, beaa_train_net_grad_of(n, e1->weight),
                                     beaa_train_net_grad_of(n, e1->bias), n->dcols, b->dz[1],
                                     b->cols[1], mid, e1->weight, e1, B);
            beaa_train_conv_backward(dmid, beaa_train_net_grad_of(n, e3->weight),
                                     beaa_train_net_grad_of(n, e3->bias), n->dcols,
                                     b->dz[1] + n1, b->cols[2], mid, e3->weight, e3, B);
            act_bn_backward(n, dmid, b, 0, &md->act[0], &md->bn[0], B);
            beaa_train_conv_backward(din, beaa_train_net_grad_of(n, sq->weight),
                                     beaa_train_net_grad_of(n, sq->bias), n->dcols, b->dz[0],
                                     b->cols[0], in, sq->weight, sq, B);
            break;
        }
        case BEAA_MODULE_AVGPOOL:
            if (din)
                beaa_train_avgpool_backward(din, b->dout, (int)(md->in_c * B), (int)md->in_h,
                                            (int)md->in_w, (int)md->pool_k, (int)md->pool_stride);
            break;
        case BEAA_MODULE_GAP:
            if (din)
                beaa_train_gap_backward(din, b->dout, (int)md->in_c, B,
                                        (int)(md->in_h * md->in_w));
            break;
        }
    }
}
