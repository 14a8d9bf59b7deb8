/* check_examples.c - runs every program of examples/ (the course's chapters and the four
 * introductory examples) and re-checks what it prints against the bounds its chapter states
 * (docs/course/). The course examples print lines "check: <name> <value>"; the table below
 * holds, for each, the interval the value must lie in: the example's own verdict is never
 * trusted, a missing or unknown check line fails, and so does a non-zero exit status. The four
 * older examples are checked on their human-readable output. Every C file of examples/ must
 * have an entry here, so no example can rot unnoticed.
 * The binaries are found next to this runner: <build>/tests/check_examples ->
 * <build>/examples/ (so `make test-asan` checks the sanitizer builds). Each runs in a fresh
 * temporary directory. */
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lib/status.h"
#include "tests/test_util.h"
#include "tests/tool_util.h"

#define BIG 1e300
#define S(code) (double)(code), (double)(code) /* a status: exactly this code */

typedef struct expect {
    const char *name;
    double lo, hi; /* lo <= value <= hi */
} expect;

typedef struct example {
    const char *prog;
    const char *arg;   /* NULL: no argument; else the temporary directory followed by this */
    const expect *checks;
    size_t n;
    const char *(*custom)(const char *out, const char *dir); /* older examples: NULL = ok */
} example;

/* ---- the course (bounds as stated in docs/course/NN-*.md) ---- */

static const expect ch01[] = {
    {"psi_order_ok", 1, 1},
    {"shoup_mismatches", 0, 0},
    {"textbook_vs_kernel_mismatches", 0, 0},
    {"evaluation_order_mismatches", 0, 0},
    {"ntt_product_mismatches", 0, 0},
    {"roundtrip_mismatches", 0, 0},
};
static const expect ch02[] = {
    {"log2_qp", 300, 438},
    {"crt_mismatches", 0, 0},
    {"rns_product_mismatches", 0, 0},
    {"lift_rel_error_log2", -BIG, -50},
    {"small_negative_lift", -5, -5},
};
static const expect ch03[] = {
    {"embedding_error", 0, 1e-12},
    {"i_is_monomial_error", 0, 1e-14},
    {"encode_error_over_model_2^20", 0, 6},
    {"precision_bits_2^20", 12, BIG},
    {"encode_error_over_model_2^30", 0, 6},
    {"precision_bits_2^30", 22, BIG},
    {"encode_error_over_model_2^40", 0, 6},
    {"precision_bits_2^40", 32, BIG},
    {"status_too_large", S(BEAA_ERR_VALUE)},
    {"status_nan", S(BEAA_ERR_VALUE)},
    {"status_too_many", S(BEAA_ERR_SLOTS)},
};
static const expect ch04[] = {
    {"sk_noise_bits_minus_model", -0.3, 0.3},
    {"sk_precision_bits", 28, BIG},
    {"pk_noise_bits_minus_model", -0.3, 0.3},
    {"sum_noise_bits_minus_model", -0.3, 0.3},
    {"flood_noise_bits", 29.7, 30.3},
    {"wrong_key_noise_bits", 45, BIG},
};
static const expect ch05[] = {
    {"A_ks_noise_bits", 0, 6},
    {"A_ks_noise_bits_minus_model", -0.5, 0.5},
    {"A_product_precision_bits", 20, BIG},
    {"B_ks_noise_bits", 0, BIG},
    /* B and C: the key error dominates, and its non-centered digits make it vary from key
     * to key (chapter 5): from the centered part alone (-1 bit) to 1-2 bits above */
    {"B_ks_noise_bits_minus_model", -1.2, 2.0},
    {"B_product_precision_bits", 20, BIG},
    {"C_ks_noise_bits", 20, BIG},
    {"C_ks_noise_bits_minus_model", -1.2, 2.0},
    {"C_product_precision_bits", 20, BIG},
    {"status_no_key", S(BEAA_ERR_NO_KEY)},
};
static const expect ch06[] = {
    {"squarings", 6, 6},
    {"worst_error_bits", -BIG, -15},
    {"status_exhausted", S(BEAA_ERR_LEVEL_EXHAUSTED)},
    {"status_scale_range", S(BEAA_ERR_SCALE_RANGE)},
    {"status_level_mismatch", S(BEAA_ERR_LEVEL_MISMATCH)},
    {"status_scale_mismatch", S(BEAA_ERR_SCALE_MISMATCH)},
    {"aligned_add_error_bits", -BIG, -20},
};
static const expect ch07[] = {
    {"rotate1_error_bits", -BIG, -20},
    {"status_no_key", S(BEAA_ERR_NO_KEY)},
    {"rotate3_composed_error_bits", -BIG, -20},
    {"slot_sum_error_bits", -BIG, -15},
    {"conjugate_error_bits", -BIG, -20},
    {"hoisted_vs_single_differences", 0, 0},
};
static const expect ch08[] = {
    {"max_logit_error", 0, 0.05},
    {"min_agreement", 0.99, 1},
    {"encrypted_accuracy", 0.5, 1},
};
static const expect ch09[] = {
    {"teacher_accuracy", 0.5, 1},
    {"layer_accuracy", 0.5, 1},
    {"layer_params", 14202, 14202},
    {"layer_products", 8194, 8194},
    {"layer_kd_accuracy", 0.5, 1},
    {"channel_accuracy", 0.5, 1},
    {"channel_params", 14556, 14556},
    {"channel_products", 8194, 8194},
    {"channel_kd_accuracy", 0.5, 1},
    {"element_accuracy", 0.5, 1},
    {"element_params", 40008, 40008},
    {"element_products", 8194, 8194},
    {"element_kd_accuracy", 0.5, 1},
    {"fold_max_difference", 0, 1e-9},
    {"stages", 8, 8},
};
static const expect ch10[] = {
    {"status_insecure", S(BEAA_ERR_INSECURE)},
    {"status_params_mismatch", S(BEAA_ERR_PARAMS_MISMATCH)},
    {"status_level_mismatch", S(BEAA_ERR_LEVEL_MISMATCH)},
    {"status_scale_mismatch", S(BEAA_ERR_SCALE_MISMATCH)},
    {"status_no_key", S(BEAA_ERR_NO_KEY)},
    {"status_value", S(BEAA_ERR_VALUE)},
    {"status_alias", S(BEAA_ERR_ARG)},
    {"status_arg", S(BEAA_ERR_ARG)},
    {"inplace_differences", 0, 0},
    {"thread_differences", 0, 0},
    {"status_exists", S(BEAA_ERR_EXISTS)},
    {"status_checksum", S(BEAA_ERR_CHECKSUM)},
};
static const expect ch11[] = {
    {"kernel_mismatches", 0, 0},
    {"thread_differences", 0, 0},
};

/* ---- the introductory examples, checked on what they print ---- */

static char msg[512];

/* quickstart: four lines "x^2 = y"; |y - x^2| <= 1e-4 */
static const char *check_quickstart(const char *out, const char *dir)
{
    (void)dir;
    int lines = 0;
    for (const char *p = out; (p = strstr(p, "^2 = ")) != NULL; p++) {
        const char *b = p;
        while (b > out && b[-1] != '\n') b--;
        double x, y;
        if (sscanf(b, "%lf^2 = %lf", &x, &y) != 2) return "unparsable quickstart line";
        if (!(fabs(y - x * x) <= 1e-4)) {
            snprintf(msg, sizeof msg, "quickstart: %g^2 printed as %g", x, y);
            return msg;
        }
        lines++;
    }
    return lines == 4 ? NULL : "quickstart: expected 4 result lines";
}

/* ckks_basics: 8 steps "... log2 max error E", each E <= -20; the missing key is refused */
static const char *check_basics(const char *out, const char *dir)
{
    (void)dir;
    int steps = 0;
    for (const char *p = out; (p = strstr(p, "log2 max error")) != NULL; p++) {
        double e;
        if (sscanf(p, "log2 max error %lf", &e) != 1) return "ckks_basics: unparsable error";
        if (!(e <= -20)) {
            snprintf(msg, sizeof msg, "ckks_basics: step %d has log2 max error %.2f > -20", steps, e);
            return msg;
        }
        steps++;
    }
    if (steps != 8) return "ckks_basics: expected 8 steps with their error";
    char want[256];
    snprintf(want, sizeof want, "rotate by 2 without its key: %s", beaa_strerror(BEAA_ERR_NO_KEY));
    return strstr(out, want) ? NULL : "ckks_basics: the missing rotation key was not refused";
}

/* files_client_server: max |decrypted - x^2| <= 1e-3, the second save refused, the damaged key
 * refused by its checksum */
static const char *check_files(const char *out, const char *dir)
{
    (void)dir;
    const char *p = strstr(out, "max |decrypted - x^2| over");
    double e;
    if (!p || !(p = strchr(p, ':')) || sscanf(p + 1, "%lf", &e) != 1)
        return "files_client_server: no error line";
    if (!(e <= 1e-3)) {
        snprintf(msg, sizeof msg, "files_client_server: max error %g > 1e-3", e);
        return msg;
    }
    char want[256];
    snprintf(want, sizeof want, "without overwrite: %s", beaa_strerror(BEAA_ERR_EXISTS));
    if (!strstr(out, want)) return "files_client_server: the existing file was not protected";
    snprintf(want, sizeof want, "damaged relin key: %s", beaa_strerror(BEAA_ERR_CHECKSUM));
    return strstr(out, want) ? NULL : "files_client_server: the damaged key was not refused";
}

/* train_tiny: test accuracy >= 50% (4 epochs on 2,000 images) and the model file written */
static const char *check_train_tiny(const char *out, const char *dir)
{
    const char *p = strstr(out, "test accuracy on 1,000 images:");
    double acc;
    if (!p || sscanf(p, "test accuracy on 1,000 images: %lf", &acc) != 1)
        return "train_tiny: no accuracy line";
    if (!(acc >= 50)) {
        snprintf(msg, sizeof msg, "train_tiny: accuracy %.1f%% < 50%%", acc);
        return msg;
    }
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/tiny.model", dir);
    return stat(path, &st) == 0 && st.st_size > 0 ? NULL : "train_tiny: no model file";
}

#define E(prog, arr) {prog, NULL, arr, sizeof arr / sizeof arr[0], NULL}
static const example examples[] = {
    E("ch01_ring_ntt", ch01),
    E("ch02_rns_crt", ch02),
    E("ch03_encoding", ch03),
    E("ch04_noise", ch04),
    E("ch05_relin_keyswitch", ch05),
    E("ch06_rescale_levels", ch06),
    E("ch07_rotations", ch07),
    E("ch08_batch_packing", ch08),
    E("ch09_activations", ch09),
    E("ch10_api", ch10),
    E("ch11_performance", ch11),
    {"quickstart", NULL, NULL, 0, check_quickstart},
    {"ckks_basics", NULL, NULL, 0, check_basics},
    {"files_client_server", "", NULL, 0, check_files},
    {"train_tiny", "/tiny.model", NULL, 0, check_train_tiny},
};
#define NEX (sizeof examples / sizeof examples[0])

static char exdir[PATH_MAX + 16]; /* <build>/examples, absolute */

/* Runs one example in a fresh temporary directory; returns its output (malloc'ed) and exit
 * status, and the directory name in dir. */
static char *run(const example *ex, char *dir, size_t dircap, int *status)
{
    tu_mkdtemp(dir, dircap, "beaa_examples");
    char cmd[3 * PATH_MAX + 64];
    if (ex->arg)
        snprintf(cmd, sizeof cmd, "cd '%s' && '%s/%s' '%s%s' 2>&1", dir, exdir, ex->prog, dir, ex->arg);
    else
        snprintf(cmd, sizeof cmd, "cd '%s' && '%s/%s' 2>&1", dir, exdir, ex->prog);
    FILE *f = popen(cmd, "r");
    ck_assert_msg(f != NULL, "popen failed for %s", ex->prog);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    ck_assert(out != NULL);
    size_t got;
    while ((got = fread(out + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            cap *= 2;
            out = realloc(out, cap);
            ck_assert(out != NULL);
        }
    }
    out[len] = '\0';
    *status = pclose(f);
    return out;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[PATH_MAX + 512];
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p) unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* The verdict on one run: NULL when every rule holds, else why not (in msg). */
static const char *verdict(const example *ex, const char *out, int status, const char *dir)
{
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(msg, sizeof msg, "%s exited with status %d", ex->prog, status);
        return msg;
    }
    if (ex->custom) return ex->custom(out, dir);
    /* every expected check exactly once, within its bounds; no unknown check lines */
    int seen[64] = {0};
    if (ex->n > 64) return "too many checks";
    for (const char *p = out; (p = strstr(p, "check: ")) != NULL; p++) {
        if (p != out && p[-1] != '\n') continue;
        char name[128];
        double v;
        if (sscanf(p, "check: %127s %lf", name, &v) != 2) return "unparsable check line";
        size_t k = 0;
        while (k < ex->n && strcmp(ex->checks[k].name, name) != 0) k++;
        if (k == ex->n) {
            snprintf(msg, sizeof msg, "%s: unknown check '%s'", ex->prog, name);
            return msg;
        }
        if (seen[k]) {
            snprintf(msg, sizeof msg, "%s: check '%s' printed twice", ex->prog, name);
            return msg;
        }
        seen[k] = 1;
        if (!(isfinite(v) && v >= ex->checks[k].lo && v <= ex->checks[k].hi)) {
            snprintf(msg, sizeof msg, "%s: %s = %g, outside [%g, %g]", ex->prog, name, v,
                     ex->checks[k].lo, ex->checks[k].hi);
            return msg;
        }
    }
    for (size_t k = 0; k < ex->n; k++)
        if (!seen[k]) {
            snprintf(msg, sizeof msg, "%s: check '%s' missing", ex->prog, ex->checks[k].name);
            return msg;
        }
    return NULL;
}

START_TEST(test_example)
{
    const example *ex = &examples[_i];
    char dir[PATH_MAX];
    int status;
    char *out = run(ex, dir, sizeof dir, &status);
    const char *why = verdict(ex, out, status, dir);
    if (why) { /* the example's own output is the failure's log */
        printf("---- output of %s\n%s---- end of %s\n", ex->prog, out, ex->prog);
        fflush(stdout);
    } else {
        printf("example %-22s ok (%zu checks within the chapter's bounds)\n", ex->prog,
               ex->custom ? (size_t)1 : ex->n);
        fflush(stdout);
    }
    remove_dir(dir);
    free(out);
    ck_assert_msg(why == NULL, "%s", why ? why : "");
}
END_TEST

/* Every C file of examples/ (the sources, from the repository root) is in the table above. */
START_TEST(test_every_example_listed)
{
    DIR *d = opendir("examples");
    ck_assert_msg(d != NULL, "run from the repository root (examples/ not found)");
    struct dirent *e;
    int count = 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 3 || strcmp(e->d_name + len - 2, ".c") != 0) continue;
        size_t k = 0;
        while (k < NEX && !(strlen(examples[k].prog) == len - 2 &&
                            strncmp(examples[k].prog, e->d_name, len - 2) == 0))
            k++;
        ck_assert_msg(k < NEX, "examples/%s is not run by tests/check_examples.c", e->d_name);
        count++;
    }
    closedir(d);
    ck_assert_int_eq(count, (int)NEX);
}
END_TEST

int main(int argc, char **argv)
{
    (void)argc;
    char self[PATH_MAX];
    if (!realpath(argv[0], self)) {
        fprintf(stderr, "check_examples: cannot resolve %s\n", argv[0]);
        return EXIT_FAILURE;
    }
    char *slash = strrchr(self, '/');
    *slash = '\0'; /* <build>/tests */
    slash = strrchr(self, '/');
    *slash = '\0'; /* <build> */
    snprintf(exdir, sizeof exdir, "%s/examples", self);
    Suite *s = suite_create("examples");
    TCase *tc = tcase_create("examples");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_every_example_listed);
    tcase_add_loop_test(tc, test_example, 0, (int)NEX);
    suite_add_tcase(s, tc);
    return test_run_suite(s, 0);
}
