/* beaa-train - trains a BEAA model (ReLU teacher or polynomial student, optionally distilled
 * from a teacher) on Fashion-MNIST, CIFAR-10 or an image folder and writes the model file.
 * Progress on stderr; the final test accuracy on stdout. */
#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nn/model.h"
#include "train/arch.h"
#include "train/data.h"
#include "train/trainer.h"

static void usage(void)
{
    fprintf(stderr,
        "usage: beaa-train --variant relu|poly-layer|poly-channel|poly-element --out FILE\n"
        "         [--teacher FILE [--kd-lambda L] [--kd-T T]] [--init-from FILE]\n"
        "         [--epochs E] [--batch B] [--lr LR] [--lr-min LR] [--warmup E] [--momentum M]\n"
        "         [--wd W] [--wd-poly W] [--clip C] [--seed S] [--poly-init a,b,c]\n"
        "         [--augment none|shift|affine] [--train-limit N] [--val-frac F]\n"
        "         [--data fashion-mnist[:DIR]|cifar10:DIR|folder:DIR] [--size HxW] [--overwrite]\n"
        "         [--conv3 N]  (width of Conv module 3, default 32)\n"
        "         [--threads N]  (BLAS threads, default 1: results are reproducible for 1)\n"
        "  --teacher: distillation loss lambda*T^2*KL(t||s) + (1-lambda)*CE (default L 0.7, T 4)\n"
        "  --init-from: copy conv/BN weights (e.g. from the teacher) before training\n"
        "  folder data: binary PGM/PPM images in DIR/<class>/, resized to --size (default 64x64),\n"
        "               split 60/10/30 by class; others use their own test set\n");
}

static int parse_double(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return errno == 0 && end != s && *end == '\0';
}

static void progress(const beaa_train_epoch_stats *st, void *user)
{
    double *t = user;   /* training time only (validation excluded): wall, cpu */
    t[0] += st->seconds;
    t[1] += st->cpu_seconds;
    if (st->val_acc >= 0)
        fprintf(stderr, "epoch %d/%d  loss %.4f  train %.2f%%  val %.2f%%  lr %.4f  %.1f s "
                "(cpu %.1f s)\n", st->epoch, st->epochs, st->loss, 100 * st->train_acc,
                100 * st->val_acc, st->lr, st->seconds, st->cpu_seconds);
    else
        fprintf(stderr, "epoch %d/%d  loss %.4f  train %.2f%%  lr %.4f  %.1f s (cpu %.1f s)\n",
                st->epoch, st->epochs, st->loss, 100 * st->train_acc, st->lr, st->seconds,
                st->cpu_seconds);
}

static int die(const char *what, beaa_status s, const char *detail)
{
    fprintf(stderr, "beaa-train: %s: %s%s%s\n", what, beaa_strerror(s),
            detail && *detail ? ": " : "", detail ? detail : "");
    return 1;
}

int main(int argc, char **argv)
{
    const char *variant = NULL, *out = NULL, *teacher_path = NULL, *init_path = NULL;
    const char *data = "fashion-mnist", *augment = "none";
    int overwrite = 0;
    long train_limit = 0;
    double val_frac = 0.0;
    double pa = 0.1, pb = 0.5, pc = 0.0;
    unsigned fh = 64, fw = 64;
    unsigned conv3 = 0;
    int threads = 1;
    beaa_train_config cfg;
    beaa_train_config_default(&cfg);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d;
#define NEEDV() do { if (!v) { fprintf(stderr, "beaa-train: %s needs a value\n", a); return 2; } i++; } while (0)
#define NUM(field, lo, hi) do { NEEDV(); if (!parse_double(v, &d) || d < (lo) || d > (hi)) { \
        fprintf(stderr, "beaa-train: bad value for %s: %s\n", a, v); return 2; } field; } while (0)
        if (!strcmp(a, "--variant")) { NEEDV(); variant = v; }
        else if (!strcmp(a, "--out")) { NEEDV(); out = v; }
        else if (!strcmp(a, "--teacher")) { NEEDV(); teacher_path = v; }
        else if (!strcmp(a, "--init-from")) { NEEDV(); init_path = v; }
        else if (!strcmp(a, "--data")) { NEEDV(); data = v; }
        else if (!strcmp(a, "--augment")) { NEEDV(); augment = v; }
        else if (!strcmp(a, "--overwrite")) overwrite = 1;
        else if (!strcmp(a, "--kd-lambda")) NUM(cfg.kd_lambda = (float)d, 0, 1);
        else if (!strcmp(a, "--kd-T")) NUM(cfg.kd_T = (float)d, 0.1, 100);
        else if (!strcmp(a, "--epochs")) NUM(cfg.epochs = (int)d, 1, 10000);
        else if (!strcmp(a, "--batch")) NUM(cfg.batch = (int)d, 2, 65536);
        else if (!strcmp(a, "--lr")) NUM(cfg.lr = (float)d, 1e-8, 100);
        else if (!strcmp(a, "--lr-min")) NUM(cfg.lr_min = (float)d, 0, 100);
        else if (!strcmp(a, "--warmup")) NUM(cfg.warmup_epochs = (int)d, 0, 10000);
        else if (!strcmp(a, "--momentum")) NUM(cfg.momentum = (float)d, 0, 0.999);
        else if (!strcmp(a, "--wd")) NUM(cfg.wd = (float)d, 0, 1);
        else if (!strcmp(a, "--wd-poly")) NUM(cfg.wd_poly = (float)d, 0, 1);
        else if (!strcmp(a, "--clip")) NUM(cfg.clip = (float)d, 0, 1e9);
        else if (!strcmp(a, "--seed")) NUM(cfg.seed = (uint64_t)d, 0, 9007199254740992.0);
        else if (!strcmp(a, "--train-limit")) NUM(train_limit = (long)d, 0, 1e9);
        else if (!strcmp(a, "--val-frac")) NUM(val_frac = d, 0, 0.5);
        else if (!strcmp(a, "--conv3")) NUM(conv3 = (unsigned)d, 1, 512);
        else if (!strcmp(a, "--threads")) NUM(threads = (int)d, 1, 256);
        else if (!strcmp(a, "--poly-init")) {
            NEEDV();
            if (sscanf(v, "%lf,%lf,%lf", &pa, &pb, &pc) != 3) {
                fprintf(stderr, "beaa-train: --poly-init wants a,b,c\n");
                return 2;
            }
        } else if (!strcmp(a, "--size")) {
            NEEDV();
            if (sscanf(v, "%ux%u", &fh, &fw) != 2 || fh < 8 || fw < 8 || fh > 512 || fw > 512) {
                fprintf(stderr, "beaa-train: --size wants HxW between 8 and 512\n");
                return 2;
            }
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(); return 0; }
        else { fprintf(stderr, "beaa-train: unknown option %s\n", a); usage(); return 2; }
#undef NUM
#undef NEEDV
    }
    if (!variant || !out) { usage(); return 2; }
    openblas_set_num_threads(threads);
    beaa_act_kind act = BEAA_ACT_POLY;
    beaa_poly_gran gran = BEAA_POLY_LAYER;
    if (!strcmp(variant, "relu")) act = BEAA_ACT_RELU;
    else if (!strcmp(variant, "poly-layer")) gran = BEAA_POLY_LAYER;
    else if (!strcmp(variant, "poly-channel")) gran = BEAA_POLY_CHANNEL;
    else if (!strcmp(variant, "poly-element")) gran = BEAA_POLY_ELEMENT;
    else { fprintf(stderr, "beaa-train: unknown variant %s\n", variant); return 2; }
    if (!strcmp(augment, "none")) memset(&cfg.aug, 0, sizeof cfg.aug);
    else if (!strcmp(augment, "shift")) { cfg.aug.flip = 1; cfg.aug.shift = 2; }
    else if (!strcmp(augment, "affine")) {
        cfg.aug.flip = 1; cfg.aug.shift = 2; cfg.aug.rot_deg = 15; cfg.aug.scale = 0.1f;
    } else { fprintf(stderr, "beaa-train: unknown augmentation %s\n", augment); return 2; }
    if (!overwrite) {
        FILE *f = fopen(out, "rb");
        if (f) { fclose(f); return die(out, BEAA_ERR_EXISTS, "use --overwrite"); }
    }
    /* the model files first: a wrong path fails before minutes of loading data */
    beaa_status s = BEAA_OK;
    beaa_model *m = NULL, *teacher = NULL, *init = NULL;
    if (teacher_path && (s = beaa_model_load(teacher_path, &teacher)) != BEAA_OK)
        return die(teacher_path, s, NULL);
    if (init_path && (s = beaa_model_load(init_path, &init)) != BEAA_OK) {
        beaa_model_free(teacher);
        return die(init_path, s, NULL);
    }

    /* data */
    char err[512] = "";
    beaa_dataset train = {0}, val = {0}, test = {0};
    if (!strncmp(data, "fashion-mnist", 13) && (data[13] == '\0' || data[13] == ':')) {
        const char *dir = data[13] == ':' ? data + 14 : NULL;
        s = beaa_data_fmnist_load(dir, 1, &train, err, sizeof err);
        if (!s) s = beaa_data_fmnist_load(dir, 0, &test, err, sizeof err);
    } else if (!strncmp(data, "cifar10:", 8)) {
        s = beaa_data_cifar10_load(data + 8, 1, &train, err, sizeof err);
        if (!s) s = beaa_data_cifar10_load(data + 8, 0, &test, err, sizeof err);
    } else if (!strncmp(data, "folder:", 7)) {
        beaa_dataset all = {0};
        s = beaa_data_folder_load(data + 7, 1, fh, fw, &all, err, sizeof err);
        if (!s) s = beaa_data_split(&all, 0.6, 0.1, cfg.seed, &train, &val, &test);
        beaa_dataset_free(&all);
        if (!s && !strcmp(augment, "none")) {
            cfg.aug.flip = 1; cfg.aug.shift = 2; cfg.aug.rot_deg = 10; cfg.aug.scale = 0.1f;
        }
    } else {
        fprintf(stderr, "beaa-train: unknown --data %s\n", data);
        return 2;
    }
    if (s) return die("loading data", s, err);
    if (val_frac > 0 && val.n == 0) {
        beaa_dataset all = train;
        memset(&train, 0, sizeof train);
        s = beaa_data_split(&all, 1.0 - val_frac, val_frac, cfg.seed, &train, &val, NULL);
        beaa_dataset_free(&all);
        if (s) return die("splitting data", s, NULL);
    }
    if (train_limit > 0 && (uint32_t)train_limit < train.n) {
        beaa_dataset head;
        s = beaa_data_head(&train, (uint32_t)train_limit, &head);
        if (s) return die("subset", s, NULL);
        beaa_dataset_free(&train);
        train = head;
    }

    /* model */
    s = beaa_train_arch_squeezenet(train.c, train.h, train.w, train.num_classes, act, gran,
                                   conv3, &m);
    if (s) return die("building the network", s, NULL);
    s = beaa_train_init_weights(m, cfg.seed, (float)pa, (float)pb, (float)pc);
    if (!s) s = beaa_train_set_normalization(m, &train);
    if (s) return die("initializing", s, NULL);
    if (init) {
        s = beaa_train_copy_linear(m, init);
        beaa_model_free(init);
        init = NULL;
        if (s) return die(init_path, s, NULL);
    }
    if (teacher) {
        /* the student normalizes like its teacher so both see the same input */
        memcpy(m->in_mean, teacher->in_mean, sizeof m->in_mean);
        memcpy(m->in_std, teacher->in_std, sizeof m->in_std);
    }
    snprintf(m->desc, sizeof m->desc, "%s%s seed %llu", variant, teacher ? " kd" : "",
             (unsigned long long)cfg.seed);
    fprintf(stderr, "beaa-train: %s, %u train / %u val / %u test images %ux%ux%u, %u classes, "
            "%zu trainable parameters, %zu activated elements, %u activation layers\n",
            variant, train.n, val.n, test.n, train.c, train.h, train.w, train.num_classes,
            beaa_model_trainable_params(m), beaa_model_act_elements(m),
            beaa_model_act_layers(m));
    if (teacher) {
        double tacc = 0;
        s = beaa_train_evaluate(teacher, &test, 500, &tacc, NULL);
        if (s) return die("teacher evaluation", s, NULL);
        fprintf(stderr, "beaa-train: teacher test accuracy %.2f%%\n", 100 * tacc);
    }
    double secs[2] = {0, 0};
    s = beaa_train_run(m, teacher, &train, val.n ? &val : NULL, &cfg, progress, secs);
    if (s) return die("training", s, NULL);
    double acc = 0;
    s = beaa_train_evaluate(m, &test, 500, &acc, NULL);
    if (s) return die("evaluation", s, NULL);
    s = beaa_model_save(m, out, overwrite);
    if (s) return die(out, s, NULL);
    printf("variant %s%s test_accuracy %.4f epochs %d seconds_per_epoch %.2f "
           "cpu_seconds_per_epoch %.2f params %zu out %s\n", variant, teacher ? "+kd" : "", acc,
           cfg.epochs, secs[0] / cfg.epochs, secs[1] / cfg.epochs,
           beaa_model_trainable_params(m), out);
    beaa_model_free(m);
    beaa_model_free(teacher);
    beaa_dataset_free(&train);
    beaa_dataset_free(&val);
    beaa_dataset_free(&test);
    return 0;
}
