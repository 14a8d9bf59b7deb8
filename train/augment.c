/* augment.c - 8-bit image -> normalized float input, with a random affine augmentation
 * (flip, shift, rotation, zoom) sampled bilinearly; integer shifts take a fast path. */
#include "train/augment.h"

#include <math.h>
#include <stddef.h>

static float sample(const uint8_t *p, int h, int w, float y, float x)
{
    int y0 = (int)floorf(y), x0 = (int)floorf(x);
    float fy = y - (float)y0, fx = x - (float)x0;
    float v = 0;
    for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
            int yy = y0 + dy, xx = x0 + dx;
            if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
            float wt = (dy ? fy : 1 - fy) * (dx ? fx : 1 - fx);
            v += wt * p[yy * w + xx];
        }
    return v;
}

void beaa_train_image_to_input(float *dst, size_t cstride, const uint8_t *src, int c, int h,
                               int w, const float *mean, const float *std,
                               const beaa_train_aug *aug, beaa_train_rng *r)
{
    int active = aug && (aug->flip || aug->shift > 0 || aug->rot_deg > 0 || aug->scale > 0);
    if (!active) {
        for (int ci = 0; ci < c; ci++) {
            const uint8_t *p = src + (size_t)ci * h * w;
            float k = 1.0f / (255.0f * std[ci]), m = mean[ci] / std[ci];
            float *o = dst + (size_t)ci * cstride;
            for (int i = 0; i < h * w; i++) o[i] = (float)p[i] * k - m;
        }
        return;
    }
    int flip = aug->flip && (beaa_train_rng_u64(r) & 1);
    float sy = aug->shift * (float)(2 * beaa_train_rng_uniform(r) - 1);
    float sx = aug->shift * (float)(2 * beaa_train_rng_uniform(r) - 1);
    float th = aug->rot_deg * (float)(2 * beaa_train_rng_uniform(r) - 1) * 0.017453292f;
    float zm = 1.0f + aug->scale * (float)(2 * beaa_train_rng_uniform(r) - 1);
    int affine = aug->rot_deg > 0 || aug->scale > 0;
    if (!affine) {   /* integer shift (+ flip) */
        int iy = (int)lrintf(sy), ix = (int)lrintf(sx);
        for (int ci = 0; ci < c; ci++) {
            const uint8_t *p = src + (size_t)ci * h * w;
            float k = 1.0f / (255.0f * std[ci]), m = mean[ci] / std[ci];
            float *o = dst + (size_t)ci * cstride;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    int yy = y - iy, xx = (flip ? w - 1 - x : x) - ix;
                    float v = (yy >= 0 && yy < h && xx >= 0 && xx < w) ? p[yy * w + xx] : 0;
                    o[y * w + x] = v * k - m;
                }
        }
        return;
    }
    float cy = (float)(h - 1) * 0.5f, cx = (float)(w - 1) * 0.5f;
    float cs = cosf(th) / zm, sn = sinf(th) / zm;
    for (int ci = 0; ci < c; ci++) {
        const uint8_t *p = src + (size_t)ci * h * w;
        float k = 1.0f / (255.0f * std[ci]), m = mean[ci] / std[ci];
        float *o = dst + (size_t)ci * cstride;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float u = (float)x - cx - sx, v = (float)y - cy - sy;
                if (flip) u = -u;
                /* inverse map: rotate by -th, divide by zoom */
                float srcx = cs * u + sn * v + cx, srcy = -sn * u + cs * v + cy;
                o[y * w + x] = sample(p, h, w, srcy, srcx) * k - m;
            }
    }
}
