/* pnm.c - fuzz target: PGM (P5) / PPM (P6) images read by beaa_data_folder_load: the input is
 * class a's only image, class b holds one valid 2x2 image; loaded gray at 4x4 and RGB at 5x3. */
#include <stdio.h>
#include <sys/stat.h>
#include "fuzz/common/fuzz_util.h"
#include "train/data.h"

static char g_root[600];

static void one(const uint8_t *d, size_t n)
{
    if (!g_root[0]) {
        char p[700];
        snprintf(g_root, sizeof g_root, "%s/pnm", fuzz_dir());
        snprintf(p, sizeof p, "%s/a", g_root);
        FUZZ_ASSERT(mkdir(g_root, 0700) == 0 && mkdir(p, 0700) == 0, "pnm: folders");
        snprintf(p, sizeof p, "%s/b", g_root);
        FUZZ_ASSERT(mkdir(p, 0700) == 0, "pnm: folders");
        static const uint8_t ok[] = "P5\n2 2\n255\n\x01\x02\x03\x04";
        (void)fuzz_file("pnm/b/y.pgm", ok, sizeof ok - 1);
    }
    (void)fuzz_file("pnm/a/x.pgm", d, n);
    beaa_dataset ds;
    char err[512];
    for (int k = 0; k < 2; k++) {
        uint32_t c = k ? 3 : 1, h = k ? 5 : 4, w = k ? 3 : 4;
        if (beaa_data_folder_load(g_root, c, h, w, &ds, err, sizeof err) != BEAA_OK) continue;
        FUZZ_ASSERT(ds.n == 2 && ds.c == c && ds.h == h && ds.w == w && ds.num_classes == 2,
                    "pnm: shape");
        beaa_dataset_free(&ds);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    one(d, n);
    return 0;
}
