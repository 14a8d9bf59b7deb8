/* ciphertext.c - fuzz target: ciphertext files (size 2/3, seeded or full) of the fuzzing ring,
 * through both loaders (a new ciphertext, and into a reused one that held a seeded size-2
 * ciphertext). A ciphertext that loads is valid and serializes back unchanged, and the two
 * loaders agree. */
#include <stdlib.h>
#include <string.h>
#include "fuzz/common/fuzz_util.h"
#include "ckks/ckks.h"
#include "ckks/serialize.h"
#include "ckks/validate.h"

static beaa_ckks_ciphertext *g_reuse;

static void reuse_free(void) { beaa_ckks_ciphertext_free(g_reuse); }

static void one(const uint8_t *d, size_t n)
{
    const beaa_ckks_context *ctx = fuzz_ctx();
    if (!g_reuse) {
        FUZZ_ASSERT(beaa_ckks_ciphertext_new(ctx, 2, 0, &g_reuse) == BEAA_OK, "ciphertext: alloc");
        atexit(reuse_free);
    }
    beaa_ckks_ciphertext *ct = NULL;
    beaa_status st = beaa_ckks_ciphertext_deserialize(ctx, d, n, &ct);
    beaa_status st2 = beaa_ckks_ciphertext_deserialize_into(d, n, g_reuse);
    FUZZ_ASSERT((st == BEAA_OK) == (st2 == BEAA_OK), "ciphertext: the two loaders disagree");
    if (st != BEAA_OK) {
        FUZZ_ASSERT(ct == NULL, "ciphertext: output left on error");
        return;
    }
    FUZZ_ASSERT(beaa_ckks_ciphertext_validate(ct) == BEAA_OK, "ciphertext: loaded ciphertext invalid");
    FUZZ_ASSERT(ct->size == g_reuse->size && ct->level == g_reuse->level &&
                ct->has_seed == g_reuse->has_seed &&
                memcmp(ct->data, g_reuse->data, (size_t)ct->size * (ct->level + 1) *
                       beaa_ckks_context_n(ctx) * sizeof *ct->data) == 0,
                "ciphertext: the two loaders give different ciphertexts");
    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 0);
    FUZZ_ASSERT(beaa_ckks_ciphertext_serialize(ct, &w) == BEAA_OK, "ciphertext: re-serialize");
    FUZZ_ASSERT(fuzz_same_envelope(&w, d, n), "ciphertext: round trip differs");
    beaa_serial_writer_free(&w);
    beaa_ckks_ciphertext_free(ct);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    fuzz_run_envelope(d, n, one);
    return 0;
}
