/* bench_data.h - inputs of the nn benchmarks: a batch of Fashion-MNIST images (the test set
 * first, then training images past its 10,000), normalized for a model, with labels; model
 * loading; and the messages that name the command fixing a missing data set or model file.
 * Benchmarks only, not the library. */
#ifndef BEAA_BENCH_DATA_H
#define BEAA_BENCH_DATA_H
#include <stddef.h>
#include <stdint.h>
#include "nn/model.h"

/* A batch of n labelled images, normalized for one model. */
typedef struct bench_batch {
    size_t n;          /* images */
    size_t n_test;     /* the first n_test are test images (all of the test set when n > 10,000) */
    size_t elems;      /* in_c*in_h*in_w doubles per image */
    double *x;         /* n * elems, image-major */
    uint8_t *labels;   /* n */
} bench_batch;

/* Loads model `path`; on failure prints one line to stderr naming the path, the reason and the
 * command that restores it, and returns 1 (0 on success). */
int bench_load_model(const char *path, beaa_model **m);
/* Fills b with the first n images of the Fashion-MNIST test set (training images after them when
 * n > 10,000), normalized for m. n = 0 means the whole test set. On failure (data set missing,
 * n larger than test + training set, shape not the model's, no memory) prints one line naming
 * the data set directory and the fix, and returns 1. */
int bench_fmnist_batch(const beaa_model *m, size_t n, bench_batch *b);
void bench_batch_free(bench_batch *b);
/* Fraction of the first n images whose argmax of logits (n x nc) is their label. */
double bench_accuracy(const double *logits, const uint8_t *labels, size_t n, size_t nc);

#endif
