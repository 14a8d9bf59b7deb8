/* check_bench.c - the `make bench` pipeline without its hour of measuring: bench_report on a
 * hand-written results.csv (every section, in order; numbers computed from the rows: the
 * Figure 7 ratio, the headline ratio and percentage, the Table 1 ordering verdict, the CKKS
 * ratio to ref; a skipped step shown with the memory it needs; the PNG plots made by gnuplot),
 * and the error paths of the benchmark programs: a step that does not fit the memory is skipped
 * with a row and a line saying how much it needs, `make bench-paper` stops before encrypting,
 * missing model files are named with the command that restores them. The whole pipeline runs in
 * CI as `make bench-quick`. */
#include <check.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tests/test_util.h"

static char g_bench[512];   /* folder of the benchmark programs ($(BUILD)/bench) */
static char g_dir[256];     /* scratch folder */

/* Runs a shell command with stdout+stderr captured into out (NUL-terminated); returns the exit
 * status. */
static int sh_out(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sh_out(char *out, size_t n, const char *fmt, ...)
{
    char cmd[4096], full[4700], path[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(path, sizeof path, "%s/out.txt", g_dir);
    snprintf(full, sizeof full, "OMP_WAIT_POLICY=passive %s >%s 2>&1", cmd, path);
    int rc = system(full);
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(out, 1, n - 1, f) : 0;
    out[got] = 0;
    if (f) fclose(f);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) { free(s); s = NULL; }
    if (s) s[n] = 0;
    fclose(f);
    return s;
}

/* A results.csv as scripts/bench.sh writes it, with round numbers: channel-wise 6 s per image,
 * element-wise + KD 5 ms amortized at 10,000 (1200x), 3 ms at 16,384 (ratio 0.6), batch 8192
 * skipped for memory; element-wise + KD the most accurate polynomial model, 0.3 below ReLU. */
static const char *fixture =
    "benchmark,params,metric,value,unit\n"
    "machine,-,cpu_model,Test CPU,text\n"
    "machine,-,cpu_family_model,1/2,text\n"
    "machine,-,cores,2,count\n"
    "machine,-,threads,2,count\n"
    "machine,-,kernel_set,avx512,name\n"
    "machine,-,memory,24.0,GiB\n"
    "machine,-,git_commit,abc,text\n"
    "machine,-,command,scripts/bench.sh,text\n"
    "machine,-,quick,0,flag\n"
    "model,model=relu,accuracy_plain_test,0.9200,fraction\n"
    "model,model=relu,plain_forward_test,5.0,s\n"
    "model,model=relu,plain_per_image,0.5,ms\n"
    "model,model=layer,accuracy_plain_test,0.9100,fraction\n"
    "model,model=layer,activation_parameters,24,count\n"
    "model,model=layer,formula_layer_3L,24,count\n"
    "model,model=layer,activations_channelwise_per_image,126,count\n"
    "model,model=channel,accuracy_plain_test,0.9120,fraction\n"
    "model,model=channel,activation_parameters,378,count\n"
    "model,model=channel,formula_channel_3sumC,378,count\n"
    "model,model=channel,activations_channelwise_per_image,126,count\n"
    "model,model=element,accuracy_plain_test,0.9130,fraction\n"
    "model,model=element,activation_parameters,25830,count\n"
    "model,model=element,formula_element_3sumCHW,25830,count\n"
    "model,model=element,activations_elementwise_per_batch,8610,count\n"
    "model,model=element,products_elementwise_per_batch,8194,count\n"
    "model,model=element,activation_layers,8,count\n"
    "model,model=layer-kd,accuracy_plain_test,0.9090,fraction\n"
    "model,model=channel-kd,accuracy_plain_test,0.9125,fraction\n"
    "model,model=element-kd,accuracy_plain_test,0.9170,fraction\n"
    "elementwise,model=element-kd;batch=4096;N=2^15;logQP=600;threads=2,planned_peak,9000,MiB\n"
    "elementwise,model=element-kd;batch=4096;N=2^15;logQP=600;threads=2,encrypt,4,s\n"
    "elementwise,model=element-kd;batch=4096;N=2^15;logQP=600;threads=2,forward,45,s\n"
    "elementwise,model=element-kd;batch=4096;N=2^15;logQP=600;threads=2,decrypt,0.01,s\n"
    "elementwise,model=element-kd;batch=4096;N=2^15;logQP=600;threads=2,total,49.01,s\n"
    "elementwise,model=element-kd;batch=4096;N=2^15;logQP=600;threads=2,amortized_per_image,11.9653,ms\n"
    "elementwise,model=element-kd;batch=8192;N=2^15;logQP=600;threads=2,planned_peak,12288,MiB\n"
    "elementwise,model=element-kd;batch=8192;N=2^15;logQP=600;threads=2,skipped_needs_memory,12288,MiB\n"
    "elementwise,model=element-kd;batch=10000;N=2^15;logQP=600;threads=2,planned_peak,9000,MiB\n"
    "elementwise,model=element-kd;batch=10000;N=2^15;logQP=600;threads=2,levels,8,count\n"
    "elementwise,model=element-kd;batch=10000;N=2^15;logQP=600;threads=2,encrypt,4,s\n"
    "elementwise,model=element-kd;batch=10000;N=2^15;logQP=600;threads=2,forward,46,s\n"
    "elementwise,model=element-kd;batch=10000;N=2^15;logQP=600;threads=2,decrypt,0,s\n"
    "elementwise,model=element-kd;batch=10000;N=2^15;logQP=600;threads=2,total,50,s\n"
    "elementwise,model=element-kd;batch=10000;N=2^15;logQP=600;threads=2,amortized_per_image,5.0,ms\n"
    "elementwise,model=element-kd;batch=10000;N=2^15;logQP=600;threads=2,accuracy_encrypted_test,0.9168,fraction\n"
    "elementwise,model=element-kd;batch=16384;N=2^15;logQP=600;threads=2,planned_peak,9000,MiB\n"
    "elementwise,model=element-kd;batch=16384;N=2^15;logQP=600;threads=2,forward,45.15,s\n"
    "elementwise,model=element-kd;batch=16384;N=2^15;logQP=600;threads=2,total,49.152,s\n"
    "elementwise,model=element-kd;batch=16384;N=2^15;logQP=600;threads=2,amortized_per_image,3.0,ms\n"
    "elementwise,model=channel;batch=10000;N=2^15;logQP=600;threads=2,total,50,s\n"
    "elementwise,model=channel;batch=10000;N=2^15;logQP=600;threads=2,accuracy_encrypted_test,0.9118,fraction\n"
    "channelwise,model=channel;images=10;N=2^15;logQP=879;threads=2,images,10,count\n"
    "channelwise,model=channel;images=10;N=2^15;logQP=879;threads=2,total,60,s\n"
    "channelwise,model=channel;images=10;N=2^15;logQP=879;threads=2,time_per_image,6000,ms\n"
    "ckks_rotate,N=2^15;limbs=16;isa=ref,median_time,10,ms\n"
    "ckks_rotate,N=2^15;limbs=16;isa=avx512,median_time,2.5,ms\n"
    "ckks_rotate,N=2^15;limbs=16;isa=avx512,min_time,2.4,ms\n"
    "ntt_fwd,N=16384 q=50bit isa=ref,min,100.0,us\n"
    "ntt_fwd,N=16384 q=50bit isa=avx2,min,25.0,us\n"
    "ntt_fwd,N=16384 q=50bit isa=avx512,min,20.0,us\n"
    "step,models,wall,60,s\n"
    "step,models,load_before,0.10,loadavg\n";

START_TEST(test_report_from_rows)
{
    char path[400], out[8192];
    snprintf(path, sizeof path, "%s/results.csv", g_dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(fixture, f);
    fclose(f);
    int rc = sh_out(out, sizeof out, "%s/bench_report %s", g_bench, g_dir);
    ck_assert_msg(rc == 0, "bench_report failed: %s", out);
    snprintf(path, sizeof path, "%s/report.md", g_dir);
    char *md = slurp(path);
    ck_assert_ptr_nonnull(md);
    /* the sections, in the order the issue asks for */
    const char *sec[] = { "## 1. Machine and parameters", "## 2. Figure 7", "## 3. Table 1",
                          "## 4. Table 3", "## 5. The paper's headline", "## 6. CKKS primitives" };
    const char *prev = md;
    for (int i = 0; i < 6; i++) {
        const char *s = strstr(md, sec[i]);
        ck_assert_msg(s != NULL, "missing section '%s'", sec[i]);
        ck_assert_msg(s >= prev, "section '%s' out of order", sec[i]);
        prev = s;
    }
    ck_assert_msg(strstr(md, "| CPU | Test CPU (family/model 1/2) |"), "machine table");
    /* Figure 7: the skipped batch says how much memory it needs; 3.0 / 5.0 = 0.600 */
    ck_assert_msg(strstr(md, "skipped: needs 12.0 GiB"), "skipped step not shown");
    ck_assert_msg(strstr(md, "Amortized time at 16,384 / at 10,000: **0.600**"), "16k/10k ratio");
    ck_assert_msg(strstr(md, "**5.00 ms**"), "amortized time at 10,000");
    /* Table 1 verdict: element-kd 91.70% is the best polynomial model, 0.30 below ReLU */
    ck_assert_msg(strstr(md, "the most accurate polynomial model: **holds**"), "ordering verdict");
    ck_assert_msg(strstr(md, "0.30 points below, **holds**"), "ReLU gap");
    ck_assert_msg(strstr(md, "| Layer-wise | 3 per layer = 24 | 24 |"), "Table 3 layer row");
    /* headline: 6 s / 5 ms = 1200x, 99.917% lower; 91.70 - 91.20 = +0.50 points */
    ck_assert_msg(strstr(md, "99.917% (**1200x**"), "headline ratio");
    ck_assert_msg(strstr(md, "+0.50 points (plaintext"), "headline accuracy difference");
    ck_assert_msg(strstr(md, "+0.50 points encrypted"), "headline encrypted difference");
    /* CKKS: 10 / 2.5 = 4.00; kernels 100 / 20 = 5.00x */
    ck_assert_msg(strstr(md, "| rotate | N=2^15 | 10.000 ms | 2.500 ms (2.400) | 4.00 |"), "ckks row");
    ck_assert_msg(strstr(md, "20.0 us (5.00x)"), "kernel row");
    free(md);
    /* the plots: gnuplot is installed by scripts/deps.sh */
    const char *png[] = { "fig7_total.png", "fig7_amortized.png", "table1_accuracy.png",
                          "kernels_speedup.png" };
    for (int i = 0; i < 4; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", g_dir, png[i]);
        ck_assert_msg(stat(path, &st) == 0 && st.st_size > 1000, "plot %s not made", png[i]);
    }
}
END_TEST

START_TEST(test_step_skipped_for_memory)
{
    char out[8192];
    int rc = sh_out(out, sizeof out, "BEAA_BENCH_MEM_MIB=64 %s/bench_elementwise --model "
                    "models/fmnist-beaa.model --name beaa --batch 10000", g_bench);
    ck_assert_msg(rc == 0, "a skipped step is not a failure: rc %d: %s", rc, out);
    ck_assert_msg(strstr(out, ",skipped_needs_memory,"), "no skip row: %s", out);
    ck_assert_msg(strstr(out, "skipped: needs") && strstr(out, "GiB available"), "no reason: %s", out);
    ck_assert_msg(!strstr(out, ",forward,"), "the skipped step ran: %s", out);
    rc = sh_out(out, sizeof out, "BEAA_BENCH_MEM_MIB=64 %s/bench_channelwise --model "
                "models/fmnist-beaa.model --name beaa --images 1", g_bench);
    ck_assert_msg(rc == 0 && strstr(out, ",skipped_needs_memory,"), "channelwise skip: %s", out);
    /* make bench-paper prints the plan, then stops before encrypting */
    rc = sh_out(out, sizeof out, "BEAA_BENCH_MEM_MIB=1024 %s/bench_paper", g_bench);
    ck_assert_msg(rc != 0, "bench_paper must fail when the plan does not fit: %s", out);
    ck_assert_msg(strstr(out, "planned peak memory") && strstr(out, "does not fit"), "%s", out);
    ck_assert_msg(!strstr(out, "encrypted"), "bench_paper encrypted anyway: %s", out);
}
END_TEST

/* The rows of out whose metric is an accuracy, the agreement or the logit error, in order. */
static void result_rows(const char *out, char *dst, size_t n)
{
    dst[0] = 0;
    size_t used = 0;
    for (const char *l = out; *l;) {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        char line[400];
        if (len < sizeof line) {
            memcpy(line, l, len);
            line[len] = 0;
            if (!strncmp(line, "elementwise,", 12) && used + len + 2 < n &&
                (strstr(line, ",accuracy_") || strstr(line, ",agreement,") ||
                 strstr(line, ",max_abs_logit_err,"))) {
                memcpy(dst + used, line, len);
                used += len;
                dst[used++] = '\n';
                dst[used] = 0;
            }
        }
        l = e ? e + 1 : l + len;
    }
}

/* make bench's default experiment seed: two runs decrypt to identical accuracies and errors. */
START_TEST(test_seeded_runs_identical)
{
    static char out[16384], r1[4096], r2[4096];
    const char *cmd = "%s/bench_elementwise --model models/fmnist-beaa.model --name beaa --batch 300 "
                      "--log-n 11 --insecure --seed check-bench";
    int rc = sh_out(out, sizeof out, cmd, g_bench);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, out);
    ck_assert_msg(strstr(out, "experiment seed"), "the seed is not announced: %s", out);
    result_rows(out, r1, sizeof r1);
    rc = sh_out(out, sizeof out, cmd, g_bench);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, out);
    result_rows(out, r2, sizeof r2);
    ck_assert_msg(strstr(r1, ",accuracy_encrypted_test,") && strstr(r1, ",max_abs_logit_err,"),
                  "rows missing: %s", r1);
    ck_assert_msg(!strcmp(r1, r2), "two seeded runs differ:\n%s---\n%s", r1, r2);
}
END_TEST

START_TEST(test_missing_inputs_named)
{
    char out[8192];
    int rc = sh_out(out, sizeof out, "%s/bench_elementwise --model %s/none.model", g_bench, g_dir);
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(out, "none.model: not found") && strstr(out, "make models"), "%s", out);
    rc = sh_out(out, sizeof out, "BUILD=%s/.. BENCH_MODELS=%s/nomodels sh scripts/bench.sh --out "
                "%s/never", g_bench, g_dir, g_dir);
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(out, "fmnist-layer.model") && strstr(out, "make models"), "%s", out);
    char p[400];
    snprintf(p, sizeof p, "%s/never", g_dir);
    ck_assert_msg(access(p, F_OK) != 0, "bench.sh made a result folder before failing");
    rc = sh_out(out, sizeof out, "%s/bench_report %s/nowhere", g_bench, g_dir);
    ck_assert_int_ne(rc, 0);
}
END_TEST

/* Arguments the benchmarks do not take are refused with exit status 2 and a message naming them,
 * before any timing (bench_serialize's prime count once overran a fixed array). */
START_TEST(test_bad_arguments)
{
    char out[8192];
    static const struct { const char *args, *msg; } bad[] = {
        {"bench_linear --bogus", "unknown argument '--bogus'"},
        {"bench_kernels --quick extra", "unknown argument 'extra'"},
        {"bench_ckks foo", "unknown argument 'foo'"},
        {"bench_encoder abc", "max_log_n must be an integer in 4 .. 17, not 'abc'"},
        {"bench_encoder 99", "max_log_n must be an integer in 4 .. 17"},
        {"bench_serialize 15 1000", "n_primes must be an integer in 1 .. 47, not '1000'"},
        {"bench_serialize -3", "log_n must be an integer in 10 .. 17, not '-3'"},
        {"bench_serialize 1 2 3", "too many arguments"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = sh_out(out, sizeof out, "%s/%s", g_bench, bad[i].args);
        ck_assert_msg(rc == 2 && strstr(out, bad[i].msg), "%s: rc %d: %s", bad[i].args, rc, out);
        ck_assert_msg(!strstr(out, "benchmark,params"), "%s printed rows: %s", bad[i].args, out);
    }
}
END_TEST

int main(int argc, char **argv)
{
    (void)argc;
    char self[512];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(g_bench, sizeof g_bench, "%s/../bench", dirname(self));
    snprintf(g_dir, sizeof g_dir, "/tmp/beaa-check-bench-XXXXXX");
    if (!mkdtemp(g_dir)) { perror("mkdtemp"); return 1; }
    Suite *s = suite_create("bench");
    TCase *tc = tcase_create("bench");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_report_from_rows);
    tcase_add_test(tc, test_step_skipped_for_memory);
    tcase_add_test(tc, test_missing_inputs_named);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_seeded_runs_identical);
    suite_add_tcase(s, tc);
    int rc = test_run_suite(s, 1);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
    return rc;
}
