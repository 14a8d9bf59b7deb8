/* quant.h - the folded network turned into integer linear maps for one CKKS context.
 * For every activated output o: x_o = sum Wx*in at scale Sx_o and u_o = a_o*x_o + b_o computed
 * by its own integer row at scale Su_o, with Sx_o*Su_o = D*q (q the stage's prime), so that the
 * product x*u rescaled once by q has scale exactly D. Sx/Su balance the two rows' precision. */
#ifndef BEAA_NN_QUANT_H
#define BEAA_NN_QUANT_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"
#include "ckks/params.h"
#include "nn/fold.h"
#include "nn/linear.h"
#include "nn/plan.h"

typedef struct beaa_nn_qstage {
    uint32_t nblocks;
    beaa_nn_linblock *blocks;   /* rows 0..m-1: x of outputs out[r]; rows m..2m-1: u, output
                                   index nout + out[r] (nout = cout*hout*wout) */
    size_t nout;                /* cout*hout*wout */
    double *sx, *su;            /* nout scales */
    int kmax, mmax;             /* largest block */
    void *mem;                  /* one allocation holding everything above */
} beaa_nn_qstage;

typedef struct beaa_nn_qnet {
    uint32_t nstages;
    beaa_nn_qstage *stages;
    double scale, in_scale;
    double worst_l1;            /* max over rows of L1(row) / limit (must be <= 1) */
    double min_row_max;         /* smallest max|integer weight| over nonzero rows */
} beaa_nn_qnet;

/* Quantizes net for ctx (whose chain plan describes). Errors: BEAA_ERR_ARG,
 * BEAA_ERR_PARAMS_MISMATCH (ctx has a different depth), BEAA_ERR_SCALE_RANGE (a row cannot be
 * made exact with these primes and scale: lower the scale or use larger primes), BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_nn_quantize(const beaa_nn_net *net, const beaa_nn_plan *plan,
                                             const beaa_ckks_context *ctx, beaa_nn_qnet **out);
void beaa_nn_qnet_free(beaa_nn_qnet *q);

/* The quantized network evaluated in plaintext doubles (integer weights and biases exactly as
 * the encrypted pass uses them, no encryption noise): separates weight-quantization error from
 * CKKS noise. Same inputs/outputs as beaa_nn_plain_folded_forward. */
BEAA_MUST_CHECK beaa_status beaa_nn_quant_plain_forward(const beaa_nn_net *net,
                                                        const beaa_nn_qnet *qn, const double *x,
                                                        size_t n, double *logits);

#endif
