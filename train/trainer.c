/* trainer.c - initialization, weight transfer, the epoch loop (shuffle, augment, forward,
 * CE/KD loss, backward, clip, Nesterov step, cosine schedule) and evaluation. */
#include "train/trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "train/layers.h"
#include "train/net.h"
#include "train/prng.h"
#include "train/sgd.h"

void beaa_train_config_default(beaa_train_config *c)
{
    memset(c, 0, sizeof *c);
    c->epochs = 20;
    c->batch = 128;
    c->lr = 0.05f;
    c->lr_min = 0.0f;
    c->warmup_epochs = 1;
    c->momentum = 0.9f;
    c->wd = 5e-4f;
    c->wd_poly = 5e-4f;
    c->clip = 5.0f;
    c->kd_lambda = 0.7f;
    c->kd_T = 4.0f;
    c->seed = 1;
}

beaa_status beaa_train_init_weights(beaa_model *m, uint64_t seed, float pa, float pb, float pc)
{
    if (!m) return BEAA_ERR_ARG;
    beaa_train_rng r;
    beaa_train_rng_seed(&r, seed);
    for (uint32_t i = 0; i < m->n_modules; i++) {
        beaa_model_module *md = &m->modules[i];
        for (int j = 0; j < beaa_model_module_nconv(md); j++) {
            beaa_model_conv *c = &md->conv[j];
            size_t fan_in = (size_t)c->cin * c->kh * c->kw, nw = fan_in * c->cout;
            double sd = sqrt(2.0 / (double)fan_in);
            for (size_t k = 0; k < nw; k++) c->weight[k] = (float)(sd * beaa_train_rng_normal(&r));
            for (uint32_t k = 0; k < c->cout; k++) c->bias[k] = 0.0f;
        }
        for (int j = 0; j < beaa_model_module_nact(md); j++) {
            beaa_model_act *a = &md->act[j];
            for (uint32_t k = 0; k < a->count; k++) { a->a[k] = pa; a->b[k] = pb; a->c0[k] = pc; }
            beaa_model_bn *b = &md->bn[j];
            for (uint32_t k = 0; k < b->channels; k++) {
                b->gamma[k] = 1; b->beta[k] = 0; b->mean[k] = 0; b->var[k] = 1;
            }
        }
    }
    return BEAA_OK;
}

beaa_status beaa_train_copy_linear(beaa_model *dst, const beaa_model *src)
{
    if (!dst || !src) return BEAA_ERR_ARG;
    if (dst->n_modules != src->n_modules || dst->in_c != src->in_c || dst->in_h != src->in_h ||
        dst->in_w != src->in_w || dst->num_classes != src->num_classes)
        return BEAA_ERR_SHAPE;
    for (uint32_t i = 0; i < dst->n_modules; i++) {
        beaa_model_module *d = &dst->modules[i];
        const beaa_model_module *s = &src->modules[i];
        if (d->kind != s->kind || d->out_c != s->out_c || d->out_h != s->out_h ||
            d->out_w != s->out_w)
            return BEAA_ERR_SHAPE;
        for (int j = 0; j < beaa_model_module_nconv(d); j++) {
            const beaa_model_conv *a = &d->conv[j], *b = &s->conv[j];
            if (a->cin != b->cin || a->cout != b->cout || a->kh != b->kh || a->kw != b->kw ||
                a->stride != b->stride || a->pad != b->pad)
                return BEAA_ERR_SHAPE;
        }
    }
    for (uint32_t i = 0; i < dst->n_modules; i++) {
        beaa_model_module *d = &dst->modules[i];
        const beaa_model_module *s = &src->modules[i];
        for (int j = 0; j < beaa_model_module_nconv(d); j++) {
            beaa_model_conv *a = &d->conv[j];
            const beaa_model_conv *b = &s->conv[j];
            memcpy(a->weight, b->weight, (size_t)a->cout * a->cin * a->kh * a->kw * sizeof(float));
            memcpy(a->bias, b->bias, a->cout * sizeof(float));
        }
        for (int j = 0; j < beaa_model_module_nact(d); j++) {
            beaa_model_bn *a = &d->bn[j];
            const beaa_model_bn *b = &s->bn[j];
            size_t n = a->channels * sizeof(float);
            memcpy(a->gamma, b->gamma, n); memcpy(a->beta, b->beta, n);
            memcpy(a->mean, b->mean, n); memcpy(a->var, b->var, n);
            a->eps = b->eps;
        }
    }
    memcpy(dst->in_mean, src->in_mean, sizeof dst->in_mean);
    memcpy(dst->in_std, src->in_std, sizeof dst->in_std);
    return BEAA_OK;
}

static int data_fits(const beaa_model *m, const beaa_dataset *d)
{
    return d && d->c == m->in_c && d->h == m->in_h && d->w == m->in_w &&
           d->num_classes <= m->num_classes && d->pixels && d->labels;
}

beaa_status beaa_train_set_normalization(beaa_model *m, const beaa_dataset *d)
{
    if (!m || !d) return BEAA_ERR_ARG;
    if (!data_fits(m, d) || d->n == 0) return BEAA_ERR_SHAPE;
    beaa_data_stats(d, m->in_mean, m->in_std);
    return BEAA_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Fills x (C,B,H,W) with images idx[0..B) of d. */
static void make_batch(float *x, uint8_t *lab, const beaa_model *m, const beaa_dataset *d,
                       const uint32_t *idx, int B, const beaa_train_aug *aug, beaa_train_rng *r)
{
    size_t hw = (size_t)d->h * d->w, img = hw * d->c;
    for (int b = 0; b < B; b++) {
        beaa_train_image_to_input(x + (size_t)b * hw, (size_t)B * hw, d->pixels + idx[b] * img,
                                  (int)d->c, (int)d->h, (int)d->w, m->in_mean, m->in_std, aug, r);
        lab[b] = d->labels[idx[b]];
    }
}

static int argmax(const float *z, int K)
{
    int best = 0;
    for (int k = 1; k < K; k++)
        if (z[k] > z[best]) best = k;
    return best;
}

beaa_status beaa_train_evaluate(const beaa_model *m, const beaa_dataset *d, int batch,
                                double *acc, double *loss)
{
    if (!m || !d || !acc || batch < 1) return BEAA_ERR_ARG;
    if (!data_fits(m, d)) return BEAA_ERR_SHAPE;
    if (d->n == 0) { *acc = 0; if (loss) *loss = 0; return BEAA_OK; }
    beaa_model *mc = NULL;
    beaa_status s = beaa_model_clone(m, &mc);   /* the net needs a mutable model */
    if (s) return s;
    beaa_train_net *n = NULL;
    s = beaa_train_net_new(mc, batch, &n);
    float *x = malloc((size_t)batch * d->c * d->h * d->w * sizeof(float));
    uint32_t *idx = malloc((size_t)batch * sizeof *idx);
    uint8_t *lab = malloc((size_t)batch);
    if (!s && (!x || !idx || !lab)) s = BEAA_ERR_NOMEM;
    size_t correct = 0;
    double lsum = 0;
    for (uint32_t i0 = 0; !s && i0 < d->n; i0 += (uint32_t)batch) {
        int B = d->n - i0 < (uint32_t)batch ? (int)(d->n - i0) : batch;
        for (int b = 0; b < B; b++) idx[b] = i0 + (uint32_t)b;
        make_batch(x, lab, mc, d, idx, B, NULL, NULL);
        const float *z = beaa_train_net_forward(n, x, B, 0);
        for (int b = 0; b < B; b++)
            correct += argmax(z + (size_t)b * m->num_classes, (int)m->num_classes) == lab[b];
        lsum += beaa_train_ce_loss(NULL, z, lab, B, (int)m->num_classes) * B;
    }
    if (!s) {
        *acc = (double)correct / d->n;
        if (loss) *loss = lsum / d->n;
    }
    free(x); free(idx); free(lab);
    beaa_train_net_free(n);
    beaa_model_free(mc);
    return s;
}

beaa_status beaa_train_run(beaa_model *m, const beaa_model *teacher, const beaa_dataset *train,
                           const beaa_dataset *val, const beaa_train_config *cfg,
                           beaa_train_progress_fn cb, void *user)
{
    if (!m || !train || !cfg || cfg->epochs < 1 || cfg->batch < 1 || cfg->batch > 65536 ||
        !(cfg->lr > 0) || !(cfg->kd_T > 0) || cfg->kd_lambda < 0 || cfg->kd_lambda > 1)
        return BEAA_ERR_ARG;
    if (!data_fits(m, train) || train->n == 0 || (val && !data_fits(m, val))) return BEAA_ERR_SHAPE;
    if (teacher && (teacher->in_c != m->in_c || teacher->in_h != m->in_h ||
                    teacher->in_w != m->in_w || teacher->num_classes != m->num_classes))
        return BEAA_ERR_SHAPE;
    const int Bmax = cfg->batch, K = (int)m->num_classes;
    beaa_train_net *net = NULL, *tnet = NULL;
    beaa_model *tm = NULL;
    float *x = NULL, *vel = NULL;
    uint32_t *order = NULL;
    uint8_t *lab = NULL;
    beaa_status s = beaa_train_net_new(m, Bmax, &net);
    if (!s && teacher) {
        s = beaa_model_clone(teacher, &tm);
        /* the teacher sees the student's normalized input: use the student's normalization */
        if (!s) s = beaa_train_net_new(tm, Bmax, &tnet);
    }
    if (s) goto out;
    x = malloc((size_t)Bmax * m->in_c * m->in_h * m->in_w * sizeof(float));
    vel = calloc(m->n_params ? m->n_params : 1, sizeof(float));
    order = malloc((size_t)train->n * sizeof *order);
    lab = malloc((size_t)Bmax);
    if (!x || !vel || !order || !lab) { s = BEAA_ERR_NOMEM; goto out; }
    if (teacher && (memcmp(tm->in_mean, m->in_mean, sizeof m->in_mean) ||
                    memcmp(tm->in_std, m->in_std, sizeof m->in_std))) {
        s = BEAA_ERR_SHAPE;   /* teacher and student must normalize inputs alike */
        goto out;
    }
    beaa_train_rng r;
    beaa_train_rng_seed(&r, cfg->seed);
    for (uint32_t i = 0; i < train->n; i++) order[i] = i;
    const long steps_per_epoch = (long)((train->n + (uint32_t)Bmax - 1) / (uint32_t)Bmax);
    const long total = steps_per_epoch * cfg->epochs;
    const long warm = steps_per_epoch * cfg->warmup_epochs;
    long t = 0;
    float lr = cfg->lr;
    for (int ep = 0; ep < cfg->epochs; ep++) {
        double t0 = now_s(), c0 = (double)clock() / CLOCKS_PER_SEC, lsum = 0;
        size_t correct = 0, seen = 0;
        beaa_train_rng_shuffle(&r, order, train->n);
        for (uint32_t i0 = 0; i0 < train->n; i0 += (uint32_t)Bmax, t++) {
            int B = train->n - i0 < (uint32_t)Bmax ? (int)(train->n - i0) : Bmax;
            if (B < 2 && i0 > 0) break;   /* BatchNorm needs 2+ values: drop a size-1 tail */
            make_batch(x, lab, m, train, order + i0, B, &cfg->aug, &r);
            const float *z = beaa_train_net_forward(net, x, B, 1);
            memset(net->dlogits, 0, (size_t)B * K * sizeof(float));
            double l;
            if (tnet) {
                const float *tz = beaa_train_net_forward(tnet, x, B, 0);
                l = beaa_train_kd_loss(net->dlogits, z, tz, lab, B, K, cfg->kd_lambda, cfg->kd_T);
            } else {
                l = beaa_train_ce_loss(net->dlogits, z, lab, B, K);
            }
            if (!isfinite(l)) { s = BEAA_ERR_VALUE; goto out; }
            lsum += l * B;
            for (int b = 0; b < B; b++) correct += argmax(z + (size_t)b * K, K) == lab[b];
            seen += (size_t)B;
            beaa_train_net_zero_grad(net);
            beaa_train_net_backward(net);
            beaa_train_clip_grads(net->grads, net->mask, m->n_params, cfg->clip);
            lr = beaa_train_lr_cosine(cfg->lr, cfg->lr_min, t, warm, total);
            beaa_train_sgd_step(m->params, net->grads, vel, net->mask, m->n_params, lr,
                                cfg->momentum, cfg->wd, cfg->wd_poly);
        }
        beaa_train_epoch_stats st;
        st.epoch = ep + 1;
        st.epochs = cfg->epochs;
        st.seconds = now_s() - t0;
        st.cpu_seconds = (double)clock() / CLOCKS_PER_SEC - c0;
        st.loss = seen ? lsum / (double)seen : 0;
        st.train_acc = seen ? (double)correct / (double)seen : 0;
        st.val_acc = -1;
        st.lr = lr;
        if (val && val->n) {
            s = beaa_train_evaluate(m, val, Bmax, &st.val_acc, NULL);
            if (s) goto out;
        }
        if (cb) cb(&st, user);
    }
out:
    free(x); free(vel); free(order); free(lab);
    beaa_train_net_free(net);
    beaa_train_net_free(tnet);
    beaa_model_free(tm);
    return s;
}
