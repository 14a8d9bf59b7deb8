/* fileio.h - whole-file reading with a size bound, and atomic, non-clobbering file writing
 * (temp file in the same directory, fsync, then link or rename into place). */
#ifndef BEAA_FILEIO_H
#define BEAA_FILEIO_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"

/* Reads the whole file at path into a new buffer (*out, *len); at most max_bytes are accepted
 * (0 means no bound other than memory). The buffer comes from beaa_alloc: free it with
 * beaa_free, or beaa_free_secret(*out, *len) if it holds a secret key. An empty file gives
 * *out = NULL, *len = 0 and BEAA_OK. Errors: BEAA_ERR_ARG (NULL), BEAA_ERR_NOT_FOUND (no file
 * at path), BEAA_ERR_IO (cannot open or read, or not a regular file), BEAA_ERR_MEMORY_LIMIT (file larger than max_bytes),
 * BEAA_ERR_NOMEM. Internal buffers that are outgrown are wiped before they are freed. */
BEAA_MUST_CHECK beaa_status beaa_file_read_all(const char *path, size_t max_bytes, uint8_t **out,
                                                size_t *len);

/* Writes data[0..len) to path atomically: the bytes go to a new temporary file in the same
 * directory (mode 0600: files may hold secrets), which is fsync'ed and then moved into place.
 * If overwrite is 0 an existing path is never replaced (BEAA_ERR_EXISTS, checked atomically with
 * link(2)); if overwrite is 1 an existing file is replaced atomically with rename(2). Readers
 * never see a partial file. On error the temporary file is removed. Errors: BEAA_ERR_ARG,
 * BEAA_ERR_EXISTS, BEAA_ERR_IO. */
BEAA_MUST_CHECK beaa_status beaa_file_write_atomic(const char *path, const void *data, size_t len,
                                                    int overwrite);

/* The pieces of beaa_file_write_atomic, for writers that stream (lib/stream.c):
 * creates a temporary file next to path (its name is written to tmp_path, which must hold
 * strlen(path) + 16 bytes) and returns its descriptor in *fd. */
BEAA_MUST_CHECK beaa_status beaa_file_temp_create(const char *path, char *tmp_path, size_t tmp_cap,
                                                   int *fd);
/* Writes all n bytes to fd (retrying short writes and EINTR). BEAA_ERR_IO. */
BEAA_MUST_CHECK beaa_status beaa_file_write_fd(int fd, const void *data, size_t n);
/* fsyncs and closes fd, then moves tmp_path to path (link + unlink when overwrite is 0, rename
 * when 1), and fsyncs the directory (best effort). On any error tmp_path is removed.
 * BEAA_ERR_EXISTS, BEAA_ERR_IO. */
BEAA_MUST_CHECK beaa_status beaa_file_temp_commit(int fd, const char *tmp_path, const char *path,
                                                   int overwrite);
/* Closes fd and removes tmp_path (abandons a write). */
void beaa_file_temp_abort(int fd, const char *tmp_path);

#endif
