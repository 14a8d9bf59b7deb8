/* idx.c - fuzz target: IDX files, gzip-compressed or plain (train/data.h beaa_data_idx_read, the
 * reader of beaa-train and of the beaa tool), read as images and as labels, whole and capped at
 * 2 items. What loads holds exactly what the header announced. */
#include <stdlib.h>
#include "fuzz/common/fuzz_util.h"
#include "lib/mem.h"
#include "train/data.h"

static void one(const uint8_t *d, size_t n)
{
    const char *path = fuzz_file("data.idx", d, n);
    char err[512];
    for (int k = 0; k < 4; k++) {
        uint32_t ndim = (k & 1) ? 1 : 3, dims[3] = {0, 1, 1};
        size_t max_items = k < 2 ? 0 : 2, items = 0;
        uint8_t *data = NULL;
        if (beaa_data_idx_read(path, ndim, max_items, max_items == 0, &data, &items, dims, err,
                               sizeof err) != BEAA_OK) {
            FUZZ_ASSERT(data == NULL, "idx: output left on error");
            continue;
        }
        FUZZ_ASSERT(items <= dims[0] && (!max_items || items <= max_items), "idx: item count");
        size_t bytes = items * (ndim == 3 ? (size_t)dims[1] * dims[2] : 1);
        volatile uint8_t sum = 0; /* touch every byte the caller may read (ASan checks it) */
        for (size_t i = 0; i <= bytes; i++) sum = (uint8_t)(sum + data[i]);
        (void)sum;
        beaa_free_secret(data, bytes + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    one(d, n);
    return 0;
}
