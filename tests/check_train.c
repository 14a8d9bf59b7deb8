/* check_train.c - tests of train/: every backward pass against central finite differences
 * (float layers: tolerance |g - fd| <= 2e-2 * max(|g|,|fd|) + 2e-3, losses in double: 1e-5),
 * convolution forward against a naive direct loop, SGD against a hand-written Nesterov step,
 * data loaders on real Fashion-MNIST and on small synthetic broken files, and a short
 * end-to-end training run on 2,000 real Fashion-MNIST images that must reach 70% accuracy. */
#include <cblas.h>
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "nn/model.h"
#include "nn/plain.h"
#include "train/arch.h"
#include "train/augment.h"
#include "train/data.h"
#include "train/layers.h"
#include "train/net.h"
#include "train/prng.h"
#include "train/sgd.h"
#include "train/trainer.h"

static int light(void) { return getenv("BEAA_TEST_LIGHT") != NULL; }

static void fill(float *p, size_t n, beaa_train_rng *r, float scale)
{
    for (size_t i = 0; i < n; i++) p[i] = scale * (float)(2 * beaa_train_rng_uniform(r) - 1);
}

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* compares analytic g against central differences of f over parameter array p */
typedef double (*loss_fn)(void *ctx);
static int fd_check(const char *what, float *p, const float *g, size_t n, loss_fn f, void *ctx,
                    float h)
{
    int bad = 0;
    size_t step = n > 200 ? n / 97 + 1 : 1;   /* at most ~100 probes per array */
    for (size_t i = 0; i < n; i += step) {
        float save = p[i];
        p[i] = save + h;
        double lp = f(ctx);
        p[i] = save - h;
        double lm = f(ctx);
        p[i] = save;
        double fd = (lp - lm) / (2.0 * h);
        double tol = 2e-2 * fmax(fabs(fd), fabs(g[i])) + 2e-3;
        if (fabs(fd - g[i]) > tol) {
            if (bad < 5)
                fprintf(stderr, "%s[%zu]: analytic %.6g vs finite difference %.6g\n", what, i,
                        g[i], fd);
            bad++;
        }
    }
    return bad;
}

/* ------------------------------------------------------------------ convolution */

typedef struct conv_ctx {
    beaa_model_conv c;
    int B;
    float *in, *w, *b, *out, *cols, *R;
} conv_ctx;

static double conv_loss(void *v)
{
    conv_ctx *x = v;
    beaa_train_conv_forward(x->out, x->cols, x->in, x->w, x->b, &x->c, x->B);
    return dot(x->out, x->R, (size_t)x->c.cout * x->B * x->c.out_h * x->c.out_w);
}

static void conv_case(uint32_t cin, uint32_t cout, uint32_t kh, uint32_t kw, uint32_t s,
                      uint32_t p, uint32_t h, uint32_t w, int B)
{
    beaa_train_rng r;
    beaa_train_rng_seed(&r, 7 + kh * 100 + s * 10 + p);
    conv_ctx x;
    memset(&x, 0, sizeof x);
    x.c.cin = cin; x.c.cout = cout; x.c.kh = kh; x.c.kw = kw; x.c.stride = s; x.c.pad = p;
    x.c.in_h = h; x.c.in_w = w;
    x.c.out_h = (h + 2 * p - kh) / s + 1; x.c.out_w = (w + 2 * p - kw) / s + 1;
    x.B = B;
    size_t ni = (size_t)cin * B * h * w, nw = (size_t)cout * cin * kh * kw;
    size_t no = (size_t)cout * B * x.c.out_h * x.c.out_w, nc = beaa_train_conv_cols_size(&x.c, B);
    x.in = malloc(ni * 4); x.w = malloc(nw * 4); x.b = malloc(cout * 4);
    x.out = malloc(no * 4); x.R = malloc(no * 4);
    x.cols = nc ? malloc(nc * 4) : NULL;
    float *dcols = nc ? malloc(nc * 4) : NULL;
    float *din = calloc(ni, 4), *dw = calloc(nw, 4), *db = calloc(cout, 4);
    fill(x.in, ni, &r, 1); fill(x.w, nw, &r, 0.5f); fill(x.b, cout, &r, 0.5f); fill(x.R, no, &r, 1);
    conv_loss(&x);
    /* forward against a naive direct convolution */
    double maxerr = 0;
    for (uint32_t co = 0; co < cout; co++)
        for (int b = 0; b < B; b++)
            for (uint32_t y = 0; y < x.c.out_h; y++)
                for (uint32_t xx = 0; xx < x.c.out_w; xx++) {
                    double acc = x.b[co];
                    for (uint32_t ci = 0; ci < cin; ci++)
                        for (uint32_t i = 0; i < kh; i++)
                            for (uint32_t j = 0; j < kw; j++) {
                                long iy = (long)(y * s + i) - p, ix = (long)(xx * s + j) - p;
                                if (iy < 0 || iy >= (long)h || ix < 0 || ix >= (long)w) continue;
                                acc += (double)x.w[((co * cin + ci) * kh + i) * kw + j] *
                                       x.in[(((size_t)ci * B + b) * h + iy) * w + ix];
                            }
                    double got = x.out[(((size_t)co * B + b) * x.c.out_h + y) * x.c.out_w + xx];
                    maxerr = fmax(maxerr, fabs(got - acc));
                }
    ck_assert_msg(maxerr < 1e-4, "conv forward vs naive: max error %g", maxerr);
    /* backward: accumulate on top of a known value to check += */
    for (size_t i = 0; i < ni; i++) din[i] = 1.0f;
    beaa_train_conv_backward(din, dw, db, dcols, x.R, x.cols, x.in, x.w, &x.c, B);
    for (size_t i = 0; i < ni; i++) din[i] -= 1.0f;
    int bad = fd_check("conv din", x.in, din, ni, conv_loss, &x, 1e-2f);
    bad += fd_check("conv dw", x.w, dw, nw, conv_loss, &x, 1e-2f);
    bad += fd_check("conv db", x.b, db, cout, conv_loss, &x, 1e-2f);
    ck_assert_msg(bad == 0, "conv %ux%u s%u p%u: %d gradient mismatches", kh, kw, s, p, bad);
    free(x.in); free(x.w); free(x.b); free(x.out); free(x.R); free(x.cols); free(dcols);
    free(din); free(dw); free(db);
}

START_TEST(test_conv_grad)
{
    conv_case(2, 3, 5, 5, 2, 2, 9, 9, 2);     /* conv1-like: 5x5 stride 2 pad 2 */
    conv_case(3, 4, 3, 3, 1, 1, 5, 6, 2);     /* 3x3 same padding, non-square input */
    conv_case(4, 3, 1, 1, 1, 0, 4, 4, 3);     /* pointwise (no im2col) */
    conv_case(2, 2, 3, 2, 2, 1, 7, 6, 2);     /* non-square kernel, stride 2 */
}
END_TEST

/* ------------------------------------------------------------------ pools */

typedef struct pool_ctx { float *in, *out, *R; int planes, h, w, k, s, gap, C, B; } pool_ctx;

static double pool_loss(void *v)
{
    pool_ctx *x = v;
    size_t no;
    if (x->gap) {
        beaa_train_gap_forward(x->out, x->in, x->C, x->B, x->h * x->w);
        no = (size_t)x->C * x->B;
    } else {
        beaa_train_avgpool_forward(x->out, x->in, x->planes, x->h, x->w, x->k, x->s);
        no = (size_t)x->planes * ((x->h - x->k) / x->s + 1) * ((x->w - x->k) / x->s + 1);
    }
    return dot(x->out, x->R, no);
}

START_TEST(test_pool_grad)
{
    beaa_train_rng r;
    beaa_train_rng_seed(&r, 11);
    int cases[3][3] = {{2, 2, 7}, {3, 2, 7}, {2, 1, 5}};   /* k, s, side (7 -> floor) */
    for (int c = 0; c < 4; c++) {
        pool_ctx x = {0};
        x.planes = 6; x.C = 3; x.B = 2;
        x.gap = c == 3;
        x.k = x.gap ? 0 : cases[c][0]; x.s = x.gap ? 1 : cases[c][1];
        x.h = x.w = x.gap ? 5 : cases[c][2];
        size_t ni = (size_t)x.planes * x.h * x.w;
        x.in = malloc(ni * 4); x.out = malloc(ni * 4); x.R = malloc(ni * 4);
        float *din = calloc(ni, 4);
        fill(x.in, ni, &r, 1); fill(x.R, ni, &r, 1);
        pool_loss(&x);
        if (!x.gap) {
            /* forward: first output is the mean of the top-left window */
            double m = 0;
            for (int i = 0; i < x.k; i++)
                for (int j = 0; j < x.k; j++) m += x.in[i * x.w + j];
            ck_assert(fabs(m / (x.k * x.k) - x.out[0]) < 1e-6);
            beaa_train_avgpool_backward(din, x.R, x.planes, x.h, x.w, x.k, x.s);
        } else {
            beaa_train_gap_backward(din, x.R, x.C, x.B, x.h * x.w);
        }
        ck_assert_int_eq(fd_check("pool din", x.in, din, ni, pool_loss, &x, 1e-2f), 0);
        free(x.in); free(x.out); free(x.R); free(din);
    }
}
END_TEST

/* ------------------------------------------------------------------ BatchNorm */

typedef struct bn_ctx {
    float *in, *out, *xh, *inv, *g, *b, *rm, *rv, *R;
    int C, train;
    size_t n;
} bn_ctx;

static double bn_loss(void *v)
{
    bn_ctx *x = v;
    beaa_train_bn_forward(x->out, x->xh, x->inv, x->in, x->g, x->b, x->rm, x->rv, 1e-5f, 0.1f,
                          x->C, x->n, x->train);
    return dot(x->out, x->R, (size_t)x->C * x->n);
}

START_TEST(test_bn_grad)
{
    beaa_train_rng r;
    beaa_train_rng_seed(&r, 12);
    for (int train = 1; train >= 0; train--) {
        bn_ctx x = {0};
        x.C = 3; x.n = 2 * 10; x.train = train;
        size_t N = (size_t)x.C * x.n;
        x.in = malloc(N * 4); x.out = malloc(N * 4); x.xh = malloc(N * 4); x.R = malloc(N * 4);
        x.inv = malloc(12); x.g = malloc(12); x.b = malloc(12); x.rm = calloc(3, 4); x.rv = malloc(12);
        fill(x.in, N, &r, 2); fill(x.R, N, &r, 1); fill(x.g, 3, &r, 1); fill(x.b, 3, &r, 1);
        for (int c = 0; c < 3; c++) { x.in[c * x.n] += 3.0f; x.rv[c] = 1.5f; x.rm[c] = 0.2f; }
        float *din = calloc(N, 4), dg[3] = {0}, dbt[3] = {0};
        bn_loss(&x);
        if (train) {
            /* batch statistics: each channel of the output has mean beta, variance gamma^2 */
            for (int c = 0; c < 3; c++) {
                double m = 0, v = 0;
                for (size_t i = 0; i < x.n; i++) m += x.out[c * x.n + i];
                m /= x.n;
                for (size_t i = 0; i < x.n; i++) v += pow(x.out[c * x.n + i] - m, 2);
                v /= x.n;
                ck_assert(fabs(m - x.b[c]) < 1e-5);
                ck_assert(fabs(v - (double)x.g[c] * x.g[c]) < 1e-3 * (1 + x.g[c] * x.g[c]));
            }
            beaa_train_bn_backward(din, dg, dbt, x.R, x.xh, x.inv, x.g, x.C, x.n);
        } else {
            beaa_train_bn_backward_eval(din, dg, dbt, x.R, x.xh, x.inv, x.g, x.C, x.n);
        }
        int bad = fd_check("bn din", x.in, din, N, bn_loss, &x, 1e-2f);
        bad += fd_check("bn dgamma", x.g, dg, 3, bn_loss, &x, 1e-2f);
        bad += fd_check("bn dbeta", x.b, dbt, 3, bn_loss, &x, 1e-2f);
        ck_assert_msg(bad == 0, "BatchNorm (train=%d): %d mismatches", train, bad);
        free(x.in); free(x.out); free(x.xh); free(x.R); free(x.inv); free(x.g); free(x.b);
        free(x.rm); free(x.rv); free(din);
    }
}
END_TEST

START_TEST(test_bn_running_stats)
{
    /* one channel, values 1..4: batch mean 2.5, unbiased var 5/3 */
    float in[4] = {1, 2, 3, 4}, out[4], xh[4], inv[1], g = 1, b = 0, rm = 0, rv = 1;
    beaa_train_bn_forward(out, xh, inv, in, &g, &b, &rm, &rv, 1e-5f, 0.1f, 1, 4, 1);
    ck_assert(fabs(rm - 0.25) < 1e-6);
    ck_assert(fabs(rv - (0.9 + 0.1 * 5.0 / 3.0)) < 1e-6);
    /* eval: uses running statistics */
    beaa_train_bn_forward(out, xh, inv, in, &g, &b, &rm, &rv, 1e-5f, 0.1f, 1, 4, 0);
    ck_assert(fabs(out[0] - (1 - rm) / sqrt(rv + 1e-5)) < 1e-5);
}
END_TEST

/* ------------------------------------------------------------------ activations */

typedef struct act_ctx {
    float *in, *out, *a, *b, *c, *R;
    beaa_poly_gran g;
    int C, B, hw, relu;
} act_ctx;

static double act_loss(void *v)
{
    act_ctx *x = v;
    size_t n = (size_t)x->C * x->B * x->hw;
    if (x->relu) beaa_train_relu_forward(x->out, x->in, n);
    else beaa_train_poly_forward(x->out, x->in, x->a, x->b, x->c, x->g, x->C, x->B, x->hw);
    return dot(x->out, x->R, n);
}

START_TEST(test_poly_grad)
{
    beaa_train_rng r;
    beaa_train_rng_seed(&r, 13);
    for (int gi = 0; gi < 3; gi++) {
        act_ctx x = {0};
        x.g = (beaa_poly_gran)gi; x.C = 3; x.B = 2; x.hw = 5;
        size_t n = (size_t)x.C * x.B * x.hw;
        size_t np = gi == 0 ? 1 : gi == 1 ? (size_t)x.C : (size_t)x.C * x.hw;
        x.in = malloc(n * 4); x.out = malloc(n * 4); x.R = malloc(n * 4);
        x.a = malloc(np * 4); x.b = malloc(np * 4); x.c = malloc(np * 4);
        fill(x.in, n, &r, 2); fill(x.R, n, &r, 1);
        fill(x.a, np, &r, 0.5f); fill(x.b, np, &r, 1); fill(x.c, np, &r, 1);
        act_loss(&x);
        /* forward: element (c=2, b=1, i=4) against the formula */
        size_t e = (2 * 2 + 1) * 5 + 4, k = gi == 0 ? 0 : gi == 1 ? 2 : 2 * 5 + 4;
        double want = x.a[k] * x.in[e] * x.in[e] + x.b[k] * x.in[e] + x.c[k];
        ck_assert(fabs(x.out[e] - want) < 1e-5);
        float *din = calloc(n, 4), *da = calloc(np, 4), *db = calloc(np, 4), *dc = calloc(np, 4);
        beaa_train_poly_backward(din, da, db, dc, x.R, x.in, x.a, x.b, x.g, x.C, x.B, x.hw);
        int bad = fd_check("poly din", x.in, din, n, act_loss, &x, 1e-2f);
        bad += fd_check("poly da", x.a, da, np, act_loss, &x, 1e-2f);
        bad += fd_check("poly db", x.b, db, np, act_loss, &x, 1e-2f);
        bad += fd_check("poly dc", x.c, dc, np, act_loss, &x, 1e-2f);
        ck_assert_msg(bad == 0, "poly granularity %d: %d mismatches", gi, bad);
        free(x.in); free(x.out); free(x.R); free(x.a); free(x.b); free(x.c);
        free(din); free(da); free(db); free(dc);
    }
}
END_TEST

START_TEST(test_relu_grad)
{
    beaa_train_rng r;
    beaa_train_rng_seed(&r, 14);
    act_ctx x = {0};
    x.relu = 1; x.C = 2; x.B = 2; x.hw = 6;
    size_t n = 24;
    x.in = malloc(n * 4); x.out = malloc(n * 4); x.R = malloc(n * 4);
    fill(x.in, n, &r, 2); fill(x.R, n, &r, 1);
    for (size_t i = 0; i < n; i++)   /* keep away from the kink */
        if (fabsf(x.in[i]) < 0.1f) x.in[i] = 0.5f;
    float *din = calloc(n, 4);
    act_loss(&x);
    beaa_train_relu_backward(din, x.R, x.in, n);
    ck_assert_int_eq(fd_check("relu din", x.in, din, n, act_loss, &x, 1e-2f), 0);
    free(x.in); free(x.out); free(x.R); free(din);
}
END_TEST

/* ------------------------------------------------------------------ losses (double FD) */

typedef struct loss_ctx { float *s, *t; unsigned char *y; int B, K; float lam, T; int kd; } loss_ctx;

static double loss_eval(void *v)
{
    loss_ctx *x = v;
    return x->kd ? beaa_train_kd_loss(NULL, x->s, x->t, x->y, x->B, x->K, x->lam, x->T)
                 : beaa_train_ce_loss(NULL, x->s, x->y, x->B, x->K);
}

START_TEST(test_loss_grad)
{
    beaa_train_rng r;
    beaa_train_rng_seed(&r, 15);
    float s[4 * 5], t[4 * 5];
    unsigned char y[4] = {0, 3, 4, 1};
    fill(s, 20, &r, 3); fill(t, 20, &r, 3);
    for (int kd = 0; kd < 2; kd++) {
        loss_ctx x = {s, t, y, 4, 5, 0.7f, 4.0f, kd};
        float g[20] = {0};
        if (kd) beaa_train_kd_loss(g, s, t, y, 4, 5, 0.7f, 4.0f);
        else beaa_train_ce_loss(g, s, y, 4, 5);
        for (int i = 0; i < 20; i++) {
            float save = s[i];
            double h = 1e-2;
            s[i] = (float)(save + h);
            double lp = loss_eval(&x);
            s[i] = (float)(save - h);
            double lm = loss_eval(&x);
            s[i] = save;
            double fd = (lp - lm) / ((double)(float)(save + h) - (double)(float)(save - h));
            ck_assert_msg(fabs(fd - g[i]) < 1e-4 + 1e-3 * fabs(fd), "%s grad[%d] %g vs %g",
                          kd ? "KD" : "CE", i, g[i], fd);
        }
    }
    /* KD with identical logits and lambda 1 is zero; CE of uniform logits is log K */
    ck_assert(fabs(beaa_train_kd_loss(NULL, s, s, y, 4, 5, 1.0f, 3.0f)) < 1e-12);
    float z[5] = {0};
    ck_assert(fabs(beaa_train_ce_loss(NULL, z, y, 1, 5) - log(5.0)) < 1e-12);
}
END_TEST

/* ------------------------------------------------------------------ whole net incl. Fire */

typedef struct net_ctx { beaa_train_net *n; float *x; unsigned char *y; int B; } net_ctx;

static double net_loss(void *v)
{
    net_ctx *c = v;
    const float *z = beaa_train_net_forward(c->n, c->x, c->B, 1);
    return beaa_train_ce_loss(NULL, z, c->y, c->B, (int)c->n->m->num_classes);
}

static void net_case(beaa_act_kind act, beaa_poly_gran gran)
{
    beaa_model_desc d[] = {
        {.kind = BEAA_MODULE_CONV, .cout = 3, .k = 3, .stride = 2, .pad = 1, .act = act, .gran = gran},
        {.kind = BEAA_MODULE_FIRE, .squeeze = 2, .expand1 = 2, .expand3 = 3, .k3 = 3, .act = act, .gran = gran},
        {.kind = BEAA_MODULE_AVGPOOL, .k = 2, .stride = 2},
        {.kind = BEAA_MODULE_CONV, .cout = 4, .k = 1, .stride = 1, .pad = 0, .act = act, .gran = gran},
        {.kind = BEAA_MODULE_GAP},
    };
    beaa_model *m;
    ck_assert_int_eq(beaa_model_build(1, 9, 9, 4, d, 5, &m), BEAA_OK);
    ck_assert_int_eq(beaa_train_init_weights(m, 3, 0.2f, 0.7f, 0.1f), BEAA_OK);
    beaa_train_rng r;
    beaa_train_rng_seed(&r, 16);
    /* random BN affine and poly coefficients so every path carries gradient */
    for (size_t i = 0; i < m->n_params; i++) m->params[i] += 0.1f * (float)beaa_train_rng_normal(&r);
    for (uint32_t i = 0; i < m->n_modules; i++)
        for (int j = 0; j < 2; j++)
            for (uint32_t k = 0; k < m->modules[i].bn[j].channels; k++) m->modules[i].bn[j].var[k] = 1;
    beaa_train_net *n;
    ck_assert_int_eq(beaa_train_net_new(m, 4, &n), BEAA_OK);
    net_ctx c = {n, malloc(4 * 81 * 4), (unsigned char[]){0, 1, 2, 3}, 4};
    fill(c.x, 4 * 81, &r, 1.5f);
    net_loss(&c);
    memset(n->dlogits, 0, sizeof(float) * 16);
    beaa_train_ce_loss(n->dlogits, n->logits, c.y, 4, 4);
    beaa_train_net_zero_grad(n);
    beaa_train_net_backward(n);
    float *g = malloc(m->n_params * 4);
    memcpy(g, n->grads, m->n_params * 4);
    int bad = 0;
    for (size_t i = 0; i < m->n_params; i++) {
        if (n->mask[i] == BEAA_TRAIN_FIXED) continue;
        bad += fd_check("net param", m->params + i, g + i, 1, net_loss, &c, 1e-2f);
    }
    ck_assert_msg(bad == 0, "net (act %d gran %d): %d of %zu parameter gradients off", act, gran,
                  bad, m->n_params);
    free(g); free(c.x);
    beaa_train_net_free(n);
    beaa_model_free(m);
}

START_TEST(test_net_fire_grad)
{
    net_case(BEAA_ACT_POLY, BEAA_POLY_ELEMENT);
    net_case(BEAA_ACT_POLY, BEAA_POLY_CHANNEL);
    net_case(BEAA_ACT_POLY, BEAA_POLY_LAYER);
}
END_TEST

/* ------------------------------------------------------------------ SGD */

START_TEST(test_sgd_nesterov)
{
    float p[3] = {1.0f, -2.0f, 0.5f}, v[3] = {0}, g[3] = {0.3f, 0.1f, -0.2f};
    unsigned char mask[3] = {BEAA_TRAIN_WEIGHT, BEAA_TRAIN_POLY, BEAA_TRAIN_FIXED};
    double rp[2] = {1.0, -2.0}, rv[2] = {0, 0}, wd[2] = {0.01, 0.001};
    for (int step = 0; step < 3; step++) {
        beaa_train_sgd_step(p, g, v, mask, 3, 0.1f, 0.9f, 0.01f, 0.001f);
        for (int i = 0; i < 2; i++) {
            double gg = g[i] + wd[i] * rp[i];
            rv[i] = 0.9 * rv[i] + gg;
            rp[i] -= 0.1 * (gg + 0.9 * rv[i]);
        }
    }
    ck_assert(fabs(p[0] - rp[0]) < 1e-5 && fabs(p[1] - rp[1]) < 1e-5);
    ck_assert(p[2] == 0.5f);   /* fixed entries untouched */
    float gc[2] = {3, 4};
    unsigned char mk[2] = {1, 1};
    ck_assert(fabs(beaa_train_clip_grads(gc, mk, 2, 1.0f) - 5.0) < 1e-9);
    ck_assert(fabs(gc[0] - 0.6f) < 1e-6 && fabs(gc[1] - 0.8f) < 1e-6);
    ck_assert(fabs(beaa_train_lr_cosine(0.1f, 0.0f, 100, 10, 100)) < 1e-7);
    ck_assert(fabs(beaa_train_lr_cosine(0.1f, 0.0f, 10, 10, 110) - 0.1f) < 1e-7);
    ck_assert(fabs(beaa_train_lr_cosine(0.1f, 0.0f, 60, 10, 110) - 0.05f) < 1e-6);
}
END_TEST

/* ------------------------------------------------------------------ data */

static char tmpdir[256];

static void write_gz(const char *path, const void *buf, size_t n)
{
    gzFile f = gzopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(gzwrite(f, buf, (unsigned)n), (int)n);
    gzclose(f);
}

/* writes the big-endian IDX header: words = 4 (images: magic n h w) or 2 (labels: magic n) */
static void idx_header(uint8_t *b, int words, uint32_t magic, uint32_t n, uint32_t h, uint32_t w)
{
    uint32_t v[4] = {magic, n, h, w};
    for (int i = 0; i < words; i++)
        for (int k = 0; k < 4; k++) b[4 * i + k] = (uint8_t)(v[i] >> (24 - 8 * k));
}

START_TEST(test_idx_loader_errors)
{
    char ip[300], lp[300], err[256];
    snprintf(ip, sizeof ip, "%s/img.gz", tmpdir);
    snprintf(lp, sizeof lp, "%s/lab.gz", tmpdir);
    uint8_t img[16 + 3 * 4], lab[8 + 3];
    idx_header(img, 4, 0x803, 3, 2, 2);
    for (int i = 0; i < 12; i++) img[16 + i] = (uint8_t)(i * 20);
    idx_header(lab, 2, 0x801, 3, 0, 0);
    lab[8] = 1; lab[9] = 9; lab[10] = 0;
    write_gz(ip, img, sizeof img);
    write_gz(lp, lab, sizeof lab);
    beaa_dataset d;
    ck_assert_int_eq(beaa_data_idx_load(ip, lp, &d, err, sizeof err), BEAA_OK);
    ck_assert(d.n == 3 && d.h == 2 && d.w == 2 && d.labels[1] == 9 && d.pixels[11] == 220);
    beaa_dataset_free(&d);
    /* truncated pixels */
    write_gz(ip, img, sizeof img - 1);
    ck_assert_int_eq(beaa_data_idx_load(ip, lp, &d, err, sizeof err), BEAA_ERR_DATA);
    ck_assert_ptr_null(d.pixels);
    /* trailing bytes */
    uint8_t big[sizeof img + 1];
    memcpy(big, img, sizeof img);
    big[sizeof img] = 0;
    write_gz(ip, big, sizeof big);
    ck_assert_int_eq(beaa_data_idx_load(ip, lp, &d, err, sizeof err), BEAA_ERR_DATA);
    /* bad magic */
    idx_header(img, 4, 0x802, 3, 2, 2);
    write_gz(ip, img, sizeof img);
    ck_assert_int_eq(beaa_data_idx_load(ip, lp, &d, err, sizeof err), BEAA_ERR_DATA);
    ck_assert(strstr(err, "magic") != NULL);
    /* count mismatch */
    idx_header(img, 4, 0x803, 2, 2, 2);
    write_gz(ip, img, 16 + 8);
    ck_assert_int_eq(beaa_data_idx_load(ip, lp, &d, err, sizeof err), BEAA_ERR_DATA);
    /* huge declared dimensions: refused before allocating */
    idx_header(img, 4, 0x803, 3, 100000, 100000);
    write_gz(ip, img, sizeof img);
    ck_assert_int_eq(beaa_data_idx_load(ip, lp, &d, err, sizeof err), BEAA_ERR_DATA);
    /* label out of range */
    idx_header(img, 4, 0x803, 3, 2, 2);
    write_gz(ip, img, sizeof img);
    lab[9] = 10;
    write_gz(lp, lab, sizeof lab);
    ck_assert_int_eq(beaa_data_idx_load(ip, lp, &d, err, sizeof err), BEAA_ERR_DATA);
    /* plain (not gzip) garbage and missing files */
    FILE *f = fopen(ip, "wb");
    fputs("hello", f);
    fclose(f);
    ck_assert_int_eq(beaa_data_idx_load(ip, lp, &d, err, sizeof err), BEAA_ERR_DATA);
    ck_assert_int_eq(beaa_data_fmnist_load("/nonexistent/dir", 1, &d, err, sizeof err), BEAA_ERR_DATA);
    ck_assert(strstr(err, "not found") != NULL && strstr(err, "/nonexistent/dir/train-images-idx3-ubyte.gz") != NULL);
}
END_TEST

START_TEST(test_cifar_loader)
{
    char dir[300], p[400], err[256];
    snprintf(dir, sizeof dir, "%s/cifar", tmpdir);
    mkdir(dir, 0755);
    static uint8_t rec[2 * 3073];
    for (int i = 0; i < 2 * 3073; i++) rec[i] = (uint8_t)i;
    rec[0] = 3; rec[3073] = 7;
    snprintf(p, sizeof p, "%s/test_batch.bin", dir);
    FILE *f = fopen(p, "wb");
    fwrite(rec, 1, sizeof rec, f);
    fclose(f);
    beaa_dataset d;
    ck_assert_int_eq(beaa_data_cifar10_load(dir, 0, &d, err, sizeof err), BEAA_OK);
    ck_assert(d.n == 2 && d.c == 3 && d.labels[0] == 3 && d.labels[1] == 7);
    ck_assert(d.pixels[0] == 1 && d.pixels[3072] == (uint8_t)3074);
    beaa_dataset_free(&d);
    f = fopen(p, "wb");
    fwrite(rec, 1, sizeof rec - 5, f);   /* not a whole record */
    fclose(f);
    ck_assert_int_eq(beaa_data_cifar10_load(dir, 0, &d, err, sizeof err), BEAA_ERR_DATA);
    rec[3073] = 10;                       /* bad label */
    f = fopen(p, "wb");
    fwrite(rec, 1, sizeof rec, f);
    fclose(f);
    ck_assert_int_eq(beaa_data_cifar10_load(dir, 0, &d, err, sizeof err), BEAA_ERR_DATA);
    ck_assert_int_eq(beaa_data_cifar10_load(dir, 1, &d, err, sizeof err), BEAA_ERR_DATA);
}
END_TEST

static void write_file(const char *path, const void *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(buf, 1, n, f);
    fclose(f);
}

START_TEST(test_folder_loader_split)
{
    char dir[300], p[500], err[256];
    snprintf(dir, sizeof dir, "%s/folder", tmpdir);
    mkdir(dir, 0755);
    const char *cls[2] = {"a_normal", "b_sick"};
    for (int k = 0; k < 2; k++) {
        snprintf(p, sizeof p, "%s/%s", dir, cls[k]);
        mkdir(p, 0755);
        for (int i = 0; i < 10; i++) {
            char fp[600];
            uint8_t buf[64];
            int hl;
            if (i % 2) {   /* 4x4 gray with a comment */
                hl = snprintf((char *)buf, sizeof buf, "P5\n# c\n4 4\n255\n");
                memset(buf + hl, k ? 200 : 10, 16);
                snprintf(fp, sizeof fp, "%s/%s/img%d.pgm", dir, cls[k], i);
                write_file(fp, buf, (size_t)hl + 16);
            } else {       /* 2x2 colour */
                hl = snprintf((char *)buf, sizeof buf, "P6 2 2 255\n");
                memset(buf + hl, k ? 200 : 10, 12);
                snprintf(fp, sizeof fp, "%s/%s/img%d.ppm", dir, cls[k], i);
                write_file(fp, buf, (size_t)hl + 12);
            }
        }
        snprintf(p, sizeof p, "%s/%s/readme.txt", dir, cls[k]);
        write_file(p, "x", 1);     /* ignored */
    }
    beaa_dataset d, tr, va, te;
    ck_assert_int_eq(beaa_data_folder_load(dir, 1, 8, 8, &d, err, sizeof err), BEAA_OK);
    ck_assert(d.n == 20 && d.num_classes == 2 && d.h == 8);
    for (uint32_t i = 0; i < d.n; i++)   /* constant images stay constant after resizing */
        ck_assert_int_eq(d.pixels[i * 64 + 27], d.labels[i] ? 200 : 10);
    ck_assert_int_eq(beaa_data_split(&d, 0.6, 0.1, 5, &tr, &va, &te), BEAA_OK);
    ck_assert(tr.n == 12 && va.n == 2 && te.n == 6);
    int c1 = 0;
    for (uint32_t i = 0; i < tr.n; i++) c1 += tr.labels[i];
    ck_assert_int_eq(c1, 6);            /* balanced: 6 of each class in train */
    beaa_dataset_free(&tr); beaa_dataset_free(&va); beaa_dataset_free(&te);
    beaa_dataset_free(&d);
    /* a malformed image: header says 4x4, data is short */
    snprintf(p, sizeof p, "%s/%s/bad.pgm", dir, cls[0]);
    write_file(p, "P5 4 4 255\nabc", 14);
    ck_assert_int_eq(beaa_data_folder_load(dir, 1, 8, 8, &d, err, sizeof err), BEAA_ERR_DATA);
    ck_assert(strstr(err, "bad.pgm") != NULL);
    write_file(p, "P5 4 4 65535\n", 13);   /* 16-bit not supported */
    ck_assert_int_eq(beaa_data_folder_load(dir, 1, 8, 8, &d, err, sizeof err), BEAA_ERR_DATA);
    unlink(p);
    snprintf(p, sizeof p, "%s/c_empty", dir);
    mkdir(p, 0755);
    ck_assert_int_eq(beaa_data_folder_load(dir, 1, 8, 8, &d, err, sizeof err), BEAA_ERR_DATA);
    ck_assert_int_eq(beaa_data_folder_load("/nonexistent", 1, 8, 8, &d, err, sizeof err), BEAA_ERR_DATA);
}
END_TEST

START_TEST(test_augment)
{
    uint8_t img[16];
    for (int i = 0; i < 16; i++) img[i] = (uint8_t)(i * 10);
    float out[16], mean = 0.5f, sd = 0.25f;
    beaa_train_image_to_input(out, 16, img, 1, 4, 4, &mean, &sd, NULL, NULL);
    for (int i = 0; i < 16; i++) ck_assert(fabs(out[i] - (i * 10 / 255.0 - 0.5) / 0.25) < 1e-5);
    /* a pure shift keeps pixel values (moved) and fills zeros; flip mirrors */
    beaa_train_aug aug = {1, 1, 0, 0};
    beaa_train_rng r;
    beaa_train_rng_seed(&r, 1);
    for (int t = 0; t < 10; t++) {
        beaa_train_image_to_input(out, 16, img, 1, 4, 4, &mean, &sd, &aug, &r);
        int found = 0;
        for (int i = 0; i < 16; i++) {
            double px = out[i] * 0.25 * 255 + 0.5 * 255;
            ck_assert(fabs(px - 10 * lround(px / 10)) < 1e-3);   /* a source pixel or 0 */
            found += fabs(px - 50) < 1e-3 || fabs(px - 60) < 1e-3;
        }
        ck_assert(found >= 1);
    }
    /* rotation keeps values within the pixel range */
    beaa_train_aug rot = {0, 0, 30, 0.1f};
    beaa_train_image_to_input(out, 16, img, 1, 4, 4, &mean, &sd, &rot, &r);
    for (int i = 0; i < 16; i++) ck_assert(out[i] >= -2.0001f && out[i] <= 2.0001f);
}
END_TEST

/* ------------------------------------------------------------------ end to end */

START_TEST(test_e2e_fmnist)
{
    char err[256];
    beaa_dataset full, test, train, tsub;
    beaa_status s = beaa_data_fmnist_load(NULL, 1, &full, err, sizeof err);
    ck_assert_msg(s == BEAA_OK, "Fashion-MNIST (package dataset-fashion-mnist) needed: %s", err);
    ck_assert_int_eq(full.n, 60000);
    ck_assert_int_eq(beaa_data_fmnist_load(NULL, 0, &test, err, sizeof err), BEAA_OK);
    ck_assert_int_eq(test.n, 10000);
    uint32_t ntrain = light() ? 1000 : 2000;
    ck_assert_int_eq(beaa_data_head(&full, ntrain, &train), BEAA_OK);
    ck_assert_int_eq(beaa_data_head(&test, 1000, &tsub), BEAA_OK);
    beaa_dataset_free(&full);
    beaa_dataset_free(&test);
    beaa_model *m;
    ck_assert_int_eq(beaa_train_arch_squeezenet(1, 28, 28, 10, BEAA_ACT_POLY, BEAA_POLY_ELEMENT, 0, &m), BEAA_OK);
    ck_assert_int_eq(beaa_train_init_weights(m, 1, 0.1f, 0.5f, 0.0f), BEAA_OK);
    ck_assert_int_eq(beaa_train_set_normalization(m, &train), BEAA_OK);
    beaa_train_config cfg;
    beaa_train_config_default(&cfg);
    cfg.epochs = light() ? 3 : 6;
    cfg.batch = 64;
    cfg.lr = 0.05f;
    double acc0;
    ck_assert_int_eq(beaa_train_evaluate(m, &tsub, 250, &acc0, NULL), BEAA_OK);
    ck_assert_int_eq(beaa_train_run(m, NULL, &train, NULL, &cfg, NULL, NULL), BEAA_OK);
    double acc;
    ck_assert_int_eq(beaa_train_evaluate(m, &tsub, 250, &acc, NULL), BEAA_OK);
    double need = light() ? 0.55 : 0.70;
    ck_assert_msg(acc >= need, "poly-element net on %u images: test accuracy %.3f < %.2f "
                  "(untrained %.3f)", ntrain, acc, need, acc0);
    /* the training forward (eval mode, float, CBHW) agrees with the inference engineer's
     * independent double-precision forward (nn/plain.c) on 64 test images */
    {
        const int nb = 64;
        beaa_train_net *net;
        ck_assert_int_eq(beaa_train_net_new(m, nb, &net), BEAA_OK);
        float *xf = malloc((size_t)nb * 784 * sizeof(float));
        double *xd = malloc((size_t)nb * 784 * sizeof(double)), *ref = malloc(nb * 10 * sizeof(double));
        beaa_nn_normalize(m, tsub.pixels, nb, xd);
        for (int b = 0; b < nb; b++)
            for (int i = 0; i < 784; i++) xf[(size_t)b * 784 + i] = (float)xd[(size_t)b * 784 + i];
        ck_assert_int_eq(beaa_nn_plain_model_forward(m, xd, nb, ref), BEAA_OK);
        const float *z = beaa_train_net_forward(net, xf, nb, 0);
        double maxerr = 0, maxabs = 0;
        for (int i = 0; i < nb * 10; i++) {
            maxerr = fmax(maxerr, fabs(z[i] - ref[i]));
            maxabs = fmax(maxabs, fabs(ref[i]));
        }
        ck_assert_msg(maxerr <= 1e-3 * (1 + maxabs), "train vs nn/plain logits: max diff %g "
                      "(max |logit| %g)", maxerr, maxabs);
        free(xf); free(xd); free(ref);
        beaa_train_net_free(net);
    }
    /* the trained model survives a save/load round trip with the same predictions */
    uint8_t *buf;
    size_t len;
    ck_assert_int_eq(beaa_model_save_mem(m, &buf, &len), BEAA_OK);
    beaa_model *l;
    ck_assert_int_eq(beaa_model_load_mem(buf, len, &l), BEAA_OK);
    double acc2;
    ck_assert_int_eq(beaa_train_evaluate(l, &tsub, 250, &acc2, NULL), BEAA_OK);
    ck_assert(acc2 == acc);
    free(buf);
    beaa_model_free(l);
    beaa_model_free(m);
    beaa_dataset_free(&train);
    beaa_dataset_free(&tsub);
}
END_TEST

static Suite *train_suite(void)
{
    Suite *s = suite_create("train");
    TCase *g = tcase_create("gradients");
    tcase_add_test(g, test_conv_grad);
    tcase_add_test(g, test_pool_grad);
    tcase_add_test(g, test_bn_grad);
    tcase_add_test(g, test_bn_running_stats);
    tcase_add_test(g, test_poly_grad);
    tcase_add_test(g, test_relu_grad);
    tcase_add_test(g, test_loss_grad);
    tcase_add_test(g, test_net_fire_grad);
    tcase_add_test(g, test_sgd_nesterov);
    tcase_set_timeout(g, 60);
    suite_add_tcase(s, g);
    TCase *d = tcase_create("data");
    tcase_add_test(d, test_idx_loader_errors);
    tcase_add_test(d, test_cifar_loader);
    tcase_add_test(d, test_folder_loader_split);
    tcase_add_test(d, test_augment);
    suite_add_tcase(s, d);
    TCase *e = tcase_create("end_to_end");
    tcase_add_test(e, test_e2e_fmnist);
    tcase_set_timeout(e, 120);
    suite_add_tcase(s, e);
    return s;
}

int main(void)
{
    /* small GEMMs on a shared 2-core machine: extra BLAS threads only wait for each other */
    openblas_set_num_threads(1);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/beaa_check_train_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    SRunner *sr = srunner_create(train_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return failed ? 1 : 0;
}
