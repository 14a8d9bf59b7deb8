/* data_folder.c - image-folder data sets (OCTID-like): DIR/<class>/<file>.pgm|.ppm, classes in
 * name order; binary PGM (P5) and PPM (P6) with maxval 255 are parsed with bounds checks and
 * resized bilinearly to the requested size and channel count. */
#include "train/data.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_SIDE 8192u
#define MAX_FILES_PER_CLASS 1000000u

static beaa_status failf(char *err, size_t errlen, const char *msg, const char *path)
{
    if (err && errlen) snprintf(err, errlen, "%s: %s", path, msg);
    return BEAA_ERR_DATA;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* Sorted list of entries of dir: want_dirs = 1 for subfolders, 0 for .pgm/.ppm files. */
static beaa_status list_dir(const char *dir, int want_dirs, char ***out, size_t *nout,
                            char *err, size_t errlen)
{
    DIR *dp = opendir(dir);
    if (!dp) return failf(err, errlen, errno == ENOENT ? "not found" : "cannot open folder", dir);
    char **v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        if (e->d_name[0] == '.') continue;
        size_t l = strlen(e->d_name);
        char path[8192];
        int pl = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (pl < 0 || (size_t)pl >= sizeof path) continue;
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (want_dirs ? !S_ISDIR(st.st_mode)
                      : (!S_ISREG(st.st_mode) || l < 5 ||
                         (strcmp(e->d_name + l - 4, ".pgm") && strcmp(e->d_name + l - 4, ".ppm"))))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nv = realloc(v, cap * sizeof *v);
            if (!nv) { closedir(dp); free_list(v, n); return BEAA_ERR_NOMEM; }
            v = nv;
        }
        v[n] = strdup(e->d_name);
        if (!v[n]) { closedir(dp); free_list(v, n); return BEAA_ERR_NOMEM; }
        n++;
        if (n > MAX_FILES_PER_CLASS) { closedir(dp); free_list(v, n); return failf(err, errlen, "too many entries", dir); }
    }
    closedir(dp);
    if (n) qsort(v, n, sizeof *v, cmp_str);
    *out = v;
    *nout = n;
    return BEAA_OK;
}

/* Reads one header integer, skipping whitespace and # comments. Returns -1 on error. */
static long pnm_int(FILE *f)
{
    int ch = fgetc(f);
    for (;;) {
        if (ch == '#') { while (ch != EOF && ch != '\n') ch = fgetc(f); }
        else if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') ch = fgetc(f);
        else break;
    }
    if (ch < '0' || ch > '9') return -1;
    long v = 0;
    while (ch >= '0' && ch <= '9') {
        v = v * 10 + (ch - '0');
        if (v > 1000000) return -1;
        ch = fgetc(f);
    }
    /* exactly one whitespace byte ends the header value (ch consumed) */
    if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') return -1;
    return v;
}

/* Loads a P5/P6 image as gray or RGB (channels 1/3) bytes. */
static beaa_status pnm_load(const char *path, uint8_t **px, uint32_t *pc, uint32_t *ph,
                            uint32_t *pw, char *err, size_t errlen)
{
    if (!beaa_data_is_regular_file(path)) return failf(err, errlen, "cannot open image (not a regular file)", path);
    FILE *f = fopen(path, "rb");
    if (!f) return failf(err, errlen, "cannot open image", path);
    char magic[2];
    if (fread(magic, 1, 2, f) != 2 || magic[0] != 'P' || (magic[1] != '5' && magic[1] != '6')) {
        fclose(f);
        return failf(err, errlen, "not a binary PGM (P5) or PPM (P6) image", path);
    }
    long w = pnm_int(f), h = pnm_int(f), mx = pnm_int(f);
    if (w <= 0 || h <= 0 || (unsigned long)w > MAX_SIDE || (unsigned long)h > MAX_SIDE || mx != 255) {
        fclose(f);
        return failf(err, errlen, "bad PGM/PPM header (size, or maxval other than 255)", path);
    }
    uint32_t c = magic[1] == '5' ? 1 : 3;
    size_t n = (size_t)w * (size_t)h * c;
    /* Allocate only what the file really holds: a 20-byte header claiming 8192 x 8192 RGB must
     * not cost 192 MiB (the bound per image is the file's own size). */
    struct stat fs;
    long at = ftell(f);
    if (at < 0 || fstat(fileno(f), &fs) != 0 || (uint64_t)fs.st_size < (uint64_t)at ||
        (uint64_t)fs.st_size - (uint64_t)at < n) {
        fclose(f);
        return failf(err, errlen, "image data shorter than its header says", path);
    }
    uint8_t *buf = malloc(n);
    if (!buf) { fclose(f); return BEAA_ERR_NOMEM; }
    if (fread(buf, 1, n, f) != n) {
        free(buf);
        fclose(f);
        return failf(err, errlen, "image data shorter than its header says", path);
    }
    fclose(f);
    *px = buf; *pc = c; *ph = (uint32_t)h; *pw = (uint32_t)w;
    return BEAA_OK;
}

/* Bilinear resize of interleaved src (sc channels, sh x sw) into planar dst (dc, dh, dw). */
static void resize_into(uint8_t *dst, uint32_t dc, uint32_t dh, uint32_t dw, const uint8_t *src,
                        uint32_t sc, uint32_t sh, uint32_t sw)
{
    for (uint32_t y = 0; y < dh; y++) {
        double fy = ((double)y + 0.5) * sh / dh - 0.5;
        if (fy < 0) fy = 0;
        uint32_t y0 = (uint32_t)fy, y1 = y0 + 1 < sh ? y0 + 1 : y0;
        double ay = fy - y0;
        for (uint32_t x = 0; x < dw; x++) {
            double fx = ((double)x + 0.5) * sw / dw - 0.5;
            if (fx < 0) fx = 0;
            uint32_t x0 = (uint32_t)fx, x1 = x0 + 1 < sw ? x0 + 1 : x0;
            double ax = fx - x0;
            double v[3];
            for (uint32_t k = 0; k < sc; k++) {
                double p00 = src[((size_t)y0 * sw + x0) * sc + k], p01 = src[((size_t)y0 * sw + x1) * sc + k];
                double p10 = src[((size_t)y1 * sw + x0) * sc + k], p11 = src[((size_t)y1 * sw + x1) * sc + k];
                v[k] = (1 - ay) * ((1 - ax) * p00 + ax * p01) + ay * ((1 - ax) * p10 + ax * p11);
            }
            for (uint32_t k = 0; k < dc; k++) {
                double o = sc == dc ? v[k] : sc == 1 ? v[0] : 0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2];
                dst[((size_t)k * dh + y) * dw + x] = (uint8_t)(o < 0 ? 0 : o > 255 ? 255 : o + 0.5);
            }
        }
    }
}

beaa_status beaa_data_folder_load(const char *dir, uint32_t c, uint32_t h, uint32_t w,
                                  beaa_dataset *d, char *err, size_t errlen)
{
    if (!dir || !d || (c != 1 && c != 3) || h == 0 || w == 0 || h > 1024 || w > 1024 ||
        strlen(dir) > 4000)
        return BEAA_ERR_ARG;
    memset(d, 0, sizeof *d);
    char **classes = NULL;
    size_t ncls = 0;
    beaa_status s = list_dir(dir, 1, &classes, &ncls, err, errlen);
    if (s) return s;
    if (ncls < 2 || ncls > BEAA_DATA_MAX_CLASSES) {
        free_list(classes, ncls);
        return failf(err, errlen, "needs 2..256 class subfolders", dir);
    }
    d->c = c; d->h = h; d->w = w; d->num_classes = (uint32_t)ncls;
    size_t img = (size_t)c * h * w, cap = 0;
    char path[8192];
    for (size_t k = 0; k < ncls && !s; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, classes[k]);
        char **files = NULL;
        size_t nf = 0;
        s = list_dir(path, 0, &files, &nf, err, errlen);
        if (s) break;
        if (nf == 0) { s = failf(err, errlen, "class folder has no .pgm/.ppm images", path); free_list(files, nf); break; }
        for (size_t i = 0; i < nf && !s; i++) {
            char fp[8192 + 512];
            int fl = snprintf(fp, sizeof fp, "%s/%s", path, files[i]);
            if (fl < 0 || (size_t)fl >= sizeof fp) continue;
            uint8_t *px = NULL;
            uint32_t sc, sh, sw;
            s = pnm_load(fp, &px, &sc, &sh, &sw, err, errlen);
            if (s) break;
            if (d->n == cap) {
                cap = cap ? 2 * cap : 64;
                if (cap > BEAA_DATA_MAX_IMAGES) { free(px); s = failf(err, errlen, "too many images", dir); break; }
                uint8_t *np = realloc(d->pixels, cap * img), *nl = NULL;
                if (np) d->pixels = np;
                if (np) nl = realloc(d->labels, cap);
                if (nl) d->labels = nl;
                if (!np || !nl) { free(px); s = BEAA_ERR_NOMEM; break; }
            }
            resize_into(d->pixels + d->n * img, c, h, w, px, sc, sh, sw);
            d->labels[d->n++] = (uint8_t)k;
            free(px);
        }
        free_list(files, nf);
    }
    free_list(classes, ncls);
    if (s) beaa_dataset_free(d);
    return s;
}
