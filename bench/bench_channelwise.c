/* bench_channelwise.c - the baseline the BEAA paper compares against: channel-wise packing (one
 * ciphertext per image and channel, convolutions by hoisted rotations, nn/channelwise.h) of a
 * trained model, image after image, on the first K Fashion-MNIST test images; the plaintext
 * accuracy of the same model on the whole test set beside it. The layer- and channel-wise rows
 * of Table 1 are made of these runs (scripts/bench.sh). Skips, with a row saying how much memory
 * it needs, when the rotation keys do not fit. Prints CSV rows benchmark,params,metric,value,unit
 * with benchmark "channelwise".
 * Usage: bench_channelwise --model FILE [--name NAME] [--images K] [--log-n n --insecure] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/cpu.h"
#include "ckks/ckks.h"
#include "nn/channelwise.h"
#include "nn/model.h"
#include "nn/plain.h"
#include "bench/common/bench_data.h"
#include "bench/common/bench_util.h"

static int usage(void)
{
    fprintf(stderr, "usage: bench_channelwise --model FILE [--name NAME] [--images K] "
                    "[--log-n n --insecure] [--seed TEXT|os]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *name = NULL;
    size_t k = 4;
    unsigned log_n = 0;
    int insecure = 0;
    const char *seed = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--model") && v) path = argv[++i];
        else if (!strcmp(a, "--name") && v) name = argv[++i];
        else if (!strcmp(a, "--images") && v) k = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--log-n") && v) log_n = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--insecure")) insecure = 1;
        else if (!strcmp(a, "--seed") && v) seed = argv[++i];
        else return usage();
    }
    if (!path || k == 0) return usage();
    if (!name) name = path;
    if (bench_apply_seed(seed)) return 1;
    printf("benchmark,params,metric,value,unit\n");

    beaa_model *m = NULL;
    if (bench_load_model(path, &m)) return 1;
    bench_batch b;
    if (bench_fmnist_batch(m, 0, &b)) { beaa_model_free(m); return 1; }
    if (k > b.n) k = b.n;
    size_t el = b.elems, nc = m->num_classes;

    beaa_nn_cw_net *cw = NULL;
    beaa_nn_cw_plan plan;
    beaa_nn_cw_opts o;
    beaa_nn_cw_opts_default(&o);
    o.force_log_n = log_n;
    o.allow_insecure = insecure;
    beaa_status st = beaa_nn_cw_compile(m, &cw);
    if (st == BEAA_OK) st = beaa_nn_cw_plan_make(cw, &o, &plan);
    if (st != BEAA_OK) {
        fprintf(stderr, "bench_channelwise: %s: %s%s%s\n", path, beaa_strerror(st),
                cw ? ": " : "", cw ? plan.msg : "");
        beaa_nn_cw_net_free(cw);
        bench_batch_free(&b);
        beaa_model_free(m);
        return 1;
    }
    size_t nsteps = 0;
    const int *steps = beaa_nn_cw_rotation_steps(cw, &nsteps);
    char params[256];
    snprintf(params, sizeof params, "model=%s;images=%zu;N=2^%u;logQP=%u;threads=%d", name, k,
             plan.spec.log_n, plan.total_bits, beaa_cpu_threads());
    /* keys: one switching key per rotation step and the relinearization key, each dnum digits
     * of 2 polynomials over all primes; working set: a few ciphertexts per channel per thread */
    size_t np = plan.spec.n_primes, ns = plan.spec.n_special, dnum = (np + ns - 1) / ns;
    double key_mib = (double)(nsteps + 1) * dnum * 2 * (np + ns) * ((size_t)1 << plan.spec.log_n)
                   * 8 / 1048576.0;
    double need = key_mib + 1024.0;
    fprintf(stderr, "  %s: %s; %zu rotation keys\n", name, plan.msg, nsteps);
    if (!bench_memory_fits("channelwise", params, need)) {
        beaa_nn_cw_net_free(cw);
        bench_batch_free(&b);
        beaa_model_free(m);
        return 0;
    }

    beaa_ckks_context *ctx = NULL;
    beaa_ckks_secret_key *sk = NULL;
    beaa_ckks_relin_key *rk = NULL;
    beaa_ckks_galois_keys *gk = NULL;
    double *ref = malloc(sizeof(double) * b.n * nc), *got = malloc(sizeof(double) * k * nc);
    beaa_ckks_ciphertext **in = calloc(m->in_c, sizeof *in), **lg = calloc(nc, sizeof *lg);
    int rc = 1;
    if (!ref || !got || !in || !lg) { st = BEAA_ERR_NOMEM; goto out; }
    double t0 = bench_now_s();
    st = beaa_nn_plain_model_forward(m, b.x, b.n, ref);
    double t_plain = bench_now_s() - t0;
    if (st != BEAA_OK) goto out;
    t0 = bench_now_s();
    st = beaa_ckks_context_new(&plan.spec, &ctx);
    if (st == BEAA_OK) st = beaa_ckks_secret_key_gen(ctx, &sk);
    if (st == BEAA_OK) st = beaa_ckks_relin_key_gen(sk, &rk);
    if (st == BEAA_OK) st = beaa_ckks_galois_keys_gen(sk, steps, nsteps, 0, &gk);
    double t_keygen = bench_now_s() - t0;
    t0 = bench_now_s();
    if (st == BEAA_OK) st = beaa_nn_cw_prepare(cw, &plan, ctx);
    double t_prep = bench_now_s() - t0;
    if (st != BEAA_OK) goto out;
    fprintf(stderr, "  %s: keys in %.1f s, server plaintexts in %.1f s\n", name, t_keygen, t_prep);

    double tenc = 0, tfwd = 0, tdec = 0, maxerr = 0;
    size_t agree = 0;
    beaa_nn_cw_stats fs, sum;
    memset(&sum, 0, sizeof sum);
    for (size_t i = 0; i < k; i++) {
        double a = bench_now_s();
        st = beaa_nn_cw_encrypt(cw, sk, b.x + i * el, in);
        double bb = bench_now_s();
        if (st == BEAA_OK) st = beaa_nn_cw_forward(cw, rk, gk, in, lg, &fs);
        double c = bench_now_s();
        if (st == BEAA_OK) st = beaa_nn_cw_decrypt(sk, lg, nc, got + i * nc);
        double d = bench_now_s();
        for (size_t j = 0; j < nc; j++) {
            beaa_ckks_ciphertext_free(lg[j]);
            lg[j] = NULL;
        }
        if (st != BEAA_OK) goto out;
        tenc += bb - a;
        tfwd += c - bb;
        tdec += d - c;
        sum.rotate_s += fs.rotate_s;
        sum.mask_s += fs.mask_s;
        sum.accumulate_s += fs.accumulate_s;
        sum.act_s += fs.act_s;
        sum.pool_s += fs.pool_s;
        sum.rotations = fs.rotations;
        sum.products = fs.products;
        for (size_t j = 0; j < nc; j++) {
            double e = fabs(got[i * nc + j] - ref[i * nc + j]);
            if (e > maxerr) maxerr = e;
        }
        agree += beaa_nn_argmax(got + i * nc, nc) == beaa_nn_argmax(ref + i * nc, nc);
        fprintf(stderr, "  %s: image %zu/%zu, %.1f s\n", name, i + 1, k, d - a);
    }
    double dk = (double)k;
    printf("channelwise,%s,images,%zu,count\n", params, k);
    printf("channelwise,%s,levels,%u,count\n", params, plan.levels);
    printf("channelwise,%s,accuracy_encrypted_images,%.4f,fraction\n", params,
           bench_accuracy(got, b.labels, k, nc));
    printf("channelwise,%s,accuracy_plain_images,%.4f,fraction\n", params,
           bench_accuracy(ref, b.labels, k, nc));
    printf("channelwise,%s,accuracy_plain_test,%.4f,fraction\n", params,
           bench_accuracy(ref, b.labels, b.n, nc));
    printf("channelwise,%s,test_images,%zu,count\n", params, b.n);
    printf("channelwise,%s,agreement,%.4f,fraction\n", params, (double)agree / dk);
    printf("channelwise,%s,max_abs_logit_err,%.3g,1\n", params, maxerr);
    printf("channelwise,%s,rotation_keys,%zu,count\n", params, nsteps);
    printf("channelwise,%s,rotation_key_bytes,%.1f,MiB\n", params,
           (double)nsteps * beaa_ckks_switch_key_words(ctx) * 8 / 1048576.0);
    printf("channelwise,%s,keygen,%.3f,s\n", params, t_keygen);
    printf("channelwise,%s,prepare_plaintexts,%.3f,s\n", params, t_prep);
    printf("channelwise,%s,rotations_per_image,%zu,count\n", params, sum.rotations);
    printf("channelwise,%s,products_per_image,%zu,count\n", params, sum.products);
    printf("channelwise,%s,encrypt_per_image,%.3f,ms\n", params, 1e3 * tenc / dk);
    printf("channelwise,%s,forward_per_image,%.3f,ms\n", params, 1e3 * tfwd / dk);
    printf("channelwise,%s,forward_rotate,%.3f,ms\n", params, 1e3 * sum.rotate_s / dk);
    printf("channelwise,%s,forward_mask,%.3f,ms\n", params, 1e3 * sum.mask_s / dk);
    printf("channelwise,%s,forward_accumulate,%.3f,ms\n", params, 1e3 * sum.accumulate_s / dk);
    printf("channelwise,%s,forward_activation,%.3f,ms\n", params, 1e3 * sum.act_s / dk);
    printf("channelwise,%s,forward_pool,%.3f,ms\n", params, 1e3 * sum.pool_s / dk);
    printf("channelwise,%s,decrypt_per_image,%.3f,ms\n", params, 1e3 * tdec / dk);
    printf("channelwise,%s,total,%.3f,s\n", params, tenc + tfwd + tdec);
    printf("channelwise,%s,time_per_image,%.3f,ms\n", params, 1e3 * (tenc + tfwd + tdec) / dk);
    printf("channelwise,%s,plain_forward_test,%.3f,s\n", params, t_plain);
    printf("channelwise,%s,peak_rss,%.1f,MiB\n", params, bench_peak_rss_mib());
    fflush(stdout);
    rc = 0;
out:
    if (st != BEAA_OK) fprintf(stderr, "bench_channelwise: %s: %s\n", name, beaa_strerror(st));
    if (in)
        for (uint32_t c = 0; c < m->in_c; c++) beaa_ckks_ciphertext_free(in[c]);
    free(in);
    free(lg);
    free(ref);
    free(got);
    beaa_ckks_galois_keys_free(gk);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_secret_key_free(sk);
    beaa_ckks_context_free(ctx);
    beaa_nn_cw_net_free(cw);
    bench_batch_free(&b);
    beaa_model_free(m);
    return rc;
}
