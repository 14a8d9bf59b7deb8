/* bench_paper.c - the BEAA paper's own experiment geometry (`make bench-paper`): CIFAR-10 sized
 * inputs (3x32x32, 10 classes) through the paper's module sequence (Conv, Fire, Pool, Conv, Fire,
 * Pool, Conv, Conv, global Pool; train/arch.h) with element-wise polynomial activations and
 * random weights (no CIFAR-10 data here: the time does not depend on the weights), batch 4096,
 * N = 2^15, 128-bit secure. Prints the planned peak memory first and stops with a clear message
 * when it exceeds the memory available (never runs the machine into swap); otherwise encrypts,
 * runs, decrypts, checks against the plaintext folded network, and prints the total and
 * amortized time beside the paper's (3130 s for 4096 images, 0.765 s per image, 10 cores).
 * CSV rows with benchmark "paper_cifar10".
 * Usage: bench_paper [--batch B] [--log-n n --insecure] [--save-model PATH]
 * --save-model writes the model (the same random weights) for the tools and stops: the
 * out-of-core and MPI runs of docs/scale.md use it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/cpu.h"
#include "ckks/ckks.h"
#include "ckks/kernels/kernels.h"
#include "nn/fold.h"
#include "nn/forward.h"
#include "nn/pack.h"
#include "nn/plain.h"
#include "nn/plan.h"
#include "nn/quant.h"
#include "nn/upload.h"
#include "train/arch.h"
#include "bench/common/bench_util.h"

#define PAPER_TOTAL_S 3130.0
#define PAPER_AMORTIZED_S 0.765
#define PAPER_BATCH 4096
#define PAPER_CORES 10

static double g_t0;
static void progress(void *user, unsigned si, unsigned ns, size_t done, size_t total)
{
    (void)user;
    if (done == total)
        fprintf(stderr, "  paper geometry: stage %u/%u done (%.1f s)\n", si + 1, ns,
                bench_now_s() - g_t0);
}

int main(int argc, char **argv)
{
    size_t n = PAPER_BATCH;
    unsigned log_n = 0;
    int insecure = 0;
    const char *save = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--batch") && v) n = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--log-n") && v) log_n = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--insecure")) insecure = 1;
        else if (!strcmp(a, "--save-model") && v) save = argv[++i];
        else {
            fprintf(stderr, "usage: bench_paper [--batch B] [--log-n n --insecure] [--save-model PATH]\n");
            return 2;
        }
    }
    if (n == 0) n = PAPER_BATCH;
    bench_rng_seed(0x5eed0fc1fa510ull); /* this benchmark's weights and inputs */
    beaa_model *m = NULL;
    beaa_status st = beaa_train_arch_squeezenet(3, 32, 32, 10, BEAA_ACT_POLY, BEAA_POLY_ELEMENT,
                                                0, &m);
    if (st != BEAA_OK) { fprintf(stderr, "bench_paper: model: %s\n", beaa_strerror(st)); return 1; }
    bench_model_fill_random(m);
    if (save) {
        st = beaa_model_save(m, save, 0);
        if (st != BEAA_OK) fprintf(stderr, "bench_paper: %s: %s\n", save, beaa_strerror(st));
        else fprintf(stderr, "bench_paper: wrote the model to %s\n", save);
        beaa_model_free(m);
        return st == BEAA_OK ? 0 : 1;
    }
    beaa_nn_net *net = NULL;
    beaa_nn_plan plan;
    beaa_nn_plan_opts o;
    beaa_nn_plan_opts_default(&o);
    o.batch = n;
    o.force_log_n = log_n ? log_n : 15;
    o.allow_insecure = insecure;
    st = beaa_nn_net_fold(m, &net);
    if (st == BEAA_OK) st = beaa_nn_plan_make(net, &o, &plan);
    if (st != BEAA_OK) {
        fprintf(stderr, "bench_paper: %s%s%s\n", beaa_strerror(st), net ? ": " : "",
                net ? plan.msg : "");
        beaa_nn_net_free(net);
        beaa_model_free(m);
        return 1;
    }
    size_t el = (size_t)m->in_c * m->in_h * m->in_w, nc = m->num_classes;
    char p[256];
    snprintf(p, sizeof p, "geometry=3x32x32;batch=%zu;N=2^%u;logQP=%u;threads=%d", n,
             plan.spec.log_n, plan.total_bits, beaa_cpu_threads());
    double need = plan.peak_upload_bytes / 1048576.0 + (double)n * (el + 2 * nc) * 8 / 1048576.0;
    printf("benchmark,params,metric,value,unit\n");
    printf("paper_cifar10,%s,planned_peak,%.1f,MiB\n", p, plan.peak_upload_bytes / 1048576.0);
    printf("paper_cifar10,%s,input_ciphertexts,%zu,count\n", p, el);
    printf("paper_cifar10,%s,products,%zu,count\n", p, beaa_nn_net_products(net));
    printf("paper_cifar10,%s,scalar_macs,%zu,count\n", p, beaa_nn_net_macs(net));
    fflush(stdout);
    fprintf(stderr, "bench_paper: 3x32x32 -> 10 classes, batch %zu, %s\n", n, plan.msg);
    fprintf(stderr, "bench_paper: %zu input ciphertexts, %zu ct-ct products, %zu scalar MACs; "
                    "planned peak memory %.2f GiB (with the images: %.2f GiB)\n", el,
            beaa_nn_net_products(net), beaa_nn_net_macs(net), plan.peak_upload_bytes / 1073741824.0,
            need / 1024.0);
    if (!bench_memory_fits("paper_cifar10", p, need)) {
        fprintf(stderr, "bench_paper: stopped before encrypting: the plan does not fit this "
                        "machine's memory\n");
        beaa_nn_net_free(net);
        beaa_model_free(m);
        return 1;
    }

    double *x = malloc(sizeof(double) * n * el), *ref = malloc(sizeof(double) * n * nc),
           *got = malloc(sizeof(double) * n * nc);
    beaa_ckks_ciphertext **lg = calloc(nc, sizeof *lg);
    beaa_nn_upload *in = NULL; /* the inputs as the client sends them (nn/upload.h) */
    beaa_ckks_context *ctx = NULL;
    beaa_ckks_secret_key *sk = NULL;
    beaa_ckks_relin_key *rk = NULL;
    beaa_nn_qnet *qn = NULL;
    int rc = 1;
    if (!x || !ref || !got || !lg) { st = BEAA_ERR_NOMEM; goto out; }
    for (size_t i = 0; i < n * el; i++) x[i] = bench_urand(-2.0, 2.0);
    st = beaa_nn_plain_folded_forward(net, x, n, ref);
    if (st == BEAA_OK) st = beaa_ckks_context_new(&plan.spec, &ctx);
    if (st == BEAA_OK) st = beaa_ckks_secret_key_gen(ctx, &sk);
    if (st == BEAA_OK) st = beaa_ckks_relin_key_gen(sk, &rk);
    if (st == BEAA_OK) st = beaa_nn_quantize(net, &plan, ctx, &qn);
    if (st != BEAA_OK) goto out;
    double t0 = bench_now_s();
    st = beaa_nn_upload_encrypt(sk, x, n, el, plan.levels, plan.in_scale, &in);
    double t_enc = bench_now_s() - t0;
    if (st != BEAA_OK) goto out;
    fprintf(stderr, "  paper geometry: encrypted %zu ciphertexts in %.1f s\n", el, t_enc);
    g_t0 = bench_now_s();
    beaa_nn_forward_opts fo = { 0, progress, NULL };
    t0 = bench_now_s();
    st = beaa_nn_forward_upload(net, qn, rk, in, lg, &fo, NULL);
    double t_fwd = bench_now_s() - t0;
    if (st != BEAA_OK) goto out;
    t0 = bench_now_s();
    st = beaa_nn_pack_decrypt(sk, lg, nc, n, got);
    double t_dec = bench_now_s() - t0;
    if (st != BEAA_OK) goto out;
    double maxerr = 0;
    size_t agree = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < nc; k++) {
            double d = fabs(got[i * nc + k] - ref[i * nc + k]);
            if (d > maxerr) maxerr = d;
        }
        agree += beaa_nn_argmax(got + i * nc, nc) == beaa_nn_argmax(ref + i * nc, nc);
    }
    double total = t_enc + t_fwd + t_dec;
    printf("paper_cifar10,%s,kernels,%s,name\n", p, beaa_kernels_get()->name);
    printf("paper_cifar10,%s,agreement,%.4f,fraction\n", p, (double)agree / (double)n);
    printf("paper_cifar10,%s,max_abs_logit_err,%.3g,1\n", p, maxerr);
    printf("paper_cifar10,%s,encrypt,%.3f,s\n", p, t_enc);
    printf("paper_cifar10,%s,forward,%.3f,s\n", p, t_fwd);
    printf("paper_cifar10,%s,decrypt,%.3f,s\n", p, t_dec);
    printf("paper_cifar10,%s,total,%.3f,s\n", p, total);
    printf("paper_cifar10,%s,amortized_per_image,%.4f,s\n", p, total / (double)n);
    printf("paper_cifar10,%s,peak_rss,%.1f,MiB\n", p, bench_peak_rss_mib());
    printf("paper_cifar10,paper;batch=%d;cores=%d,total,%.0f,s\n", PAPER_BATCH, PAPER_CORES,
           PAPER_TOTAL_S);
    printf("paper_cifar10,paper;batch=%d;cores=%d,amortized_per_image,%.3f,s\n", PAPER_BATCH,
           PAPER_CORES, PAPER_AMORTIZED_S);
    fflush(stdout);
    fprintf(stderr, "bench_paper: total %.1f s (encrypt %.1f, forward %.1f, decrypt %.2f), "
                    "%.4f s per image on %d threads; the paper: %.0f s, %.3f s per image on %d "
                    "cores; agreement with plaintext %.2f%%\n", total, t_enc, t_fwd, t_dec,
            total / (double)n, beaa_cpu_threads(), PAPER_TOTAL_S, PAPER_AMORTIZED_S, PAPER_CORES,
            100.0 * (double)agree / (double)n);
    rc = 0;
out:
    if (st != BEAA_OK) fprintf(stderr, "bench_paper: %s\n", beaa_strerror(st));
    if (lg)
        for (size_t k = 0; k < nc; k++) beaa_ckks_ciphertext_free(lg[k]);
    beaa_nn_upload_free(in);
    free(lg);
    free(x);
    free(ref);
    free(got);
    beaa_nn_qnet_free(qn);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_secret_key_free(sk);
    beaa_ckks_context_free(ctx);
    beaa_nn_net_free(net);
    beaa_model_free(m);
    return rc;
}
