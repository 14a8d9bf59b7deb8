/* bench_elementwise.c - one encrypted BEAA run (element-wise packing) of a trained model on a
 * batch of Fashion-MNIST images: the test set first, training images past its 10,000.
 * The paper's Figure 7 (time vs batch) and the element-wise rows of Table 1 (accuracy) are
 * made of these runs (scripts/bench.sh). Plans first and skips the run, with a row saying how
 * much memory it needs, when the machine has too little. Validates against the plaintext
 * reference of the same folded network (agreement, max logit error), then prints CSV rows
 * benchmark,params,metric,value,unit with benchmark "elementwise".
 * Usage: bench_elementwise --model FILE [--name NAME] [--batch B] [--log-n n --insecure]
 *   B = 0 or absent: the whole test set (10,000). --log-n forces the ring (with --insecure a ring
 *   below the 128-bit bound: the quick smoke run of scripts/bench.sh --quick). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/cpu.h"
#include "ckks/ckks.h"
#include "ckks/kernels/kernels.h"
#include "nn/fold.h"
#include "nn/forward.h"
#include "nn/model.h"
#include "nn/pack.h"
#include "nn/plain.h"
#include "nn/plan.h"
#include "nn/quant.h"
#include "nn/upload.h"
#include "bench/common/bench_data.h"
#include "bench/common/bench_util.h"

typedef struct progress_state {
    const char *name;
    double t0;
} progress_state;

/* One stderr line per finished stage of the encrypted pass. */
static void progress(void *user, unsigned si, unsigned ns, size_t done, size_t total)
{
    const progress_state *p = user;
    if (done == total)
        fprintf(stderr, "  %s: stage %u/%u done (%.1f s)\n", p->name, si + 1, ns,
                bench_now_s() - p->t0);
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_elementwise --model FILE [--name NAME] [--batch B] "
                    "[--log-n n --insecure] [--seed TEXT|os]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *name = NULL;
    size_t batch = 0;
    unsigned log_n = 0;
    int insecure = 0;
    const char *seed = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--model") && v) path = argv[++i];
        else if (!strcmp(a, "--name") && v) name = argv[++i];
        else if (!strcmp(a, "--batch") && v) batch = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--log-n") && v) log_n = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--insecure")) insecure = 1;
        else if (!strcmp(a, "--seed") && v) seed = argv[++i];
        else return usage();
    }
    if (!path) return usage();
    if (!name) name = path;
    if (bench_apply_seed(seed)) return 1;
    printf("benchmark,params,metric,value,unit\n");

    beaa_model *m = NULL;
    if (bench_load_model(path, &m)) return 1;
    bench_batch b;
    if (bench_fmnist_batch(m, batch, &b)) { beaa_model_free(m); return 1; }
    size_t n = b.n, el = b.elems, nc = m->num_classes;

    beaa_nn_net *net = NULL;
    beaa_nn_plan plan;
    beaa_nn_plan_opts o;
    beaa_nn_plan_opts_default(&o);
    o.batch = n;
    o.force_log_n = log_n;
    o.allow_insecure = insecure;
    beaa_status st = beaa_nn_net_fold(m, &net);
    if (st == BEAA_OK) st = beaa_nn_plan_make(net, &o, &plan);
    if (st != BEAA_OK) {
        fprintf(stderr, "bench_elementwise: %s: %s%s%s\n", path, beaa_strerror(st),
                net ? ": " : "", net ? plan.msg : "");
        beaa_nn_net_free(net);
        bench_batch_free(&b);
        beaa_model_free(m);
        return 1;
    }
    char params[256];
    snprintf(params, sizeof params, "model=%s;batch=%zu;N=2^%u;logQP=%u;threads=%d", name, n,
             plan.spec.log_n, plan.total_bits, beaa_cpu_threads());
    /* the pass, the images (x and 3 logit arrays) and the plaintext references */
    double need = plan.peak_upload_bytes / 1048576.0 + (double)n * (el + 4 * nc) * 8 / 1048576.0;
    printf("elementwise,%s,planned_peak,%.1f,MiB\n", params, plan.peak_upload_bytes / 1048576.0);
    fprintf(stderr, "  %s: batch %zu, %s; planned peak %.2f GiB\n", name, n, plan.msg,
            plan.peak_upload_bytes / 1073741824.0);
    if (!bench_memory_fits("elementwise", params, need)) {
        beaa_nn_net_free(net);
        bench_batch_free(&b);
        beaa_model_free(m);
        return 0;
    }

    double *ref = malloc(sizeof(double) * n * nc), *ref_m = malloc(sizeof(double) * n * nc),
           *got = malloc(sizeof(double) * n * nc);
    beaa_ckks_ciphertext **lg = calloc(nc, sizeof *lg);
    beaa_nn_upload *in = NULL; /* the inputs as the client sends them (nn/upload.h) */
    beaa_ckks_context *ctx = NULL;
    beaa_ckks_secret_key *sk = NULL;
    beaa_ckks_relin_key *rk = NULL;
    beaa_nn_qnet *qn = NULL;
    int rc = 1;
    if (!ref || !ref_m || !got || !lg) { st = BEAA_ERR_NOMEM; goto out; }
    double t0 = bench_now_s();
    st = beaa_nn_plain_model_forward(m, b.x, n, ref_m);
    double t_plain = bench_now_s() - t0;
    if (st == BEAA_OK) st = beaa_nn_plain_folded_forward(net, b.x, n, ref);
    if (st != BEAA_OK) goto out;
    t0 = bench_now_s();
    st = beaa_ckks_context_new(&plan.spec, &ctx);
    if (st == BEAA_OK) st = beaa_ckks_secret_key_gen(ctx, &sk);
    if (st == BEAA_OK) st = beaa_ckks_relin_key_gen(sk, &rk);
    if (st == BEAA_OK) st = beaa_nn_quantize(net, &plan, ctx, &qn);
    double t_keygen = bench_now_s() - t0;
    if (st != BEAA_OK) goto out;
    t0 = bench_now_s();
    st = beaa_nn_upload_encrypt(sk, b.x, n, el, plan.levels, plan.in_scale, &in);
    double t_enc = bench_now_s() - t0;
    if (st != BEAA_OK) goto out;
    fprintf(stderr, "  %s: encrypted %zu ciphertexts in %.1f s\n", name, el, t_enc);
    progress_state ps = { name, bench_now_s() };
    beaa_nn_forward_opts fo = { 0, progress, &ps };
    beaa_nn_forward_stats fs;
    t0 = bench_now_s();
    st = beaa_nn_forward_upload(net, qn, rk, in, lg, &fo, &fs);
    double t_fwd = bench_now_s() - t0;
    if (st != BEAA_OK) goto out;
    t0 = bench_now_s();
    st = beaa_nn_pack_decrypt(sk, lg, nc, n, got);
    double t_dec = bench_now_s() - t0;
    if (st != BEAA_OK) goto out;

    double maxerr = 0, lin = 0, act = 0;
    size_t agree = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < nc; k++) {
            double d = fabs(got[i * nc + k] - ref[i * nc + k]);
            if (d > maxerr) maxerr = d;
        }
        agree += beaa_nn_argmax(got + i * nc, nc) == beaa_nn_argmax(ref + i * nc, nc);
    }
    for (unsigned s = 0; s < fs.nstages; s++) { lin += fs.linear_s[s]; act += fs.act_s[s]; }
    double total = t_enc + t_fwd + t_dec;
    printf("elementwise,%s,kernels,%s,name\n", params, beaa_kernels_get()->name);
    printf("elementwise,%s,log_scale,%.0f,bits\n", params, log2(plan.scale));
    printf("elementwise,%s,levels,%u,count\n", params, plan.levels);
    printf("elementwise,%s,security_bound,%u,bits\n", params, plan.max_bits);
    printf("elementwise,%s,test_images,%zu,count\n", params, b.n_test);
    printf("elementwise,%s,train_fill_images,%zu,count\n", params, n - b.n_test);
    printf("elementwise,%s,input_ciphertexts,%zu,count\n", params, el);
    printf("elementwise,%s,products,%zu,count\n", params, beaa_nn_net_products(net));
    printf("elementwise,%s,scalar_macs,%zu,count\n", params, beaa_nn_net_macs(net));
    printf("elementwise,%s,accuracy_encrypted_test,%.4f,fraction\n", params,
           bench_accuracy(got, b.labels, b.n_test, nc));
    printf("elementwise,%s,accuracy_plain_test,%.4f,fraction\n", params,
           bench_accuracy(ref_m, b.labels, b.n_test, nc));
    printf("elementwise,%s,accuracy_encrypted_batch,%.4f,fraction\n", params,
           bench_accuracy(got, b.labels, n, nc));
    printf("elementwise,%s,agreement,%.4f,fraction\n", params, (double)agree / (double)n);
    printf("elementwise,%s,max_abs_logit_err,%.3g,1\n", params, maxerr);
    printf("elementwise,%s,keygen,%.3f,s\n", params, t_keygen);
    printf("elementwise,%s,encrypt,%.3f,s\n", params, t_enc);
    printf("elementwise,%s,forward,%.3f,s\n", params, t_fwd);
    printf("elementwise,%s,forward_linear_tensor,%.3f,s\n", params, lin);
    printf("elementwise,%s,forward_relin_rescale,%.3f,s\n", params, act);
    printf("elementwise,%s,decrypt,%.3f,s\n", params, t_dec);
    printf("elementwise,%s,total,%.3f,s\n", params, total);
    printf("elementwise,%s,amortized_per_image,%.4f,ms\n", params, 1e3 * total / (double)n);
    printf("elementwise,%s,plain_forward,%.3f,s\n", params, t_plain);
    printf("elementwise,%s,peak_rss,%.1f,MiB\n", params, bench_peak_rss_mib());
    fflush(stdout);
    rc = 0;
out:
    if (st != BEAA_OK) fprintf(stderr, "bench_elementwise: %s: %s\n", name, beaa_strerror(st));
    if (lg)
        for (size_t k = 0; k < nc; k++) beaa_ckks_ciphertext_free(lg[k]);
    beaa_nn_upload_free(in);
    free(lg);
    free(ref);
    free(ref_m);
    free(got);
    beaa_nn_qnet_free(qn);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_secret_key_free(sk);
    beaa_ckks_context_free(ctx);
    beaa_nn_net_free(net);
    bench_batch_free(&b);
    beaa_model_free(m);
    return rc;
}
