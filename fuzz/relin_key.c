/* relin_key.c - fuzz target: relinearization-key files (seeded and full) of the fuzzing ring.
 * A key that loads is valid and serializes back, in its stored form, to the same bytes. */
#include "fuzz/common/fuzz_util.h"
#include "ckks/ckks.h"
#include "ckks/serialize.h"
#include "ckks/validate.h"

static void one(const uint8_t *d, size_t n)
{
    beaa_ckks_relin_key *rk = NULL;
    if (beaa_ckks_relin_key_deserialize(fuzz_ctx(), d, n, &rk) != BEAA_OK) {
        FUZZ_ASSERT(rk == NULL, "relin key: output left on error");
        return;
    }
    FUZZ_ASSERT(beaa_ckks_relin_key_validate(rk) == BEAA_OK, "relin key: loaded key invalid");
    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 0);
    FUZZ_ASSERT(beaa_ckks_relin_key_serialize(rk, (d[12] & 1) ? 0 : 1, &w) == BEAA_OK,
                "relin key: re-serialize");
    FUZZ_ASSERT(fuzz_same_envelope(&w, d, n), "relin key: round trip differs");
    beaa_serial_writer_free(&w);
    beaa_ckks_relin_key_free(rk);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    fuzz_run_envelope(d, n, one);
    return 0;
}
