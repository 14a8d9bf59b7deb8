/* fuzz_util.c - see fuzz_util.h. */
#include "fuzz/common/fuzz_util.h"
#include "ckks/ckks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

void fuzz_spec(beaa_ckks_params_spec *sp)
{
    const unsigned bits[3] = {45, 30, 30};
    if (beaa_ckks_params_spec_make(sp, 10, bits, 3, 2, 45) != BEAA_OK) fuzz_fail("fuzz ring spec");
    sp->allow_insecure = 1;
}

static beaa_ckks_context *g_ctx;

static void ctx_free(void) { beaa_ckks_context_free(g_ctx); }

const beaa_ckks_context *fuzz_ctx(void)
{
    if (!g_ctx) {
        beaa_ckks_params_spec sp;
        fuzz_spec(&sp);
        if (beaa_ckks_context_new(&sp, &g_ctx) != BEAA_OK) fuzz_fail("fuzz ring context");
        atexit(ctx_free);
    }
    return g_ctx;
}

void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz: invariant violated: %s\n", what);
    fflush(stderr);
    abort();
}

void fuzz_run_envelope(const uint8_t *d, size_t n, void (*one)(const uint8_t *, size_t))
{
    one(d, n);
    if (n < BEAA_SERIAL_HEADER_BYTES || memcmp(d, BEAA_SERIAL_MAGIC, 4) != 0 ||
        (d[4] | d[5] << 8 | d[6] << 16 | (uint32_t)d[7] << 24) != BEAA_SERIAL_VERSION)
        return;
    uint32_t type = d[8] | d[9] << 8 | d[10] << 16 | (uint32_t)d[11] << 24;
    uint32_t flags = d[12] | d[13] << 8 | d[14] << 16 | (uint32_t)d[15] << 24;
    size_t end = n >= BEAA_SERIAL_OVERHEAD ? n - BEAA_SERIAL_CHECKSUM_BYTES : n;
    beaa_serial_writer w;
    size_t mark;
    beaa_serial_writer_init(&w, 0);
    if (beaa_serial_envelope_begin(&w, type, flags, d + 16, &mark) == BEAA_OK &&
        beaa_serial_write_bytes(&w, d + BEAA_SERIAL_HEADER_BYTES, end - BEAA_SERIAL_HEADER_BYTES) == BEAA_OK &&
        beaa_serial_envelope_end(&w, mark) == BEAA_OK)
        one(w.buf, w.len);
    beaa_serial_writer_free(&w);
}

void fuzz_run_envelopes(const uint8_t *d, size_t n, void (*one)(const uint8_t *, size_t))
{
    one(d, n);
    uint8_t *c = malloc(n ? n : 1);
    if (!c) return;
    memcpy(c, d, n);
    size_t off = 0;
    int changed = 0;
    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 0);
    while (n - off >= BEAA_SERIAL_OVERHEAD) {
        beaa_serial_info info;
        if (beaa_serial_header_parse(c + off, n - off, &info) != BEAA_OK ||
            info.payload_len > n - off - BEAA_SERIAL_OVERHEAD)
            break;
        size_t plen = (size_t)info.payload_len, mark;
        beaa_serial_writer_reset(&w);
        if (beaa_serial_envelope_begin(&w, info.type, info.flags, info.fingerprint, &mark) != BEAA_OK ||
            beaa_serial_write_bytes(&w, c + off + BEAA_SERIAL_HEADER_BYTES, plen) != BEAA_OK ||
            beaa_serial_envelope_end(&w, mark) != BEAA_OK)
            break;
        memcpy(c + off, w.buf, w.len);
        changed = 1;
        off += w.len;
    }
    beaa_serial_writer_free(&w);
    if (changed) one(c, n);
    free(c);
}

void fuzz_run_model(const uint8_t *d, size_t n, void (*one)(const uint8_t *, size_t))
{
    one(d, n);
    if (n < 24 || memcmp(d, "BEAAMDL", 8) != 0) return;
    size_t body = n >= 28 ? n - 4 : n; /* drop the old CRC */
    uint8_t *b = malloc(body + 4);
    if (!b) return;
    memcpy(b, d, body);
    uint64_t plen = body - 24;
    for (int i = 0; i < 8; i++) b[16 + i] = (uint8_t)(plen >> (8 * i));
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), b, (uInt)body);
    for (int i = 0; i < 4; i++) b[body + (size_t)i] = (uint8_t)(crc >> (8 * i));
    one(b, body + 4);
    free(b);
}

int fuzz_same_envelope(const beaa_serial_writer *w, const uint8_t *d, size_t n)
{
    return w->err == BEAA_OK && w->len <= n && memcmp(w->buf, d, w->len) == 0;
}

static char g_dir[256];
static char g_path[512];

static void dir_remove(void)
{
    char cmd[400];
    if (!g_dir[0]) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "fuzz: could not remove %s\n", g_dir);
}

const char *fuzz_dir(void)
{
    if (!g_dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(g_dir, sizeof g_dir, "%s/beaa-fuzz-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(g_dir)) fuzz_fail("cannot make a temporary folder");
        atexit(dir_remove);
    }
    return g_dir;
}

const char *fuzz_file(const char *name, const uint8_t *d, size_t n)
{
    snprintf(g_path, sizeof g_path, "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(g_path, "wb");
    if (!f || (n && fwrite(d, 1, n, f) != n) || fclose(f) != 0) fuzz_fail("cannot write a temporary file");
    return g_path;
}
