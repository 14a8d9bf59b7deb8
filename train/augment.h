/* augment.h - turning 8-bit images into normalized float network inputs, with optional random
 * augmentation: horizontal flip, translation, rotation and scaling (one random affine map per
 * image, bilinear sampling, zero pixels outside). */
#ifndef BEAA_TRAIN_AUGMENT_H
#define BEAA_TRAIN_AUGMENT_H
#include <stddef.h>
#include <stdint.h>
#include "train/prng.h"

typedef struct beaa_train_aug {
    int flip;                 /* random horizontal flip */
    float shift;              /* max translation in pixels (uniform in [-shift, shift]) */
    float rot_deg;            /* max rotation in degrees */
    float scale;              /* max relative zoom (uniform in [1-scale, 1+scale]) */
} beaa_train_aug;

/* Writes image src (c,h,w bytes) as normalized floats into dst, channel ci going to
 * dst + ci*cstride (so a CBHW batch is filled with cstride = B*h*w):
 *   dst = (pixel/255 - mean[c]) / std[c].
 * aug == NULL or all zero: no augmentation (r unused). */
void beaa_train_image_to_input(float *dst, size_t cstride, const uint8_t *src, int c, int h,
                               int w, const float *mean, const float *std,
                               const beaa_train_aug *aug, beaa_train_rng *r);

#endif
