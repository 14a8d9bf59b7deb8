/* bench_util.h - small pieces the benchmarks share: a seeded xorshift stream for random
 * inputs, wall-clock time, peak resident memory, a random model filler (He-like weights,
 * plausible BatchNorm statistics, activations near x^2/8 + x/2), and the checks of the simple
 * benchmarks' arguments. Benchmarks only, not the library. */
#ifndef BEAA_BENCH_UTIL_H
#define BEAA_BENCH_UTIL_H
#include <stdint.h>
#include "nn/model.h"

/* Restarts the stream (each benchmark keeps its own fixed seed so its inputs do not change). */
void bench_rng_seed(uint64_t seed);
/* Uniform double in [lo, hi) from the stream. */
double bench_urand(double lo, double hi);
/* Monotonic wall-clock time in seconds. */
double bench_now_s(void);
/* Peak resident set size of this process so far, MiB. */
double bench_peak_rss_mib(void);
/* Memory this benchmark may use, MiB: BEAA_BENCH_MEM_MIB when set (to rehearse a small machine),
 * else MemAvailable of /proc/meminfo (physical memory from sysconf where that is missing). */
double bench_mem_available_mib(void);
/* 1 if a step that needs need_mib fits in bench_mem_available_mib(). Otherwise prints the CSV
 * row `bench,params,skipped_needs_memory,<need>,MiB` and a line on stderr saying why (how much
 * it needs, how much there is), and returns 0: the caller skips the step. */
int bench_memory_fits(const char *bench, const char *params, double need_mib);
/* Where the keys and the encryption noise come from: "os" (or NULL or empty) = OS entropy, as
 * in any real use; any other text = an insecure experiment seed, SHAKE256 of the text
 * (beaa_rng_set_insecure_seed, lib/rng.h), so two runs give bit-identical ciphertexts and hence
 * identical encrypted accuracies. Prints a line on stderr; returns 0 on success. */
int bench_apply_seed(const char *text);
/* The arguments of a benchmark whose only option is --quick: 1 for --quick, 0 for none; any
 * other argument prints a message naming it and the usage on stderr and returns -1 (the caller
 * exits with status 2). */
int bench_parse_quick(const char *prog, int argc, char **argv);
/* A decimal integer argument in [lo, hi] into *out: 0; otherwise a message on stderr naming the
 * argument, its range and the text given, and -1 (*out untouched). */
int bench_parse_uint(const char *prog, const char *what, const char *s, unsigned lo, unsigned hi,
                     unsigned *out);
/* Fills every weight, bias, activation and BatchNorm parameter of m from the stream. */
void bench_model_fill_random(beaa_model *m);

#endif
