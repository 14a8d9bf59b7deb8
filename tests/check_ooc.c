/* check_ooc.c - `beaa infer` out of core, end to end on a small insecure ring (N = 2^12): the
 * plan's numbers (--dry-run), a memory limit that forces spilling gives a logits file byte for
 * byte equal to the run that fits, with the measured peak memory under the limit and the scratch
 * directory emptied; a limit below the smallest possible is refused before any work; a scratch
 * limit below what the plan keeps there is refused; a scratch disk that fails mid-run (a file
 * size limit, RLIMIT_FSIZE; and a tiny tmpfs where mounting one is allowed) stops the pass with
 * a clear error, removes the scratch files and writes no logits. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tests/test_util.h"
#include "tests/tool_util.h"

#define BEAA "./bin/beaa"
#define SMALL " --log-n 12 --insecure-small-ring"
#define HW 16

static char model[300], keys[300], sk[300], ct[300], images[300], labels[300];

static void setup(void)
{
    tu_setup("beaa_ooc");
    snprintf(model, sizeof model, "%s/m.model", tu_dir);
    snprintf(keys, sizeof keys, "%s/keys", tu_dir);
    snprintf(sk, sizeof sk, "%s/sk", tu_dir);
    snprintf(ct, sizeof ct, "%s/ct", tu_dir);
    snprintf(images, sizeof images, "%s/img.gz", tu_dir);
    snprintf(labels, sizeof labels, "%s/lab.gz", tu_dir);
    tu_write_idx(images, labels, 12, HW, HW, 99);
    tu_write_model(model, HW);
    char out[4096];
    ck_assert_msg(access(BEAA, X_OK) == 0, "%s not built (make tools)", BEAA);
    ck_assert_msg(tu_sh(out, sizeof out, BEAA " keygen --model %s --batch 16" SMALL " --secret %s --keys %s",
                        model, sk, keys) == 0, "%s", out);
    ck_assert_msg(tu_sh(out, sizeof out, BEAA " encrypt --model %s --secret %s" SMALL " --images %s --out %s",
                        model, sk, images, ct) == 0, "%s", out);
}

static void teardown(void) { tu_teardown(); }

START_TEST(test_spill_identical)
{
    char out[8192], lg[320], lg2[320], scr[320];
    snprintf(lg, sizeof lg, "%s/lg", tu_dir);
    snprintf(lg2, sizeof lg2, "%s/lg_spill", tu_dir);
    snprintf(scr, sizeof scr, "%s/scratch", tu_dir);
    ck_assert_int_eq(tu_sh(out, sizeof out, "mkdir -p %s", scr), 0);
    /* the plan: lazy peak above the smallest limit with spilling */
    ck_assert_msg(tu_sh(out, sizeof out, BEAA " infer --model %s --keys %s" SMALL " --in %s --out %s --dry-run",
                        model, keys, ct, lg) == 0, "%s", out);
    double lazy = tu_number_after(out, "without spilling "), least = tu_number_after(out, "smallest limit with spilling ");
    ck_assert_msg(lazy > 0 && least > 0 && least < lazy, "plan: %s", out);
    ck_assert_int_eq(tu_fsize(lg), -1); /* a dry run writes nothing */
    /* the run that fits (the default limit is 3/4 of the machine) */
    ck_assert_msg(tu_sh(out, sizeof out, BEAA " infer --model %s --keys %s" SMALL " --in %s --out %s",
                        model, keys, ct, lg) == 0, "%s", out);
    ck_assert_msg(strstr(out, "fits the limit without spilling") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "spilled 0 ") != NULL, "%s", out);
    /* a limit between the two: spills, same bytes, under the limit */
    int limit = (int)((lazy + least) / 2);
    ck_assert_msg(tu_sh(out, sizeof out, BEAA " infer --model %s --keys %s" SMALL " --in %s --out %s"
                        " --mem-limit %dM --scratch %s --threads 2", model, keys, ct, lg2, limit, scr) == 0,
                  "%s", out);
    ck_assert_msg(tu_number_after(out, "spilling ") > 0, "no spill planned: %s", out);
    double spilled = tu_number_after(out, "spilled ");
    ck_assert_msg(spilled > 0, "nothing spilled: %s", out);
    double peak = tu_number_after(out, "peak memory (ru_maxrss) ");
    ck_assert_msg(peak > 0 && peak <= limit, "peak %g MiB above the limit %d MiB: %s", peak, limit, out);
    ck_assert_msg(tu_same_file(lg, lg2), "logits differ with spilling");
    ck_assert_int_eq(tu_dir_entries(scr), 0);
    /* below the smallest limit: refused before any work, nothing written */
    ck_assert_int_ne(tu_sh(out, sizeof out, BEAA " infer --model %s --keys %s" SMALL " --in %s --out %s/lg3"
                           " --mem-limit %dM --scratch %s", model, keys, ct, tu_dir, (int)(least / 3), scr), 0);
    ck_assert_msg(strstr(out, "below the smallest limit") != NULL, "%s", out);
    /* bad sizes */
    ck_assert_int_ne(tu_sh(out, sizeof out, BEAA " infer --model %s --keys %s" SMALL " --in %s --out %s/lg3"
                           " --mem-limit 12Q", model, keys, ct, tu_dir), 0);
    ck_assert_msg(strstr(out, "not a size") != NULL, "%s", out);
    /* the output exists: refused before the pass (no --overwrite) */
    ck_assert_int_ne(tu_sh(out, sizeof out, BEAA " infer --model %s --keys %s" SMALL " --in %s --out %s",
                           model, keys, ct, lg), 0);
    ck_assert_msg(strstr(out, "--overwrite") != NULL, "%s", out);
    char p[400];
    snprintf(p, sizeof p, "%s/lg3", tu_dir);
    ck_assert_int_eq(tu_fsize(p), -1);
}
END_TEST

START_TEST(test_scratch_full)
{
    char out[8192], lg[320], scr[320];
    snprintf(lg, sizeof lg, "%s/lg", tu_dir);
    snprintf(scr, sizeof scr, "%s/scratch", tu_dir);
    ck_assert_int_eq(tu_sh(out, sizeof out, "mkdir -p %s", scr), 0);
    ck_assert_msg(tu_sh(out, sizeof out, BEAA " infer --model %s --keys %s" SMALL " --in %s --out %s --dry-run",
                        model, keys, ct, lg) == 0, "%s", out);
    double lazy = tu_number_after(out, "without spilling "), least = tu_number_after(out, "smallest limit with spilling ");
    int limit = (int)((lazy + least) / 2);
    /* a scratch limit below what the plan keeps there: refused before the pass */
    ck_assert_int_ne(tu_sh(out, sizeof out, BEAA " infer --model %s --keys %s" SMALL " --in %s --out %s"
                           " --mem-limit %dM --scratch %s --scratch-limit 100K", model, keys, ct, lg, limit, scr), 0);
    ck_assert_msg(strstr(out, "--scratch-limit") != NULL, "%s", out);
    ck_assert_int_eq(tu_dir_entries(scr), 0);
    /* writes that fail mid-run: every file may hold at most 100 KiB (RLIMIT_FSIZE, in 512-byte
     * blocks for sh), less than one spilled ciphertext */
    ck_assert_int_ne(tu_sh(out, sizeof out, "ulimit -f 200; " BEAA " infer --model %s --keys %s" SMALL
                           " --in %s --out %s --mem-limit %dM --scratch %s", model, keys, ct, lg, limit, scr), 0);
    ck_assert_msg(strstr(out, "File too large") != NULL && strstr(out, "scratch removed") != NULL, "%s", out);
    ck_assert_int_eq(tu_dir_entries(scr), 0);
    ck_assert_int_eq(tu_fsize(lg), -1);
    /* a real small file system, where this machine lets us mount one (root, no container) */
    char mnt[320];
    snprintf(mnt, sizeof mnt, "%s/tmpfs", tu_dir);
    ck_assert_int_eq(tu_sh(out, sizeof out, "mkdir -p %s", mnt), 0);
    if (tu_sh(out, sizeof out, "mount -t tmpfs -o size=256k tmpfs %s", mnt) == 0) {
        int rc = tu_sh(out, sizeof out, BEAA " infer --model %s --keys %s" SMALL " --in %s --out %s"
                       " --mem-limit %dM --scratch %s", model, keys, ct, lg, limit, mnt);
        int entries = tu_dir_entries(mnt);
        char o2[256];
        ck_assert_int_eq(tu_sh(o2, sizeof o2, "umount %s", mnt), 0);
        ck_assert_int_ne(rc, 0);
        ck_assert_msg(strstr(out, "free") != NULL, "%s", out);
        ck_assert_int_eq(entries, 0);
        ck_assert_int_eq(tu_fsize(lg), -1);
    } else {
        fprintf(stderr, "check_ooc: tmpfs cannot be mounted here; the full disk was checked with a "
                        "file size limit only\n");
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ooc");
    TCase *tc = tcase_create("ooc");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_spill_identical);
    tcase_add_test(tc, test_scratch_full);
    suite_add_tcase(s, tc);
    return test_run_suite(s, 0);
}
