/* plain.h - plaintext reference forward passes in doubles: the model as trained (conv,
 * activation, BatchNorm, pooling, one image at a time) and the folded network (the exact
 * computation the encrypted pass performs, without encryption). */
#ifndef BEAA_NN_PLAIN_H
#define BEAA_NN_PLAIN_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"
#include "nn/model.h"
#include "nn/fold.h"

/* Normalizes n images of 8-bit pixels (each in_c*in_h*in_w bytes, layout (c,h,w)) into
 * x[i*elems + e] = (pixel/255 - mean[c]) / std[c]. */
void beaa_nn_normalize(const beaa_model *m, const uint8_t *pixels, size_t n, double *x);

/* Unfolded forward of model m (ReLU or polynomial activations) on n normalized images x
 * (n * in_c*in_h*in_w doubles); writes n * num_classes logits. OpenMP over images.
 * Errors: BEAA_ERR_ARG, BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_nn_plain_model_forward(const beaa_model *m, const double *x,
                                                        size_t n, double *logits);

/* Forward of the folded network (same input/output as above): per stage x = blocks(raw input),
 * z = x * (a*x + b), sum-pool; logits = out_sc * raw + out_tt. Equal to the model forward up to
 * floating-point rounding. Errors: BEAA_ERR_ARG, BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_nn_plain_folded_forward(const beaa_nn_net *net, const double *x,
                                                         size_t n, double *logits);

/* Index of the largest of v[0..n) (first one on ties). */
size_t beaa_nn_argmax(const double *v, size_t n);

#endif
