/* tool_util.h - helpers for the runners that drive the command-line tools (check_ooc,
 * check_mpi, and the scratch folders of other runners): a scratch directory, shell commands with their output captured, generated IDX.gz
 * images, a SqueezeNet-shaped model of a given input size, file sizes and byte comparison. */
#ifndef BEAA_TOOL_UTIL_H
#define BEAA_TOOL_UTIL_H
#include <stddef.h>
#include <stdint.h>

/* mkdtemp of /tmp/<prefix>-t<runner pid>-<6 random characters> into dir (cap bytes), failing
 * the test if it cannot. Whatever of these folders is left when the runner's process exits is
 * removed then (a test that fails in a forked child exits before its teardown runs);
 * BEAA_KEEP_TMP keeps them. */
void tu_mkdtemp(char *dir, size_t cap, const char *prefix);
/* tu_mkdtemp into tu_dir (prefix names the runner). */
void tu_setup(const char *prefix);
/* rm -rf tu_dir (kept when BEAA_KEEP_TMP is set). */
void tu_teardown(void);
extern char tu_dir[256];

/* Runs a shell command (OMP_WAIT_POLICY=passive), stdout+stderr into tu_dir/out.txt; returns
 * the exit status (-1 if it could not run) and the output's first n-1 bytes in out (may be
 * NULL). */
int tu_sh(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* n random images h x w (seed) and labels as IDX.gz files. */
void tu_write_idx(const char *images, const char *labels, int n, int h, int w, uint64_t seed);
/* conv 5x5/2 (8 ch) -> fire (4 -> 4+4) -> avgpool 2 -> conv 3x3 (8) -> conv 1x1 (10) -> GAP on
 * 1 x hw x hw inputs, random weights (5 stages). */
void tu_write_model(const char *path, int hw);
long tu_fsize(const char *path);
/* 1 when both files exist and are byte for byte equal. */
int tu_same_file(const char *a, const char *b);
/* Number of entries in a directory (-1 if it cannot be opened). */
int tu_dir_entries(const char *path);
/* The number after `key` in s (first occurrence), or -1. */
double tu_number_after(const char *s, const char *key);

#endif
