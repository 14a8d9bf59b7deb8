/* bench_util.c - shared helpers of the nn benchmarks (see bench_util.h). */
#include "bench/common/bench_util.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "lib/mem.h"
#include "lib/rng.h"
#include "lib/status.h"

static uint64_t rs = 0x1234567887654321ull;

void bench_rng_seed(uint64_t seed) { rs = seed ? seed : 1; }

int bench_apply_seed(const char *text)
{
    if (!text || !*text || !strcmp(text, "os")) return 0;
    uint8_t seed[BEAA_SEED_BYTES];
    beaa_shake256(seed, sizeof seed, text, strlen(text));
    beaa_status st = beaa_rng_set_insecure_seed(seed);
    beaa_memzero(seed, sizeof seed);
    if (st != BEAA_OK) {
        fprintf(stderr, "bench: seed: %s\n", beaa_strerror(st));
        return 1;
    }
    fprintf(stderr, "  keys and noise from the experiment seed \"%s\" (insecure, reproducible)\n", text);
    return 0;
}

double bench_urand(double lo, double hi)
{
    rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
    return lo + (hi - lo) * (double)(rs >> 11) / 9007199254740992.0;
}

int bench_parse_quick(const char *prog, int argc, char **argv)
{
    if (argc <= 1) return 0;
    if (argc == 2 && strcmp(argv[1], "--quick") == 0) return 1;
    const char *bad = strcmp(argv[1], "--quick") != 0 ? argv[1] : argv[2];
    fprintf(stderr, "%s: unknown argument '%s' (usage: %s [--quick])\n", prog, bad, prog);
    return -1;
}

int bench_parse_uint(const char *prog, const char *what, const char *s, unsigned lo, unsigned hi,
                     unsigned *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = s && *s != '-' && *s != '+' ? strtoul(s, &end, 10) : 0;
    if (!s || !end || end == s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "%s: %s must be an integer in %u .. %u, not '%s'\n", prog, what, lo, hi,
                s ? s : "");
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

double bench_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

double bench_peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

double bench_mem_available_mib(void)
{
    const char *e = getenv("BEAA_BENCH_MEM_MIB");
    if (e && *e) return strtod(e, NULL);
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    double kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kib) == 1) break;
    if (f) fclose(f);
    if (kib >= 0) return kib / 1024.0;
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    return pages > 0 && psz > 0 ? (double)pages * (double)psz / 1048576.0 : 0;
}

int bench_memory_fits(const char *bench, const char *params, double need_mib)
{
    double have = bench_mem_available_mib();
    if (need_mib <= have) return 1;
    printf("%s,%s,skipped_needs_memory,%.0f,MiB\n", bench, params, need_mib);
    printf("%s,%s,memory_available,%.0f,MiB\n", bench, params, have);
    fflush(stdout);
    fprintf(stderr, "%s (%s): skipped: needs %.1f GiB of memory, %.1f GiB available\n", bench,
            params, need_mib / 1024.0, have / 1024.0);
    return 0;
}

void bench_model_fill_random(beaa_model *m)
{
    for (uint32_t i = 0; i < m->n_modules; i++) {
        beaa_model_module *md = &m->modules[i];
        int nconv = beaa_model_module_nconv(md);
        int nact = beaa_model_module_nact(md);
        for (int c = 0; c < nconv; c++) {
            beaa_model_conv *cv = &md->conv[c];
            size_t nw = (size_t)cv->cout * cv->cin * cv->kh * cv->kw;
            double sd = 1.5 / sqrt((double)cv->cin * cv->kh * cv->kw);
            for (size_t j = 0; j < nw; j++) cv->weight[j] = (float)bench_urand(-sd, sd);
            for (uint32_t j = 0; j < cv->cout; j++) cv->bias[j] = (float)bench_urand(-0.1, 0.1);
        }
        for (int a = 0; a < nact; a++) {
            beaa_model_act *ac = &md->act[a];
            for (uint32_t j = 0; j < ac->count; j++) {
                ac->a[j] = (float)bench_urand(0.05, 0.2);
                ac->b[j] = (float)bench_urand(0.4, 0.6);
                ac->c0[j] = (float)bench_urand(0.0, 0.2);
            }
            beaa_model_bn *bn = &md->bn[a];
            for (uint32_t j = 0; j < bn->channels; j++) {
                bn->gamma[j] = (float)bench_urand(0.8, 1.2);
                bn->beta[j] = (float)bench_urand(-0.2, 0.2);
                bn->mean[j] = (float)bench_urand(0.0, 0.4);
                bn->var[j] = (float)bench_urand(0.5, 1.5);
            }
        }
    }
}

