/* test_models.h - the small networks of the nn tests and how their weights are drawn: one
 * description of the value ranges per test, filled from the caller's own random stream (each
 * test keeps the stream its bounds were set with). */
#ifndef BEAA_TEST_MODELS_H
#define BEAA_TEST_MODELS_H
#include <stdint.h>
#include "nn/model.h"

/* uniform in [lo, hi) from the caller's stream */
typedef double (*test_urand_fn)(double lo, double hi);

/* Ranges [lo, hi) of the random model. Weights: uniform in +-wscale / sqrt(fan-in), times wmul;
 * biases in +-bias. Every neg_mod-th activation a (BatchNorm gamma), the one with
 * j % neg_mod == neg_rem, is negated (neg_mod 0: none). */
typedef struct test_fill {
    double wscale;
    float wmul;
    double bias;
    double a[2], b[2], c0[2];
    unsigned a_neg_mod, a_neg_rem;
    double gamma[2], beta[2], mean[2], var[2];
    unsigned gamma_neg_mod, gamma_neg_rem;
} test_fill;

/* Draws every convolution's weights and biases, then every activation's a, b, c0 and its
 * BatchNorm's gamma, beta, mean, var, module by module, in that order. */
void test_model_fill(beaa_model *m, const test_fill *f, test_urand_fn urand);

/* Channel counts of the test network below. */
typedef struct test_widths {
    uint32_t conv1, squeeze, expand1, expand3, conv3, classes;
} test_widths;
/* the nn tests' network: 3; Fire 2, 2 + 3; 4; 4 classes */
extern const test_widths test_small_widths;

/* 1 x hw x hw -> conv5 s2 p2 (conv1) -> Fire (squeeze, expand1 + expand3) -> avgpool 2 ->
 * conv3 p1 (conv3) -> conv1x1 (classes) -> GAP, polynomial activations of granularity g0 (the
 * first conv and the Fire) and g1 (the others); input mean 0.3, std 0.35; weights zero (fill
 * them). Odd map sizes exercise rows of odd length, floor pooling and borders. */
beaa_model *test_small_model(uint32_t hw, const test_widths *w, beaa_poly_gran g0, beaa_poly_gran g1);

#endif
