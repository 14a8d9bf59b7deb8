/* fileio.c - bounded whole-file reads and atomic no-clobber writes (see fileio.h).
 * The no-clobber move is link(2) of the finished temp file to the final name (fails with
 * EEXIST instead of replacing), with an O_EXCL placeholder + rename fallback for file systems
 * without hard links. */
#include "lib/fileio.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

beaa_status beaa_file_read_all(const char *path, size_t max_bytes, uint8_t **out, size_t *len)
{
    if (!path || !out || !len) return BEAA_ERR_ARG;
    *out = NULL;
    *len = 0;
    size_t bound = max_bytes ? max_bytes : SIZE_MAX - 128;
    int fd;
    do {
        /* O_NONBLOCK so that a FIFO cannot block the open; it is rejected below. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return errno == ENOENT ? BEAA_ERR_NOT_FOUND : BEAA_ERR_IO;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return BEAA_ERR_IO;
    }
    if (st.st_size > 0 && (uint64_t)st.st_size > (uint64_t)bound) {
        close(fd);
        return BEAA_ERR_MEMORY_LIMIT;
    }
    /* The size is only a hint (the file may change while we read): read until EOF, never past
     * bound + 1 bytes. */
    size_t cap = (size_t)st.st_size + 1, n = 0;
    if (cap > bound) cap = bound + 1;
    if (cap < 64) cap = 64;
    uint8_t *buf = beaa_alloc(cap);
    if (!buf) {
        close(fd);
        return BEAA_ERR_NOMEM;
    }
    beaa_status s = BEAA_OK;
    for (;;) {
        if (n == cap) {
            if (cap > bound) { s = BEAA_ERR_MEMORY_LIMIT; break; }
            size_t ncap = cap > SIZE_MAX / 2 ? SIZE_MAX - 64 : cap * 2;
            if (ncap > bound + 1) ncap = bound + 1;
            uint8_t *nb = beaa_alloc(ncap);
            if (!nb) { s = BEAA_ERR_NOMEM; break; }
            memcpy(nb, buf, n);
            beaa_free_secret(buf, cap);
            buf = nb;
            cap = ncap;
        }
        size_t want = cap - n;
        if (want > ((size_t)1 << 30)) want = (size_t)1 << 30;
        ssize_t r = read(fd, buf + n, want);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { s = BEAA_ERR_IO; break; }
        if (r == 0) break;
        n += (size_t)r;
        if (n > bound) { s = BEAA_ERR_MEMORY_LIMIT; break; }
    }
    close(fd);
    if (s != BEAA_OK || n == 0) {
        beaa_free_secret(buf, cap);
        return s;
    }
    *out = buf;
    *len = n;
    return BEAA_OK;
}

beaa_status beaa_file_temp_create(const char *path, char *tmp_path, size_t tmp_cap, int *fd)
{
    if (!path || !tmp_path || !fd || path[0] == '\0') return BEAA_ERR_ARG;
    size_t pl = strlen(path);
    if (path[pl - 1] == '/') return BEAA_ERR_ARG;
    /* "<path>.tmp.XXXXXX": same directory as the target, so the final link/rename never
     * crosses file systems. */
    if (tmp_cap < pl + 12) return BEAA_ERR_ARG;
    memcpy(tmp_path, path, pl);
    memcpy(tmp_path + pl, ".tmp.XXXXXX", 12);
    int f = mkstemp(tmp_path); /* mode 0600, O_EXCL */
    if (f < 0) return BEAA_ERR_IO;
    (void)fcntl(f, F_SETFD, FD_CLOEXEC);
    *fd = f;
    return BEAA_OK;
}

beaa_status beaa_file_write_fd(int fd, const void *data, size_t n)
{
    const uint8_t *p = (const uint8_t *)data;
    if (n > 0 && !p) return BEAA_ERR_ARG;
    while (n > 0) {
        size_t want = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
        ssize_t r = write(fd, p, want);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return BEAA_ERR_IO;
        p += (size_t)r;
        n -= (size_t)r;
    }
    return BEAA_OK;
}

void beaa_file_temp_abort(int fd, const char *tmp_path)
{
    if (fd >= 0) close(fd);
    if (tmp_path) unlink(tmp_path);
}

/* fsync of the directory holding path, so the new name survives a crash (best effort). */
static void fsync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash) {
        dir = strdup(".");
    } else if (slash == path) {
        dir = strdup("/");
    } else {
        dir = strndup(path, (size_t)(slash - path));
    }
    if (!dir) return;
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d >= 0) {
        (void)fsync(d);
        close(d);
    }
    free(dir);
}

beaa_status beaa_file_temp_commit(int fd, const char *tmp_path, const char *path, int overwrite)
{
    if (fd < 0 || !tmp_path || !path) {
        beaa_file_temp_abort(fd, tmp_path);
        return BEAA_ERR_ARG;
    }
    if (fsync(fd) != 0) {
        beaa_file_temp_abort(fd, tmp_path);
        return BEAA_ERR_IO;
    }
    if (close(fd) != 0) {
        unlink(tmp_path);
        return BEAA_ERR_IO;
    }
    if (overwrite) {
        if (rename(tmp_path, path) != 0) {
            unlink(tmp_path);
            return BEAA_ERR_IO;
        }
    } else if (link(tmp_path, path) == 0) {
        unlink(tmp_path);
    } else if (errno == EEXIST) {
        unlink(tmp_path);
        return BEAA_ERR_EXISTS;
    } else {
        /* No hard links here (e.g. some FUSE or FAT file systems): claim the name with an
         * exclusive create, then rename over our own placeholder. */
        int ph = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (ph < 0) {
            int e = errno;
            unlink(tmp_path);
            return e == EEXIST ? BEAA_ERR_EXISTS : BEAA_ERR_IO;
        }
        close(ph);
        if (rename(tmp_path, path) != 0) {
            unlink(tmp_path);
            unlink(path);
            return BEAA_ERR_IO;
        }
    }
    fsync_parent_dir(path);
    return BEAA_OK;
}

beaa_status beaa_file_write_atomic(const char *path, const void *data, size_t len, int overwrite)
{
    if (!path || (!data && len > 0)) return BEAA_ERR_ARG;
    struct stat st;
    if (!overwrite && lstat(path, &st) == 0) return BEAA_ERR_EXISTS; /* early; link() decides */
    size_t cap = strlen(path) + 16;
    char *tmp = malloc(cap);
    if (!tmp) return BEAA_ERR_NOMEM;
    int fd = -1;
    beaa_status s = beaa_file_temp_create(path, tmp, cap, &fd);
    if (s == BEAA_OK) {
        s = beaa_file_write_fd(fd, data, len);
        if (s == BEAA_OK)
            s = beaa_file_temp_commit(fd, tmp, path, overwrite);
        else
            beaa_file_temp_abort(fd, tmp);
    }
    free(tmp);
    return s;
}
