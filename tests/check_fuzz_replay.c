/* check_fuzz_replay.c - every fuzz target (fuzz/<target>.c, built without libFuzzer as
 * BUILD/fuzz/<target>) replays its committed seed corpus (fuzz/corpus/<target>, which must not
 * be empty) and every regression input found by fuzzing (fuzz/regress/<target>, when present):
 * each exits 0 only if no input crashed, leaked (under ASan) or broke an invariant the target
 * asserts (a loaded object is valid and serializes back to the same bytes). */
#include <check.h>
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_bindir[PATH_MAX];   /* BUILD/fuzz */
static char *g_names[64];
static int g_count;

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the targets: fuzz/<target>.c of the source tree (tests run from the repository root) */
static void find_targets(void)
{
    DIR *dp = opendir("fuzz");
    ck_assert_msg(dp != NULL, "fuzz/ not found: run from the repository root");
    struct dirent *e;
    while ((e = readdir(dp)) && g_count < 64) {
        size_t l = strlen(e->d_name);
        if (l > 2 && !strcmp(e->d_name + l - 2, ".c")) {
            g_names[g_count] = strndup(e->d_name, l - 2);
            ck_assert_ptr_nonnull(g_names[g_count]);
            g_count++;
        }
    }
    closedir(dp);
    qsort(g_names, (size_t)g_count, sizeof *g_names, cmp);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ck_assert(n > 0);
    exe[n] = 0;
    /* exe = BUILD/tests/check_fuzz_replay */
    snprintf(g_bindir, sizeof g_bindir, "%s/fuzz", dirname(dirname(exe)));
}

static int count_files(const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp) return -1;
    int k = 0;
    struct dirent *e;
    while ((e = readdir(dp)))
        if (e->d_name[0] != '.') k++;
    closedir(dp);
    return k;
}

START_TEST(test_replay)
{
    find_targets();
    ck_assert_msg(g_count >= 15, "expected the 15 fuzz targets, found %d", g_count);
    for (int i = 0; i < g_count; i++) {
        const char *t = g_names[i];
        char corpus[300], regress[300], bin[PATH_MAX + 64], cmd[2 * PATH_MAX];
        snprintf(corpus, sizeof corpus, "fuzz/corpus/%s", t);
        snprintf(regress, sizeof regress, "fuzz/regress/%s", t);
        snprintf(bin, sizeof bin, "%s/%s", g_bindir, t);
        ck_assert_msg(access(bin, X_OK) == 0, "%s not built", bin);
        int nc = count_files(corpus), nr = count_files(regress);
        ck_assert_msg(nc > 0, "%s: empty or missing seed corpus", corpus);
        snprintf(cmd, sizeof cmd, "OMP_WAIT_POLICY=passive BEAA_THREADS=1 '%s' '%s'%s%s%s >/dev/null",
                 bin, corpus, nr > 0 ? " '" : "", nr > 0 ? regress : "", nr > 0 ? "'" : "");
        int rc = system(cmd);
        ck_assert_msg(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
                      "fuzz target %s failed on its corpus or regression inputs (%d files): %s",
                      t, nc + (nr > 0 ? nr : 0), cmd);
    }
    for (int i = 0; i < g_count; i++) free(g_names[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fuzz_replay");
    TCase *tc = tcase_create("replay");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_replay);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
