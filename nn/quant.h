/* quant.h - the folded network turned into integer linear maps for one CKKS context.
 * For every activated output o: x_o = sum Wx*in at scale Sx_o and u_o = a_o*x_o + b_o at scale
 * Su_o, with Sx_o*Su_o = D*q (q the stage's prime), so that the product x*u rescaled once by q
 * has scale exactly D. u comes one of two ways:
 *  - its own integer row (weights a_o*W): Sx/Su balance the two rows' precision;
 *  - derived from x (umode = sign(a_o)): Sx = sqrt(D*q*|a_o|), Su = Sx/|a_o|, and in integers
 *    U = sign(a_o) * (X + ushift_o) with ushift_o = round(b_o/a_o * Sx): u costs one addition
 *    per residue instead of a row of multiply-accumulates. z then holds a*x^2 + b*x with only
 *    x's weights rounded. Chosen when its estimated error is at most derive_max times the
 *    balanced own row's (quant.c): 95% of the shipped model's products, the linear maps' work
 *    nearly halved, the logit error of the quantization alone 0.0027 -> 0.0032 (rms). */
#ifndef BEAA_NN_QUANT_H
#define BEAA_NN_QUANT_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"
#include "ckks/params.h"
#include "nn/fold.h"
#include "nn/linear.h"
#include "nn/plan.h"

/* The ratio of estimated errors up to which u is derived from x (see above). */
#define BEAA_NN_DERIVE_MAX 2.0

typedef struct beaa_nn_qstage {
    uint32_t nblocks;
    beaa_nn_linblock *blocks;   /* a block of m outputs: rows 0..m-1 x of outputs out[r]; then
                                   the u rows of the outputs with umode 0, output index
                                   nout + out[r] (nout = cout*hout*wout) */
    size_t nout;                /* cout*hout*wout */
    double *sx, *su;            /* nout scales */
    int8_t *umode;              /* nout: 0 = u has its own row; +1/-1 = U = +-(X + ushift) */
    int64_t *ushift;            /* nout: the integer shift of a derived u (poly 0 only) */
    int kmax, mmax;             /* largest block */
    void *mem;                  /* one allocation holding everything above */
} beaa_nn_qstage;

typedef struct beaa_nn_qnet {
    uint32_t nstages;
    beaa_nn_qstage *stages;
    double scale, in_scale;
    double worst_l1;            /* max over rows of L1(row) / limit (must be <= 1) */
    double min_row_max;         /* smallest max|integer weight| over nonzero rows */
    size_t n_macs;              /* multiply-accumulates of the integer rows per image */
    size_t n_derived;           /* outputs whose u is derived from x */
} beaa_nn_qnet;

/* Quantizes net for ctx (whose chain plan describes). Errors: BEAA_ERR_ARG,
 * BEAA_ERR_PARAMS_MISMATCH (ctx has a different depth), BEAA_ERR_SCALE_RANGE (a row cannot be
 * made exact with these primes and scale: lower the scale or use larger primes), BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_nn_quantize(const beaa_nn_net *net, const beaa_nn_plan *plan,
                                             const beaa_ckks_context *ctx, beaa_nn_qnet **out);
/* The same with the derivation threshold given: derive_max = BEAA_NN_DERIVE_MAX is the default,
 * 0 gives every u its own row, a huge value derives every u with a != 0 that fits the exactness
 * limit. derive_max < 0 or NaN: BEAA_ERR_ARG. */
BEAA_MUST_CHECK beaa_status beaa_nn_quantize_ex(const beaa_nn_net *net, const beaa_nn_plan *plan,
                                                const beaa_ckks_context *ctx, double derive_max,
                                                beaa_nn_qnet **out);
void beaa_nn_qnet_free(beaa_nn_qnet *q);

/* The quantized network evaluated in plaintext doubles (integer weights and biases exactly as
 * the encrypted pass uses them, no encryption noise): separates weight-quantization error from
 * CKKS noise. Same inputs/outputs as beaa_nn_plain_folded_forward. */
BEAA_MUST_CHECK beaa_status beaa_nn_quant_plain_forward(const beaa_nn_net *net,
                                                        const beaa_nn_qnet *qn, const double *x,
                                                        size_t n, double *logits);

#endif
