/* layers.h - plaintext training layers: forward and backward of every primitive of the BEAA
 * network (convolution, average pools, BatchNorm, ReLU, trainable quadratic, losses).
 * Layout: activations are channel-major "CBHW": t[c][b][y][x] (c channel, b image in the batch),
 * so a convolution over the whole batch is one GEMM and Fire's concatenation is contiguous.
 * Conventions (llm.c style): output first; backward ACCUMULATES (+=) into din and into the
 * parameter gradients (callers zero them); shapes in the comments. Infallible (void): the
 * network code validates shapes once. */
#ifndef BEAA_TRAIN_LAYERS_H
#define BEAA_TRAIN_LAYERS_H
#include <stddef.h>
#include "nn/model.h"

/* ---- 2-D convolution via im2col + cblas_sgemm. c gives cin,cout,kh,kw,stride,pad and the
 * derived in_h,in_w,out_h,out_w. B images.
 * cols: (cin*kh*kw, B*out_h*out_w) scratch filled by forward and read by backward; may be NULL
 * when the conv is 1x1, stride 1, pad 0 (then the input itself is the column matrix). */
int beaa_train_conv_is_pointwise(const beaa_model_conv *c);
size_t beaa_train_conv_cols_size(const beaa_model_conv *c, int B);
/* out (cout,B,oh,ow); in (cin,B,h,w); weight (cout,cin,kh,kw); bias (cout) */
void beaa_train_conv_forward(float *out, float *cols, const float *in, const float *weight,
                             const float *bias, const beaa_model_conv *c, int B);
/* din (cin,B,h,w) += ; dweight (cout,cin,kh,kw) += ; dbias (cout) += ; dout (cout,B,oh,ow);
 * cols as left by forward (or in for pointwise convs); dcols scratch of cols size (NULL for
 * pointwise); din may be NULL (input layer: no input gradient). */
void beaa_train_conv_backward(float *din, float *dweight, float *dbias, float *dcols,
                              const float *dout, const float *cols, const float *in,
                              const float *weight, const beaa_model_conv *c, int B);

/* ---- average pool k x k, stride s, no padding, floor. Planes = C*B; in (planes,h,w),
 * out (planes,oh,ow). */
void beaa_train_avgpool_forward(float *out, const float *in, int planes, int h, int w, int k,
                                int s);
void beaa_train_avgpool_backward(float *din, const float *dout, int planes, int h, int w,
                                 int k, int s);

/* ---- global average pool: in (C,B,hw) -> out (C,B). */
void beaa_train_gap_forward(float *out, const float *in, int C, int B, int hw);
void beaa_train_gap_backward(float *din, const float *dout, int C, int B, int hw);

/* ---- BatchNorm over (C, n) with n = B*h*w values per channel.
 * train != 0: batch statistics (biased variance), saves xhat (C,n) and invstd (C), updates
 * running mean/var with momentum (running = (1-mom)*running + mom*batch, unbiased variance).
 * train == 0: running statistics (xhat/invstd still written, so backward works). */
void beaa_train_bn_forward(float *out, float *xhat, float *invstd, const float *in,
                           const float *gamma, const float *beta, float *run_mean,
                           float *run_var, float eps, float momentum, int C, size_t n,
                           int train);
/* Backward of the train-mode forward: din (C,n) +=, dgamma/dbeta (C) +=. */
void beaa_train_bn_backward(float *din, float *dgamma, float *dbeta, const float *dout,
                            const float *xhat, const float *invstd, const float *gamma, int C,
                            size_t n);
/* Backward of the eval-mode forward (a fixed affine map). */
void beaa_train_bn_backward_eval(float *din, float *dgamma, float *dbeta, const float *dout,
                                 const float *xhat, const float *invstd, const float *gamma,
                                 int C, size_t n);

/* ---- ReLU over n values. */
void beaa_train_relu_forward(float *out, const float *in, size_t n);
void beaa_train_relu_backward(float *din, const float *dout, const float *in, size_t n);

/* ---- trainable quadratic y = a*x^2 + b*x + c over a (C,B,hw) tensor. Parameter index of
 * element (c,b,i): 0 (LAYER), c (CHANNEL), c*hw + i (ELEMENT). */
void beaa_train_poly_forward(float *out, const float *in, const float *a, const float *b,
                             const float *c0, beaa_poly_gran g, int C, int B, int hw);
/* din += dout*(2ax+b); da += dout*x^2; db += dout*x; dc += dout (summed per parameter). */
void beaa_train_poly_backward(float *din, float *da, float *db, float *dc, const float *dout,
                              const float *in, const float *a, const float *b,
                              beaa_poly_gran g, int C, int B, int hw);

/* ---- losses over logits (B,K) row-major (image-major). Return the mean loss over the batch
 * and ADD its gradient w.r.t. the logits into dlogits (B,K) (scaled by 1/B). dlogits may be
 * NULL (evaluation). */
double beaa_train_ce_loss(float *dlogits, const float *logits, const unsigned char *labels,
                          int B, int K);
/* lambda*T^2*KL(softmax(t/T) || softmax(s/T)) + (1-lambda)*CE(s, y). */
double beaa_train_kd_loss(float *dlogits, const float *slogits, const float *tlogits,
                          const unsigned char *labels, int B, int K, float lambda, float T);

#endif
