/* replay_main.c - main() for a fuzz target built without libFuzzer (any compiler): runs
 * LLVMFuzzerTestOneInput once on every file named, or in the folders named (sorted), so the
 * seed corpus and every committed regression input are replayed by `make test` (and under
 * ASan+UBSan by `make test-asan`). Exits 1 if no input was found. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t g_count;

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "replay: cannot open %s\n", path); return 1; }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) { fprintf(stderr, "replay: out of memory on %s\n", path); return 1; }
    /* an exact-size copy, so that ASan sees any read past the input */
    uint8_t *in = malloc(n ? n : 1);
    if (!in) { free(buf); return 1; }
    memcpy(in, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(in, n);
    free(in);
    g_count++;
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) { fprintf(stderr, "replay: %s: not found\n", path); return 1; }
    if (!S_ISDIR(st.st_mode)) return run_file(path);
    DIR *dp = opendir(path);
    if (!dp) return 1;
    char **names = NULL;
    size_t k = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(dp))) {
        if (e->d_name[0] == '.') continue;
        if (k == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, cap * sizeof *names);
            if (!nn) { rc = 1; break; }
            names = nn;
        }
        size_t l = strlen(path) + strlen(e->d_name) + 2;
        names[k] = malloc(l);
        if (!names[k]) { rc = 1; break; }
        snprintf(names[k], l, "%s/%s", path, e->d_name);
        k++;
    }
    closedir(dp);
    if (k) qsort(names, k, sizeof *names, cmp);
    for (size_t i = 0; i < k; i++) {
        if (!rc) rc = run_path(names[i]);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0;
    for (int i = 1; i < argc && !rc; i++) rc = run_path(argv[i]);
    if (rc) return rc;
    printf("replayed %zu inputs\n", g_count);
    return g_count ? 0 : 1;
}
