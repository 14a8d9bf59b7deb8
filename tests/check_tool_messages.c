/* check_tool_messages.c - what the beaa tool says when a file is missing or wrong: "not found"
 * with the path it tried; the default model found from any working folder (next to the
 * executable, as `make install` lays it out: bin/ and share/beaa/models/); --overwrite named when
 * an output exists; --flood checked; beaa-train names a wrong model path before loading data.
 * Runs bin/beaa and bin/beaa-train from a temporary folder. */
#include <check.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tests/test_util.h"
#include "tests/tool_util.h"

static char g_bin[PATH_MAX], g_root[PATH_MAX], g_tmp[256];

/* runs `cd TMP && PROG args` and returns its exit status, output (stdout + stderr) in out */
static int vrun(const char *prog, char *out, size_t n, const char *fmt, va_list ap)
{
    char args[3000], cmd[2 * PATH_MAX + 3400], path[300];
    vsnprintf(args, sizeof args, fmt, ap);
    snprintf(path, sizeof path, "%s/out.txt", g_tmp);
    if (snprintf(cmd, sizeof cmd, "cd '%s' && OMP_WAIT_POLICY=passive '%s' %s >'%s' 2>&1", g_tmp,
                 prog, args, path) >= (int)sizeof cmd)
        ck_abort_msg("command too long");
    int rc = system(cmd);
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(out, 1, n - 1, f) : 0;
    out[got] = 0;
    if (f) fclose(f);
    return rc;
}

/* bin/beaa (or the installed copy the test points g_bin at) */
static int run(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int run(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vrun(g_bin, out, n, fmt, ap);
    va_end(ap);
    return rc;
}

/* bin/beaa-train */
static int run_train(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int run_train(char *out, size_t n, const char *fmt, ...)
{
    char prog[PATH_MAX + 32];
    snprintf(prog, sizeof prog, "%s/bin/beaa-train", g_root);
    ck_assert_msg(access(prog, X_OK) == 0, "%s not built", prog);
    va_list ap;
    va_start(ap, fmt);
    int rc = vrun(prog, out, n, fmt, ap);
    va_end(ap);
    return rc;
}

static void setup(void)
{
    ck_assert_ptr_nonnull(realpath(".", g_root));
    if (snprintf(g_bin, sizeof g_bin, "%s/bin/beaa", g_root) >= (int)sizeof g_bin)
        ck_abort_msg("path too long");
    ck_assert_msg(access(g_bin, X_OK) == 0, "%s not built", g_bin);
    tu_mkdtemp(g_tmp, sizeof g_tmp, "beaa-msg");
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_not_found)
{
    setup();
    char out[8192];
    /* an explicit model that does not exist */
    int rc = run(out, sizeof out, "keygen --model nosuch.model --secret sk --keys keys");
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(out, "nosuch.model: not found") != NULL, "got: %s", out);
    /* a secret key that does not exist (the model is the default, found next to the binary) */
    rc = run(out, sizeof out, "encrypt --secret missing.sk --images x.gz --out ct");
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(out, "missing.sk: not found") != NULL, "got: %s", out);
    /* images that do not exist */
    rc = run(out, sizeof out, "keygen --secret sk --keys keys --batch 4 --log-n 12 --insecure-small-ring");
    ck_assert_msg(rc == 0, "keygen from another folder with the default model: %s", out);
    rc = run(out, sizeof out, "encrypt --secret sk --images nosuch-images.gz --out ct --insecure-small-ring");
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(out, "nosuch-images.gz: not found") != NULL, "got: %s", out);
    /* logits that do not exist */
    rc = run(out, sizeof out, "decrypt --secret sk --in nosuch.lg --insecure-small-ring");
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(out, "nosuch.lg: not found") != NULL, "got: %s", out);
    /* keys that do not exist */
    rc = run(out, sizeof out, "infer --keys nosuch.keys --in ct --out lg");
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(out, "nosuch.keys: not found") != NULL, "got: %s", out);
    /* an existing output: says how to replace it */
    rc = run(out, sizeof out, "keygen --secret sk --keys keys --batch 4 --log-n 12 --insecure-small-ring");
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(out, "sk: output file already exists") != NULL && strstr(out, "--overwrite") != NULL,
                  "got: %s", out);
    /* a small ring without the opt-out */
    rc = run(out, sizeof out, "decrypt --secret sk --in nosuch.lg");
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(out, "--insecure-small-ring") != NULL, "got: %s", out);
    /* --flood out of range */
    rc = run(out, sizeof out, "decrypt --secret sk --in x --flood 51");
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(out, "--flood takes log2") != NULL, "got: %s", out);
    teardown();
}
END_TEST

/* beaa-train reads its model files (--teacher, --init-from) before the data, so a wrong path is
 * named at once, not after the data set has loaded; then a missing data set is named */
START_TEST(test_train_order)
{
    setup();
    char out[8192];
    int rc = run_train(out, sizeof out, "--variant poly-layer --out m.model --teacher nosuch-teacher.model "
                                        "--data fashion-mnist:nosuch-dir");
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(out, "nosuch-teacher.model: not found") != NULL && strstr(out, "nosuch-dir") == NULL,
                  "got: %s", out);
    rc = run_train(out, sizeof out, "--variant poly-layer --out m.model --init-from nosuch-init.model "
                                    "--data fashion-mnist:nosuch-dir");
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(out, "nosuch-init.model: not found") != NULL && strstr(out, "nosuch-dir") == NULL,
                  "got: %s", out);
    rc = run_train(out, sizeof out, "--variant poly-layer --out m.model --teacher '%s/models/fmnist-beaa.model' "
                                    "--data fashion-mnist:nosuch-dir", g_root);
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(out, "nosuch-dir/train-images-idx3-ubyte.gz: not found") != NULL, "got: %s", out);
    char made[300];
    snprintf(made, sizeof made, "%s/m.model", g_tmp);
    ck_assert_int_ne(access(made, F_OK), 0);
    teardown();
}
END_TEST

/* the default model where `make install` puts it, with nothing in the working folder */
START_TEST(test_installed_layout)
{
    setup();
    char cmd[3 * PATH_MAX], out[8192];
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/inst/bin' '%s/inst/share/beaa/models' && cp '%s' '%s/inst/bin/' && "
             "cp '%s/models/fmnist-beaa.model' '%s/inst/share/beaa/models/'",
             g_tmp, g_tmp, g_bin, g_tmp, g_root, g_tmp);
    ck_assert_int_eq(system(cmd), 0);
    if (snprintf(g_bin, sizeof g_bin, "%s/inst/bin/beaa", g_tmp) >= (int)sizeof g_bin)
        ck_abort_msg("path too long");
    int rc = run(out, sizeof out, "keygen --secret sk --keys keys --batch 4 --log-n 12 --insecure-small-ring");
    ck_assert_msg(rc == 0, "installed layout: %s", out);
    /* and without it: every place tried is named */
    snprintf(cmd, sizeof cmd, "rm '%s/inst/share/beaa/models/fmnist-beaa.model'", g_tmp);
    ck_assert_int_eq(system(cmd), 0);
    rc = run(out, sizeof out, "keygen --secret sk2 --keys keys2 --batch 4 --log-n 12 --insecure-small-ring");
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(out, "not found (tried models/fmnist-beaa.model, ") != NULL &&
                  strstr(out, "/inst/bin/../share/beaa/models/fmnist-beaa.model") != NULL &&
                  strstr(out, "--model PATH") != NULL, "got: %s", out);
    teardown();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tool_messages");
    TCase *tc = tcase_create("messages");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_not_found);
    tcase_add_test(tc, test_installed_layout);
    tcase_add_test(tc, test_train_order);
    suite_add_tcase(s, tc);
    return test_run_suite(s, 0);
}
