/* data_idx.c - IDX (MNIST / Fashion-MNIST) image and label files, gzip-compressed or plain,
 * read with zlib's gzread (which passes plain files through). Magic, dimensions and lengths
 * are validated; the file must hold exactly what its header announces. */
#include "train/data.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
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

/* The file must end after the payload. */
static int at_eof(gzFile f)
{
    uint8_t extra;
    return gzread(f, &extra, 1) == 0;
}

#define IDX_FIRST_CHUNK ((size_t)1 << 16)

beaa_status beaa_data_idx_read(const char *path, uint32_t ndim, size_t max_items, int exact,
                               uint8_t **data, size_t *n_items, uint32_t *dims, char *err,
                               size_t errlen)
{
    if (!path || !data || !n_items || !dims || (ndim != 1 && ndim != 3)) return BEAA_ERR_ARG;
    *data = NULL;
    *n_items = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; the type is checked on the open
     * descriptor (no window between check and open), then blocking mode is restored. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return errno == ENOENT ? fail(err, errlen, "%s: not found", path)
                               : fail(err, errlen, "%s: cannot open (%s)", path, strerror(errno));
    struct stat sb;
    int fl = -1;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (fl = fcntl(fd, F_GETFL)) < 0 ||
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        close(fd);
        return fail(err, errlen, "%s: not a regular file (pipes, devices and folders are refused)", path);
    }
    gzFile f = gzdopen(fd, "rb");
    if (!f) { close(fd); return BEAA_ERR_NOMEM; }
    uint8_t hdr[16], *buf = NULL;
    size_t cap = 0, got = 0, want = 0, n = 0;
    beaa_status s = BEAA_OK;
    if (!gz_exact(f, hdr, 4 + 4 * (size_t)ndim)) {
        s = fail(err, errlen, "%s: too short for an IDX header (or not gzip/IDX)", path);
        goto out;
    }
    uint32_t magic = be32(hdr);
    if (magic != (0x00000800u | ndim)) {
        s = fail(err, errlen, "%s: bad IDX magic 0x%08x (expected 0x%08x: %s)", path, magic,
                 0x00000800u | ndim, ndim == 3 ? "images" : "labels");
        goto out;
    }
    size_t item = 1;
    for (uint32_t i = 0; i < ndim; i++) dims[i] = be32(hdr + 4 + 4 * i);
    for (uint32_t i = 1; i < ndim; i++) item *= dims[i];
    if (dims[0] > BEAA_DATA_MAX_IMAGES ||
        (ndim == 3 && (dims[1] == 0 || dims[1] > IDX_MAX_DIM || dims[2] == 0 || dims[2] > IDX_MAX_DIM))) {
        s = ndim == 3 ? fail(err, errlen, "%s: implausible dimensions %u x %u x %u", path, dims[0],
                             dims[1], dims[2])
                      : fail(err, errlen, "%s: implausible label count %u", path, dims[0]);
        goto out;
    }
    n = dims[0];
    if (max_items && n > max_items) n = max_items;
    want = n * item; /* <= 10^7 * 4096^2 < 2^64 */
    /* The buffer grows with what was actually decompressed (doubling from 64 KiB, at most the
     * header's size + 1): a short file whose header claims 10^7 large images cannot make us
     * allocate more than about twice the bytes it really holds. */
    while (got < want) {
        if (got == cap) {
            size_t ncap = cap ? 2 * cap : IDX_FIRST_CHUNK;
            if (ncap > want + 1) ncap = want + 1;
            uint8_t *nb = beaa_alloc(ncap);
            if (!nb) { s = BEAA_ERR_NOMEM; goto out; }
            if (got) memcpy(nb, buf, got);
            beaa_free_secret(buf, cap); /* may be the client's images */
            buf = nb;
            cap = ncap;
        }
        size_t chunk = cap - got < want - got ? cap - got : want - got;
        if (chunk > (1u << 30)) chunk = 1u << 30;
        int r = gzread(f, buf + got, (unsigned)chunk);
        if (r <= 0) {
            s = fail(err, errlen, "%s: shorter than its header says (%zu of %zu bytes of %s)", path,
                     got, want, ndim == 3 ? "pixels" : "labels");
            goto out;
        }
        got += (size_t)r;
    }
    if (cap < want + 1) { /* the exact size (+1, never 0 bytes) for the caller's wipe */
        uint8_t *nb = beaa_alloc(want + 1);
        if (!nb) { s = BEAA_ERR_NOMEM; goto out; }
        if (got) memcpy(nb, buf, got);
        beaa_free_secret(buf, cap);
        buf = nb;
        cap = want + 1;
    }
    if (exact && n == dims[0] && !at_eof(f)) {
        s = fail(err, errlen, "%s: longer than its header says (%zu bytes of %s expected)", path,
                 want, ndim == 3 ? "pixels" : "labels");
        goto out;
    }
out:
    gzclose(f);
    if (s != BEAA_OK) {
        beaa_free_secret(buf, cap);
        return s;
    }
    *data = buf;
    *n_items = n;
    return BEAA_OK;
}

beaa_status beaa_data_idx_load(const char *images_path, const char *labels_path,
                               beaa_dataset *d, char *err, size_t errlen)
{
    if (!images_path || !labels_path || !d) return BEAA_ERR_ARG;
    memset(d, 0, sizeof *d);
    uint32_t idim[3], ldim[1];
    size_t ni = 0, nl = 0;
    beaa_status s = beaa_data_idx_read(images_path, 3, 0, 1, &d->pixels, &ni, idim, err, errlen);
    if (s) return s;
    s = beaa_data_idx_read(labels_path, 1, 0, 1, &d->labels, &nl, ldim, err, errlen);
    if (s) { beaa_dataset_free(d); return s; }
    if (ni == 0) {
        s = fail(err, errlen, "%s holds no images", images_path);
    } else if (nl != ni) {
        s = fail(err, errlen, "%s has %zu images but %s has %zu labels", images_path, ni,
                 labels_path, nl);
    } else {
        for (size_t i = 0; i < nl && !s; i++)
            if (d->labels[i] >= 10)
                s = fail(err, errlen, "%s: label %u of image %zu is not in 0..9", labels_path,
                         d->labels[i], i);
    }
    if (s) { beaa_dataset_free(d); return s; }
    d->n = (uint32_t)ni; d->c = 1; d->h = idim[1]; d->w = idim[2]; d->num_classes = 10;
    return BEAA_OK;
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
