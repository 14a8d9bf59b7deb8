/* pool.c - average pooling (k x k window, stride s, no padding, floor) and global average
 * pooling, forward and backward, over planes of a CBHW tensor. */
#include "train/layers.h"

void beaa_train_avgpool_forward(float *out, const float *in, int planes, int h, int w, int k,
                                int s)
{
    const int oh = (h - k) / s + 1, ow = (w - k) / s + 1;
    const float inv = 1.0f / (float)(k * k);
    for (int p = 0; p < planes; p++) {
        const float *src = in + (size_t)p * h * w;
        float *dst = out + (size_t)p * oh * ow;
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                float acc = 0;
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++) acc += src[(y * s + i) * w + x * s + j];
                dst[y * ow + x] = acc * inv;
            }
    }
}

void beaa_train_avgpool_backward(float *din, const float *dout, int planes, int h, int w,
                                 int k, int s)
{
    const int oh = (h - k) / s + 1, ow = (w - k) / s + 1;
    const float inv = 1.0f / (float)(k * k);
    for (int p = 0; p < planes; p++) {
        float *dst = din + (size_t)p * h * w;
        const float *src = dout + (size_t)p * oh * ow;
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                float g = src[y * ow + x] * inv;
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++) dst[(y * s + i) * w + x * s + j] += g;
            }
    }
}

void beaa_train_gap_forward(float *out, const float *in, int C, int B, int hw)
{
    for (size_t p = 0; p < (size_t)C * B; p++) {
        const float *src = in + p * hw;
        float acc = 0;
        for (int i = 0; i < hw; i++) acc += src[i];
        out[p] = acc / (float)hw;
    }
}

void beaa_train_gap_backward(float *din, const float *dout, int C, int B, int hw)
{
    for (size_t p = 0; p < (size_t)C * B; p++) {
        float g = dout[p] / (float)hw;
        float *dst = din + p * hw;
        for (int i = 0; i < hw; i++) dst[i] += g;
    }
}
