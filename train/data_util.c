/* data_util.c - data set helpers: free, head, class-balanced shuffled split, and the
 * per-channel statistics used for input normalization. */
#include "train/data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "train/prng.h"

void beaa_dataset_free(beaa_dataset *d)
{
    if (!d) return;
    free(d->pixels);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

static beaa_status alloc_like(beaa_dataset *dst, const beaa_dataset *src, uint32_t n)
{
    memset(dst, 0, sizeof *dst);
    size_t img = (size_t)src->c * src->h * src->w;
    dst->pixels = malloc(n ? img * n : 1);
    dst->labels = malloc(n ? n : 1);
    if (!dst->pixels || !dst->labels) { beaa_dataset_free(dst); return BEAA_ERR_NOMEM; }
    dst->n = n; dst->c = src->c; dst->h = src->h; dst->w = src->w;
    dst->num_classes = src->num_classes;
    return BEAA_OK;
}

static void copy_img(beaa_dataset *dst, uint32_t i, const beaa_dataset *src, uint32_t j)
{
    size_t img = (size_t)src->c * src->h * src->w;
    memcpy(dst->pixels + img * i, src->pixels + img * j, img);
    dst->labels[i] = src->labels[j];
}

beaa_status beaa_data_head(const beaa_dataset *src, uint32_t n, beaa_dataset *dst)
{
    if (!src || !dst || n > src->n) return BEAA_ERR_ARG;
    beaa_status s = alloc_like(dst, src, n);
    if (s) return s;
    for (uint32_t i = 0; i < n; i++) copy_img(dst, i, src, i);
    return BEAA_OK;
}

beaa_status beaa_data_split(const beaa_dataset *src, double f_train, double f_val,
                            uint64_t seed, beaa_dataset *train, beaa_dataset *val,
                            beaa_dataset *test)
{
    if (!src || !(f_train >= 0) || !(f_val >= 0) || f_train + f_val > 1.0 + 1e-12 ||
        src->num_classes == 0 || src->num_classes > BEAA_DATA_MAX_CLASSES)
        return BEAA_ERR_ARG;
    uint32_t *idx = malloc((src->n ? src->n : 1) * sizeof *idx);
    uint8_t *part = malloc(src->n ? src->n : 1);
    if (!idx || !part) { free(idx); free(part); return BEAA_ERR_NOMEM; }
    beaa_train_rng r;
    beaa_train_rng_seed(&r, seed);
    uint32_t cnt[3] = {0, 0, 0};
    for (uint32_t k = 0; k < src->num_classes; k++) {
        uint32_t m = 0;
        for (uint32_t i = 0; i < src->n; i++)
            if (src->labels[i] == k) idx[m++] = i;
        beaa_train_rng_shuffle(&r, idx, m);
        uint32_t nt = (uint32_t)floor(f_train * m + 0.5);
        uint32_t nv = (uint32_t)floor(f_val * m + 0.5);
        if (nt > m) nt = m;
        if (nv > m - nt) nv = m - nt;
        for (uint32_t i = 0; i < m; i++) {
            uint8_t p = i < nt ? 0 : i < nt + nv ? 1 : 2;
            part[idx[i]] = p;
            cnt[p]++;
        }
    }
    free(idx);
    beaa_dataset *outs[3] = {train, val, test};
    beaa_dataset tmp[3];
    memset(tmp, 0, sizeof tmp);
    for (int p = 0; p < 3; p++) {
        beaa_status s = alloc_like(&tmp[p], src, cnt[p]);
        if (s) {
            for (int q = 0; q < p; q++) beaa_dataset_free(&tmp[q]);
            free(part);
            return s;
        }
        tmp[p].n = 0;
    }
    /* keep the source order inside each part, then shuffle order once per part */
    for (uint32_t i = 0; i < src->n; i++) {
        beaa_dataset *t = &tmp[part[i]];
        copy_img(t, t->n++, src, i);
    }
    free(part);
    for (int p = 0; p < 3; p++) {
        if (outs[p]) *outs[p] = tmp[p];
        else beaa_dataset_free(&tmp[p]);
    }
    return BEAA_OK;
}

void beaa_data_stats(const beaa_dataset *d, float *mean, float *std)
{
    size_t hw = (size_t)d->h * d->w;
    for (uint32_t c = 0; c < d->c; c++) {
        double s = 0, s2 = 0;
        for (uint32_t i = 0; i < d->n; i++) {
            const uint8_t *p = d->pixels + ((size_t)i * d->c + c) * hw;
            for (size_t j = 0; j < hw; j++) {
                double v = p[j] / 255.0;
                s += v;
                s2 += v * v;
            }
        }
        double n = (double)d->n * hw;
        double m = n > 0 ? s / n : 0, v = n > 0 ? s2 / n - m * m : 1;
        mean[c] = (float)m;
        std[c] = (float)(v > 1e-12 ? sqrt(v) : 1.0);
    }
}

int beaa_data_is_regular_file(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}
