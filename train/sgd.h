/* sgd.h - Nesterov momentum SGD with L2 weight decay on every trainable parameter (weights,
 * BatchNorm affine, polynomial coefficients), global-norm gradient clipping and the cosine
 * learning-rate schedule with linear warm-up. */
#ifndef BEAA_TRAIN_SGD_H
#define BEAA_TRAIN_SGD_H
#include <stddef.h>

/* One step over n parameters. mask[i] is BEAA_TRAIN_FIXED (skipped), BEAA_TRAIN_WEIGHT (decay
 * wd) or BEAA_TRAIN_POLY (decay wd_poly). With g = grad + decay*p (PyTorch convention):
 *   v = momentum*v + g;  p -= lr * (g + momentum*v)        (Nesterov)
 * vel holds v (n floats, zero at the start). */
void beaa_train_sgd_step(float *params, const float *grads, float *vel,
                         const unsigned char *mask, size_t n, float lr, float momentum,
                         float wd, float wd_poly);

/* Scales grads (masked entries only) so that their global L2 norm is at most max_norm
 * (max_norm <= 0: no clipping). Returns the norm before clipping. */
double beaa_train_clip_grads(float *grads, const unsigned char *mask, size_t n, float max_norm);

/* Learning rate at step t of total: linear warm-up over warm steps from lr/10 to lr, then
 * cosine from lr down to lr_min at t = total. */
float beaa_train_lr_cosine(float lr, float lr_min, long t, long warm, long total);

#endif
