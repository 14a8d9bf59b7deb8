/* model.h - the BEAA network description and its weights file (.model).
 * A model is a list of modules (Conv, Fire, AvgPool, GlobalAvgPool) over one input tensor
 * (C,H,W); every shape is derived from the input shape and the module list, so a reader never
 * has to assume the architecture. Written by train/ (beaa-train), read by encrypted inference. */
#ifndef BEAA_NN_MODEL_H
#define BEAA_NN_MODEL_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"

/* ------------------------------------------------------------------------------------------
 * File format, version 1. All integers are little-endian uint32 unless said otherwise, all
 * reals are little-endian IEEE-754 float32 (4 bytes).
 *
 *   offset 0   magic    8 bytes  "BEAAMDL\0"
 *          8   version  u32      1
 *         12   flags    u32      0 (reserved, must be 0)
 *         16   length   u64      number of payload bytes that follow the 24-byte header
 *         24   payload  `length` bytes (below)
 *   24+length  crc32    u32      zlib CRC-32 of every byte before it (header + payload)
 *
 * payload:
 *   desc[64]                    NUL-padded ASCII description (e.g. "fmnist poly-element kd"): at
 *                               most 63 characters, every byte after them 0
 *   in_c in_h in_w num_classes  input tensor shape and number of classes
 *   mean[in_c] std[in_c]  f32   input normalization: x = (pixel/255 - mean[c]) / std[c]
 *   n_modules                   then n_modules records, each starting with its kind (u32):
 *     BEAA_MODULE_CONV    : conv, act, bn
 *     BEAA_MODULE_FIRE    : conv(squeeze), act, bn, conv(expand 1x1), conv(expand kxk), act, bn
 *     BEAA_MODULE_AVGPOOL : k stride                (window k x k, no padding, floor)
 *     BEAA_MODULE_GAP     : (nothing)               global average pool over H x W
 *   conv = cin cout kh kw stride pad, weight[cout*cin*kh*kw] f32 (layout cout,cin,kh,kw),
 *          bias[cout] f32
 *   act  = kind gran count, a[count] b[count] c[count] f32
 *          (kind RELU: gran 0, count 0; kind POLY: count = 1, C or C*H*W of the activated
 *           tensor for gran LAYER, CHANNEL, ELEMENT; element index = (c*H + h)*W + w)
 *   bn   = channels, eps f32, gamma[C] beta[C] running_mean[C] running_var[C] f32
 *          y = gamma * (x - mean) / sqrt(var + eps) + beta
 *
 * The output of the last module must be (num_classes, 1, 1): the logits.
 * Loading checks the magic, version, length against the file size, CRC-32, then every field
 * against the limits below and against the shapes derived so far.
 * ---------------------------------------------------------------------------------------- */

#define BEAA_MODEL_MAGIC "BEAAMDL"        /* 7 chars + NUL = 8 bytes on disk */
#define BEAA_MODEL_VERSION 1u
#define BEAA_MODEL_DESC_LEN 64
#define BEAA_MODEL_MAX_IN_C 4             /* input channels (gray, RGB) */
#define BEAA_MODEL_MAX_DIM 1024           /* any H or W */
#define BEAA_MODEL_MAX_CH 4096            /* any channel count */
#define BEAA_MODEL_MAX_K 15               /* any kernel side / pool window */
#define BEAA_MODEL_MAX_MODULES 64
#define BEAA_MODEL_MAX_CLASSES 1000
#define BEAA_MODEL_MAX_PARAMS (64u << 20) /* floats in the whole model */

typedef enum beaa_module_kind {
    BEAA_MODULE_CONV = 1,     /* conv -> act -> BN */
    BEAA_MODULE_FIRE = 2,     /* squeeze conv -> act -> BN; [expand1 | expand3] -> act -> BN */
    BEAA_MODULE_AVGPOOL = 3,  /* k x k average, stride s, no padding, floor */
    BEAA_MODULE_GAP = 4       /* global average pool: (C,H,W) -> (C,1,1) */
} beaa_module_kind;

typedef enum beaa_act_kind {
    BEAA_ACT_RELU = 0,        /* max(x, 0): the plaintext teacher only */
    BEAA_ACT_POLY = 1         /* a*x^2 + b*x + c, trainable */
} beaa_act_kind;

typedef enum beaa_poly_gran {
    BEAA_POLY_LAYER = 0,      /* one (a,b,c) for the whole tensor */
    BEAA_POLY_CHANNEL = 1,    /* one (a,b,c) per channel */
    BEAA_POLY_ELEMENT = 2     /* one (a,b,c) per element (c,h,w): BEAA */
} beaa_poly_gran;

/* A 2-D convolution. out(co,y,x) = bias[co] + sum_{ci,i,j} weight[co,ci,i,j] *
 * in(ci, y*stride - pad + i, x*stride - pad + j), zero outside the input. */
typedef struct beaa_model_conv {
    uint32_t cin, cout, kh, kw, stride, pad;
    uint32_t in_h, in_w, out_h, out_w;      /* derived shapes (not stored in the file) */
    float *weight;                          /* (cout, cin, kh, kw) */
    float *bias;                            /* (cout) */
} beaa_model_conv;

/* An activation over a tensor of shape (c,h,w). */
typedef struct beaa_model_act {
    beaa_act_kind kind;
    beaa_poly_gran gran;                    /* meaningful for POLY only */
    uint32_t c, h, w;                       /* derived: shape of the activated tensor */
    uint32_t count;                         /* 0 (RELU), 1, c or c*h*w (POLY) */
    float *a, *b, *c0;                      /* count each: y = a*x^2 + b*x + c0 */
} beaa_model_act;

/* BatchNorm in inference form (running statistics). */
typedef struct beaa_model_bn {
    uint32_t channels;
    float eps;
    float *gamma, *beta, *mean, *var;       /* channels each */
} beaa_model_bn;

/* One module. Which members are used depends on kind:
 *   CONV   : conv[0], act[0], bn[0]
 *   FIRE   : conv[0] squeeze, act[0], bn[0]; conv[1] expand 1x1, conv[2] expand kxk (both read
 *            the squeeze output, same out_h/out_w); their outputs are concatenated along
 *            channels, conv[1]'s channels first; then act[1], bn[1] over the concatenation
 *   AVGPOOL: pool_k, pool_stride
 *   GAP    : nothing */
typedef struct beaa_model_module {
    beaa_module_kind kind;
    uint32_t in_c, in_h, in_w;              /* derived input shape */
    uint32_t out_c, out_h, out_w;           /* derived output shape */
    beaa_model_conv conv[3];
    beaa_model_act act[2];
    beaa_model_bn bn[2];
    uint32_t pool_k, pool_stride;
} beaa_model_module;

/* How many conv[] and act[] (= bn[]) entries a module of this kind uses (the layout above). */
static inline int beaa_model_module_nconv(const beaa_model_module *md)
{
    return md->kind == BEAA_MODULE_CONV ? 1 : md->kind == BEAA_MODULE_FIRE ? 3 : 0;
}
static inline int beaa_model_module_nact(const beaa_model_module *md)
{
    return md->kind == BEAA_MODULE_CONV ? 1 : md->kind == BEAA_MODULE_FIRE ? 2 : 0;
}

/* A whole model. All float arrays point into one allocation (params, n_params floats) owned
 * by the model; free everything with beaa_model_free. */
typedef struct beaa_model {
    char desc[BEAA_MODEL_DESC_LEN];         /* NUL-terminated description */
    uint32_t in_c, in_h, in_w, num_classes;
    float in_mean[BEAA_MODEL_MAX_IN_C];
    float in_std[BEAA_MODEL_MAX_IN_C];
    uint32_t n_modules;
    beaa_model_module *modules;             /* n_modules entries */
    float *params;                          /* every weight, bias, a/b/c and BN array */
    size_t n_params;
} beaa_model;

/* Architecture-only description of one module, used to build a model (weights zero, BN
 * identity: gamma 1, beta 0, mean 0, var 1, eps 1e-5; POLY a=0, b=1, c=0; caller fills them).
 *   CONV: cout, k (kh = kw = k), stride, pad, act, gran
 *   FIRE: squeeze, expand1, expand3 (expand kernel k3, pad k3/2, stride 1), act, gran
 *   AVGPOOL: k, stride;  GAP: nothing */
typedef struct beaa_model_desc {
    beaa_module_kind kind;
    uint32_t cout, k, stride, pad;          /* CONV (k, stride also AVGPOOL) */
    uint32_t squeeze, expand1, expand3, k3; /* FIRE */
    beaa_act_kind act;
    beaa_poly_gran gran;
} beaa_model_desc;

/* Builds a model with input (in_c,in_h,in_w) and num_classes from n descriptors. Derives and
 * checks all shapes (the last output must be (num_classes,1,1)). *out is owned by the caller.
 * Errors: BEAA_ERR_ARG (NULL), BEAA_ERR_MODEL (shapes/limits), BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_model_build(uint32_t in_c, uint32_t in_h, uint32_t in_w,
                                             uint32_t num_classes, const beaa_model_desc *d,
                                             uint32_t n, beaa_model **out);

/* Frees a model (NULL allowed). */
void beaa_model_free(beaa_model *m);

/* Deep copy. Errors: BEAA_ERR_ARG, BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_model_clone(const beaa_model *m, beaa_model **out);

/* Parses a model from memory (len bytes). Never reads outside buf.
 * Errors: BEAA_ERR_ARG; BEAA_ERR_MODEL (bad magic/version, field out of range, shapes that do
 * not chain, non-finite values, var <= 0); BEAA_ERR_TRUNCATED (buffer shorter than the header
 * says or a field runs past the end); BEAA_ERR_CHECKSUM (CRC-32 mismatch); BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_model_load_mem(const uint8_t *buf, size_t len,
                                                beaa_model **out);

/* Reads and parses a model file (at most 1 GiB). Errors as beaa_model_load_mem, plus
 * BEAA_ERR_NOT_FOUND when there is no file at path, BEAA_ERR_IO when it cannot be opened or
 * read. */
BEAA_MUST_CHECK beaa_status beaa_model_load(const char *path, beaa_model **out);

/* Serializes m to a new buffer (*buf freed by the caller with free(), *len bytes).
 * Errors: BEAA_ERR_ARG, BEAA_ERR_MODEL (m inconsistent), BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_model_save_mem(const beaa_model *m, uint8_t **buf,
                                                size_t *len);

/* Writes m to path atomically (temporary file in the same directory, then rename). If path
 * exists and overwrite == 0, returns BEAA_ERR_EXISTS and touches nothing.
 * Errors: BEAA_ERR_ARG, BEAA_ERR_MODEL, BEAA_ERR_NOMEM, BEAA_ERR_EXISTS, BEAA_ERR_IO. */
BEAA_MUST_CHECK beaa_status beaa_model_save(const beaa_model *m, const char *path,
                                            int overwrite);

/* Checks internal consistency of m (shapes chain, counts match granularity, finite values,
 * var >= 0, eps > 0, std > 0, limits). BEAA_OK, BEAA_ERR_MODEL, or BEAA_ERR_NOMEM (it derives
 * the shapes in a scratch copy). Called by save and load. */
BEAA_MUST_CHECK beaa_status beaa_model_check(const beaa_model *m);

/* Number of activation layers (= multiplicative depth of the activations when encrypted),
 * and the total number of activated elements per image (sum of c*h*w over activations). */
uint32_t beaa_model_act_layers(const beaa_model *m);
size_t beaa_model_act_elements(const beaa_model *m);

/* Number of trainable parameters (conv weights+biases, a/b/c, BN gamma/beta; running
 * statistics not counted). */
size_t beaa_model_trainable_params(const beaa_model *m);

#endif
