/* cli_logits.c - fuzz target: the beaa tool's file of encrypted logits (a ciphertext stream with
 * "BEAANNL1" metadata: image count, classes x 1 x 1), read by its read_cts as `beaa decrypt` does,
 * for the fuzzing ring. What loads has c*h*w valid ciphertexts and at most N/2 images. */
#include "fuzz/common/cli.h"
#include "fuzz/common/fuzz_util.h"
#include "ckks/validate.h"

static void one(const uint8_t *d, size_t n)
{
    const beaa_ckks_context *ctx = fuzz_ctx();
    const char *path = fuzz_file("logits.ct", d, n);
    ct_meta meta;
    beaa_ckks_ciphertext **cts = NULL;
    size_t count = 0;
    const char *why = NULL;
    if (read_cts(path, ctx, LG_MAGIC, &meta, &cts, &count, &why) != BEAA_OK) {
        FUZZ_ASSERT(cts == NULL, "cli logits: output left on error");
        return;
    }
    FUZZ_ASSERT(count == (size_t)meta.c * meta.h * meta.w && meta.n_images >= 1 &&
                meta.n_images <= beaa_ckks_context_slots(ctx), "cli logits: shape");
    for (size_t i = 0; i < count; i++)
        FUZZ_ASSERT(beaa_ckks_ciphertext_validate(cts[i]) == BEAA_OK, "cli logits: invalid ciphertext");
    free_cts(cts, count);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    fuzz_run_envelopes(d, n, one);
    return 0;
}
