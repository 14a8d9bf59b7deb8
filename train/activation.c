/* activation.c - ReLU (teacher) and the trainable quadratic a*x^2 + b*x + c (students) at
 * layer, channel and element granularity, forward and backward, over CBHW tensors. */
#include "train/layers.h"

void beaa_train_relu_forward(float *out, const float *in, size_t n)
{
    /* branch-free (a data-dependent branch mispredicts half the time) */
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float v = in[i];
        out[i] = v > 0.0f ? v : 0.0f;   /* vectorized: compare + blend, no branch */
    }
}

void beaa_train_relu_backward(float *din, const float *dout, const float *in, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float g = dout[i];               /* unconditional load: the loop vectorizes */
        din[i] += in[i] > 0.0f ? g : 0.0f;
    }
}

void beaa_train_poly_forward(float *out, const float *in, const float *a, const float *b,
                             const float *c0, beaa_poly_gran g, int C, int B, int hw)
{
    for (int c = 0; c < C; c++) {
        for (int bi = 0; bi < B; bi++) {
            size_t base = ((size_t)c * B + bi) * hw;
            const float *x = in + base;
            float *y = out + base;
            if (g == BEAA_POLY_ELEMENT) {
                const float *pa = a + (size_t)c * hw, *pb = b + (size_t)c * hw;
                const float *pc = c0 + (size_t)c * hw;
#pragma omp simd
                for (int i = 0; i < hw; i++) y[i] = x[i] * (pa[i] * x[i] + pb[i]) + pc[i];
            } else {
                int k = g == BEAA_POLY_CHANNEL ? c : 0;
                float va = a[k], vb = b[k], vc = c0[k];
#pragma omp simd
                for (int i = 0; i < hw; i++) y[i] = x[i] * (va * x[i] + vb) + vc;
            }
        }
    }
}

void beaa_train_poly_backward(float *din, float *da, float *db, float *dc, const float *dout,
                              const float *in, const float *a, const float *b,
                              beaa_poly_gran g, int C, int B, int hw)
{
    if (g == BEAA_POLY_ELEMENT) {
        for (int c = 0; c < C; c++) {
            const float *pa = a + (size_t)c * hw, *pb = b + (size_t)c * hw;
            float *ga = da + (size_t)c * hw, *gb = db + (size_t)c * hw, *gc = dc + (size_t)c * hw;
            for (int bi = 0; bi < B; bi++) {
                size_t base = ((size_t)c * B + bi) * hw;
                const float *x = in + base, *dy = dout + base;
                float *dx = din + base;
#pragma omp simd
                for (int i = 0; i < hw; i++) {
                    float xv = x[i], d = dy[i];
                    dx[i] += d * (2.0f * pa[i] * xv + pb[i]);
                    ga[i] += d * xv * xv;
                    gb[i] += d * xv;
                    gc[i] += d;
                }
            }
        }
        return;
    }
    /* layer / channel: reduce per channel in double, then add */
    for (int c = 0; c < C; c++) {
        int k = g == BEAA_POLY_CHANNEL ? c : 0;
        float va = a[k], vb = b[k];
        double sa = 0, sb = 0, sc = 0;
        for (int bi = 0; bi < B; bi++) {
            size_t base = ((size_t)c * B + bi) * hw;
            const float *x = in + base, *dy = dout + base;
            float *dx = din + base;
            for (int i = 0; i < hw; i++) {
                float xv = x[i], d = dy[i];
                dx[i] += d * (2.0f * va * xv + vb);
                sa += (double)d * xv * xv;
                sb += (double)d * xv;
                sc += d;
            }
        }
        da[k] += (float)sa;
        db[k] += (float)sb;
        dc[k] += (float)sc;
    }
}
