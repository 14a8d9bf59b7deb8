/* public_key.c - fuzz target: public-key files (seeded and full) of the fuzzing ring. A key
 * that loads is valid and serializes back, in the form it was stored in, to the same bytes. */
#include "fuzz/common/fuzz_util.h"
#include "ckks/ckks.h"
#include "ckks/serialize.h"
#include "ckks/validate.h"

static void one(const uint8_t *d, size_t n)
{
    beaa_ckks_public_key *pk = NULL;
    if (beaa_ckks_public_key_deserialize(fuzz_ctx(), d, n, &pk) != BEAA_OK) {
        FUZZ_ASSERT(pk == NULL, "public key: output left on error");
        return;
    }
    FUZZ_ASSERT(beaa_ckks_public_key_validate(pk) == BEAA_OK, "public key: loaded key invalid");
    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 0);
    FUZZ_ASSERT(beaa_ckks_public_key_serialize(pk, (d[12] & 1) ? 0 : 1, &w) == BEAA_OK,
                "public key: re-serialize");
    FUZZ_ASSERT(fuzz_same_envelope(&w, d, n), "public key: round trip differs");
    beaa_serial_writer_free(&w);
    beaa_ckks_public_key_free(pk);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    fuzz_run_envelope(d, n, one);
    return 0;
}
