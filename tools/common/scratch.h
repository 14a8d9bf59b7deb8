/* scratch.h - where the out-of-core pass (nn/ooc.h) spills stage outputs: a new directory
 * (mkdtemp) under the user's scratch directory, one checked file per spilled ciphertext (the
 * ciphertext's serialized envelope: checksum and parameter-set fingerprint, verified when it is
 * read back), removed as soon as it is read back; the directory and anything left in it are
 * removed at the end and on every error. An optional byte limit (--scratch-limit) and the file
 * system's free space bound what it may hold; a write that fails (disk full, file too large,
 * limit reached) is an error that names the cause. */
#ifndef BEAA_TOOLS_SCRATCH_H
#define BEAA_TOOLS_SCRATCH_H
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/serial.h"
#include "lib/status.h"
#include "ckks/ckks.h"

/* Callers with different slot numbers may put and get at the same time (the out-of-core pass
 * spills and reloads on several threads); each slot has its own serialization buffer. */
#define SCRATCH_SLOTS 8

typedef struct scratch {
    char dir[4096];
    int made;
    const beaa_ckks_context *ctx;
    size_t limit;            /* most bytes at once (0: none) */
    size_t used, peak;       /* bytes on scratch now (written or being written), most at once */
    size_t written, files;   /* bytes and files written in all */
    int err_no;              /* errno of the first failure (0: none, or the limit) */
    char why[8192];          /* the first failure in a sentence */
    pthread_mutex_t mu;      /* the counters and the failure */
    beaa_serial_writer w[SCRATCH_SLOTS];
} scratch;

/* Makes the directory parent/beaa-scratch-XXXXXX. BEAA_ERR_IO (why says so). */
beaa_status scratch_open(scratch *s, const char *parent, size_t limit, const beaa_ckks_context *ctx);
/* Free bytes of the file system under parent (statvfs; SIZE_MAX when it cannot be asked). */
size_t scratch_free_bytes(const char *parent);
/* Writes ct as the file of (si, idx) through slot's buffer (slot < SCRATCH_SLOTS, else
 * BEAA_ERR_ARG). */
beaa_status scratch_put(scratch *s, unsigned slot, uint32_t si, size_t idx, const beaa_ckks_ciphertext *ct);
/* Reads the file back (checked), removes it. */
beaa_status scratch_get(scratch *s, uint32_t si, size_t idx, beaa_ckks_ciphertext **ct);
/* Removes every file left and the directory (safe to call twice, and on a scratch never opened
 * after memset 0). */
void scratch_close(scratch *s);

#endif
