/* test_util.h - helpers shared by the Check runners: the BEAA_TEST_LIGHT switch, a deterministic
 * splitmix64 stream for test inputs (never for keys), and per-element assertions that only call
 * into Check on failure (ck_assert_* writes to a pipe on every call: too slow in hot loops). */
#ifndef BEAA_TEST_UTIL_H
#define BEAA_TEST_UTIL_H
#include <check.h>
#include <stddef.h>
#include <stdint.h>

/* 1 when BEAA_TEST_LIGHT is set to anything but "" or "0" (smaller sizes under the sanitizers). */
int test_light(void);

/* The runner's test-input stream: seed it once in main() (each forked test starts from there). */
void test_rng_seed(uint64_t seed);
uint64_t test_rng_u64(void);
/* uniform in [0, bound), bound >= 1 (modulo bias is irrelevant for test inputs) */
uint64_t test_rng_below(uint64_t bound);
/* uniform in [-1, 1) with 52 random bits */
double test_rng_unit(void);

/* The `skip`-th (0-based) prime q < 2^bits with q = 1 mod 2n, searching downward with GMP's
 * primality test (an NTT-friendly modulus found independently of ckks/primes.c). */
uint64_t test_find_ntt_prime(unsigned bits, size_t n, unsigned skip);

/* Runs suite s (forked per test unless nofork: libgomp's thread pool does not survive fork,
 * and unchecked fixtures that make keys once need it) and frees it; returns the runner's exit
 * status (0 when every test passed). */
int test_run_suite(Suite *s, int nofork);

#define EXPECT(cond, ...)                                                                     \
    do {                                                                                      \
        if (!(cond)) ck_abort_msg(__VA_ARGS__);                                               \
    } while (0)
#define EXPECT_U64_EQ(x, y)                                                                   \
    do {                                                                                      \
        uint64_t x_ = (x), y_ = (y);                                                          \
        if (x_ != y_)                                                                         \
            ck_abort_msg("%s == %s failed: %llu vs %llu (line %d)", #x, #y,                   \
                         (unsigned long long)x_, (unsigned long long)y_, __LINE__);           \
    } while (0)
#define EXPECT_U64_LT(x, y)                                                                   \
    do {                                                                                      \
        uint64_t x_ = (x), y_ = (y);                                                          \
        if (!(x_ < y_))                                                                       \
            ck_abort_msg("%s < %s failed: %llu vs %llu (line %d)", #x, #y,                    \
                         (unsigned long long)x_, (unsigned long long)y_, __LINE__);           \
    } while (0)
#endif
