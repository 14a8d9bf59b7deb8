/* data_idx.c - IDX (MNIST / Fashion-MNIST) image and label files, gzip-compressed or plain,
 * read with zlib's gzread (which passes plain files through). Magic, dimensions and lengths
 * are validated; the file must hold exactly what its header announces. */
#include "train/data.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDX_MAX_DIM 4096u

static beaa_status fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return BEAA_ERR_DATA;
}

/* Reads exactly n bytes; returns 0 on a short read or error. */
static int gz_exact(gzFile f, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        int got = gzread(f, p, chunk);
        if (got <= 0) return 0;
        p += got;
        n -= (size_t)got;
    }
    return 1;
}

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Opens path, checks the magic (0x00000800 | ndim with type ubyte), reads the dims. */
static beaa_status idx_open(const char *path, uint32_t ndim, uint32_t *dims, gzFile *out,
                            char *err, size_t errlen)
{
    if (!beaa_data_is_regular_file(path))
        return fail(err, errlen, "cannot open %s (missing or not a regular file)", path);
    gzFile f = gzopen(path, "rb");
    if (!f) return fail(err, errlen, "cannot open %s", path);
    uint8_t hdr[16];
    if (!gz_exact(f, hdr, 4 + 4 * (size_t)ndim)) {
        gzclose(f);
        return fail(err, errlen, "%s: too short for an IDX header (or not gzip/IDX)", path);
    }
    uint32_t magic = be32(hdr);
    if (magic != (0x00000800u | ndim)) {
        gzclose(f);
        return fail(err, errlen, "%s: bad IDX magic 0x%08x (expected 0x%08x)", path, magic,
                    0x00000800u | ndim);
    }
    for (uint32_t i = 0; i < ndim; i++) dims[i] = be32(hdr + 4 + 4 * i);
    *out = f;
    return BEAA_OK;
}

/* After the payload, the file must end. */
static int at_eof(gzFile f)
{
    uint8_t extra;
    return gzread(f, &extra, 1) == 0;
}

beaa_status beaa_data_idx_load(const char *images_path, const char *labels_path,
                               beaa_dataset *d, char *err, size_t errlen)
{
    if (!images_path || !labels_path || !d) return BEAA_ERR_ARG;
    memset(d, 0, sizeof *d);
    uint32_t idim[3], ldim[1];
    gzFile fi, fl;
    beaa_status s = idx_open(images_path, 3, idim, &fi, err, errlen);
    if (s) return s;
    s = idx_open(labels_path, 1, ldim, &fl, err, errlen);
    if (s) { gzclose(fi); return s; }
    if (idim[0] == 0 || idim[0] > BEAA_DATA_MAX_IMAGES || idim[1] == 0 ||
        idim[1] > IDX_MAX_DIM || idim[2] == 0 || idim[2] > IDX_MAX_DIM) {
        s = fail(err, errlen, "%s: implausible dimensions %u x %u x %u", images_path, idim[0],
                 idim[1], idim[2]);
        goto out;
    }
    if (ldim[0] != idim[0]) {
        s = fail(err, errlen, "%s has %u images but %s has %u labels", images_path, idim[0],
                 labels_path, ldim[0]);
        goto out;
    }
    size_t npix = (size_t)idim[0] * idim[1] * idim[2];
    d->pixels = malloc(npix);
    d->labels = malloc(idim[0]);
    if (!d->pixels || !d->labels) { s = BEAA_ERR_NOMEM; goto out; }
    if (!gz_exact(fi, d->pixels, npix) || !at_eof(fi)) {
        s = fail(err, errlen, "%s: length does not match its header (%zu pixel bytes)",
                 images_path, npix);
        goto out;
    }
    if (!gz_exact(fl, d->labels, idim[0]) || !at_eof(fl)) {
        s = fail(err, errlen, "%s: length does not match its header (%u labels)", labels_path,
                 idim[0]);
        goto out;
    }
    for (uint32_t i = 0; i < idim[0]; i++)
        if (d->labels[i] >= 10) {
            s = fail(err, errlen, "%s: label %u of image %u is not in 0..9", labels_path,
                     d->labels[i], i);
            goto out;
        }
    d->n = idim[0]; d->c = 1; d->h = idim[1]; d->w = idim[2]; d->num_classes = 10;
out:
    gzclose(fi);
    gzclose(fl);
    if (s) beaa_dataset_free(d);
    return s;
}

beaa_status beaa_data_fmnist_load(const char *dir, int train, beaa_dataset *d, char *err,
                                  size_t errlen)
{
    if (!d) return BEAA_ERR_ARG;
    if (!dir) dir = BEAA_DATA_DEFAULT_FMNIST_DIR;
    size_t dl = strlen(dir);
    if (dl > 4000) return BEAA_ERR_ARG;
    char ip[4096 + 64], lp[4096 + 64];
    const char *pre = train ? "train" : "t10k";
    snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte.gz", dir, pre);
    snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte.gz", dir, pre);
    return beaa_data_idx_load(ip, lp, d, err, errlen);
}
