/* conv.c - 2-D convolution forward/backward for training: im2col over the whole batch (CBHW
 * layout) and one cblas_sgemm per pass; 1x1/stride-1/pad-0 convolutions skip im2col. */
#include "train/layers.h"

#include <cblas.h>
#include <string.h>

int beaa_train_conv_is_pointwise(const beaa_model_conv *c)
{
    return c->kh == 1 && c->kw == 1 && c->stride == 1 && c->pad == 0;
}

size_t beaa_train_conv_cols_size(const beaa_model_conv *c, int B)
{
    if (beaa_train_conv_is_pointwise(c)) return 0;
    return (size_t)c->cin * c->kh * c->kw * (size_t)B * c->out_h * c->out_w;
}

/* Output columns x with 0 <= x*s - p + j < w: [*x0, *x1). */
static void valid_range(int ow, int w, int s, int p, int j, int *x0, int *x1)
{
    int lo = p - j > 0 ? (p - j + s - 1) / s : 0;
    int hi = (w - 1 + p - j) >= 0 ? (w - 1 + p - j) / s + 1 : 0;
    if (hi > ow) hi = ow;
    if (lo > hi) lo = hi;
    *x0 = lo;
    *x1 = hi;
}

/* cols (cin*kh*kw, B*oh*ow) <- in (cin,B,h,w) */
static void im2col(float *cols, const float *in, const beaa_model_conv *c, int B)
{
    const int h = (int)c->in_h, w = (int)c->in_w, oh = (int)c->out_h, ow = (int)c->out_w;
    const int s = (int)c->stride, p = (int)c->pad;
    const size_t N = (size_t)B * oh * ow;
    const int K = (int)(c->cin * c->kh * c->kw);
    for (int r = 0; r < K; r++) {
        int ci = r / (int)(c->kh * c->kw), i = (r / (int)c->kw) % (int)c->kh, j = r % (int)c->kw;
        int x0, x1;
        valid_range(ow, w, s, p, j, &x0, &x1);
        float *row = cols + (size_t)r * N;
        for (int b = 0; b < B; b++) {
            const float *src = in + ((size_t)ci * B + b) * h * w;
            float *dst = row + (size_t)b * oh * ow;
            for (int y = 0; y < oh; y++) {
                int iy = y * s - p + i;
                float *d = dst + (size_t)y * ow;
                if (iy < 0 || iy >= h) {
                    memset(d, 0, (size_t)ow * sizeof(float));
                    continue;
                }
                const float *srow = src + (size_t)iy * w;
                const int off = j - p;   /* column of output x is x*s + off, in [0,w) on [x0,x1) */
                for (int x = 0; x < x0; x++) d[x] = 0.0f;
                if (s == 1 && x1 > x0)
                    memcpy(d + x0, srow + x0 + off, (size_t)(x1 - x0) * sizeof(float));
                else
                    for (int x = x0; x < x1; x++) d[x] = srow[x * s + off];
                for (int x = x1; x < ow; x++) d[x] = 0.0f;
            }
        }
    }
}

/* din (cin,B,h,w) += col2im(dcols) */
static void col2im_add(float *din, const float *dcols, const beaa_model_conv *c, int B)
{
    const int h = (int)c->in_h, w = (int)c->in_w, oh = (int)c->out_h, ow = (int)c->out_w;
    const int s = (int)c->stride, p = (int)c->pad, kk = (int)(c->kh * c->kw);
    const size_t N = (size_t)B * oh * ow;
    /* parallel over input channels: rows of one channel only touch that channel */
    for (int ci = 0; ci < (int)c->cin; ci++) {
        for (int r = ci * kk; r < (ci + 1) * kk; r++) {
            int i = (r / (int)c->kw) % (int)c->kh, j = r % (int)c->kw;
            int x0, x1;
            valid_range(ow, w, s, p, j, &x0, &x1);
            const float *row = dcols + (size_t)r * N;
            for (int b = 0; b < B; b++) {
                float *dst = din + ((size_t)ci * B + b) * h * w;
                const float *src = row + (size_t)b * oh * ow;
                for (int y = 0; y < oh; y++) {
                    int iy = y * s - p + i;
                    if (iy < 0 || iy >= h) continue;
                    float *drow = dst + (size_t)iy * w;
                    const float *srow = src + (size_t)y * ow;
                    const int off = j - p;
                    for (int x = x0; x < x1; x++) drow[x * s + off] += srow[x];
                }
            }
        }
    }
}

void beaa_train_conv_forward(float *out, float *cols, const float *in, const float *weight,
                             const float *bias, const beaa_model_conv *c, int B)
{
    const int M = (int)c->cout, K = (int)(c->cin * c->kh * c->kw);
    const int N = B * (int)(c->out_h * c->out_w);
    const float *A = in;
    if (!beaa_train_conv_is_pointwise(c)) {
        im2col(cols, in, c, B);
        A = cols;
    }
    for (int m = 0; m < M; m++) {
        float *o = out + (size_t)m * N;
        for (int n = 0; n < N; n++) o[n] = bias[m];
    }
    /* out (M,N) += weight (M,K) * A (K,N) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, weight, K, A, N,
                1.0f, out, N);
}

void beaa_train_conv_backward(float *din, float *dweight, float *dbias, float *dcols,
                              const float *dout, const float *cols, const float *in,
                              const float *weight, const beaa_model_conv *c, int B)
{
    const int M = (int)c->cout, K = (int)(c->cin * c->kh * c->kw);
    const int N = B * (int)(c->out_h * c->out_w);
    const int pw = beaa_train_conv_is_pointwise(c);
    const float *A = pw ? in : cols;
    for (int m = 0; m < M; m++) {
        const float *d = dout + (size_t)m * N;
        double s = 0;
        for (int n = 0; n < N; n++) s += d[n];
        dbias[m] += (float)s;
    }
    /* dweight (M,K) += dout (M,N) * A^T (N,K) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, K, N, 1.0f, dout, N, A, N, 1.0f,
                dweight, K);
    if (!din) return;
    if (pw) {
        /* din (K,N) += weight^T (K,M) * dout (M,N) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, M, 1.0f, weight, K, dout, N,
                    1.0f, din, N);
    } else {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, M, 1.0f, weight, K, dout, N,
                    0.0f, dcols, N);
        col2im_add(din, dcols, c, B);
    }
}
