/* ch09_activations.c - chapter 9 of the course (docs/course/09-activations-kd.md): polynomial
 * activations at three grains, BatchNorm folding, and knowledge distillation.
 * 1. trains a ReLU teacher (the default SqueezeNet-shaped network) for 3 epochs on 2,000
 *    Fashion-MNIST training images;
 * 2. trains quadratic students y = a x^2 + b x + c with one (a, b, c) per layer, per channel and
 *    per element, each initialized from the teacher, without and with distillation from it
 *    (2 epochs each), and evaluates all of them on 1,000 test images;
 * 3. counts what each grain costs: trainable parameters differ, encrypted products do not;
 * 4. folds BatchNorm, the activation's c and the pooling into the next linear map and checks
 *    that the folded network computes the same logits as the model.
 * Small and fast on purpose: the accuracies are those of a few seconds of training.
 * Run: build/examples/ch09_activations (needs the dataset-fashion-mnist package). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "lib/beaa.h"
#include "nn/fold.h"
#include "nn/plain.h"

#define TRY(x)                                                                  \
    do {                                                                        \
        beaa_status s_ = (x);                                                   \
        if (s_ != BEAA_OK) {                                                    \
            fprintf(stderr, "%s failed: %s\n", #x, beaa_strerror(s_));           \
            return 1;                                                           \
        }                                                                       \
    } while (0)

#define NTRAIN 2000
#define NTEST 1000
#define NFOLD 200

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(void)
{
    char err[256] = "";
    beaa_dataset full, test, train, tsub;
    beaa_status st = beaa_data_fmnist_load(NULL, 1, &full, err, sizeof err);
    if (st == BEAA_OK) st = beaa_data_fmnist_load(NULL, 0, &test, err, sizeof err);
    if (st != BEAA_OK) { fprintf(stderr, "Fashion-MNIST: %s: %s\n", beaa_strerror(st), err); return 1; }
    TRY(beaa_data_head(&full, NTRAIN, &train));
    TRY(beaa_data_head(&test, NTEST, &tsub));
    beaa_dataset_free(&full);
    beaa_dataset_free(&test);

    /* 1. The teacher: ReLU activations (exact, but not a polynomial: it cannot run encrypted). */
    beaa_model *teacher;
    TRY(beaa_train_arch_squeezenet(1, 28, 28, 10, BEAA_ACT_RELU, BEAA_POLY_LAYER, 0, &teacher));
    TRY(beaa_train_init_weights(teacher, 1, 0, 0, 0));
    TRY(beaa_train_set_normalization(teacher, &train));
    beaa_train_config cfg;
    beaa_train_config_default(&cfg);
    cfg.epochs = 3;
    cfg.lr = 0.1f;
    double t0 = now(), acc;
    TRY(beaa_train_run(teacher, NULL, &train, NULL, &cfg, NULL, NULL));
    TRY(beaa_train_evaluate(teacher, &tsub, 250, &acc, NULL));
    printf("ReLU teacher: %zu parameters, test accuracy %.1f%% (%.1f s)\n",
           beaa_model_trainable_params(teacher), 100 * acc, now() - t0);
    printf("check: teacher_accuracy %.4f\n", acc);

    /* 2. Students at three grains, from the teacher's weights, without and with KD:
     *    loss = lambda T^2 KL(softmax(t/T) || softmax(s/T)) + (1 - lambda) CE(s, y). */
    const beaa_poly_gran grains[3] = {BEAA_POLY_LAYER, BEAA_POLY_CHANNEL, BEAA_POLY_ELEMENT};
    const char *names[3] = {"layer", "channel", "element"};
    beaa_model *last = NULL;
    for (int g = 0; g < 3; g++) {
        for (int kd = 0; kd < 2; kd++) {
            beaa_model *s;
            TRY(beaa_train_arch_squeezenet(1, 28, 28, 10, BEAA_ACT_POLY, grains[g], 0, &s));
            TRY(beaa_train_init_weights(s, 1, 0.1f, 0.5f, 0.0f)); /* a = 0.1, b = 0.5, c = 0 */
            TRY(beaa_train_copy_linear(s, teacher));                /* convs and BN from teacher */
            beaa_train_config_default(&cfg);
            cfg.epochs = 2;
            cfg.clip = 1.0f;
            cfg.kd_lambda = 0.5f;
            cfg.kd_T = 4.0f;
            t0 = now();
            TRY(beaa_train_run(s, kd ? teacher : NULL, &train, NULL, &cfg, NULL, NULL));
            TRY(beaa_train_evaluate(s, &tsub, 250, &acc, NULL));
            /* 3. What the grain costs: parameters, and (after folding) encrypted products. */
            beaa_nn_net *net;
            TRY(beaa_nn_net_fold(s, &net));
            printf("%-7s %-7s %6zu parameters, %zu encrypted products per batch, test accuracy "
                   "%.1f%% (%.1f s)\n", names[g], kd ? "+ KD" : "", beaa_model_trainable_params(s),
                   beaa_nn_net_products(net), 100 * acc, now() - t0);
            printf("check: %s%s_accuracy %.4f\n", names[g], kd ? "_kd" : "", acc);
            if (!kd) {
                printf("check: %s_params %zu\n", names[g], beaa_model_trainable_params(s));
                printf("check: %s_products %zu\n", names[g], beaa_nn_net_products(net));
            }
            beaa_nn_net_free(net);
            if (last) beaa_model_free(last);
            last = s;
        }
    }

    /* 4. Folding: the element-wise KD student as trained (conv, activation, BatchNorm, pool)
     *    against its folded form (linear map, one product per element, nothing else). */
    beaa_nn_net *net;
    TRY(beaa_nn_net_fold(last, &net));
    const size_t el = (size_t)28 * 28;
    double *x = malloc(NFOLD * el * sizeof *x), *a = malloc(NFOLD * 10 * sizeof *a),
           *b = malloc(NFOLD * 10 * sizeof *b);
    if (!x || !a || !b) return 1;
    beaa_nn_normalize(last, tsub.pixels, NFOLD, x);
    TRY(beaa_nn_plain_model_forward(last, x, NFOLD, a));
    TRY(beaa_nn_plain_folded_forward(net, x, NFOLD, b));
    double mx = 0, big = 0;
    for (size_t i = 0; i < NFOLD * 10; i++) {
        mx = fmax(mx, fabs(a[i] - b[i]));
        big = fmax(big, fabs(a[i]));
    }
    printf("folded network: %u stages (one per activation), %zu MACs per image; logits of %d test "
           "images: max |model - folded| = %.2e (largest logit %.1f)\n", net->nstages,
           beaa_nn_net_macs(net), NFOLD, mx, big);
    printf("  image 0, class 0: model %.9f, folded %.9f\n", a[0], b[0]);
    printf("check: fold_max_difference %.3e\n", mx);
    printf("check: stages %u\n", net->nstages);

    free(x); free(a); free(b);
    beaa_nn_net_free(net);
    beaa_model_free(last);
    beaa_model_free(teacher);
    beaa_dataset_free(&train);
    beaa_dataset_free(&tsub);
    return 0;
}
