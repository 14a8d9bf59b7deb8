/* scratch.c - spill files of the out-of-core pass (see scratch.h). */
#include "tools/common/scratch.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include "ckks/serialize.h"
#include "lib/fileio.h"
#include "lib/mem.h"

beaa_status scratch_open(scratch *s, const char *parent, size_t limit, const beaa_ckks_context *ctx)
{
    memset(s, 0, sizeof *s);
    s->ctx = ctx;
    s->limit = limit;
    pthread_mutex_init(&s->mu, NULL);
    for (unsigned i = 0; i < SCRATCH_SLOTS; i++) beaa_serial_writer_init(&s->w[i], 0);
    if (snprintf(s->dir, sizeof s->dir, "%s/beaa-scratch-XXXXXX", parent) >= (int)sizeof s->dir) {
        snprintf(s->why, sizeof s->why, "scratch directory path too long");
        return BEAA_ERR_IO;
    }
    if (!mkdtemp(s->dir)) {
        s->err_no = errno;
        snprintf(s->why, sizeof s->why, "cannot create a directory in %s: %s", parent, strerror(errno));
        s->dir[0] = 0;
        return BEAA_ERR_IO;
    }
    s->made = 1;
    return BEAA_OK;
}

size_t scratch_free_bytes(const char *parent)
{
    struct statvfs v;
    if (statvfs(parent, &v) != 0) return SIZE_MAX;
    return (size_t)v.f_bavail * (size_t)v.f_frsize;
}

static void file_name(const scratch *s, uint32_t si, size_t idx, char *p, size_t cap)
{
    snprintf(p, cap, "%s/s%u-%zu.ct", s->dir, si, idx);
}

/* Records a failure (errno e, 0: none) unless an earlier one is recorded; returns BEAA_ERR_IO. */
__attribute__((format(printf, 3, 4))) static beaa_status fail(scratch *s, int e, const char *fmt, ...)
{
    pthread_mutex_lock(&s->mu);
    if (!s->why[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->why, sizeof s->why, fmt, ap);
        va_end(ap);
        s->err_no = e;
    }
    pthread_mutex_unlock(&s->mu);
    return BEAA_ERR_IO;
}

/* Gives back bytes counted in use (a file read back, or a write that failed). */
static void unuse(scratch *s, size_t bytes)
{
    pthread_mutex_lock(&s->mu);
    s->used -= bytes <= s->used ? bytes : s->used;
    pthread_mutex_unlock(&s->mu);
}

beaa_status scratch_put(scratch *s, unsigned slot, uint32_t si, size_t idx, const beaa_ckks_ciphertext *ct)
{
    char p[4200];
    if (!s->made || slot >= SCRATCH_SLOTS) return BEAA_ERR_ARG;
    beaa_serial_writer *w = &s->w[slot];
    beaa_serial_writer_reset(w);
    beaa_status st = beaa_ckks_ciphertext_serialize(ct, w);
    if (st != BEAA_OK) return st;
    /* the bytes count as used from now on, so that writers at once stay within the limit */
    pthread_mutex_lock(&s->mu);
    size_t used = s->used;
    int over = s->limit && used + w->len > s->limit;
    if (!over) {
        s->used += w->len;
        if (s->used > s->peak) s->peak = s->used;
    }
    pthread_mutex_unlock(&s->mu);
    if (over)
        return fail(s, 0, "the scratch limit of %zu bytes is reached (%zu in use)", s->limit, used);
    file_name(s, si, idx, p, sizeof p);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        unuse(s, w->len);
        return fail(s, e, "cannot create %s: %s", p, strerror(e));
    }
    const uint8_t *b = w->buf;
    size_t left = w->len;
    while (left > 0) {
        ssize_t n = write(fd, b, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = n < 0 ? errno : ENOSPC;
            close(fd);
            unlink(p);
            unuse(s, w->len);
            return fail(s, e, "writing %s failed: %s", p, strerror(e));
        }
        b += n;
        left -= (size_t)n;
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(p);
        unuse(s, w->len);
        return fail(s, e, "writing %s failed: %s", p, strerror(e));
    }
    pthread_mutex_lock(&s->mu);
    s->written += w->len;
    s->files++;
    pthread_mutex_unlock(&s->mu);
    return BEAA_OK;
}

beaa_status scratch_get(scratch *s, uint32_t si, size_t idx, beaa_ckks_ciphertext **ct)
{
    char p[4200];
    uint8_t *data = NULL;
    size_t len = 0;
    *ct = NULL;
    if (!s->made) return BEAA_ERR_ARG;
    file_name(s, si, idx, p, sizeof p);
    beaa_status st = beaa_file_read_all(p, beaa_ckks_ciphertext_max_bytes(s->ctx), &data, &len);
    if (st == BEAA_OK) st = beaa_ckks_ciphertext_deserialize(s->ctx, data, len, ct);
    if (st != BEAA_OK) {
        fail(s, 0, "reading back %s: %s", p, beaa_strerror(st));
    } else {
        unuse(s, len);
        unlink(p);
    }
    beaa_free(data);
    return st;
}

void scratch_close(scratch *s)
{
    if (s->made) {
        DIR *d = opendir(s->dir);
        if (d) {
            struct dirent *e;
            char p[4400];
            while ((e = readdir(d)) != NULL) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
                snprintf(p, sizeof p, "%s/%s", s->dir, e->d_name);
                unlink(p);
            }
            closedir(d);
        }
        rmdir(s->dir);
        s->made = 0;
        pthread_mutex_destroy(&s->mu);
    }
    for (unsigned i = 0; i < SCRATCH_SLOTS; i++) beaa_serial_writer_free(&s->w[i]);
}
