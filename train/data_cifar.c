/* data_cifar.c - CIFAR-10 "binary version": records of 1 label byte + 3072 pixel bytes
 * (3 channels x 32 x 32, channel-major), data_batch_1..5.bin for training, test_batch.bin for
 * testing. Each file must be a whole number of records. */
#include "train/data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REC 3073u
#define MAX_FILE_RECORDS 1000000u

static beaa_status failf(char *err, size_t errlen, const char *msg, const char *path)
{
    if (err && errlen) snprintf(err, errlen, "%s: %s", path, msg);
    return BEAA_ERR_DATA;
}

/* Appends the records of path to d (grows arrays). */
static beaa_status load_file(const char *path, beaa_dataset *d, char *err, size_t errlen)
{
    struct stat sb;
    if (stat(path, &sb) != 0 && errno == ENOENT)
        return failf(err, errlen, "not found (the CIFAR-10 binary version has data_batch_1..5.bin and test_batch.bin)", path);
    if (!beaa_data_is_regular_file(path))
        return failf(err, errlen, "not a regular file (a CIFAR-10 binary batch is expected)", path);
    FILE *f = fopen(path, "rb");
    if (!f) return failf(err, errlen, "cannot open (missing CIFAR-10 binary batch?)", path);
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return failf(err, errlen, "cannot seek", path); }
    long sz = ftell(f);
    if (sz < 0 || fseek(f, 0, SEEK_SET) != 0) { fclose(f); return failf(err, errlen, "cannot size", path); }
    if (sz == 0 || (unsigned long)sz % REC != 0 || (unsigned long)sz / REC > MAX_FILE_RECORDS) {
        fclose(f);
        return failf(err, errlen, "size is not a positive multiple of 3073-byte records", path);
    }
    uint32_t n = (uint32_t)((unsigned long)sz / REC);
    if ((uint64_t)d->n + n > BEAA_DATA_MAX_IMAGES) { fclose(f); return failf(err, errlen, "too many images", path); }
    uint8_t *px = realloc(d->pixels, ((size_t)d->n + n) * 3072);
    if (!px) { fclose(f); return BEAA_ERR_NOMEM; }
    d->pixels = px;
    uint8_t *lb = realloc(d->labels, (size_t)d->n + n);
    if (!lb) { fclose(f); return BEAA_ERR_NOMEM; }
    d->labels = lb;
    uint8_t rec[REC];
    for (uint32_t i = 0; i < n; i++) {
        if (fread(rec, 1, REC, f) != REC) { fclose(f); return failf(err, errlen, "short read", path); }
        if (rec[0] > 9) { fclose(f); return failf(err, errlen, "label out of range 0..9", path); }
        d->labels[d->n] = rec[0];
        memcpy(d->pixels + (size_t)d->n * 3072, rec + 1, 3072);
        d->n++;
    }
    fclose(f);
    return BEAA_OK;
}

beaa_status beaa_data_cifar10_load(const char *dir, int train, beaa_dataset *d, char *err,
                                   size_t errlen)
{
    if (!dir || !d || strlen(dir) > 4000) return BEAA_ERR_ARG;
    memset(d, 0, sizeof *d);
    d->c = 3; d->h = 32; d->w = 32; d->num_classes = 10;
    char path[4096 + 32];
    beaa_status s = BEAA_OK;
    if (train) {
        for (int b = 1; b <= 5 && !s; b++) {
            snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, b);
            s = load_file(path, d, err, errlen);
        }
    } else {
        snprintf(path, sizeof path, "%s/test_batch.bin", dir);
        s = load_file(path, d, err, errlen);
    }
    if (s) beaa_dataset_free(d);
    return s;
}
