/* rng.h - randomness for libbeaa.
 * Two sources: (1) OS entropy (getrandom) for secrets, errors and fresh seeds; (2) a seeded
 * extendable-output function (XOF, SHAKE256 written here from the Keccak spec) that expands a
 * 32-byte seed into a reproducible stream, used for the uniform 'a' parts of keys and symmetric
 * ciphertexts (so they can be stored as their seed) and for reproducible tests. */
#ifndef BEAA_RNG_H
#define BEAA_RNG_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"

#define BEAA_SEED_BYTES 32

/* Fills buf with n bytes from the OS random source. BEAA_ERR_ENTROPY on failure. */
BEAA_MUST_CHECK beaa_status beaa_os_random(void *buf, size_t n);

/* A XOF stream. Plain struct so it can live on the stack; wipe with beaa_xof_wipe when the
 * seed is secret. */
typedef struct beaa_xof {
    uint64_t st[25];        /* Keccak-f[1600] state */
    uint8_t buf[136];       /* current squeezed block (rate of SHAKE256) */
    size_t pos;             /* next unread byte in buf */
} beaa_xof;

/* Starts a stream from seed (BEAA_SEED_BYTES bytes) and a domain-separation tag, so that the
 * same seed gives independent streams for different purposes (e.g. key 'a' limb i). */
void beaa_xof_init(beaa_xof *x, const uint8_t seed[BEAA_SEED_BYTES], uint64_t domain);
/* Next n bytes of the stream. */
void beaa_xof_read(beaa_xof *x, void *out, size_t n);
/* Next 64-bit word. */
uint64_t beaa_xof_u64(beaa_xof *x);
/* Uniform integer in [0, bound) by rejection sampling (bound >= 1): each draw is a word masked
 * by beaa_xof_uniform_mask(bound), kept when below bound. */
uint64_t beaa_xof_uniform(beaa_xof *x, uint64_t bound);
/* The smallest all-ones mask covering bound - 1 (bound >= 1): a draw is accepted with probability
 * above 1/2. The multi-lane samplers (ckks/kernels) filter their streams with it. */
uint64_t beaa_xof_uniform_mask(uint64_t bound);
/* Keccak-f[1600]'s 24 round constants (FIPS 202, iota), for the multi-lane permutations. */
extern const uint64_t beaa_keccak_rc[24];
/* Wipes the state. */
void beaa_xof_wipe(beaa_xof *x);

/* ---------------------------------------------------------------- reproducible experiments
 * INSECURE, for experiments only. After beaa_rng_set_insecure_seed(seed), every call that would
 * read OS entropy (secret keys, noise, fresh seeds: beaa_os_random and beaa_xof_init_os) reads
 * SHAKE256(seed || stream || draw) instead, so two runs of the same program with the same seed
 * produce the same keys, the same ciphertexts and the same results, bit for bit. Anyone who knows
 * the seed knows every secret key and can decrypt: never use it on data that matters.
 * beaa_rng_set_insecure_seed(NULL) returns to OS entropy. Call it while no other thread uses the
 * library (it is a process-wide switch).
 *
 * Threads: the position in the stream is per thread ("stream", "draw"), so the draws of one
 * thread are reproducible. Code that draws randomness from several threads in an order that the
 * scheduler decides (a parallel loop over ciphertexts) makes it reproducible with
 * beaa_rng_fork on the calling thread and beaa_rng_stream_enter(base, i) / _leave around item i:
 * item i then draws from its own stream, whatever thread runs it. Without a seed these calls
 * do nothing. */
BEAA_MUST_CHECK beaa_status beaa_rng_set_insecure_seed(const uint8_t seed[BEAA_SEED_BYTES]);
/* 1 when an insecure seed is set, else 0. */
int beaa_rng_is_seeded(void);

/* The calling thread's position in the reproducible streams. */
typedef struct beaa_rng_stream_state {
    uint64_t stream, draw;
} beaa_rng_stream_state;

/* A base for sub-streams, derived from the calling thread's stream and draw (counts as a draw). */
uint64_t beaa_rng_fork(void);
/* Makes the calling thread draw from sub-stream (base, index), saving its position in *saved. */
void beaa_rng_stream_enter(uint64_t base, uint64_t index, beaa_rng_stream_state *saved);
/* Restores the position saved by beaa_rng_stream_enter. */
void beaa_rng_stream_leave(const beaa_rng_stream_state *saved);

/* A fresh XOF seeded from OS entropy (for secrets and noise: the seed is never stored). */
BEAA_MUST_CHECK beaa_status beaa_xof_init_os(beaa_xof *x, uint64_t domain);

/* General SHAKE256 (FIPS 202) over arbitrary input, used for checksums and fingerprints.
 * Incremental: beaa_shake256_init, any number of beaa_shake256_absorb calls, then
 * beaa_shake256_final; after that read output with beaa_xof_read / beaa_xof_u64.
 * beaa_xof_init(x, seed, d) equals init + absorb(seed || d as 8 little-endian bytes) + final. */
void beaa_shake256_init(beaa_xof *x);
void beaa_shake256_absorb(beaa_xof *x, const void *in, size_t n);
void beaa_shake256_final(beaa_xof *x);
/* One-shot: out (outlen bytes) = SHAKE256(in, inlen). in may be NULL when inlen == 0. */
void beaa_shake256(void *out, size_t outlen, const void *in, size_t inlen);

#endif
