/* cw_internal.h - the inside of a compiled channel-wise network (nn/channelwise.c builds it,
 * nn/cw_forward.c runs it). Not installed, not public: only the two files above include it. */
#ifndef BEAA_NN_CW_INTERNAL_H
#define BEAA_NN_CW_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include "nn/channelwise.h"
#include "nn/fold.h"

/* One folded stage in slot form. Slot of element (h,w): h*sh + w*sw (see channelwise.h). */
typedef struct beaa_nn_cw_stage {
    uint32_t cin, cout, hout, wout;
    size_t in_sh, in_sw;        /* input layout */
    size_t out_sh, out_sw;      /* layout of the conv output (before pooling) */
    uint32_t ntaps;
    int *off;                   /* ntaps slot offsets: tap reads input slot (out slot + off) */
    double *w;                  /* cout * cin * ntaps folded real weights (0 = tap unused) */
    uint8_t *mask;              /* ntaps * span: 1 where the tap is in bounds at a used output */
    double *bias;               /* cout * span: folded bias at each used output slot */
    uint8_t *act_const;         /* cout: 1 if (a,b) are one pair for the whole channel */
    double *ca, *cb;            /* cout: that pair */
    double *va, *vb;            /* cout * span: per-slot (a,b) (channels with act_const 0) */
    uint32_t pool_kh, pool_kw;  /* sum-pool window (0: none) */
    /* prepared for one context (beaa_nn_cw_prepare) */
    int64_t *wint;              /* cout * cin * ntaps: round(w * 2^wb) */
    beaa_ckks_plaintext **pmask;/* ntaps, level l, scale q_l / 2^wb */
    beaa_ckks_plaintext **pbias;/* cout, level l-1, scale D */
    beaa_ckks_plaintext **pa;   /* cout (NULL where act_const), level l-1, scale q_{l-1}/D */
    beaa_ckks_plaintext **pb;   /* cout (NULL where act_const), level l-1, scale q_{l-1} */
} beaa_nn_cw_stage;

struct beaa_nn_cw_net {
    uint32_t in_c, in_h, in_w, num_classes;
    size_t span;                /* in_h * in_w: slots any valid element can occupy */
    uint32_t nstages;
    beaa_nn_cw_stage *st;
    double *out_sc, *out_tt;    /* logits = out_sc * raw + out_tt */
    int *steps;                 /* rotation steps, sorted, distinct, nonzero */
    size_t nsteps;
    /* prepared */
    const beaa_ckks_context *ctx;
    unsigned levels;            /* L = 2 * nstages */
    double scale;               /* D */
    unsigned wb;                /* weight bits */
};

/* Frees the prepared encodings of cw (not the compiled network). */
void beaa_nn_cw_unprepare(beaa_nn_cw_net *cw);

#endif
