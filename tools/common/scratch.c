/* scratch.c - spill files of the out-of-core pass (see scratch.h). */
#include "tools/common/scratch.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
    beaa_serial_writer_init(&s->w, 0);
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

beaa_status scratch_put(scratch *s, uint32_t si, size_t idx, const beaa_ckks_ciphertext *ct)
{
    char p[4200];
    if (!s->made) return BEAA_ERR_ARG;
    beaa_serial_writer_reset(&s->w);
    beaa_status st = beaa_ckks_ciphertext_serialize(ct, &s->w);
    if (st != BEAA_OK) return st;
    if (s->limit && s->used + s->w.len > s->limit) {
        s->err_no = 0;
        snprintf(s->why, sizeof s->why, "the scratch limit of %zu bytes is reached (%zu in use)",
                 s->limit, s->used);
        return BEAA_ERR_IO;
    }
    file_name(s, si, idx, p, sizeof p);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        s->err_no = errno;
        snprintf(s->why, sizeof s->why, "cannot create %s: %s", p, strerror(errno));
        return BEAA_ERR_IO;
    }
    const uint8_t *b = s->w.buf;
    size_t left = s->w.len;
    while (left > 0) {
        ssize_t n = write(fd, b, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            s->err_no = n < 0 ? errno : ENOSPC;
            snprintf(s->why, sizeof s->why, "writing %s failed: %s", p, strerror(s->err_no));
            close(fd);
            unlink(p);
            return BEAA_ERR_IO;
        }
        b += n;
        left -= (size_t)n;
    }
    if (close(fd) != 0) {
        s->err_no = errno;
        snprintf(s->why, sizeof s->why, "writing %s failed: %s", p, strerror(errno));
        unlink(p);
        return BEAA_ERR_IO;
    }
    s->used += s->w.len;
    if (s->used > s->peak) s->peak = s->used;
    s->written += s->w.len;
    s->files++;
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
        s->err_no = 0;
        snprintf(s->why, sizeof s->why, "reading back %s: %s", p, beaa_strerror(st));
    } else {
        s->used -= len <= s->used ? len : s->used;
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
    }
    beaa_serial_writer_free(&s->w);
}
