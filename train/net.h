/* net.h - a trainable network over a beaa_model: activation buffers for one batch, forward
 * (train or eval mode) and backward of the whole module list, and a gradient array with the
 * same layout as model->params (grads[i] is d loss / d params[i]).
 * The net borrows the model: the weights it trains are the model's own arrays, so the model
 * can be saved as is after training. */
#ifndef BEAA_TRAIN_NET_H
#define BEAA_TRAIN_NET_H
#include <stddef.h>
#include "lib/status.h"
#include "nn/model.h"

/* mask values for model->params entries */
#define BEAA_TRAIN_FIXED 0      /* BN running statistics: not trained */
#define BEAA_TRAIN_WEIGHT 1     /* conv weights/biases, BN gamma/beta */
#define BEAA_TRAIN_POLY 2       /* polynomial coefficients a, b, c */

typedef struct beaa_train_modbuf {
    float *cols[3];             /* im2col scratch per conv (NULL for pointwise convs) */
    float *z[2], *a[2], *xh[2]; /* conv out, activation out, BN xhat (per activation) */
    float *inv[2];              /* BN 1/std per channel */
    float *dz[2], *da[2];       /* gradients of z and a */
    float *mid, *dmid;          /* Fire only: squeeze BN output and its gradient */
    float *out, *dout;          /* module output (CBHW) and its gradient */
} beaa_train_modbuf;

typedef struct beaa_train_net {
    beaa_model *m;              /* borrowed */
    int max_batch;
    float bn_momentum;          /* running-statistics momentum, default 0.1 */
    float *grads;               /* m->n_params gradients, same layout as m->params */
    unsigned char *mask;        /* m->n_params BEAA_TRAIN_* tags */
    beaa_train_modbuf *buf;     /* one per module */
    float *dcols;               /* shared scratch for conv backward */
    float *logits;              /* (max_batch, num_classes) image-major */
    float *dlogits;             /* same shape: caller fills it before backward */
    float *arena;               /* every float buffer above except grads */
    size_t arena_floats;
    int last_train;             /* mode of the last forward (backward uses it) */
    int last_batch;
    const float *last_x;        /* input of the last forward (borrowed, read by backward) */
} beaa_train_net;

/* Creates a net for model m (which must outlive it) and batches of up to max_batch images.
 * Errors: BEAA_ERR_ARG, BEAA_ERR_MODEL (beaa_model_check fails), BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_train_net_new(beaa_model *m, int max_batch,
                                               beaa_train_net **out);
void beaa_train_net_free(beaa_train_net *n);

/* Forward pass of B <= max_batch images x (in_c,B,in_h,in_w), already normalized.
 * train != 0: BN uses batch statistics and updates the running ones. Returns the logits
 * (B, num_classes) image-major, owned by the net (valid until the next forward). x must stay
 * unchanged until backward has run. */
const float *beaa_train_net_forward(beaa_train_net *n, const float *x, int B, int train);

/* Zeroes the parameter gradients. */
void beaa_train_net_zero_grad(beaa_train_net *n);

/* Backward pass of the last forward: reads n->dlogits (B, num_classes) and ADDS the
 * parameter gradients into n->grads. */
void beaa_train_net_backward(beaa_train_net *n);

/* Gradient array entry matching a pointer p into n->m->params. */
float *beaa_train_net_grad_of(beaa_train_net *n, const float *p);

#endif
