/* bench_compare.c - the paper's comparison: channel-wise packing (one ciphertext per image and
 * channel, convolutions by rotations; time per image) vs element-wise BEAA packing (amortized
 * time per image at several batch sizes). Validates both against plaintext references first.
 * Default: a small SqueezeNet-shaped model with channel-wise activations, both on N=2^12
 * (insecure test ring, same ring for both). --full: the shipped Fashion-MNIST model (--model FILE)
 * with its per-element (a,b,c) averaged per channel, each packing at its own 128-bit secure plan.
 * CSV rows: benchmark,params,metric,value,unit. */
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "lib/cpu.h"
#include "ckks/ckks.h"
#include "nn/channelwise.h"
#include "nn/fold.h"
#include "nn/forward.h"
#include "nn/model.h"
#include "nn/pack.h"
#include "nn/plain.h"
#include "nn/plan.h"
#include "nn/quant.h"
#include "train/data.h"
#include "bench/common/bench_util.h"

/* The small default model: 1x12x12, conv5x5 s2 (4) -> Fire(2;4+4) -> pool 2 -> conv3x3 (8) ->
 * conv1x1 (10) -> GAP, channel-wise activations. */
static beaa_model *small_model(void)
{
    beaa_model_desc d[6];
    memset(d, 0, sizeof d);
    beaa_act_kind P = BEAA_ACT_POLY;
    beaa_poly_gran C = BEAA_POLY_CHANNEL;
    d[0] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 4, .k = 5, .stride = 2, .pad = 2, .act = P, .gran = C };
    d[1] = (beaa_model_desc){ .kind = BEAA_MODULE_FIRE, .squeeze = 2, .expand1 = 4, .expand3 = 4, .k3 = 3, .act = P, .gran = C };
    d[2] = (beaa_model_desc){ .kind = BEAA_MODULE_AVGPOOL, .k = 2, .stride = 2 };
    d[3] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 8, .k = 3, .stride = 1, .pad = 1, .act = P, .gran = C };
    d[4] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 10, .k = 1, .stride = 1, .pad = 0, .act = P, .gran = C };
    d[5] = (beaa_model_desc){ .kind = BEAA_MODULE_GAP };
    beaa_model *m = NULL;
    if (beaa_model_build(1, 12, 12, 10, d, 6, &m) != BEAA_OK) return NULL;
    bench_model_fill_random(m);
    return m;
}

/* Replaces every per-element (a,b,c) by its channel average: a channel-wise model with the
 * shipped weights (the element-wise storage is kept; nn/channelwise sees one pair per channel). */
static void average_per_channel(beaa_model *m)
{
    for (uint32_t i = 0; i < m->n_modules; i++) {
        beaa_model_module *md = &m->modules[i];
        int nact = md->kind == BEAA_MODULE_CONV ? 1 : md->kind == BEAA_MODULE_FIRE ? 2 : 0;
        for (int k = 0; k < nact; k++) {
            beaa_model_act *ac = &md->act[k];
            if (ac->kind != BEAA_ACT_POLY || ac->gran != BEAA_POLY_ELEMENT) continue;
            size_t hw = (size_t)ac->h * ac->w;
            for (uint32_t c = 0; c < ac->c; c++) {
                double sa = 0, sb = 0, sc = 0;
                for (size_t p = 0; p < hw; p++) {
                    sa += ac->a[c * hw + p]; sb += ac->b[c * hw + p]; sc += ac->c0[c * hw + p];
                }
                for (size_t p = 0; p < hw; p++) {
                    ac->a[c * hw + p] = (float)(sa / (double)hw);
                    ac->b[c * hw + p] = (float)(sb / (double)hw);
                    ac->c0[c * hw + p] = (float)(sc / (double)hw);
                }
            }
        }
    }
}

/* Plaintext accuracy of m on the n images of ds (normalized into x). */
static double plain_accuracy(const beaa_model *m, const beaa_dataset *ds, const double *x)
{
    double *lg = malloc(sizeof(double) * ds->n * m->num_classes);
    if (!lg || beaa_nn_plain_model_forward(m, x, ds->n, lg) != BEAA_OK) { free(lg); return -1; }
    size_t ok = 0;
    for (uint32_t i = 0; i < ds->n; i++)
        ok += beaa_nn_argmax(lg + (size_t)i * m->num_classes, m->num_classes) == ds->labels[i];
    free(lg);
    return (double)ok / ds->n;
}

/* Channel-wise: n images one after the other; writes the time per image (ms) to *per_ms. */
static int run_cw(const char *name, const beaa_model *m, const beaa_nn_cw_opts *o, size_t n,
                  const double *xin, double *per_ms)
{
    beaa_nn_cw_net *cw = NULL;
    beaa_nn_cw_plan plan;
    beaa_ckks_context *ctx = NULL;
    beaa_ckks_secret_key *sk = NULL;
    beaa_ckks_relin_key *rk = NULL;
    beaa_ckks_galois_keys *gk = NULL;
    beaa_status st = beaa_nn_cw_compile(m, &cw);
    if (st != BEAA_OK) { fprintf(stderr, "cw compile: %s\n", beaa_strerror(st)); return 1; }
    st = beaa_nn_cw_plan_make(cw, o, &plan);
    if (st != BEAA_OK) { fprintf(stderr, "cw plan: %s (%s)\n", beaa_strerror(st), plan.msg); return 1; }
    fprintf(stderr, "%s\n", plan.msg);
    size_t nsteps = 0;
    const int *steps = beaa_nn_cw_rotation_steps(cw, &nsteps);
    double t0 = bench_now_s();
    st = beaa_ckks_context_new(&plan.spec, &ctx);
    if (st == BEAA_OK) st = beaa_ckks_secret_key_gen(ctx, &sk);
    if (st == BEAA_OK) st = beaa_ckks_relin_key_gen(sk, &rk);
    if (st == BEAA_OK) st = beaa_ckks_galois_keys_gen(sk, steps, nsteps, 0, &gk);
    double t1 = bench_now_s();
    if (st == BEAA_OK) st = beaa_nn_cw_prepare(cw, &plan, ctx);
    double t2 = bench_now_s();
    if (st != BEAA_OK) { fprintf(stderr, "cw setup: %s\n", beaa_strerror(st)); return 1; }
    size_t el = (size_t)m->in_c * m->in_h * m->in_w, nc = m->num_classes;
    double *x = malloc(sizeof(double) * n * el), *ref = malloc(sizeof(double) * n * nc);
    double *got = malloc(sizeof(double) * nc);
    beaa_ckks_ciphertext **in = calloc(m->in_c, sizeof *in), **lg = calloc(nc, sizeof *lg);
    if (!x || !ref || !got || !in || !lg) return 1;
    for (size_t i = 0; i < n * el; i++) x[i] = xin ? xin[i] : bench_urand(-0.8, 2.0);
    if (beaa_nn_plain_model_forward(m, x, n, ref) != BEAA_OK) return 1;
    double tenc = 0, tfwd = 0, tdec = 0, maxerr = 0;
    size_t agree = 0;
    beaa_nn_cw_stats fs, sum;
    memset(&sum, 0, sizeof sum);
    for (size_t i = 0; i < n && st == BEAA_OK; i++) {
        double a = bench_now_s();
        st = beaa_nn_cw_encrypt(cw, sk, x + i * el, in);
        double b = bench_now_s();
        if (st == BEAA_OK) st = beaa_nn_cw_forward(cw, rk, gk, in, lg, &fs);
        double c = bench_now_s();
        if (st == BEAA_OK) st = beaa_nn_cw_decrypt(sk, lg, nc, got);
        double d = bench_now_s();
        if (st != BEAA_OK) break;
        tenc += b - a; tfwd += c - b; tdec += d - c;
        sum.rotate_s += fs.rotate_s; sum.mask_s += fs.mask_s; sum.accumulate_s += fs.accumulate_s;
        sum.act_s += fs.act_s; sum.pool_s += fs.pool_s;
        sum.rotations = fs.rotations; sum.products = fs.products;
        for (size_t k = 0; k < nc; k++) {
            double e = fabs(got[k] - ref[i * nc + k]);
            if (e > maxerr) maxerr = e;
            beaa_ckks_ciphertext_free(lg[k]);
            lg[k] = NULL;
        }
        agree += beaa_nn_argmax(got, nc) == beaa_nn_argmax(ref + i * nc, nc);
    }
    if (st != BEAA_OK) { fprintf(stderr, "cw run: %s\n", beaa_strerror(st)); return 1; }
    char p[200];
    snprintf(p, sizeof p, "channel-wise %s N=2^%u L=%u images=%zu threads=%d", name,
             plan.spec.log_n, plan.levels, n, beaa_cpu_threads());
    double dn = (double)n;
    size_t key_words = beaa_ckks_switch_key_words(ctx);
    printf("bench_compare,%s,log2_qp,%u,bits\n", p, plan.total_bits);
    printf("bench_compare,%s,rotation_keys,%zu,count\n", p, nsteps);
    printf("bench_compare,%s,rotation_key_bytes,%.1f,MiB\n", p, (double)nsteps * key_words * 8 / 1048576.0);
    printf("bench_compare,%s,keygen,%.3f,s\n", p, t1 - t0);
    printf("bench_compare,%s,prepare_plaintexts,%.3f,s\n", p, t2 - t1);
    printf("bench_compare,%s,max_abs_logit_err,%.3g,1\n", p, maxerr);
    printf("bench_compare,%s,agreement,%.4f,fraction\n", p, (double)agree / dn);
    printf("bench_compare,%s,rotations_per_image,%zu,count\n", p, sum.rotations);
    printf("bench_compare,%s,products_per_image,%zu,count\n", p, sum.products);
    printf("bench_compare,%s,encrypt_per_image,%.3f,ms\n", p, 1e3 * tenc / dn);
    printf("bench_compare,%s,forward_per_image,%.3f,ms\n", p, 1e3 * tfwd / dn);
    printf("bench_compare,%s,forward_rotate,%.3f,ms\n", p, 1e3 * sum.rotate_s / dn);
    printf("bench_compare,%s,forward_mask,%.3f,ms\n", p, 1e3 * sum.mask_s / dn);
    printf("bench_compare,%s,forward_accumulate,%.3f,ms\n", p, 1e3 * sum.accumulate_s / dn);
    printf("bench_compare,%s,forward_activation,%.3f,ms\n", p, 1e3 * sum.act_s / dn);
    printf("bench_compare,%s,forward_pool,%.3f,ms\n", p, 1e3 * sum.pool_s / dn);
    printf("bench_compare,%s,decrypt_per_image,%.3f,ms\n", p, 1e3 * tdec / dn);
    *per_ms = 1e3 * (tenc + tfwd + tdec) / dn;
    printf("bench_compare,%s,time_per_image,%.3f,ms\n", p, *per_ms);
    printf("bench_compare,%s,peak_rss,%.1f,MiB\n", p, bench_peak_rss_mib());
    fflush(stdout);
    free(x); free(ref); free(got); free(in); free(lg);
    beaa_ckks_galois_keys_free(gk);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_secret_key_free(sk);
    beaa_nn_cw_net_free(cw);
    beaa_ckks_context_free(ctx);
    return 0;
}

/* Element-wise BEAA: one batch of n images; writes the amortized time per image (ms). */
static int run_beaa(const char *name, const beaa_model *m, unsigned log_n, int insecure, size_t n,
                    const double *xin, double *per_ms)
{
    beaa_nn_net *net = NULL;
    beaa_nn_plan plan;
    beaa_nn_plan_opts o;
    beaa_ckks_context *ctx = NULL;
    beaa_ckks_secret_key *sk = NULL;
    beaa_ckks_relin_key *rk = NULL;
    beaa_nn_qnet *qn = NULL;
    beaa_status st = beaa_nn_net_fold(m, &net);
    if (st != BEAA_OK) { fprintf(stderr, "fold: %s\n", beaa_strerror(st)); return 1; }
    beaa_nn_plan_opts_default(&o);
    o.batch = n;
    o.force_log_n = log_n;
    o.allow_insecure = insecure;
    st = beaa_nn_plan_make(net, &o, &plan);
    if (st == BEAA_OK) st = beaa_ckks_context_new(&plan.spec, &ctx);
    if (st == BEAA_OK) st = beaa_ckks_secret_key_gen(ctx, &sk);
    if (st == BEAA_OK) st = beaa_ckks_relin_key_gen(sk, &rk);
    if (st == BEAA_OK) st = beaa_nn_quantize(net, &plan, ctx, &qn);
    if (st != BEAA_OK) { fprintf(stderr, "beaa setup: %s (%s)\n", beaa_strerror(st), plan.msg); return 1; }
    size_t el = (size_t)m->in_c * m->in_h * m->in_w, nc = m->num_classes;
    double *x = malloc(sizeof(double) * n * el), *ref = malloc(sizeof(double) * n * nc),
           *got = malloc(sizeof(double) * n * nc);
    beaa_ckks_ciphertext **in = calloc(el, sizeof *in), **lg = calloc(nc, sizeof *lg);
    if (!x || !ref || !got || !in || !lg) return 1;
    for (size_t i = 0; i < n * el; i++) x[i] = xin ? xin[i] : bench_urand(-0.8, 2.0);
    st = beaa_nn_plain_model_forward(m, x, n, ref);
    double t0 = bench_now_s();
    if (st == BEAA_OK) st = beaa_nn_pack_encrypt(sk, x, n, el, plan.levels, plan.in_scale, in);
    double t1 = bench_now_s();
    if (st == BEAA_OK) st = beaa_nn_forward(net, qn, rk, in, lg, NULL, NULL);
    double t2 = bench_now_s();
    if (st == BEAA_OK) st = beaa_nn_pack_decrypt(sk, lg, nc, n, got);
    double t3 = bench_now_s();
    if (st != BEAA_OK) { fprintf(stderr, "beaa run: %s\n", beaa_strerror(st)); return 1; }
    double maxerr = 0;
    size_t agree = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < nc; k++) {
            double d = fabs(got[i * nc + k] - ref[i * nc + k]);
            if (d > maxerr) maxerr = d;
        }
        agree += beaa_nn_argmax(got + i * nc, nc) == beaa_nn_argmax(ref + i * nc, nc);
    }
    char p[200];
    snprintf(p, sizeof p, "element-wise %s N=2^%u L=%u batch=%zu threads=%d", name,
             plan.spec.log_n, plan.levels, n, beaa_cpu_threads());
    printf("bench_compare,%s,log2_qp,%u,bits\n", p, plan.total_bits);
    printf("bench_compare,%s,max_abs_logit_err,%.3g,1\n", p, maxerr);
    printf("bench_compare,%s,agreement,%.4f,fraction\n", p, (double)agree / (double)n);
    printf("bench_compare,%s,encrypt,%.3f,s\n", p, t1 - t0);
    printf("bench_compare,%s,forward,%.3f,s\n", p, t2 - t1);
    printf("bench_compare,%s,decrypt,%.3f,s\n", p, t3 - t2);
    *per_ms = 1e3 * (t3 - t0) / (double)n;
    printf("bench_compare,%s,amortized_per_image,%.3f,ms\n", p, *per_ms);
    printf("bench_compare,%s,peak_rss,%.1f,MiB\n", p, bench_peak_rss_mib());
    fflush(stdout);
    for (size_t k = 0; k < nc; k++) beaa_ckks_ciphertext_free(lg[k]);
    free(in); free(lg); free(x); free(ref); free(got);
    beaa_nn_qnet_free(qn);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_secret_key_free(sk);
    beaa_ckks_context_free(ctx);
    beaa_nn_net_free(net);
    return 0;
}

static void ratio_row(const char *name, size_t b, double cw_ms, double ew_ms)
{
    printf("bench_compare,%s batch=%zu,channelwise_over_elementwise,%.1f,x\n", name, b, cw_ms / ew_ms);
}

int main(int argc, char **argv)
{
    bench_rng_seed(0x0123456789abcdefull); /* this benchmark's inputs, unchanged */
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
    int full = 0, quick = 0;
    size_t cw_images = 0, batch = 0;
    const char *model = "models/fmnist-beaa.model", *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--full")) full = 1;
        else if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--images") && i + 1 < argc) cw_images = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else {
            fprintf(stderr, "usage: bench_compare [--quick] [--images n] | --full [--model FILE] "
                            "[--images n] [--batch B]; --only cw|beaa runs one side\n");
            return 2;
        }
    }
    printf("benchmark,params,metric,value,unit\n");
    int rc = 0;
    double cw_ms = 0, ew_ms = 0;
    if (full) {
        beaa_model *m = NULL;
        beaa_status st = beaa_model_load(model, &m);
        if (st != BEAA_OK) { fprintf(stderr, "%s: %s\n", model, beaa_strerror(st)); return 1; }
        beaa_model *mc = NULL;
        if (beaa_model_clone(m, &mc) != BEAA_OK) return 1;
        average_per_channel(mc);
        /* the Fashion-MNIST test images when installed (plaintext accuracy of both models, and
         * the encrypted runs' inputs), random inputs otherwise */
        beaa_dataset ds;
        memset(&ds, 0, sizeof ds);
        char err[256];
        double *x = NULL;
        size_t el = (size_t)m->in_c * m->in_h * m->in_w;
        if (beaa_data_fmnist_load(NULL, 0, &ds, err, sizeof err) == BEAA_OK &&
            ds.c == m->in_c && ds.h == m->in_h && ds.w == m->in_w &&
            (x = malloc(sizeof(double) * ds.n * el)) != NULL) {
            beaa_nn_normalize(m, ds.pixels, ds.n, x);
            printf("bench_compare,model (a;b;c) as stored test=%u,plaintext_accuracy,%.4f,fraction\n",
                   ds.n, plain_accuracy(m, &ds, x));
            printf("bench_compare,model (a;b;c) averaged per channel test=%u,plaintext_accuracy,%.4f,fraction\n",
                   ds.n, plain_accuracy(mc, &ds, x));
        } else {
            fprintf(stderr, "no Fashion-MNIST test set (%s): random inputs\n", err);
        }
        beaa_nn_cw_opts o;
        beaa_nn_cw_opts_default(&o);
        size_t ncw = cw_images ? cw_images : 1, b = batch ? batch : 10000;
        if (x && (ncw > ds.n || b > ds.n)) { free(x); x = NULL; }
        if (!only || !strcmp(only, "cw"))
            rc = run_cw("model-channel-avg", mc, &o, ncw, x, &cw_ms);
        if (rc == 0 && (!only || !strcmp(only, "beaa")))
            rc = run_beaa("model", m, 15, 0, b, x, &ew_ms);
        free(x);
        beaa_dataset_free(&ds);
        if (rc == 0 && !only) ratio_row("model secure", b, cw_ms, ew_ms);
        beaa_model_free(mc);
        beaa_model_free(m);
        return rc;
    }
    beaa_model *m = small_model();
    if (!m) return 1;
    beaa_nn_cw_opts o;
    beaa_nn_cw_opts_default(&o);
    o.force_log_n = 12;
    o.allow_insecure = 1;
    rc = run_cw("small", m, &o, cw_images ? cw_images : (quick ? 1 : 4), NULL, &cw_ms);
    size_t batches[4] = { 1, 16, 256, 2048 };
    for (int i = quick ? 2 : 0; i < 4 && rc == 0; i++) {
        rc = run_beaa("small", m, 12, 1, batches[i], NULL, &ew_ms);
        if (rc == 0) ratio_row("small N=2^12", batches[i], cw_ms, ew_ms);
    }
    beaa_model_free(m);
    return rc;
}
