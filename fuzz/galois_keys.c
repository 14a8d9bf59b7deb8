/* galois_keys.c - fuzz target: Galois-key files (element list + one switching key each) of the
 * fuzzing ring. Keys that load are valid and serialize back to the same bytes. */
#include "fuzz/common/fuzz_util.h"
#include "ckks/ckks.h"
#include "ckks/serialize.h"
#include "ckks/validate.h"

static void one(const uint8_t *d, size_t n)
{
    beaa_ckks_galois_keys *gk = NULL;
    if (beaa_ckks_galois_keys_deserialize(fuzz_ctx(), d, n, &gk) != BEAA_OK) {
        FUZZ_ASSERT(gk == NULL, "galois keys: output left on error");
        return;
    }
    FUZZ_ASSERT(beaa_ckks_galois_keys_validate(gk) == BEAA_OK, "galois keys: loaded keys invalid");
    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 0);
    FUZZ_ASSERT(beaa_ckks_galois_keys_serialize(gk, (d[12] & 1) ? 0 : 1, &w) == BEAA_OK,
                "galois keys: re-serialize");
    FUZZ_ASSERT(fuzz_same_envelope(&w, d, n), "galois keys: round trip differs");
    beaa_serial_writer_free(&w);
    beaa_ckks_galois_keys_free(gk);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    fuzz_run_envelope(d, n, one);
    return 0;
}
