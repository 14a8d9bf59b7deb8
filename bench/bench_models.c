/* bench_models.c - what each trained model is, computed from its file: activation grain,
 * trainable parameters, activation parameters and activation evaluations per image and per
 * packing (the paper's Table 3, beside its formulas 3 / 3C / 3CHW parameters and C / C / CHW
 * evaluations per activation layer), and its plaintext accuracy and inference time on the whole
 * Fashion-MNIST test set (the ReLU row of Table 1; the other rows' plaintext columns).
 * Usage: bench_models NAME=FILE [NAME=FILE ...]. CSV rows with benchmark "model". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/cpu.h"
#include "nn/fold.h"
#include "nn/model.h"
#include "nn/plain.h"
#include "bench/common/bench_data.h"
#include "bench/common/bench_util.h"

static const char *grain_name(const beaa_model *m)
{
    for (uint32_t i = 0; i < m->n_modules; i++) {
        const beaa_model_act *a = &m->modules[i].act[0];
        int nact = beaa_model_module_nact(&m->modules[i]);
        if (nact == 0) continue;
        if (a->kind == BEAA_ACT_RELU) return "relu";
        return a->gran == BEAA_POLY_LAYER ? "layer" : a->gran == BEAA_POLY_CHANNEL ? "channel" : "element";
    }
    return "none";
}

/* Trainable parameters: convolution weights and biases, BatchNorm gamma and beta, polynomial
 * coefficients (the BatchNorm running statistics are not trained). */
static size_t trainable(const beaa_model *m)
{
    size_t t = 0;
    for (uint32_t i = 0; i < m->n_modules; i++) {
        const beaa_model_module *md = &m->modules[i];
        int nconv = beaa_model_module_nconv(md);
        int nact = beaa_model_module_nact(md);
        for (int c = 0; c < nconv; c++) {
            const beaa_model_conv *cv = &md->conv[c];
            t += (size_t)cv->cout * cv->cin * cv->kh * cv->kw + cv->cout;
        }
        for (int a = 0; a < nact; a++) t += 3 * (size_t)md->act[a].count + 2 * md->bn[a].channels;
    }
    return t;
}

static int one(const char *name, const char *path)
{
    beaa_model *m = NULL;
    if (bench_load_model(path, &m)) return 1;
    char p[200];
    snprintf(p, sizeof p, "model=%s", name);
    /* per activation layer: C, H, W; the stored coefficient count; the paper's formulas */
    size_t layers = 0, sum_c = 0, sum_chw = 0, stored = 0;
    for (uint32_t i = 0; i < m->n_modules; i++) {
        const beaa_model_module *md = &m->modules[i];
        int nact = beaa_model_module_nact(md);
        for (int a = 0; a < nact; a++) {
            const beaa_model_act *ac = &md->act[a];
            layers++;
            sum_c += ac->c;
            sum_chw += (size_t)ac->c * ac->h * ac->w;
            stored += 3 * (size_t)ac->count;
        }
    }
    char desc[sizeof m->desc];
    for (size_t i = 0; i < sizeof desc; i++) desc[i] = m->desc[i] == ',' ? ';' : m->desc[i];
    desc[sizeof desc - 1] = 0;
    printf("model,%s,description,%s,text\n", p, desc);
    printf("model,%s,grain,%s,text\n", p, grain_name(m));
    printf("model,%s,trainable_parameters,%zu,count\n", p, trainable(m));
    printf("model,%s,activation_layers,%zu,count\n", p, layers);
    printf("model,%s,activation_parameters,%zu,count\n", p, stored);
    printf("model,%s,formula_layer_3L,%zu,count\n", p, 3 * layers);
    printf("model,%s,formula_channel_3sumC,%zu,count\n", p, 3 * sum_c);
    printf("model,%s,formula_element_3sumCHW,%zu,count\n", p, 3 * sum_chw);
    /* evaluations: channel-wise packing activates one ciphertext per channel and image;
     * element-wise packing one per element (c,h,w) for the whole batch */
    printf("model,%s,activations_channelwise_per_image,%zu,count\n", p, sum_c);
    printf("model,%s,activations_elementwise_per_batch,%zu,count\n", p, sum_chw);
    beaa_nn_net *net = NULL;
    if (m->modules[0].act[0].kind == BEAA_ACT_POLY && beaa_nn_net_fold(m, &net) == BEAA_OK) {
        /* after folding, positions no later layer reads are not computed */
        printf("model,%s,products_elementwise_per_batch,%zu,count\n", p, beaa_nn_net_products(net));
        printf("model,%s,scalar_macs_elementwise_per_batch,%zu,count\n", p, beaa_nn_net_macs(net));
        beaa_nn_net_free(net);
    }
    bench_batch b;
    if (bench_fmnist_batch(m, 0, &b)) { beaa_model_free(m); return 1; }
    double *lg = malloc(sizeof(double) * b.n * m->num_classes);
    if (!lg) { bench_batch_free(&b); beaa_model_free(m); return 1; }
    double t0 = bench_now_s();
    beaa_status st = beaa_nn_plain_model_forward(m, b.x, b.n, lg);
    double t = bench_now_s() - t0;
    if (st == BEAA_OK) {
        printf("model,%s,test_images,%zu,count\n", p, b.n);
        printf("model,%s,accuracy_plain_test,%.4f,fraction\n", p,
               bench_accuracy(lg, b.labels, b.n, m->num_classes));
        printf("model,%s,plain_forward_test,%.3f,s\n", p, t);
        printf("model,%s,plain_per_image,%.4f,ms\n", p, 1e3 * t / (double)b.n);
    } else {
        fprintf(stderr, "bench_models: %s: %s\n", path, beaa_strerror(st));
    }
    fflush(stdout);
    free(lg);
    bench_batch_free(&b);
    beaa_model_free(m);
    return st != BEAA_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_models NAME=FILE [NAME=FILE ...]\n");
        return 2;
    }
    printf("benchmark,params,metric,value,unit\n");
    printf("model,-,threads,%d,count\n", beaa_cpu_threads());
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        char name[64];
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i] || (size_t)(eq - argv[i]) >= sizeof name) {
            fprintf(stderr, "bench_models: expected NAME=FILE, got '%s'\n", argv[i]);
            return 2;
        }
        memcpy(name, argv[i], (size_t)(eq - argv[i]));
        name[eq - argv[i]] = 0;
        fprintf(stderr, "  model %s (%s)\n", name, eq + 1);
        rc |= one(name, eq + 1);
    }
    return rc;
}
