/* tool_util.c - see tool_util.h. */
#include "tests/tool_util.h"
#include <check.h>
#include <dirent.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "nn/model.h"
#include "tests/test_models.h"

char tu_dir[256];

/* Every folder tu_mkdtemp makes is named /tmp/<prefix>-t<pid>-<6 random characters> after the
 * runner's own process (set before main, inherited by the children Check forks for each test).
 * When that process exits it removes whatever of them is left: a test that fails in a forked
 * child exits there without its teardown (Check's failure path does not run exit handlers). */
static pid_t tu_root_pid;

static void tu_remove_at_exit(void)
{
    if (getpid() != tu_root_pid || getenv("BEAA_KEEP_TMP")) return;
    char pattern[64];
    snprintf(pattern, sizeof pattern, "/tmp/*-t%ld-??????", (long)tu_root_pid);
    glob_t g;
    if (glob(pattern, GLOB_ONLYDIR, NULL, &g) != 0) return;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%.255s'", g.gl_pathv[i]);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g.gl_pathv[i]);
    }
    globfree(&g);
}

__attribute__((constructor)) static void tu_register_exit(void)
{
    tu_root_pid = getpid();
    atexit(tu_remove_at_exit);
}

void tu_mkdtemp(char *dir, size_t cap, const char *prefix)
{
    ck_assert_msg(snprintf(dir, cap, "/tmp/%s-t%ld-XXXXXX", prefix, (long)tu_root_pid) < (int)cap,
                  "prefix too long");
    ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s failed", dir);
}

void tu_setup(const char *prefix)
{
    tu_mkdtemp(tu_dir, sizeof tu_dir, prefix);
}

void tu_teardown(void)
{
    if (getenv("BEAA_KEEP_TMP")) { fprintf(stderr, "kept %s\n", tu_dir); return; }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tu_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tu_dir);
}

int tu_sh(char *out, size_t n, const char *fmt, ...)
{
    char cmd[8192], full[9000], path[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(path, sizeof path, "%s/out.txt", tu_dir);
    snprintf(full, sizeof full, "OMP_WAIT_POLICY=passive %s >%s 2>&1", cmd, path);
    int rc = system(full);
    FILE *f = fopen(path, "rb");
    size_t got = 0;
    if (out && n) {
        got = f ? fread(out, 1, n - 1, f) : 0;
        out[got] = 0;
    }
    if (f) fclose(f);
    if (getenv("BEAA_TEST_VERBOSE")) {
        fprintf(stderr, "$ %s\n", cmd);
        if (out) fprintf(stderr, "%s", out);
    }
    return rc == -1 ? -1 : (WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc));
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

void tu_write_idx(const char *images, const char *labels, int n, int h, int w, uint64_t seed)
{
    uint8_t hdr[16];
    size_t np = (size_t)n * h * w;
    uint8_t *px = malloc(np), *lab = malloc((size_t)n);
    uint64_t s = seed;
    for (size_t i = 0; i < np; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        px[i] = (uint8_t)(s >> 56);
    }
    for (int i = 0; i < n; i++) lab[i] = (uint8_t)(i % 10);
    put_be32(hdr, 0x803); put_be32(hdr + 4, (uint32_t)n); put_be32(hdr + 8, (uint32_t)h); put_be32(hdr + 12, (uint32_t)w);
    gzFile g = gzopen(images, "wb");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(gzwrite(g, hdr, 16), 16);
    ck_assert_int_eq(gzwrite(g, px, (unsigned)np), (int)np);
    gzclose(g);
    put_be32(hdr, 0x801);
    g = gzopen(labels, "wb");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(gzwrite(g, hdr, 8), 8);
    ck_assert_int_eq(gzwrite(g, lab, (unsigned)n), n);
    gzclose(g);
    free(px);
    free(lab);
}

void tu_write_model(const char *path, int hw)
{
    static const test_widths widths = { 8, 4, 4, 4, 8, 10 };
    beaa_model *m = test_small_model((uint32_t)hw, &widths, BEAA_POLY_ELEMENT, BEAA_POLY_CHANNEL);
    uint64_t s = 12345;
    for (uint32_t i = 0; i < m->n_modules; i++) {
        beaa_model_module *md = &m->modules[i];
        int nconv = beaa_model_module_nconv(md);
        int nact = beaa_model_module_nact(md);
        for (int c = 0; c < nconv; c++) {
            beaa_model_conv *cv = &md->conv[c];
            size_t nw = (size_t)cv->cout * cv->cin * cv->kh * cv->kw;
            for (size_t j = 0; j < nw; j++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                cv->weight[j] = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5) * 0.6f;
            }
        }
        for (int a = 0; a < nact; a++)
            for (uint32_t j = 0; j < md->act[a].count; j++) {
                md->act[a].a[j] = 0.1f; md->act[a].b[j] = 0.5f; md->act[a].c0[j] = 0.1f;
            }
    }
    m->in_mean[0] = 0.29f;
    m->in_std[0] = 0.35f;
    ck_assert_int_eq(beaa_model_save(m, path, 1), BEAA_OK);
    beaa_model_free(m);
}

long tu_fsize(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

int tu_same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int x = fgetc(fa), y = fgetc(fb);
        if (x != y) same = 0;
        if (x == EOF || y == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

int tu_dir_entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

double tu_number_after(const char *s, const char *key)
{
    const char *p = strstr(s, key);
    if (!p) return -1;
    return strtod(p + strlen(key), NULL);
}
