/* ch08_batch_packing.c - chapter 8 of the course (docs/course/08-packing-batch.md): element-wise
 * packing, and why the amortized time per image falls with the batch (the paper's Figure 7,
 * small).
 * A two-stage network (conv 5x5/2 with 4 channels -> element-wise quadratic -> BatchNorm ->
 * average pool 2x2 -> conv 1x1 to 10 classes -> quadratic -> BatchNorm -> global average pool)
 * is trained for two epochs on 10,000 Fashion-MNIST training images, folded, and run encrypted
 * on test batches of 1, 64, 512 and 4096 images in ONE ring, N = 2^13 (4096 slots,
 * 128-bit secure). Image j sits in slot j of every ciphertext: each batch is 784 input
 * ciphertexts, the same server work, so the total time stays flat and the time per image falls
 * as 1/batch. Every batch is checked against the plaintext folded network.
 * Run: build/examples/ch08_batch_packing (needs the dataset-fashion-mnist package). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "lib/beaa.h"
#include "nn/fold.h"
#include "nn/forward.h"
#include "nn/pack.h"
#include "nn/plain.h"
#include "nn/plan.h"
#include "nn/quant.h"

#define TRY(x)                                                                  \
    do {                                                                        \
        beaa_status s_ = (x);                                                   \
        if (s_ != BEAA_OK) {                                                    \
            fprintf(stderr, "%s failed: %s\n", #x, beaa_strerror(s_));           \
            return 1;                                                           \
        }                                                                       \
    } while (0)

#define NB 4
#define NC 10

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(void)
{
    const size_t batches[NB] = {1, 64, 512, 4096};
    const size_t maxb = batches[NB - 1];
    char err[256] = "";
    beaa_dataset train, trsub, test;
    beaa_status st = beaa_data_fmnist_load(NULL, 1, &train, err, sizeof err);
    if (st == BEAA_OK) st = beaa_data_fmnist_load(NULL, 0, &test, err, sizeof err);
    if (st != BEAA_OK) { fprintf(stderr, "Fashion-MNIST: %s: %s\n", beaa_strerror(st), err); return 1; }
    TRY(beaa_data_head(&train, 10000, &trsub));
    beaa_dataset_free(&train);

    /* The network, trained briefly (its weights only need to be meaningful, not good). */
    beaa_model_desc d[4] = {
        {.kind = BEAA_MODULE_CONV, .cout = 4, .k = 5, .stride = 2, .pad = 2,
         .act = BEAA_ACT_POLY, .gran = BEAA_POLY_ELEMENT},
        {.kind = BEAA_MODULE_AVGPOOL, .k = 2, .stride = 2},
        {.kind = BEAA_MODULE_CONV, .cout = NC, .k = 1, .stride = 1, .pad = 0,
         .act = BEAA_ACT_POLY, .gran = BEAA_POLY_ELEMENT},
        {.kind = BEAA_MODULE_GAP},
    };
    beaa_model *m;
    TRY(beaa_model_build(1, 28, 28, NC, d, 4, &m));
    TRY(beaa_train_init_weights(m, 1, 0.1f, 0.5f, 0.0f));
    TRY(beaa_train_set_normalization(m, &trsub));
    beaa_train_config cfg;
    beaa_train_config_default(&cfg);
    cfg.epochs = 2;
    cfg.clip = 1.0f;
    double t0 = now();
    TRY(beaa_train_run(m, NULL, &trsub, NULL, &cfg, NULL, NULL));
    printf("model: %u activation layers, %zu activated elements per image, trained in %.1f s\n",
           beaa_model_act_layers(m), beaa_model_act_elements(m), now() - t0);

    /* Fold, plan one ring for every batch (N = 2^13 holds 4096 images), quantize, keys. */
    beaa_nn_net *net;
    TRY(beaa_nn_net_fold(m, &net));
    beaa_nn_plan_opts po;
    beaa_nn_plan_opts_default(&po);
    po.batch = maxb;
    po.force_log_n = 13;
    beaa_nn_plan plan;
    st = beaa_nn_plan_make(net, &po, &plan);
    if (st != BEAA_OK) { fprintf(stderr, "plan: %s: %s\n", beaa_strerror(st), plan.msg); return 1; }
    printf("plan: %s\n", plan.msg);
    printf("per batch: %zu input ciphertexts (one per pixel), %zu output ciphertexts (one per "
           "class), %zu scalar MACs and %zu ciphertext products\n", plan.input_cts, plan.output_cts,
           beaa_nn_net_macs(net), beaa_nn_net_products(net));
    beaa_ckks_context *ctx;
    beaa_ckks_secret_key *sk;
    beaa_ckks_relin_key *rk;
    beaa_nn_qnet *qn;
    TRY(beaa_ckks_context_new(&plan.spec, &ctx));
    TRY(beaa_ckks_secret_key_gen(ctx, &sk));
    TRY(beaa_ckks_relin_key_gen(sk, &rk));
    TRY(beaa_nn_quantize(net, &plan, ctx, &qn));

    /* The test images, normalized; the plaintext folded network as the reference. */
    const size_t el = plan.input_cts;
    double *x = malloc(maxb * el * sizeof *x), *ref = malloc(maxb * NC * sizeof *ref),
           *got = malloc(maxb * NC * sizeof *got);
    beaa_ckks_ciphertext **in = calloc(el, sizeof *in), *logits[NC];
    if (!x || !ref || !got || !in) return 1;
    beaa_nn_normalize(m, test.pixels, maxb, x);
    TRY(beaa_nn_plain_folded_forward(net, x, maxb, ref));

    printf("\n%6s %10s %10s %10s %10s %14s %9s %12s\n", "batch", "encrypt s", "forward s",
           "decrypt s", "total s", "ms per image", "agree", "max |err|");
    double worst_err = 0, worst_agree = 1;
    for (int b = 0; b < NB; b++) {
        const size_t nb = batches[b];
        double te = now();
        TRY(beaa_nn_pack_encrypt(sk, x, nb, el, plan.levels, plan.in_scale, in));
        double tf = now();
        TRY(beaa_nn_forward(net, qn, rk, in, logits, NULL, NULL)); /* frees in[] */
        double td = now();
        TRY(beaa_nn_pack_decrypt(sk, logits, NC, nb, got));
        double tend = now();
        for (int k = 0; k < NC; k++) beaa_ckks_ciphertext_free(logits[k]);
        size_t agree = 0;
        double mx = 0;
        for (size_t i = 0; i < nb; i++) {
            agree += beaa_nn_argmax(got + i * NC, NC) == beaa_nn_argmax(ref + i * NC, NC);
            for (int k = 0; k < NC; k++) mx = fmax(mx, fabs(got[i * NC + k] - ref[i * NC + k]));
        }
        double total = tend - te;
        printf("%6zu %10.3f %10.3f %10.3f %10.3f %14.3f %8.1f%% %12.2e\n", nb, tf - te, td - tf,
               tend - td, total, 1e3 * total / (double)nb, 100.0 * (double)agree / (double)nb, mx);
        worst_err = fmax(worst_err, mx);
        worst_agree = fmin(worst_agree, (double)agree / (double)nb);
    }
    size_t correct = 0;
    for (size_t i = 0; i < maxb; i++) correct += beaa_nn_argmax(got + i * NC, NC) == test.labels[i];
    printf("\nencrypted accuracy on the %zu-image batch: %.1f%% (a two-layer network, two epochs)\n",
           maxb, 100.0 * (double)correct / (double)maxb);
    printf("check: max_logit_error %.3e\n", worst_err);
    printf("check: min_agreement %.4f\n", worst_agree);
    printf("check: encrypted_accuracy %.4f\n", (double)correct / (double)maxb);

    beaa_nn_qnet_free(qn);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_secret_key_free(sk);
    beaa_ckks_context_free(ctx);
    beaa_nn_net_free(net);
    beaa_model_free(m);
    beaa_dataset_free(&trsub);
    beaa_dataset_free(&test);
    free(x); free(ref); free(got); free(in);
    return 0;
}
