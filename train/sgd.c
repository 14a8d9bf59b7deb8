/* sgd.c - Nesterov momentum SGD step with L2 decay, gradient clipping, cosine schedule. */
#include "train/sgd.h"

#include <math.h>
#include "train/net.h"

void beaa_train_sgd_step(float *params, const float *grads, float *vel,
                         const unsigned char *mask, size_t n, float lr, float momentum,
                         float wd, float wd_poly)
{
    for (size_t i = 0; i < n; i++) {
        if (mask[i] == BEAA_TRAIN_FIXED) continue;
        float decay = mask[i] == BEAA_TRAIN_POLY ? wd_poly : wd;
        float g = grads[i] + decay * params[i];
        float v = momentum * vel[i] + g;
        vel[i] = v;
        params[i] -= lr * (g + momentum * v);
    }
}

double beaa_train_clip_grads(float *grads, const unsigned char *mask, size_t n, float max_norm)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        if (mask[i] != BEAA_TRAIN_FIXED) s += (double)grads[i] * grads[i];
    double norm = sqrt(s);
    if (max_norm > 0 && norm > max_norm) {
        float k = (float)(max_norm / norm);
        for (size_t i = 0; i < n; i++)
            if (mask[i] != BEAA_TRAIN_FIXED) grads[i] *= k;
    }
    return norm;
}

float beaa_train_lr_cosine(float lr, float lr_min, long t, long warm, long total)
{
    if (t < warm && warm > 0) return lr * (0.1f + 0.9f * (float)t / (float)warm);
    if (total <= warm) return lr;
    double x = (double)(t - warm) / (double)(total - warm);
    if (x > 1) x = 1;
    return (float)(lr_min + 0.5 * (lr - lr_min) * (1.0 + cos(3.141592653589793 * x)));
}
