/* arch.h - the default BEAA network: HEMET's "optimized SqueezeNet" (4 Conv modules, 2 Fire
 * modules, 2 average pools and a global average pool), built as a beaa_model for any input
 * shape and class count. */
#ifndef BEAA_TRAIN_ARCH_H
#define BEAA_TRAIN_ARCH_H
#include <stdint.h>
#include "lib/status.h"
#include "nn/model.h"

/* Builds (zero weights) the network of docs/training.md for input (in_c,in_h,in_w):
 *   conv 8 5x5/2 pad 2 | fire 4 -> 8+8 | avgpool 2/2 | conv 16 3x3 pad 1 |
 *   fire 8 -> 16+16 | avgpool 2/2 | conv 32 3x3 pad 1 | conv classes 1x1 | global avgpool
 * every conv/fire followed by the activation (act, gran) and BatchNorm. conv3 sets the width
 * of Conv module 3 (0: the default 32; 64 adds 288 activated elements at 3x3).
 * Errors: BEAA_ERR_ARG, BEAA_ERR_MODEL (input too small), BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_train_arch_squeezenet(uint32_t in_c, uint32_t in_h,
                                                       uint32_t in_w, uint32_t classes,
                                                       beaa_act_kind act, beaa_poly_gran gran,
                                                       uint32_t conv3, beaa_model **out);

#endif
