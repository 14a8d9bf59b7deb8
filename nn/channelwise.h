/* channelwise.h - the channel-wise packing baseline the BEAA paper compares against: one
 * ciphertext per image and channel (slots = the H*W pixels, row-major), convolutions by hoisted
 * rotations and plaintext masks, pooling by rotate-and-sum on a "gapped" slot grid. */
#ifndef BEAA_NN_CHANNELWISE_H
#define BEAA_NN_CHANNELWISE_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"
#include "ckks/ckks.h"
#include "nn/model.h"

/* ------------------------------------------------------------------------------------------
 * How it works (docs/nn.md, "Channel-wise baseline"):
 *  - The model is folded by nn/fold (BatchNorm, activation constant, pooling 1/k^2 folded into
 *    the next linear map, border-exact biases). Every folded stage is then
 *        x_co = sum_{ci,tap} w[co,ci,tap] * (rot(in_ci, off_tap) (.) mask_tap) + bias_co
 *        z_co = x_co * (a (.) x_co + b),  then an optional sum-pool by rotations.
 *  - Slot layout: element (h,w) of a tensor sits at slot h*SH + w*SW. The image starts with
 *    (SH,SW) = (W,1); a stride-s conv keeps its output (y,x) at the slot of input (y*s,x*s), so
 *    (SH,SW) *= s; a k x k pool sums rotations by i*SH + j*SW and keeps (py,px) at the slot of
 *    (py*k,px*k): (SH,SW) *= k. Slots between valid positions hold junk that no mask reads.
 *  - Levels: 2 primes per stage. The conv prime q_c: masks are encoded at scale q_c/2^wb and
 *    the folded weights multiplied in as integers round(w*2^wb), so one rescale by q_c brings
 *    the scale back to exactly D. The activation prime q_a: u = a*x + b is formed at scale q_a
 *    (a multiplied in at scale q_a/D, b added at q_a), x*u rescaled by q_a has scale D again.
 *  - Activations: layer-wise and channel-wise (a,b) are scalars per channel (mul_const +
 *    add_const); element-wise models are SUPPORTED too, with plaintext coefficient vectors (one
 *    plaintext multiply more per channel, no extra level).
 * ---------------------------------------------------------------------------------------- */

/* A compiled channel-wise network (opaque). */
typedef struct beaa_nn_cw_net beaa_nn_cw_net;

/* Parameter options; zero fields take the defaults named here. */
typedef struct beaa_nn_cw_opts {
    unsigned log_scale;     /* log2 D, the ciphertext scale between layers; default 25 */
    unsigned conv_bits;     /* bits of each conv prime q_c; default 42. Weights enter as the
                               integers round(w*2^wb), wb = conv_bits - 26, masks at q_c/2^wb */
    unsigned act_bits;      /* bits of each activation prime; default 45 (a gets act-D bits) */
    unsigned base_bits;     /* bits of q_0 (holds the logits); default 45 */
    unsigned special_bits;  /* bits of each special prime; default max prime bits + 1 */
    unsigned min_log_n;     /* smallest ring considered; default: enough slots for H*W */
    unsigned force_log_n;   /* nonzero: exactly this ring */
    int allow_insecure;     /* 1: skip the 128-bit bound (tests on small rings only) */
} beaa_nn_cw_opts;

/* The parameter choice for a compiled network. */
typedef struct beaa_nn_cw_plan {
    beaa_ckks_params_spec spec; /* data primes q_0..q_L, L = 2 * stages */
    unsigned levels;            /* L */
    double scale;               /* D */
    unsigned total_bits;        /* log2(QP) requested */
    unsigned max_bits;          /* the 128-bit bound of the ring (0 if insecure allowed) */
    char msg[256];              /* a sentence explaining the choice or the refusal */
} beaa_nn_cw_plan;

/* Timing of one encrypted pass (seconds). */
typedef struct beaa_nn_cw_stats {
    unsigned nstages;
    double rotate_s, mask_s, accumulate_s, act_s, pool_s, total_s;
    size_t rotations;           /* key switches for rotations */
    size_t products;            /* ciphertext-ciphertext products */
} beaa_nn_cw_stats;

/* Fills o with the defaults. */
void beaa_nn_cw_opts_default(beaa_nn_cw_opts *o);

/* Compiles model m (polynomial activations of any granularity, pools right after an activated
 * module with stride == window, all parts of one Fire with equal stride). Folding is done by
 * nn/fold. *out owned by the caller (beaa_nn_cw_net_free).
 * Errors: BEAA_ERR_ARG; BEAA_ERR_MODEL (ReLU activations, unsupported pooling, parts with
 * different strides); BEAA_ERR_SHAPE; BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_nn_cw_compile(const beaa_model *m, beaa_nn_cw_net **out);
void beaa_nn_cw_net_free(beaa_nn_cw_net *cw);

/* Number of folded stages (each costs two primes). */
unsigned beaa_nn_cw_stages(const beaa_nn_cw_net *cw);

/* The rotation steps the encrypted pass needs (distinct, nonzero, sorted ascending; tap offsets
 * of every convolution and the rotate-and-sum steps of every pool); *n set to their count. The
 * array belongs to cw. Pass it to beaa_ckks_galois_keys_gen. */
const int *beaa_nn_cw_rotation_steps(const beaa_nn_cw_net *cw, size_t *n);

/* Chooses parameters: 2 primes per stage + q_0 + special primes (as many as fit, up to a third
 * of the data primes), the smallest ring that has H*W slots and is 128-bit secure.
 * Errors: BEAA_ERR_ARG, BEAA_ERR_PARAMS (option out of range), BEAA_ERR_SLOTS (image larger
 * than the slots of a forced ring), BEAA_ERR_DEPTH (no secure ring holds the chain; msg says how
 * deep the model is and what fits). plan->msg is set in every case. */
BEAA_MUST_CHECK beaa_status beaa_nn_cw_plan_make(const beaa_nn_cw_net *cw,
                                                 const beaa_nn_cw_opts *o,
                                                 beaa_nn_cw_plan *plan);

/* Encodes the model's plaintexts (tap masks, per-position biases, element-wise activation
 * vectors) for ctx, which must be built from plan->spec (server side, once per model; done
 * before any pass, not counted in the pass time). Re-preparing for another context replaces
 * the old encodings. Errors: BEAA_ERR_ARG, BEAA_ERR_PARAMS_MISMATCH (ctx has another depth),
 * BEAA_ERR_SLOTS, encoder errors, BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_nn_cw_prepare(beaa_nn_cw_net *cw, const beaa_nn_cw_plan *plan,
                                               const beaa_ckks_context *ctx);

/* Client: encrypts ONE normalized image x (in_c*in_h*in_w doubles, layout (c,h,w)) as in_c
 * ciphertexts out[c] (slot h*W+w, level L, scale D) with the secret key. out[c] are new
 * ciphertexts owned by the caller (NULL on error). Needs beaa_nn_cw_prepare first.
 * Errors: BEAA_ERR_ARG, encoder/encryptor errors, BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_nn_cw_encrypt(const beaa_nn_cw_net *cw,
                                               const beaa_ckks_secret_key *sk, const double *x,
                                               beaa_ckks_ciphertext **out);

/* Server: the encrypted pass of one image. in: in_c ciphertexts from beaa_nn_cw_encrypt;
 * OWNERSHIP IS TAKEN (each freed and set to NULL, also on error). logits: num_classes pointers
 * set to new ciphertexts whose slot 0 decrypts to the logit of that class (level 0). rk: the
 * relinearization key; gk: Galois keys for beaa_nn_cw_rotation_steps. stats may be NULL.
 * Errors: BEAA_ERR_ARG, BEAA_ERR_PARAMS_MISMATCH (another context than prepared), BEAA_ERR_LEVEL_MISMATCH,
 * BEAA_ERR_SCALE_MISMATCH, BEAA_ERR_NO_KEY (rk NULL or a rotation key missing), evaluator
 * errors, BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_nn_cw_forward(const beaa_nn_cw_net *cw,
                                               const beaa_ckks_relin_key *rk,
                                               const beaa_ckks_galois_keys *gk,
                                               beaa_ckks_ciphertext **in,
                                               beaa_ckks_ciphertext **logits,
                                               beaa_nn_cw_stats *stats);

/* Client: decrypts the nc logit ciphertexts of one image into logits[0..nc) (slot 0 of each).
 * Errors: BEAA_ERR_ARG, decryptor/decoder errors, BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_nn_cw_decrypt(const beaa_ckks_secret_key *sk,
                                               beaa_ckks_ciphertext *const *logits, size_t nc,
                                               double *out);

#endif
