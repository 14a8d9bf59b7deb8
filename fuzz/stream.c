/* stream.c - fuzz target: a ciphertext stream file (lib/stream: header envelope, then count
 * ciphertext envelopes) of the fuzzing ring, read object by object into one reused ciphertext,
 * then again with seek and skip. Every ciphertext that loads is valid. */
#include <stdlib.h>
#include "fuzz/common/fuzz_util.h"
#include "lib/stream.h"
#include "ckks/ckks.h"
#include "ckks/serialize.h"
#include "ckks/validate.h"

static beaa_ckks_ciphertext *g_ct;

static void ct_free(void) { beaa_ckks_ciphertext_free(g_ct); }

static void one(const uint8_t *d, size_t n)
{
    const beaa_ckks_context *ctx = fuzz_ctx();
    if (!g_ct) {
        FUZZ_ASSERT(beaa_ckks_ciphertext_new(ctx, 2, 0, &g_ct) == BEAA_OK, "stream: alloc");
        atexit(ct_free);
    }
    const char *path = fuzz_file("stream.bin", d, n);
    beaa_stream_reader *r = NULL;
    if (beaa_stream_reader_open(path, BEAA_OBJ_CIPHERTEXT, beaa_ckks_context_fingerprint(ctx),
                                beaa_ckks_ciphertext_max_bytes(ctx), &r) != BEAA_OK) {
        FUZZ_ASSERT(r == NULL, "stream: reader left on error");
        return;
    }
    uint64_t count = beaa_stream_reader_count(r);
    FUZZ_ASSERT(count <= n / BEAA_SERIAL_OVERHEAD, "stream: count beyond what the file can hold");
    size_t ml = 0;
    (void)beaa_stream_reader_meta(r, &ml);
    FUZZ_ASSERT(ml <= BEAA_STREAM_MAX_META, "stream: metadata above its bound");
    beaa_status st = BEAA_OK;
    for (uint64_t i = 0; i < count && st == BEAA_OK; i++) {
        const uint8_t *obj;
        size_t len;
        st = beaa_stream_reader_next(r, &obj, &len);
        if (st == BEAA_OK) {
            FUZZ_ASSERT(len <= beaa_ckks_ciphertext_max_bytes(ctx), "stream: object above its bound");
            if (beaa_ckks_ciphertext_deserialize_into(obj, len, g_ct) == BEAA_OK)
                FUZZ_ASSERT(beaa_ckks_ciphertext_validate(g_ct) == BEAA_OK, "stream: loaded ciphertext invalid");
        }
    }
    /* random access: back to the start, skip one, read the next, jump to the end */
    if (beaa_stream_reader_seek(r, 0) == BEAA_OK && beaa_stream_reader_skip(r) == BEAA_OK) {
        const uint8_t *obj;
        size_t len;
        if (beaa_stream_reader_next(r, &obj, &len) == BEAA_OK)
            FUZZ_ASSERT(len <= beaa_ckks_ciphertext_max_bytes(ctx), "stream: object above its bound");
    }
    /* the end: seek reads the headers in between; there, next has nothing more to give */
    if (beaa_stream_reader_seek(r, count) == BEAA_OK) {
        const uint8_t *obj;
        size_t len;
        FUZZ_ASSERT(beaa_stream_reader_next(r, &obj, &len) != BEAA_OK, "stream: object past the end");
    }
    beaa_stream_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    fuzz_run_envelopes(d, n, one);
    return 0;
}
