/* check_mpi.c - `make test-mpi`: bin/beaa-mpi under mpirun on a small insecure ring
 * (N = 2^12), against `beaa infer` in one process: the logits files byte for byte with 1, 2 and
 * 3 ranks (--oversubscribe: more ranks than cores) and with an out-of-core run whose memory
 * limit forces spilling; two batches over three ranks (two teams); a rank killed mid-run stops
 * the job within seconds with a clear message and no logits file (nor temporary file) left; a
 * bad input stops every rank before the pass; an existing output is not replaced.
 * MPIRUN names the launcher (default mpirun); as root it gets --allow-run-as-root. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "tests/test_util.h"
#include "tests/tool_util.h"

#define BEAA "./bin/beaa"
#define MPI_TOOL "./bin/beaa-mpi"
#define SMALL " --log-n 12 --insecure-small-ring"
#define HW 16

static char model[300], keys[300], sk[300], ct[300], ct2[300], images[300], labels[300];
static char mpirun[600];

static void setup(void)
{
    tu_setup("beaa_mpi");
    const char *m = getenv("MPIRUN");
    snprintf(mpirun, sizeof mpirun, "%s --oversubscribe --bind-to none%s", m && *m ? m : "mpirun",
             geteuid() == 0 ? " --allow-run-as-root" : "");
    snprintf(model, sizeof model, "%s/m.model", tu_dir);
    snprintf(keys, sizeof keys, "%s/keys", tu_dir);
    snprintf(sk, sizeof sk, "%s/sk", tu_dir);
    snprintf(ct, sizeof ct, "%s/ct", tu_dir);
    snprintf(ct2, sizeof ct2, "%s/ct2", tu_dir);
    snprintf(images, sizeof images, "%s/img.gz", tu_dir);
    snprintf(labels, sizeof labels, "%s/lab.gz", tu_dir);
    tu_write_idx(images, labels, 12, HW, HW, 7);
    tu_write_model(model, HW);
    char out[4096];
    ck_assert_msg(access(BEAA, X_OK) == 0 && access(MPI_TOOL, X_OK) == 0,
                  "%s or %s not built (make test-mpi builds both)", BEAA, MPI_TOOL);
    ck_assert_msg(tu_sh(out, sizeof out, BEAA " keygen --model %s --batch 16" SMALL " --secret %s --keys %s",
                        model, sk, keys) == 0, "%s", out);
    ck_assert_msg(tu_sh(out, sizeof out, BEAA " encrypt --model %s --secret %s" SMALL " --images %s --out %s",
                        model, sk, images, ct) == 0, "%s", out);
    ck_assert_msg(tu_sh(out, sizeof out, BEAA " encrypt --model %s --secret %s" SMALL " --images %s --count 5"
                        " --out %s", model, sk, images, ct2) == 0, "%s", out);
}

static void teardown(void) { tu_teardown(); }

START_TEST(test_ranks_identical)
{
    char out[16384], ref[320], p[320];
    snprintf(ref, sizeof ref, "%s/lg_ref", tu_dir);
    ck_assert_msg(tu_sh(out, sizeof out, BEAA " infer --model %s --keys %s" SMALL " --in %s --out %s",
                        model, keys, ct, ref) == 0, "%s", out);
    for (int r = 1; r <= 3; r++) {
        snprintf(p, sizeof p, "%s/lg_np%d", tu_dir, r);
        ck_assert_msg(tu_sh(out, sizeof out, "timeout 300 %s -np %d " MPI_TOOL " infer --model %s --keys %s"
                            " --insecure-small-ring --in %s --out %s --threads 1 --stats %s/stats%d.csv",
                            mpirun, r, model, keys, ct, p, tu_dir, r) == 0, "%d ranks: %s", r, out);
        ck_assert_msg(tu_same_file(ref, p), "logits of %d ranks differ from one process", r);
        /* halos really travelled between ranks (and never with one rank): stage 2's outputs
         * feed a 3x3 convolution (stage 1's feed the fire's 1x1 squeeze, which needs no halo
         * when the bands line up) */
        double sent = tu_number_after(out, "stage 2 outputs sent to other ranks: ");
        ck_assert_msg(r == 1 ? sent == 0 : sent > 0, "%d ranks: %s", r, out);
        ck_assert_msg(strstr(out, "peak memory (ru_maxrss)") != NULL, "%s", out);
    }
    /* the out-of-core run: a memory limit between the smallest and the lazy peak */
    ck_assert_msg(tu_sh(out, sizeof out, BEAA " infer --model %s --keys %s" SMALL " --in %s --out %s/x --dry-run",
                        model, keys, ct, tu_dir) == 0, "%s", out);
    double lazy = tu_number_after(out, "without spilling "), least = tu_number_after(out, "smallest limit with spilling ");
    ck_assert(lazy > least && least > 0);
    snprintf(p, sizeof p, "%s/lg_ooc", tu_dir);
    ck_assert_msg(tu_sh(out, sizeof out, BEAA " infer --model %s --keys %s" SMALL " --in %s --out %s"
                        " --mem-limit %dM --scratch %s", model, keys, ct, p, (int)((lazy + least) / 2), tu_dir) == 0,
                  "%s", out);
    ck_assert_msg(tu_number_after(out, "spilled ") > 0, "%s", out);
    ck_assert_msg(tu_same_file(ref, p), "out-of-core logits differ");
    /* an existing output is kept */
    long sz = tu_fsize(p);
    ck_assert_int_ne(tu_sh(out, sizeof out, "timeout 300 %s -np 2 " MPI_TOOL " infer --model %s --keys %s"
                           " --insecure-small-ring --in %s --out %s --threads 1", mpirun, model, keys, ct, p), 0);
    ck_assert_msg(strstr(out, "--overwrite") != NULL, "%s", out);
    ck_assert_int_eq(tu_fsize(p), sz);
}
END_TEST

START_TEST(test_batches)
{
    char out[16384], r1[320], r2[320], m1[320], m2[320];
    snprintf(r1, sizeof r1, "%s/r1", tu_dir);
    snprintf(r2, sizeof r2, "%s/r2", tu_dir);
    snprintf(m1, sizeof m1, "%s/m1", tu_dir);
    snprintf(m2, sizeof m2, "%s/m2", tu_dir);
    ck_assert_msg(tu_sh(out, sizeof out, BEAA " infer --model %s --keys %s" SMALL " --in %s --out %s",
                        model, keys, ct, r1) == 0, "%s", out);
    ck_assert_msg(tu_sh(out, sizeof out, BEAA " infer --model %s --keys %s" SMALL " --in %s --out %s",
                        model, keys, ct2, r2) == 0, "%s", out);
    /* two batches, three ranks: team 0 (ranks 0, 2) splits batch 0, rank 1 runs batch 1 */
    ck_assert_msg(tu_sh(out, sizeof out, "timeout 300 %s -np 3 " MPI_TOOL " infer --model %s --keys %s"
                        " --insecure-small-ring --in %s --out %s --in %s --out %s --threads 1",
                        mpirun, model, keys, ct, m1, ct2, m2) == 0, "%s", out);
    ck_assert_msg(strstr(out, "2 batches in 2 teams") != NULL, "%s", out);
    ck_assert(tu_same_file(r1, m1));
    ck_assert(tu_same_file(r2, m2));
    ck_assert(!tu_same_file(m1, m2));
    /* --in without --out: usage, nothing run */
    ck_assert_int_ne(tu_sh(out, sizeof out, "timeout 300 %s -np 2 " MPI_TOOL " infer --model %s --keys %s"
                           " --insecure-small-ring --in %s --in %s --out %s/m3", mpirun, model, keys, ct, ct2, tu_dir), 0);
    ck_assert_msg(strstr(out, "as many --out as --in") != NULL, "%s", out);
}
END_TEST

START_TEST(test_faults)
{
    char out[16384], p[400], od[320];
    snprintf(od, sizeof od, "%s/outdir", tu_dir);
    snprintf(p, sizeof p, "%s/lg", od);
    ck_assert_int_eq(tu_sh(out, sizeof out, "mkdir -p %s", od), 0);
    /* rank 1 dies (SIGKILL) after 6 groups: every rank stops, quickly, and says so */
    time_t t0 = time(NULL);
    int rc = tu_sh(out, sizeof out, "BEAA_MPI_TEST_KILL=1:6 timeout 120 %s -np 2 " MPI_TOOL " infer --model %s"
                   " --keys %s --insecure-small-ring --in %s --out %s --threads 1", mpirun, model, keys, ct, p);
    double took = difftime(time(NULL), t0);
    ck_assert_int_ne(rc, 0);
    ck_assert_int_ne(rc, 124); /* not the timeout: mpirun ended the job itself */
    ck_assert_msg(took < 60, "the job took %g s to stop", took);
    ck_assert_msg(strstr(out, "killing myself after 6 groups") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "rank 0: stopped by signal") != NULL || strstr(out, "rank 0: ") != NULL ||
                  strstr(out, "signal 9") != NULL, "%s", out);
    ck_assert_int_eq(tu_dir_entries(od), 0); /* no logits, no temporary file */
    /* a truncated ciphertext file: every rank refuses it before the pass */
    char bad[320];
    snprintf(bad, sizeof bad, "%s/ct_bad", tu_dir);
    ck_assert_int_eq(tu_sh(out, sizeof out, "head -c %ld %s > %s", tu_fsize(ct) - 5000, ct, bad), 0);
    rc = tu_sh(out, sizeof out, "timeout 120 %s -np 2 " MPI_TOOL " infer --model %s --keys %s"
               " --insecure-small-ring --in %s --out %s --threads 1", mpirun, model, keys, bad, p);
    ck_assert_int_ne(rc, 0);
    ck_assert_int_ne(rc, 124);
    ck_assert_msg(strstr(out, "stopped before the encrypted pass") != NULL, "%s", out);
    ck_assert_int_eq(tu_dir_entries(od), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mpi");
    TCase *tc = tcase_create("mpi");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_ranks_identical);
    tcase_add_test(tc, test_batches);
    tcase_add_test(tc, test_faults);
    suite_add_tcase(s, tc);
    return test_run_suite(s, 0);
}
