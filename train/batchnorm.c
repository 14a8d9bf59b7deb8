/* batchnorm.c - BatchNorm over channels of a CBHW tensor: train mode (batch statistics,
 * running-statistics update) and eval mode, with their backward passes. Statistics are
 * accumulated in double. */
#include "train/layers.h"

#include <math.h>

void beaa_train_bn_forward(float *out, float *xhat, float *invstd, const float *in,
                           const float *gamma, const float *beta, float *run_mean,
                           float *run_var, float eps, float momentum, int C, size_t n,
                           int train)
{
    for (int c = 0; c < C; c++) {
        const float *x = in + (size_t)c * n;
        float *xh = xhat + (size_t)c * n, *y = out + (size_t)c * n;
        double mean, var;
        if (train) {
            double s = 0, s2 = 0;
            for (size_t i = 0; i < n; i++) s += x[i];
            mean = s / (double)n;
            for (size_t i = 0; i < n; i++) {
                double d = x[i] - mean;
                s2 += d * d;
            }
            var = s2 / (double)n;
            double unbiased = n > 1 ? s2 / (double)(n - 1) : var;
            run_mean[c] = (float)((1.0 - momentum) * run_mean[c] + momentum * mean);
            run_var[c] = (float)((1.0 - momentum) * run_var[c] + momentum * unbiased);
        } else {
            mean = run_mean[c];
            var = run_var[c];
        }
        float is = (float)(1.0 / sqrt(var + eps));
        float m = (float)mean, g = gamma[c], bt = beta[c];
        invstd[c] = is;
#pragma omp simd
        for (size_t i = 0; i < n; i++) {
            float h = (x[i] - m) * is;
            xh[i] = h;
            y[i] = g * h + bt;
        }
    }
}

void beaa_train_bn_backward(float *din, float *dgamma, float *dbeta, const float *dout,
                            const float *xhat, const float *invstd, const float *gamma, int C,
                            size_t n)
{
    for (int c = 0; c < C; c++) {
        const float *dy = dout + (size_t)c * n, *xh = xhat + (size_t)c * n;
        float *dx = din + (size_t)c * n;
        double sdy = 0, sdyx = 0;
        for (size_t i = 0; i < n; i++) {
            sdy += dy[i];
            sdyx += (double)dy[i] * xh[i];
        }
        dgamma[c] += (float)sdyx;
        dbeta[c] += (float)sdy;
        float k = gamma[c] * invstd[c];
        float mdy = (float)(sdy / (double)n), mdyx = (float)(sdyx / (double)n);
#pragma omp simd
        for (size_t i = 0; i < n; i++) dx[i] += k * (dy[i] - mdy - xh[i] * mdyx);
    }
}

void beaa_train_bn_backward_eval(float *din, float *dgamma, float *dbeta, const float *dout,
                                 const float *xhat, const float *invstd, const float *gamma,
                                 int C, size_t n)
{
    for (int c = 0; c < C; c++) {
        const float *dy = dout + (size_t)c * n, *xh = xhat + (size_t)c * n;
        float *dx = din + (size_t)c * n;
        double sdy = 0, sdyx = 0;
        float k = gamma[c] * invstd[c];
        for (size_t i = 0; i < n; i++) {
            sdy += dy[i];
            sdyx += (double)dy[i] * xh[i];
            dx[i] += k * dy[i];
        }
        dgamma[c] += (float)sdyx;
        dbeta[c] += (float)sdy;
    }
}
