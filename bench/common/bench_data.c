/* bench_data.c - Fashion-MNIST batches and model loading for the nn benchmarks (bench_data.h). */
#include "bench/common/bench_data.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "nn/plain.h"
#include "train/data.h"

int bench_load_model(const char *path, beaa_model **m)
{
    *m = NULL;
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "model %s: %s (the shipped models are in models/ of the source tree; "
                        "`make models` retrains them)\n", path,
                errno == ENOENT ? "not found" : strerror(errno));
        return 1;
    }
    beaa_status st = beaa_model_load(path, m);
    if (st != BEAA_OK) {
        fprintf(stderr, "model %s: %s (restore it with `git checkout %s` or retrain with "
                        "`make models`)\n", path, beaa_strerror(st), path);
        return 1;
    }
    return 0;
}

static int data_fail(const char *err)
{
    fprintf(stderr, "Fashion-MNIST (%s): %s; install it as root with `sh scripts/deps.sh` "
                    "(Debian package dataset-fashion-mnist)\n", BEAA_DATA_DEFAULT_FMNIST_DIR, err);
    return 1;
}

int bench_fmnist_batch(const beaa_model *m, size_t n, bench_batch *b)
{
    memset(b, 0, sizeof *b);
    beaa_dataset test, train;
    memset(&test, 0, sizeof test);
    memset(&train, 0, sizeof train);
    char err[256] = "";
    if (beaa_data_fmnist_load(NULL, 0, &test, err, sizeof err) != BEAA_OK) return data_fail(err);
    if (n == 0) n = test.n;
    if (n > test.n && beaa_data_fmnist_load(NULL, 1, &train, err, sizeof err) != BEAA_OK) {
        beaa_dataset_free(&test);
        return data_fail(err);
    }
    int rc = 1;
    if (n > (size_t)test.n + train.n) {
        fprintf(stderr, "a batch of %zu images: Fashion-MNIST has only %u test + %u training "
                        "images\n", n, test.n, train.n);
        goto out;
    }
    if (test.c != m->in_c || test.h != m->in_h || test.w != m->in_w) {
        fprintf(stderr, "Fashion-MNIST images are %ux%ux%u, the model wants %ux%ux%u\n", test.c,
                test.h, test.w, m->in_c, m->in_h, m->in_w);
        goto out;
    }
    b->n = n;
    b->n_test = n < test.n ? n : test.n;
    b->elems = (size_t)m->in_c * m->in_h * m->in_w;
    b->x = malloc(sizeof(double) * n * b->elems);
    b->labels = malloc(n);
    if (!b->x || !b->labels) {
        fprintf(stderr, "no memory for %zu images\n", n);
        bench_batch_free(b);
        goto out;
    }
    beaa_nn_normalize(m, test.pixels, b->n_test, b->x);
    memcpy(b->labels, test.labels, b->n_test);
    if (n > b->n_test) {
        beaa_nn_normalize(m, train.pixels, n - b->n_test, b->x + b->n_test * b->elems);
        memcpy(b->labels + b->n_test, train.labels, n - b->n_test);
    }
    rc = 0;
out:
    beaa_dataset_free(&test);
    beaa_dataset_free(&train);
    return rc;
}

void bench_batch_free(bench_batch *b)
{
    free(b->x);
    free(b->labels);
    memset(b, 0, sizeof *b);
}

double bench_accuracy(const double *logits, const uint8_t *labels, size_t n, size_t nc)
{
    if (n == 0) return 0;
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) ok += beaa_nn_argmax(logits + i * nc, nc) == labels[i];
    return (double)ok / (double)n;
}
