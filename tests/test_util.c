/* test_util.c - helpers shared by the Check runners (see test_util.h); linked into every runner
 * by the Makefile (every tests/ source that is not a check_ runner). */
#include "tests/test_util.h"
#include <gmp.h>
#include <stdlib.h>
#include <string.h>

int test_light(void)
{
    const char *s = getenv("BEAA_TEST_LIGHT");
    return s && *s && strcmp(s, "0") != 0;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

void test_rng_seed(uint64_t seed) { rng_state = seed; }

uint64_t test_rng_u64(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

uint64_t test_rng_below(uint64_t bound) { return test_rng_u64() % bound; }

double test_rng_unit(void) { return (double)(test_rng_u64() >> 11) * 0x1p-52 - 1.0; }

uint64_t test_find_ntt_prime(unsigned bits, size_t n, unsigned skip)
{
    uint64_t m = 2 * (uint64_t)n;
    uint64_t q = (((UINT64_C(1) << bits) - 1) / m) * m + 1;
    if (q >= (UINT64_C(1) << bits)) q -= m;
    mpz_t z;
    mpz_init(z);
    for (; q > m; q -= m) {
        mpz_set_ui(z, (unsigned long)q);
        if (mpz_probab_prime_p(z, 30)) {
            if (skip == 0) break;
            skip--;
        }
    }
    mpz_clear(z);
    return q;
}

int test_run_suite(Suite *s, int nofork)
{
    SRunner *sr = srunner_create(s);
    if (nofork) srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
