/* cifar.c - fuzz target: a CIFAR-10 binary batch (records of 1 label + 3072 pixels) read by
 * beaa_data_cifar10_load. What loads has one record per 3073 bytes and labels in 0..9. */
#include <stdio.h>
#include "fuzz/common/fuzz_util.h"
#include "train/data.h"

static void one(const uint8_t *d, size_t n)
{
    (void)fuzz_file("test_batch.bin", d, n);
    beaa_dataset ds;
    char err[512];
    if (beaa_data_cifar10_load(fuzz_dir(), 0, &ds, err, sizeof err) != BEAA_OK) return;
    FUZZ_ASSERT((size_t)ds.n * 3073 == n && ds.c == 3 && ds.h == 32 && ds.w == 32, "cifar: shape");
    for (uint32_t i = 0; i < ds.n; i++) FUZZ_ASSERT(ds.labels[i] <= 9, "cifar: label");
    beaa_dataset_free(&ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    one(d, n);
    return 0;
}
