/* plain.c - plaintext reference forward passes (see plain.h). Direct loops, no folding in the
 * model forward, so that it is an independent check of nn/fold.c. */
#include "nn/plain.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void beaa_nn_normalize(const beaa_model *m, const uint8_t *pixels, size_t n, double *x)
{
    size_t hw = (size_t)m->in_h * m->in_w, el = m->in_c * hw;
    for (size_t i = 0; i < n; i++)
        for (uint32_t c = 0; c < m->in_c; c++)
            for (size_t p = 0; p < hw; p++)
                x[i * el + c * hw + p] =
                    ((double)pixels[i * el + c * hw + p] / 255.0 - m->in_mean[c]) / m->in_std[c];
}

size_t beaa_nn_argmax(const double *v, size_t n)
{
    size_t b = 0;
    for (size_t i = 1; i < n; i++)
        if (v[i] > v[b]) b = i;
    return b;
}

/* out (cout, oh, ow) = conv(in (cin, h, w)) */
static void conv_fwd(const beaa_model_conv *cv, const double *in, double *out)
{
    for (uint32_t co = 0; co < cv->cout; co++)
        for (uint32_t y = 0; y < cv->out_h; y++)
            for (uint32_t x = 0; x < cv->out_w; x++) {
                double acc = cv->bias[co];
                for (uint32_t ci = 0; ci < cv->cin; ci++)
                    for (uint32_t i = 0; i < cv->kh; i++)
                        for (uint32_t j = 0; j < cv->kw; j++) {
                            long iy = (long)y * cv->stride - (long)cv->pad + i;
                            long ix = (long)x * cv->stride - (long)cv->pad + j;
                            if (iy < 0 || ix < 0 || iy >= (long)cv->in_h || ix >= (long)cv->in_w)
                                continue;
                            acc += (double)cv->weight[((co * cv->cin + ci) * cv->kh + i) * cv->kw + j] *
                                   in[((size_t)ci * cv->in_h + (size_t)iy) * cv->in_w + (size_t)ix];
                        }
                out[((size_t)co * cv->out_h + y) * cv->out_w + x] = acc;
            }
}

/* in place: activation then BatchNorm over (c, h, w) */
static void act_bn(const beaa_model_act *a, const beaa_model_bn *bn, double *v)
{
    size_t hw = (size_t)a->h * a->w;
    for (uint32_t c = 0; c < a->c; c++) {
        double gch = bn->gamma[c] / sqrt((double)bn->var[c] + (double)bn->eps);
        for (size_t p = 0; p < hw; p++) {
            size_t e = c * hw + p;
            double x = v[e], y;
            if (a->kind == BEAA_ACT_RELU) {
                y = x > 0 ? x : 0;
            } else {
                size_t i = a->gran == BEAA_POLY_LAYER ? 0 : a->gran == BEAA_POLY_CHANNEL ? c : e;
                y = ((double)a->a[i] * x + (double)a->b[i]) * x + (double)a->c0[i];
            }
            v[e] = (y - bn->mean[c]) * gch + bn->beta[c];
        }
    }
}

static void image_forward(const beaa_model *m, const double *x, double *bufa, double *bufb,
                          double *logits)
{
    size_t el = (size_t)m->in_c * m->in_h * m->in_w;
    memcpy(bufa, x, sizeof(double) * el);
    double *cur = bufa, *oth = bufb;
    for (uint32_t mi = 0; mi < m->n_modules; mi++) {
        const beaa_model_module *md = &m->modules[mi];
        double *t;
        switch (md->kind) {
        case BEAA_MODULE_CONV:
            conv_fwd(&md->conv[0], cur, oth);
            act_bn(&md->act[0], &md->bn[0], oth);
            t = cur; cur = oth; oth = t;
            break;
        case BEAA_MODULE_FIRE: {
            conv_fwd(&md->conv[0], cur, oth);
            act_bn(&md->act[0], &md->bn[0], oth);
            size_t n1 = (size_t)md->conv[1].cout * md->conv[1].out_h * md->conv[1].out_w;
            conv_fwd(&md->conv[1], oth, cur);
            conv_fwd(&md->conv[2], oth, cur + n1);
            act_bn(&md->act[1], &md->bn[1], cur);
            break;
        }
        case BEAA_MODULE_AVGPOOL:
        case BEAA_MODULE_GAP: {
            uint32_t kh = md->kind == BEAA_MODULE_GAP ? md->in_h : md->pool_k;
            uint32_t kw = md->kind == BEAA_MODULE_GAP ? md->in_w : md->pool_k;
            uint32_t s = md->kind == BEAA_MODULE_GAP ? 1 : md->pool_stride;
            for (uint32_t c = 0; c < md->out_c; c++)
                for (uint32_t y = 0; y < md->out_h; y++)
                    for (uint32_t xx = 0; xx < md->out_w; xx++) {
                        double acc = 0;
                        for (uint32_t i = 0; i < kh; i++)
                            for (uint32_t j = 0; j < kw; j++)
                                acc += cur[((size_t)c * md->in_h + y * s + i) * md->in_w + xx * s + j];
                        oth[((size_t)c * md->out_h + y) * md->out_w + xx] = acc / ((double)kh * kw);
                    }
            t = cur; cur = oth; oth = t;
            break;
        }
        }
    }
    memcpy(logits, cur, sizeof(double) * m->num_classes);
}

static size_t max_tensor(const beaa_model *m)
{
    size_t mx = (size_t)m->in_c * m->in_h * m->in_w;
    for (uint32_t i = 0; i < m->n_modules; i++) {
        const beaa_model_module *md = &m->modules[i];
        size_t a = (size_t)md->out_c * md->out_h * md->out_w;
        size_t b = (size_t)md->in_c * md->in_h * md->in_w;
        if (md->kind == BEAA_MODULE_FIRE)
            b += (size_t)md->conv[0].cout * md->conv[0].out_h * md->conv[0].out_w;
        if (a > mx) mx = a;
        if (b > mx) mx = b;
    }
    return mx;
}

beaa_status beaa_nn_plain_model_forward(const beaa_model *m, const double *x, size_t n,
                                        double *logits)
{
    if (!m || (!x && n) || (!logits && n)) return BEAA_ERR_ARG;
    size_t mx = max_tensor(m), el = (size_t)m->in_c * m->in_h * m->in_w;
    int fail = 0;
#pragma omp parallel
    {
        double *a = malloc(sizeof(double) * mx * 2), *b = malloc(sizeof(double) * mx * 2);
        if (!a || !b) {
#pragma omp atomic write
            fail = 1;
        } else {
#pragma omp for schedule(dynamic, 16)
            for (size_t i = 0; i < n; i++)
                image_forward(m, x + i * el, a, b, logits + i * m->num_classes);
        }
        free(a);
        free(b);
    }
    return fail ? BEAA_ERR_NOMEM : BEAA_OK;
}

static size_t net_max_elems(const beaa_nn_net *net)
{
    size_t mx = (size_t)net->in_c * net->in_h * net->in_w;
    for (uint32_t s = 0; s < net->nstages; s++) {
        size_t a = (size_t)net->stages[s].cout * net->stages[s].hout * net->stages[s].wout;
        if (a > mx) mx = a;
    }
    return mx;
}

beaa_status beaa_nn_plain_folded_forward(const beaa_nn_net *net, const double *x, size_t n,
                                         double *logits)
{
    if (!net || (!x && n) || (!logits && n)) return BEAA_ERR_ARG;
    size_t mx = net_max_elems(net), el = (size_t)net->in_c * net->in_h * net->in_w;
    int fail = 0;
#pragma omp parallel
    {
        double *in = malloc(sizeof(double) * mx), *xv = malloc(sizeof(double) * mx);
        if (!in || !xv) {
#pragma omp atomic write
            fail = 1;
        } else {
#pragma omp for schedule(dynamic, 16)
            for (size_t i = 0; i < n; i++) {
                memcpy(in, x + i * el, sizeof(double) * el);
                for (uint32_t si = 0; si < net->nstages; si++) {
                    const beaa_nn_stage *s = &net->stages[si];
                    memset(xv, 0, sizeof(double) * s->cout * s->hout * s->wout);
                    for (uint32_t bi = 0; bi < s->nblocks; bi++) {
                        const beaa_nn_fblock *b = &s->blocks[bi];
                        for (uint32_t r = 0; r < b->m; r++) {
                            double acc = b->bias[r];
                            for (uint32_t c = 0; c < b->k; c++)
                                acc += b->w[(size_t)r * b->k + c] * in[b->in[c]];
                            int32_t o = b->out[r];
                            xv[o] = acc * (s->a[o] * acc + s->b[o]);
                        }
                    }
                    /* pool (sum) or copy the raw products into the next input */
                    if (s->pool_kh) {
                        for (uint32_t c = 0; c < s->pc; c++)
                            for (uint32_t py = 0; py < s->ph; py++)
                                for (uint32_t px = 0; px < s->pw; px++) {
                                    double acc = 0;
                                    for (uint32_t a = 0; a < s->pool_kh; a++)
                                        for (uint32_t bb = 0; bb < s->pool_kw; bb++)
                                            acc += xv[((size_t)c * s->hout + py * s->pool_kh + a) * s->wout +
                                                      px * s->pool_kw + bb];
                                    in[((size_t)c * s->ph + py) * s->pw + px] = acc;
                                }
                    } else {
                        memcpy(in, xv, sizeof(double) * s->cout * s->hout * s->wout);
                    }
                }
                for (uint32_t k = 0; k < net->num_classes; k++)
                    logits[i * net->num_classes + k] = net->out_sc[k] * in[k] + net->out_tt[k];
            }
        }
        free(in);
        free(xv);
    }
    return fail ? BEAA_ERR_NOMEM : BEAA_OK;
}
