/* fuzz_util.h - shared pieces of the fuzz targets (fuzz/<target>.c, each a libFuzzer
 * LLVMFuzzerTestOneInput): the tiny ring every CKKS target and the seed corpus use, the
 * "re-wrap" that recomputes an envelope's length and checksum (or a model file's length and
 * CRC-32) so that mutations reach the field checks behind them, temporary files for readers that
 * take a path, and the abort that turns a violated invariant into a finding. */
#ifndef BEAA_FUZZ_UTIL_H
#define BEAA_FUZZ_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include "lib/serial.h"
#include "ckks/params.h"

/* The fuzzing ring: N = 2^10, data primes of 45, 30, 30 bits, two 45-bit special primes (dnum 2),
 * ternary secret, insecure (explicit opt-out: tiny objects, fast execution). Built once. */
void fuzz_spec(beaa_ckks_params_spec *sp);
const beaa_ckks_context *fuzz_ctx(void);

/* Prints "fuzz: invariant violated: what" and aborts (libFuzzer records the input). */
void fuzz_fail(const char *what) __attribute__((noreturn));
#define FUZZ_ASSERT(cond, what) do { if (!(cond)) fuzz_fail(what); } while (0)

/* Runs one(d, n), then, if d starts like an envelope ("BEAA", version 1, >= 56 bytes), one() on a
 * copy whose payload is d[56, n - 16) (d[56, n) when shorter than 72 bytes) with the length
 * field and checksum recomputed and type, flags and fingerprint kept. */
void fuzz_run_envelope(const uint8_t *d, size_t n, void (*one)(const uint8_t *, size_t));
/* Runs one(d, n), then one() on a copy in which every complete envelope of the sequence
 * starting at d (a stream header and its objects, or a key file's objects) has its checksum
 * recomputed (lengths kept; the walk stops at the first frame that does not fit). */
void fuzz_run_envelopes(const uint8_t *d, size_t n, void (*one)(const uint8_t *, size_t));
/* Same for the model format ("BEAAMDL\0", version, flags, u64 length, payload, CRC-32). */
void fuzz_run_model(const uint8_t *d, size_t n, void (*one)(const uint8_t *, size_t));

/* 1 if w holds exactly one envelope equal to the first bytes of d (the round trip). */
int fuzz_same_envelope(const beaa_serial_writer *w, const uint8_t *d, size_t n);

/* Writes d[0, n) to `name` in this process's private temporary folder (made on first use,
 * removed at exit) and returns the path (valid until the next call with the same name). */
const char *fuzz_file(const char *name, const uint8_t *d, size_t n);
/* The folder itself. */
const char *fuzz_dir(void);

#endif
