/* files.h - what the beaa tools (tools/beaa.c, tools/beaa-mpi.c) share: the model and its plan,
 * the key files, and the ciphertext stream files (read whole, or one ciphertext at a time when
 * the encrypted pass first needs it). */
#ifndef BEAA_TOOLS_FILES_H
#define BEAA_TOOLS_FILES_H
#include <stddef.h>
#include <stdint.h>
#include "lib/serial.h"
#include "lib/status.h"
#include "lib/stream.h"
#include "ckks/ckks.h"
#include "nn/fold.h"
#include "nn/model.h"
#include "nn/plan.h"

#define NN_META_TYPE (BEAA_OBJ_USER + 0x4e4e) /* "NN": scales of the plan */
#define CT_MAGIC "BEAANNC1"
#define LG_MAGIC "BEAANNL1"
#define MAX_KEYFILE ((size_t)4 << 30)
#define DEFAULT_MODEL "models/fmnist-beaa.model"

/* The program name in messages ("beaa" unless the tool sets it). */
extern const char *tool_prog;

/* "PROG: WHAT: message" on stderr, plus what to do where the status alone does not say it
 * (--overwrite, --insecure-small-ring, a damaged file, `beaa info`, BEAA_ARCH). Returns 1. */
int tool_fail(const char *what, beaa_status st);
/* After BEAA_ERR_NOMEM: why, when the block pool saw the kernel refuse a mapping (the address-
 * space limit or the per-process count of mappings), as " (...)"; "" otherwise. */
const char *tool_nomem_hint(void);

/* A size such as 512M, 16G, 1.5G or 1048576 (bytes; K, M, G, T are powers of 1024): 0 and
 * *bytes set, or -1 for anything else (empty, negative, junk after the suffix, overflow). */
int parse_size(const char *s, size_t *bytes);
/* Resident memory of this process now (bytes, /proc/self/statm; 0 if unknown), its peak
 * (getrusage ru_maxrss) and the machine's physical memory. */
size_t rss_now_bytes(void);
size_t rss_peak_bytes(void);
size_t phys_mem_bytes(void);

/* ------------------------------------------------------------------ model and plan */

typedef struct setup {
    beaa_model *m;
    beaa_nn_net *net;
    beaa_nn_plan plan;
} setup;

void setup_free(setup *s);
/* The model file for --model path. DEFAULT_MODEL (no --model) is searched for: in the current
 * folder, else next to the executable (bin/../models: the source tree), else where `make
 * install` put it (bin/../share/beaa/models, then BEAA_SHARE_DIR/models); any other path is
 * taken as given. Returns the first that exists (copied into buf) or path itself, or NULL with
 * the candidates, comma-separated, in tried. */
const char *find_model(const char *path, char *buf, size_t cap, char *tried, size_t tcap);
/* find_model's buffers: a path, and the list of paths tried. */
#define MODEL_PATH_MAX 4200
#define MODEL_TRIED_MAX (4 * MODEL_PATH_MAX)
/* Finds (find_model), loads and folds the model (0), or prints why not, with the paths tried
 * and the --model hint where it was not found (1). */
int load_model(const char *path, setup *s);
/* Plans for batch images; log_n forces a ring (0: choose). 0, or 1 after printing the refusal. */
int make_plan(setup *s, size_t batch, unsigned log_n, int insecure, unsigned log_scale,
              unsigned in_log_scale);

/* ------------------------------------------------------------------ key files */

/* A key file: params, then objects, then the meta envelope. Reads each envelope in turn. */
typedef struct keyfile {
    uint8_t *data;
    size_t len, off;
} keyfile;

beaa_status kf_next(keyfile *kf, uint32_t type, const uint8_t **obj, size_t *len);
beaa_status kf_meta(keyfile *kf, const beaa_ckks_context *ctx, double *scale, double *in_scale);
unsigned log2u(double v);
/* Opens a key file: context from its params envelope. */
beaa_status kf_open(const char *path, int insecure, keyfile *kf, beaa_ckks_context **ctx);
void kf_close(keyfile *kf, int secret);
/* The client's secret key file: context, secret key, the plan's scales (the file's bytes are
 * wiped). On error everything is freed and NULL. */
beaa_status load_secret(const char *path, int insecure, beaa_ckks_context **ctx,
                        beaa_ckks_secret_key **sk, double *scale, double *in_scale);
/* The server's keys file: context, relinearization key, the plan's scales (the public key is
 * checked and skipped). On error everything is freed and NULL. */
beaa_status load_server_keys(const char *path, int insecure, beaa_ckks_context **ctx,
                             beaa_ckks_relin_key **rk, double *scale, double *in_scale);

/* ------------------------------------------------------------------ ciphertext streams */

/* The stream's metadata: what the ciphertexts hold. On disk (CT_META_BYTES, field by field,
 * independent of the compiler's struct layout): magic (8 bytes, CT_MAGIC or LG_MAGIC; its last
 * character is the format version), then n_images, c, h, w as little-endian u32. Ciphertext k
 * of the stream is element k of the c x h x w tensor; slot j of each is image j. */
typedef struct ct_meta {
    char magic[8];
    uint32_t n_images, c, h, w;
} ct_meta;

#define CT_META_BYTES 24
#define CT_MAX_COUNT 1000000 /* ciphertexts in one file (c*h*w) */

beaa_status meta_write(beaa_serial_writer *w, const ct_meta *m);
/* Parses and bounds the metadata: BEAA_ERR_FORMAT (size, magic other than `magic`) or
 * BEAA_ERR_CORRUPT (a field out of range), with a sentence in *why. */
beaa_status meta_read(const uint8_t *p, size_t len, const char *magic, ct_meta *m,
                      const char **why);
/* Writes count ciphertexts as a stream with the given metadata (atomically: a temporary file
 * renamed into place at the end; never replaces path unless overwrite). */
beaa_status write_cts(const char *path, int overwrite, const beaa_ckks_context *ctx,
                      const char *magic, uint32_t n_images, uint32_t c, uint32_t h,
                      uint32_t w, beaa_ckks_ciphertext *const *cts, size_t count);
/* Reads a ciphertext stream of the given kind for ctx; *cts gets meta->c*h*w ciphertexts.
 * On a metadata error *why (else NULL) says what is wrong in a sentence. */
beaa_status read_cts(const char *path, const beaa_ckks_context *ctx, const char *magic,
                     ct_meta *meta, beaa_ckks_ciphertext ***cts, size_t *count,
                     const char **why);
void free_cts(beaa_ckks_ciphertext **cts, size_t n);
/* Encrypts n images (normalized, x[i*c*h*w + e]) with the secret key and writes them as an
 * input file (CT_MAGIC, shape c x h x w), a few ciphertexts at a time (the file holds them, not
 * memory), atomically (never replacing path unless overwrite). */
beaa_status encrypt_to_file(const char *path, int overwrite, const beaa_ckks_secret_key *sk,
                            const double *x, uint32_t n, uint32_t c, uint32_t h, uint32_t w,
                            double in_scale);

/* A ciphertext stream read one ciphertext at a time, in any order: the header and metadata are
 * checked at open (as read_cts does), each ciphertext when it is read (framing, checksum,
 * parameter set). */
typedef struct ct_source {
    beaa_stream_reader *r;
    const beaa_ckks_context *ctx;
    ct_meta meta;
    size_t count;
    size_t reads, read_bytes;  /* ciphertexts read so far and their bytes on disk */
} ct_source;

beaa_status ct_source_open(const char *path, const beaa_ckks_context *ctx, const char *magic,
                           ct_source *src, const char **why);
/* Ciphertext i (< count) as a new ciphertext in *ct. */
beaa_status ct_source_get(ct_source *src, size_t i, beaa_ckks_ciphertext **ct);
void ct_source_close(ct_source *src);

#endif
