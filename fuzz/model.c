/* model.c - fuzz target: model files (nn/model.h: header, payload, CRC-32). A model that loads
 * passes beaa_model_check and saves back to the same bytes. */
#include <stdlib.h>
#include <string.h>
#include "fuzz/common/fuzz_util.h"
#include "nn/model.h"

static void one(const uint8_t *d, size_t n)
{
    beaa_model *m = NULL;
    if (beaa_model_load_mem(d, n, &m) != BEAA_OK) {
        FUZZ_ASSERT(m == NULL, "model: output left on error");
        return;
    }
    FUZZ_ASSERT(beaa_model_check(m) == BEAA_OK, "model: loaded model fails its check");
    uint8_t *b = NULL;
    size_t bl = 0;
    FUZZ_ASSERT(beaa_model_save_mem(m, &b, &bl) == BEAA_OK, "model: save");
    FUZZ_ASSERT(bl == n && memcmp(b, d, n) == 0, "model: round trip differs");
    free(b);
    beaa_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    fuzz_run_model(d, n, one);
    return 0;
}
