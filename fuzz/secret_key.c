/* secret_key.c - fuzz target: secret-key files of the fuzzing ring. A key that loads is valid
 * (coefficients in {-1,0,1}, reduced limbs) and serializes back to the same bytes. */
#include "fuzz/common/fuzz_util.h"
#include "ckks/ckks.h"
#include "ckks/serialize.h"
#include "ckks/validate.h"

static void one(const uint8_t *d, size_t n)
{
    beaa_ckks_secret_key *sk = NULL;
    if (beaa_ckks_secret_key_deserialize(fuzz_ctx(), d, n, &sk) != BEAA_OK) {
        FUZZ_ASSERT(sk == NULL, "secret key: output left on error");
        return;
    }
    FUZZ_ASSERT(beaa_ckks_secret_key_validate(sk) == BEAA_OK, "secret key: loaded key invalid");
    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 0);
    FUZZ_ASSERT(beaa_ckks_secret_key_serialize(sk, &w) == BEAA_OK, "secret key: re-serialize");
    FUZZ_ASSERT(fuzz_same_envelope(&w, d, n), "secret key: round trip differs");
    beaa_serial_writer_free_secret(&w);
    beaa_ckks_secret_key_free(sk);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    fuzz_run_envelope(d, n, one);
    return 0;
}
