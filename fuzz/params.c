/* params.c - fuzz target: parameter-set files (beaa_ckks_params_deserialize), with and without
 * the insecure opt-out. A set that loads rebuilds a context that passes the spec check and
 * serializes back to the same bytes. */
#include <string.h>
#include "fuzz/common/fuzz_util.h"
#include "ckks/ckks.h"
#include "ckks/serialize.h"

static void one(const uint8_t *d, size_t n)
{
    for (int insecure = 0; insecure <= 1; insecure++) {
        beaa_ckks_context *ctx = NULL;
        beaa_status st = beaa_ckks_params_deserialize(d, n, insecure, &ctx);
        if (st != BEAA_OK) {
            FUZZ_ASSERT(ctx == NULL, "params: output left on error");
            continue;
        }
        beaa_ckks_params_spec sp = *beaa_ckks_context_spec(ctx);
        sp.allow_insecure = insecure;
        FUZZ_ASSERT(beaa_ckks_params_spec_check(&sp) == BEAA_OK, "params: loaded set fails the spec check");
        beaa_serial_writer w;
        beaa_serial_writer_init(&w, 0);
        FUZZ_ASSERT(beaa_ckks_params_serialize(ctx, &w) == BEAA_OK, "params: re-serialize");
        FUZZ_ASSERT(fuzz_same_envelope(&w, d, n), "params: round trip differs");
        beaa_serial_writer_free(&w);
        beaa_ckks_context_free(ctx);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    fuzz_run_envelope(d, n, one);
    return 0;
}
