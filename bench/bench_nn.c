/* bench_nn.c - amortized time per image of encrypted BEAA inference vs batch size.
 * Default: a small SqueezeNet-shaped model on a small (insecure, N=2^12) ring, batch sizes
 * 1..N/2; --full: the default Fashion-MNIST network (random weights or --model FILE) at N=2^15.
 * Validates first (encrypted vs plaintext folded logits), then prints CSV rows
 * benchmark,params,metric,value,unit. */
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "lib/cpu.h"
#include "ckks/ckks.h"
#include "nn/fold.h"
#include "nn/forward.h"
#include "nn/model.h"
#include "nn/pack.h"
#include "nn/plain.h"
#include "nn/plan.h"
#include "nn/quant.h"
#include "bench/common/bench_util.h"

static unsigned g_log_scale, g_stage_bits;
static beaa_model *small_model(void)
{
    beaa_model_desc d[6];
    memset(d, 0, sizeof d);
    d[0] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 4, .k = 5, .stride = 2, .pad = 2,
                              .act = BEAA_ACT_POLY, .gran = BEAA_POLY_ELEMENT };
    d[1] = (beaa_model_desc){ .kind = BEAA_MODULE_FIRE, .squeeze = 2, .expand1 = 4, .expand3 = 4,
                              .k3 = 3, .act = BEAA_ACT_POLY, .gran = BEAA_POLY_ELEMENT };
    d[2] = (beaa_model_desc){ .kind = BEAA_MODULE_AVGPOOL, .k = 2, .stride = 2 };
    d[3] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 8, .k = 3, .stride = 1, .pad = 1,
                              .act = BEAA_ACT_POLY, .gran = BEAA_POLY_ELEMENT };
    d[4] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 10, .k = 1, .stride = 1, .pad = 0,
                              .act = BEAA_ACT_POLY, .gran = BEAA_POLY_ELEMENT };
    d[5] = (beaa_model_desc){ .kind = BEAA_MODULE_GAP };
    beaa_model *m = NULL;
    if (beaa_model_build(1, 12, 12, 10, d, 6, &m) != BEAA_OK) return NULL;
    bench_model_fill_random(m);
    return m;
}

/* The default Fashion-MNIST network of the task (HEMET-style SqueezeNet), built here so the
 * benchmark does not depend on train/. */
static beaa_model *default_model(void)
{
    beaa_model_desc d[9];
    memset(d, 0, sizeof d);
    beaa_act_kind P = BEAA_ACT_POLY;
    beaa_poly_gran E = BEAA_POLY_ELEMENT;
    d[0] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 8, .k = 5, .stride = 2, .pad = 2, .act = P, .gran = E };
    d[1] = (beaa_model_desc){ .kind = BEAA_MODULE_FIRE, .squeeze = 4, .expand1 = 8, .expand3 = 8, .k3 = 3, .act = P, .gran = E };
    d[2] = (beaa_model_desc){ .kind = BEAA_MODULE_AVGPOOL, .k = 2, .stride = 2 };
    d[3] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 16, .k = 3, .stride = 1, .pad = 1, .act = P, .gran = E };
    d[4] = (beaa_model_desc){ .kind = BEAA_MODULE_FIRE, .squeeze = 8, .expand1 = 16, .expand3 = 16, .k3 = 3, .act = P, .gran = E };
    d[5] = (beaa_model_desc){ .kind = BEAA_MODULE_AVGPOOL, .k = 2, .stride = 2 };
    d[6] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 32, .k = 3, .stride = 1, .pad = 1, .act = P, .gran = E };
    d[7] = (beaa_model_desc){ .kind = BEAA_MODULE_CONV, .cout = 10, .k = 1, .stride = 1, .pad = 0, .act = P, .gran = E };
    d[8] = (beaa_model_desc){ .kind = BEAA_MODULE_GAP };
    beaa_model *m = NULL;
    if (beaa_model_build(1, 28, 28, 10, d, 9, &m) != BEAA_OK) return NULL;
    bench_model_fill_random(m);
    return m;
}

/* One encrypted run of batch n; prints rows; returns 0 on success. */
static int run(const char *name, const beaa_model *m, unsigned log_n, int insecure, size_t n,
               int per_stage)
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
    if (g_log_scale) o.log_scale = g_log_scale;
    if (g_stage_bits) o.stage_bits = o.base_bits = o.special_bits = g_stage_bits;
    st = beaa_nn_plan_make(net, &o, &plan);
    if (st == BEAA_OK) st = beaa_ckks_context_new(&plan.spec, &ctx);
    if (st == BEAA_OK) st = beaa_ckks_secret_key_gen(ctx, &sk);
    if (st == BEAA_OK) st = beaa_ckks_relin_key_gen(sk, &rk);
    if (st == BEAA_OK) st = beaa_nn_quantize(net, &plan, ctx, &qn);
    if (st != BEAA_OK) { fprintf(stderr, "setup: %s (%s)\n", beaa_strerror(st), plan.msg); return 1; }
    size_t el = (size_t)m->in_c * m->in_h * m->in_w, nc = m->num_classes;
    double *x = malloc(sizeof(double) * n * el), *ref = malloc(sizeof(double) * n * nc),
           *got = malloc(sizeof(double) * n * nc);
    beaa_ckks_ciphertext **in = calloc(el, sizeof *in), **lg = calloc(nc, sizeof *lg);
    for (size_t i = 0; i < n * el; i++) x[i] = bench_urand(-0.8, 2.0);
    st = beaa_nn_plain_folded_forward(net, x, n, ref);
    double t0 = bench_now_s();
    if (st == BEAA_OK) st = beaa_nn_pack_encrypt(sk, x, n, el, plan.levels, plan.in_scale, in);
    double t1 = bench_now_s();
    beaa_nn_forward_stats fs;
    if (st == BEAA_OK) st = beaa_nn_forward(net, qn, rk, in, lg, NULL, &fs);
    double t2 = bench_now_s();
    if (st == BEAA_OK) st = beaa_nn_pack_decrypt(sk, lg, nc, n, got);
    double t3 = bench_now_s();
    if (st != BEAA_OK) { fprintf(stderr, "run: %s\n", beaa_strerror(st)); return 1; }
    double maxerr = 0;
    size_t agree = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < nc; k++) {
            double d = fabs(got[i * nc + k] - ref[i * nc + k]);
            if (d > maxerr) maxerr = d;
        }
        agree += beaa_nn_argmax(got + i * nc, nc) == beaa_nn_argmax(ref + i * nc, nc);
    }
    char params[160];
    snprintf(params, sizeof params, "%s N=2^%u L=%u batch=%zu threads=%d", name, log_n,
             plan.levels, n, beaa_cpu_threads());
    printf("bench_nn,%s,max_abs_logit_err,%.3g,1\n", params, maxerr);
    printf("bench_nn,%s,agreement,%.4f,fraction\n", params, (double)agree / (double)n);
    printf("bench_nn,%s,encrypt,%.3f,s\n", params, t1 - t0);
    printf("bench_nn,%s,forward,%.3f,s\n", params, t2 - t1);
    printf("bench_nn,%s,decrypt,%.3f,s\n", params, t3 - t2);
    printf("bench_nn,%s,amortized_per_image,%.3f,ms\n", params, 1e3 * (t3 - t0) / (double)n);
    if (per_stage)
        for (unsigned s = 0; s < fs.nstages; s++) {
            printf("bench_nn,%s,stage%u_linear,%.3f,s\n", params, s, fs.linear_s[s]);
            printf("bench_nn,%s,stage%u_act,%.3f,s\n", params, s, fs.act_s[s]);
        }
    printf("bench_nn,%s,peak_rss,%.1f,MiB\n", params, bench_peak_rss_mib());
    printf("bench_nn,%s,planned_peak,%.1f,MiB\n", params, plan.peak_bytes / 1048576.0);
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

int main(int argc, char **argv)
{
    bench_rng_seed(0x1234567887654321ull); /* this benchmark's inputs, unchanged */
    int full = 0, quick = 0;
#ifdef M_MMAP_THRESHOLD
    /* Ciphertexts (MiBs each) are allocated and freed by the thousand: keep them in the heap
     * instead of fresh mmap()s, which the kernel must zero page by page every time. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
    size_t batch = 64;
    const char *model = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--full")) full = 1;
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = (size_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--log-scale") && i + 1 < argc) g_log_scale = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--prime-bits") && i + 1 < argc) g_stage_bits = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quick")) quick = 1;
        else {
            fprintf(stderr, "usage: bench_nn [--quick] [--log-scale b] [--prime-bits b] [--full [--batch B] [--model FILE]]\n");
            return 2;
        }
    }
    printf("benchmark,params,metric,value,unit\n");
    int rc = 0;
    if (full) {
        beaa_model *m = NULL;
        beaa_status st = BEAA_OK;
        if (model) st = beaa_model_load(model, &m);
        else m = default_model();
        if (st != BEAA_OK || !m) { fprintf(stderr, "model: %s\n", beaa_strerror(st)); return 1; }
        rc = run(model ? "element-wise model" : "element-wise squeezenet-random", m, 15, 0, batch, 1);
        beaa_model_free(m);
        return rc;
    }
    beaa_model *m = small_model();
    if (!m) return 1;
    size_t batches[4] = { 1, 16, 256, 2048 };
    for (int i = quick ? 3 : 0; i < 4 && rc == 0; i++)
        rc = run("element-wise small", m, 12, 1, batches[i], i == 3);
    beaa_model_free(m);
    return rc;
}
