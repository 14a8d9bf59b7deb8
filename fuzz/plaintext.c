/* plaintext.c - fuzz target: plaintext files of the fuzzing ring. A plaintext that loads is
 * valid (level, NTT flag, scale in range, reduced residues) and serializes back unchanged. */
#include "fuzz/common/fuzz_util.h"
#include "ckks/ckks.h"
#include "ckks/serialize.h"
#include "ckks/validate.h"

static void one(const uint8_t *d, size_t n)
{
    beaa_ckks_plaintext *pt = NULL;
    if (beaa_ckks_plaintext_deserialize(fuzz_ctx(), d, n, &pt) != BEAA_OK) {
        FUZZ_ASSERT(pt == NULL, "plaintext: output left on error");
        return;
    }
    FUZZ_ASSERT(beaa_ckks_plaintext_validate(pt) == BEAA_OK, "plaintext: loaded plaintext invalid");
    beaa_serial_writer w;
    beaa_serial_writer_init(&w, 0);
    FUZZ_ASSERT(beaa_ckks_plaintext_serialize(pt, &w) == BEAA_OK, "plaintext: re-serialize");
    FUZZ_ASSERT(fuzz_same_envelope(&w, d, n), "plaintext: round trip differs");
    beaa_serial_writer_free_secret(&w);
    beaa_ckks_plaintext_free(pt);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    fuzz_run_envelope(d, n, one);
    return 0;
}
