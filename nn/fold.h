/* fold.h - the folded network: a model rewritten as a chain of "stages", each one linear map
 * followed by one product z = x * (a*x + b). BatchNorm, the activation constant c and average
 * pooling are affine and are folded EXACTLY into the next stage's per-position weights/bias. */
#ifndef BEAA_NN_FOLD_H
#define BEAA_NN_FOLD_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"
#include "nn/model.h"

/* One dense piece of a stage's linear map: the m output channels of one conv part at one output
 * position, reading k in-bounds input elements (zero padding = taps left out). Real weights
 * already include the previous stage's BatchNorm scale and pooling 1/k^2; the bias includes the
 * folded shifts of exactly the in-bounds taps, so it differs per position near the border. */
typedef struct beaa_nn_fblock {
    uint32_t k, m;
    int32_t *in;       /* k input element indices, (c*H + h)*W + w of the stage input */
    int32_t *out;      /* m output element indices of the stage output */
    double *w;         /* m x k real weights */
    double *bias;      /* m real biases */
} beaa_nn_fblock;

/* One stage: x = linear(raw input) (blocks), u = a*x + b, z = x*u (raw output; the true value
 * after activation and BatchNorm is g*z + t), then optionally a non-overlapping sum-pool of z. */
typedef struct beaa_nn_stage {
    uint32_t cin, hin, win;       /* input tensor (raw z of the previous stage, or the image) */
    uint32_t cout, hout, wout;    /* output of the linear map and activation */
    uint32_t nblocks;
    beaa_nn_fblock *blocks;       /* nblocks; only for output positions that are used */
    double *a, *b;                /* cout*hout*wout each: u = a*x + b */
    double *g, *t;                /* cout*hout*wout each: true output = g*z + t (g per channel) */
    uint32_t pool_kh, pool_kw;    /* sum-pool window (0 = no pooling); stride = window */
    uint32_t pc, ph, pw;          /* shape after pooling (= next stage input) */
    uint8_t *need;                /* hout*wout: 1 if the position feeds something */
    uint8_t raw_in;               /* 1: the inputs are the previous stage's products as they are
                                     (size 3, neither relinearized nor rescaled: level one above
                                     this stage's, scale D*q), and this stage relinearizes and
                                     rescales its rows instead; set where it has at most half as
                                     many rows as the previous stage has outputs (fewer key
                                     switches: docs/nn.md section 4) */
    size_t n_macs;                /* scalar multiply-accumulates of the linear map (per image) */
} beaa_nn_stage;

/* The folded network. Final logits = out_sc[k] * raw[k] + out_tt[k], raw = last stage's
 * (pooled) output of num_classes elements. */
typedef struct beaa_nn_net {
    uint32_t in_c, in_h, in_w, num_classes;
    double in_mean[BEAA_MODEL_MAX_IN_C], in_std[BEAA_MODEL_MAX_IN_C];
    uint32_t nstages;
    beaa_nn_stage *stages;
    double *out_sc, *out_tt;      /* num_classes each */
} beaa_nn_net;

/* Folds model m. Needs polynomial activations (ReLU: BEAA_ERR_MODEL), each AVGPOOL/GAP right
 * after an activated module with stride == window (overlapping pools: BEAA_ERR_MODEL), and a
 * final output of num_classes elements. *out owned by the caller (beaa_nn_net_free).
 * Errors: BEAA_ERR_ARG, BEAA_ERR_MODEL, BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_nn_net_fold(const beaa_model *m, beaa_nn_net **out);
void beaa_nn_net_free(beaa_nn_net *net);

/* Number of output elements of stage s after pooling (= next stage's input elements). */
size_t beaa_nn_stage_out_count(const beaa_nn_stage *s);
/* The ciphertexts stage si reads: size (2, or 3 with raw_in), level (net->nstages - si, one
 * more with raw_in) and bytes of one in ring 2^log_n. */
unsigned beaa_nn_stage_in_size(const beaa_nn_stage *s);
unsigned beaa_nn_stage_in_level(const beaa_nn_net *net, uint32_t si);
size_t beaa_nn_stage_in_bytes(const beaa_nn_net *net, uint32_t si, unsigned log_n);
/* Total scalar MACs and activated (multiplied) elements per image over all stages. */
size_t beaa_nn_net_macs(const beaa_nn_net *net);
size_t beaa_nn_net_products(const beaa_nn_net *net);

#endif
